"""TensorRT runtime: Jetson Nano (JetPack 4.6, TensorRT 8.2) and Orin (JetPack 6, TensorRT 10), with pycuda.

Loads a serialized engine, or builds one from ONNX (explicit batch, fp32 or fp16) and caches it in one cache root,
``$EDGEBENCH_ENGINE_CACHE`` (the launcher mounts a named volume there; the conversion step's engines go there too),
keyed by ONNX sha256, precision, the version of the libnvinfer this process loaded (its file name in
/proc/self/maps: the board's library, not the bindings' build) and the GPU's compute capability. A cached engine that
does not deserialize is rebuilt, with a warning. fp32 engines are built with ``BuilderFlag.TF32`` cleared: TensorRT
enables TF32 by default (NvInfer.h kTF32, "Enabled by default"; pyCore.cpp binds ``BuilderFlag.TF32`` and
``IBuilderConfig.clear_flag`` at 8.2.1 and v10.3.0), so an Ampere GPU (Orin) would otherwise run fp32 layers in TF32. The build is timed on its own (``build_ms`` in ``describe()``) and left out of
``load_ms`` by the runner. Buffers are allocated once with pycuda; ``prepare`` copies the input host->device,
``invoke`` is the synchronous ``execute_v2`` alone (it raises when TensorRT reports failure, so a failed inference
is never timed), ``fetch`` copies the output device->host.

Two API generations, chosen by capability, never by version string:

* I/O: ``hasattr(engine, "num_io_tensors")`` (TensorRT >= 8.5; 10.x has only this) -> named tensors
  (``get_tensor_name``/``get_tensor_mode``/``get_tensor_shape``/``get_tensor_dtype``, ``set_input_shape``); else
  the binding-index API of 8.2 (``num_bindings``/``binding_is_input``/``get_binding_shape``/``set_binding_shape``).
* workspace: ``set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)`` where the builder config has it, else 8.2's
  ``max_workspace_size``.

Every name was read in NVIDIA/TensorRT ``python/src/infer/pyCore.cpp`` and ``python/src/parsers/pyOnnx.cpp`` at
tags ``8.2.1`` and ``v10.3.0`` (``volume``/``nptype``: ``python/packaging/tensorrt/__init__.py`` at 8.2.1,
``python/packaging/bindings_wheel/tensorrt/__init__.py`` at v10.3.0), pycuda's in inducer/pycuda ``v2022.1``
``src/wrapper/wrap_cudadrv.cpp`` and ``pycuda/autoinit.py``. tests/test_vendor_contracts.py holds this module to
those name lists with fake modules (contract tests, not a substitute for hardware).

NOT VERIFIED ON HARDWARE: TensorRT and pycuda cannot be installed on the development machine (no GPU; NVIDIA's
packages are not reachable).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import formats
from bench.errors import BenchError, ConversionError, FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.hashing import sha256_path
from bench.runtimes import probes
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec
from bench.runtimes.trt_cache import (  # noqa: F401  (engine_cache_dir, ENGINE_CACHE_ENV: the cache's public names here too)
    ENGINE_CACHE_ENV,
    compute_capability,
    deserializes,
    engine_cache_dir,
    engine_cache_key,
    loaded_libnvinfer,
    publish,
)

log = logging.getLogger(__name__)

WORKSPACE_BYTES = 1 << 28  # 256 MiB: the Nano has 4 GB shared between CPU and GPU
PRECISIONS = ("fp32", "fp16")


class InferenceFailed(BenchError):
    """TensorRT reported a failed inference (``execute_v2`` returned False)."""


def _modules() -> tuple:
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise FrameworkUnavailable(
            "TensorRT is not available on this machine (it ships with JetPack on the Jetson)",
            "run on a Jetson with the jetson-nano or jetson-orin image: make bench DEVICE=jetson-nano ...",
        ) from exc
    try:
        import pycuda.driver as cuda
    except ImportError as exc:
        raise FrameworkUnavailable("pycuda is not installed", "use the Jetson image, which builds pycuda") from exc
    return trt, cuda


def gpu_name(cuda: Any) -> str:
    cuda.init()  # pycuda wrap_cudadrv.cpp: init(flags=0); idempotent
    return str(cuda.Device(0).name())  # Device(ordinal).name()


def cuda_versions(cuda: Any) -> Dict[str, str]:
    """CUDA driver version and the CUDA pycuda was built against (pycuda wrap_cudadrv.cpp get_driver_version/get_version)."""
    driver = int(cuda.get_driver_version())  # e.g. 10020
    return {
        "cuda_driver": f"{driver // 1000}.{driver % 1000 // 10}",
        "cuda_pycuda_built": ".".join(str(v) for v in cuda.get_version()),
    }


def gpu_or_absent() -> str:
    """The CUDA GPU's name for conversion cache keys, or "not-installed" (no pycuda or no device)."""
    try:
        import pycuda.driver as cuda

        return gpu_name(cuda)
    except Exception:  # ImportError, pycuda's LogicError/RuntimeError without a device: nothing to key on
        return "not-installed"


