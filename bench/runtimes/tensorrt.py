"""TensorRT runtime (Jetson Nano, JetPack 4.6: TensorRT 8.2, pycuda).

Loads a serialized engine, or builds one from ONNX with the TensorRT builder (explicit batch,
fp32 or fp16) and caches it by (ONNX sha256, precision, TensorRT version, GPU name). Buffers are
allocated once with pycuda; ``prepare`` copies the input host->device, ``invoke`` is the synchronous
``execute_v2`` alone, ``fetch`` copies the output device->host.

NOT VERIFIED ON HARDWARE: TensorRT and pycuda cannot be installed on the development machine (no
GPU, NVIDIA's packages are not reachable). This module is written against the TensorRT 8.2 Python API
(``max_workspace_size``, binding-index API) and is exercised only on a Jetson.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict

from bench import formats
from bench.errors import ConversionError, FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.hashing import sha256_path
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

WORKSPACE_BYTES = 1 << 28  # 256 MiB: the Nano has 4 GB shared between CPU and GPU


def _modules() -> tuple:
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise FrameworkUnavailable(
            "TensorRT is not available on this machine (it ships with JetPack on the Jetson)",
            "run on a Jetson with the jetson-nano image: make bench DEVICE=jetson-nano ...",
        ) from exc
    try:
        import pycuda.driver as cuda
    except ImportError as exc:
        raise FrameworkUnavailable("pycuda is not installed", "use the jetson-nano image, which builds pycuda") from exc
    return trt, cuda


def probe() -> Dict[str, str]:
    trt, cuda = _modules()
    return {"tensorrt": trt.__version__, "pycuda": getattr(__import__("pycuda"), "VERSION_TEXT", "present")}


def engine_cache_dir() -> Path:
    return Path(os.environ.get("EDGEBENCH_CACHE", Path.home() / ".cache" / "edgebench")) / "tensorrt"


def build_engine(trt: Any, onnx_path: Path, precision: str, logger: Any) -> bytes:
    """Serialized engine from ONNX (TensorRT 8.2 builder API)."""
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ConversionError(
            f"TensorRT could not parse {onnx_path}: {errors}", "simplify the model (onnxsim) or change the opset"
        )
    config = builder.create_builder_config()
    config.max_workspace_size = WORKSPACE_BYTES
    if precision == "fp16":
        if not builder.platform_has_fast_fp16:
            raise ConversionError("this GPU has no fast fp16", "use --precision fp32")
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision not in ("fp32", None):
        raise ConversionError(
            f"TensorRT precision {precision} is not supported here", "use fp32 or fp16 (int8 needs a calibrator)"
        )
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ConversionError(f"TensorRT failed to build an engine for {onnx_path}", "see the TensorRT log above")
    return bytes(serialized)


class TensorRTRuntime(Runtime):
    name = "tensorrt"
    formats = (formats.ONNX, formats.TENSORRT_ENGINE)

    def setup(self) -> None:
        _modules()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        trt, cuda = _modules()
        import numpy as np
        import pycuda.autoinit  # noqa: F401  (creates the CUDA context)

        self._np, self._cuda = np, cuda
        logger = trt.Logger(trt.Logger.WARNING)
        precision = options.extra.get("precision", "fp32")
        fmt = formats.detect(model_path)
        if fmt == formats.ONNX:
            key = sha256_path(model_path)[:16]
            device = cuda.Device(0).name().replace(" ", "_")
            cached = engine_cache_dir() / f"{key}-{precision}-trt{trt.__version__}-{device}.engine"
            if cached.is_file():
                blob = cached.read_bytes()
            else:
                blob = build_engine(trt, model_path, precision, logger)
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp")
                tmp.write_bytes(blob)
                tmp.replace(cached)
            self._engine_path = cached
        else:
            blob = Path(model_path).read_bytes()
            self._engine_path = Path(model_path)
        self._runtime = trt.Runtime(logger)
        engine = self._runtime.deserialize_cuda_engine(blob)
        if engine is None:
            raise ModelFormatError(
                f"{model_path} is not an engine this TensorRT {trt.__version__} can load",
                "rebuild the engine on this device from ONNX",
            )
        inputs = [i for i in range(engine.num_bindings) if engine.binding_is_input(i)]
        outputs = [i for i in range(engine.num_bindings) if not engine.binding_is_input(i)]
        if len(inputs) != 1 or len(outputs) != 1:
            names = [engine.get_binding_name(i) for i in range(engine.num_bindings)]
            raise UnsupportedModelError(
                f"engine has bindings {names}; only one input and one output are measured",
                "export a single-input single-output model",
            )
        self._engine, self._context = engine, engine.create_execution_context()
        self._host, self._dev = [], []
        specs = []
        for i in range(engine.num_bindings):
            shape = tuple(engine.get_binding_shape(i))
            dtype = np.dtype(trt.nptype(engine.get_binding_dtype(i)))
            host = cuda.pagelocked_empty(int(trt.volume(shape)), dtype)
            self._host.append(host)
            self._dev.append(cuda.mem_alloc(host.nbytes))
            specs.append(TensorSpec(engine.get_binding_name(i), shape, dtype.name))
        self._bindings = [int(d) for d in self._dev]
        self._in, self._out = inputs[0], outputs[0]
        self.input, self.output = specs[self._in], specs[self._out]
        self._precision = precision
        self._versions = {"tensorrt": trt.__version__}

    def prepare(self, x: Any) -> None:
        self._np.copyto(self._host[self._in], x.ravel())
        self._cuda.memcpy_htod(self._dev[self._in], self._host[self._in])

    def invoke(self) -> None:
        self._context.execute_v2(self._bindings)

    def fetch(self) -> Any:
        self._cuda.memcpy_dtoh(self._host[self._out], self._dev[self._out])
        return self._host[self._out].reshape(self.output.shape).copy()

    def close(self) -> None:
        for d in getattr(self, "_dev", []):
            d.free()
        self._dev, self._context, self._engine = [], None, None

    def versions(self) -> Dict[str, str]:
        return dict(self._versions)

    def describe(self) -> Dict[str, Any]:
        return {"precision": self._precision, "engine": str(self._engine_path)}
