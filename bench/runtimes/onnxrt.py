"""ONNX Runtime (CPU execution provider unless told otherwise)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict

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

    def versions(self) -> Dict[str, str]:
        return {"onnxruntime": _ort().__version__}

    def describe(self) -> Dict[str, Any]:
        return {"providers": self._sess.get_providers(), "intra_op_threads": self._threads}
