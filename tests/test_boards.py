"""Boards and the board launcher. Fixture tests: not a substitute for hardware.

The sysfs trees in tests/fixtures/sysfs/ (sources in its README) stand in for a Raspberry Pi 4 and 5, a Jetson Nano
and a Jetson Orin, each idle and throttled; they prove the reading logic against the file layouts the vendors'
sources describe, not that a real board says the same. Also here: Orin/Nano detection, the Coral udev-group check,
the TensorRT engine-cache volume in the Jetson container spec, `--print`, the jetson-orin profile, and the board
launcher's Python 3.8 compatibility (ruff, target py38)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from bench import machine
from launcher import detect, devices, profiles

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "sysfs"
BOARDS = {"rpi4": "rpi4", "rpi5": "rpi5", "jetson-nano": "jetson-nano", "jetson-orin": "jetson-orin"}


def tree(board: str, variant: str, tmp_path: Path) -> Path:
    """A writable copy of a fixture tree (symlinks kept, as in sysfs)."""
    dest = tmp_path / f"{board}-{variant}"
    shutil.copytree(FIXTURES / board / variant, dest, symlinks=True)
    return dest


# ---------- board identity and detection ----------


@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("variant", ["idle", "throttled"])
def test_fixture_board_ids(board: str, variant: str) -> None:
    assert machine.board(FIXTURES / board / variant)["id"] == BOARDS[board]


@pytest.mark.parametrize(
    "board, variant, profile",
    [
        ("rpi4", "idle", "rpi-coral"),  # a Coral is plugged in
        ("rpi5", "idle", "rpi5"),
        ("rpi5", "throttled", "rpi-coral"),
        ("jetson-nano", "idle", "jetson-nano"),
        ("jetson-orin", "idle", "jetson-orin"),  # "Orin Nano" must not match the Nano rule
    ],
)
def test_detection_from_a_fixture_root(board: str, variant: str, profile: str) -> None:
    assert detect.auto(FIXTURES / board / variant) == profile


@pytest.mark.parametrize(
    "model, l4t, expected",
    [
        ("NVIDIA Jetson Orin Nano Developer Kit", 36, "jetson-orin"),
        ("NVIDIA Jetson Nano Developer Kit", 32, "jetson-nano"),
        ("NVIDIA Jetson Nano Developer Kit", None, "jetson-nano"),
        ("NVIDIA Jetson Nano 2GB Developer Kit", 32, "jetson-nano"),
    ],
)
def test_orin_is_told_from_nano(model: str, l4t: object, expected: str) -> None:
    assert detect.detect(model, [], l4t) == expected  # type: ignore[arg-type]


def test_a_jetson_without_a_profile_is_an_error_not_host() -> None:
    from launcher.errors import LauncherError

    with pytest.raises(LauncherError, match="DEVICE=jetson-nano or DEVICE=jetson-orin"):
        detect.detect("NVIDIA Jetson TX2 Developer Kit", [], 32)


def test_l4t_major_reads_nv_tegra_release() -> None:
    assert detect.l4t_major(FIXTURES / "jetson-nano/idle/etc/nv_tegra_release") == 32
    assert detect.l4t_major(FIXTURES / "jetson-orin/idle/etc/nv_tegra_release") == 36
    assert detect.l4t_major(FIXTURES / "rpi5/idle/etc/nv_tegra_release") is None


# ---------- the board table ----------


def test_board_records_and_profiles_name_each_other() -> None:
    from bench import boards

    ids = {b.id for b in boards.BOARDS} | {boards.GENERIC.id}
    assert len(ids) == len(boards.BOARDS) + 1, "board ids are unique"
    for record in (*boards.BOARDS, boards.GENERIC, boards.CORAL):
        assert record.profile in profiles.PROFILES, record.id
    for p in profiles.PROFILES.values():
        assert p.boards and set(p.boards) <= ids, p.name


def test_a_model_string_naming_one_board_names_it_whatever_the_table_order() -> None:
    from bench import boards

    words = [(b.id, w) for b in boards.BOARDS for w in b.model_contains]
    for bid, word in words:
        assert not [other for other, w in words if other != bid and w in word], (bid, word)
        assert boards.from_model(f"NVIDIA {word} Developer Kit").id == bid
    assert boards.from_model("Raspberry Pi Compute Module 4").id == "generic"  # "Raspberry Pi 4" is not in it


def test_peaks_in_a_board_record_carry_its_id() -> None:
    from bench import boards

    for b in boards.BOARDS:
        assert all(p.board == b.id for p in b.peaks), b.id
    assert [p.board for p in boards.CORAL.peaks] == ["*"]  # the Coral's peak applies on any host board
    assert {p.board for p in boards.all_peaks()} == {"rpi4", "rpi5", "jetson-nano", "jetson-orin", "*"}


# ---------- Raspberry Pi throttling ----------


def test_pi5_get_throttled_is_found_through_the_driver_not_the_pi4_path() -> None:
    root = FIXTURES / "rpi5" / "throttled"
    assert not (root / "sys/devices/platform/soc/soc:firmware/get_throttled").exists()
    found = machine.throttled_file(root)
    assert found is not None and "soc@107c000000:firmware" in str(found)
    assert machine.pi_throttled(root) == 0x80008
    assert machine.state(root)["pi_throttle_flags"] == ["soft-temperature-limit", "soft-temperature-limit-occurred"]
    assert machine.pi_throttled(FIXTURES / "rpi4" / "throttled") == 0x50005  # "%x" from the driver, no 0x


def _run_sampler(root: Path, writes: List[str], interval_s: float = 0.01) -> Dict[str, object]:
    """Sample while the firmware file takes each value in turn (the hwmon poll rewriting it)."""
    path = machine.throttled_file(root)
    assert path is not None
    with machine.Sampler(interval_s=interval_s, root=root) as s:
        for value in writes:
            seen = s.reads
            path.write_text(value + "\n")
            deadline = time.monotonic() + 5
            while s.reads < seen + 2 and time.monotonic() < deadline:
                time.sleep(interval_s)
    return s.summary()


@pytest.mark.parametrize("board", ["rpi4", "rpi5"])
def test_idle_pi_is_not_throttled(board: str, tmp_path: Path) -> None:
    summary = _run_sampler(tree(board, "idle", tmp_path), ["0", "0"])
    assert summary["throttled"] is False and summary["throttle_reasons"] == []


@pytest.mark.parametrize("board", ["rpi4", "rpi5"])
def test_throttling_cleared_by_the_hwmon_poll_before_the_run_ends_is_still_seen(board: str, tmp_path: Path) -> None:
    # bits set mid-run, then cleared (hwmon asks the firmware to clear the sticky bits every 2 s): after == before
    summary = _run_sampler(tree(board, "idle", tmp_path), ["50005", "0"])
    assert summary["after"]["pi_throttled"] == summary["before"]["pi_throttled"] == "0x0"
    assert summary["throttled"] is True
    assert "under-voltage" in summary["throttle_reasons"][0] and "throttled-occurred" in summary["throttle_reasons"][0]


def test_sticky_bit_alone_during_the_run_counts(tmp_path: Path) -> None:
    summary = _run_sampler(tree("rpi5", "idle", tmp_path), ["80000", "0"])  # only "soft limit has occurred"
    assert summary["throttled"] is True and "soft-temperature-limit-occurred" in summary["throttle_reasons"][0]


def test_sticky_bits_from_before_the_run_are_not_blamed_on_it(tmp_path: Path) -> None:
    root = tree("rpi4", "idle", tmp_path)
    path = machine.throttled_file(root)
    path.write_text("50000\n")  # occurred before the run, never cleared (no hwmon driver)
    assert _run_sampler(root, ["50000", "50000"])["throttled"] is False
    # cleared by the poll, then set again during the run: that is the run's
    path.write_text("50000\n")
    assert _run_sampler(root, ["0", "50000"])["throttled"] is True


def test_throttled_fixture_marks_the_run(tmp_path: Path) -> None:
    summary = _run_sampler(tree("rpi4", "throttled", tmp_path), ["50005"])
    assert summary["throttled"] is True


# ---------- Jetson: PMIC zone, passive trips ----------


def test_nano_pmic_zone_is_skipped(tmp_path: Path) -> None:
    root = tree("jetson-nano", "idle", tmp_path)
    zones = machine.thermal(root)
    assert [z["type"] for z in zones] == ["AO-therm", "CPU-therm", "GPU-therm", "PLL-therm", "thermal-fan-est"]
    summary = _run_sampler_no_pi(root)
    assert summary["throttled"] is False and summary["max_temp_c"] < 100


def _run_sampler_no_pi(root: Path) -> Dict[str, object]:
    with machine.Sampler(interval_s=0.01, root=root) as s:
        deadline = time.monotonic() + 5
        while s.reads < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    return s.summary()


@pytest.mark.parametrize("board", ["jetson-nano", "jetson-orin"])
def test_hot_jetson_reaches_its_passive_trip(board: str, tmp_path: Path) -> None:
    summary = _run_sampler_no_pi(tree(board, "throttled", tmp_path))
    assert summary["throttled"] is True and summary["throttle_reasons"] == [
        "a thermal zone reached its passive trip point"
    ]
    assert _run_sampler_no_pi(tree(board, "idle", tmp_path))["throttled"] is False


# ---------- what decides accelerator numbers ----------


def test_jetson_facts_and_the_clocks_flag() -> None:
    nano = machine.accelerator(FIXTURES / "jetson-nano" / "idle")["jetson"]
    assert nano["l4t"] == "32.7.1" and nano["power_mode"] == {"id": 0, "name": "MAXN"}
    assert nano["gpu"]["max_mhz"] == 921.6 and nano["gpu"]["cur_mhz"] == 76.8
    assert nano["emc"] is None and nano["clocks_locked"] is False  # debugfs absent (as in a container)
    orin = machine.accelerator(FIXTURES / "jetson-orin" / "throttled")["jetson"]
    assert orin["l4t"] == "36.4.0" and orin["power_mode"] == {"id": 2, "name": "MAXN_SUPER"}
    assert orin["emc"] == {"cur_mhz": 3199.0, "max_mhz": 3199.0} and orin["clocks_locked"] is True
    assert machine.accelerator(FIXTURES / "jetson-orin" / "idle")["jetson"]["clocks_locked"] is False
    unlocked = {"framework": "tensorrt", "machine": {"accelerator": {"jetson": nano}}}
    assert machine.accelerator_flags(unlocked) == ["CLOCKS-UNLOCKED"]
    assert machine.accelerator_flags({"framework": "tensorrt", "machine": {"accelerator": {"jetson": orin}}}) == []


def test_coral_link_speed_and_libedgetpu_flavour() -> None:
    usb3 = machine.accelerator(FIXTURES / "rpi4" / "idle")["coral"]
    assert usb3["libedgetpu"] == "std" and usb3["devices"][0]["speed_mbps"] == 5000
    usb2 = machine.accelerator(FIXTURES / "rpi4" / "throttled")["coral"]
    assert usb2["devices"][0]["speed_mbps"] == 480
    assert machine.accelerator(FIXTURES / "rpi5" / "idle")["coral"] == {
        "devices": [],
        "libedgetpu": "max",
        "packages": {"libedgetpu1-max": "16.0"},
    }
    record = {"framework": "coral", "machine": {"accelerator": {"coral": usb2}}}
    assert machine.accelerator_flags(record) == ["CORAL-USB2"]
    assert machine.accelerator_flags({**record, "framework": "tflite"}) == []  # CPU run: the link does not matter
    assert machine.accelerator_flags({"framework": "coral", "machine": {"accelerator": {"coral": usb3}}}) == []


def test_report_status_carries_the_accelerator_flags() -> None:
    from bench import report_tables

    record = {
        "framework": "coral",
        "status": "ok",
        "machine": {"board": {"id": "rpi4"}, "accelerator": machine.accelerator(FIXTURES / "rpi4" / "throttled")},
    }
    assert "CORAL-USB2" in report_tables.rows([record])[0][-1]


def test_generic_machine_has_no_accelerator_section(tmp_path: Path) -> None:
    assert machine.accelerator(tmp_path) == {}
    assert machine.facts(tmp_path)["accelerator"] == {}


def test_importing_machine_reads_no_files() -> None:
    code = (
        "import builtins, io, sys\n"
        "opened = []\n"
        "real = io.open\n"
        "def spy(f, *a, **k):\n"
        "    opened.append(str(f))\n"
        "    return real(f, *a, **k)\n"
        "io.open = builtins.open = spy\n"
        "import bench.machine, launcher.detect, launcher.devices\n"
        "print(opened)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---------- Coral as uid 1000: the udev group ----------


def _coral_root(tmp_path: Path, mode: int, gid: int, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Pi tree with the Coral on bus 2 device 3 whose node has ``mode`` and, as ``stat`` reports it, group ``gid``
    (the group is reported, not changed with chown: that needs root, and the check reads only ``stat``)."""
    root = tree("rpi4", "idle", tmp_path)
    dev = root / "sys/bus/usb/devices/2-1"
    (dev / "busnum").write_text("2\n")
    (dev / "devnum").write_text("3\n")
    node = root / "dev/bus/usb/002/003"
    node.parent.mkdir(parents=True)
    node.write_bytes(b"")
    os.chmod(node, mode)
    real_stat = Path.stat

    def stat_with_group(self: Path, *args: object, **kwargs: object) -> os.stat_result:
        st = real_stat(self, *args, **kwargs)
        if self != node:
            return st
        fields = list(st)
        fields[5] = gid  # st_gid
        return os.stat_result(fields)

    monkeypatch.setattr(Path, "stat", stat_with_group)
    return root


