"""ONNX -> TensorRT engine with the TensorRT builder (8.2 Python API, as on JetPack 4.6).

Written against the documented API but NOT tested: TensorRT cannot be installed on the development
machine (its PyPI packages download from NVIDIA at build time). The accelerator issue owns testing it
on a Jetson. Without ``tensorrt`` importable the edge answers FrameworkUnavailable.
"""

from __future__ import annotations

import logging

from bench.convert.edges import Step, StepResult
from bench.errors import ConversionError, FrameworkUnavailable

log = logging.getLogger(__name__)

WORKSPACE_BYTES = 1 << 28


def build(step: Step) -> StepResult:
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
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(step.source.read_bytes()):
        errors = " | ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ConversionError(f"TensorRT's ONNX parser refused the model: {errors}", "simplify the model (onnxsim)")
    config = builder.create_builder_config()
    config.max_workspace_size = WORKSPACE_BYTES  # TensorRT 8.2; 8.4+ use set_memory_pool_limit
    if step.precision == "fp16":
        if not builder.platform_has_fast_fp16:
            raise FrameworkUnavailable("this GPU has no fast fp16", "use --precision fp32")
        config.set_flag(trt.BuilderFlag.FP16)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise ConversionError("the TensorRT builder returned no engine (see its log above)", "check the model's ops")
    out = step.out_dir / "model.engine"
    out.write_bytes(bytes(engine))
    return StepResult(path=out, options={"precision": step.precision, "workspace_bytes": WORKSPACE_BYTES})
