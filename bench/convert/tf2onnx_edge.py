"""TensorFlow SavedModel / Keras -> ONNX with tf2onnx 1.17.0 (checked to work with TF 2.21 here).

tf2onnx's own Keras path fails on Keras 3 models (``KeyError: 'keras_tensor_...'``), so every model is
first re-exported by the tf_worker subprocess as a SavedModel with a static batch-1 signature, which
``python -m tf2onnx.convert --saved-model`` then converts. The NHWC input of TF models is kept.
"""

from __future__ import annotations

import json
import logging

from bench.convert import tools
from bench.convert.edges import Step, StepResult
from bench.convert.options import DEFAULT_OPSET
from bench.errors import FrameworkUnavailable

log = logging.getLogger(__name__)


def convert(step: Step) -> StepResult:
    if tools.package_version("tf2onnx") == "not-installed":
        raise FrameworkUnavailable(
            "TensorFlow -> ONNX needs tf2onnx, which is not installed", "pip install tf2onnx==1.17.0"
        )
    work = step.work_dir
    static = work / "static_saved_model"
    info_file = work / "info.json"
    t1 = tools.run(
        tools.python_module(
            "bench.convert.tf_worker",
            ["savedmodel", str(step.source.resolve()), str(static), "--info", str(info_file)],
        ),
        tool="tf_worker (static SavedModel)",
        cwd=work,
        log_file=work / "tf_worker.log",
        expect=[static / "saved_model.pb", info_file],
        timeout_s=step.options.timeout_s,
    )
    out = step.out_dir / "model.onnx"
    opset = step.options.opset or DEFAULT_OPSET
    t2 = tools.run(
        tools.python_module(
            "tf2onnx.convert",
            ["--saved-model", str(static), "--output", str(out.resolve()), "--opset", str(opset)],
        ),
        tool="tf2onnx",
        cwd=work,
        log_file=work / "tf2onnx.log",
        expect=[out],
        timeout_s=step.options.timeout_s,
    )
    info = json.loads(info_file.read_text())
    info.update(opset=opset, export_seconds=round(t1, 3), tf2onnx_seconds=round(t2, 3))
    return StepResult(path=out, options=info)
