"""`python -m bench selfcheck`: what runtimes and delegates work here. Images end their build with it."""

from __future__ import annotations

import ctypes.util
import importlib
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bench import __version__
from bench.errors import BenchError, FrameworkUnavailable

log = logging.getLogger(__name__)


def _runtime_probe(name: str) -> Callable[[], Dict[str, str]]:
    def probe() -> Dict[str, str]:
        from bench.runtimes import RUNTIMES

        module = importlib.import_module(RUNTIMES[name].split(":")[0])
        return module.probe()

    return probe


def _import_version(module: str, dist: Optional[str] = None) -> Callable[[], Dict[str, str]]:
    def probe() -> Dict[str, str]:
        mod = importlib.import_module(module)
        return {dist or module: str(getattr(mod, "__version__", getattr(mod, "VERSION", "present")))}

    return probe


def _library(name: str, lib: str, env: Optional[str] = None) -> Callable[[], Dict[str, str]]:
    """A delegate's shared library is installed (loading it may need the hardware, so only find it)."""

    def probe() -> Dict[str, str]:
        path = os.environ.get(env, "") if env else ""
        if path and Path(path).is_file():
            return {name: path}
        found = ctypes.util.find_library(lib)
        if not found:
            for d in ("/usr/lib", "/usr/local/lib", "/usr/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu"):
                hits = sorted(Path(d).glob(f"lib{lib}.so*")) if Path(d).is_dir() else []
                if hits:
                    found = str(hits[0])
                    break
        if not found:
            raise FileNotFoundError(f"lib{lib}.so not found")
        return {name: found}

    return probe


def _xnnpack() -> Dict[str, str]:
    from bench.runtimes.tflite import interpreter_module

    backend, _, version = interpreter_module()
    return {"xnnpack": f"built into {backend} {version}"}


#: selfcheck name -> runtime that `--model` runs for it, where they differ ("armnn" is the delegate library)
RUNTIME_OF: Dict[str, Optional[str]] = {"pyarmnn": "armnn", "armnn": None, "edgetpu": None}

#: name -> probe; a probe returns versions or raises
CHECKS: Dict[str, Callable[[], Dict[str, str]]] = {
    "pytorch": _runtime_probe("pytorch"),
    "onnx": _runtime_probe("onnx"),
    "tflite": _runtime_probe("tflite"),
    "tensorrt": _runtime_probe("tensorrt"),
    "coral": _runtime_probe("coral"),
    "openvino": _runtime_probe("openvino"),
    "ncnn": _runtime_probe("ncnn"),
    "xnnpack": _xnnpack,
    "executorch": _runtime_probe("executorch"),
    "armnn": _library("armnn-delegate", "armnnDelegate", "EDGEBENCH_ARMNN_DELEGATE"),
    "pyarmnn": _runtime_probe("armnn"),  # the armnn runtime (PyArmNN); "armnn" above is the TFLite delegate
    "edgetpu": _library("libedgetpu", "edgetpu"),
    "pycuda": _import_version("pycuda"),
    "tensorflow": _import_version("tensorflow"),
    "onnx2tf": _import_version("onnx2tf"),
}


def check_all() -> Dict[str, Dict[str, str]]:
    results: Dict[str, Dict[str, str]] = {}
    for name, probe in CHECKS.items():
        try:
            results[name] = {"ok": "yes", **probe()}
        except (BenchError, ImportError, OSError, AttributeError, RuntimeError) as exc:
            results[name] = {"ok": "no", "why": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
    return results


def main(required: List[str], model: Optional[Path] = None) -> int:
    unknown = [r for r in required if r not in CHECKS]
    if unknown:
        print(
            f"edgebench: error: unknown selfcheck names {unknown}. Fix: use names from {sorted(CHECKS)}",
            file=sys.stderr,
        )
        return 2
    results = check_all()
    print(f"edgebench {__version__} on {platform.machine()} Python {platform.python_version()}")
    for name, res in results.items():
        mark = "ok " if res["ok"] == "yes" else "-- "
        detail = ", ".join(f"{k} {v}" for k, v in res.items() if k not in ("ok",))
        print(f"  {mark}{name:<11} {detail}{'   (REQUIRED)' if name in required else ''}")
    missing = [r for r in required if results[r]["ok"] != "yes"]
    if missing:
        print(
            f"edgebench: error: required runtimes missing: {', '.join(missing)}. Fix: install them in this image",
            file=sys.stderr,
        )
        return FrameworkUnavailable.exit_code
    if model is not None:
        from bench.runtimes import RUNTIMES, create
        from bench.runtimes.base import RuntimeOptions

        for check in required:
            name = RUNTIME_OF.get(check, check)
            if name not in RUNTIMES:
                continue
            with create(name) as rt:
                rt.load(model, RuntimeOptions())
                print(f"  ran {model.name} on {name}: input {list(rt.input.shape)} {rt.input.dtype}")
    return 0
