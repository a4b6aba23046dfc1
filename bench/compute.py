"""Achieved GOP/s and the share of the device's peak, for ``record["compute"]``.

Where each number comes from:

* ``macs``/``ops``: :mod:`bench.opcount` on the measured model's graph (ONNX or TFLite); for a model without a
  countable graph, the graph it was converted from (``conversion.source_model``), else the runtime's own counter
  (PyTorch: ``torch.utils.flop_counter.FlopCounterMode`` on one batch-1 forward pass). ``ops = 2 * macs``.
* ``gops_per_s``: ``ops / invoke p50`` (the runtime call alone, the record's median).
* ``peak_gops``: :mod:`bench.peaks` (published or derived, with its source); for a CPU the table does not know
  (this x86 machine, an unknown board), a measured peak: :func:`measure_cpu_peak`, a dense float32 matrix product in
  this image's numpy/BLAS, run BEFORE the measurement (:func:`before_measurement`), never during it, once per process.
* ``pct_of_peak``: ``100 * gops_per_s / peak_gops``, only when the peak is for the same device and precision; an int8
  model on a CPU without an int8 peak gets ``peak_unavailable`` ("no int8 peak for this CPU"), never a fp32 share.

Everything here runs outside the timed window; a failure leaves ``{"unavailable": reason}``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Dict, Optional

from bench import formats, peaks

log = logging.getLogger(__name__)

#: the measured CPU peak: square matrices of up to this size, repeated for TRIAL_S seconds, best of TRIALS
PEAK_N = 1024
PEAK_MIN_N = 256
PEAK_TRIAL_S = 0.1
PEAK_TRIALS = 5
_MEASURED: Dict[str, Any] = {}  # per process: the first measurement is reused

_COUNTABLE = (formats.ONNX, formats.TFLITE, formats.EDGETPU_TFLITE)


def device_of(framework: str, delegate: Optional[str], runtime: Dict[str, Any]) -> str:
    """cpu, gpu or tpu: where the runtime's arithmetic runs."""
    if framework == "tensorrt" or any("CUDA" in p or "Tensorrt" in p for p in runtime.get("providers") or []):
        return "gpu"
    if framework == "coral" or delegate == "edgetpu" or runtime.get("delegate") == "edgetpu":
        return "tpu"
    return "cpu"


def _board(machine: Dict[str, Any]) -> Dict[str, Any]:
    return machine.get("board") or {}


def needs_measured_peak(machine: Dict[str, Any], framework: str, delegate: Optional[str]) -> bool:
    """True when the run is on a CPU the peaks table does not know (then the peak is measured before the run)."""
    if device_of(framework, delegate, {}) != "cpu":
        return False
    board = _board(machine)
    return not any(peaks.lookup(board.get("id", ""), board.get("model", ""), "cpu", p) for p in peaks.PRECISIONS)


def measure_cpu_peak(n: int = PEAK_N, trial_s: float = PEAK_TRIAL_S, trials: int = PEAK_TRIALS) -> Dict[str, Any]:
    """Best fp32 GOP/s of ``n x n`` matrix products in numpy's BLAS over ``trials`` windows of ``trial_s`` s each."""
    import numpy as np

    rng = np.random.default_rng(0)
    size = min(n, PEAK_MIN_N) // 2
    while True:  # the size grows until one product takes 50 ms (an emulated CPU stays small), at most ``n``
        size *= 2
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        out = np.empty((size, size), dtype=np.float32)
        np.matmul(a, b, out=out)  # first call: thread pool and page faults, not timed
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        if time.perf_counter() - start >= 0.05 or size * 2 > n:
            break
    n = size
    best = 0.0
    for _ in range(trials):
        reps, start = 0, time.perf_counter()
        while True:
            np.matmul(a, b, out=out)
            reps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= trial_s:
                break
        best = max(best, 2.0 * n**3 * reps / elapsed / 1e9)
    return {
        "gops": best,
        "method": f"numpy {np.__version__} float32 matmul {n}x{n}, best of {trials} x {trial_s:g} s",
        "blas": _blas_name(np),
    }


def _blas_name(np: Any) -> str:
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.25
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy prints instead of returning; the name is a nicety
        return "unknown"


def before_measurement(machine: Dict[str, Any], framework: str, delegate: Optional[str]) -> None:
    """Measure the CPU peak now (before the timed run) when the table has none for this CPU; cached per process."""
    if _MEASURED or not needs_measured_peak(machine, framework, delegate):
        return
    try:
        _MEASURED.update(measure_cpu_peak())
        log.info("CPU peak measured before the run: %.1f GOP/s fp32 (%s)", _MEASURED["gops"], _MEASURED["method"])
    except Exception as exc:  # a peak is a nicety; the run goes on without one
        _MEASURED["error"] = f"{type(exc).__name__}: {exc}"


def measured_peak() -> Dict[str, Any]:
    """The cached measured CPU peak (empty when none was measured in this process)."""
    return dict(_MEASURED)


# ---------------------------------------------------------------- counting and precision


