"""Coral Edge TPU runtime: a TFLite interpreter with the Edge TPU delegate (libedgetpu).

Uses pycoral's ``make_interpreter`` when pycoral is installed (it picks the device and delegate the
way Coral documents), else ``load_delegate("libedgetpu.so.1")`` on the TFLite interpreter directly.
The model must be compiled with ``edgetpu_compiler``; a plain int8 TFLite would run on the CPU.

NOT VERIFIED ON HARDWARE: no Edge TPU, libedgetpu or pycoral exists on the development machine
(Coral's package repositories are not reachable). Tests cover everything up to loading the delegate.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict

from bench import formats
from bench.errors import FrameworkUnavailable
from bench.runtimes.base import RuntimeOptions
from bench.runtimes.tflite import EDGETPU_LIB, TFLiteRuntime, interpreter_module

log = logging.getLogger(__name__)

CORAL_USB_IDS = ("1a6e:089a", "18d1:9302")  # before and after the firmware is loaded


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
    try:
        import pycoral

        versions["pycoral"] = getattr(pycoral, "__version__", "present")
    except ImportError:
        pass
    return versions


class CoralRuntime(TFLiteRuntime):
    name = "coral"
    formats = (formats.EDGETPU_TFLITE,)
    default_delegate = "edgetpu"

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        try:
            from pycoral.utils.edgetpu import make_interpreter
        except ImportError:
            make_interpreter = None
        if make_interpreter is None:
            super().load(model_path, options)  # tflite interpreter + load_delegate(libedgetpu.so.1)
            return
        device = options.extra.get("edgetpu_device")  # e.g. "usb", "usb:0"; None = first found
        try:
            interp = make_interpreter(str(model_path), device=device)
            interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise FrameworkUnavailable(
                f"the Edge TPU could not be opened: {str(exc).splitlines()[0]}",
                "plug the Coral USB accelerator into a USB 3 port (lsusb shows 1a6e:089a or 18d1:9302) and pass it to the container",
            ) from exc
        self._backend, self._version, self._delegate_name = "pycoral", _pycoral_version(), "edgetpu"
        self._adopt(interp, options.threads)


def _pycoral_version() -> str:
    try:
        import pycoral

        return getattr(pycoral, "__version__", "present")
    except ImportError:
        return "absent"
