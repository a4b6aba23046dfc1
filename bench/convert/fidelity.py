"""Does the converted model compute the same function as its source? Measured, recorded, enforced.

Source and converted model both run through the project's runtimes (``bench.infer.infer_all``:
batch 1, inputs adapted and quantized, outputs dequantized) on the same samples. Recorded: max and
mean absolute difference, cosine similarity, top-1 agreement (classification), and with labels the
accuracy of both (classification) or their MSE (regression).

fp32 conversions must stay within the tolerance (``options.FIDELITY_TOLERANCE``, max absolute difference): beyond it is a
FidelityError. Reduced-precision conversions (int8, fp16, dynamic-range) are expected to differ; they
warn loudly, with the likely cause, under 0.98 top-1 agreement or when accuracy drops > 1 point.

When the converted model cannot run here (an Edge TPU model on a machine without a Coral, a TensorRT engine without
TensorRT), the fidelity is ``unchecked`` with the reason, and the source's outputs on the first samples are stored
next to the artifact (an .npz read with ``allow_pickle=False``); the device checks them after its first run
(:func:`load_reference`, :func:`check_reference`, called by bench.runner).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bench import formats
from bench.convert.options import FIDELITY_TOLERANCE
from bench.errors import FidelityError, FrameworkUnavailable, InputError
from bench.runtimes.base import Runtime, RuntimeOptions

log = logging.getLogger(__name__)

CHECKED = "checked"
UNCHECKED = "unchecked"
MIN_TOP1_AGREEMENT = 0.98
MAX_ACCURACY_DROP = 0.01
MAX_MSE_INCREASE = 0.10


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
        name = runtimes.for_format(fmt)
        if name is None:
            raise InputError(f"no runtime runs {fmt} models", "convert the model to a format a runtime loads")
        rt = runtimes.create(name)
    opts = runtime_options
    if fmt in (formats.TORCHSCRIPT, formats.TORCH_STATE_DICT) and input_shape and not opts.input_shape:
        opts = replace(opts, input_shape=tuple(input_shape))
    rt.load(Path(path), opts)
    return rt


def outputs(path: Path, fmt: str, x: np.ndarray, runtime_options: RuntimeOptions) -> np.ndarray:
    rt = open_runtime(path, fmt, runtime_options, (1,) + tuple(x.shape[1:]))
    return _run(rt, x)


def _run(rt: Runtime, x: np.ndarray) -> np.ndarray:
    """Outputs of every sample (float64), then the runtime closed."""
    from bench.infer import infer_all

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
        rise = f"{100 * (mse_c / mse_s - 1):.1f}%" if mse_s > 0 else "from 0"  # an exact source: no percentage
        new.append(f"{precision} model's MSE rises {rise} ({mse_s:.4g} -> {mse_c:.4g}); likely cause: {likely_cause}")
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


@dataclass(frozen=True)
class Subject:
    """A source model and its conversion, and the runtime options both are run with."""

    source: Path
    source_format: str
    converted: Path
    converted_format: str
    runtime_options: RuntimeOptions


def measure_or_defer(
    subject: Subject,
    x: np.ndarray,
    y: Optional[np.ndarray],
    model_type: str,
    inputs: str,
    *,
    reference_dir: Path,
    meta: Dict[str, Any],
    keep: int,
) -> Dict[str, Any]:
    """Run both models on ``x`` and compare (``status`` checked); or, when the converted model's runtime cannot
    be opened here, store the source's outputs on the first ``keep`` samples in ``reference_dir`` (``status``
    unchecked, with the reason). Both run without the user's delegate: this is the conversion's fidelity."""
    ro = replace(subject.runtime_options, delegate=None)
    shape = (1,) + tuple(x.shape[1:])
    try:
        converted_rt: Optional[Runtime] = open_runtime(subject.converted, subject.converted_format, ro, shape)
        missing = None
    except FrameworkUnavailable as exc:
        converted_rt, missing = None, exc
    if missing is not None:
        k = max(1, min(len(x), int(keep)))
        x, y = x[:k], (y[:k] if y is not None else None)
    try:
        ref = _run(open_runtime(subject.source, subject.source_format, ro, shape), x)
    except FrameworkUnavailable as exc:
        if converted_rt is not None:
            converted_rt.close()
        return _unchecked(f"the source model cannot run here ({exc.problem}); nothing to compare with", inputs)
    if converted_rt is None:
        name = f"fidelity_reference_{hashlib.sha256(str(meta.get('samples_key')).encode()).hexdigest()[:12]}.npz"
        path = write_reference(
            Path(reference_dir) / name, x, ref, y, {**meta, "model_type": model_type, "inputs": inputs}
        )
        fid = _unchecked(
            f"the {subject.converted_format} model cannot run on this machine ({missing.problem}); "
            "its outputs are checked on the device at the first run, against the source's stored here",
            inputs,
        )
        fid.update(reference=str(path), reference_samples=int(len(x)))
        return fid
    fid = compare(ref, _run(converted_rt, x), y, model_type, inputs)
    fid["status"] = CHECKED
    return fid


def _unchecked(reason: str, inputs: str) -> Dict[str, Any]:
    return {"status": UNCHECKED, "reason": reason, "inputs": inputs, "samples": 0, "reference": None, "warnings": []}


def to_manifest(fid: Dict[str, Any]) -> Dict[str, Any]:
    """The fidelity as stored in a cache manifest: no ``reused``, the reference by its name inside the entry."""
    d = {k: v for k, v in fid.items() if k != "reused"}
    if d.get("reference"):
        d["reference"] = Path(d["reference"]).name
    return d


def from_manifest(stored: Optional[Dict[str, Any]], entry_dir: Path) -> Optional[Dict[str, Any]]:
    """A stored fidelity, ready to reuse, or None when it must be computed again (absent, or its reference lost)."""
    if stored is None:
        return None
    fid = dict(stored)
    fid["warnings"] = list(fid.get("warnings", []))
    fid.setdefault("status", CHECKED)  # entries written before deferral existed were always checked
    if fid.get("reference"):
        path = Path(entry_dir) / fid["reference"]
        if not path.is_file():
            return None
        fid["reference"] = str(path)
    return fid


# -------------------------------------------------------------------------------- the reference, checked on device


@dataclass(frozen=True)
class Reference:
    """Inputs and the source model's outputs on them, stored with a conversion whose fidelity waits for the device."""

    path: Path
    x: np.ndarray
    outputs: np.ndarray
    y: Optional[np.ndarray]
    meta: Dict[str, Any]


