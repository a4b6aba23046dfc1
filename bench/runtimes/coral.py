"""Coral Edge TPU runtime: a TFLite interpreter with the Edge TPU delegate (libedgetpu) and ``num_threads``.

pycoral's ``make_interpreter(model_path_or_content, device=None, delegate=None)`` takes no thread count, so the
interpreter is built here the way ``make_interpreter`` builds it, plus ``num_threads`` (ops that fall back to the CPU
use those threads): ``load_edgetpu_delegate({"device": ...})`` from pycoral, then
``tflite_runtime.interpreter.Interpreter(model_path=..., experimental_delegates=[delegate], num_threads=...)``
(google-coral/pycoral v2.0.0 ``pycoral/utils/edgetpu.py``). Without pycoral, ``load_delegate("libedgetpu.so.1")``
on the TFLite interpreter directly (the base TFLite runtime). The model must be compiled with ``edgetpu_compiler``.

NOT VERIFIED ON HARDWARE: no Edge TPU, libedgetpu or pycoral exists on the development machine (Coral's package
repositories are not reachable). tests/test_vendor_contracts.py drives this module through fake modules built from
pycoral 2.0.0's and tflite_runtime's name lists (contract tests, not a substitute for hardware).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import formats
from bench.errors import FrameworkUnavailable
from bench.machine import CORAL_USB_IDS
from bench.runtimes.base import RuntimeOptions
from bench.runtimes.tflite import EDGETPU, EDGETPU_LIB, TFLiteRuntime, interpreter_module, load_delegate_quietly

log = logging.getLogger(__name__)

_OPEN_FIX = (
    f"plug the Coral USB accelerator into a USB 3 port (lsusb shows {' or '.join(CORAL_USB_IDS)}) and pass it to the "
    "container"
)
_MISMATCH_FIX = (
    "libedgetpu and the TFLite runtime must match: pycoral 2.0.0 needs tflite-runtime 2.5.0.post1 with libedgetpu1-std "
    "16.0 (the rpi-coral image pins them)"
)


def probe() -> Dict[str, str]:
    import ctypes

    backend, _, version = interpreter_module()
    try:
        ctypes.CDLL(EDGETPU_LIB)
    except OSError as exc:
        raise FrameworkUnavailable(
            f"{EDGETPU_LIB} is not installed: {exc}",
            "install libedgetpu1-std from Coral's apt repository (rpi-coral image)",
        ) from exc
    versions = {backend: version, "libedgetpu": EDGETPU_LIB}
    versions.update(_pycoral_facts())
    return versions


def _pycoral() -> Optional[Any]:
    try:
        from pycoral.utils import edgetpu  # google-coral/pycoral v2.0.0 pycoral/utils/edgetpu.py
    except ImportError:
        return None
    return edgetpu


def _pycoral_facts() -> Dict[str, str]:
    """pycoral version, libedgetpu's own version string and the Edge TPUs it sees (for the record)."""
    edgetpu = _pycoral()
    if edgetpu is None:
        return {}
    import pycoral  # pycoral/__init__.py: __version__

    facts = {"pycoral": str(getattr(pycoral, "__version__", "present"))}
    try:
        facts["libedgetpu_runtime"] = str(edgetpu.get_runtime_version())  # _pywrap_coral GetRuntimeVersion
        tpus: List[Dict[str, str]] = edgetpu.list_edge_tpus()  # _pywrap_coral ListEdgeTpus: [{"type", "path"}]
        facts["edgetpus"] = ", ".join(f"{t.get('type')}:{t.get('path')}" for t in tpus) or "none found"
    except (RuntimeError, ValueError, OSError) as exc:
        facts["libedgetpu_runtime"] = f"unreadable: {exc}"
    return facts


class CoralRuntime(TFLiteRuntime):
    name = "coral"
    target = formats.EDGETPU_TFLITE
    default_for = (formats.EDGETPU_TFLITE,)
    model_suffix = "_edgetpu.tflite"
    device = "tpu"
    accelerator = True
    delegates = ("edgetpu",)  # an Edge TPU model runs through the Edge TPU delegate only
    delegate_facts = {"edgetpu": EDGETPU}
    threads_meaning = "the interpreter's num_threads, for the operators that fall back to the CPU"
    verify_files = {"int8": "edgetpu"}  # the Edge TPU runs nothing but int8
    original_cli_rank = 4
    default_delegate = "edgetpu"
    formats = (formats.EDGETPU_TFLITE,)

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        edgetpu = _pycoral()
        if edgetpu is None:
            super().load(model_path, options)  # tflite interpreter + load_delegate(libedgetpu.so.1) + num_threads
            return
        backend, mod, version = interpreter_module("tflite_runtime")  # pycoral imports tflite_runtime.interpreter
        device = options.extra.get("edgetpu_device")  # e.g. "usb", "usb:0"; None = first found
        delegate = load_delegate_quietly(
            edgetpu.load_edgetpu_delegate, "", {"device": device} if device else {}, "the Edge TPU delegate", _OPEN_FIX
        )
        kwargs: Dict[str, Any] = {"model_path": str(model_path), "experimental_delegates": [delegate]}
        if options.threads:
            kwargs["num_threads"] = options.threads  # make_interpreter has no such argument
        try:
            interp = mod.Interpreter(**kwargs)
            interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            text = str(exc)
            first = text.splitlines()[0] if text else type(exc).__name__
            if "custom op" in text or "Unsupported data type" in text:
                raise FrameworkUnavailable(
                    f"the Edge TPU delegate could not run the model: {first}", _MISMATCH_FIX
                ) from exc
            raise FrameworkUnavailable(f"the Edge TPU could not be opened: {first}", _OPEN_FIX) from exc
        self._backend, self._version, self._delegate_name = backend, version, "edgetpu"
        self._facts = _pycoral_facts()
        self._adopt(interp, options.threads)

    def versions(self) -> Dict[str, str]:
        out = super().versions()
        facts = getattr(self, "_facts", {})
        out.update({k: v for k, v in facts.items() if k in ("pycoral", "libedgetpu_runtime")})
        return out

    def describe(self) -> Dict[str, Any]:
        out = super().describe()
        facts = getattr(self, "_facts", {})
        if "edgetpus" in facts:
            out["edgetpus"] = facts["edgetpus"]
        return out
