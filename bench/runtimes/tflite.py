"""TensorFlow Lite runtime: LiteRT (ai-edge-litert), tflite-runtime, or tf.lite, with optional delegates.

Delegates: the interpreter's default (XNNPACK for float models in LiteRT), ``none`` (reference
kernels, no default delegate), ``armnn`` (ARM NN TFLite delegate, ``libarmnnDelegate.so``) and
``edgetpu`` (Coral, ``libedgetpu.so.1``). The ARM NN and Edge TPU delegate paths are written against
the documented ``load_delegate`` API and verified only up to loading the library: no ARM NN delegate
binary or Edge TPU is available on the development machine.

Vendor API used here, read at the source: ``Interpreter(model_path, experimental_delegates, num_threads,
experimental_op_resolver_type)``, ``load_delegate(library, options)`` and the ``Delegate`` class whose ``__del__``
reads ``self._library`` (tensorflow/tensorflow ``tensorflow/lite/python/interpreter.py``; the same file ships as
``tflite_runtime/interpreter.py`` and ``ai_edge_litert/interpreter.py``). ``OpResolverType`` appeared in March 2021
(tensorflow/tensorflow#44043, commit fafba9e; in TF r2.5's documented ``Interpreter`` signature); builds such as
Coral's tflite-runtime 2.5.0.post1 (TF commit a4dfb8d1, libedgetpu ``workspace.bzl``) are reported without it or
without ``BUILTIN_WITHOUT_DEFAULT_DELEGATES``, so ``--delegate none`` checks for both.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

from bench import envvars, formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes import probes
from bench.runtimes.base import Delegate, Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

#: Delegate library names, overridable by environment for images that install them elsewhere.
ARMNN_DELEGATE_ENV = envvars.ARMNN_DELEGATE
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
    raise FrameworkUnavailable(  # each reason: a package that is there but does not import says why
        "no TFLite interpreter is installed (tried " + ", ".join(order) + ": " + "; ".join(errors) + ")",
        "pip install ai-edge-litert (or tflite-runtime on Python 3.9)",
    )


class _TFLiteShim:
    """tf.lite exposes Interpreter and load_delegate under different attribute paths."""

    def __init__(self, tf: Any) -> None:
        self.Interpreter = tf.lite.Interpreter
        self.load_delegate = tf.lite.experimental.load_delegate
        self.OpResolverType = getattr(tf.lite.experimental, "OpResolverType", None)


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
    return envvars.read(ARMNN_DELEGATE_ENV, ARMNN_DELEGATE_LIB) or ""


def armnn_delegate_fix(path: Optional[str]) -> str:
    """The fix names what chose the library: the path the user gave, else the environment, else the default name."""
    options = "--armnn-path (evaluate.py) or --delegate-path (edgebench run)"  # legacy.py turns the one into the other
    if path:
        return f"give the path of {ARMNN_DELEGATE_LIB} with {options}, or leave it out in the rpi-armnn image"
    if envvars.read(ARMNN_DELEGATE_ENV):
        return f"point {ARMNN_DELEGATE_ENV} at {ARMNN_DELEGATE_LIB}, or give its path with {options}"
    return f"use the rpi-armnn image built with the ARM NN delegate, or give its path with {options}"


#: ARM NN delegate options, names as parsed in ARM-software/armnn delegate/common/src/DelegateOptions.cpp (v24.02)
ARMNN_BACKENDS = "CpuAcc,CpuRef"


def armnn_delegate_options(threads: Optional[int]) -> Dict[str, str]:
    opts = {"backends": ARMNN_BACKENDS, "logging-severity": "warning"}
    if threads:
        opts["number-of-threads"] = str(threads)
    return opts


@contextlib.contextmanager
def _quiet_delegate_finalizer() -> Iterator[None]:
    """Swallow the ``Exception ignored in: Delegate.__del__`` report a failed load leaves behind.

    ``Delegate.__init__`` sets ``self._library`` only after the library loaded; when loading fails, the half-built
    object's ``__del__`` reads the missing attribute and CPython prints a traceback to stderr (seen here with
    ai-edge-litert 2.3.0). The hook filters exactly that report; everything else goes to the previous hook.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        obj = getattr(unraisable, "object", None)
        if getattr(obj, "__qualname__", "") == "Delegate.__del__":
            log.debug("ignored %s from a delegate that failed to load", unraisable.exc_type.__name__)
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _forget_traceback(exc: BaseException) -> str:
    """The first line of an exception's message; drops its frames (they hold the half-built Delegate)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    seen = exc
    while seen is not None:
        seen.__traceback__ = None
        seen = seen.__context__ or seen.__cause__
    return text


def load_named_delegate(mod: Any, delegate: str, threads: Optional[int], path: Optional[str] = None) -> Any:
    """Load the ``armnn`` or ``edgetpu`` delegate; FrameworkUnavailable with a fix when absent.

    ``path``: the delegate library the user named (``--armnn-path``), else the environment or the default name.
    """
    if delegate == "armnn":
        lib, opts = path or armnn_delegate_path(), armnn_delegate_options(threads)
        fix = armnn_delegate_fix(path)
    elif delegate == "edgetpu":
        lib, opts = EDGETPU_LIB, {}
        fix = "install libedgetpu1-std (Coral apt repository) and plug in the Coral USB accelerator"
    else:
        raise FrameworkUnavailable(f"unknown TFLite delegate {delegate!r}", "use xnnpack, armnn, edgetpu or none")
    return load_delegate_quietly(mod.load_delegate, lib, opts, f"TFLite delegate {delegate} ({lib})", fix)


def load_delegate_quietly(load: Any, lib: str, opts: Dict[str, str], what: str, fix: str) -> Any:
    """``load(lib, opts)`` (tflite ``load_delegate`` or pycoral ``load_edgetpu_delegate``), failing in one clean line."""
    why = None
    with _quiet_delegate_finalizer():
        try:
            return load(lib, opts) if lib else load(opts)
        except (ValueError, OSError, RuntimeError, AttributeError) as exc:
            why = _forget_traceback(exc)
        gc.collect()  # finalize the half-built Delegate (held by reference cycles) while the filter is installed
    raise FrameworkUnavailable(f"{what} could not be loaded: {why}", fix)


def no_default_delegate_kwargs(mod: Any, backend: str, version: str) -> Dict[str, Any]:
    """Interpreter arguments for ``--delegate none``; a clear error where the runtime predates OpResolverType."""
    resolver = getattr(mod, "OpResolverType", None)
    if resolver is None or not hasattr(resolver, "BUILTIN_WITHOUT_DEFAULT_DELEGATES"):
        raise FrameworkUnavailable(
            f"--delegate none needs OpResolverType, which {backend} {version} does not have (added in TFLite 2.5+ "
            "builds after March 2021)",
            "drop --delegate none (the interpreter's default op resolver is used) or use a newer TFLite runtime",
        )
    return {"experimental_op_resolver_type": resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES}


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


def probe_xnnpack() -> Dict[str, str]:
    """XNNPACK is built into the interpreter (LiteRT applies it to float models by itself)."""
    backend, _, version = interpreter_module()
    return {"xnnpack": f"built into {backend} {version}"}


#: the Edge TPU delegate (libedgetpu): the Coral runtime's only delegate
EDGETPU = Delegate(
    "edgetpu", device="tpu", accelerator=True, selfcheck="edgetpu", probe=probes.library("libedgetpu", "edgetpu")
)
DELEGATES: Dict[str, Delegate] = {
    "xnnpack": Delegate("xnnpack", selfcheck="xnnpack", probe=probe_xnnpack),
    # the selfcheck "armnn" is the ARM NN *delegate* library; the armnn runtime (PyArmNN) is "pyarmnn"
    "armnn": Delegate(
        "armnn",
        accelerator=True,
        selfcheck="armnn",
        probe=probes.library("armnn-delegate", "armnnDelegate", ARMNN_DELEGATE_ENV),
    ),
    "edgetpu": EDGETPU,
    # "none": BUILTIN_WITHOUT_DEFAULT_DELEGATES, TFLite's reference kernels; needs nothing beyond the interpreter
    "none": Delegate("none"),
}


class TFLiteRuntime(Runtime):
    name = "tflite"
    target = formats.TFLITE
    default_for = (formats.TFLITE,)
    model_suffix = ".tflite"
    delegates = tuple(DELEGATES)
    delegate_facts = DELEGATES
    threads_meaning = "the interpreter's num_threads (and the ARM NN delegate's number-of-threads)"
    verify_files = {"fp32": "tflite", "int8": "tflite-int8"}
    original_cli_rank = 1
    #: delegate used when the options name none; the Coral runtime sets "edgetpu"
    default_delegate: Optional[str] = None
    formats = (formats.TFLITE,)

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
            path = options.extra.get("delegate_path")
            kwargs["experimental_delegates"] = [load_named_delegate(mod, delegate, options.threads, path)]
        elif delegate == "none":
            kwargs.update(no_default_delegate_kwargs(mod, backend, version))
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
