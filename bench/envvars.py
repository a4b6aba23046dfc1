"""The EDGEBENCH_* environment variables: every one is named and read here, when its value is needed (never at import).

Most are set for bench by the launcher or the image, not by the user:

* ``EDGEBENCH_CACHE_DIR``: the cache root (conversions, the TensorRT engines outside the launcher, the measured CPU
  peak); unset, ``$XDG_CACHE_HOME/edgebench``, else ``~/.cache/edgebench``. Its earlier second name,
  ``EDGEBENCH_CACHE`` (read for the TensorRT engines only), is still read, with a deprecation warning.
* ``EDGEBENCH_ENGINE_CACHE``: where TensorRT engines live (the launcher mounts a named volume there on a Jetson).
* ``EDGEBENCH_IMAGE``, ``EDGEBENCH_EMULATED``: the image a record was measured in, and the emulation (the launcher).
* ``EDGEBENCH_GIT_COMMIT``: the commit the image was built from (images/build.py).
* ``EDGEBENCH_HOST_FACTS``, ``EDGEBENCH_HOST_ROOT``: the host's board facts handed in by the launcher, and the root
  they are read under (a fixture tree in tests) (bench.hostfacts).
* ``EDGEBENCH_TARGET_DEVICE``: the device profile a conversion is for (the launcher's conversion step).
* ``EDGEBENCH_ARMNN_DELEGATE``: the ARM NN delegate library (the rpi-armnn image).
* ``EDGEBENCH_EDGETPU_TIMING_MODEL``: the compiled model verify times on a Coral (the rpi-coral image).
* ``EDGEBENCH_REGISTRY``: the registry the launcher pulls images from.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)

CACHE_DIR = "EDGEBENCH_CACHE_DIR"
#: the cache root's earlier name (the TensorRT engine cache read it); still read, with a deprecation warning
DEPRECATED_CACHE = "EDGEBENCH_CACHE"
ENGINE_CACHE = "EDGEBENCH_ENGINE_CACHE"
IMAGE = "EDGEBENCH_IMAGE"
EMULATED = "EDGEBENCH_EMULATED"
GIT_COMMIT = "EDGEBENCH_GIT_COMMIT"
HOST_FACTS = "EDGEBENCH_HOST_FACTS"
HOST_ROOT = "EDGEBENCH_HOST_ROOT"
TARGET_DEVICE = "EDGEBENCH_TARGET_DEVICE"
ARMNN_DELEGATE = "EDGEBENCH_ARMNN_DELEGATE"
EDGETPU_TIMING_MODEL = "EDGEBENCH_EDGETPU_TIMING_MODEL"
REGISTRY = "EDGEBENCH_REGISTRY"
#: the XDG base directory the cache root defaults into (XDG Base Directory Specification)
XDG_CACHE_HOME = "XDG_CACHE_HOME"


def read(name: str, default: Optional[str] = None) -> Optional[str]:
    """The variable ``name`` as the process has it (an empty value stays empty), else ``default``."""
    return os.environ.get(name, default)


def cache_root() -> Path:
    """``$EDGEBENCH_CACHE_DIR``, else ``$EDGEBENCH_CACHE`` (deprecated, with a warning), else
    ``$XDG_CACHE_HOME/edgebench``, else ``~/.cache/edgebench``."""
    given = read(CACHE_DIR)
    if given:
        return Path(given).expanduser()
    old = read(DEPRECATED_CACHE)
    if old:
        log.warning("%s is deprecated: set %s=%s instead (the same cache root)", DEPRECATED_CACHE, CACHE_DIR, old)
        return Path(old).expanduser()
    xdg = read(XDG_CACHE_HOME)
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "edgebench"
