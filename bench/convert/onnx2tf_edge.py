"""ONNX -> TensorFlow SavedModel and TFLite with onnx2tf, run as a subprocess.

Side-effect free and offline:
- onnx2tf rewrites its input ``.onnx`` in place, so it only ever sees a copy inside a temporary folder;
- it downloads a sample calibration file (MS-COCO images) whenever an input becomes a 3-channel NHWC
  image. The file it looks for is written into its working folder first, and every HTTP(S) request of
  the subprocess goes to a dead proxy, so nothing is ever fetched;
- int8 is onnx2tf's own integer quantization (``-oiqt``) calibrated with the user's representative data
  (``-cind``, mean 0 and std 1 so the data is used as given), with int8 input and output.

By default the NCHW input is kept (``-kat``) so the same ``.npz`` works on every runtime.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any, Dict, List, Tuple

from bench.convert import tools
from bench.convert.edges import Step, StepResult
from bench.errors import ConversionError, ModelFormatError, UnsupportedModelError

log = logging.getLogger(__name__)

#: the file onnx2tf otherwise downloads (bench never lets it); its content only feeds onnx2tf's dummy inference
SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
SUFFIX = {
    "fp32": "float32",
    "fp16": "float16",
    "dynamic-range": "dynamic_range_quant",
    "int8": "full_integer_quant",
}
_SAFE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def onnx2tf_command() -> List[str]:
    exe = tools.venv_bin() / "onnx2tf"
    return [str(exe)] if exe.is_file() else tools.python_module("onnx2tf", [])


def _prepare_copy(source: Path, work: Path) -> Tuple[Path, str, Tuple[int, ...]]:
    """Copy the model (and its external data) into ``work``; give its single input a safe name."""
    import onnx

    try:
        proto = onnx.load(str(source), load_external_data=False)
    except Exception as exc:
        raise ModelFormatError(f"ONNX model {source} could not be parsed: {exc}", "re-export the model") from exc
    inits = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise UnsupportedModelError(
            f"ONNX model {source.name} has inputs {[i.name for i in inputs]}; only single-input models are converted",
            "export a model with one input",
        )
    inp = inputs[0]
    dims = tuple(
        d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in inp.type.tensor_type.shape.dim
    )
    for t in proto.graph.initializer:  # external weights travel with the copy
        if t.data_location == onnx.TensorProto.EXTERNAL:
            loc = next((e.value for e in t.external_data if e.key == "location"), None)
            if loc and not (work / loc).exists():
                shutil.copy2(source.parent / loc, work / loc)
    copy = work / "model.onnx"
    name = inp.name
    if _SAFE_NAME.match(name):
        shutil.copy2(source, copy)
    else:  # onnx2tf renames ':' and leading '/' in names; a plain name keeps -kat/-cind unambiguous
        new = "input"
        inp.name = new
        for node in proto.graph.node:
            for i, n in enumerate(node.input):
                if n == name:
                    node.input[i] = new
        onnx.save(proto, str(copy))
        name = new
    return copy, name, dims


def _run(step: Step, want_tflite: bool) -> Tuple[Path, Dict[str, Any], List[str]]:
    import numpy as np

    work = step.work_dir
    copy, name, dims = _prepare_copy(step.source, work)
    if -1 in dims[1:]:
        raise UnsupportedModelError(
            f"ONNX input {name!r} has dynamic dimensions {list(dims)}; only static shapes are converted",
            "export with a fixed input shape",
        )
    np.save(work / SAMPLE_FILE, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    out = work / "tf"
    argv = onnx2tf_command() + ["-i", copy.name, "-o", out.name, "-b", "1"]
    notes: List[str] = []
    if step.options.keep_shape:
        argv += ["-kat", name]
    precision = step.precision if want_tflite else "fp32"
    if precision == "int8":
        if step.calibration is None:
            raise ConversionError("int8 quantization needs calibration data", "pass --representative-data-path")
        calib = np.asarray(step.calibration, dtype=np.float32)
        if not step.options.keep_shape and calib.ndim >= 4:
            calib = np.moveaxis(calib, 1, -1)  # onnx2tf wants calibration data in the converted (NHWC) layout
        np.save(work / "calibration.npy", np.ascontiguousarray(calib))
        argv += ["-oiqt", "-cind", name, "calibration.npy", "[0.0]", "[1.0]", "-iqd", "int8", "-oqd", "int8"]
        notes.append(f"onnx2tf integer quantization calibrated on {len(calib)} representative samples")
    elif precision == "dynamic-range":
        argv += ["-odrqt"]
    tflite = out / f"model_{SUFFIX[precision]}.tflite"
    expect = [tflite] if want_tflite else [out / "saved_model.pb"]
    seconds = tools.run(
        argv,
        tool="onnx2tf",
        cwd=work,
        log_file=work / "onnx2tf.log",
        expect=expect,
        timeout_s=step.options.timeout_s,
    )
    opts = {
        "argv": ["onnx2tf"] + [a for a in argv[len(onnx2tf_command()) :]],
        "keep_shape": step.options.keep_shape,
        "input_name": name,
        "precision": precision,
        "onnx2tf_seconds": round(seconds, 3),
    }
    if want_tflite:
        dest = step.out_dir / "model.tflite"
        shutil.move(str(tflite), dest)
        return dest, opts, notes
    dest = step.out_dir / "saved_model"
    shutil.copytree(out, dest, ignore=shutil.ignore_patterns("*.tflite", "*.json"))
    return dest, opts, notes


def to_tflite(step: Step) -> StepResult:
    path, opts, notes = _run(step, want_tflite=True)
    return StepResult(path=path, options=opts, notes=notes)


def to_savedmodel(step: Step) -> StepResult:
    path, opts, notes = _run(step, want_tflite=False)
    return StepResult(path=path, options=opts, notes=notes)