def probe() -> Dict[str, str]:
    trt, cuda = _modules()
    import pycuda

    return {"tensorrt": trt.__version__, "pycuda": pycuda.VERSION_TEXT, "gpu": gpu_name(cuda)}


def cache_identity(trt: Any, cuda: Any) -> Tuple[str, str]:
    """(library version, GPU key) an engine is valid for: the loaded libnvinfer (else the bindings' version) and the
    compute capability (else the GPU name)."""
    return loaded_libnvinfer() or str(trt.__version__), compute_capability(cuda) or gpu_name(cuda)


def configure_workspace(trt: Any, config: Any, nbytes: int = WORKSPACE_BYTES) -> str:
    """Cap the builder's scratch memory: set_memory_pool_limit (>= 8.4, only way in 10.x) or max_workspace_size (8.2)."""
    if hasattr(config, "set_memory_pool_limit"):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, nbytes)  # pyCore.cpp v10.3.0 IBuilderConfig
        return "set_memory_pool_limit"
    config.max_workspace_size = nbytes  # pyCore.cpp 8.2.1 IBuilderConfig (gone in 10.x)
    return "max_workspace_size"


def add_batch1_profile(builder: Any, network: Any, config: Any) -> Optional[Dict[str, List[int]]]:
    """An optimization profile pinning a dynamic batch dimension to 1 (min = opt = max); None when shapes are static."""
    fixed: Dict[str, List[int]] = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)  # pyGraph.cpp INetworkDefinition.get_input, ITensor.name/.shape
        shape = [int(d) for d in tensor.shape]
        if all(d >= 0 for d in shape):
            continue
        if any(d < 0 for d in shape[1:]):
            raise UnsupportedModelError(
                f"ONNX input {tensor.name} has dynamic dimensions beyond the batch: {shape}",
                "export the model with a fixed input shape (only the batch may be dynamic; it is fixed at 1 here)",
            )
        fixed[tensor.name] = [1] + shape[1:]
    if not fixed:
        return None
    profile = builder.create_optimization_profile()  # pyCore.cpp Builder (8.2.1 and v10.3.0)
    for name, shape in fixed.items():
        profile.set_shape(name, shape, shape, shape)  # IOptimizationProfile.set_shape(input, min, opt, max)
    config.add_optimization_profile(profile)
    return fixed


