"""Launcher logic without Docker: make-variable handling, argv building, profiles, detection, input tars, result
appending (a contract test with a fake container; through the engine in tests/test_chain_and_fidelity.py), container
options (security, emulation, devices)."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List

import pytest

from launcher import detect, profiles
from launcher.container import Job, collect_records, container_options, image_candidates, inputs_tar, plan_inputs
from launcher.errors import LauncherError
from launcher.make_bench import build_argv, check
from launcher.workflows import bench_argv
from tests.conftest import require

PY = "/venv/bin/python"


def test_make_bench_no_arguments_runs_the_demo_natively() -> None:
    assert build_argv({}, python=PY) == [PY, "-m", "bench", "demo"]


def test_make_bench_model_without_device_runs_natively_with_args_split() -> None:
    env = {"MODEL": "m.onnx", "DATA": "d.npz", "FRAMEWORK": "onnx", "ARGS": "--threads 2 --label 'two words'"}
    assert build_argv(env, python=PY) == [
        PY, "-m", "bench", "run", "m.onnx", "d.npz", "--framework", "onnx", "--threads", "2", "--label", "two words",
    ]  # fmt: skip


def test_make_bench_device_goes_through_the_launcher_and_never_a_shell() -> None:
    env = {"DEVICE": "rpi5", "EMULATE": "1", "MODEL": "m; rm -rf /", "DATA": "d.npz", "FRAMEWORK": "onnx", "ARGS": "-v"}
    argv = build_argv(env, python=PY)
    assert argv == [PY, "-m", "launcher", "bench", "--device", "rpi5", "--emulate", "m; rm -rf /", "d.npz",
                    "--framework", "onnx", "--", "-v"]  # fmt: skip
    assert build_argv({"DEVICE": "rpi4"}, python=PY) == [PY, "-m", "launcher", "bench", "--device", "rpi4"]


def test_make_bench_model_needs_data_and_framework() -> None:
    assert "DATA= and FRAMEWORK=" in check({"MODEL": "m.onnx"})
    assert check({"MODEL": "m.onnx", "DATA": "d", "FRAMEWORK": "onnx"}) is None
    assert check({}) is None


def test_profiles_are_frozen_plain_data() -> None:
    assert set(profiles.PROFILES) == {"host", "rpi4", "rpi5", "rpi-armnn", "rpi-coral", "jetson-nano", "jetson-orin"}
    jetson, coral = profiles.PROFILES["jetson-nano"], profiles.PROFILES["rpi-coral"]
    assert jetson.runtime == "nvidia" and jetson.platform == "linux/arm64"
    assert coral.device_mounts == ("/dev/bus/usb",) and coral.needs_coral
    assert profiles.PROFILES["host"].platform is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        coral.runtime = "x"  # type: ignore[misc]
    with pytest.raises(LauncherError, match="unknown device"):
        profiles.get("rpi3")


@pytest.mark.parametrize(
    "model,ids,expected",
    [
        ("Raspberry Pi 5 Model B Rev 1.0", [], "rpi5"),
        ("Raspberry Pi 4 Model B Rev 1.4", ["1d6b:0003"], "rpi4"),
        ("Raspberry Pi 4 Model B Rev 1.4", ["1a6e:089a"], "rpi-coral"),
        ("Raspberry Pi 5 Model B Rev 1.0", ["18d1:9302"], "rpi-coral"),
        ("NVIDIA Jetson Nano Developer Kit", [], "jetson-nano"),
        ("", [], "host"),
    ],
)
def test_detect(model: str, ids: List[str], expected: str) -> None:
    assert detect.detect(model, ids) == expected


def test_detect_reads_device_tree_and_sysfs(tmp_path: Path) -> None:
    (tmp_path / "model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    dev = tmp_path / "usb" / "2-1"
    dev.mkdir(parents=True)
    (dev / "idVendor").write_text("1A6E\n")
    (dev / "idProduct").write_text("089a\n")
    assert detect.board_model(tmp_path / "model") == "Raspberry Pi 4 Model B Rev 1.4"
    assert detect.usb_ids(tmp_path / "usb") == ["1a6e:089a"]
    assert detect.board_model(tmp_path / "absent") == ""


def test_image_candidates() -> None:
    assert image_candidates(profiles.PROFILES["rpi5"], "reg", "1.0") == [
        "reg/edgebench-rpi:1.0",
        "reg/edgebench-rpi:1.0-arm64",
    ]
    assert image_candidates(profiles.PROFILES["host"], "reg", "1.0") == ["reg/edgebench-host:1.0"]


def test_bench_argv_maps_inputs_and_takes_output_out(tmp_path: Path) -> None:
    model, data, cls = tmp_path / "m.pth", tmp_path / "d.npz", tmp_path / "net.py"
    for p in (model, data, cls):
        p.write_text("x")
    argv, inputs, results = bench_argv(model, data, "pytorch", ["--model-class-path", str(cls), "--output", "r.jsonl"])
    assert argv == ["run", str(model), str(data), "--framework", "pytorch", "--model-class-path", str(cls)]
    assert inputs == [model, data, cls] and results == Path("r.jsonl")
    job = Job(profile=profiles.PROFILES["host"], bench_argv=tuple(argv), inputs=tuple(inputs))
    cargv, mapping = plan_inputs(job)
    assert cargv == [
        "run",
        "/in/0/m.pth",
        "/in/1/d.npz",
        "--framework",
        "pytorch",
        "--model-class-path",
        "/in/2/net.py",
    ]
    assert bench_argv(None, None, None, [])[0] == ["demo"]
    with pytest.raises(LauncherError, match="does not exist"):
        bench_argv(tmp_path / "absent.onnx", data, "onnx", [])


def test_inputs_tar_is_root_owned_and_read_only(tmp_path: Path) -> None:
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "saved_model.pb").write_bytes(b"pb")
    (tmp_path / "d.npz").write_bytes(b"npz")
    tar = tarfile.open(
        fileobj=io.BytesIO(
            inputs_tar(
                {tmp_path / "saved": PurePosixPath("/in/0/saved"), tmp_path / "d.npz": PurePosixPath("/in/1/d.npz")}
            )
        )
    )
    members = {m.name: m for m in tar.getmembers()}
    assert {"in", "in/0", "in/1", "in/0/saved", "in/0/saved/saved_model.pb", "in/1/d.npz"} <= set(members)
    for m in members.values():
        assert m.uid == 0 and m.gid == 0
        assert m.mode == (0o555 if m.isdir() else 0o444)


class FakeContainer:
    """Contract test double: only get_archive of the results file. The same path through the Docker engine:
    tests/test_chain_and_fidelity.py::test_launcher_collects_records_from_a_real_container."""

    def __init__(self, content: bytes) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("launcher.jsonl")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        self.data = buf.getvalue()

    def get_archive(self, path: str) -> Any:
        return iter([self.data]), {}


def test_contract_collect_records_appends_complete_lines_only(tmp_path: Path) -> None:
    results = tmp_path / "r" / "results.jsonl"
    results.parent.mkdir()
    results.write_text('{"old": 1}\n')
    content = (json.dumps({"a": 1}) + "\n" + json.dumps({"b": 2}) + "\n" + '{"half": ').encode()
    recs = collect_records(FakeContainer(content), results)
    assert recs == [{"a": 1}, {"b": 2}]
    text = results.read_text()
    assert text.startswith('{"old": 1}\n') and text.endswith("\n"), (
        "earlier lines kept byte for byte, whole lines added"
    )
    assert [json.loads(line) for line in text.splitlines()] == [{"old": 1}, {"a": 1}, {"b": 2}]


def _opts(job: Job, engine: str = "amd64") -> Dict[str, Any]:
    require("docker")  # the CI rule: a skip locally, a failure under CI=true
    return container_options(job, engine, {})


def test_container_options_are_locked_down() -> None:
    opts = _opts(Job(profile=profiles.PROFILES["host"], bench_argv=("selfcheck",)))
    assert opts["network_mode"] == "none" and opts["cap_drop"] == ["ALL"]
    assert opts["security_opt"] == ["no-new-privileges"] and opts["init"] is True
    assert "privileged" not in opts and "runtime" not in opts


def test_foreign_architecture_needs_explicit_emulation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    job = Job(profile=profiles.PROFILES["rpi5"], bench_argv=("selfcheck",))
    with pytest.raises(LauncherError, match="--emulate"):
        _opts(job)
    opts = _opts(Job(profile=profiles.PROFILES["rpi5"], bench_argv=("selfcheck",), emulate=True))
    cpuinfo = [m for m in opts["mounts"] if m["Target"] == "/proc/cpuinfo"]
    assert cpuinfo and cpuinfo[0]["ReadOnly"] is True and Path(cpuinfo[0]["Source"]).is_file()
    assert opts["environment"]["QEMU_CPU"] == "cortex-a72"
    assert not [m for m in _opts(job, engine="arm64")["mounts"] if m["Target"] == "/proc/cpuinfo"]


def test_coral_gets_the_usb_bus_not_privileged_and_jetson_the_nvidia_runtime() -> None:
    coral = _opts(Job(profile=profiles.PROFILES["rpi-coral"], bench_argv=("selfcheck",)), engine="arm64")
    assert [m["Source"] for m in coral["mounts"]] == ["/dev/bus/usb", "edgebench-cache-rpi-coral"]
    assert coral["device_cgroup_rules"] == ["c 189:* rmw"]
    cpu_only = _opts(Job(profile=profiles.PROFILES["rpi-coral"], bench_argv=("x",), accelerator=False), "arm64")
    assert [m["Type"] for m in cpu_only["mounts"]] == ["volume"] and "device_cgroup_rules" not in cpu_only
    assert _opts(Job(profile=profiles.PROFILES["jetson-nano"], bench_argv=("x",)), "arm64")["runtime"] == "nvidia"


def test_bind_mode_needs_a_local_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    require("docker")  # the CI rule: a skip locally, a failure under CI=true
    monkeypatch.setenv("DOCKER_HOST", "ssh://pi@board")
    job = Job(profile=profiles.PROFILES["host"], bench_argv=("x",), mount_mode="bind")
    with pytest.raises(LauncherError, match="local engine"):
        container_options(job, "amd64", {})


def test_launcher_imports_no_ml_framework() -> None:
    import subprocess

    code = "import sys, launcher.cli, launcher.container, launcher.make_bench; bad = {'numpy', 'torch', 'tensorflow', 'onnxruntime'} & set(sys.modules); print(sorted(bad)); sys.exit(bool(bad))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
