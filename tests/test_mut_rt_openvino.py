"""bench/runtimes/openvino.py on real OpenVINO, fast (no training): the shipped digits ONNX model converted here with
OpenVINO's own ov.convert_model into an IR (.xml with its .bin), and small IRs built with OpenVINO's opset. Expected
values come from the ONNX file, the test labels, ONNX Runtime on the same weights, and what the compiled model and
the Core report back (properties, device name, profiling info, the version)."""

from __future__ import annotations

import sys
import types
from datetime import timedelta
from pathlib import Path
from typing import Any, List

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from bench import models
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes import openvino as ovrt
from bench.runtimes.base import RuntimeOptions, TensorSpec
from bench.runtimes.openvino import OpenVINORuntime
from tests.runtime_helpers import assert_digits_like_onnx_runtime, loaded
from tests.runtime_helpers import run_once as _run

DIGITS = np.load(models.DIGITS_TEST_DATA)
X, Y = DIGITS["x_data"][:100], DIGITS["y_data"][:100]


def _save(model: Any, folder: Path, name: str = "m") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / f"{name}.xml"
    ov.save_model(model, str(xml), compress_to_fp16=False)
    return xml


@pytest.fixture(scope="module")
def digits_ir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save(ov.convert_model(str(models.DIGITS_ONNX)), tmp_path_factory.mktemp("ir"), "digits")


def _named(node: Any, name: str) -> Any:
    node.output(0).get_tensor().set_names({name})
    return node


def _small(tmp_path: Path, shape: List[int], n_in: int = 1, n_out: int = 1, quantize: bool = False) -> Path:
    """An IR of Relu nodes (or one FakeQuantize) over n_in float parameters in0.. with n_out results out0.."""
    params = [ops.parameter(shape, np.float32, name=f"in{i}") for i in range(n_in)]
    for i, p in enumerate(params):
        p.output(0).get_tensor().set_names({f"in{i}"})
    if quantize:
        lo, hi = ops.constant(np.float32(0)), ops.constant(np.float32(1))
        results = [_named(ops.fake_quantize(params[0], lo, hi, lo, hi, 256), "out0")]
    else:
        results = [_named(ops.relu(params[i % n_in]), f"out{i}") for i in range(n_out)]
    return _save(ov.Model(results, params, "small"), tmp_path)


def _load(path: Path, **kw: Any) -> OpenVINORuntime:
    return loaded(OpenVINORuntime, path, **kw)


def test_digits_specs_and_outputs(digits_ir: Path) -> None:
    rt = _load(digits_ir)
    assert rt.input == TensorSpec("input", (1, 1, 32, 32), "float32")  # the ONNX file's names and shapes
    assert rt.output == TensorSpec("logits", (1, 10), "float32")
    assert_digits_like_onnx_runtime(rt)


def test_fetch_is_a_copy_not_the_requests_buffer(digits_ir: Path) -> None:
    rt = _load(digits_ir)
    first = _run(rt, X[:1])
    kept = first.copy()
    _run(rt, X[1:2])
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("threads", [1, 2])  # the plugin caps it at the cores (2 here)
def test_settings_reach_the_compiled_model(digits_ir: Path, threads: int) -> None:
    rt = _load(digits_ir, threads=threads)
    assert rt._compiled.get_property("INFERENCE_NUM_THREADS") == threads
    assert rt._compiled.get_property("PERF_COUNT") == "NO"
    assert rt.describe() == {
        "device": "CPU",
        "cpu": ov.Core().get_property("CPU", "FULL_DEVICE_NAME"),
        "performance_hint": "LATENCY",
        "num_streams": 1,
        "inference_num_threads": threads,
        "inference_precision": "f32",
        "precision": "fp32",
        "quantized_ir": False,
    }


def test_without_threads_the_plugin_chooses(digits_ir: Path) -> None:
    default = ov.Core().compile_model(str(digits_ir), "CPU", {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1})
    rt = _load(digits_ir)
    assert rt.describe()["inference_num_threads"] == default.get_property("INFERENCE_NUM_THREADS") > 0


def test_weights_are_read_as_bytes(tmp_path: Path) -> None:
    """A .bin of 12 bytes (three float32): whole bytes, not 8-byte words."""
    p = ops.parameter([1, 3], np.float32, name="in0")
    p.output(0).get_tensor().set_names({"in0"})
    add = _named(ops.add(p, ops.constant(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))), "out0")
    xml = _save(ov.Model([add], [p], "add"), tmp_path)
    assert xml.with_suffix(".bin").stat().st_size == 12
    rt = _load(xml)
    np.testing.assert_allclose(_run(rt, np.array([[1.0, 1.0, 1.0]], dtype=np.float32)), [[2.0, 3.0, 4.0]])


def test_probe_lists_every_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ov, "Core", lambda: types.SimpleNamespace(available_devices=["CPU", "NPU"]))
    assert ovrt.probe() == {"openvino": ov.get_version(), "devices": "CPU,NPU"}


def test_a_fake_quantize_ir_is_int8(tmp_path: Path) -> None:
    rt = _load(_small(tmp_path, [1, 4], quantize=True))
    assert rt.describe()["precision"] == "int8" and rt.describe()["quantized_ir"] is True
    out = _run(rt, np.array([[-1.0, 0.0, 0.5, 2.0]], dtype=np.float32))
    np.testing.assert_allclose(out, [[0.0, 0.0, 128 / 255, 1.0]], atol=1e-6)  # 256 levels over 0..1