def build_engine(trt: Any, onnx_path: Path, precision: str, logger: Any) -> Tuple[bytes, Dict[str, Any]]:
    """(serialized engine, build facts) from ONNX with the TensorRT builder, 8.2 or 10.x."""
    if precision not in PRECISIONS:
        raise ConversionError(
            f"TensorRT precision {precision} is not supported here", "use fp32 or fp16 (int8 needs a calibrator)"
        )
    builder = trt.Builder(logger)  # pyCore.cpp Builder; OnnxParser: parsers/pyOnnx.cpp (8.2.1 and v10.3.0)
    # EXPLICIT_BATCH: required by the ONNX parser in 8.x, still accepted (and implied) in 10.x
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ConversionError(
            f"TensorRT could not parse {onnx_path}: {errors}",
            "simplify the model (onnxsim); TensorRT 8.2 reads ONNX opset 13 at most (export with --opset 13)",
        )
    config = builder.create_builder_config()
    facts: Dict[str, Any] = {"workspace_bytes": WORKSPACE_BYTES, "workspace_api": configure_workspace(trt, config)}
    profile = add_batch1_profile(builder, network, config)
    if profile:
        facts["profile_batch1"] = profile
    if precision == "fp16":
        if not builder.platform_has_fast_fp16:
            raise FrameworkUnavailable("this GPU has no fast fp16", "use --precision fp32")
        config.set_flag(trt.BuilderFlag.FP16)
    elif hasattr(trt.BuilderFlag, "TF32"):  # fp32 means fp32: TF32 is on by default (Ampere and newer use it)
        config.clear_flag(trt.BuilderFlag.TF32)
        facts["tf32"] = "cleared"
    serialized = builder.build_serialized_network(network, config)  # pyCore.cpp Builder, both tags
    if serialized is None:
        raise ConversionError(f"TensorRT failed to build an engine for {onnx_path}", "see the TensorRT log above")
    return bytes(serialized), facts


def cached_engine(
    trt: Any, cuda: Any, onnx_path: Path, precision: str, logger: Any
) -> Tuple[bytes, Path, bool, Optional[float], Dict[str, Any]]:
    """(engine, its cache file, whether it came from the cache, build ms or None, build facts) for an ONNX model, from
    the one cache root (:func:`engine_cache_dir`): built and published when absent, rebuilt when the cached file does
    not deserialize (a half-written or foreign file), with a warning."""
    lib, gpu = cache_identity(trt, cuda)
    cached = engine_cache_dir() / engine_cache_key(sha256_path(onnx_path), precision, lib, gpu)
    if cached.is_file():
        blob = cached.read_bytes()
        if deserializes(trt, blob, logger):
            return blob, cached, True, None, {}
        log.warning("cached TensorRT engine %s does not load with this TensorRT: rebuilding it", cached)
    log.info(
        "building a TensorRT %s engine for %s (minutes on a Nano; cached in %s)",
        precision,
        onnx_path.name,
        cached.parent,
    )
    start = time.perf_counter()
    blob, facts = build_engine(trt, onnx_path, precision, logger)
    build_ms = (time.perf_counter() - start) * 1e3
    publish(cached, blob)
    return blob, cached, False, build_ms, {**facts, "libnvinfer": lib, "gpu_key": gpu}


@dataclass(frozen=True)
class _Tensor:
    name: str
    is_input: bool
    shape: Tuple[int, ...]
    dtype: Any


def engine_tensors(trt: Any, engine: Any) -> List[_Tensor]:
    """The engine's I/O tensors in binding order, through whichever API this TensorRT has."""
    out = []
    if hasattr(engine, "num_io_tensors"):  # TensorRT >= 8.5 (the only API in 10.x)
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)  # pyCore.cpp v10.3.0 ICudaEngine named-tensor API
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            out.append(_Tensor(name, is_input, tuple(engine.get_tensor_shape(name)), engine.get_tensor_dtype(name)))
    else:  # TensorRT 8.2: binding-index API
        for i in range(engine.num_bindings):  # pyCore.cpp 8.2.1 ICudaEngine binding API
            out.append(
                _Tensor(
                    engine.get_binding_name(i),
                    bool(engine.binding_is_input(i)),
                    tuple(engine.get_binding_shape(i)),
                    engine.get_binding_dtype(i),
                )
            )
    return out


