"""What the tool sees from inside a board's container. Fixture tests: not a substitute for hardware.

A container differs from the bare host the fixture trees in tests/fixtures/sysfs/ describe: Docker masks
``/sys/firmware``, so ``/proc/device-tree`` (a link into it) and every ``device/of_node`` link are unreadable; the
process has only the groups of its image user plus what the launcher adds (``group_add``); the board's identity comes
from the launcher, which read it on the host (bench/hostfacts.py). :func:`container_view` derives that view from a
host tree; the launcher reads the host through ``EDGEBENCH_HOST_ROOT`` pointed at the host tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import hostfacts, machine
from launcher import detect, devices, profiles

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "sysfs"


def container_view(board: str, variant: str, tmp_path: Path) -> Path:
    """The fixture tree as a container sees it: no device tree, no of_node links."""
    dest = tmp_path / f"{board}-{variant}-container"
    shutil.copytree(FIXTURES / board / variant, dest, symlinks=True)
    shutil.rmtree(dest / "proc/device-tree", ignore_errors=True)
    for of_node in dest.glob("sys/class/devfreq/*/device/of_node"):
        shutil.rmtree(of_node)
    return dest


def hand_over(board: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """What the launcher on the host hands the container, read from the host fixture tree."""
    monkeypatch.setenv(hostfacts.ROOT_ENV, str(FIXTURES / board / "idle"))
    env = devices.extra_env(profiles.PROFILES[board], local=True)
    monkeypatch.setenv(hostfacts.ENV, env[hostfacts.ENV])
    return json.loads(env[hostfacts.ENV])


@pytest.mark.parametrize("board", ["rpi4", "rpi5", "jetson-nano", "jetson-orin"])
def test_the_board_is_known_inside_the_container_from_the_launchers_facts(
    board: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = container_view(board, "idle", tmp_path)
    monkeypatch.delenv(hostfacts.ENV, raising=False)
    assert machine.board(root)["id"] == "generic"  # what a container reads by itself
    facts = hand_over(board, monkeypatch)
    seen = machine.board(root)
    assert seen["id"] == board
    assert seen["model"] == (FIXTURES / board / "idle/proc/device-tree/model").read_bytes().rstrip(b"\0").decode()
    assert seen["source"].startswith("launcher (EDGEBENCH_HOST_FACTS") and str(FIXTURES / board) in seen["source"]
    assert facts["model"] == seen["model"]


def test_the_soc_comes_from_the_last_compatible_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # raspberrypi/linux bcm2712-rpi-5-b.dts: compatible = "raspberrypi,5-model-b", "brcm,bcm2712"
    facts = hand_over("rpi5", monkeypatch)
    assert facts["compatible"] == ["raspberrypi,5-model-b", "brcm,bcm2712"] and facts["soc"] == "brcm,bcm2712"
    assert machine.board(container_view("rpi5", "idle", tmp_path))["soc"] == "brcm,bcm2712"


def test_the_host_device_tree_wins_where_it_is_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(hostfacts.ENV, json.dumps({"model": "Raspberry Pi 4 Model B Rev 1.4"}))
    seen = machine.board(FIXTURES / "rpi5" / "idle")
    assert seen["id"] == "rpi5" and seen["source"] == "/proc/device-tree/model"


def test_the_l4t_release_is_handed_in_when_the_file_is_not_mounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = container_view("jetson-orin", "idle", tmp_path)
    (root / "etc/nv_tegra_release").unlink()
    monkeypatch.delenv(hostfacts.ENV, raising=False)
    assert machine.l4t_release(root) is None
    hand_over("jetson-orin", monkeypatch)
    assert machine.l4t_release(root) == "36.4.0"  # the fixture's "# R36 (release), REVISION: 4.0"


@pytest.mark.parametrize("board", ["jetson-nano", "jetson-orin"])
def test_the_jetson_gpu_is_found_without_of_node(board: str, tmp_path: Path) -> None:
    root = container_view(board, "idle", tmp_path)
    gpu = machine.jetson_gpu(root)
    assert gpu is not None and gpu["device"] in ("57000000.gpu", "17000000.gpu")
    (next(root.glob("sys/class/devfreq/*/device/uevent"))).unlink()
    assert machine.jetson_gpu(root) is not None, "the folder name is the last resort"


def test_clocks_unlocked_is_raised_inside_the_container(tmp_path: Path) -> None:
    # the idle Orin fixture: min 306 MHz, max 1020 MHz (governor-scaled, jetson_clocks not run)
    assert machine.jetson_facts(container_view("jetson-orin", "idle", tmp_path))["clocks_locked"] is False


def test_a_device_name_that_is_not_a_gpu_is_not_taken(tmp_path: Path) -> None:
    dev = tmp_path / "sys/class/devfreq/13e10000.host1x"
    (dev / "device").mkdir(parents=True)
    (dev / "device/uevent").write_text("OF_NAME=host1x\nOF_FULLNAME=/bus@0/host1x@13e00000\n")
    assert machine.jetson_gpu(tmp_path) is None


# ---------- which Jetson image ----------


@pytest.mark.parametrize("l4t", [35, 34, None])
def test_a_jetpack5_orin_is_not_given_the_jetpack6_image(l4t: object) -> None:
    from launcher.errors import LauncherError

    with pytest.raises(LauncherError, match=f"L4T R{l4t}" if l4t else "L4T release unknown"):
        detect.detect("NVIDIA Jetson AGX Orin Developer Kit", [], l4t)  # type: ignore[arg-type]


def test_a_jetpack5_tree_is_refused_by_auto(tmp_path: Path) -> None:
    from launcher.errors import LauncherError

    root = tmp_path / "orin-r35"
    shutil.copytree(FIXTURES / "jetson-orin/idle", root, symlinks=True)
    (root / "etc/nv_tegra_release").write_text("# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref\n")
    with pytest.raises(LauncherError, match="L4T R35"):
        detect.auto(root)


# ---------- groups: the launcher adds the device nodes' groups ----------


def _node(root: Path, path: str, gid: int) -> None:
    node = root / path.lstrip("/")
    node.parent.mkdir(parents=True, exist_ok=True)
    node.write_bytes(b"")
    try:
        os.chown(node, -1, gid)
    except PermissionError:
        pytest.skip("changing a file's group needs root here")


def test_the_jetson_gpu_nodes_groups_are_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in ("/dev/nvhost-ctrl", "/dev/nvmap"):
        _node(tmp_path, path, 44)  # group video on L4T (Ubuntu's gid 44)
    _node(tmp_path, "/dev/nvgpu/igpu0/ctrl", 985)  # another gid where the host says so
    monkeypatch.setenv(hostfacts.ROOT_ENV, str(tmp_path))
    for name in ("jetson-nano", "jetson-orin"):
        assert devices.sensor_options(profiles.PROFILES[name], local=True)["group_add"] == ["44", "985"]
    assert devices.sensor_options(profiles.PROFILES["jetson-nano"], local=False) == {}


def test_the_corals_node_group_is_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "pi"
    shutil.copytree(FIXTURES / "rpi4/idle", root, symlinks=True)  # a Coral on USB 2-1
    dev = root / "sys/bus/usb/devices/2-1"
    (dev / "busnum").write_text("2\n")
    (dev / "devnum").write_text("3\n")
    _node(root, "/dev/bus/usb/002/003", 46)  # plugdev, libedgetpu's udev rule
    monkeypatch.setenv(hostfacts.ROOT_ENV, str(root))
    assert devices.sensor_options(profiles.PROFILES["rpi-coral"], local=True)["group_add"] == ["46"]


def test_vcgencmd_gets_the_gencmd_node_too() -> None:
    # raspberrypi/utils vcgencmd/vcgencmd.c (a30e7c7) mbox_open: {"/dev/vcio_gencmd", "/dev/vcio"}, in that order
    assert profiles.PROFILES["rpi5"].sensor_devices == ("/dev/vcio_gencmd", "/dev/vcio")


# ---------- throttling already going on as the run starts ----------


def test_throttling_that_continues_into_the_run_is_seen(tmp_path: Path) -> None:
    root = tmp_path
    flags = root / "sys/devices/platform/soc/soc:firmware/get_throttled"
    flags.parent.mkdir(parents=True)
    flags.write_text("50004\n")  # throttled now (bit 2) and its sticky bit (18), set before the run
    with machine.Sampler(interval_s=60, root=root) as sampler:
        flags.write_text("40000\n")  # the run's only reading: sticky bit still set, the live bit just cleared
    assert sampler.summary()["throttled"], sampler.summary()


# ---------- ARM NN delegate: the loader is told where it was found ----------


@pytest.mark.parametrize("layout", ["delegate/libarmnnDelegate.so.29", "libarmnnDelegate.so"])
def test_the_delegates_folder_goes_to_the_loader(layout: str, tmp_path: Path) -> None:
    release = tmp_path / "armnn"
    lib = release / layout
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"")
    conf = tmp_path / "armnn.conf"
    script = REPO / "images/rpi-armnn/find-delegate.sh"
    subprocess.run(["sh", str(script), str(release), str(conf)], check=True, capture_output=True, timeout=30)
    folders = conf.read_text().split()
    assert folders[0] == str(lib.parent) and str(release) in folders
    assert (release / "libarmnnDelegate.so").exists()
    dockerfile = (REPO / "images/rpi-armnn/Dockerfile").read_text()
    assert "LD_LIBRARY_PATH" not in dockerfile, "a fixed LD_LIBRARY_PATH misses a delegate found elsewhere"


@pytest.mark.parametrize("target", ["jetson-nano", "jetson-orin"])
def test_the_jetson_images_carry_jtops_client(target: str) -> None:
    """bench/power/jtop.py reads power from the board's jtop service only where jetson-stats is importable."""
    lines = (REPO / "images" / target / "requirements.txt").read_text().splitlines()
    assert "jetson-stats==4.3.2" in lines