def test_coral_node_without_the_udev_rule_fails_with_the_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _coral_root(tmp_path, 0o664, 0, monkeypatch)  # udev's default for USB nodes: root:root 0664
    problem = devices.coral_access_problem(root)
    assert problem and "dev/bus/usb/002/003" in problem
    assert "is group 0, mode -rw-rw-r--" in problem
    fix = devices.coral_fix()
    assert 'ATTRS{idVendor}=="1a6e",ATTRS{idProduct}=="089a",GROUP="plugdev"' in fix
    assert 'ATTRS{idVendor}=="18d1",ATTRS{idProduct}=="9302",GROUP="plugdev"' in fix
    assert "udevadm" in fix and devices.UDEV_RULES_FILE in fix


@pytest.mark.parametrize(
    "mode, gid, ok",
    [
        (0o664, 46, True),  # libedgetpu's rule: plugdev read-write; the launcher adds the node's group
        (0o660, 1234, True),  # any non-root group with read-write: the launcher adds that group
        (0o644, 46, False),  # group read-only
        (0o604, 46, False),
        (0o664, 0, False),  # root's group is never added to the container user
        (0o666, 0, True),  # world read-write
        (0o662, 0, False),
    ],
)
def test_coral_node_needs_a_non_root_group_read_write_or_world_read_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int, gid: int, ok: bool
) -> None:
    root = _coral_root(tmp_path, mode, gid, monkeypatch)
    assert (devices.coral_access_problem(root) is None) is ok
    assert devices.coral_access_problem(tmp_path / "none") is None  # no Coral: nothing to check


