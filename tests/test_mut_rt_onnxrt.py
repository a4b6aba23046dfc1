"""bench/runtimes/onnxrt.py on real ONNX Runtime, fast (no training): the shipped digits model loaded straight into
OnnxRuntime, and small graphs built here with onnx.helper. Expected values come from the ONNX file itself (read with
the onnx package), the test labels, the session ONNX Runtime reports back, and onnxruntime.__version__."""

from __future__ import annotations

import json
import sys
import tempfile
import types
import warnings
from pathlib import Path
from typing import Any, List

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from bench import models
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes import onnxrt
from bench.runtimes.base import TensorSpec
from bench.runtimes.onnxrt import OnnxRuntime
from tests.runtime_helpers import loaded
from tests.runtime_helpers import run_once as _run

DIGITS = np.load(models.DIGITS_TEST_DATA)
X, Y = DIGITS["x_data"][:100], DIGITS["y_data"][:100]


def _load(path: Path, **kw: Any) -> OnnxRuntime:
    return loaded(OnnxRuntime, path, **kw)


def _identity(tmp_path: Path, elem: int, shape: List[object], n_in: int = 1, n_out: int = 1) -> Path:
    """A graph of Identity nodes: n_in inputs (in0, in1, ...), n_out outputs (out0, ...), all of one type and shape."""
    ins = [helper.make_tensor_value_info(f"in{i}", elem, shape) for i in range(n_in)]
    outs = [helper.make_tensor_value_info(f"out{i}", elem, shape) for i in range(n_out)]
    nodes = [helper.make_node("Identity", [f"in{i % n_in}"], [f"out{i}"]) for i in range(n_out)]
    model = helper.make_model(helper.make_graph(nodes, "g", ins, outs), opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def test_digits_specs_are_the_files_own() -> None:
    graph = onnx.load(str(models.DIGITS_ONNX)).graph  # input "input" 1x1x32x32 float, output "logits" 1x10 float
    assert [graph.input[0].name, graph.output[0].name] == ["input", "logits"]
    rt = _load(models.DIGITS_ONNX)
    assert rt.input == TensorSpec("input", (1, 1, 32, 32), "float32", None, None)
    assert rt.output == TensorSpec("logits", (1, 10), "float32", None, None)


def test_digits_outputs_match_a_plain_session_and_the_labels() -> None:
    rt = _load(models.DIGITS_ONNX, threads=1)
    plain = onnxruntime.InferenceSession(str(models.DIGITS_ONNX), providers=["CPUExecutionProvider"])
    preds = []
    for i in range(len(X)):
        out = _run(rt, X[i : i + 1])
        assert out.shape == (1, 10) and out.dtype == np.float32
        np.testing.assert_allclose(out, plain.run(None, {"input": X[i : i + 1]})[0], rtol=1e-5, atol=1e-5)
        preds.append(int(out.argmax()))
    assert np.mean(np.array(preds) == Y) >= 0.9
    assert len(set(preds)) == 10  # not one class for every input


@pytest.mark.parametrize("threads", [None, 2, 3])
def test_threads_and_session_settings_reach_the_session(threads: object) -> None:
    rt = _load(models.DIGITS_ONNX, threads=threads)
    so = rt._sess.get_session_options()
    assert so.intra_op_num_threads == (threads or 0)  # 0: ONNX Runtime's own default
    assert so.inter_op_num_threads == (1 if threads else 0)
    assert so.execution_mode == onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    assert so.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert so.log_severity_level == 3 and not so.enable_profiling
    assert rt.describe() == {"providers": ["CPUExecutionProvider"], "intra_op_threads": threads}


def test_the_default_provider_is_one_onnxruntime_knows() -> None:
    """ONNX Runtime warns and falls back to the CPU for a provider name it does not have: the default must be exact."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rt = _load(models.DIGITS_ONNX)
    assert rt._sess.get_providers() == ["CPUExecutionProvider"]


def test_close_before_any_load_has_nothing_to_release() -> None:
    rt = OnnxRuntime()
    rt.close()  # a load that failed early: the harness still closes
    assert rt._sess is None


def test_providers_option_reaches_the_session() -> None:
    providers = ["AzureExecutionProvider", "CPUExecutionProvider"]
    assert set(providers) <= set(onnxruntime.get_available_providers())
    rt = _load(models.DIGITS_ONNX, extra={"providers": providers})
    assert rt._sess.get_providers() == providers and rt.describe()["providers"] == providers


def test_versions_and_probe_name_the_installed_package() -> None:
    assert _load(models.DIGITS_ONNX).versions() == {"onnxruntime": onnxruntime.__version__}
    probed = onnxrt.probe()
    assert probed["onnxruntime"] == onnxruntime.__version__ and set(probed) == {"onnxruntime", "providers"}
    assert probed["providers"].split(",") == onnxruntime.get_available_providers()


def test_missing_onnxruntime_is_framework_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(FrameworkUnavailable) as err:
        OnnxRuntime().setup()
    assert err.value.problem == "onnxruntime is not installed" and err.value.fix == "pip install onnxruntime"
    assert isinstance(err.value.__cause__, ImportError)


def test_damaged_file_is_one_line_naming_problem_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "cut.onnx"
    bad.write_bytes(models.DIGITS_ONNX.read_bytes()[:500])
    with pytest.raises(ModelFormatError) as err:
        _load(bad)
    assert err.value.problem.startswith(f"ONNX Runtime could not load {bad}: ")
    assert len(err.value.problem) > len(f"ONNX Runtime could not load {bad}: ") + 10  # ORT's reason is in it
    assert err.value.fix == "check the file is a complete ONNX model (onnx.checker.check_model)"
    assert "\n" not in str(err.value) and isinstance(err.value.__cause__, Exception)


def test_long_load_errors_keep_their_first_300_characters(tmp_path: Path) -> None:
    long_name = tmp_path / ("x" * 400 + ".onnx")  # ORT's message repeats the missing path: over 300 characters
    with pytest.raises(ModelFormatError) as err:
        _load(long_name)
    reason = err.value.problem[len(f"ONNX Runtime could not load {long_name}: ") :]
    assert len(reason) == 300


@pytest.mark.parametrize("n_in, n_out", [(2, 1), (1, 2)])
def test_several_inputs_or_outputs_are_refused(tmp_path: Path, n_in: int, n_out: int) -> None:
    path = _identity(tmp_path, TensorProto.FLOAT, [1, 4], n_in, n_out)
    with pytest.raises(UnsupportedModelError) as err:
        _load(path)
    ins, outs = [f"in{i}" for i in range(n_in)], [f"out{i}" for i in range(n_out)]
    assert err.value.problem == (
        f"model has inputs {ins} and outputs {outs}; only single-input single-output models are measured"
    )
    assert err.value.fix == "export a model with one input and one output"


DTYPES = [
    (TensorProto.FLOAT, "float32"),
    (TensorProto.FLOAT16, "float16"),
    (TensorProto.DOUBLE, "float64"),
    (TensorProto.INT8, "int8"),
    (TensorProto.UINT8, "uint8"),
    (TensorProto.INT16, "int16"),
    (TensorProto.INT32, "int32"),
    (TensorProto.INT64, "int64"),
    (TensorProto.BOOL, "bool"),
    (TensorProto.STRING, "tensor(string)"),  # no numpy name of its own: ONNX Runtime's type string is kept
]


@pytest.mark.parametrize("elem, name", DTYPES)
def test_each_onnx_type_gets_its_numpy_name(tmp_path: Path, elem: int, name: str) -> None:
    rt = _load(_identity(tmp_path, elem, [1, 3]))
    assert rt.input.dtype == name and rt.output.dtype == name
    assert np.dtype(helper.tensor_dtype_to_np_dtype(elem)).name in (name, "object")  # onnx's own mapping agrees


@pytest.mark.parametrize(
    "shape, expected",
    [
        (["N", 3, "H"], (1, 3, -1)),  # a dynamic batch is run at 1; other dynamic dimensions stay -1
        ([2, "C"], (2, -1)),
        ([None, 5], (1, 5)),
        ([], ()),  # a scalar
    ],
)
def test_dynamic_dimensions(tmp_path: Path, shape: List[object], expected: tuple) -> None:
    rt = _load(_identity(tmp_path, TensorProto.FLOAT, shape))
    assert rt.input.shape == expected and rt.output.shape == expected
    assert rt.input.name == "in0" and rt.output.name == "out0"


def _names(rows: List[dict]) -> dict:
    counts: dict = {}
    for r in rows:
        counts[r["name"]] = counts.get(r["name"], 0) + 1
    return counts


@pytest.mark.parametrize("warm, measured, start", [(3, 2, True), (2, 3, False)])
def test_profile_rows_are_the_measured_runs_kernels(warm: int, measured: int, start: bool) -> None:
    """Without profile_start every run is counted; with it, only the runs after it."""
    rt = _load(models.DIGITS_ONNX, extra={"profile": True})
    assert rt._sess.get_session_options().enable_profiling
    prof_dir = Path(rt._prof_dir)
    assert prof_dir.parent == Path(tempfile.gettempdir()) and prof_dir.name.startswith("edgebench-ortprof-")
    assert prof_dir.is_dir() and rt._sess.get_session_options().profile_file_prefix == str(prof_dir / "ort")
    for _ in range(warm):
        _run(rt, X[:1])
    if start:
        rt.profile_start()
    for _ in range(measured):
        _run(rt, X[:1])
    rows = rt.profile_rows()
    assert not prof_dir.exists()
    counts = _names(rows)
    assert set(counts.values()) == {measured if start else warm + measured}  # each node once a run
    assert "/classifier/Gemm" in counts and "/Flatten" in counts and not any(n.endswith("_time") for n in counts)
    graph_ops = {n.op_type for n in onnx.load(str(models.DIGITS_ONNX)).graph.node}
    assert {"Gemm", "Flatten", "MaxPool", "Conv"} <= {r["type"] for r in rows} and graph_ops & {r["type"] for r in rows}
    assert all(r["calls"] == 1 and 0 < r["total_ms"] < 50 for r in rows)
    assert sorted(rows[0]) == ["calls", "name", "total_ms", "type"]
    rt.close()


def test_profile_rows_need_profiling_and_close_removes_an_unread_trace() -> None:
    rt = _load(models.DIGITS_ONNX)
    with pytest.raises(RuntimeError, match="^the session was not created with profiling enabled$"):
        rt.profile_rows()
    rt.close()
    prof = _load(models.DIGITS_ONNX, extra={"profile": True})
    _run(prof, X[:1])
    prof_dir = Path(prof._prof_dir)
    assert prof_dir.is_dir()
    prof.close()
    assert not prof_dir.exists() and prof._sess is None and prof._run is None


#: a trace as ONNX Runtime writes it (cat, name, ts in µs after the profiler's start, dur in µs, args.op_name)
TRACE = [
    {"cat": "Session", "name": "model_run", "ts": 6000, "dur": 900},
    {"cat": "Node", "name": "fc_fence_before", "ts": 6000, "dur": 0, "args": {"op_name": "Gemm"}},
    {"cat": "Node", "name": "fc_kernel_time", "ts": 4999, "dur": 7000, "args": {"op_name": "Gemm"}},  # warm-up
    {"cat": "Node", "name": "fc_kernel_time", "ts": 5000, "dur": 2000, "args": {"op_name": "Gemm"}},
    {"cat": "Session", "name": "x_kernel_time", "ts": 6000, "dur": 5},  # not a node
    {"cat": "Node", "name": "relu_kernel_time", "ts": 6001, "dur": 1500},  # no args
    {"cat": "Node", "ts": 6002, "dur": 1},  # no name
]


def test_profile_trace_is_read_node_kernels_after_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Contract test of the trace reader: a trace written here, handed over as the session's end_profiling file."""
    prof_dir = tmp_path / "prof"
    prof_dir.mkdir()
    trace = prof_dir / "ort.json"
    trace.write_text(json.dumps(TRACE))
    start_ns = 1_700_000_000_000_000_000
    rt = OnnxRuntime()
    rt._profiling, rt._prof_dir = True, str(prof_dir)
    rt._sess = types.SimpleNamespace(get_profiling_start_time_ns=lambda: start_ns, end_profiling=lambda: str(trace))
    monkeypatch.setattr("time.time_ns", lambda: start_ns + 5000 * 1000)  # 5000 µs after the profiler's start
    rt.profile_start()
    assert rt.profile_rows() == [
        {"name": "fc", "type": "Gemm", "calls": 1, "total_ms": 2.0},
        {"name": "relu", "type": "", "calls": 1, "total_ms": 1.5},
    ]
    assert not prof_dir.exists()
