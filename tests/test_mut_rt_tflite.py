"""bench/runtimes/tflite.py on real LiteRT (ai-edge-litert), fast (no training): the shipped fp32 and int8 digits
models loaded straight into TFLiteRuntime. Expected values come from LiteRT's own interpreter API (tensor details,
quantization), the test labels, ONNX Runtime on the same weights, the packages' versions, and stand-in modules
where a backend or delegate is not on this machine (tflite-runtime, tensorflow, the ARM NN and Edge TPU libraries)."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any, Dict, List

import ai_edge_litert
import numpy as np
import pytest
from ai_edge_litert import interpreter as litert

from bench import models
from bench.errors import FrameworkUnavailable, ModelFormatError
from bench.runtimes import tflite
from bench.runtimes.base import TensorSpec
from bench.runtimes.tflite import TFLiteRuntime
from tests.runtime_helpers import assert_digits_like_onnx_runtime, loaded
from tests.runtime_helpers import run_once as _run

DIGITS = np.load(models.DIGITS_TEST_DATA)
X, Y = DIGITS["x_data"][:100], DIGITS["y_data"][:100]
LITERT = ("ai-edge-litert", ai_edge_litert.__version__)


def _load(path: Path, cls: type = TFLiteRuntime, **kw: Any) -> TFLiteRuntime:
    return loaded(cls, path, **kw)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """The keyword arguments each LiteRT Interpreter is built with (the real interpreter is built)."""
    seen: List[Dict[str, Any]] = []
    real = litert.Interpreter

    def interpreter(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(litert, "Interpreter", interpreter)
    return seen


def test_fp32_specs_are_the_interpreters() -> None:
    rt = _load(models.DIGITS_TFLITE)
    assert rt.input == TensorSpec("serving_default_input:0", (1, 1, 32, 32), "float32", None, None)
    assert rt.output == TensorSpec("PartitionedCall:0", (1, 10), "float32", None, None)
    assert not rt.input.quantized


def test_int8_specs_carry_the_files_scale_and_zero_point() -> None:
    interp = litert.Interpreter(model_path=str(models.DIGITS_TFLITE_INT8))
    (i_scale, i_zp), (o_scale, o_zp) = (interp.get_input_details()[0]["quantization"],
                                        interp.get_output_details()[0]["quantization"])  # fmt: skip
    assert (round(i_scale * 255, 6), i_zp, o_zp) == (1.0, -128, 27)  # inputs 0..1 over the whole int8 range
    rt = _load(models.DIGITS_TFLITE_INT8)
    assert rt.input == TensorSpec("serving_default_input:0", (1, 1, 32, 32), "int8", i_scale, -128)
    assert rt.output == TensorSpec("PartitionedCall:0", (1, 10), "int8", o_scale, 27)
    assert rt.input.quantized and rt.output.quantized
    assert isinstance(rt.input.scale, float) and isinstance(rt.output.zero_point, int)


def test_fp32_outputs_agree_with_onnx_runtime_and_the_labels() -> None:
    rt = _load(models.DIGITS_TFLITE, threads=1)
    assert_digits_like_onnx_runtime(rt)


def test_int8_outputs_agree_with_the_labels() -> None:
    rt = _load(models.DIGITS_TFLITE_INT8)
    scale, zp = 1 / 255, -128  # the input quantization read above: 0..1 onto -128..127
    preds = []
    for i in range(len(X)):
        q = np.clip(np.round(X[i : i + 1] / scale) + zp, -128, 127).astype(np.int8)
        out = _run(rt, q)
        assert out.dtype == np.int8 and out.shape == (1, 10)
        preds.append(int(out.argmax()))
    assert np.mean(np.array(preds) == Y) >= 0.9 and len(set(preds)) == 10


@pytest.mark.parametrize("threads", [None, 2])
def test_threads_and_default_delegate_reach_the_interpreter(spy: List[Dict[str, Any]], threads: Any) -> None:
    rt = _load(models.DIGITS_TFLITE, threads=threads)
    expected = {"model_path": str(models.DIGITS_TFLITE), **({"num_threads": threads} if threads else {})}
    assert spy == [expected]
    assert rt.describe() == {"backend": "ai-edge-litert", "delegate": "default", "threads": threads}
    assert rt.versions() == {"ai-edge-litert": ai_edge_litert.__version__}


def test_delegate_none_builds_without_default_delegates(spy: List[Dict[str, Any]]) -> None:
    rt = _load(models.DIGITS_TFLITE, delegate="none", threads=3)
    resolver = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    assert spy == [
        {"model_path": str(models.DIGITS_TFLITE), "num_threads": 3, "experimental_op_resolver_type": resolver}
    ]
    assert rt.describe() == {"backend": "ai-edge-litert", "delegate": "none", "threads": 3}
    preds = [int(_run(rt, X[i : i + 1]).argmax()) for i in range(20)]  # the reference kernels compute it too
    assert np.mean(np.array(preds) == Y[:20]) >= 0.85


def test_missing_armnn_delegate_is_one_line_and_leaves_no_finalizer_report(monkeypatch: pytest.MonkeyPatch) -> None:
    reports: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    with pytest.raises(OSError):
        litert.load_delegate("/nonexistent/libarmnnDelegate.so", {})  # the hazard: LiteRT's own call
    gc.collect()
    assert [r.object.__qualname__ for r in reports] == ["Delegate.__del__"]
    reports.clear()
    with pytest.raises(FrameworkUnavailable) as err:
        _load(models.DIGITS_TFLITE, delegate="armnn", extra={"delegate_path": "/nonexistent/libarmnnDelegate.so"})
    gc.collect()
    assert reports == [] and sys.unraisablehook == reports.append  # swallowed, and the hook given back
    assert err.value.problem.startswith(
        "TFLite delegate armnn (/nonexistent/libarmnnDelegate.so) could not be loaded: "
    )
    assert err.value.problem.endswith("cannot open shared object file: No such file or directory")  # the loader's
    assert err.value.fix == (
        "give the path of libarmnnDelegate.so with --armnn-path (evaluate.py) or --delegate-path (edgebench run), "
        "or leave it out in the rpi-armnn image"
    )
    assert "\n" not in str(err.value)


def test_edgetpu_delegate_is_the_coral_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "unraisablehook", lambda r: pytest.fail(f"unraisable {r.object}"))

    class Coralish(TFLiteRuntime):
        default_delegate = "edgetpu"

    for kw in ({"delegate": "edgetpu"}, {}):
        with pytest.raises(FrameworkUnavailable) as err:
            _load(models.DIGITS_TFLITE, Coralish if not kw else TFLiteRuntime, **kw)
        assert err.value.problem.startswith("TFLite delegate edgetpu (libedgetpu.so.1) could not be loaded: ")
        assert err.value.fix == "install libedgetpu1-std (Coral apt repository) and plug in the Coral USB accelerator"
    gc.collect()


def test_damaged_file_is_one_line_naming_problem_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(models.DIGITS_TFLITE.read_bytes()[:500])
    with pytest.raises(ModelFormatError) as err:
        _load(bad)
    assert err.value.problem == f"TFLite could not load {bad}: The model is not a valid Flatbuffer buffer"
    assert err.value.fix == "check the file is a complete .tflite model"
    long_name = tmp_path / ("y" * 400 + ".tflite")  # LiteRT's message names the missing path: over 300 characters
    with pytest.raises(ModelFormatError) as err:
        _load(long_name)
    assert len(err.value.problem) == len(f"TFLite could not load {long_name}: ") + 300


def test_versions_and_probes_name_the_installed_package() -> None:
    assert tflite.probe() == {"ai-edge-litert": ai_edge_litert.__version__}
    assert tflite.probe_xnnpack() == {"xnnpack": f"built into ai-edge-litert {ai_edge_litert.__version__}"}
    backend, mod, version = tflite.interpreter_module()
    assert (backend, mod, version) == ("ai-edge-litert", litert, ai_edge_litert.__version__)
    assert tflite.interpreter_module("ai_edge_litert")[0] == "ai-edge-litert"
    rt = _load(models.DIGITS_TFLITE)
    rt.close()
    assert rt._interp is None and rt._invoke is None and rt._set is None and rt._get is None