def test_coral_check_runs_before_the_container_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from launcher import container
    from launcher.errors import LauncherError

    monkeypatch.setattr(container.detect, "usb_ids", lambda: ["18d1:9302"])
    monkeypatch.setattr(container.devices, "coral_access_problem", lambda: "the Coral's device node is group 0")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    with pytest.raises(LauncherError, match='GROUP="plugdev"'):
        # device_mounts emptied: this machine may have no /dev/bus/usb, checked before the group
        import dataclasses

        container.check_device(object(), dataclasses.replace(profiles.PROFILES["rpi-coral"], device_mounts=()))


# ---------- Jetson profiles: engine cache volume, host facts ----------


@pytest.mark.parametrize("name", ["jetson-nano", "jetson-orin"])
def test_jetson_container_spec_mounts_the_engine_cache_volume(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    require_docker_sdk()
    from launcher.container import Job, container_options

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    profile = profiles.PROFILES[name]
    opts = container_options(Job(profile=profile, bench_argv=("demo",)), "arm64", {})
    volumes = [m for m in opts["mounts"] if m["Type"] == "volume"]
    assert volumes == [
        {"Target": "/work/engine-cache", "Source": f"edgebench-trt-cache-{name}", "Type": "volume", "ReadOnly": False},
        {"Target": "/work/cache", "Source": f"edgebench-cache-{name}", "Type": "volume", "ReadOnly": False},
    ]
    assert opts["environment"]["EDGEBENCH_ENGINE_CACHE"] == "/work/engine-cache"
    assert opts["runtime"] == "nvidia" and "privileged" not in opts
    assert all(m["ReadOnly"] for m in opts["mounts"] if m["Type"] == "bind")  # host facts are read-only


def test_only_jetson_profiles_have_an_engine_cache() -> None:
    for p in profiles.PROFILES.values():
        assert bool(p.engine_cache) == p.name.startswith("jetson-"), p.name
    orin = profiles.PROFILES["jetson-orin"]
    assert (orin.target, orin.platform, orin.runtime) == ("jetson-orin", "linux/arm64", "nvidia")
    assert (REPO / "images" / orin.target / "Dockerfile").is_file()


def test_jetson_images_create_the_cache_mount_point_for_uid_1000() -> None:
    layer = (REPO / "images" / "edgebench" / "Dockerfile").read_text()  # on every stack: gives /work to uid 1000
    assert "useradd --create-home --uid 1000" in layer and "chown -R bench:bench /work" in layer
    for target in ("jetson-nano", "jetson-orin"):
        text = (REPO / "images" / target / "Dockerfile").read_text()
        assert f"mkdir -p {profiles.ENGINE_CACHE_DIR}" in text, target


def test_host_facts_are_mounted_only_when_present_and_local(tmp_path: Path) -> None:
    present = tmp_path / "nv_tegra_release"
    present.write_text("# R36 (release), REVISION: 4.0\n")
    import dataclasses

    p = dataclasses.replace(profiles.PROFILES["jetson-orin"], host_files=(str(present), str(tmp_path / "absent")))
    assert devices.host_file_mounts(p, local=True) == [str(present)]
    assert devices.host_file_mounts(p, local=False) == []


# ---------- --print: the docker run line for a board without Python ----------


def require_docker_sdk() -> None:
    from tests.conftest import require

    require("docker")


def test_print_gives_the_docker_run_line(tmp_path: Path) -> None:
    require_docker_sdk()
    model, data = tmp_path / "m 1.onnx", tmp_path / "d.npz"
    model.write_bytes(b"x")
    data.write_bytes(b"x")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    out = subprocess.run(
        [sys.executable, "-m", "launcher", "bench", "--device", "jetson-nano", str(model), str(data),
         "--framework", "tensorrt", "--results", str(tmp_path / "res" / "r.jsonl"), "--print", "--", "--threads", "2"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    import shlex

    argv = shlex.split(out.stdout.strip())
    assert argv[:3] == ["docker", "run", "--rm"] and "--privileged" not in argv
    assert argv[argv.index("--runtime") + 1] == "nvidia"
    mounts = [argv[i + 1] for i, a in enumerate(argv) if a == "--mount"]
    assert "type=volume,source=edgebench-trt-cache-jetson-nano,target=/work/engine-cache" in mounts
    assert f"type=bind,source={model},target=/in/0/m 1.onnx,readonly" in mounts
    assert f"type=bind,source={tmp_path / 'res'},target=/work/results" in mounts
    image = "edgebench/edgebench-jetson-nano:0.1.0"
    i = argv.index(image)
    assert argv[i + 1 :] == ["run", "/in/0/m 1.onnx", "/in/1/d.npz", "--framework", "tensorrt", "--threads", "2",
                             "--output", "/work/results/r.jsonl"]  # fmt: skip
    assert "'" in out.stdout  # the path with a space is quoted for the shell


# ---------- the board launcher: light requirements, Python 3.8 ----------


def test_launcher_requirements_are_light() -> None:
    lines = [
        line.split(";")[0].strip()
        for line in (REPO / "requirements" / "launcher.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {line.split("==")[0] for line in lines} == {"docker", "rich"}
    text = (REPO / "pyproject.toml").read_text()
    assert "[project.optional-dependencies]" in text and "launcher = [" in text


def _bench_modules_the_launcher_imports(files: List[str]) -> List[Path]:
    """bench/*.py files the launcher imports (its lazy imports too), and what those import at module level."""
    import ast

    found = {REPO / "bench" / "__init__.py"}
    todo = [Path(f) for f in files]
    while todo:
        f = todo.pop()
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree) if REPO / "launcher" in f.parents else tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bench":
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for name in names:
                    base = REPO.joinpath(*name.split("."))
                    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                        if candidate.is_file() and candidate not in found:
                            found.add(candidate)
                            todo.append(candidate)
    return sorted(found)


def test_launcher_code_is_python38_compatible() -> None:
    """ruff with target py38 over the launcher and the bench modules it imports (JetPack 4's python3.8)."""
    files = [str(p) for p in sorted((REPO / "launcher").rglob("*.py"))]
    files += [str(p) for p in _bench_modules_the_launcher_imports(files)]
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    out = subprocess.run(
        [ruff, "check", "--no-cache", "--target-version", "py38", "--select", "E9,F,UP,FA", "--ignore",
         "UP006,UP007,UP035,UP045", "--preview", *files],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    import ast

    for f in files:  # 3.9+ syntax fails to parse at feature_version 3.8
        ast.parse(Path(f).read_text(), filename=f, feature_version=(3, 8))


def test_armnn_packages_are_recorded_from_dpkg(tmp_path: Path) -> None:
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: python3-pyarmnn\nStatus: install ok installed\nVersion: 20.08-12\n\n"
        "Package: libarmnn-cpuacc-backend22\nStatus: install ok installed\nVersion: 20.08-12\n\n"
        "Package: libarmnn-dev\nStatus: deinstall ok config-files\nVersion: 20.08-12\n"
    )
    assert machine.accelerator(tmp_path) == {
        "armnn": {"packages": {"python3-pyarmnn": "20.08-12", "libarmnn-cpuacc-backend22": "20.08-12"}}
    }


def test_the_launcher_runs_without_the_workstation_packages() -> None:
    """What .venv-launcher lacks (numpy, psutil, frameworks) is never imported by `python -m launcher`."""
    code = (
        "import sys, runpy\n"
        "for name in ('numpy', 'psutil', 'torch', 'tensorflow', 'onnxruntime', 'ai_edge_litert', 'sklearn'):\n"
        "    sys.modules[name] = None  # import raises ImportError\n"
        "sys.argv = ['launcher'] + sys.argv[1:]\n"
        "runpy.run_module('launcher', run_name='__main__')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    for args in (["profiles"], ["bench", "--device", "jetson-orin", "--print"]):
        out = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=60
        )
        assert out.returncode == 0, out.stderr
    assert "jetson-orin" in out.stdout


@pytest.mark.docker
def test_a_new_volume_takes_the_owner_of_the_image_folder() -> None:
    """What the engine-cache design relies on, against the real engine: a new volume mounted where the image has a
    folder owned by uid 1000 is writable by uid 1000; mounted where the image has none, it is root's. Hence the
    Jetson images create /work/engine-cache owned by bench (checked above on their Dockerfiles)."""
    from docker.types import Mount

    from tests.docker_helpers import docker_client, ensure_image

    client = docker_client()
    arch = client.version()["Arch"]
    tag = ensure_image("host", f"linux/{arch}")  # this tree's image (the layer cache makes a rebuild cheap)
    # /work/cache: the edgebench cache volume (the CPU peak measured once per board), made by the shared image layer
    cases = (("/work/results", "1000 writable"), (profiles.BENCH_CACHE_DIR, "1000 writable"))
    for target, expected in (*cases, (profiles.ENGINE_CACHE_DIR, "0 denied")):
        container = client.containers.create(
            tag,
            entrypoint=[
                "/bin/sh",
                "-c",
                'stat -c %u "$0"; touch "$0/engine" 2>/dev/null && echo writable || echo denied',
            ],
            command=[target],
            mounts=[Mount(target=target, source=None, type="volume")],  # a new (anonymous) volume
            network_mode="none",
            cap_drop=["ALL"],
        )
        try:
            container.start()
            container.wait(timeout=120)
            out = container.logs().decode().split()
        finally:
            container.remove(v=True, force=True)  # the anonymous volume goes with it
        assert " ".join(out) == expected, (target, out)


@pytest.mark.parametrize(
    "profile, detected, ok",
    [
        ("host", "generic", True),
        ("rpi-armnn", "rpi5", True),  # the ARM NN image is for either Pi
        ("rpi-coral", "rpi4", True),
        ("rpi5", "rpi4", False),
        ("jetson-orin", "jetson-nano", False),
        ("rpi-armnn", "jetson-orin", False),
    ],
)
def test_fleet_status_holds_the_detected_board_to_the_profiles_boards(
    profile: str, detected: str, ok: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contract test (no engine): `fleet status` with the engine calls replaced; the real-engine counterpart is
    tests/test_fleet.py::test_two_engines_one_over_ssh ("detected as generic" on the host profile)."""
    from launcher import container as run_mod
    from launcher.fleet import status
    from launcher.fleet.inventory import Board

    class Containers:
        def list(self, **_: object) -> list:
            return []

    class Client:
        containers = Containers()

    arch = profiles.PROFILES[profile].arch or "amd64"
    monkeypatch.setattr(status.engine, "connect", lambda board: Client())
    monkeypatch.setattr(status.engine, "identity", lambda client: {"arch": arch})
    monkeypatch.setattr(run_mod, "resolve_image", lambda *a, **k: "edgebench/image")
    monkeypatch.setattr(status, "_image_commit", lambda client, tag: "")
    monkeypatch.setattr(status, "_detect", lambda client, image, board: detected)
    st = status.check(Board("b", profile, "local"))
    assert st.detected == detected
    assert (st.problems == []) is ok, st.problems
