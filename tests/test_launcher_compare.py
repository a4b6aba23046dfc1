"""`launcher compare`, `make compare` and `make experiments` without Docker: argv building, input mapping, and two
CONTRACT TESTS of the container spec handed to a fake engine (FakeClient / FakeContainer: command, read-only inputs,
--output inside, --resume seeding the container with the earlier results so only new lines come back). The same path
through the real engine: tests/test_docker_e2e.py::test_launcher_compare_resume_sees_the_earlier_records."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from launcher import profiles
from launcher.cli import COMPARE_TIMEOUT_S, build_parser
from launcher.container import RESULTS_IN_CONTAINER, Job, run
from launcher.errors import LauncherError
from launcher.make_bench import check_compare, experiment_steps, report_argv, zoo_argv
from launcher.make_bench import compare_argv as make_compare_argv
from launcher.workflows import compare_argv
from tests.conftest import require

PY = "/venv/bin/python"


@pytest.fixture()
def files(tmp_path: Path) -> Dict[str, Path]:
    out = {}
    for name in ("m.pth", "d.npz", "net.py", "rep.npz"):
        out[name] = tmp_path / name
        out[name].write_text(name)
    return out


def test_compare_argv_maps_model_data_class_file_and_representative_data(files: Dict[str, Path]) -> None:
    extra = ["--configs", "pytorch,tflite-int8", "--model-class-path", str(files["net.py"])]
    extra += ["--representative-data-path", str(files["rep.npz"]), "--output", "r.jsonl", "--rounds", "2"]
    argv, inputs, results = compare_argv(files["m.pth"], files["d.npz"], extra)
    assert argv == [
        "compare", str(files["m.pth"]), str(files["d.npz"]), "--configs", "pytorch,tflite-int8",
        "--model-class-path", str(files["net.py"]), "--representative-data-path", str(files["rep.npz"]),
        "--rounds", "2",
    ]  # fmt: skip
    assert inputs == [files["m.pth"], files["d.npz"], files["net.py"], files["rep.npz"]]
    assert results == Path("r.jsonl")


def test_compare_argv_defaults(files: Dict[str, Path]) -> None:
    from bench import models

    argv, inputs, _ = compare_argv(None, None, ["--rounds", "1"])
    assert argv == ["compare", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--rounds", "1", "--all"]
    assert inputs == [models.DIGITS_ONNX, models.DIGITS_TEST_DATA]
    assert compare_argv(files["m.pth"], files["d.npz"], ["--configs=onnx"])[0][-1] == "--configs=onnx"
    with pytest.raises(LauncherError, match="MODEL needs DATA"):
        compare_argv(files["m.pth"], None, [])
    with pytest.raises(LauncherError, match="--representative-data-path .*absent.npz does not exist"):
        compare_argv(
            files["m.pth"], files["d.npz"], ["--representative-data-path", str(files["m.pth"].parent / "absent.npz")]
        )


def test_launcher_compare_parser() -> None:
    args = build_parser().parse_args(["compare", "--device", "rpi5", "--emulate", "m.onnx", "d.npz"])
    assert (args.command, args.device, args.emulate, args.model, args.data) == (
        "compare", "rpi5", True, Path("m.onnx"), Path("d.npz"),
    )  # fmt: skip
    assert args.timeout == COMPARE_TIMEOUT_S and args.results == Path("results/results.jsonl")


# ---- the container spec, handed to a fake engine -------------------------------------------------------------------


def _tar(name: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


class FakeContainer:
    """Records what the launcher puts in; "runs" by appending ``new_lines`` to whatever results file it was given."""

    def __init__(self, new_lines: bytes) -> None:
        self.archives: List[tarfile.TarFile] = []
        self.results = b""
        self.new_lines = new_lines
        self.removed = False

    def put_archive(self, path: str, data: bytes) -> bool:
        tar = tarfile.open(fileobj=io.BytesIO(data))
        self.archives.append(tar)
        for m in tar.getmembers():
            if "/" + m.name == str(RESULTS_IN_CONTAINER):
                self.results = tar.extractfile(m).read()
        return True

    def start(self) -> None:
        self.results += self.new_lines

    def attach(self, **kw: Any) -> Any:
        return iter([(b"ok\n", None)])

    def wait(self, timeout: float) -> Dict[str, int]:
        return {"StatusCode": 0}

    def get_archive(self, path: str) -> Any:
        return iter([_tar("launcher.jsonl", self.results)]), {}

    def remove(self, force: bool) -> None:
        self.removed = True


class FakeImage:
    attrs = {"Architecture": "amd64"}


class FakeClient:
    def __init__(self, container: FakeContainer) -> None:
        self.container = container
        self.created: Dict[str, Any] = {}
        outer = self

        class Images:
            def get(self, tag: str) -> FakeImage:
                return FakeImage()

        class Containers:
            def create(self, image: str, command: List[str], **kw: Any) -> FakeContainer:
                outer.created = {"image": image, "command": command, **kw}
                return outer.container

        self.images, self.containers = Images(), Containers()

    def version(self) -> Dict[str, str]:
        return {"Arch": "amd64"}


def _job(files: Dict[str, Path], results: Path, *extra: str) -> Job:
    argv, inputs, _ = compare_argv(files["m.pth"], files["d.npz"], ["--configs", "pytorch", *extra])
    return Job(
        profile=profiles.PROFILES["host"],
        bench_argv=tuple(argv),
        inputs=tuple(inputs),
        results=results,
        seed_results="--resume" in argv,
    )


def test_contract_compare_container_gets_read_only_inputs_and_writes_its_results_inside(
    files: Dict[str, Path], tmp_path: Path
) -> None:
    require("docker")  # the launcher imports the SDK: a failure under CI=true, not a skip
    results = tmp_path / "results.jsonl"
    results.write_text('{"earlier": 1}\n')
    container = FakeContainer(b'{"compare": {"round": 0}}\n')
    client = FakeClient(container)
    job = _job(files, results, "--model-class-path", str(files["net.py"]))
    outcome = run(job, client=client, out=io.BytesIO(), err=io.BytesIO())
    assert outcome.exit_code == 0 and container.removed
    assert client.created["command"] == [
        "compare", "/in/0/m.pth", "/in/1/d.npz", "--configs", "pytorch", "--model-class-path", "/in/2/net.py",
        "--output", str(RESULTS_IN_CONTAINER),
    ]  # fmt: skip
    assert client.created["network_mode"] == "none" and "privileged" not in client.created
    (inputs,) = container.archives  # no --resume: the earlier results stay outside
    modes = {m.name: (m.mode, m.uid) for m in inputs.getmembers() if m.isfile()}
    assert modes == {"in/0/m.pth": (0o444, 0), "in/1/d.npz": (0o444, 0), "in/2/net.py": (0o444, 0)}
    assert [json.loads(line) for line in results.read_text().splitlines()] == [
        {"earlier": 1},
        {"compare": {"round": 0}},
    ]


def test_contract_compare_resume_starts_the_container_from_the_earlier_results(
    files: Dict[str, Path], tmp_path: Path
) -> None:
    require("docker")  # the launcher imports the SDK: a failure under CI=true, not a skip
    results = tmp_path / "results.jsonl"
    earlier = [json.dumps({"compare": {"id": "x", "round": 0}, "status": "ok"}), json.dumps({"other": 1})]
    results.write_text("\n".join(earlier) + "\n")
    container = FakeContainer(b'{"compare": {"id": "x", "round": 1}, "status": "ok"}\n')
    run(_job(files, results, "--resume"), client=FakeClient(container), out=io.BytesIO(), err=io.BytesIO())
    seeded = [m for tar in container.archives for m in tar.getmembers() if "/" + m.name == str(RESULTS_IN_CONTAINER)]
    assert len(seeded) == 1 and seeded[0].mode == 0o666 and seeded[0].uid == 1000
    lines = results.read_text().splitlines()
    assert lines[:2] == earlier, "earlier lines untouched"
    assert json.loads(lines[2]) == {"compare": {"id": "x", "round": 1}, "status": "ok"}
    assert len(lines) == 3, "the seeded records are never appended twice"


# ---- make compare / make experiments ------------------------------------------------------------------------------


def test_make_compare_native_device_and_defaults() -> None:
    from bench import models

    assert make_compare_argv({"ARGS": "--configs onnx --rounds 1"}, python=PY) == [
        PY, "-m", "bench", "compare", str(models.DIGITS_STATE_DICT), str(models.DIGITS_TEST_DATA),
        "--model-class-path", str(models.DIGITS_CLASS_FILE), "--model-class-name", "DigitsCNN",
        "--configs", "onnx", "--rounds", "1",
    ]  # fmt: skip
    assert make_compare_argv({"MODEL": "m; rm -rf /", "DATA": "d.npz"}, python=PY) == [
        PY, "-m", "bench", "compare", "m; rm -rf /", "d.npz", "--all",
    ]  # fmt: skip
    env = {"DEVICE": "rpi5", "EMULATE": "1", "MODEL": "m.onnx", "DATA": "d.npz", "ARGS": "--configs tflite"}
    assert make_compare_argv(env, python=PY) == [
        PY, "-m", "launcher", "compare", "--device", "rpi5", "--emulate", "m.onnx", "d.npz", "--", "--configs", "tflite",
    ]  # fmt: skip
    assert make_compare_argv({"DEVICE": "rpi4"}, python=PY)[-3:] == ["rpi4", "--", "--all"]


def test_make_compare_refuses_framework_and_model_without_data() -> None:
    assert "takes presets, not FRAMEWORK=" in check_compare({"FRAMEWORK": "onnx"})
    assert "MODEL= needs DATA=" in check_compare({"MODEL": "m.onnx"})
    assert check_compare({"MODEL": "m.onnx", "DATA": "d.npz"}) is None and check_compare({}) is None


def test_make_experiments_steps(tmp_path: Path) -> None:
    manifest = {
        "models": {
            "mobilenetv2": {
                "title": "MobileNetV2",
                "pytorch": {
                    "state_dict": "/z/m.pth", "class_file": "/z/m.py", "class_name": "MobileNetV2",
                    "onnx": "/z/m.onnx", "data": "/z/d.npz", "representative_data": "/z/r.npz",
                },
                "keras": {"model": "/z/m.keras", "data": "/z/dn.npz", "representative_data": "/z/rn.npz"},
            }
        }
    }  # fmt: skip
    out = tmp_path / "exp"
    native = experiment_steps({"ARGS": "--rounds 2"}, manifest, out, python=PY)
    assert [t for t, _ in native] == ["MobileNetV2 (pytorch)", "MobileNetV2 (keras)"]
    pt, ke = native[0][1], native[1][1]
    assert pt[:6] == [PY, "-m", "bench", "compare", "/z/m.pth", "/z/d.npz"]
    for flag in ("--all", "--random-weights", "--resume"):
        assert flag in pt and flag in ke
    assert pt[pt.index("--model-class-path") + 1] == "/z/m.py" and "--model-class-path" not in ke
    assert ke[ke.index("--representative-data-path") + 1] == "/z/rn.npz"
    assert pt[pt.index("--output") + 1] == str(out / "results.jsonl") and pt[-2:] == ["--rounds", "2"]
    device = experiment_steps({"DEVICE": "rpi5", "EMULATE": "1"}, manifest, out, python=PY)
    assert device[0][1][:9] == [
        PY,
        "-m",
        "launcher",
        "compare",
        "--device",
        "rpi5",
        "--emulate",
        "/z/m.pth",
        "/z/d.npz",
    ]
    assert device[0][1][9] == "--"
    assert zoo_argv(out, python=PY) == [PY, "-m", "bench", "zoo", "--out", str(out / "zoo")]
    rep = report_argv(out, python=PY)
    assert rep[3:] == ["report", str(out / "results.jsonl"), "--format", "markdown", "--plot", str(out / "plots")]


def _fake_zoo(out: Path) -> None:
    (out / "zoo").mkdir(parents=True)
    files = {"state_dict": "m/m.pth", "class_file": "m/m.py", "class_name": "M", "data": "m/d.npz"}
    manifest = {
        "models": {
            "m": {
                "title": "M",
                "pytorch": {**files, "representative_data": "m/r.npz"},
                "keras": {"model": "m/m.keras", "data": "m/dn.npz", "representative_data": "m/rn.npz"},
            }
        }
    }
    (out / "zoo" / "zoo.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "codes,expected",
    [
        ({"m.pth": 0, "m.keras": 0}, 0),
        ({"m.pth": 0, "m.keras": 2}, 0),  # the Keras variant cannot run in this image: noted, not a failure
        ({"m.pth": 1, "m.keras": 0}, 1),  # a config failed
        ({"m.pth": 2, "m.keras": 2}, 1),  # nothing ran at all
    ],
)
def test_make_experiments_reuses_the_zoo_goes_on_after_failures_and_always_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codes: Dict[str, int], expected: int
) -> None:
    from launcher import make_bench

    out = tmp_path / "exp"
    _fake_zoo(out)
    calls: List[List[str]] = []

    def fake_run(argv: List[str], stdout: Any = None) -> int:
        calls.append(argv)
        if "report" in argv:
            stdout.write("# report\n")
            return 0
        return next(c for name, c in codes.items() if any(a.endswith(name) for a in argv))

    monkeypatch.setattr(make_bench, "_run", fake_run)
    assert make_bench.experiments({}, out) == expected
    assert not any("zoo" in argv for argv in calls), "an existing zoo is reused (same files, same compare ids)"
    assert [a for a in calls[0] if a.endswith(".pth")] == [str((out / "zoo" / "m" / "m.pth").resolve())]
    assert len(calls) == 3 and "report" in calls[-1]
    assert (out / "report.md").read_text() == "# report\n"
