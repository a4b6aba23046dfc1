"""Does the converted model compute the same function as its source? Measured, recorded, enforced.

Source and converted model both run through the project's runtimes (``bench.infer.infer_all``:
batch 1, inputs adapted and quantized, outputs dequantized) on the same samples. Recorded: max and
mean absolute difference, cosine similarity, top-1 agreement (classification), and with labels the
accuracy of both (classification) or their MSE (regression).

fp32 conversions must stay within the tolerance (1e-3 max absolute difference): beyond it is a
FidelityError. Reduced-precision conversions (int8, fp16, dynamic-range) are expected to differ; they
warn loudly, with the likely cause, under 0.98 top-1 agreement or when accuracy drops > 1 point.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bench import formats
from bench.errors import BenchError, FidelityError
from bench.runtimes.base import Runtime, RuntimeOptions

log = logging.getLogger(__name__)

FP32_TOLERANCE = 1e-3
MIN_TOP1_AGREEMENT = 0.98
MAX_ACCURACY_DROP = 0.01
MAX_MSE_INCREASE = 0.10

_RUNTIME_FOR = {
    formats.ONNX: "onnx",
    formats.TFLITE: "tflite",
    formats.EDGETPU_TFLITE: "coral",
    formats.TORCHSCRIPT: "pytorch",
    formats.TORCH_STATE_DICT: "pytorch",
    formats.TENSORRT_ENGINE: "tensorrt",
}


def open_runtime(
    path: Path, fmt: str, runtime_options: RuntimeOptions, input_shape: Optional[Tuple[int, ...]]
) -> Runtime:
    """A loaded runtime for a model of any format, TF SavedModel/Keras included."""
    from dataclasses import replace

    from bench import runtimes

    if fmt in (formats.SAVEDMODEL, formats.KERAS):
        from bench.convert.tf_model import TFRuntime

        rt: Runtime = TFRuntime()
    else:
        rt = runtimes.create(_RUNTIME_FOR[fmt])
    opts = runtime_options
    if fmt in (formats.TORCHSCRIPT, formats.TORCH_STATE_DICT) and input_shape and not opts.input_shape:
        opts = replace(opts, input_shape=tuple(input_shape))
    rt.load(Path(path), opts)
    return rt


def outputs(path: Path, fmt: str, x: np.ndarray, runtime_options: RuntimeOptions) -> np.ndarray:
    from bench.infer import infer_all

    rt = open_runtime(path, fmt, runtime_options, (1,) + tuple(x.shape[1:]))
    try:
        return np.asarray(infer_all(rt, x), dtype=np.float64)
    finally:
        rt.close()


def _align(ref: np.ndarray, out: np.ndarray, warnings: List[str]) -> np.ndarray:
    if out.shape == ref.shape:
        return out
    n = ref.shape[0]
    if ref.ndim == 4 and out.shape == (n, ref.shape[2], ref.shape[3], ref.shape[1]):
        warnings.append("converted output is NHWC; compared after transposing to the source's NCHW")
        return np.transpose(out, (0, 3, 1, 2))
    if out.size == ref.size:
        return out.reshape(ref.shape)  # e.g. (N,) against (N, 1): same values per sample
    raise FidelityError(
        f"converted model outputs shape {list(out.shape[1:])} per sample, source {list(ref.shape[1:])}",
        "the conversion changed the model's output; check the converter log",
    )


def _labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] > 1:
        return y.reshape(len(y), -1).argmax(1)  # one-hot
    return y.reshape(len(y)).astype(np.int64)


def compare(ref: np.ndarray, out: np.ndarray, y: Optional[np.ndarray], model_type: str, inputs: str) -> Dict[str, Any]:
    """Fidelity figures of ``out`` (converted) against ``ref`` (source) on the same samples."""
    warnings: List[str] = []
    out = _align(ref, out, warnings)
    n = len(ref)
    bad = ~np.isfinite(out) & np.isfinite(ref)
    if bad.any():
        raise FidelityError(
            f"the converted model outputs {int(bad.sum())} NaN/infinite values where the source's are finite "
            f"({int(bad.reshape(n, -1).any(1).sum())} of {n} samples)",
            "an operator overflowed or was mistranslated: use fp32, or check the converter log",
        )
    diff = np.abs(ref - out)
    a, b = ref.reshape(-1), out.reshape(-1)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    cosine = float(a @ b / denom) if denom > 0 else (1.0 if np.array_equal(a, b) else 0.0)
    fid: Dict[str, Any] = {
        "samples": int(n),
        "inputs": inputs,
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "cosine_similarity": cosine,
        "top1_agreement": None,
        "accuracy_source": None,
        "accuracy_converted": None,
        "accuracy_change": None,
        "warnings": warnings,
    }
    per_sample = int(np.prod(ref.shape[1:])) if ref.ndim > 1 else 1
    if model_type == "classification" and per_sample > 1:
        r1, o1 = ref.reshape(n, -1).argmax(1), out.reshape(n, -1).argmax(1)
        fid["top1_agreement"] = float((r1 == o1).mean())
        if y is not None:
            labels = _labels(y)[:n]
            fid["accuracy_source"] = float((r1 == labels).mean())
            fid["accuracy_converted"] = float((o1 == labels).mean())
            fid["accuracy_change"] = fid["accuracy_converted"] - fid["accuracy_source"]
    elif model_type == "regression" and y is not None:
        t = np.asarray(y, dtype=np.float64).reshape(n, -1)
        if t.shape[1] == ref.reshape(n, -1).shape[1]:
            fid["mse_source"] = float(((ref.reshape(n, -1) - t) ** 2).mean())
            fid["mse_converted"] = float(((out.reshape(n, -1) - t) ** 2).mean())
    return fid


def check(fid: Dict[str, Any], precision: str, *, tolerance: float, likely_cause: str) -> None:
    """Raise FidelityError for an fp32 conversion beyond ``tolerance``; warn loudly for reduced precision."""
    new: List[str] = []
    if precision == "fp32":
        if fid["max_abs_diff"] > tolerance:
            raise FidelityError(
                f"the fp32 conversion changes outputs by up to {fid['max_abs_diff']:.3g} (tolerance {tolerance:g}; "
                f"cosine {fid['cosine_similarity']:.6f}, top-1 agreement {fid['top1_agreement']}) on "
                f"{fid['samples']} samples",
                "the converter mistranslated an operator: check its log, try another --opset, or report the model",
            )
        return
    agree = fid.get("top1_agreement")
    if agree is not None and agree < MIN_TOP1_AGREEMENT:
        new.append(
            f"{precision} model agrees with the source on top-1 for only {agree:.1%} of {fid['samples']} samples "
            f"(below {MIN_TOP1_AGREEMENT:.0%}); likely cause: {likely_cause}"
        )
    change = fid.get("accuracy_change")
    if change is not None and change < -MAX_ACCURACY_DROP:
        new.append(
            f"{precision} model loses {-change * 100:.2f} accuracy points "
            f"({fid['accuracy_source']:.4f} -> {fid['accuracy_converted']:.4f}); likely cause: {likely_cause}"
        )
    mse_s, mse_c = fid.get("mse_source"), fid.get("mse_converted")
    if mse_s is not None and mse_c is not None and mse_c > mse_s * (1 + MAX_MSE_INCREASE):
        new.append(
            f"{precision} model's MSE rises {100 * (mse_c / mse_s - 1):.1f}% ({mse_s:.4g} -> {mse_c:.4g}); "
            f"likely cause: {likely_cause}"
        )
    for w in new:
        log.warning("FIDELITY: %s", w)
        if w not in fid["warnings"]:
            fid["warnings"].append(w)


def likely_cause(precision: str, calibration_samples: Optional[int], tool: str) -> str:
    if precision == "int8":
        causes = []
        if calibration_samples is not None and calibration_samples < 100:
            causes.append(f"only {calibration_samples} representative samples calibrated the int8 ranges")
        causes.append(
            "representative data unlike the real inputs (range, preprocessing) sets wrong int8 scales, or a layer "
            "with a wide activation range quantizes poorly; try more/better representative samples, or "
            "--precision dynamic-range / fp16"
        )
        if tool == "onnx2tf":
            causes.append("if the model is TF-origin, quantize the original with TFLiteConverter instead")
        return "; ".join(causes)
    if precision == "fp16":
        return "half-precision weights lose detail in layers with large or tiny values; use fp32"
    return "int8 weights (dynamic range) lose detail in some layers; try fp16 or full int8 with representative data"


def measure(
    source: Path,
    source_format: str,
    converted: Path,
    converted_format: str,
    x: np.ndarray,
    y: Optional[np.ndarray],
    model_type: str,
    runtime_options: RuntimeOptions,
    inputs: str,
) -> Dict[str, Any]:
    """Run both models on ``x`` and compare. Runtime failures propagate as BenchErrors."""
    try:
        ref = outputs(source, source_format, x, runtime_options)
        out = outputs(converted, converted_format, x, runtime_options)
    except BenchError:
        raise
    return compare(ref, out, y, model_type, inputs)