def fix_shapes(engine: Any, context: Any, tensors: List[_Tensor]) -> List[Tuple[int, ...]]:
    """Set dynamic input dimensions to 1 on the context and read every tensor's concrete shape back."""
    named = hasattr(engine, "num_io_tensors")
    for i, t in enumerate(tensors):
        if t.is_input and any(d < 0 for d in t.shape):
            shape = tuple(1 if d < 0 else d for d in t.shape)
            # pyCore.cpp IExecutionContext: set_input_shape (v10.3.0), set_binding_shape (8.2.1)
            ok = context.set_input_shape(t.name, shape) if named else context.set_binding_shape(i, shape)
            if ok is False:
                raise UnsupportedModelError(
                    f"TensorRT refused input shape {list(shape)} for {t.name}", "rebuild the engine from ONNX here"
                )
    if named:
        return [tuple(context.get_tensor_shape(t.name)) for t in tensors]
    return [tuple(context.get_binding_shape(i)) for i in range(len(tensors))]


def layer_profiler(trt: Any) -> Any:
    """An ``IProfiler`` collecting (calls, total ms) per layer name. NVIDIA/TensorRT ``python/src/infer/pyCore.cpp``
    at 8.2.1 and v10.3.0: ``class_<IProfiler, PyProfiler>`` whose pure virtual ``report_layer_time(layer_name, ms)``
    is overridden from Python; a synchronous ``execute_v2`` reports every layer after each inference."""

    class LayerProfiler(trt.IProfiler):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            trt.IProfiler.__init__(self)
            self.times: Dict[str, List[float]] = {}

        def report_layer_time(self, layer_name: str, ms: float) -> None:
            calls_ms = self.times.setdefault(str(layer_name), [0, 0.0])
            calls_ms[0] += 1
            calls_ms[1] += float(ms)

    return LayerProfiler()


