"""ONNX -> OpenVINO IR with ``openvino.convert_model``; int8 through NNCF post-training quantization.

fp32: the ONNX model converted in this process, its input fixed to the source's batch-1 shape when the file leaves a
dimension open, saved with ``compress_to_fp16=False`` (``save_model``'s default stores fp16 weights, which would make
an fp32 preset differ from its source). int8: ``nncf.quantize`` (default preset, symmetric weights and activations)
calibrated on every ``--representative-data-path`` sample. The result is a bundle (bench.bundle).

Vendor API, read in the sources shipped in the wheels: openvino 2026.4.1 ``openvino/tools/ovc/convert.py``
(``convert_model(input_model, input=...)``), ``openvino/_pyopenvino/__init__.pyi`` (``save_model(model, output_model,
compress_to_fp16=True)``); nncf 3.4.0 ``nncf/quantization/quantize_model.py`` (``quantize(model, calibration_dataset,
*, ..., subset_size=300)``) and ``nncf/data/dataset.py`` (``Dataset(data_source, transform_func=None)``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import bundle, formats
from bench.convert.edges import Step, StepResult
from bench.errors import ConversionError, UnsupportedModelError

log = logging.getLogger(__name__)

#: how OpenVINO's frontends name the operators they cannot convert (openvino src/frontends/common: OpConversionFailure)
_UNSUPPORTED = re.compile(
    r"(?:No conversion rule found for operations?|OpenVINO does not support the following"
    r" ONNX operations?)[:\s]*([^\n]+)"
)


def _read(ov: Any, source: Path, shape: Optional[Tuple[int, ...]]) -> Any:
    """The ONNX model as an ov.Model with a static input; one clear line when OpenVINO refuses it."""
    root_level = logging.root.level  # a failed convert_model leaves the root logger at ERROR (seen with 2026.4.1)
    try:
        model = ov.convert_model(str(source))
    except Exception as exc:
        text = str(exc)
        m = _UNSUPPORTED.search(text)
        if m:
            raise UnsupportedModelError(
                f"OpenVINO cannot convert {source.name}: no conversion for operator(s) {m.group(1).strip()[:200]}",
                "replace the operator(s) in the model before export, or benchmark it with --configs onnx",
            ) from exc
        raise ConversionError(
            f"openvino.convert_model failed on {source.name}: {text.strip().splitlines()[-1][:300] if text else exc}",
            "check the ONNX model with onnx.checker.check_model; the model may use an operator OpenVINO lacks",
        ) from exc
    finally:
        logging.root.setLevel(root_level)  # or edgebench's own warnings stay silenced for the rest of the process
    if len(model.inputs) != 1:
        raise UnsupportedModelError(
            f"ONNX model {source.name} has {len(model.inputs)} inputs; only single-input models are converted",
            "export a model with one input",
        )
    pshape = model.inputs[0].get_partial_shape()
    if pshape.is_dynamic:
        if not shape or any(int(d) < 1 for d in shape):
            raise UnsupportedModelError(
                f"ONNX input of {source.name} has a dynamic shape {pshape} and the data gives none",
                "pass the data file (x_data fixes the shape) or export the model with a fixed input shape",
            )
        model.reshape(list(shape))
    return model


def _quantize(model: Any, calibration: Any) -> Tuple[Any, List[str]]:
    import nncf
    import numpy as np

    if calibration is None:
        raise ConversionError("int8 quantization needs calibration data", "pass --representative-data-path")
    calib = np.asarray(calibration, dtype=np.float32)
    samples = [calib[i : i + 1] for i in range(len(calib))]
    q = nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples))
    return q, [f"NNCF post-training int8 quantization calibrated on {len(samples)} representative samples"]


def to_ir(step: Step) -> StepResult:
    import openvino as ov

    model = _read(ov, step.source, step.input_shape)
    notes: List[str] = []
    if step.precision == "int8":
        model, notes = _quantize(model, step.calibration)
    elif step.precision != "fp32":
        raise ConversionError(f"OpenVINO IR is made in fp32 or int8, not {step.precision}", "use openvino-int8")
    xml = step.work_dir / "model.xml"
    ov.save_model(model, str(xml), compress_to_fp16=False)
    port = model.inputs[0]
    meta: Dict[str, Any] = {
        "precision": step.precision,
        "input_name": port.get_any_name(),
        "input_shape": [int(d) for d in port.get_partial_shape().to_shape()],
        "tool": "openvino.convert_model" + (" + nncf.quantize" if step.precision == "int8" else ""),
    }
    dest = bundle.write(step.out_dir / "model_openvino.zip", formats.OPENVINO_IR, xml, xml.with_suffix(".bin"), meta)
    opts = {"precision": step.precision, "compress_to_fp16": False, "input_shape": meta["input_shape"]}
    return StepResult(path=dest, options=opts, notes=notes)
