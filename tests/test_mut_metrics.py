"""bench/metrics.py on the dtypes quantized and half-precision models produce, against scikit-learn on the same values
in float64: int8 logits through --softmax (their difference from the row maximum does not fit int8), float32
fractional targets, float16 regression targets, and a constant target column without a numpy warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bench import metrics
from bench.errors import DataError
from tests.conftest import require


def test_int8_logits_through_softmax_score_as_their_float_values() -> None:
    skm = require("sklearn.metrics")
    rng = np.random.default_rng(3)
    logits = rng.integers(-128, 128, (300, 10), dtype=np.int8)
    logits[:, 0] = -128  # every row spans more than int8 can hold below its maximum
    logits[0] = [-128, 127, 0, 0, 0, 0, 0, 0, 0, 0]  # -128 - 127 wraps to +1 in int8
    y = rng.integers(0, 10, 300)
    y[0] = 1
    got = metrics.classification(y, logits, use_softmax=True)
    pred = logits.astype(np.float64).argmax(axis=1)
    assert got["softmax_applied"] is True
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro", zero_division=0))
    assert got["confusion_matrix"][1][1] >= 1  # the first row is right: class 1
    scores = logits.astype(np.float64)
    assert got["top5_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, scores, k=5, labels=np.arange(10)))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_fractional_targets_of_any_float_width_are_refused(dtype: type) -> None:
    y = np.array([0.0, 1.5, 2.0, 1.0], dtype=dtype)
    outputs = np.eye(4, 3)
    with pytest.raises(DataError, match="fractional"):
        metrics.classification(y, outputs)
    ok = metrics.classification(np.array([0.0, 1.0, 2.0, 1.0], dtype=dtype), outputs)
    assert ok["accuracy"] == 0.75  # rows 0-2 right; the all-zero row 3 predicts class 0


def test_float16_regression_targets_score_as_their_float64_values() -> None:
    skm = require("sklearn.metrics")
    rng = np.random.default_rng(0)
    true16 = (1000 + rng.normal(0, 1.5, (200, 2))).astype(np.float16)  # half-precision targets near 1000
    pred = true16.astype(np.float64) + rng.normal(0, 0.5, (200, 2))
    got = metrics.regression(true16, pred)
    true = true16.astype(np.float64)
    assert got["r2"] == pytest.approx(skm.r2_score(true, pred), rel=1e-9)
    assert got["mse"] == pytest.approx(skm.mean_squared_error(true, pred), rel=1e-9)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(true, pred), rel=1e-9)


def test_a_constant_target_column_scores_as_sklearn_without_a_numpy_warning() -> None:
    skm = require("sklearn.metrics")
    true = np.column_stack([np.full(6, 3.0), np.arange(6.0), np.full(6, 2.0)])
    pred = true + np.array([[0.0, 0.5, 0.1]] * 6)  # column 0 exact, column 2 off
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero warning reaches the user
        got = metrics.regression(true, pred)
    # sklearn (force_finite): a constant column predicted exactly scores 1, otherwise 0
    assert got["r2"] == pytest.approx(skm.r2_score(true, pred), rel=1e-12)
    assert got["r2"] == pytest.approx((1.0 + (1 - 6 * 0.25 / 17.5) + 0.0) / 3)
