"""The original tool's command line (`evaluate.py MODEL DATA FRAMEWORK ...`) keeps working.

Every example line of the original README is replayed on small models trained here, up to the hardware boundary:
runs that need TensorRT, an ARM NN delegate or an Edge TPU end with the same one-line error (exit 3) a user without
that hardware gets from `edgebench run`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Tuple

import pytest

from bench import legacy
from tests.conftest import REPO, require
from tests.docker_helpers import read_jsonl


def _evaluate(*args: str, out: Path, entry: str = "subcommand") -> subprocess.CompletedProcess:
    """Run an original-style line; records go to ``out`` (``--output`` is edgebench's one addition)."""
    cmd = [sys.executable, "evaluate.py"] if entry == "script" else [sys.executable, "-m", "bench", "evaluate"]
    return subprocess.run([*cmd, *args, "--output", str(out)], cwd=REPO, capture_output=True, text=True, timeout=900)


def _one_line_error(proc: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert proc.returncode == code, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgebench: error:")]
    assert len(errors) == 1 and "Fix:" in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w.lower() in errors[0].lower(), errors[0]


def test_translation_keeps_every_original_option(tmp_path: Path) -> None:
    argv = legacy.translate(
        [
            "m.onnx",
            "d.npz",
            "tflite",
            "--use-armnn",
            "--armnn-path",
            "/opt/armnn/libarmnnDelegate.so",
            "--use-softmax",
            "--model-type",
            "regression",
            "--do-not-keep-shape",
            "--transposed-data-path",
            "t.npz",
            "--convert-only",
            "--quantization",
            "--representative-data-path",
            "r.npz",
        ]
    )
    assert argv[:5] == ["run", "m.onnx", "d.npz", "--framework", "tflite"]
    pairs = {argv[i]: argv[i + 1] for i in range(5, len(argv) - 1) if argv[i].startswith("--")}
    assert pairs["--model-type"] == "regression"
    assert pairs["--delegate"] == "armnn" and pairs["--delegate-path"] == "/opt/armnn/libarmnnDelegate.so"
    assert pairs["--transposed-data-path"] == "t.npz" and pairs["--representative-data-path"] == "r.npz"
    for flag in ("--use-softmax", "--do-not-keep-shape", "--convert-only", "--quantization"):
        assert flag in argv


def test_armnn_path_without_use_armnn_is_ignored_as_before(caplog: pytest.LogCaptureFixture) -> None:
    argv = legacy.translate(["m.tflite", "d.npz", "tflite", "--armnn-path", "x.so"])
    assert "--delegate" not in argv and "--delegate-path" not in argv
    assert "ignored" in caplog.text


def test_unknown_framework_is_refused_like_the_original() -> None:
    with pytest.raises(SystemExit) as e:
        legacy.translate(["m.onnx", "d.npz", "tensorflow"])
    assert e.value.code == 2


def _ok(proc: subprocess.CompletedProcess, out: Path, framework: str, min_acc: float = 0.85) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = read_jsonl(out)[-1]
    assert rec["status"] == "ok" and rec["framework"] == framework
    assert rec["quality"]["accuracy"] >= min_acc, rec["quality"]
    return rec


def test_readme_pytorch_lines(digits_state_dict: tuple, digits_npz: Path, tmp_path: Path) -> None:
    pth, cls_file, cls_name = digits_state_dict
    cls = ["--model-class-path", str(cls_file), "--model-class-name", cls_name]
    out = tmp_path / "r.jsonl"
    # $ ./evaluate.sh resnet50.pth data.npz pytorch --model-class-path model_class.py --model-class-name ResNet50
    _ok(_evaluate(str(pth), str(digits_npz), "pytorch", *cls, out=out, entry="script"), out, "pytorch")
    # $ ./evaluate.sh resnet50.pth data.npz [onnx, tflite, tensorrt] --model-class-path ... --model-class-name ...
    for fw in ("onnx", "tflite"):
        rec = _ok(_evaluate(str(pth), str(digits_npz), fw, *cls, out=out), out, fw)
        assert rec["conversion"], "converted from the state_dict"
    _one_line_error(_evaluate(str(pth), str(digits_npz), "tensorrt", *cls, out=out), 3, "tensorrt")


def test_readme_onnx_lines(digits_onnx: Path, digits_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    # $ ./evaluate.sh resnet50.onnx data.npz [onnx, tflite, tensorrt]
    _ok(_evaluate(str(digits_onnx), str(digits_npz), "onnx", out=out), out, "onnx")
    _ok(_evaluate(str(digits_onnx), str(digits_npz), "tflite", out=out), out, "tflite")
    _one_line_error(_evaluate(str(digits_onnx), str(digits_npz), "tensorrt", out=out), 3, "tensorrt")


def test_readme_tensorflow_lines(keras_savedmodel: Path, keras_digits: Tuple[Path, Path], tmp_path: Path) -> None:
    """A TF SavedModel folder (the original's `resnet50` folder example) and its NHWC data (tests/conftest.py)."""
    folder, npz = keras_savedmodel, keras_digits[1]
    out = tmp_path / "r.jsonl"
    # $ ./evaluate.sh resnet50 data.npz [onnx, tflite, tensorrt]
    _ok(_evaluate(str(folder), str(npz), "tflite", out=out), out, "tflite")
    _ok(_evaluate(str(folder), str(npz), "onnx", out=out), out, "onnx")
    proc = _evaluate(str(folder), str(npz), "tensorrt", out=out)
    assert proc.returncode in (2, 3) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    # $ ./evaluate.sh resnet50 data.npz tflite --quantization --representative-data-path repr_data.npz
    rec = _ok(
        _evaluate(str(folder), str(npz), "tflite", "--quantization", "--representative-data-path", str(npz), out=out),
        out,
        "tflite",
        min_acc=0.8,
    )
    assert rec["options"]["convert"]["precision"] == "int8"
    assert rec["model"]["inputs"][0]["dtype"] == "int8", "the measured model is full-integer"


def test_a_wrong_armnn_path_is_named_with_the_option_given(tmp_path: Path) -> None:
    """The fix names --armnn-path, which the user typed, not the environment variable they never set."""
    assets = REPO / "bench" / "models" / "assets"
    wrong = tmp_path / "wrong" / "libarmnnDelegate.so"
    out = tmp_path / "r.jsonl"
    proc = _evaluate(str(assets / "digits_cnn.tflite"), str(assets / "digits_test.npz"), "tflite", "--use-armnn",
                     "--armnn-path", str(wrong), out=out, entry="script")  # fmt: skip
    _one_line_error(proc, 3, str(wrong), "Fix: give the path of libarmnnDelegate.so with --armnn-path (evaluate.py)")
    assert "EDGEBENCH_ARMNN_DELEGATE" not in proc.stderr


def test_readme_armnn_and_coral_lines(digits_tflite: Path, digits_npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    # $ ./evaluate.sh resnet50.tflite data.npz tflite --use-armnn   (no ARM NN delegate on this machine)
    _one_line_error(_evaluate(str(digits_tflite), str(digits_npz), "tflite", "--use-armnn", out=out), 3, "armnn")
    missing = tmp_path / "ArmNN-aarch64" / "libarmnnDelegate.so"
    proc = _evaluate(
        str(digits_tflite), str(digits_npz), "tflite", "--use-armnn", "--armnn-path", str(missing), out=out
    )
    _one_line_error(proc, 3, str(missing))
    assert read_jsonl(out)[-1]["options"]["delegate_path"] == str(missing)
    # $ ./evaluate.sh resnet50_edgetpu.tflite data.npz coral   (no Edge TPU compiler or device here)
    proc = _evaluate(str(digits_tflite), str(digits_npz), "coral", out=out)
    assert proc.returncode in (2, 3) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert all(r["status"] == "error" for r in read_jsonl(out))


def _uint8_input_tflite(path: Path) -> Path:
    """A tiny Keras dense model converted with full-integer quantization and a uint8 input (TFLiteConverter)."""
    tf = require("tensorflow")
    import numpy as np

    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3)])
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([np.random.default_rng(i).random((1, 4), np.float32)] for i in range(8))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.uint8
    path.write_bytes(conv.convert())
    return path


def test_quantization_is_kept_for_a_float_tflite_and_dropped_for_int8_or_uint8_inputs(tmp_path: Path) -> None:
    """The original's "already quantized model: just set --quantization" holds for int8 and uint8 inputs only."""
    require("ai_edge_litert")
    from bench import models

    def quantizes(model: Path) -> bool:
        return "--quantization" in legacy.translate([str(model), "d.npz", "tflite", "--quantization"])

    assert quantizes(models.DIGITS_TFLITE), "a float32 TFLite model is quantized as asked"
    assert not quantizes(models.DIGITS_TFLITE_INT8)
    assert not quantizes(_uint8_input_tflite(tmp_path / "u8.tflite"))
    assert quantizes(models.DIGITS_ONNX)
