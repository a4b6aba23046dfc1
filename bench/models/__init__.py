"""The built-in default model and data set (a small CNN trained on scikit-learn's digits)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
DIGITS_CLASS_FILE = Path(__file__).resolve().parent / "digits.py"
DIGITS_CLASS_NAME = "DigitsCNN"
DIGITS_STATE_DICT = ASSETS / "digits_cnn.pth"
DIGITS_ONNX = ASSETS / "digits_cnn.onnx"
DIGITS_TFLITE = ASSETS / "digits_cnn.tflite"
#: full-integer int8 (int8 input and output), onnx2tf -oiqt calibrated on the test set; for `edgebench verify`
DIGITS_TFLITE_INT8 = ASSETS / "digits_cnn_int8.tflite"
DIGITS_TEST_DATA = ASSETS / "digits_test.npz"
