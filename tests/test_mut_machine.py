"""The static machine facts of a record (bench/machine.py ``facts``, ``cpu``, ``memory_mb``, ``peak_rss_mb``) on a
root written here with the files a Raspberry Pi 5 running Raspberry Pi OS bookworm shows (its /proc/cpuinfo lines,
/proc/meminfo's MemTotal of an 8 GB board, /etc/os-release's PRETTY_NAME, cpufreq's 2.4 GHz), expected values read
off those files by hand; and this process's peak memory against /proc/self/status and getrusage read here."""

from __future__ import annotations

import os
import platform
import re
import resource
from pathlib import Path

import pytest

from bench import machine

CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
CPU part\t: 0xd0b

Revision\t: d04170
Serial\t\t: 8c6d2c7a53e0c3a1
Model\t\t: Raspberry Pi 5 Model B Rev 1.0
"""


def _pi5_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    (root / "proc/cpuinfo").write_text(CPUINFO)
    (root / "proc/meminfo").write_text("MemTotal:        8245408 kB\nMemFree:         7000000 kB\n")
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
    )
    freq = root / "sys/devices/system/cpu/cpu0/cpufreq"
    freq.mkdir(parents=True)
    (freq / "cpuinfo_max_freq").write_text("2400000\n")
    (freq / "scaling_governor").write_text("ondemand\n")
    return root


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("EDGEBENCH_IMAGE", "EDGEBENCH_EMULATED", "EDGEBENCH_HOST_FACTS"):
        monkeypatch.delenv(var, raising=False)


def test_facts_of_a_pi5_root(tmp_path: Path, clean_env: None) -> None:
    root = _pi5_root(tmp_path)
    f = machine.facts(root)
    assert f["board"] == {"id": "rpi5", "model": "Raspberry Pi 5 Model B Rev 1.0", "source": "/proc/device-tree/model"}
    assert f["cpu"] == {
        "model": "Raspberry Pi 5 Model B Rev 1.0",  # the "Model" line: arm64 cpuinfo has no "model name"
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "governor": "ondemand",
        "max_freq_mhz": 2400.0,
    }
    assert f["os"] == "Debian GNU/Linux 12 (bookworm)"
    assert f["memory_mb"] == pytest.approx(8245408 / 1024)  # 8052.2 MB
    assert (f["kernel"], f["python"], f["hostname"]) == (platform.release(), platform.python_version(), platform.node())
    assert (f["in_container"], f["image"], f["emulated"]) == (False, None, False)
    assert set(f) == {"board", "cpu", "kernel", "os", "python", "hostname", "in_container", "image", "emulated",
                      "accelerator", "memory_mb"}  # fmt: skip


def test_container_image_and_emulation_marks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env) -> None:
    root = _pi5_root(tmp_path)
    (root / ".dockerenv").write_text("")
    assert machine.facts(root)["in_container"] is True
    (root / ".dockerenv").unlink()
    monkeypatch.setenv("EDGEBENCH_IMAGE", "edgebench/edgebench-rpi:0.1.0-arm64")
    monkeypatch.setenv("EDGEBENCH_EMULATED", "1")
    f = machine.facts(root)
    assert (f["in_container"], f["image"], f["emulated"]) == (True, "edgebench/edgebench-rpi:0.1.0-arm64", True)
    monkeypatch.setenv("EDGEBENCH_EMULATED", "")
    assert machine.facts(root)["emulated"] is False


def test_x86_cpuinfo_model_name_and_missing_files(tmp_path: Path, clean_env: None) -> None:
    root = tmp_path / "x86"
    (root / "proc").mkdir(parents=True)
    (root / "proc/cpuinfo").write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14 \n")
    c = machine.cpu(root)
    assert c["model"] == "AMD EPYC 9R14" and c["governor"] is None and c["max_freq_mhz"] is None
    f = machine.facts(root)
    assert f["os"] is None and f["memory_mb"] is None
    assert f["board"] == {"id": "generic", "model": platform.machine(), "source": "none"}


def test_os_release_without_quotes(tmp_path: Path) -> None:
    root = _pi5_root(tmp_path)
    (root / "etc/os-release").write_text("NAME=Alpine\nPRETTY_NAME=Alpine Linux v3.20\n")
    assert machine.facts(root)["os"] == "Alpine Linux v3.20"


def test_peak_rss_is_this_process_high_water_mark() -> None:
    status = Path("/proc/self/status").read_text()
    hwm_kb = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))
    ru_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got = machine.peak_rss_mb()
    assert hwm_kb / 1024 <= got <= max(ru_kb, hwm_kb) / 1024 + 64  # the mark only grows between the two reads
    assert got > 10  # a Python process with numpy loaded


def test_peak_rss_without_proc_falls_back_to_getrusage(monkeypatch: pytest.MonkeyPatch) -> None:
    real_read = machine._read
    monkeypatch.setattr(machine, "_read", lambda p: None if str(p) == "/proc/self/status" else real_read(p))
    ru_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got = machine.peak_rss_mb()
    assert ru_kb / 1024 <= got <= ru_kb / 1024 + 64  # Linux: ru_maxrss in kB


@pytest.mark.parametrize(
    "cpuinfo,model",
    [
        ("processor\t: 0\nHardware\t: BCM2835\nRevision\t: c03111\n", "BCM2835"),  # Pi 4 on a 5.10 kernel
        ("processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n", "0xd08"),  # no name lines at all
        ("processor\t: 0\nhardware\t: x\n", ""),  # keys are case-sensitive
    ],
)
def test_cpu_model_from_the_lines_arm_kernels_write(tmp_path: Path, cpuinfo: str, model: str) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(cpuinfo)
    assert machine.cpu(tmp_path)["model"] == model


def test_handed_model_without_a_root_names_slash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBENCH_HOST_FACTS", '{"model": "Raspberry Pi 4 Model B Rev 1.4"}')
    b = machine.board(tmp_path)
    assert b["id"] == "rpi4" and b["source"] == "launcher (EDGEBENCH_HOST_FACTS: host /)"


def _devfreq(root: Path, name: str, uevent: str = "", of_name: str = "") -> Path:
    dev = root / "sys/class/devfreq" / name
    (dev / "device").mkdir(parents=True)
    if uevent:
        (dev / "device/uevent").write_text(uevent)
    if of_name:
        (dev / "device/of_node").mkdir()
        (dev / "device/of_node/name").write_text(of_name + "\n")
    return dev


def test_gpu_node_name_from_uevent_of_node_or_folder(tmp_path: Path) -> None:
    uevent = "DRIVER=gk20a\nOF_NAME=GPU\nOF_FULLNAME=/gpu@57000000\nOF_COMPATIBLE_0=nvidia,tegra210-gm20b\n"
    assert machine.gpu_node_name(_devfreq(tmp_path, "57000000.gpu", uevent=uevent)) == "gpu"
    assert machine.gpu_node_name(_devfreq(tmp_path, "17000000.x", of_name="GA10B")) == "ga10b"
    assert machine.gpu_node_name(_devfreq(tmp_path, "a.b.17000000.GA10B")) == "ga10b"  # after the last dot
    assert machine.gpu_node_name(_devfreq(tmp_path, "nodot")) == ""


def test_nano_emc_from_tegra_bwmgr_and_clocks_locked(tmp_path: Path) -> None:
    dev = _devfreq(tmp_path, "57000000.gpu")
    for k, hz in (("cur", 921600000), ("min", 921600000), ("max", 921600000)):
        (dev / f"{k}_freq").write_text(f"{hz}\n")
    debug = tmp_path / "sys/kernel/debug"
    (debug / "clk/override.emc").mkdir(parents=True)
    (debug / "tegra_bwmgr").mkdir(parents=True)
    (debug / "clk/override.emc/clk_rate").write_text("1600000000\n")
    (debug / "tegra_bwmgr/emc_max_rate").write_text("1600000000\n")
    f = machine.jetson_facts(tmp_path)
    assert f["emc"] == {"cur_mhz": 1600.0, "max_mhz": 1600.0} and f["clocks_locked"] is True
    assert f["gpu"]["max_mhz"] == 921.6 and f["l4t"] is None
    (debug / "tegra_bwmgr/emc_max_rate").unlink()  # only the current rate: no EMC figure
    assert machine.jetson_emc(tmp_path) is None


def _vcgencmd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "vcgencmd"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_pi_throttled_falls_back_to_vcgencmd_on_the_real_root(tmp_path: Path, monkeypatch) -> None:
    """No get_throttled file under / here (x86): the firmware's command answers, ``throttled=0x50005`` on a Pi that
    is under-voltage and throttled now and has been (raspberrypi/documentation: vcgencmd get_throttled bits)."""
    assert machine.throttled_file(Path("/")) is None
    _vcgencmd(tmp_path, monkeypatch, '[ "$1" = get_throttled ] || exit 3\necho "throttled=0x50005"\n')
    assert machine.pi_throttled() == 0x50005
    flags = ["under-voltage", "throttled", "under-voltage-occurred", "throttled-occurred"]  # bits 0, 2, 16, 18
    assert machine.throttle_flags(0x50005) == flags
    assert machine.pi_throttled(tmp_path) is None  # a fixture root never runs the host's command


def test_pi_throttled_when_vcgencmd_says_nothing_or_hangs(tmp_path: Path, monkeypatch) -> None:
    _vcgencmd(tmp_path, monkeypatch, 'echo "error=2 error_msg=\\"Invalid arguments\\""\n')
    assert machine.pi_throttled() is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert machine.pi_throttled() is None  # no vcgencmd at all
