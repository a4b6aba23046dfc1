"""Quality metrics from model outputs and targets. numpy only; tests check every value against scikit-learn.

Outputs are reshaped per sample, (N, ...) -> (N, k), before any comparison with the targets, so a
(N,) target is never broadcast against (N, 1, 1) outputs.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from bench.errors import DataError


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def class_labels(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Targets as class indices: accepts indices (N,), (N, 1) or one-hot / probability rows (N, C)."""
    y = np.asarray(y)
    flat = y.reshape(len(y), -1)
    if flat.shape[1] == 1:
        labels = flat[:, 0]
        if np.issubdtype(labels.dtype, np.floating) and np.any(labels != np.round(labels)):
            raise DataError(
                "classification y_data holds fractional values",
                "use class indices or one-hot rows, or --model-type regression",
            )
        return labels.astype(np.int64)
    if flat.shape[1] != n_classes:
        raise DataError(
            f"y_data rows have {flat.shape[1]} values but the model outputs {n_classes} classes",
            "give class indices (N,) or one-hot rows (N, classes)",
        )
    return flat.argmax(axis=1).astype(np.int64)


def classification(y_true: np.ndarray, outputs: np.ndarray, use_softmax: bool = False) -> Dict[str, Any]:
    """Accuracy, macro precision/recall/F1 (over the labels present in targets or predictions, as
    scikit-learn's default; 0 where undefined), top-5 when there are more than 5 classes, confusion matrix."""
    n = len(outputs)
    scores = np.asarray(outputs, dtype=np.float64).reshape(n, -1)
    # softmax over a single column is 1.0 for every sample: a one-logit binary classifier is scored as it is
    softmax_applied = bool(use_softmax) and scores.shape[1] > 1
    if softmax_applied:
        scores = softmax(scores)
    n_classes = scores.shape[1]
    if n_classes == 1:  # one sigmoid/logit output: binary
        threshold = 0.5 if (scores.min() >= 0 and scores.max() <= 1) else 0.0
        pred = (scores[:, 0] > threshold).astype(np.int64)
        n_classes = 2
    else:
        pred = scores.argmax(axis=1)
    true = class_labels(y_true, n_classes)
    if true.min() < 0 or true.max() >= n_classes:
        raise DataError(
            f"y_data labels span {true.min()}..{true.max()} but the model has {n_classes} classes",
            "check y_data holds class indices 0..classes-1, or use --model-type regression",
        )
    labels = np.union1d(true, pred)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)
    tp = cm.diagonal()[labels].astype(np.float64)
    pred_pos = cm.sum(axis=0)[labels].astype(np.float64)
    true_pos = cm.sum(axis=1)[labels].astype(np.float64)
    precision = np.divide(tp, pred_pos, out=np.zeros_like(tp), where=pred_pos > 0)
    recall = np.divide(tp, true_pos, out=np.zeros_like(tp), where=true_pos > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    result: Dict[str, Any] = {
        "task": "classification",
        "samples": int(n),
        "classes": int(n_classes),
        "accuracy": float((true == pred).mean()),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "averaging": "macro over labels present in targets or predictions; 0 where undefined",
        "softmax_applied": softmax_applied,
        "confusion_matrix": cm.tolist(),
    }
    if scores.shape[1] > 5:
        # ties ranked as scikit-learn's top_k_accuracy_score ranks them: a stable ascending sort read from the end,
        # so among equal scores the higher class index comes first (sklearn/metrics/_ranking.py, 1.9)
        top5 = np.argsort(scores, axis=1, kind="stable")[:, ::-1][:, :5]
        result["top5_accuracy"] = float((top5 == true[:, None]).any(axis=1).mean())
    return result


def regression(y_true: np.ndarray, outputs: np.ndarray) -> Dict[str, Any]:
    """MSE, MAE, RMSE, R² (uniform average over outputs) and MAPE in percent over non-zero targets."""
    n = len(outputs)
    pred = np.asarray(outputs, dtype=np.float64).reshape(n, -1)
    true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    if true.shape != pred.shape:
        raise DataError(
            f"y_data has {true.shape[1]} values per sample but the model outputs {pred.shape[1]}",
            "give one target per model output",
        )
    err = pred - true
    mse = float(np.mean(err**2))
    ss_res = np.sum(err**2, axis=0)
    ss_tot = np.sum((true - true.mean(axis=0)) ** 2, axis=0)
    r2_each = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.where(ss_res > 0, 0.0, 1.0))
    nonzero = true != 0
    zero_count = int((~nonzero).sum())
    mape = float(np.mean(np.abs(err[nonzero] / true[nonzero])) * 100) if nonzero.any() else None
    return {
        "task": "regression",
        "samples": int(n),
        "mse": mse,
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(mse)),
        "r2": float(np.mean(r2_each)),
        "mape_pct": mape,
        "mape_excluded_zero_targets": zero_count,
    }


def compute(model_type: str, y_true: np.ndarray, outputs: np.ndarray, use_softmax: bool = False) -> Dict[str, Any]:
    if model_type == "classification":
        return classification(y_true, outputs, use_softmax)
    if model_type == "regression":
        return regression(y_true, outputs)
    raise DataError(f"unknown model type {model_type!r}", "use --model-type classification or regression")
