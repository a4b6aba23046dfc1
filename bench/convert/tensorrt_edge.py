"""ONNX -> TensorRT engine with the TensorRT builder (8.2 on JetPack 4.6, 10.x on JetPack 6).

The builder code is the runtime's (``bench.runtimes.tensorrt.build_engine``: workspace through
``set_memory_pool_limit`` or ``max_workspace_size``, a batch-1 optimization profile for a dynamic batch), so a
converted engine and an engine the runtime builds from ONNX are made the same way. The build time and the TensorRT
version and GPU it was built for are recorded in the step options: an engine is valid only there.

NOT VERIFIED ON HARDWARE: TensorRT cannot be installed on the development machine; tests/test_vendor_contracts.py
drives this code through fake modules built from TensorRT 8.2.1's and 10.3.0's name lists. Without ``tensorrt``
importable the edge answers FrameworkUnavailable.
"""

from __future__ import annotations

import logging
import time

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
    if step.precision == "int8":
        raise ConversionError(
            "TensorRT int8 calibration is not implemented yet", "use --precision fp16 or fp32 for TensorRT"
        )
    logger = trt.Logger(trt.Logger.WARNING)
    start = time.perf_counter()
    blob, facts = rt.build_engine(trt, step.source, step.precision, logger)
    build_s = time.perf_counter() - start
    out = step.out_dir / "model.engine"
    out.write_bytes(blob)
    options = {"precision": step.precision, "build_s": round(build_s, 3), "tensorrt": trt.__version__, **facts}
    try:
        _, cuda = rt._modules()
        options["gpu"] = rt.gpu_name(cuda)
    except (FrameworkUnavailable, RuntimeError) as exc:  # pycuda absent or no device: the engine is still written
        log.warning("could not read the GPU name for the engine record: %s", exc)
    return StepResult(path=out, options=options)
