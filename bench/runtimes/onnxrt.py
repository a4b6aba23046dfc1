"""ONNX Runtime (CPU execution provider unless told otherwise)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

from bench import formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise FrameworkUnavailable("onnxruntime is not installed", "pip install onnxruntime") from exc
    return onnxruntime


def probe() -> Dict[str, str]:
    ort = _ort()
    return {"onnxruntime": ort.__version__, "providers": ",".join(ort.get_available_providers())}


def _spec(arg: Any) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else -1 for d in (arg.shape or ()))
    if shape and shape[0] == -1:
        shape = (1,) + shape[1:]  # batch size 1
    return TensorSpec(arg.name, shape, _ORT_DTYPES.get(arg.type, arg.type))


class OnnxRuntime(Runtime):
    name = "onnx"
    target = formats.ONNX
    default_for = (formats.ONNX,)
    model_suffix = ".onnx"
    threads_meaning = "SessionOptions.intra_op_num_threads (inter-op threads 1)"
    original_cli_rank = 2
    formats = (formats.ONNX,)

    def setup(self) -> None:
        _ort()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        ort = _ort()
        so = ort.SessionOptions()
        if options.threads:
            so.intra_op_num_threads = options.threads
            so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        self._profiling = bool(options.extra.get("profile"))
        if self._profiling:  # bench.profile: the session's Chrome-trace JSON, read by profile_rows()
            import tempfile

            self._prof_dir = tempfile.mkdtemp(prefix="edgebench-ortprof-")
            so.enable_profiling = True
            so.profile_file_prefix = str(Path(self._prof_dir) / "ort")
        providers = options.extra.get("providers") or ["CPUExecutionProvider"]
        try:
            self._sess = ort.InferenceSession(str(model_path), sess_options=so, providers=providers)
        except Exception as exc:
            raise ModelFormatError(
                f"ONNX Runtime could not load {model_path}: {str(exc).splitlines()[0][:300]}",
                "check the file is a complete ONNX model (onnx.checker.check_model)",
            ) from exc
        ins, outs = self._sess.get_inputs(), self._sess.get_outputs()
        if len(ins) != 1 or len(outs) != 1:
            raise UnsupportedModelError(
                f"model has inputs {[i.name for i in ins]} and outputs {[o.name for o in outs]}; "
                "only single-input single-output models are measured",
                "export a model with one input and one output",
            )
        self.input, self.output = _spec(ins[0]), _spec(outs[0])
        self._run = self._sess.run
        self._in_name = self.input.name
        self._threads = options.threads
        self._feed: Dict[str, Any] = {}
        self._y: Any = None

    def prepare(self, x: Any) -> None:
        self._feed = {self._in_name: x}

    def invoke(self) -> None:
        self._y = self._run(None, self._feed)

    def fetch(self) -> Any:
        return self._y[0]

    def close(self) -> None:
        self._sess = None
        self._run = None
        if getattr(self, "_profiling", False):  # a profile never read (failed run): its trace file goes too
            import shutil

            shutil.rmtree(self._prof_dir, ignore_errors=True)

    def versions(self) -> Dict[str, str]:
        return {"onnxruntime": _ort().__version__}

    profile_source = "onnxruntime profiler (SessionOptions.enable_profiling, end_profiling JSON)"

    def profile_start(self) -> None:
        """The measured runs begin: node events before this wall-clock instant (warm-up) are left out."""
        import time

        self._prof_from_ns = time.time_ns()

    def profile_rows(self) -> List[Dict[str, Any]]:
        """One row per ``<node>_kernel_time`` event of the measured runs (ts: µs after the profiler's start)."""
        import json
        import shutil

        if not self._profiling:
            raise RuntimeError("the session was not created with profiling enabled")
        start_ns = self._sess.get_profiling_start_time_ns()
        path = Path(self._sess.end_profiling())
        try:
            events = json.loads(path.read_text())
        finally:
            shutil.rmtree(self._prof_dir, ignore_errors=True)
        since = getattr(self, "_prof_from_ns", 0)
        rows = []
        for e in events:
            name = str(e.get("name", ""))
            if e.get("cat") != "Node" or not name.endswith("_kernel_time") or start_ns + e["ts"] * 1000 < since:
                continue
            op = (e.get("args") or {}).get("op_name", "")
            rows.append({"name": name[: -len("_kernel_time")], "type": op, "calls": 1, "total_ms": e["dur"] / 1e3})
        return rows

    def describe(self) -> Dict[str, Any]:
        return {"providers": self._sess.get_providers(), "intra_op_threads": self._threads}
