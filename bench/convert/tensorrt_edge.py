"""ONNX -> TensorRT engine with the TensorRT builder (8.2 on JetPack 4.6, 10.x on JetPack 6).

The builder code is the runtime's (``bench.runtimes.tensorrt.build_engine``: workspace through
``set_memory_pool_limit`` or ``max_workspace_size``, a batch-1 optimization profile for a dynamic batch), so a
converted engine and an engine the runtime builds from ONNX are made the same way. The engine is built into the
runtime's one engine cache (bench/runtimes/trt_cache.py: the Jetson's cache volume, keyed by the loaded libnvinfer
and the GPU's compute capability) and copied to the step's folder; the build time, the TensorRT version and GPU it
was built for are recorded in the step options: an engine is valid only there. int8 is not built (no calibrator):
edges.py does not list it, so compare and verify skip ``tensorrt-int8`` with that reason.

NOT VERIFIED ON HARDWARE: TensorRT cannot be installed on the development machine; tests/test_vendor_contracts.py
drives this code through fake modules built from TensorRT 8.2.1's and 10.3.0's name lists. Without ``tensorrt``
importable the edge answers FrameworkUnavailable.
"""

from __future__ import annotations

import logging

from bench.convert.edges import Step, StepResult
from bench.errors import ConversionError, FrameworkUnavailable

log = logging.getLogger(__name__)


def build(step: Step) -> StepResult:
    from bench.runtimes import tensorrt as rt

    try:
        import tensorrt as trt
    except ImportError as exc:
        raise FrameworkUnavailable(
            "building a TensorRT engine needs the tensorrt Python package, which is not installed here",
            "run on a Jetson (JetPack ships TensorRT) or benchmark the ONNX model with --framework onnx",
        ) from exc
    if step.precision not in rt.PRECISIONS:  # edges.py lists what this edge makes; int8 is not (no calibrator)
        raise ConversionError(
            f"TensorRT {step.precision} engines are not built here (int8 needs a calibrator, not implemented)",
            "use --precision fp16 or fp32 for TensorRT",
        )
    logger = trt.Logger(trt.Logger.WARNING)
    _, cuda = rt._modules()
    # built into the one engine cache (the launcher's volume on a Jetson), so the next run does not rebuild it
    blob, cached, from_cache, build_ms, facts = rt.cached_engine(trt, cuda, step.source, step.precision, logger)
    out = step.out_dir / "model.engine"
    out.write_bytes(blob)
    options = {
        "precision": step.precision,
        "build_s": None if build_ms is None else round(build_ms / 1e3, 3),
        "engine_cache": str(cached),
        "from_engine_cache": from_cache,
        "tensorrt": trt.__version__,
        **facts,
    }
    try:
        options["gpu"] = rt.gpu_name(cuda)
    except RuntimeError as exc:  # no device: the engine is still written
        log.warning("could not read the GPU name for the engine record: %s", exc)
    return StepResult(path=out, options=options)
