"""bench/verify.py's whole run in process, on numpy stand-ins for ONNX Runtime and LiteRT: a contract test.

What it holds: which file and options each path loads, which reference it is held against (ONNX Runtime on the ONNX
file, else LiteRT's built-in kernels), the verdict from the outputs and the timing check, and the report's fields and
counts. The stand-ins keep the real runtime classes' facts (name, formats, delegates) and compute ``x @ W + offset``
with numpy, so the expected outputs and differences are known by hand; the real frameworks on the same paths run in
tests/test_verify.py and tests/test_verify_rules.py. In-process and framework-free so that a mutation run's forked
test processes can run it (framework thread pools in mutmut's parent hang them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import runtimes, verify, verify_models
from bench.config import Timing
from bench.errors import FrameworkUnavailable, InputError, ModelFormatError
from bench.runtimes import tflite
from bench.runtimes.base import RuntimeOptions, TensorSpec
from bench.runtimes.onnxrt import OnnxRuntime
from bench.runtimes.pytorch import PyTorchRuntime
from bench.runtimes.tflite import TFLiteRuntime

W = np.arange(1024 * 10, dtype=np.float32).reshape(1024, 10) / 1024.0
#: framework -> what its stand-in adds to x @ W (set per test)
OFFSET: Dict[str, float] = {}
#: every load: (framework, file name, options)
LOADS: List[tuple] = []


class _Numpy:
    """load/invoke of a runtime, by numpy: a file ending in b"BROKEN" fails to load like a damaged model."""

    name: str

    @classmethod
    def probe(cls) -> Dict[str, str]:  # the plan's "is this runtime here" check, without the framework
        return {"numpy": np.__version__}

    def setup(self) -> None:
        pass

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        LOADS.append((self.name, Path(model_path).name, options))
        if Path(model_path).read_bytes().endswith(b"BROKEN"):
            raise ModelFormatError(f"{self.name} could not load {Path(model_path).name}", "use an undamaged file")
        self.input = TensorSpec("x", (1, 1, 32, 32), "float32")
        self.output = TensorSpec("y", (1, 10), "float32")

    def prepare(self, x: Any) -> None:
        self._x = x

    def invoke(self) -> None:
        self._y = self._x.reshape(len(self._x), -1) @ W + OFFSET.get(self.name, 0.0)

    def fetch(self) -> Any:
        return self._y

    def close(self) -> None:
        pass

    def versions(self) -> Dict[str, str]:
        return {"numpy": np.__version__}

    def describe(self) -> Dict[str, Any]:
        return {}


class NumpyOnnx(_Numpy, OnnxRuntime):
    pass


class NumpyTFLite(_Numpy, TFLiteRuntime):
    pass


class NumpyTorch(_Numpy, PyTorchRuntime):
    pass


def _no_litert() -> Any:
    raise FrameworkUnavailable("LiteRT is not installed (numpy stand-ins)", "pip install ai-edge-litert")


@pytest.fixture()
def stand_ins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> verify.ModelSet:
    """The stand-ins registered as "onnx", "tflite" and "pytorch" (no framework is imported); a model set of two
    files (copies of the shipped digits model's ONNX and TFLite files: the run detects their formats, the stand-ins
    compute their own outputs) and the shipped digits data; short runs."""
    others = tuple(c for c in runtimes.classes() if c.name not in ("onnx", "tflite", "pytorch"))
    monkeypatch.setattr(runtimes, "_FOUND", [(*others, NumpyOnnx, NumpyTFLite, NumpyTorch)])
    monkeypatch.setattr(tflite, "interpreter_module", _no_litert)  # the op count of a .tflite file: none here
    monkeypatch.setattr(verify_models, "VERIFY_TIMING", Timing(1, 0.0, 3, 0.0, 5.0))
    monkeypatch.setattr(verify, "timing_run", lambda *a: pytest.fail("no timing run when emulated"))
    OFFSET.clear()
    LOADS.clear()
    from bench import machine, models

    monkeypatch.setattr(machine, "facts", lambda: {"board": {"id": "rpi5"}, "emulated": True})
    files = {"onnx": tmp_path / "m.onnx", "tflite": tmp_path / "m.tflite"}
    files["onnx"].write_bytes(models.DIGITS_ONNX.read_bytes())
    files["tflite"].write_bytes(models.DIGITS_TFLITE.read_bytes())
    return verify.ModelSet("m", models.DIGITS_TEST_DATA, files)


def _break(f: Path) -> None:
    with f.open("ab") as out:
        out.write(b"BROKEN")


def _x() -> np.ndarray:
    from bench import data, models

    return data.load_npz(models.DIGITS_TEST_DATA).x[:100]


def test_the_reference_is_onnx_runtime_on_the_onnx_file(stand_ins: verify.ModelSet) -> None:
    x = _x()
    OFFSET.update(onnx=1.0, tflite=2.0)
    name, ref = verify.reference_outputs(stand_ins, x)
    assert name == "onnx (onnx)"
    np.testing.assert_allclose(np.asarray(ref).reshape(100, 10), x.reshape(100, -1) @ W + 1.0, rtol=1e-6)
    (framework, file, options), *_ = LOADS
    assert (framework, file) == ("onnx", "m.onnx") and options.input_shape == (1, 1, 32, 32)
    assert options.delegate is None and options.threads is None


def test_without_an_onnx_file_the_reference_is_litert_without_delegates(stand_ins: verify.ModelSet) -> None:
    only_tflite = verify.ModelSet("m", stand_ins.data, {"tflite": stand_ins.files["tflite"]})
    OFFSET.update(tflite=2.0)
    name, ref = verify.reference_outputs(only_tflite, _x()[:4])
    assert name == "tflite (tflite)" and np.asarray(ref).shape[0] == 4
    assert [(f, file, o.delegate, o.input_shape) for f, file, o in LOADS] == [
        ("tflite", "m.tflite", "none", (1, 1, 32, 32))
    ]


def test_a_broken_onnx_file_falls_back_and_two_broken_files_name_both(stand_ins: verify.ModelSet) -> None:
    _break(stand_ins.files["onnx"])
    assert verify.reference_outputs(stand_ins, _x()[:2])[0] == "tflite (tflite)"
    _break(stand_ins.files["tflite"])
    with pytest.raises(InputError) as err:
        verify.reference_outputs(stand_ins, _x()[:2])
    assert err.value.problem == (
        "no CPU reference runtime works here (onnx: onnx could not load m.onnx; tflite: tflite could not load m.tflite)"
    )
    assert err.value.fix == "install onnxruntime or LiteRT"


def _by_hand(x: np.ndarray, offset: float) -> np.ndarray:
    return x.reshape(len(x), -1).astype(np.float64) @ W.astype(np.float64) + offset


def _path(stand_ins: verify.ModelSet, preset: str, ref: np.ndarray, tmp_path: Path, **kw: Any) -> verify.PathResult:
    args = dict(board="rpi5", emulated=True, output=tmp_path / "r.jsonl", threads=1)
    args.update(kw)
    return verify.verify_path(preset, stand_ins, _x(), ref, **args)


def test_a_path_that_runs_and_agrees_passes(stand_ins: verify.ModelSet, tmp_path: Path) -> None:
    OFFSET.update(tflite=0.5)
    res = _path(stand_ins, "tflite", _by_hand(_x(), 0.5), tmp_path)
    assert (res.preset, res.status, res.reason) == ("tflite", "pass", "")
    assert res.model == str(stand_ins.files["tflite"]) and res.p50_ms > 0
    assert res.output_check["ok"] and res.output_check["max_abs_diff"] < 1e-3
    assert res.output_check["top1_agreement"] == 1.0
    assert res.timing_check == {"ok": True, "note": "emulated: timing not checked"}
    runs = [o for f, _, o in LOADS if f == "tflite"]
    assert len(runs) >= 2, "the measured run, then the untimed outputs on the reference's samples"
    outputs = runs[-1]
    assert (outputs.threads, outputs.delegate, outputs.input_shape) == (1, None, (1, 1, 32, 32))
    rec = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[-1])
    assert (rec["status"], rec["options"]["label"], rec["options"]["threads"]) == ("ok", "verify tflite", 1)


def test_outputs_off_by_one_fail_the_path_while_it_runs(stand_ins: verify.ModelSet, tmp_path: Path) -> None:
    res = _path(stand_ins, "onnx", _by_hand(_x(), 1.0), tmp_path)
    assert (res.status, res.reason) == ("fail", "outputs out of bounds")
    assert res.output_check["max_abs_diff"] == pytest.approx(1.0, abs=1e-3) and res.p50_ms > 0
    assert res.output_check["top1_agreement"] == 1.0, "the same ranking, only shifted"


@pytest.mark.parametrize(
    "shift, timing, reason",
    [
        (0.0, {"ok": False, "note": "slow"}, "timing out of bounds"),
        (1.0, {"ok": False, "note": "slow"}, "outputs and timing out of bounds"),
        (0.0, {"ok": True, "note": "fine"}, ""),
    ],
)
def test_on_a_board_the_timing_check_joins_the_verdict(
    stand_ins: verify.ModelSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shift: float, timing: dict, reason: str
) -> None:
    calls: List[tuple] = []
    marker = verify.TimingModels(zoo_dir=tmp_path / "zoo")
    monkeypatch.setattr(verify, "timing_run", lambda *a: calls.append(a) or timing)
    res = _path(stand_ins, "onnx", _by_hand(_x(), shift), tmp_path, emulated=False, threads=3, timing=marker)
    assert calls == [("onnx", "rpi5", marker, tmp_path / "r.jsonl", 3)]
    assert res.timing_check == timing and (res.status, res.reason) == ("fail" if reason else "pass", reason)


def test_a_failed_timing_run_is_a_failed_timing_check(
    stand_ins: verify.ModelSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*a: Any) -> dict:
        raise ModelFormatError("zoo model broken", "run edgebench zoo again")

    monkeypatch.setattr(verify, "timing_run", fails)
    res = _path(stand_ins, "onnx", _by_hand(_x(), 0.0), tmp_path, emulated=False)
    assert res.timing_check == {
        "ok": False,
        "note": "timing run failed: zoo model broken. Fix: run edgebench zoo again",
    }
    assert (res.status, res.reason) == ("fail", "timing out of bounds")


def test_a_path_whose_model_does_not_load_fails_with_the_runs_error(stand_ins: verify.ModelSet, tmp_path: Path) -> None:
    _break(stand_ins.files["tflite"])
    res = _path(stand_ins, "tflite", _by_hand(_x(), 0.0), tmp_path)
    assert res == verify.PathResult(
        "tflite",
        "fail",
        "tflite could not load m.tflite. Fix: use an undamaged file",
        model=str(stand_ins.files["tflite"]),
    )


def test_a_path_without_its_file_is_skipped_without_a_run(stand_ins: verify.ModelSet, tmp_path: Path) -> None:
    only_tflite = verify.ModelSet("m", stand_ins.data, {"tflite": stand_ins.files["tflite"]})
    res = verify.verify_path("pytorch", only_tflite, _x(), _by_hand(_x(), 0.0), "rpi5", True, tmp_path / "r", 1)
    assert res == verify.PathResult("pytorch", "skipped", "no pytorch model in the set")
    # with an ONNX file it would run on the ONNX export, which the conversion table cannot take to PyTorch
    res = _path(stand_ins, "pytorch", _by_hand(_x(), 0.0), tmp_path)
    assert res == verify.PathResult("pytorch", "skipped", "nothing converts to pytorch")
    assert LOADS == [] and not (tmp_path / "r.jsonl").exists() and not (tmp_path / "r").exists()


def test_int8_without_representative_data_is_skipped_and_a_damaged_file_is_the_runs_failure(
    stand_ins: verify.ModelSet, tmp_path: Path
) -> None:
    assert verify.why_skipped("tflite-int8", stand_ins) == "int8 needs --representative-data-path"
    with_data = verify.ModelSet("m", stand_ins.data, stand_ins.files, representative=stand_ins.data)
    assert verify.why_skipped("tflite-int8", with_data) is None
    stand_ins.files["tflite"].write_bytes(b"")  # no format can be told: not a skip, the run says what is wrong
    assert verify.why_skipped("tflite", stand_ins) is None
    res = _path(stand_ins, "tflite", _by_hand(_x(), 0.0), tmp_path)
    assert res.status == "fail" and res.reason.endswith("is empty or truncated (0 bytes). Fix: re-export the model")


def test_the_run_writes_one_report_of_every_path(stand_ins: verify.ModelSet, tmp_path: Path) -> None:
    OFFSET.update(onnx=0.25, tflite=0.75)  # the reference is the onnx stand-in: tflite is 0.5 off
    report, path = verify.run(stand_ins, ["onnx", "tflite", "pytorch"], tmp_path / "reports", tmp_path / "r.jsonl", 1)
    assert path.parent == tmp_path / "reports" and path.name.startswith("verify-rpi5-")
    assert json.loads(path.read_text()) == report
    assert (report["model"], report["reference"]) == ("m", "onnx (onnx)")
    assert report["machine"] == {"board": {"id": "rpi5"}, "emulated": True}
    assert report["tool"]["name"] == "edgebench" and report["created_utc"].endswith("Z")
    assert [(p["preset"], p["status"], p["reason"]) for p in report["paths"]] == [
        ("onnx", "pass", ""),
        ("tflite", "fail", "outputs out of bounds"),
        ("pytorch", "skipped", "nothing converts to pytorch"),
    ]
    assert report["paths"][1]["output_check"]["max_abs_diff"] == pytest.approx(0.5, abs=1e-3)
    assert report["summary"] == {"pass": 1, "fail": 1, "skipped": 1}
    assert {p["timing_check"].get("note") for p in report["paths"][:2]} == {"emulated: timing not checked"}


def test_the_run_checks_the_first_100_samples_and_times_on_the_boards_id(
    stand_ins: verify.ModelSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import machine

    seen: List[tuple] = []
    shapes: List[tuple] = []
    check = verify.check_outputs
    monkeypatch.setattr(verify, "check_outputs", lambda p, g, r: shapes.append((g.shape, r.shape)) or check(p, g, r))
    monkeypatch.setattr(machine, "facts", lambda: {"emulated": False})  # no board found: "generic"
    monkeypatch.setattr(verify, "timing_run", lambda *a: seen.append(a) or {"ok": True})
    report, path = verify.run(stand_ins, ["onnx"], tmp_path / "reports", None, 2)
    assert seen == [("onnx", "generic", verify.TimingModels(), None, 2)]
    assert path.name.startswith("verify-generic-") and report["summary"] == {"pass": 1, "fail": 0, "skipped": 0}
    reference = [o for f, _, o in LOADS if f == "onnx"][0]
    assert reference.threads is None, "the reference runs at the runtime's default threads"
    assert shapes == [((100, 10), (100, 10))], "the first 100 samples, the path's outputs and the reference's"


def test_the_untimed_outputs_load_with_the_presets_delegate_and_the_sets_class(
    stand_ins: verify.ModelSet, tmp_path: Path
) -> None:
    with_class = verify.ModelSet("m", stand_ins.data, stand_ins.files, tmp_path / "net.py", "Net")
    res = verify.verify_path("tflite-nodelegate", with_class, _x(), _by_hand(_x(), 0.0), "rpi5", True, None, 2)
    assert res.status == "pass", res
    outputs = LOADS[-1][2]
    assert (outputs.delegate, outputs.threads) == ("none", 2)
    assert (outputs.model_class_path, outputs.model_class_name) == (tmp_path / "net.py", "Net")


def test_the_run_hands_its_output_file_and_timing_models_to_every_path(
    stand_ins: verify.ModelSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bench import machine

    seen: List[tuple] = []
    marker = verify.TimingModels(zoo_dir=tmp_path / "zoo", edgetpu=tmp_path / "mnv2_edgetpu.tflite")
    monkeypatch.setattr(machine, "facts", lambda: {"board": {"id": "rpi4"}})
    monkeypatch.setattr(verify, "timing_run", lambda *a: seen.append(a) or {"ok": True})
    with caplog.at_level("INFO", logger="bench.verify"):
        verify.run(stand_ins, ["onnx", "tflite"], tmp_path / "reports", tmp_path / "r.jsonl", None, marker)
    assert seen == [
        ("onnx", "rpi4", marker, tmp_path / "r.jsonl", None),
        ("tflite", "rpi4", marker, tmp_path / "r.jsonl", None),
    ]
    labels = [json.loads(line)["options"]["label"] for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert labels == ["verify onnx", "verify tflite"]
    assert [r.getMessage() for r in caplog.records if r.name == "bench.verify"] == ["verify: onnx", "verify: tflite"]
