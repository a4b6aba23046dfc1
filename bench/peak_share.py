"""Achieved GOP/s and the share of the device's peak, for ``record["compute"]``.

Where each number comes from:

* ``macs``/``ops``: :mod:`bench.opcount` on the measured model's graph (ONNX or TFLite); for a model without a
  countable graph, the graph it was converted from (``conversion.source_model``), else a count the conversion made on
  its source module (``conversion.chain[].options.macs``: ExecuTorch from a state_dict), else the runtime's own counter
  (PyTorch: ``torch.utils.flop_counter.FlopCounterMode`` on one batch-1 forward pass). ``ops = 2 * macs``.
* ``gops_per_s``: ``ops / invoke p50`` (the runtime call alone, the record's median).
  An Edge TPU model is counted from the model it was compiled from (its own graph holds only the CPU remainder); a
  graph with symbolic input dimensions is counted at the shape of the data it runs on, never at a guessed one.
* ``peak_gops``: :mod:`bench.peaks` (published or derived, at the board's reported clock, with its source); for a CPU
  the table does not know (this x86 machine, an unknown board), the measured peak :mod:`bench.cpupeak` cached once
  per machine (never measured in the run's process), with the derived theoretical one beside it where known.
* ``pct_of_peak``: ``100 * gops_per_s / peak_gops``, only when the peak is for the same device and precision; an int8
  model on a CPU without an int8 peak gets ``peak_unavailable`` ("no int8 peak for this CPU"), never a fp32 share.
  A share above 100 % is impossible: it is recorded as ``peak_error`` naming its cause, never as a share.

Everything here runs outside the timed window; a failure leaves ``{"unavailable": reason}``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import formats, peaks

log = logging.getLogger(__name__)

_COUNTABLE = (formats.ONNX, formats.TFLITE, formats.EDGETPU_TFLITE)


def device_of(framework: str, delegate: Optional[str], runtime: Dict[str, Any]) -> str:
    """cpu, gpu, tpu or npu: where the runtime's arithmetic runs (the runtime's and its delegate's ``device``; ONNX
    Runtime on a GPU execution provider)."""
    from bench import runtimes

    if any("CUDA" in p or "Tensorrt" in p for p in runtime.get("providers") or []):
        return "gpu"
    return runtimes.device_of(framework, delegate, runtime.get("delegate"))


def _board(machine: Dict[str, Any]) -> Dict[str, Any]:
    return machine.get("board") or {}


# ---------------------------------------------------------------- counting and precision


def _sources(model_path: Path, fmt: str, conversion: Dict[str, Any]) -> List[Tuple[Path, str, str]]:
    """The graphs to count, in order: the measured model, then what it was converted from (the last conversion
    step's input, then the source model). An Edge TPU model is skipped: the part the Edge TPU runs is compiled into
    one custom operator, so its own graph holds only the CPU remainder, not the model's work."""
    out = [] if fmt == formats.EDGETPU_TFLITE else [(Path(model_path), fmt, "")]
    for step in reversed([s for s in conversion.get("chain") or [] if isinstance(s, dict)]):
        artifact = step.get("artifact")  # each conversion step's output; the last one is the measured model
        if artifact and Path(artifact) != Path(model_path):
            out.append((Path(artifact), str(step.get("to") or ""), " (of the model it was converted from)"))
    src = conversion.get("source_model") or {}
    if src.get("path"):
        out.append((Path(src["path"]), str(src.get("format") or ""), " (of the source model)"))
    return out


def count_ops(
    rt: Any, model_path: Path, fmt: str, conversion: Dict[str, Any], input_shape: Optional[List[int]] = None
) -> Dict[str, Any]:
    """MACs per inference (see the module docstring for the order of sources); {"unavailable": reason} if none.

    ``input_shape``: the shape the model runs with (batch first), for graphs with symbolic input dimensions."""
    from bench import opcount

    reasons = ["the Edge TPU's share is compiled into edgetpu-custom-op"] if fmt == formats.EDGETPU_TFLITE else []
    for path, f, suffix in _sources(model_path, fmt, conversion):
        if f not in _COUNTABLE or not path.exists():
            continue
        try:
            res = opcount.count(path, f, input_shape)
        except Exception as exc:  # UnsupportedModelError, a parser's error: try the next source
            reasons.append(f"{path.name}: {exc}")
            continue
        if res["macs"] > 0:
            return {**res, "source": res["source"] + suffix}
        reasons.append(f"{path.name}: no counted operators (compiled into a custom op?)")
    for step in conversion.get("chain") or []:  # counted by the conversion on its source module (executorch_edge)
        made = (step.get("options") or {}).get("macs") or {}
        if made.get("macs", 0) > 0:
            return {**made, "source": f"{made['source']} (at conversion)"}
    counter = getattr(rt, "count_macs", None)
    if counter is not None:
        try:
            res = counter()
            if res and res.get("macs", 0) > 0:
                return res
        except Exception as exc:
            reasons.append(f"{rt.name} counter: {type(exc).__name__}: {exc}")
    return {"unavailable": "; ".join(reasons) or f"no ONNX or TFLite graph to count for a {fmt} model"}


def precision_of(
    framework: str, device: str, runtime: Dict[str, Any], model_path: Path, fmt: str, counted_precision: str = ""
) -> Dict[str, str]:
    """{"precision": fp32|fp16|int8, "note"?}: the arithmetic precision the device runs the model in.

    ``counted_precision``: the precision most of the counted MACs are in (bench.opcount's ``precision``)."""
    if device == "tpu":
        return {"precision": "int8"}
    if _reports_precision(framework):  # the runtime reports what it computes in
        return {"precision": str(runtime.get("precision") or "fp32")}
    if counted_precision == "int8":  # quantized ONNX operators (QLinearConv, MatMulInteger, ...)
        return {"precision": "int8"}
    if fmt in (formats.TFLITE, formats.EDGETPU_TFLITE):
        weights = tflite_weight_dtype(model_path)
        if weights in ("int8", "uint8"):
            return {"precision": "int8"}
        if weights == "float16":
            return {"precision": "fp32", "note": "fp16 weights, dequantized to fp32 by the CPU kernels"}
    return {"precision": "fp32"}


def _reports_precision(framework: str) -> bool:
    from bench import runtimes

    cls = runtimes.find(framework)
    return bool(cls is not None and cls.reports_precision)


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


OVER_PEAK = "above 100% of the peak"


def over_peak_error(pct: float, kind: str) -> str:
    """The error a share above 100 % is, with its cause: it is never a result."""
    if kind == peaks.MEASURED:
        cause = (
            "the measured peak understates this CPU (measured while other programs used it, or with a BLAS slower "
            "than this runtime's kernels), or the runtime does the counted MACs with fewer operations (Winograd "
            "convolutions). Fix: `edgebench peaks --measure` on an idle machine"
        )
    else:
        cause = (
            "the count or the peak is wrong (a clock above the one the peak is taken at, or an operator counted "
            "with more MACs than it does). Fix: check `edgebench peaks` and report it"
        )
    return f"{OVER_PEAK} ({pct:.0f}% of a {kind} peak) is impossible: {cause}"


def _measured_cpu_peak(precision: str) -> Dict[str, Any]:
    from bench import cpupeak

    if precision != "fp32":
        return {"peak_unavailable": f"no {precision} peak for this CPU (only a measured fp32 peak)"}
    entry = cpupeak.cached()
    if entry is None:
        return {
            "peak_unavailable": "no measured peak for this CPU: run `edgebench peaks --measure` once on an idle "
            "machine (compare and demo do it when none is cached)"
        }
    out: Dict[str, Any] = {
        "peak_gops": entry["gops"],
        "peak_source": cpupeak.describe(entry),
        "peak_kind": peaks.MEASURED,
        "peak_measured_utc": entry.get("measured_utc"),
    }
    theory = cpupeak.derived_x86()
    if theory:
        out["peak_theoretical_gops"] = theory["gops"]
        out["peak_theoretical_formula"] = theory["formula"]
    return out


def _peak_for(machine: Dict[str, Any], device: str, precision: str) -> Dict[str, Any]:
    applied = peaks.for_machine(machine, device, precision)
    if applied is not None:
        out = {"peak_gops": applied.gops, "peak_source": applied.source, "peak_kind": applied.kind}
        out.update({"peak_formula": applied.formula} if applied.formula else {})
        out.update({"peak_note": applied.note} if applied.note else {})
        if applied.clock_source:
            out.update({"peak_clock_mhz": applied.clock_mhz, "peak_clock_source": applied.clock_source})
        return out
    if device == "cpu" and not peaks.board_knows_cpu(machine):
        return _measured_cpu_peak(precision)
    board = _board(machine)
    bid, model = board.get("id", ""), board.get("model", "")
    if bid == "jetson-orin" and not peaks.orin_memory(machine):
        return {"peak_unavailable": "which Orin Nano module (4 GB or 8 GB) is unknown: the memory size was not read"}
    return {"peak_unavailable": f"no {precision} peak for this {device.upper()} ({bid} {model}) in bench/peaks.py"}


def section(
    counts: Dict[str, Any], invoke_p50_ms: float, machine: Dict[str, Any], device: str, precision: Dict[str, str]
) -> Dict[str, Any]:
    """``record["compute"]`` from the counts, the invoke median and the peak lookup.

    A share above 100 % is not recorded as a share: ``pct_of_peak`` stays None and ``peak_error`` names the cause."""
    if "unavailable" in counts:  # no GOP/s, but what the board is held against is still said
        peak = _peak_for(machine, device, precision["precision"])
        return {"unavailable": counts["unavailable"], "device": device, **precision, **peak}
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
    if counts.get("input_shape"):
        out["input_shape"] = counts["input_shape"]
    out.update(_peak_for(machine, device, precision["precision"]))
    if out["peak_gops"] and gops is not None:
        pct = 100.0 * gops / out["peak_gops"]
        if pct > 100.0:
            out["peak_error"] = over_peak_error(pct, out["peak_kind"])
        else:
            out["pct_of_peak"] = pct
    return out