def test_dynamic_shapes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        _load(_small(tmp_path, [-1, 4]))
    assert err.value.problem == "OpenVINO model input/output 'in0' has a dynamic shape [?,4]"
    assert (
        err.value.fix == "convert it from a model with a fixed input shape (edgebench converts with the data's shape)"
    )


@pytest.mark.parametrize("n_in, n_out", [(2, 1), (1, 2)])
def test_several_inputs_or_outputs_are_refused(tmp_path: Path, n_in: int, n_out: int) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        _load(_small(tmp_path, [1, 4], n_in, n_out))
    assert err.value.problem == (
        f"model has {n_in} inputs and {n_out} outputs; only single-input single-output models are measured"
    )
    assert err.value.fix == "export a model with one input and one output"


def test_a_damaged_ir_is_one_line_naming_problem_and_fix(digits_ir: Path, tmp_path: Path) -> None:
    """OpenVINO's reason is its message's last line (its first lines are C++ source places)."""
    xml = tmp_path / "cut.xml"
    xml.write_bytes(digits_ir.read_bytes()[:700])
    (tmp_path / "cut.bin").write_bytes(digits_ir.with_suffix(".bin").read_bytes())
    with pytest.raises(ModelFormatError) as err:
        _load(xml)
    assert err.value.problem == f"OpenVINO could not read {xml}: Error parsing start element tag at offset 699"
    assert err.value.fix == "check the .xml and .bin belong together (convert the model again)"
    assert "\n" not in str(err.value) and err.value.__cause__ is not None
    short = tmp_path / "short.xml"
    short.write_bytes(digits_ir.read_bytes())
    (tmp_path / "short.bin").write_bytes(digits_ir.with_suffix(".bin").read_bytes()[:100])
    with pytest.raises(ModelFormatError) as err:
        _load(short)
    assert err.value.problem == f"OpenVINO could not read {short}: Incorrect weights in bin file!"


class _Unreadable:
    """A stand-in Core whose read_model fails with the message it is given."""

    message = ""

    def read_model(self, xml: str, weights: Any) -> None:
        raise RuntimeError(self.message)


@pytest.mark.parametrize(
    "message, reason",
    [
        ("Exception from a.cpp:1:\n" + "z" * 400 + "\n\n", "z" * 300),  # the last line, its first 300 characters
        ("  only line  ", "only line"),
        ("", "RuntimeError"),
    ],
)
def test_the_reason_is_openvinos_last_line(
    digits_ir: Path, monkeypatch: pytest.MonkeyPatch, message: str, reason: str
) -> None:
    monkeypatch.setattr(_Unreadable, "message", message)
    monkeypatch.setattr(ov, "Core", _Unreadable)
    with pytest.raises(ModelFormatError) as err:
        OpenVINORuntime().load(digits_ir, RuntimeOptions())
    assert err.value.problem == f"OpenVINO could not read {digits_ir}: {reason}"


def test_profile_rows_are_the_executed_nodes_of_the_measured_runs(digits_ir: Path) -> None:
    rt = _load(digits_ir, extra={"profile": True})
    assert rt._compiled.get_property("PERF_COUNT") == "YES"
    _run(rt, X[:1])  # warm-up: not collected
    assert rt.profile_rows() == []
    rt.profile_start()
    _run(rt, X[:1])
    _run(rt, X[1:2])
    rows = rt.profile_rows()
    executed = [i for i in rt._req.get_profiling_info() if i.status == ov.ProfilingInfo.Status.EXECUTED]
    ms = [i.real_time / timedelta(milliseconds=1) for i in executed]  # the last inference's counters
    last = [{"name": i.node_name, "type": i.node_type, "calls": 1, "total_ms": t} for i, t in zip(executed, ms)]
    assert executed and len(rows) == 2 * len(executed)
    assert [{**r, "total_ms": round(r["total_ms"], 9)} for r in rows[len(executed) :]] == [
        {**r, "total_ms": round(r["total_ms"], 9)} for r in last
    ]
    assert [r["name"] for r in rows[: len(executed)]] == [r["name"] for r in last]
    assert len(executed) < len(rt._req.get_profiling_info())  # some nodes are not executed (e.g. the parameter)
    rt.profile_start()
    assert rt.profile_rows() == []  # a new start forgets the earlier rows


def test_profile_rows_need_profiling(digits_ir: Path) -> None:
    rt = _load(digits_ir)
    with pytest.raises(RuntimeError, match="^the model was not compiled with profiling enabled$"):
        rt.profile_rows()


def test_versions_probe_and_close(digits_ir: Path) -> None:
    rt = _load(digits_ir)
    assert rt.versions() == {"openvino": ov.get_version()}
    assert ovrt.probe() == {"openvino": ov.get_version(), "devices": "CPU"}
    rt.close()
    assert rt._req is None and rt._compiled is None and rt._infer is None and rt._in is None
    assert rt._out_tensor is None


def test_type_names() -> None:
    assert ovrt._type_name(ov.Type.f32) == "f32" and ovrt._type_name("bf16") == "bf16"


def test_missing_openvino_is_framework_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(FrameworkUnavailable) as err:
        OpenVINORuntime().setup()
    assert err.value.problem == "openvino is not installed" and err.value.fix == "pip install openvino"
