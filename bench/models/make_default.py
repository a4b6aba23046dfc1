"""Make the shipped default model and data: `python -m bench.models.make_default`.

Trains DigitsCNN on scikit-learn's digits, writes the state_dict, a one-file ONNX export, a float32
TFLite model (onnx2tf, NCHW input kept), a full-integer int8 TFLite model (edgebench's own onnx2tf -oiqt
conversion, calibrated on the test set) and the held-out test set as digits_test.npz.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench import models

log = logging.getLogger(__name__)


def onnx_to_tflite_fp32(onnx_path: Path, out: Path, keep_input: str = "") -> Path:
    """fp32 TFLite from ONNX by calling onnx2tf directly (on a copy: onnx2tf rewrites its input)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "model.onnx"
        shutil.copy(onnx_path, src)
        onnx2tf = Path(sys.executable).with_name("onnx2tf")
        cmd = [str(onnx2tf), "-i", str(src), "-o", str(Path(tmp) / "tf"), "-n"]
        if keep_input:
            cmd += ["-kat", keep_input]
        subprocess.run(cmd, check=True, cwd=tmp, capture_output=True, timeout=600)
        shutil.copy(Path(tmp) / "tf" / "model_float32.tflite", out)
    return out


def onnx_to_tflite_int8(onnx_path: Path, data: Path, out: Path) -> Path:
    """Full-integer int8 TFLite through edgebench's conversion (the path `--quantization` takes), copied to ``out``."""
    from bench.convert.options import ConvertOptions
    from bench.convert.pipeline import convert_for
    from bench.formats import ONNX
    from bench.runtimes.base import RuntimeOptions

    with tempfile.TemporaryDirectory() as tmp:
        opts = ConvertOptions(precision="int8", representative_data=data, cache_dir=Path(tmp))
        converted = convert_for(
            onnx_path, ONNX, "tflite", opts, runtime_options=RuntimeOptions(), data=data, model_type="classification"
        )
        shutil.copy(converted.path, out)
    return out


def main() -> int:
    import torch

    from bench.models.digits import digits_arrays, train_digits_cnn

    x_tr, y_tr, x_te, y_te = digits_arrays()
    model = train_digits_cnn(x_tr, y_tr)
    with torch.inference_mode():
        acc = float((model(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean())
    print(f"test accuracy {acc:.4f} on {len(y_te)} samples")
    models.ASSETS.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), models.DIGITS_STATE_DICT)
    np.savez_compressed(models.DIGITS_TEST_DATA, x_data=x_te, y_data=y_te)
    torch.onnx.export(
        model,
        (torch.from_numpy(x_te[:1]),),
        str(models.DIGITS_ONNX),
        input_names=["input"],
        output_names=["logits"],
        dynamo=False,
        external_data=False,
        opset_version=17,
    )
    onnx_to_tflite_fp32(models.DIGITS_ONNX, models.DIGITS_TFLITE, keep_input="input")
    onnx_to_tflite_int8(models.DIGITS_ONNX, models.DIGITS_TEST_DATA, models.DIGITS_TFLITE_INT8)
    shipped = (models.DIGITS_STATE_DICT, models.DIGITS_ONNX, models.DIGITS_TFLITE, models.DIGITS_TFLITE_INT8)
    for p in (*shipped, models.DIGITS_TEST_DATA):
        print(f"{p.name}: {p.stat().st_size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
