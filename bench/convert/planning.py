"""The first step of a conversion: plan it. Refuse impossible work before any slow step (bad options, no edge, a
missing tool), then gather what the chain and the fidelity check need: the data, the calibration samples, the source's
input shape, its sha256 (taken once), and what the cache keys depend on besides files and versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bench import formats
from bench.convert import cache, calibration, edges
from bench.convert.options import PRECISIONS, ConvertOptions
from bench.convert.result import Converted
from bench.errors import ConversionError, InputError
from bench.runtimes.base import RuntimeOptions


@dataclass
class Plan:
    """Everything the chain and the fidelity check need, gathered before any slow step."""

    model: Path
    source_format: str
    source_sha256: str
    chain: List[edges.Edge]
    options: ConvertOptions
    runtime_options: RuntimeOptions
    model_type: str
    dataset: Any = None
    calibration: Optional[np.ndarray] = None
    input_shape: Optional[Tuple[int, ...]] = None
    #: what the cache keys depend on besides files and versions: input shape, model class, calibration data
    context: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)


def plan_chain(
    model: Path, source_format: str, target_format: str, options: ConvertOptions, model_type: str
) -> List[edges.Edge]:
    """The edges to run; refuses bad options, impossible edges and missing tools before any work."""
    if not model.exists():
        raise InputError(f"model {model} not found", "check the path")
    if options.precision not in PRECISIONS:
        raise InputError(f"unknown precision {options.precision!r}", f"use one of: {', '.join(PRECISIONS)}")
    if model_type not in ("classification", "regression"):
        raise InputError(f"unknown model type {model_type!r}", "use classification or regression")
    chain = edges.plan(source_format, target_format, options.precision)
    for edge in chain:
        edges.precision_for(edge, options.precision)  # e.g. fp32 for the Edge TPU: refused before any work
    edges.preflight(chain)
    return chain


def unconverted(model: Path, source_format: str, target_format: str, options: ConvertOptions) -> Converted:
    """No edge to run: the model itself, when it already is what was asked for; else a clear error."""
    if options.precision == "fp32" or (
        source_format == formats.TFLITE and options.precision == "int8" and _already_quantized_tflite(model)
    ):
        return Converted(path=model, format=source_format)
    if target_format != formats.TFLITE:
        raise ConversionError(
            f"precision {options.precision} is not produced for {target_format} models",
            "quantized and half-precision models are made for TFLite: use --framework tflite",
        )
    raise ConversionError(
        f"{model.name} is already a {source_format} model; {options.precision} needs a conversion from the original",
        "give the original ONNX, SavedModel, Keras or PyTorch model",
    )


def prepare(
    model: Path,
    source_format: str,
    chain: List[edges.Edge],
    options: ConvertOptions,
    runtime_options: RuntimeOptions,
    data: Optional[Path],
    model_type: str,
    source_sha256: Optional[str] = None,
) -> Plan:
    """Load the fidelity data and the calibration data, find the input shape, hash the source once."""
    from bench.data import load_npz

    dataset = load_npz(Path(data), require_y=False) if data is not None else None
    plan = Plan(
        model=model,
        source_format=source_format,
        source_sha256=source_sha256 or cache.sha256_path(model),
        chain=chain,
        options=options,
        runtime_options=runtime_options,
        model_type=model_type,
        dataset=dataset,
    )
    tf_source = source_format in (formats.SAVEDMODEL, formats.KERAS)
    if not tf_source or options.precision == "int8" or dataset is None:  # loading a TF model takes seconds
        x_data = dataset.x if dataset is not None else None
        plan.input_shape = source_input_shape(model, source_format, runtime_options, x_data)
    if options.precision == "int8":
        calib, calib_sha, calib_warnings = calibration.load(
            options.representative_data, plan.input_shape, model_name=model.name
        )
        plan.calibration, plan.context["calibration_sha256"] = calib, calib_sha
        plan.warnings += calib_warnings
        if plan.input_shape is None:
            plan.input_shape = (1,) + tuple(calib.shape[1:])
    plan.context["input_shape"] = plan.input_shape
    if source_format == formats.TORCH_STATE_DICT:
        cls_path = runtime_options.model_class_path
        plan.context["class"] = {
            "name": runtime_options.model_class_name,
            "file_sha256": cache.sha256_path(cls_path) if cls_path and Path(cls_path).is_file() else None,
        }
    return plan


def source_input_shape(
    model: Path, fmt: str, runtime_options: RuntimeOptions, x: Optional[np.ndarray]
) -> Optional[Tuple[int, ...]]:
    """Input shape of the source model, batch 1 included, or None when the file does not say."""
    if fmt == formats.ONNX:
        import onnx

        try:
            proto = onnx.load(str(model), load_external_data=False)
        except Exception as exc:
            from bench.errors import ModelFormatError

            raise ModelFormatError(f"ONNX model {model} could not be parsed: {exc}", "re-export the model") from exc
        inits = {i.name for i in proto.graph.initializer}
        inputs = [i for i in proto.graph.input if i.name not in inits]
        if len(inputs) == 1:
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in inputs[0].type.tensor_type.shape.dim]
            return tuple([1] + [int(d) for d in dims[1:]])
        return None
    if fmt in (formats.SAVEDMODEL, formats.KERAS):
        from bench.convert.tf_model import TFModel

        return TFModel(model, fmt).input_shape
    if fmt in (formats.TORCH_STATE_DICT, formats.TORCHSCRIPT):
        if runtime_options.input_shape:
            return tuple(runtime_options.input_shape)
        if x is not None:
            return (1,) + tuple(x.shape[1:])
    return None


def _already_quantized_tflite(model: Path) -> bool:
    from bench import runtimes

    rt = runtimes.create(runtimes.for_format(formats.TFLITE) or "")
    rt.load(model, RuntimeOptions())
    try:
        return rt.input.quantized or rt.output.quantized
    finally:
        rt.close()
