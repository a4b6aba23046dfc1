"""TensorFlow Lite runtime: LiteRT (ai-edge-litert), tflite-runtime, or tf.lite, with optional delegates.

Delegates: the interpreter's default (XNNPACK for float models in LiteRT), ``none`` (reference
kernels, no default delegate), ``armnn`` (ARM NN TFLite delegate, ``libarmnnDelegate.so``) and
``edgetpu`` (Coral, ``libedgetpu.so.1``). The ARM NN and Edge TPU delegate paths are written against
the documented ``load_delegate`` API and verified only up to loading the library: no ARM NN delegate
binary or Edge TPU is available on the development machine.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from bench import formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

#: Delegate library names, overridable by environment for images that install them elsewhere.
ARMNN_DELEGATE_ENV = "EDGEBENCH_ARMNN_DELEGATE"
ARMNN_DELEGATE_LIB = "libarmnnDelegate.so"
EDGETPU_LIB = "libedgetpu.so.1"

_BACKENDS = ("ai_edge_litert", "tflite_runtime", "tensorflow")


def interpreter_module(preferred: Optional[str] = None) -> Tuple[str, Any, str]:
    """(backend name, module with Interpreter and load_delegate, version): LiteRT, then tflite-runtime, then TF."""
    order = (preferred,) if preferred else _BACKENDS
    errors = []
    for name in order:
        try:
            if name == "ai_edge_litert":
                import ai_edge_litert
                from ai_edge_litert import interpreter as mod

                return "ai-edge-litert", mod, getattr(ai_edge_litert, "__version__", _dist_version("ai-edge-litert"))
            if name == "tflite_runtime":
                import tflite_runtime
                from tflite_runtime import interpreter as mod

                return "tflite-runtime", mod, getattr(tflite_runtime, "__version__", _dist_version("tflite-runtime"))
            if name == "tensorflow":
                import tensorflow as tf

                return "tensorflow", _TFLiteShim(tf), tf.__version__
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise FrameworkUnavailable(
        "no TFLite interpreter is installed (tried " + ", ".join(order) + ")",
        "pip install ai-edge-litert (or tflite-runtime on Python 3.9)",
    )


class _TFLiteShim:
    """tf.lite exposes Interpreter and load_delegate under different attribute paths."""

    def __init__(self, tf: Any) -> None:
        self.Interpreter = tf.lite.Interpreter
        self.load_delegate = tf.lite.experimental.load_delegate
        self.OpResolverType = tf.lite.experimental.OpResolverType


def _dist_version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "unknown"


def probe() -> Dict[str, str]:
    backend, _, version = interpreter_module()
    return {backend: version}


def armnn_delegate_path() -> str:
    return os.environ.get(ARMNN_DELEGATE_ENV, ARMNN_DELEGATE_LIB)


def load_named_delegate(mod: Any, delegate: str, threads: Optional[int]) -> Any:
    """Load the ``armnn`` or ``edgetpu`` delegate; FrameworkUnavailable with a fix when absent."""
    if delegate == "armnn":
        lib = armnn_delegate_path()
        opts = {"backends": "CpuAcc,CpuRef", "logging-severity": "warning"}
        if threads:
            opts["number-of-threads"] = str(threads)
        fix = f"use the rpi-armnn image built with the ARM NN delegate, or set {ARMNN_DELEGATE_ENV} to libarmnnDelegate.so"
    elif delegate == "edgetpu":
        lib, opts = EDGETPU_LIB, {}
        fix = "install libedgetpu1-std (Coral apt repository) and plug in the Coral USB accelerator"
    else:
        raise FrameworkUnavailable(f"unknown TFLite delegate {delegate!r}", "use xnnpack, armnn, edgetpu or none")
    try:
        return mod.load_delegate(lib, opts)
    except (ValueError, OSError, RuntimeError) as exc:
        raise FrameworkUnavailable(f"TFLite delegate {delegate} ({lib}) could not be loaded: {exc}", fix) from exc


def _spec(d: Dict[str, Any]) -> TensorSpec:
    scale, zero_point = d.get("quantization", (0.0, 0))
    name = d["dtype"].__name__ if hasattr(d["dtype"], "__name__") else str(d["dtype"])
    return TensorSpec(
        d["name"],
        tuple(int(s) for s in d["shape"]),
        name,
        float(scale) if scale else None,
        int(zero_point) if scale else None,
    )


class TFLiteRuntime(Runtime):
    name = "tflite"
    formats = (formats.TFLITE,)
    #: delegate used when the options name none; the Coral runtime sets "edgetpu"
    default_delegate: Optional[str] = None

    def setup(self) -> None:
        interpreter_module()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        backend, mod, version = interpreter_module(options.extra.get("tflite_backend"))
        self._backend, self._version = backend, version
        delegate = options.delegate or self.default_delegate
        self._delegate_name = delegate or "default"
        kwargs: Dict[str, Any] = {"model_path": str(model_path)}
        if options.threads:
            kwargs["num_threads"] = options.threads
        if delegate in ("armnn", "edgetpu"):
            kwargs["experimental_delegates"] = [load_named_delegate(mod, delegate, options.threads)]
        elif delegate == "none":
            kwargs["experimental_op_resolver_type"] = mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            interp = mod.Interpreter(**kwargs)
            interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            msg = str(exc).splitlines()[0][:300]
            if "edgetpu-custom-op" in str(exc):
                raise FrameworkUnavailable(
                    f"{model_path} is compiled for the Edge TPU and needs its delegate", "use --framework coral"
                ) from exc
            raise ModelFormatError(
                f"TFLite could not load {model_path}: {msg}", "check the file is a complete .tflite model"
            ) from exc
        self._adopt(interp, options.threads)

    def _adopt(self, interp: Any, threads: Optional[int]) -> None:
        """Take an allocated interpreter: check it has one input and one output, bind the fast paths."""
        ins, outs = interp.get_input_details(), interp.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise UnsupportedModelError(
                f"model has inputs {[i['name'] for i in ins]} and outputs {[o['name'] for o in outs]}; "
                "only single-input single-output models are measured",
                "convert a model with one input and one output",
            )
        self.input, self.output = _spec(ins[0]), _spec(outs[0])
        self._interp = interp
        self._set = interp.set_tensor
        self._invoke = interp.invoke
        self._get = interp.get_tensor
        self._in_idx, self._out_idx = ins[0]["index"], outs[0]["index"]
        self._threads = threads

    def prepare(self, x: Any) -> None:
        self._set(self._in_idx, x)

    def invoke(self) -> None:
        self._invoke()

    def fetch(self) -> Any:
        return self._get(self._out_idx)

    def close(self) -> None:
        self._interp = self._set = self._invoke = self._get = None

    def versions(self) -> Dict[str, str]:
        return {self._backend: self._version}

    def describe(self) -> Dict[str, Any]:
        return {"backend": self._backend, "delegate": self._delegate_name, "threads": self._threads}
