"""A plain registry of runtimes: name -> "module:Class". Modules are imported only when used."""

from __future__ import annotations

import importlib
from typing import Dict

from bench.errors import FrameworkUnavailable, InputError
from bench.runtimes.base import Runtime

RUNTIMES: Dict[str, str] = {
    "pytorch": "bench.runtimes.pytorch:PyTorchRuntime",
    "onnx": "bench.runtimes.onnxrt:OnnxRuntime",
    "tflite": "bench.runtimes.tflite:TFLiteRuntime",
    "tensorrt": "bench.runtimes.tensorrt:TensorRTRuntime",
    "coral": "bench.runtimes.coral:CoralRuntime",
    "armnn": "bench.runtimes.armnn:ArmNNRuntime",
    "executorch": "bench.runtimes.executorch:ExecuTorchRuntime",
    "openvino": "bench.runtimes.openvino:OpenVINORuntime",
    "ncnn": "bench.runtimes.ncnn:NcnnRuntime",
}


def runtime_class(name: str) -> type:
    """The Runtime class registered as ``name``; imports its module (and so its framework)."""
    if name not in RUNTIMES:
        raise InputError(f"unknown framework {name!r}", f"use one of: {', '.join(RUNTIMES)}")
    module_name, class_name = RUNTIMES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # a runtime module imports its framework lazily; this is a bug guard
        raise FrameworkUnavailable(
            f"runtime {name!r} could not be imported: {exc}", "see `python -m bench selfcheck`"
        ) from exc
    return getattr(module, class_name)


def create(name: str) -> Runtime:
    """A new, unloaded runtime instance."""
    return runtime_class(name)()
