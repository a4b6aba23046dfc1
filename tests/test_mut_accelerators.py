"""Coral facts from a fixture tree of what a container on a Pi sees (mutation run of bench/accelerators.py): USB
devices in /sys/bus/usb/devices (Coral IDs from google-coral/libedgetpu debian/edgetpu-accelerator.rules: 1a6e:089a
before its firmware is loaded, 18d1:9302 after), the dpkg status file, and the report flags of records by hand.
The legacy package names (libedgetpu1-legacy-std/-max) are those of Coral's apt repository, as its install guides
name them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

from bench import accelerators as acc

STATUS = """Package: libedgetpu1-legacy-max
Status: install ok installed
Version: 16.0

Package: libedgetpu1-std
Status: deinstall ok config-files
Version: 15.0

Package: python3-numpy
Status: install ok installed
Version: 1:1.24.2-1
"""


def _usb(root: Path, name: str, vid: str, pid: str, speed: str) -> None:
    d = root / "sys/bus/usb/devices" / name
    d.mkdir(parents=True)
    (d / "idVendor").write_text(vid + "\n")
    (d / "idProduct").write_text(pid + "\n")
    (d / "speed").write_text(speed + "\n")


def test_two_corals_a_hub_and_the_installed_flavour(tmp_path: Path) -> None:
    _usb(tmp_path, "1-1", "2109", "3431", "480")  # the Pi 4's VL805 hub: not a Coral
    _usb(tmp_path, "1-1.2", "1A6E", "089A", "480")  # not yet flashed, on a USB 2 port
    _usb(tmp_path, "2-1", "18d1", "9302", "5000")  # flashed, on a USB 3 port
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(STATUS)
    assert acc.coral_facts(tmp_path) == {
        "devices": [
            {"usb_path": "1-1.2", "id": "1A6E:089A", "speed_mbps": 480},
            {"usb_path": "2-1", "id": "18d1:9302", "speed_mbps": 5000},
        ],
        "libedgetpu": "max",
        "packages": {"libedgetpu1-legacy-max": "16.0"},
    }


def test_a_fractional_speed_and_no_package(tmp_path: Path) -> None:
    _usb(tmp_path, "3-1", "18d1", "9302", "1.5")  # low speed is written "1.5" by the kernel
    assert acc.coral_facts(tmp_path) == {
        "devices": [{"usb_path": "3-1", "id": "18d1:9302", "speed_mbps": 1}],
        "libedgetpu": None,
        "packages": {},
    }


def test_no_coral_no_facts(tmp_path: Path) -> None:
    _usb(tmp_path, "1-1", "2109", "3431", "480")
    assert acc.coral_facts(tmp_path) == {}
    assert acc.dpkg_packages(tmp_path, ("libedgetpu1-",)) == {}


def test_dpkg_packages_by_prefix(tmp_path: Path) -> None:
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(STATUS + "\nStatus: install ok installed\nVersion: 9\n")  # a block without a Package line
    assert acc.dpkg_packages(tmp_path, ("python3-", "libedgetpu1-")) == {
        "libedgetpu1-legacy-max": "16.0",
        "python3-numpy": "1:1.24.2-1",
    }


def _rec(framework: str, machine_acc: Dict[str, Any]) -> Dict[str, Any]:
    return {"framework": framework, "machine": {"accelerator": machine_acc}}


def test_report_flags() -> None:
    usb2 = {"coral": {"devices": [{"speed_mbps": 5000}, {"speed_mbps": 480}]}}
    assert acc.accelerator_flags(_rec("coral", usb2)) == ["CORAL-USB2"]
    assert acc.accelerator_flags(_rec("tflite", usb2)) == []
    assert acc.accelerator_flags(_rec("coral", {"coral": {}})) == []
    assert acc.accelerator_flags(_rec("coral", {"coral": {"devices": [{"speed_mbps": 5000}]}})) == []
    unlocked = {"jetson": {"clocks_locked": False}, **usb2}
    assert acc.accelerator_flags(_rec("coral", unlocked)) == ["CLOCKS-UNLOCKED", "CORAL-USB2"]
    assert acc.accelerator_flags(_rec("tensorrt", {"jetson": {"clocks_locked": None}})) == []
    assert acc.accelerator_flags({}) == []


def test_a_package_without_status_or_version(tmp_path: Path) -> None:
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: libedgetpu1-max\nVersion: 16.0\n\nPackage: libedgetpu1-std\nStatus: install ok installed\n"
    )
    assert acc.dpkg_packages(tmp_path, ("libedgetpu1-",)) == {"libedgetpu1-std": ""}


def test_gpu_node_name_from_uevent_of_node_or_folder(tmp_path: Path) -> None:
    dev = tmp_path / "gpufreq"
    (dev / "device").mkdir(parents=True)
    assert acc.gpu_node_name(dev) == ""
    (dev / "device/of_node").mkdir()
    (dev / "device/of_node/name").write_bytes(b"GP10B\x00")
    assert acc.gpu_node_name(dev) == "gp10b"
    # the kernel's of_device_uevent: DRIVER first, then OF_NAME, OF_FULLNAME, OF_COMPATIBLE_N
    (dev / "device/uevent").write_text("DRIVER=gk20a\nOF_NAME=GV11B \nOF_FULLNAME=/gpu@17000000\n")
    assert acc.gpu_node_name(dev) == "gv11b"
    assert acc.gpu_node_name(tmp_path / "57000000.gpu") == "gpu"


def _jetson(root: Path, gpu_min: str, gpu_max: str, emc: tuple) -> None:
    d = root / "sys/class/devfreq/57000000.gpu"
    d.mkdir(parents=True)
    (root / "sys/class/devfreq/13e10000.host1x").mkdir()  # another devfreq device, listed before the GPU
    for k, v in (("cur", gpu_max), ("min", gpu_min), ("max", gpu_max)):
        (d / f"{k}_freq").write_text(v + "\n")
    (d / "governor").write_text("nvhost_podgov\n")
    if emc:
        b = root / "sys/kernel/debug/bpmp/debug/clk/emc"
        b.mkdir(parents=True)
        (b / "rate").write_text(emc[0])
        (b / "max_rate").write_text(emc[1])


def test_clocks_locked_needs_the_gpu_and_the_memory_clock_at_their_maximum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDGEBENCH_HOST_FACTS", raising=False)
    cases = [
        ("921600000", "921600000", ("1600000000", "1600000000"), True),
        ("921600000", "921600000", ("800000000", "1600000000"), False),  # EMC scaled down: not locked
        ("921600000", "921600000", (), True),  # EMC unreadable (non-root): the GPU decides
        ("76800000", "921600000", ("1600000000", "1600000000"), False),
        ("", "921600000", (), None),  # a minimum that cannot be read: unknown
    ]
    for i, (lo, hi, emc, expected) in enumerate(cases):
        root = tmp_path / str(i)
        _jetson(root, lo, hi, emc)
        facts = acc.jetson_facts(root)
        assert facts["clocks_locked"] is expected, (lo, hi, emc)
        assert facts["gpu"]["max_mhz"] == 921.6 and facts["gpu"]["governor"] == "nvhost_podgov"
