"""Conversion fidelity (mutation run of bench/convert/fidelity.py) without a framework: the figures of made-up
outputs computed by hand, the tolerance and the warnings at their boundaries, the manifest round trip, and the
measured, deferred and device-checked paths through a numpy runtime that scales its input."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import runtimes
from bench.convert import fidelity as F
from bench.errors import FidelityError, FrameworkUnavailable, InputError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

REF = np.array([[3.0, 1.0], [0.0, 2.0], [1.0, 0.0]])
OUT = np.array([[1.0, 2.0], [0.0, 2.0], [1.0, 0.5]])
# by hand: |REF - OUT| = [[2, 1], [0, 0], [0, 0.5]]; REF.OUT = 3 + 2 + 4 + 1 = 10, |REF|^2 = 15, |OUT|^2 = 10.25
COSINE = 10 / np.sqrt(15 * 10.25)


def test_classification_figures_by_hand() -> None:
    y = np.array([0, 1, 0])  # argmax of REF: 0 1 0, of OUT: 1 1 0
    fid = F.compare(REF, OUT, y, "classification", "data")
    assert fid == {
        "samples": 3,
        "inputs": "data",
        "max_abs_diff": 2.0,
        "mean_abs_diff": pytest.approx(3.5 / 6),
        "cosine_similarity": pytest.approx(COSINE),
        "top1_agreement": pytest.approx(2 / 3),
        "accuracy_source": 1.0,
        "accuracy_converted": pytest.approx(2 / 3),
        "accuracy_change": pytest.approx(-1 / 3),
        "warnings": [],
    }
    assert type(fid["samples"]) is int and type(fid["max_abs_diff"]) is float
    one_hot = F.compare(REF, OUT, np.eye(2)[[0, 1, 0]], "classification", "random")
    assert (one_hot["accuracy_source"], one_hot["accuracy_converted"]) == pytest.approx((1.0, 2 / 3))
    assert one_hot["inputs"] == "random"
    batched = F.compare(REF, OUT, np.eye(2)[[0, 1, 0]].reshape(3, 1, 2), "classification", "d")  # (N, 1, classes)
    assert (batched["accuracy_source"], batched["accuracy_converted"]) == pytest.approx((1.0, 2 / 3))
    column = F.compare(REF, OUT, np.array([[0], [1], [0], [1]]), "classification", "data")  # (N, 1), one more
    assert (column["accuracy_source"], column["accuracy_converted"]) == pytest.approx((1.0, 2 / 3))
    assert F.compare(REF, OUT, None, "classification", "data")["accuracy_source"] is None


def test_one_output_per_sample_has_no_top1() -> None:
    fid = F.compare(np.array([[0.9], [0.2]]), np.array([[0.8], [0.4]]), np.array([1, 0]), "classification", "d")
    assert fid["max_abs_diff"] == pytest.approx(0.2) and fid["mean_abs_diff"] == pytest.approx(0.15)
    assert [fid[k] for k in ("top1_agreement", "accuracy_source", "accuracy_change")] == [None, None, None]
    flat = F.compare(np.array([0.9, 0.2]), np.array([0.8, 0.4]), None, "classification", "d")
    assert flat["top1_agreement"] is None and flat["samples"] == 2


def test_regression_mse_by_hand() -> None:
    ref, out = np.array([[1.0], [2.0]]), np.array([[1.5], [2.0]])
    fid = F.compare(ref, out, np.array([1.0, 3.0]), "regression", "data")
    assert fid["mse_source"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert fid["mse_converted"] == pytest.approx(0.625)  # (0.25 + 1) / 2
    assert fid["top1_agreement"] is None
    two = F.compare(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]), np.array([[0.0, 2.0]]), "regression", "d")
    assert (two["mse_source"], two["mse_converted"]) == pytest.approx((2.5, 2.0))  # (1 + 4) / 2, (0 + 4) / 2
    for y in (None, np.array([[1.0, 2.0], [3.0, 4.0]])):  # no targets, or targets of another width
        fid = F.compare(ref, out, y, "regression", "data")
        assert "mse_source" not in fid and "mse_converted" not in fid
    assert "mse_source" not in F.compare(ref, out, np.array([1.0, 3.0]), "classification", "data")


def test_cosine_of_zero_outputs() -> None:
    zeros = np.zeros((2, 2))
    assert F.compare(zeros, zeros.copy(), None, "regression", "d")["cosine_similarity"] == 1.0
    assert F.compare(zeros, np.ones((2, 2)), None, "regression", "d")["cosine_similarity"] == 0.0
    assert F.compare(np.ones((2, 2)), -np.ones((2, 2)), None, "regression", "d")["cosine_similarity"] == -1.0
    # small outputs: |a| |b| = 0.05, a.b = 0.04
    small = F.compare(np.array([[0.1, 0.2]]), np.array([[0.2, 0.1]]), None, "regression", "d")
    assert small["cosine_similarity"] == pytest.approx(0.8)
    empty = F.compare(np.zeros((0, 2)), np.zeros((0, 2)), None, "regression", "d")
    assert (empty["samples"], empty["max_abs_diff"], empty["mean_abs_diff"]) == (0, 0.0, 0.0)


def test_shapes_aligned_or_refused() -> None:
    ref = np.arange(48.0).reshape(2, 3, 2, 4)  # NCHW, H != W
    nhwc = np.transpose(ref, (0, 2, 3, 1))
    fid = F.compare(ref, nhwc, None, "regression", "data")
    assert fid["max_abs_diff"] == 0.0
    assert fid["warnings"] == ["converted output is NHWC; compared after transposing to the source's NCHW"]
    flat = F.compare(np.array([[1.0], [2.0]]), np.array([1.0, 2.5]), None, "regression", "data")
    assert (flat["max_abs_diff"], flat["warnings"]) == (0.5, [])
    with pytest.raises(FidelityError) as err:
        F.compare(np.zeros((2, 3)), np.zeros((2, 4)), None, "classification", "data")
    assert err.value.problem == "converted model outputs shape [4] per sample, source [3]"
    assert err.value.fix == "the conversion changed the model's output; check the converter log"
    same_size = np.arange(8.0).reshape(2, 2, 2)  # 2x2x2 against (2, 4): reshaped, not transposed
    assert F.compare(np.arange(8.0).reshape(2, 4), same_size, None, "regression", "d")["max_abs_diff"] == 0.0


def test_non_finite_outputs_where_the_source_is_finite() -> None:
    ref = np.zeros((3, 2))
    out = np.array([[np.nan, np.inf], [0.0, 0.0], [0.0, -np.inf]])
    with pytest.raises(FidelityError) as err:
        F.compare(ref, out, None, "classification", "data")
    assert err.value.problem == (
        "the converted model outputs 3 NaN/infinite values where the source's are finite (2 of 3 samples)"
    )
    assert err.value.fix == "an operator overflowed or was mistranslated: use fp32, or check the converter log"
    both = F.compare(np.array([[np.nan, 1.0]]), np.array([[np.nan, 1.0]]), None, "regression", "d")
    assert both["samples"] == 1  # NaN where the source has NaN too is not the conversion's fault


def _fid(**kw: Any) -> Dict[str, Any]:
    base = {"samples": 50, "max_abs_diff": 0.001, "cosine_similarity": 0.9999994, "top1_agreement": 1.0}
    return {**base, "warnings": [], **kw}


def test_fp32_within_and_beyond_the_tolerance() -> None:
    fid = _fid()
    F.check(fid, "fp32", tolerance=0.001, likely_cause="c")  # at the tolerance: fine
    assert fid["warnings"] == []
    with pytest.raises(FidelityError) as err:
        F.check(_fid(max_abs_diff=0.0125), "fp32", tolerance=0.01, likely_cause="c")
    assert err.value.problem == (
        "the fp32 conversion changes outputs by up to 0.0125 (tolerance 0.01; cosine 0.999999, top-1 agreement 1.0)"
        " on 50 samples"
    )
    assert err.value.fix == (
        "the converter mistranslated an operator: check its log, try another --opset, or report the model"
    )
    low = _fid(max_abs_diff=5.0, top1_agreement=0.1, accuracy_change=-0.5, mse_source=1.0, mse_converted=9.0)
    with pytest.raises(FidelityError):
        F.check(low, "fp32", tolerance=1.0, likely_cause="c")
    at_five = _fid(max_abs_diff=5.0, top1_agreement=0.1, accuracy_change=-0.5)
    F.check(at_five, "fp32", tolerance=5.0, likely_cause="c")  # fp32 is held to its tolerance alone
    assert at_five["warnings"] == []


def test_reduced_precision_warnings_at_their_boundaries(caplog: pytest.LogCaptureFixture) -> None:
    quiet = _fid(top1_agreement=0.98, accuracy_change=-0.01, accuracy_source=0.9, accuracy_converted=0.89)
    quiet.update(mse_source=1.0, mse_converted=1.1, max_abs_diff=3.0)
    F.check(quiet, "int8", tolerance=0.001, likely_cause="c")
    assert quiet["warnings"] == []
    loud = _fid(top1_agreement=0.975, accuracy_change=-0.025, accuracy_source=0.9, accuracy_converted=0.875)
    loud.update(mse_source=2.0, mse_converted=2.5, warnings=["earlier"])
    with caplog.at_level(logging.WARNING, logger="bench.convert.fidelity"):
        F.check(loud, "fp16", tolerance=0.001, likely_cause="the cause")
    new = [
        "fp16 model agrees with the source on top-1 for only 97.5% of 50 samples (below 98%); likely cause: the cause",
        "fp16 model loses 2.50 accuracy points (0.9000 -> 0.8750); likely cause: the cause",
        "fp16 model's MSE rises 25.0% (2 -> 2.5); likely cause: the cause",
    ]
    assert loud["warnings"] == ["earlier", *new]
    assert caplog.messages == [f"FIDELITY: {w}" for w in new]
    F.check(loud, "fp16", tolerance=0.001, likely_cause="the cause")  # checked again: not listed twice
    assert loud["warnings"] == ["earlier", *new]


def test_an_mse_rise_under_one() -> None:
    fid = _fid(top1_agreement=None, mse_source=0.5, mse_converted=0.75)
    F.check(fid, "dynamic-range", tolerance=0.001, likely_cause="c")
    assert fid["warnings"] == ["dynamic-range model's MSE rises 50.0% (0.5 -> 0.75); likely cause: c"]


def test_reduced_precision_without_figures_is_quiet() -> None:
    fid = _fid(top1_agreement=None)
    F.check(fid, "dynamic-range", tolerance=0.001, likely_cause="c")
    assert fid["warnings"] == []
    only_source = _fid(top1_agreement=None, mse_source=1.0)
    F.check(only_source, "int8", tolerance=0.001, likely_cause="c")
    assert only_source["warnings"] == []
    only_converted = _fid(top1_agreement=None, mse_converted=100.0)
    F.check(only_converted, "int8", tolerance=0.001, likely_cause="c")
    assert only_converted["warnings"] == []


INT8_ADVICE = (
    "representative data unlike the real inputs (range, preprocessing) sets wrong int8 scales, or a layer "
    "with a wide activation range quantizes poorly; try more/better representative samples, or "
    "--precision dynamic-range / fp16"
)


def test_likely_causes() -> None:
    assert F.likely_cause("int8", None, "tflite") == INT8_ADVICE
    assert F.likely_cause("int8", 100, "onnx2tf") == (
        INT8_ADVICE + "; if the model is TF-origin, quantize the original with TFLiteConverter instead"
    )
    assert F.likely_cause("int8", 99, "x") == (
        "only 99 representative samples calibrated the int8 ranges; " + INT8_ADVICE
    )
    assert F.likely_cause("fp16", 5, "onnx2tf") == (
        "half-precision weights lose detail in layers with large or tiny values; use fp32"
    )
    assert F.likely_cause("dynamic-range", 5, "onnx2tf") == (
        "int8 weights (dynamic range) lose detail in some layers; try fp16 or full int8 with representative data"
    )


def test_manifest_round_trip(tmp_path: Path) -> None:
    fid = {"status": "unchecked", "reused": True, "reference": str(tmp_path / "ref.npz"), "warnings": ["w"]}
    stored = F.to_manifest(fid)
    assert stored == {"status": "unchecked", "reference": "ref.npz", "warnings": ["w"]}
    assert F.from_manifest(stored, tmp_path) is None  # its reference is not there
    (tmp_path / "ref.npz").write_bytes(b"x")
    back = F.from_manifest(stored, tmp_path)
    assert back == {"status": "unchecked", "reference": str(tmp_path / "ref.npz"), "warnings": ["w"]}
    back["warnings"].append("new")
    assert stored["warnings"] == ["w"]  # a copy
    assert F.to_manifest({"status": "checked", "reference": None}) == {"status": "checked", "reference": None}
    assert F.from_manifest(None, tmp_path) is None
    old = F.from_manifest({"max_abs_diff": 0.0}, tmp_path)  # written before deferral: checked, no warnings
    assert old == {"max_abs_diff": 0.0, "warnings": [], "status": "checked"}
    assert F.from_manifest({"status": "unchecked", "reference": ""}, tmp_path) == {
        "status": "unchecked",
        "reference": "",
        "warnings": [],
    }


# ------------------------------------------------------------- measured, deferred and checked through a numpy runtime


class ScaleRuntime(Runtime):
    """Loads a text file holding one number and multiplies its float32 (1, 2) input by it; remembers its loads.
    A file "uint8 <number>" gives a plain uint8 output (no quantization: the model's own integer output)."""

    name = "scale"
    loads: List[Any] = []
    closed: List[str] = []

    def __init__(self, framework: str) -> None:
        self.framework = framework
        self.input = TensorSpec("x", (1, 2), "float32")
        self.output = TensorSpec("y", (1, 2), "float32")

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        self.loads.append((self.framework, model_path, options))
        kind, _, factor = Path(model_path).read_text().rpartition(" ")
        self.factor = float(factor)
        if kind == "uint8":
            self.output = TensorSpec("y", (1, 2), "uint8")

    def prepare(self, x: Any) -> None:
        assert x.shape == (1, 2) and x.dtype == np.float32
        self.x = x

    def invoke(self) -> None:
        self.y = self.x * self.factor

    def fetch(self) -> Any:
        return np.rint(self.y).astype(np.uint8) if self.output.dtype == "uint8" else self.y

    def close(self) -> None:
        self.closed.append(self.framework)

    def versions(self) -> Dict[str, str]:
        return {}


@pytest.fixture
def frameworks(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The runtimes made by name are ScaleRuntimes; a name in the returned list is a framework not installed."""
    missing: List[str] = []

    def create(name: str) -> Runtime:
        if name in missing:
            raise FrameworkUnavailable(f"{name} is not installed", "install it")
        return ScaleRuntime(name)

    monkeypatch.setattr(runtimes, "create", create)
    monkeypatch.setattr(ScaleRuntime, "loads", [])
    monkeypatch.setattr(ScaleRuntime, "closed", [])
    return missing


def _model(tmp_path: Path, name: str, factor: str) -> Path:
    (tmp_path / name).write_text(factor)
    return tmp_path / name


X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]], dtype=np.float32)


def test_open_runtime_by_format(tmp_path: Path, frameworks: List[str]) -> None:
    model = _model(tmp_path, "m", "2")
    rt = F.open_runtime(model, "onnx", RuntimeOptions(threads=2), (1, 2))
    assert rt.framework == "onnx" and rt.factor == 2.0
    assert ScaleRuntime.loads == [("onnx", model, RuntimeOptions(threads=2))]  # input_shape only for PyTorch
    F.open_runtime(str(model), "torchscript", RuntimeOptions(), (1, 2))
    F.open_runtime(model, "pytorch-state-dict", RuntimeOptions(input_shape=(1, 5)), (1, 2))  # the user's kept
    F.open_runtime(model, "pytorch-state-dict", RuntimeOptions(), None)
    assert ScaleRuntime.loads[1:] == [
        ("pytorch", model, RuntimeOptions(input_shape=(1, 2))),
        ("pytorch", model, RuntimeOptions(input_shape=(1, 5))),
        ("pytorch", model, RuntimeOptions()),
    ]
    assert F.open_runtime(model, "edgetpu-tflite", RuntimeOptions(), (1, 2)).framework == "coral"
    with pytest.raises(InputError) as err:
        F.open_runtime(model, "caffe", RuntimeOptions(), (1, 2))
    assert err.value.problem == "no runtime runs caffe models"
    assert err.value.fix == "convert the model to a format a runtime loads"


@pytest.mark.parametrize("fmt", ["savedmodel", "keras"])
def test_open_runtime_of_tensorflow_formats(
    tmp_path: Path, frameworks: List[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    from bench.convert import tf_model

    monkeypatch.setattr(tf_model, "TFRuntime", lambda: ScaleRuntime("tf"))
    frameworks.append("tensorflow")
    rt = F.open_runtime(_model(tmp_path, "m", "3"), fmt, RuntimeOptions(), (1, 2))
    assert (rt.framework, rt.factor) == ("tf", 3.0)


def _subject(tmp_path: Path, converted_format: str = "tflite", factor: str = "2.0005") -> F.Subject:
    return F.Subject(
        source=_model(tmp_path, "src.onnx", "2"),
        source_format="onnx",
        converted=_model(tmp_path, "conv.tflite", factor),
        converted_format=converted_format,
        runtime_options=RuntimeOptions(threads=1, delegate="xnnpack"),
    )


def test_measured_here(tmp_path: Path, frameworks: List[str]) -> None:
    y = np.array([1, 0, 1])
    fid = F.measure_or_defer(
        _subject(tmp_path), X, y, "classification", "data", reference_dir=tmp_path, meta={}, keep=1
    )
    # outputs 2x and 2.0005x: the largest difference 0.0005 * 3
    assert fid["status"] == "checked" and fid["samples"] == 3 and fid["inputs"] == "data"
    assert fid["max_abs_diff"] == pytest.approx(0.0015, rel=1e-3)
    assert (fid["top1_agreement"], fid["accuracy_source"]) == (1.0, pytest.approx(2 / 3))  # argmax 1 0 0
    loaded = [(fw, p.name, o) for fw, p, o in ScaleRuntime.loads]
    assert loaded == [
        ("tflite", "conv.tflite", RuntimeOptions(threads=1)),  # without the user's delegate
        ("onnx", "src.onnx", RuntimeOptions(threads=1)),
    ]
    assert sorted(ScaleRuntime.closed) == ["onnx", "tflite"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.tflite", "src.onnx"]


def test_deferred_when_the_converted_model_cannot_run_here(tmp_path: Path, frameworks: List[str]) -> None:
    frameworks.append("coral")
    ref_dir = tmp_path / "entry"
    ref_dir.mkdir()
    meta = {"samples_key": "k1", "precision": "int8", "artifact_sha256": "ab" * 32}
    y = np.array([1, 0, 0])
    fid = F.measure_or_defer(
        _subject(tmp_path, "edgetpu-tflite"), X, y, "classification", "data", reference_dir=ref_dir, meta=meta, keep=2
    )
    name = "fidelity_reference_" + hashlib_12("k1") + ".npz"
    assert fid == {
        "status": "unchecked",
        "reason": "the edgetpu-tflite model cannot run on this machine (coral is not installed); its outputs are "
        "checked on the device at the first run, against the source's stored here",
        "inputs": "data",
        "samples": 0,
        "reference": str(ref_dir / name),
        "reference_samples": 2,
        "warnings": [],
    }
    ref = F.load_reference(ref_dir / name, "ab" * 32)
    np.testing.assert_array_equal(ref.x, X[:2])
    np.testing.assert_array_equal(ref.outputs, 2 * X[:2])
    np.testing.assert_array_equal(ref.y, y[:2])
    assert ref.meta == {**meta, "model_type": "classification", "inputs": "data"}
    assert [p.name for p in ref_dir.iterdir()] == [name]
    assert [fw for fw, _, _ in ScaleRuntime.loads] == ["onnx"] and ScaleRuntime.closed == ["onnx"]


def hashlib_12(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


@pytest.mark.parametrize("keep, kept", [(0, 1), (2, 2), (10, 3)])
def test_deferred_keeps_between_one_and_every_sample(
    tmp_path: Path, frameworks: List[str], keep: int, kept: int
) -> None:
    frameworks.append("coral")
    fid = F.measure_or_defer(
        _subject(tmp_path, "edgetpu-tflite"), X, None, "regression", "random", reference_dir=tmp_path, meta={},
        keep=keep,
    )  # fmt: skip
    assert fid["reference_samples"] == kept
    assert Path(fid["reference"]).name == "fidelity_reference_" + hashlib_12("None") + ".npz"
    ref = F.load_reference(Path(fid["reference"]))
    assert ref.y is None and len(ref.x) == kept
    assert ref.meta == {"model_type": "regression", "inputs": "random"}


def test_no_source_runtime_leaves_it_unchecked(tmp_path: Path, frameworks: List[str]) -> None:
    frameworks.append("onnx")
    fid = F.measure_or_defer(
        _subject(tmp_path), X, None, "classification", "data", reference_dir=tmp_path, meta={}, keep=5
    )
    assert fid == {
        "status": "unchecked",
        "reason": "the source model cannot run here (onnx is not installed); nothing to compare with",
        "inputs": "data",
        "samples": 0,
        "reference": None,
        "warnings": [],
    }
    assert ScaleRuntime.closed == ["tflite"]  # the converted model's runtime, opened first, is closed
    frameworks.append("coral")
    F.measure_or_defer(
        _subject(tmp_path, "edgetpu-tflite"), X, None, "classification", "d", reference_dir=tmp_path, meta={}, keep=5
    )
    assert ScaleRuntime.closed == ["tflite"]


def test_reference_files_read_back_or_refused(tmp_path: Path) -> None:
    path = F.write_reference(tmp_path / "r.npz", X, 2 * X, None, {"b": 1, "a": "x"})
    assert path == tmp_path / "r.npz" and [p.name for p in tmp_path.iterdir()] == ["r.npz"]
    ref = F.load_reference(str(path), "ff" * 32)  # a meta without a sha256 is not checked
    assert (ref.path, ref.y, ref.meta) == (path, None, {"b": 1, "a": "x"})
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["meta", "outputs", "x"] and str(npz["meta"]) == '{"a": "x", "b": 1}'
    fix = "pass the fidelity_reference_*.npz stored with this conversion (in its cache entry)"
    with pytest.raises(InputError) as err:
        F.load_reference(tmp_path / "missing.npz")
    assert (err.value.problem, err.value.fix) == (f"fidelity reference {tmp_path / 'missing.npz'} not found", fix)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError) as err:
        F.load_reference(tmp_path / "bad.npz")
    assert err.value.problem.startswith(f"fidelity reference {tmp_path / 'bad.npz'} could not be read: ")
    assert err.value.fix == fix
    np.savez(tmp_path / "nometa.npz", x=X, outputs=X)
    with pytest.raises(InputError, match="could not be read"):
        F.load_reference(tmp_path / "nometa.npz")
    F.write_reference(tmp_path / "s.npz", X, X, np.array([1, 2, 3]), {"artifact_sha256": "ab" * 32})
    assert F.load_reference(tmp_path / "s.npz", "ab" * 32).y.tolist() == [1, 2, 3]
    assert F.load_reference(tmp_path / "s.npz").y.tolist() == [1, 2, 3]
    with pytest.raises(InputError) as err:
        F.load_reference(tmp_path / "s.npz", "cd" * 32)
    assert err.value.problem == (
        f"fidelity reference {tmp_path / 's.npz'} belongs to another model (sha256 abababababab, this one cdcdcdcdcdcd)"
    )
    assert err.value.fix == fix


def _loaded(tmp_path: Path, factor: str) -> ScaleRuntime:
    rt = ScaleRuntime("tflite")
    rt.load(_model(tmp_path, "device.tflite", factor), RuntimeOptions())
    return rt


def test_the_device_checks_the_reference(tmp_path: Path, frameworks: List[str]) -> None:
    meta = {"model_type": "classification", "inputs": "random", "precision": "fp32", "tolerance": 0.01}
    path = F.write_reference(tmp_path / "r.npz", X, 2 * X, np.array([1, 0, 1]), meta)
    fid = F.check_reference(_loaded(tmp_path, "2.001"), F.load_reference(path))
    assert fid["max_abs_diff"] == pytest.approx(0.003, rel=1e-3) and fid["inputs"] == "random"
    assert fid["accuracy_converted"] == pytest.approx(2 / 3)
    assert {k: fid[k] for k in ("status", "checked_at", "reference", "precision", "tolerance")} == {
        "status": "checked",
        "checked_at": "on the device, after the first run",
        "reference": str(path),
        "precision": "fp32",
        "tolerance": 0.01,
    }
    with pytest.raises(FidelityError, match=r"up to 0\.03 \(tolerance 0\.01;"):
        F.check_reference(_loaded(tmp_path, "2.01"), F.load_reference(path))


def test_the_device_check_with_the_defaults(tmp_path: Path, frameworks: List[str]) -> None:
    path = F.write_reference(tmp_path / "r.npz", X, 2 * X, None, {})  # fp32, classification, 0.001
    fid = F.check_reference(_loaded(tmp_path, "2.0003"), F.load_reference(path))
    assert (fid["precision"], fid["tolerance"], fid["inputs"]) == ("fp32", 0.001, "data")
    assert fid["top1_agreement"] == 1.0  # classification: top-1 compared
    with pytest.raises(FidelityError, match=r"tolerance 0\.001;"):
        F.check_reference(_loaded(tmp_path, "2.0004"), F.load_reference(path))
    meta = {"precision": "int8", "likely_cause": "scales", "tolerance": 0.5}
    path = F.write_reference(tmp_path / "q.npz", X, 2 * X, None, meta)
    fid = F.check_reference(_loaded(tmp_path, "-2"), F.load_reference(path))  # every argmax flipped
    assert (fid["precision"], fid["tolerance"], fid["top1_agreement"]) == ("int8", None, 0.0)
    assert fid["warnings"] == [
        "int8 model agrees with the source on top-1 for only 0.0% of 3 samples (below 98%); likely cause: scales"
    ]


def test_outputs_of_one_model(tmp_path: Path, frameworks: List[str]) -> None:
    model = _model(tmp_path, "m.pt", "3")
    got = F.outputs(model, "torchscript", X, RuntimeOptions(threads=4))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, 3 * X.astype(np.float64))
    assert ScaleRuntime.loads == [("pytorch", model, RuntimeOptions(threads=4, input_shape=(1, 2)))]
    assert ScaleRuntime.closed == ["pytorch"]


def test_integer_outputs_are_compared_as_numbers(tmp_path: Path, frameworks: List[str]) -> None:
    # uint8 outputs 1 and 2 (source) against 2 and 4 (converted): differences 1 and 2, not 255 and 254
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    got = F.outputs(_model(tmp_path, "a.tflite", "uint8 2"), "tflite", x, RuntimeOptions())
    assert got.dtype == np.float64 and got.tolist() == [[2.0, 4.0]]
    subject = F.Subject(
        _model(tmp_path, "src.onnx", "uint8 1"), "onnx", _model(tmp_path, "c.tflite", "uint8 2"), "tflite",
        RuntimeOptions(),
    )  # fmt: skip
    fid = F.measure_or_defer(subject, x, None, "regression", "data", reference_dir=tmp_path, meta={}, keep=1)
    assert (fid["max_abs_diff"], fid["mean_abs_diff"]) == (2.0, 1.5)
    meta = {"model_type": "regression", "precision": "int8"}
    ref_path = F.write_reference(tmp_path / "r.npz", x, np.array([[2, 4]], np.uint8), None, meta)
    checked = F.check_reference(_loaded(tmp_path, "uint8 3"), F.load_reference(ref_path))  # outputs 3 and 6
    assert (checked["max_abs_diff"], checked["mean_abs_diff"]) == (2.0, 1.5)


def test_torch_models_get_the_sample_shape(tmp_path: Path, frameworks: List[str]) -> None:
    x = np.ones((2, 2), np.float32)
    subject = F.Subject(
        _model(tmp_path, "src.pt", "1"), "torchscript", _model(tmp_path, "net.pth", "1"), "pytorch-state-dict",
        RuntimeOptions(),
    )  # fmt: skip
    F.measure_or_defer(subject, x, None, "regression", "data", reference_dir=tmp_path, meta={}, keep=1)
    assert [o.input_shape for _, _, o in ScaleRuntime.loads] == [(1, 2), (1, 2)]


def test_the_device_check_of_an_exact_regression_source(tmp_path: Path, frameworks: List[str]) -> None:
    y = np.array([[2.0, 4.0], [6.0, -2.0], [1.0, 0.0]])  # 2 * X: the source is exact, its MSE 0
    meta = {"model_type": "regression", "precision": "fp16"}
    path = F.write_reference(tmp_path / "r.npz", X, 2 * X, y, meta)
    fid = F.check_reference(_loaded(tmp_path, "3"), F.load_reference(path))  # 3 * X: off by X
    assert fid["top1_agreement"] is None and fid["mse_source"] == 0.0
    assert fid["mse_converted"] == pytest.approx((1 + 4 + 9 + 1 + 0.25) / 6)
    # no likely cause stored: none named; a rise from 0 is no percentage (it divided by zero before)
    assert fid["warnings"] == ["fp16 model's MSE rises from 0 (0 -> 2.542); likely cause: "]
    same = F.check_reference(_loaded(tmp_path, "2"), F.load_reference(path))
    assert (same["mse_converted"], same["warnings"]) == (0.0, [])


def test_a_reference_is_written_beside_its_final_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replaced: List[Any] = []
    real_replace = os.replace

    def record(src: str, dst: str) -> None:
        replaced.append((Path(src).parent, Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(F.os, "replace", record)
    (tmp_path / "entry").mkdir()
    F.write_reference(tmp_path / "entry" / "r.npz", X, X, None, {})
    assert replaced == [(tmp_path / "entry", tmp_path / "entry" / "r.npz")]  # one rename in one folder: atomic
    assert os.listdir(tmp_path / "entry") == ["r.npz"]
