"""Model conversion (issue 3): the conversion table, int8 quantization and a fidelity check.

``convert_for`` is what the runner calls when the model is not in the chosen framework's own format or
a reduced precision is asked for. Heavy converter imports live in the edge modules, never here.

| From \\ To                    | ONNX              | TensorFlow | TFLite          | TensorRT           |
|------------------------------|-------------------|------------|-----------------|--------------------|
| PyTorch (state_dict, TS)     | torch.onnx.export | via ONNX   | via ONNX        | via ONNX           |
| ONNX                         |                   | onnx2tf    | onnx2tf         | TensorRT builder   |
| TF SavedModel / Keras        | tf2onnx 1.17      |            | TFLiteConverter | via ONNX           |
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from bench.convert.options import ConvertOptions
from bench.convert.result import Converted
from bench.runtimes.base import RuntimeOptions

__all__ = ["Converted", "ConvertOptions", "convert", "convert_for"]


def convert_for(
    model: Path,
    source_format: str,
    framework: str,
    options: ConvertOptions,
    *,
    runtime_options: RuntimeOptions,
    data: Optional[Path],
    model_type: str,
    source_sha256: Optional[str] = None,
) -> Converted:
    """Convert ``model`` (of ``source_format``) into the format ``framework`` loads, check fidelity on
    ``data`` (or the representative data, or synthetic inputs), cache the result and return it.

    ``source_sha256``, when the caller already hashed ``model``, saves hashing it again. When the target's
    accelerator is not on this machine the fidelity is recorded ``unchecked`` (see Converted).

    Raises ConversionError (unsupported edge, converter failure with its last lines), FidelityError (an
    fp32 conversion beyond the tolerance), InputError/DataError (bad representative data), FrameworkUnavailable.
    """
    from bench.convert import edges, pipeline

    target = edges.target_for(framework)
    return pipeline.convert(
        Path(model),
        source_format,
        target,
        options,
        runtime_options=runtime_options,
        data=Path(data) if data is not None else None,
        model_type=model_type,
        source_sha256=source_sha256,
    )


def convert(
    model: Path,
    source_format: str,
    target_format: str,
    options: Optional[ConvertOptions] = None,
    *,
    runtime_options: Optional[RuntimeOptions] = None,
    data: Optional[Path] = None,
    model_type: str = "classification",
) -> Converted:
    """Like convert_for, but to a format name (bench.formats), e.g. ``savedmodel`` for ONNX -> TensorFlow."""
    from bench.convert import pipeline

    return pipeline.convert(
        Path(model),
        source_format,
        target_format,
        options or ConvertOptions(),
        runtime_options=runtime_options,
        data=Path(data) if data is not None else None,
        model_type=model_type,
    )
