"""MLPerf Inference's early-stopping percentile estimate, as LoadGen computes it for SingleStream.

Source: mlcommons/inference, ``loadgen/early_stopping.cc`` (``odds``, ``beta_regularized``,
``hypergeometric_2F1_A1``, ``find_min_passing``) and ``loadgen/results.cc``
(``PerformanceSummary::EarlyStopping``, case ``TestScenario::SingleStream``), read at commit b66003e1.

LoadGen treats each query above the estimate as an "overlatency" event. ``odds(h, t)`` is the chance of at most
``t`` overlatency queries among ``h + t`` when each query is over with probability ``1 - (p - d)``:
``BetaRegularized[p - d, h, 1 + t]``. For t = 1, 2, ... it finds the least ``h`` with ``odds(h, t) < 1 - c``
(confidence ``c`` = 0.99, tolerance ``d`` = 0, percentile ``p`` = 0.9); the run of ``n`` queries needs at least
``h(1) + 1`` of them (64 for the 90th percentile), and the estimate is the sorted latency at index ``n - t`` where
``t`` is the last count with ``h(t) + t <= n``: LoadGen may discard the ``t - 1`` highest latencies.

LoadGen scans t = 2, 3, ... linearly, each time searching h. Because ``odds`` falls as h grows, ``h(t) + t <= n``
holds exactly when ``odds(n - t, t) < 1 - c``, and ``h(t) + t`` grows with t, so the same t is found here by a
binary search over t with one ``odds`` per step (100 000 samples take well under a second instead of minutes).
The arithmetic of ``odds`` is LoadGen's, term for term.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence

#: LoadGen's SingleStream settings (results.cc): 90th percentile, 99 % confidence, tolerance 0
PERCENTILE = 0.9
CONFIDENCE = 0.99
TOLERANCE = 0.0
#: convergence bound of LoadGen's hypergeometric series (early_stopping.cc kTolerance)
SERIES_TOLERANCE = 1.0 / (1 << 33)
SOURCE = "mlcommons/inference loadgen/early_stopping.cc + results.cc (SingleStream)"


def lbeta(x: int, y: int) -> float:
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


def hypergeometric_2f1_a1(b: int, c: int, x: float) -> float:
    """Gauss's 2F1(1, b; c; x), LoadGen's series (converges for c > 0 and b <= 0 or |x| < 1)."""
    term, result, i = 1.0, 1.0, 0
    while abs(term) > SERIES_TOLERANCE:
        term *= (b + i) * x / (c + i)
        result += term
        i += 1
    return result


def beta_regularized(x: float, a: int, b: int) -> float:
    """I_x(a, b) = x^a (1-x)^(b-1) 2F1(1, 1-b; 1+a; x/(x-1)) / (a B(a, b)), as LoadGen writes it."""
    return (
        math.exp(a * math.log(x) + (b - 1) * math.log(1 - x) - lbeta(a, b))
        / a
        * hypergeometric_2f1_a1(1 - b, 1 + a, x / (x - 1))
    )


def odds(h: int, t: int, p: float = PERCENTILE, d: float = TOLERANCE) -> float:
    """Chance of ``t`` or fewer overlatency queries among ``h + t``: BetaRegularized[p - d, h, 1 + t]."""
    return beta_regularized(p - d, h, 1 + t)


def passes(n: int, t: int, p: float = PERCENTILE, d: float = TOLERANCE, c: float = CONFIDENCE) -> bool:
    """LoadGen's ``h(t) + t <= n``: with ``n - t`` queries under and ``t`` over, the odds are below ``1 - c``."""
    return n - t >= 1 and odds(n - t, t, p, d) < 1 - c


def min_queries(p: float = PERCENTILE, d: float = TOLERANCE, c: float = CONFIDENCE) -> int:
    """Queries LoadGen needs for an estimate: ``find_min_passing(1, p, d, c) + 1`` (64 for p90 at 99 %)."""
    h = max(1, math.ceil(math.log(1 - c) / math.log(p - d)))  # odds(h, 1) >= (p-d)^h: no smaller h passes
    while not odds(h, 1, p, d) < 1 - c:
        h += 1
    return h + 1


def discarded_count(n: int, p: float = PERCENTILE, d: float = TOLERANCE, c: float = CONFIDENCE) -> Optional[int]:
    """LoadGen's ``t`` for ``n`` queries (the estimate is the ``t``-th highest latency), or None below the minimum."""
    if n < min_queries(p, d, c):
        return None
    lo, hi = 1, n - 1  # passes(n, lo) holds; find the last t that passes (passes is monotone in t)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if passes(n, mid, p, d, c):
            lo = mid
        else:
            hi = mid - 1
    return lo


def estimate(samples_ns: Sequence[int]) -> Dict[str, Any]:
    """The record's ``early_stopping`` section: the p90 estimate of ``samples_ns`` (LoadGen SingleStream) in ms
    with the number of queries, or the queries still missing."""
    n = len(samples_ns)
    need = min_queries()
    out: Dict[str, Any] = {
        "percentile": PERCENTILE,
        "confidence": CONFIDENCE,
        "tolerance": TOLERANCE,
        "queries": n,
        "min_queries": need,
        "source": SOURCE,
    }
    t = discarded_count(n)
    if t is None:
        out["estimate_ms"] = None
        out["unavailable"] = f"{n} queries; LoadGen's early stopping needs at least {need}"
        return out
    ordered = sorted(samples_ns)
    out["estimate_ms"] = ordered[n - t] / 1e6
    out["discarded"] = t - 1
    return out


def text(section: Dict[str, Any]) -> str:
    """One line for reports: ``p90 (MLPerf early stopping, 99 %) 1.23 ms over 1,234 queries``."""
    if not section:
        return ""
    if section.get("estimate_ms") is None:
        return f"MLPerf early-stopping p90: unavailable ({section.get('unavailable', 'no estimate')})"
    conf = 100 * section.get("confidence", CONFIDENCE)
    return (
        f"MLPerf early-stopping p90 ({conf:.0f}% confidence): {section['estimate_ms']:#.4g} ms "
        f"over {section['queries']:,} queries"
    )


def group_text(sections: Sequence[Dict[str, Any]]) -> str:
    """One line for the runs of one config: the estimate of each run (a range over several), or why there is none."""
    sections = [s for s in sections if s]
    if not sections:
        return ""
    if len(sections) == 1:
        return text(sections[0])
    got = [s for s in sections if s.get("estimate_ms") is not None]
    if not got:
        return text(sections[0])
    est = sorted(s["estimate_ms"] for s in got)
    queries = sorted(s["queries"] for s in got)
    conf = 100 * got[0].get("confidence", CONFIDENCE)
    missing = f"; {len(sections) - len(got)} run(s) too short for one" if len(got) < len(sections) else ""
    return (
        f"MLPerf early-stopping p90 ({conf:.0f}% confidence): {est[0]:#.4g}-{est[-1]:#.4g} ms over "
        f"{queries[0]:,}-{queries[-1]:,} queries ({len(got)} runs){missing}"
    )


def median_estimate_ms(sections: Sequence[Dict[str, Any]]) -> Optional[float]:
    """Median of the runs' estimates (bench.config_summary's summary figure), None when no run has one."""
    est = sorted(s["estimate_ms"] for s in sections if s and s.get("estimate_ms") is not None)
    if not est:
        return None
    mid = len(est) // 2
    return est[mid] if len(est) % 2 else (est[mid - 1] + est[mid]) / 2.0