class TensorRTRuntime(Runtime):
    name = "tensorrt"
    target = formats.TENSORRT_ENGINE
    default_for = (formats.TENSORRT_ENGINE,)
    model_suffix = ".engine"
    device = "gpu"
    accelerator = True
    extra_checks = {"pycuda": probes.import_version("pycuda")}
    threads_meaning = "nothing: the GPU runs the engine"
    reports_precision = True  # the engine's precision (describe)
    builds_on_device = True  # an engine is valid for one TensorRT version on one GPU
    original_cli_rank = 3
    formats = (formats.ONNX, formats.TENSORRT_ENGINE)

    def setup(self) -> None:
        _modules()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        trt, cuda = _modules()
        import numpy as np
        import pycuda.autoinit  # noqa: F401  (pycuda/autoinit.py: cuda.init() and a default context)

        self._np, self._cuda = np, cuda
        logger = trt.Logger(trt.Logger.WARNING)
        self._precision = options.extra.get("precision", "fp32")
        self._gpu = gpu_name(cuda)
        blob = self._engine_bytes(trt, Path(model_path), logger)
        self._runtime = trt.Runtime(logger)
        engine = self._runtime.deserialize_cuda_engine(blob)  # pyCore.cpp Runtime, both tags
        if engine is None:
            raise ModelFormatError(
                f"{model_path} is not an engine this TensorRT {trt.__version__} can load",
                "rebuild the engine on this device from ONNX",
            )
        tensors = engine_tensors(trt, engine)
        inputs = [i for i, t in enumerate(tensors) if t.is_input]
        outputs = [i for i, t in enumerate(tensors) if not t.is_input]
        if len(inputs) != 1 or len(outputs) != 1:
            raise UnsupportedModelError(
                f"engine has tensors {[t.name for t in tensors]}; only one input and one output are measured",
                "export a single-input single-output model",
            )
        self._engine, self._context = engine, engine.create_execution_context()
        self._profiler = layer_profiler(trt) if options.extra.get("profile") else None
        if self._profiler is not None:  # pyCore.cpp (8.2.1, v10.3.0): IExecutionContext.profiler property
            self._context.profiler = self._profiler
        shapes = fix_shapes(engine, self._context, tensors)
        self._host, self._dev, specs = [], [], []
        for t, shape in zip(tensors, shapes):
            dtype = np.dtype(trt.nptype(t.dtype))
            # pycuda v2022.1 wrap_cudadrv.cpp pagelocked_empty/mem_alloc; tensorrt/__init__.py volume/nptype
            host = cuda.pagelocked_empty(int(trt.volume(shape)), dtype)
            self._host.append(host)
            self._dev.append(cuda.mem_alloc(host.nbytes))
            specs.append(TensorSpec(t.name, shape, dtype.name))
        self._bindings = [int(d) for d in self._dev]  # device pointers in I/O tensor order (execute_v2's bindings)
        self._execute = self._context.execute_v2  # pyCore.cpp IExecutionContext.execute_v2 (8.2.1 and v10.3.0)
        self._in, self._out = inputs[0], outputs[0]
        self.input, self.output = specs[self._in], specs[self._out]
        self._versions = {"tensorrt": trt.__version__, **cuda_versions(cuda)}
        self._api = "named tensors" if hasattr(engine, "num_io_tensors") else "binding indices"

    def _engine_bytes(self, trt: Any, model_path: Path, logger: Any) -> bytes:
        """A serialized engine: the file itself, or the cached build of an ONNX model (built and timed when absent)."""
        self._build_ms: Optional[float] = None
        self._build_facts: Dict[str, Any] = {}
        if formats.detect(model_path) != formats.ONNX:
            self._engine_path, self._engine_cached = model_path, True
            return model_path.read_bytes()
        blob, cached, self._engine_cached, self._build_ms, self._build_facts = cached_engine(
            trt, self._cuda, model_path, self._precision, logger
        )
        self._engine_path = cached
        return blob

    def prepare(self, x: Any) -> None:
        self._np.copyto(self._host[self._in], x.ravel())
        self._cuda.memcpy_htod(self._dev[self._in], self._host[self._in])  # pycuda wrap_cudadrv.cpp

    def invoke(self) -> None:
        if not self._execute(self._bindings):
            raise InferenceFailed(
                "TensorRT execute_v2 reported a failed inference (see the TensorRT log above)",
                "check the GPU memory (tegrastats) and rebuild the engine on this device",
            )

    def fetch(self) -> Any:
        self._cuda.memcpy_dtoh(self._host[self._out], self._dev[self._out])  # pycuda wrap_cudadrv.cpp
        return self._host[self._out].reshape(self.output.shape).copy()

    def close(self) -> None:
        for d in getattr(self, "_dev", []):
            d.free()
        self._dev, self._context, self._engine, self._execute = [], None, None, None

    def versions(self) -> Dict[str, str]:
        return dict(self._versions)

    profile_source = "TensorRT IProfiler (report_layer_time per layer, synchronous execute_v2)"

    def profile_start(self) -> None:
        """The measured runs begin: forget the layer times reported during warm-up."""
        if self._profiler is not None:
            self._profiler.times.clear()

    def profile_rows(self) -> List[Dict[str, Any]]:
        if self._profiler is None:
            raise RuntimeError("the execution context has no profiler")
        # layer types would need the engine inspector's detailed verbosity at build time: names only
        return [{"name": n, "type": "", "calls": c, "total_ms": ms} for n, (c, ms) in self._profiler.times.items()]

    def describe(self) -> Dict[str, Any]:
        return {
            "precision": self._precision,
            "engine": str(self._engine_path),
            "engine_cached": self._engine_cached,
            "build_ms": self._build_ms,
            "gpu": self._gpu,
            "io_api": self._api,
            **self._build_facts,
        }
