"""The TensorRT engine cache: where built engines live and what makes one valid (bench.runtimes.tensorrt uses it).

One cache root, ``$EDGEBENCH_ENGINE_CACHE`` (the launcher mounts a named volume there for the Jetson profiles), else
``<the cache root>/tensorrt`` (bench.envvars.cache_root); the runtime's and the conversion step's engines both go there.
An engine is valid for one libnvinfer on one GPU architecture: the key holds the version of the libnvinfer this
process mapped (its real file name in /proc/self/maps, e.g. ``libnvinfer.so.8.2.1``; the bindings' ``__version__``
is only what they were built against) and the compute capability (pycuda ``Device.compute_capability()``,
inducer/pycuda v2022.1 ``src/wrapper/wrap_cudadrv.cpp``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional

from bench import envvars

ENGINE_CACHE_ENV = envvars.ENGINE_CACHE


def engine_cache_dir() -> Path:
    """``$EDGEBENCH_ENGINE_CACHE`` (a named volume under the launcher), else ``<the cache root>/tensorrt``."""
    explicit = envvars.read(ENGINE_CACHE_ENV)
    if explicit:
        return Path(explicit)
    return envvars.cache_root() / "tensorrt"


def engine_cache_key(onnx_sha256: str, precision: str, trt_version: str, gpu: str) -> str:
    """File name of a cached engine: an engine is valid only for one TensorRT library on one GPU architecture
    (``gpu``: its compute capability, "sm87", or a name where that is unknown)."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", gpu).strip("_") or "gpu"
    return f"{onnx_sha256[:16]}-{precision}-trt{trt_version}-{slug}.engine"


def loaded_libnvinfer(maps: Path = Path("/proc/self/maps")) -> Optional[str]:
    """Version of the libnvinfer this process mapped, from its real file name ("libnvinfer.so.8.2.1" -> "8.2.1"), or
    None (not loaded, or not Linux). The bindings' ``__version__`` is what they were built against, not this."""
    try:
        text = maps.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        path = line.split()[-1] if line.split() else ""
        if "/libnvinfer.so" in path:
            m = re.search(r"libnvinfer\.so\.(\d+(?:\.\d+)+)$", os.path.realpath(path))
            if m:
                return m.group(1)
    return None


def compute_capability(cuda: Any) -> Optional[str]:
    """ "sm53" (Nano), "sm87" (Orin): pycuda wrap_cudadrv.cpp Device.compute_capability() -> (major, minor)."""
    try:
        major, minor = cuda.Device(0).compute_capability()
    except Exception:  # no device, or an older pycuda: the cache is then keyed by the GPU's name
        return None
    return f"sm{int(major)}{int(minor)}"


def publish(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(blob)
    tmp.replace(path)  # atomic publish: a concurrent run never reads half an engine


def deserializes(trt: Any, blob: bytes, logger: Any) -> bool:
    """Whether this TensorRT loads ``blob`` (pyCore.cpp Runtime.deserialize_cuda_engine returns None otherwise)."""
    try:
        return trt.Runtime(logger).deserialize_cuda_engine(blob) is not None
    except Exception:  # a truncated file can raise in the bindings
        return False
