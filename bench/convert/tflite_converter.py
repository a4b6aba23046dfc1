"""TensorFlow SavedModel / Keras -> TFLite with TFLiteConverter (in the tf_worker subprocess).

This is the edge to quantize on when the model is TF-origin: the converter sees the original graph.
It is never used on onnx2tf's SavedModel for int8 (a ResNet-50 converted that way here padded MaxPool
with -inf, got a 1e36 quantization scale and 0% top-1 agreement); ONNX models use onnx2tf's own
integer quantization instead.
"""

from __future__ import annotations

import json
import logging

from bench.convert import tools
from bench.convert.edges import Step, StepResult
from bench.errors import ConversionError

log = logging.getLogger(__name__)


def convert(step: Step) -> StepResult:
    import numpy as np

    work = step.work_dir
    out = step.out_dir / "model.tflite"
    info_file = work / "info.json"
    args = ["tflite", str(step.source.resolve()), str(out.resolve()), "--precision", step.precision]
    if step.precision == "int8":
        if step.calibration is None:
            raise ConversionError("int8 quantization needs calibration data", "pass --representative-data-path")
        np.save(work / "calibration.npy", np.asarray(step.calibration, dtype=np.float32))
        args += ["--calibration", str((work / "calibration.npy").resolve())]
    args += ["--info", str(info_file.resolve())]
    seconds = tools.run(
        tools.python_module("bench.convert.tf_worker", args),
        tool="TFLiteConverter",
        cwd=work,
        log_file=work / "tflite_converter.log",
        expect=[out, info_file],
        timeout_s=step.options.timeout_s,
    )
    info = json.loads(info_file.read_text())
    info["converter_seconds"] = round(seconds, 3)
    if step.precision == "int8":
        info["note"] = "full-integer int8 with int8 input and output, calibrated on the representative data"
    return StepResult(path=out, options=info)
