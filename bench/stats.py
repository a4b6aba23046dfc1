"""Latency statistics from raw samples. Standard library only, so reports need no numpy.

Beside mean and standard deviation (kept: a latency distribution has a long right tail, so they move with a few
slow runs), the robust figures pytest-benchmark reports: quartiles and IQR, the Tukey outlier count (samples beyond
1.5 IQR from the quartiles) and a seeded bootstrap 95% interval of the median. The noise warning
(:func:`noise_warning`) uses those, not the coefficient of variation, which fires on nearly every run of a
sub-millisecond model (a handful of scheduler hiccups double the std and leave the median alone).
"""

from __future__ import annotations

import math
import random
from typing import Dict, List, Optional, Sequence

#: coefficient of variation above which a run used to be flagged as noisy; ``cv`` stays in the record, the warning
#: now comes from :func:`noise_warning`
HIGH_CV = 0.10
#: Tukey's fences: outside [Q1 - k IQR, Q3 + k IQR] is an outlier
TUKEY_K = 1.5
#: bootstrap of the median: resamples and seed (recorded with the interval)
MEDIAN_CI_B = 2000
MEDIAN_CI_SEED = 20_240_601
#: noise warning: the median's 95% interval wider than this share of the median, or more slow runs than this share
MAX_CI_WIDTH = 0.05
MAX_SLOW_SHARE = 0.10
#: a slow run takes at least this many times the median: what another program taking the core does to a run (a time
#: slice is milliseconds, a run of a small model microseconds). Not Tukey's outliers: on a quiet machine a
#: sub-millisecond model's IQR is 0.5 to 4 % of its median, so its fences sit microseconds out and 4 to 27 % of the
#: digits demo's runs fell beyond them (measured here at load 1); at most 2.5 % of those runs took twice the median,
#: while up to 12 % of PyTorch's took 1.5x (its two threads on two cores wait on each other)
SLOW_FACTOR = 2.0
NOISE_ADVICE = "close other programs, pin the governor to performance, or raise --min-time-s"


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
        **robust(ms),
    }


def robust(sorted_ms: Sequence[float], b: int = MEDIAN_CI_B, seed: int = MEDIAN_CI_SEED) -> Dict[str, float]:
    """Quartiles, IQR, Tukey outliers (count and share), the share of slow runs (``SLOW_FACTOR`` x the median or more)
    and the bootstrap 95% interval of the median."""
    q1, q3 = percentile(sorted_ms, 25), percentile(sorted_ms, 75)
    iqr = q3 - q1
    lo_fence, hi_fence = q1 - TUKEY_K * iqr, q3 + TUKEY_K * iqr
    outliers = sum(1 for v in sorted_ms if v < lo_fence or v > hi_fence)
    slow_from = SLOW_FACTOR * percentile(sorted_ms, 50)
    slow = sum(1 for v in sorted_ms if v >= slow_from)
    ci_low, ci_high = median_interval(sorted_ms, b, seed)
    return {
        "q1_ms": q1,
        "q3_ms": q3,
        "iqr_ms": iqr,
        "outliers": outliers,
        "outlier_share": outliers / len(sorted_ms),
        "slow_share": slow / len(sorted_ms),
        "median_ci_low_ms": ci_low,
        "median_ci_high_ms": ci_high,
        "median_ci_b": b,
        "median_ci_seed": seed,
    }


def bootstrap_median(sorted_xs: Sequence[float], rng: random.Random) -> float:
    """The median of one bootstrap resample (n draws with replacement) of ``sorted_xs``, without building it.

    The k-th smallest of n iid Uniform(0,1) is Beta(k, n+1-k); the next one is that value plus
    (1 - it) * Beta(1, n-k). Draw index floor(n*u) of the sorted pool maps order statistics to order statistics.
    Used by :func:`median_interval` and by bench.config_summary's speedup interval.
    """
    n = len(sorted_xs)
    k = (n + 1) // 2  # 1-based rank of the (lower) middle element
    u = rng.betavariate(k, n + 1 - k)
    lo = sorted_xs[min(n - 1, int(n * u))]
    if n % 2:
        return lo
    u2 = u + (1.0 - u) * rng.betavariate(1, n - k)
    return (lo + sorted_xs[min(n - 1, int(n * u2))]) / 2.0


def median_interval(sorted_xs: Sequence[float], b: int = MEDIAN_CI_B, seed: int = MEDIAN_CI_SEED) -> tuple:
    """Percentile-bootstrap 95% interval of the median of ``sorted_xs`` (sorted ascending), ``b`` resamples drawn
    from ``random.Random(seed)``."""
    if len(sorted_xs) == 1:
        return sorted_xs[0], sorted_xs[0]
    rng = random.Random(seed)
    medians: List[float] = sorted(bootstrap_median(sorted_xs, rng) for _ in range(b))
    return percentile(medians, 2.5), percentile(medians, 97.5)


def noise_warning(s: Dict[str, float]) -> Optional[str]:
    """A warning naming what is noisy and what to do, or None. ``s``: a :func:`summarize_ns` result."""
    median = s["p50_ms"]
    width = (s["median_ci_high_ms"] - s["median_ci_low_ms"]) / median if median > 0 else 0.0
    problems = []
    if width > MAX_CI_WIDTH:
        problems.append(f"the median's 95% interval spans {100 * width:.1f}% of the median (over {MAX_CI_WIDTH:.0%})")
    slow = s.get("slow_share", 0.0)  # absent in records written before it was kept
    if slow > MAX_SLOW_SHARE:
        problems.append(
            f"{100 * slow:.1f}% of runs took {SLOW_FACTOR:g}x the median or more (over {MAX_SLOW_SHARE:.0%})"
        )
    if not problems:
        return None
    return "latency is noisy: " + " and ".join(problems) + "; " + NOISE_ADVICE