def count_ops(rt: Any, model_path: Path, fmt: str, conversion: Dict[str, Any]) -> Dict[str, Any]:
    """MACs per inference (see the module docstring for the order of sources); {"unavailable": reason} if none."""
    from bench import opcount

    candidates = [(Path(model_path), fmt, "")]
    src = conversion.get("source_model") or {}
    if src.get("path"):
        candidates.append((Path(src["path"]), str(src.get("format") or ""), " (of the source model)"))
    reasons = []
    for path, f, suffix in candidates:
        if f not in _COUNTABLE or not path.exists():
            continue
        try:
            res = opcount.count(path, f)
        except Exception as exc:  # UnsupportedModelError, a parser's error: try the next source
            reasons.append(f"{path.name}: {exc}")
            continue
        if res["macs"] > 0:
            return {**res, "source": res["source"] + suffix}
        reasons.append(f"{path.name}: no counted operators (compiled into a custom op?)")
    counter = getattr(rt, "count_macs", None)
    if counter is not None:
        try:
            res = counter()
            if res and res.get("macs", 0) > 0:
                return res
        except Exception as exc:
            reasons.append(f"{rt.name} counter: {type(exc).__name__}: {exc}")
    return {"unavailable": "; ".join(reasons) or f"no ONNX or TFLite graph to count for a {fmt} model"}


def precision_of(framework: str, device: str, runtime: Dict[str, Any], model_path: Path, fmt: str) -> Dict[str, str]:
    """{"precision": fp32|fp16|int8, "note"?}: the arithmetic precision the device runs the model in."""
    if device == "tpu":
        return {"precision": "int8"}
    if framework in ("tensorrt", "openvino", "ncnn"):  # the runtime reports what it computes in
        return {"precision": str(runtime.get("precision") or "fp32")}
    if fmt in (formats.TFLITE, formats.EDGETPU_TFLITE):
        weights = tflite_weight_dtype(model_path)
        if weights in ("int8", "uint8"):
            return {"precision": "int8"}
        if weights == "float16":
            return {"precision": "fp32", "note": "fp16 weights, dequantized to fp32 by the CPU kernels"}
    return {"precision": "fp32"}


def tflite_weight_dtype(path: Path) -> str:
    """dtype of the first convolution or dense filter in a TFLite model ("" when none is found)."""
    from bench.runtimes.tflite import interpreter_module

    _, mod, _ = interpreter_module()
    interp = mod.Interpreter(model_path=str(path))
    details = getattr(interp, "_get_ops_details", None)
    if details is None:
        return ""
    dtypes = {t["index"]: getattr(t["dtype"], "__name__", str(t["dtype"])) for t in interp.get_tensor_details()}
    for op in details():
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op["inputs"]) > 1:
            return dtypes.get(int(op["inputs"][1]), "")
    return ""


# ---------------------------------------------------------------- the record section


def _peak_for(machine: Dict[str, Any], device: str, precision: str) -> Dict[str, Any]:
    board = _board(machine)
    bid, model = board.get("id", ""), board.get("model", "")
    p = peaks.lookup(bid, model, device, precision)
    if p is not None:
        gops, formula = peaks.scaled_to_clock(p, (machine.get("cpu") or {}).get("max_freq_mhz"))
        out = {"peak_gops": gops, "peak_source": p.source, "peak_kind": p.kind}
        if formula:
            out["peak_formula"] = formula
        if p.note:
            out["peak_note"] = p.note
        return out
    if device == "cpu" and not any(peaks.lookup(bid, model, "cpu", q) for q in peaks.PRECISIONS):
        m = measured_peak()
        if precision == "fp32" and m.get("gops"):
            return {
                "peak_gops": m["gops"],
                "peak_source": f"{m['method']}, BLAS {m['blas']}, before the run",
                "peak_kind": peaks.MEASURED,
            }
        if precision != "fp32":
            return {"peak_unavailable": f"no {precision} peak for this CPU (only a measured fp32 peak)"}
        return {"peak_unavailable": "the CPU peak was not measured: " + m.get("error", "no measurement in this run")}
    what = "CPU" if device == "cpu" else device.upper()
    return {"peak_unavailable": f"no {precision} peak for this {what} ({bid} {model}) in bench/peaks.py"}


def section(
    counts: Dict[str, Any], invoke_p50_ms: float, machine: Dict[str, Any], device: str, precision: Dict[str, str]
) -> Dict[str, Any]:
    """``record["compute"]`` from the counts, the invoke median and the peak lookup."""
    if "unavailable" in counts:
        return {"unavailable": counts["unavailable"], "device": device, **precision}
    ops = int(counts["ops"])
    gops = ops / (invoke_p50_ms / 1e3) / 1e9 if invoke_p50_ms > 0 else None
    out: Dict[str, Any] = {
        "macs": int(counts["macs"]),
        "ops": ops,
        "by_type": counts.get("by_type", {}),
        "source": counts["source"],
        "gops_per_s": gops,
        "invoke_p50_ms": invoke_p50_ms,
        "device": device,
        **precision,
        "peak_gops": None,
        "peak_source": None,
        "peak_kind": None,
        "pct_of_peak": None,
    }
    out.update(_peak_for(machine, device, precision["precision"]))
    if out["peak_gops"] and gops is not None:
        out["pct_of_peak"] = 100.0 * gops / out["peak_gops"]
        if out["pct_of_peak"] > 100.0 and out["peak_kind"] == peaks.MEASURED:
            out["peak_note"] = (
                "above 100%: numpy's matrix product is slower than this runtime's kernels, or the "
                "peak was measured while other programs loaded the CPU"
            )
    return out