def write_reference(path: Path, x: np.ndarray, ref: np.ndarray, y: Optional[np.ndarray], meta: Dict[str, Any]) -> Path:
    """Write the reference .npz atomically (a temporary file, then one rename)."""
    arrays = {"x": np.asarray(x), "outputs": np.asarray(ref), "meta": np.array(json.dumps(meta, sort_keys=True))}
    if y is not None:
        arrays["y"] = np.asarray(y)
    fd, tmp = tempfile.mkstemp(prefix=".reference-", suffix=".npz", dir=str(path.parent))
    with os.fdopen(fd, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return path


def load_reference(path: Path, artifact_sha256: Optional[str] = None) -> Reference:
    """Read a stored reference (no pickles); InputError when it is unreadable or made for another model."""
    path = Path(path)
    fix = "pass the fidelity_reference_*.npz stored with this conversion (in its cache entry)"
    if not path.is_file():
        raise InputError(f"fidelity reference {path} not found", fix)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            ref = Reference(path, npz["x"], npz["outputs"], npz["y"] if "y" in npz.files else None, meta)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"fidelity reference {path} could not be read: {exc}", fix) from exc
    want = meta.get("artifact_sha256")
    if artifact_sha256 and want and want != artifact_sha256:
        raise InputError(
            f"fidelity reference {path} belongs to another model (sha256 {want[:12]}, this one {artifact_sha256[:12]})",
            fix,
        )
    return ref


def check_reference(runtime: Runtime, reference: Reference) -> Dict[str, Any]:
    """Run the stored inputs through ``runtime`` (loaded, with the device's delegate), compare with the source's
    outputs and enforce the conversion's tolerance (FidelityError for fp32). Untimed; call it after measuring."""
    from bench.infer import infer_all

    meta = reference.meta
    out = np.asarray(infer_all(runtime, reference.x), dtype=np.float64)
    ref = np.asarray(reference.outputs, dtype=np.float64)
    fid = compare(ref, out, reference.y, meta.get("model_type", "classification"), meta.get("inputs", "data"))
    precision = meta.get("precision", "fp32")
    tolerance = float(meta.get("tolerance") or FIDELITY_TOLERANCE)
    fid.update(
        status=CHECKED,
        checked_at="on the device, after the first run",
        reference=str(reference.path),
        precision=precision,
        tolerance=tolerance if precision == "fp32" else None,
    )
    check(fid, precision, tolerance=tolerance, likely_cause=meta.get("likely_cause", ""))
    return fid
