"""Latency statistics from raw samples. Standard library only, so reports need no numpy."""

from __future__ import annotations

import math
from typing import Dict, Sequence

#: coefficient of variation above which a run is flagged as noisy
HIGH_CV = 0.10


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Percentile ``q`` (0-100) by linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def summarize_ns(samples_ns: Sequence[int]) -> Dict[str, float]:
    """Summary of latencies given in integer nanoseconds, reported in milliseconds.

    ``std_ms`` is the sample standard deviation (n - 1); ``cv`` is std / mean; ``throughput_per_s``
    is 1000 / mean_ms (one inference at a time, batch size 1).
    """
    n = len(samples_ns)
    if n == 0:
        raise ValueError("no latency samples")
    ms = sorted(s / 1e6 for s in samples_ns)
    mean = math.fsum(ms) / n
    var = math.fsum((v - mean) ** 2 for v in ms) / (n - 1) if n > 1 else 0.0
    std = math.sqrt(var)
    return {
        "count": n,
        "mean_ms": mean,
        "std_ms": std,
        "min_ms": ms[0],
        "max_ms": ms[-1],
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "throughput_per_s": 1000.0 / mean if mean > 0 else float("inf"),
        "cv": std / mean if mean > 0 else 0.0,
    }
