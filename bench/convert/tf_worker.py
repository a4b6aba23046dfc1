"""Converter worker run as a subprocess: `python -m bench.convert.tf_worker {tflite,savedmodel} ...`.

TensorFlow's converters run outside the benchmark process, so a crash inside them (MLIR aborts do
happen) becomes a ConversionError with their last lines instead of killing the run.

- ``tflite SRC OUT --precision P [--calibration FILE.npy]``: TFLiteConverter on a static batch-1
  function of the SavedModel/Keras model. int8 is full-integer with int8 input and output, calibrated
  on the representative samples; fp16 stores half-precision weights; dynamic-range int8 weights.
- ``savedmodel SRC OUT``: re-export as a SavedModel with a static batch-1 ``serving_default`` (tf2onnx
  reads that; Keras 3 models are not readable by tf2onnx's own Keras path).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, List, Optional

from bench.convert.options import PRECISIONS


def _tflite(src: Path, out: Path, precision: str, calibration: Optional[Path]) -> dict:
    import numpy as np
    import tensorflow as tf

    # through a static batch-1 SavedModel: the int8 calibrator cannot read the variables of a bare
    # concrete function ("READ_VARIABLE failed to invoke"), and the batch must be 1
    static = Path.cwd() / "static_saved_model"  # the converter's work folder
    m = _static_savedmodel(src, static)
    conv = tf.lite.TFLiteConverter.from_saved_model(str(static), signature_keys=["serving_default"])
    info = {"input_name": m.input_name, "input_shape": list(m.input_shape), "precision": precision}
    if precision == "fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif precision == "dynamic-range":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif precision == "int8":
        calib = np.load(calibration).astype(np.float32)

        def representative():
            for i in range(len(calib)):
                yield [calib[i : i + 1]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        info.update(calibration_samples=len(calib), io_dtype="int8")
    out.write_bytes(conv.convert())
    shutil.rmtree(static, ignore_errors=True)
    return info


def _static_savedmodel(src: Path, out: Path) -> Any:
    """Write ``src`` as a SavedModel whose serving_default takes a batch-1 input; return it loaded."""
    import tensorflow as tf

    from bench import formats
    from bench.convert.tf_model import TFModel

    m = TFModel(src)
    if formats.detect(src) == formats.KERAS:
        # Keras 3 variables are tracked by its own ExportArchive, not by a plain tf.Module
        import keras

        model = m.module.model
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            name="serve",
            fn=lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec(m.input_shape, tf.as_dtype(m.input_dtype), name=m.input_name)],
        )
        archive.write_out(str(out))
    else:
        tf.saved_model.save(m.module, str(out), signatures={"serving_default": m.concrete})
    return TFModel(out)


def _savedmodel(src: Path, out: Path) -> dict:
    m = _static_savedmodel(src, out)
    return {"input_name": m.input_name, "input_shape": list(m.input_shape)}


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.convert.tf_worker")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tflite")
    t.add_argument("src", type=Path)
    t.add_argument("out", type=Path)
    t.add_argument("--precision", default="fp32", choices=PRECISIONS)
    t.add_argument("--calibration", type=Path, default=None)
    s = sub.add_parser("savedmodel")
    s.add_argument("src", type=Path)
    s.add_argument("out", type=Path)
    for sp in (t, s):
        sp.add_argument("--info", type=Path, default=None, help="write a JSON summary here")
    args = p.parse_args(argv)
    if args.cmd == "tflite":
        info = _tflite(args.src, args.out, args.precision, args.calibration)
    else:
        info = _savedmodel(args.src, args.out)
    if args.info:
        args.info.write_text(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
