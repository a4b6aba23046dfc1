"""Selfcheck probes shared by runtimes and delegates: a Python module's version, a shared library's presence.

A probe returns versions (name -> version or path) or raises. Standard library only.
"""

from __future__ import annotations

import ctypes.util
import importlib
from pathlib import Path
from typing import Callable, Dict, Optional

from bench import envvars

_LIB_DIRS = ("/usr/lib", "/usr/local/lib", "/usr/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu")


def import_version(module: str, dist: Optional[str] = None) -> Callable[[], Dict[str, str]]:
    """A probe: ``module`` imports; its ``__version__`` (or ``VERSION``)."""

    def probe() -> Dict[str, str]:
        mod = importlib.import_module(module)
        return {dist or module: str(getattr(mod, "__version__", getattr(mod, "VERSION", "present")))}

    return probe


def library(name: str, lib: str, env: Optional[str] = None) -> Callable[[], Dict[str, str]]:
    """A probe: a delegate's shared library is installed (loading it may need the hardware, so only find it)."""

    def probe() -> Dict[str, str]:
        path = (envvars.read(env, "") or "") if env else ""
        if path and Path(path).is_file():
            return {name: path}
        found = ctypes.util.find_library(lib)
        if not found:
            for d in _LIB_DIRS:
                hits = sorted(Path(d).glob(f"lib{lib}.so*")) if Path(d).is_dir() else []
                if hits:
                    found = str(hits[0])
                    break
        if not found:
            raise FileNotFoundError(f"lib{lib}.so not found")
        return {name: found}

    return probe
