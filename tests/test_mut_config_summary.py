"""A group's early-stopping figures (mutation run of bench/config_summary.py): the median of the runs' estimates and
the fewest queries among runs that have one, on records written by hand."""

from __future__ import annotations

from typing import Any, Dict, Optional

from bench import config_summary


def _rec(est: Optional[float], queries: int, p50: float = 1.0) -> Dict[str, Any]:
    es = {"estimate_ms": est, "queries": queries} if est is not None or queries else None
    return {
        "framework": "onnx",
        "status": "ok",
        "latency": {"invoke": {"p50_ms": p50}, "early_stopping": es},
    }


def test_early_stopping_figures_by_hand() -> None:
    recs = [_rec(2.0, 900), _rec(None, 50), _rec(4.0, 700), _rec(3.5, 800), {**_rec(9.0, 10), "status": "failed"}]
    s = config_summary.summarize_group(("", "b", "m", "onnx"), recs)
    assert s.early_stopping_p90_ms == 3.5  # median of 2.0, 3.5, 4.0 (the failed run is left out)
    assert s.early_stopping_queries == 700  # fewest among runs with an estimate (50 has none)
    s = config_summary.summarize_group(("", "b", "m", "onnx"), [_rec(2.0, 900), _rec(5.0, 600)])
    assert s.early_stopping_p90_ms == 3.5 and s.early_stopping_queries == 600
    s = config_summary.summarize_group(("", "b", "m", "onnx"), [_rec(None, 0)])
    assert s.early_stopping_p90_ms is None and s.early_stopping_queries is None


def _computed(ops: float, peak: float, kind: Optional[str] = None) -> Dict[str, Any]:
    compute: Dict[str, Any] = {"ops": ops, "peak_gops": peak}
    if kind:
        compute["peak_kind"] = kind
    return {**_rec(None, 0, p50=1.0), "compute": compute}


def test_a_share_just_above_the_peak_is_an_error_and_exactly_the_peak_is_not() -> None:
    # 50.25e6 operations in 1 ms = 50.25 GOP/s against a 50 GOP/s peak: 100.5 %
    s = config_summary.summarize_group(("", "b", "m", "onnx"), [_computed(50.25e6, 50.0)])
    assert s.gops_per_s == 50.25 and s.pct_of_peak is None
    assert s.peak_error.startswith("above 100% of the peak (100% of a unknown peak) is impossible")
    s = config_summary.summarize_group(("", "b", "m", "onnx"), [_computed(50.25e6, 50.0, "derived")])
    assert "of a derived peak" in s.peak_error
    s = config_summary.summarize_group(("", "b", "m", "onnx"), [_computed(50e6, 50.0)])
    assert s.pct_of_peak == 100.0 and s.peak_error in (None, "")
