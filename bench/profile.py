"""``--profile``: where the time goes inside the model, one normalized table per record (``record["profile"]``).

Each runtime that can profile implements two optional methods (``options.extra["profile"]`` is set at load):
``profile_start()`` (called by the harness's phase hook when the measured runs begin, never inside a timed region)
and ``profile_rows()`` (after the measurement: raw rows ``{"name", "type", "calls", "total_ms"}``). Sources:

* ONNX Runtime: ``SessionOptions.enable_profiling`` and ``InferenceSession.end_profiling()``'s JSON (Chrome trace);
  ``cat == "Node"`` events named ``<node>_kernel_time`` with ``args.op_name``, only those of the measured runs
  (``ts`` in µs after ``get_profiling_start_time_ns()``).
* PyTorch: ``torch.profiler.profile`` (CPU activity) started at the measured runs; each leaf module is wrapped in a
  ``record_function`` named after it (hooks registered only when profiling), so rows are the model's layers.
* TensorRT: an ``IProfiler`` subclass set as ``context.profiler``; ``execute_v2`` reports each layer's time through
  ``report_layer_time(layer_name, ms)`` (NVIDIA/TensorRT ``python/src/infer/pyCore.cpp`` at 8.2.1 and v10.3.0:
  ``IProfiler``, ``IExecutionContext.profiler``). Contract-level here: no GPU on the development machine.
* TFLite/LiteRT, Coral, ARM NN: the Python interpreter exposes no op profiler (ai-edge-litert 2.3.0's
  ``Interpreter`` has no call that attaches a profiler or reads one; its ``experimental_force_delegate_node_profiling``
  only changes what a profiler attached from C++ sees; op profiling is the C++ ``benchmark_model
  --enable_op_profiling`` tool's), so the record says "not available for this runtime" and the run is not profiled.

A profiled run's latencies include the profiler's overhead: the record is flagged (``profiled: True`` and a warning)
and :mod:`bench.config_summary` keeps profiled records apart from unprofiled ones.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

log = logging.getLogger(__name__)

#: rows kept in the record (the whole table for small models); the report prints TOP_N
MAX_ROWS = 50
TOP_N = 5
WARNING = (
    "profiled run: latencies include the profiler's overhead; compared only with other profiled runs, never pooled "
    "with unprofiled ones"
)


def supported(rt: Any) -> bool:
    return callable(getattr(rt, "profile_rows", None))


def not_available(runtime_name: str) -> Dict[str, Any]:
    return {
        "profiled": False,
        "requested": True,
        "unavailable": f"per-operator profiling is not available for this runtime ({runtime_name})",
    }


def normalize(rows: List[Dict[str, Any]], max_rows: int = MAX_ROWS) -> List[Dict[str, Any]]:
    """Rows merged by (name, type), sorted by total time, each with its share of the summed time."""
    merged: Dict[tuple, Dict[str, Any]] = {}
    for r in rows:
        key = (str(r["name"]), str(r.get("type") or ""))
        m = merged.setdefault(key, {"name": key[0], "type": key[1], "calls": 0, "total_ms": 0.0})
        m["calls"] += int(r.get("calls", 1))
        m["total_ms"] += float(r["total_ms"])
    total = sum(m["total_ms"] for m in merged.values())
    out = sorted(merged.values(), key=lambda m: -m["total_ms"])
    for m in out:
        m["share"] = m["total_ms"] / total if total > 0 else 0.0
    return out[:max_rows]


def collect(rt: Any) -> Dict[str, Any]:
    """``record["profile"]`` after the measurement (untimed); a runtime without a profiler says so."""
    if not supported(rt):
        return not_available(rt.name)
    try:
        rows = rt.profile_rows()
    except Exception as exc:  # the measurement stands; the profile is what failed
        log.warning("profile could not be read: %s", exc)
        return {"profiled": True, "unavailable": f"profile could not be read: {type(exc).__name__}: {exc}"}
    ops = normalize(rows)
    return {
        "profiled": True,
        "runtime": rt.name,
        "source": getattr(rt, "profile_source", rt.name),
        "ops": ops,
        "rows_total": len({(str(r["name"]), str(r.get("type") or "")) for r in rows}),
        "total_ms": sum(float(r["total_ms"]) for r in rows),
    }


def phase_listener(rt: Any) -> Any:
    """A harness phase listener that starts the runtime's profiler when the measured runs begin."""

    def listener(name: str) -> None:
        if name == "measure" and callable(getattr(rt, "profile_start", None)):
            rt.profile_start()

    return listener


def top_text(profile: Dict[str, Any], n: int = TOP_N) -> List[str]:
    """``top op: name (type): 1.23 ms total, 45.6%, 100 calls`` for the top ``n`` rows (report)."""
    if not profile:
        return []
    if profile.get("unavailable"):
        return [f"profile: {profile['unavailable']}"]
    lines = []
    for op in (profile.get("ops") or [])[:n]:
        kind = f" ({op['type']})" if op.get("type") else ""
        lines.append(
            f"top op: {op['name']}{kind}: {op['total_ms']:.3f} ms total, {100 * op['share']:.1f}%, {op['calls']} calls"
        )
    return lines
