"""Representative data for int8 (mutation run of bench/convert/calibration.py): small .npz files written here, their
layouts fitted or refused, their casts, clean-ups and the sample-count warnings, with the file's sha256 by hashlib."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.convert import calibration as C
from bench.errors import DataError, InputError

SHAPE = (1, 3, 4, 5)  # the model's NCHW input, batch first


def _npz(tmp_path: Path, x: Any, name: str = "rep.npz") -> Path:
    path = tmp_path / name
    np.savez(path, x_data=x)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fitting_samples_are_taken_as_they_are(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    x = np.arange(120 * 60, dtype=np.float64).reshape(120, 3, 4, 5)
    path = _npz(tmp_path, x)
    with caplog.at_level(logging.WARNING, logger="bench.convert.calibration"):
        got, sha, warnings = C.load(path, SHAPE, model_name="net")
    assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(got, x.astype(np.float32))
    assert (sha, warnings, caplog.messages) == (_sha(path), [], [])
    got, _, warnings = C.load(str(path), None, model_name="net")  # no input shape: not checked
    assert got.shape == (120, 3, 4, 5) and warnings == []


def test_a_batch_dimension_of_one_is_dropped(tmp_path: Path) -> None:
    x = np.ones((100, 1, 3, 4, 5), np.float32)
    got, _, warnings = C.load(_npz(tmp_path, x), SHAPE, model_name="net")
    assert got.shape == (100, 3, 4, 5) and warnings == []


def test_nhwc_data_for_an_nchw_model_and_back(tmp_path: Path) -> None:
    nchw = np.arange(100 * 60, dtype=np.float32).reshape(100, 3, 4, 5)
    nhwc = np.transpose(nchw, (0, 2, 3, 1)).copy()
    got, _, warnings = C.load(_npz(tmp_path, nhwc), SHAPE, model_name="net")
    np.testing.assert_array_equal(got, nchw)
    assert warnings == ["representative data is NHWC; transposed to the model's NCHW input"]
    got, _, warnings = C.load(_npz(tmp_path, nchw, "b.npz"), (1, 4, 5, 3), model_name="net")
    np.testing.assert_array_equal(got, nhwc)
    assert warnings == ["representative data is NCHW; transposed to the model's NHWC input"]


@pytest.mark.parametrize(
    "x_shape, model_shape, want",
    [
        ((5, 3, 4, 6), SHAPE, "[3, 4, 6] but model net takes [3, 4, 5]"),
        ((5, 2, 3, 4, 5), SHAPE, "[2, 3, 4, 5] but model net takes [3, 4, 5]"),  # a batch of 2 is no batch of 1
        ((5, 60), SHAPE, "[60] but model net takes [3, 4, 5]"),
        ((5, 4, 5), (1, 4, 5, 1), "[4, 5] but model net takes [4, 5, 1]"),
        ((5, 5, 3, 4), (1, 3, 4), "[5, 3, 4] but model net takes [3, 4]"),
        ((5, 1, 4, 5), (1, 4, 5, 2), "[1, 4, 5] but model net takes [4, 5, 2]"),
    ],
)
def test_other_shapes_are_refused(tmp_path: Path, x_shape: tuple, model_shape: tuple, want: str) -> None:
    with pytest.raises(DataError) as err:
        C.load(_npz(tmp_path, np.zeros(x_shape, np.float32)), model_shape, model_name="net")
    assert err.value.problem == f"representative data rep.npz has samples of shape {want} (batch dimension excluded)"
    tail = ", ".join(str(d) for d in model_shape[1:])
    assert err.value.fix == f"store x_data as (N, {tail})"


def test_integers_are_cast_without_rescaling(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    x = np.full((100, 2), 200, np.uint8)
    with caplog.at_level(logging.WARNING, logger="bench.convert.calibration"):
        got, _, warnings = C.load(_npz(tmp_path, x), (1, 2), model_name="net")
    assert got.dtype == np.float32 and float(got.max()) == 200.0
    assert warnings == ["representative data is uint8; cast to float32 as given (no rescaling)"]
    assert caplog.messages == warnings
    _, _, warnings = C.load(_npz(tmp_path, np.ones((100, 2), np.float16), "h.npz"), (1, 2), model_name="n")
    assert warnings == []


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(tmp_path: Path, bad: float) -> None:
    x = np.zeros((100, 2), np.float32)
    x[7, 1] = bad
    with pytest.raises(DataError) as err:
        C.load(_npz(tmp_path, x), (1, 2), model_name="net")
    assert (err.value.problem, err.value.fix) == (
        "representative data rep.npz holds NaN or infinite values",
        "clean the data",
    )


def test_sample_counts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    many = np.arange(1001 * 2, dtype=np.float32).reshape(1001, 2)
    got, _, warnings = C.load(_npz(tmp_path, many), (1, 2), model_name="net")
    assert got.shape == (1000, 2) and float(got[-1, 1]) == 1999.0  # the first 1000
    assert warnings == ["representative data has 1001 samples; the first 1000 calibrate"]
    got, _, warnings = C.load(_npz(tmp_path, many[:1000], "k.npz"), (1, 2), model_name="net")
    assert got.shape == (1000, 2) and warnings == []
    _, _, warnings = C.load(_npz(tmp_path, many[:100], "h.npz"), (1, 2), model_name="net")
    assert warnings == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bench.convert.calibration"):
        got, _, warnings = C.load(_npz(tmp_path, many[:99].astype(np.int32), "f.npz"), (1, 2), model_name="net")
    assert len(got) == 99
    assert warnings == [
        "representative data is int32; cast to float32 as given (no rescaling)",
        "only 99 representative samples (under 100): int8 ranges may not cover real inputs",
    ]
    assert caplog.messages == warnings


def test_no_data(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        C.load(None, SHAPE, model_name="net.onnx")
    assert err.value.problem == (
        "--quantization (int8) of the float model net.onnx needs representative data to calibrate on"
    )
    assert err.value.fix == (
        "pass --representative-data-path FILE.npz with x_data shaped like the model input (100+ samples)"
    )
    x, sha, warnings = C.load(None, SHAPE, model_name="net.tflite", is_float_model=False)
    assert (x.shape, x.dtype, sha, warnings) == ((0,), np.float32, "", [])
    with pytest.raises(DataError) as err:
        C.load(tmp_path / "none.npz", SHAPE, model_name="net")
    assert err.value.problem == f"representative data {tmp_path / 'none.npz'} not found"
    assert err.value.fix == "pass --representative-data-path FILE.npz with an x_data array"
    with pytest.raises(DataError):
        C.load(tmp_path, SHAPE, model_name="net")  # a folder is no file
