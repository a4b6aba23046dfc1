"""bench/config_summary.py pinned down case by case, so a changed comparison fails a test (the mutation audit's survivors).

Records are plain dicts built here with only the fields each case needs; every expected value is computed in the test
(by hand or with numpy / the standard library), never read back from the module under test.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pytest

from bench import config_summary, record_groups
from bench.config_summary import ConfigSummary, summarize


def rec(
    label: Optional[str] = "pytorch",
    raw_ms: Sequence[float] = (),
    *,
    p50: Optional[float] = None,
    board: str = "b1",
    rnd: Any = 0,
    cid: str = "c1",
    baseline: str = "pytorch",
    status: str = "ok",
    error: Optional[str] = None,
    framework: Optional[str] = None,
    labels: Sequence[str] = (),
    profiled: bool = False,
    model_sha: str = "conv",
    source_sha: str = "src",
    **extra: Any,
) -> Dict[str, Any]:
    """A run record as dict; ``p50`` defaults to the median of ``raw_ms``; ``label=None`` leaves out ``compare``."""
    r: Dict[str, Any] = {"framework": framework or (label or "onnx").split("-")[0], "status": status}
    r["machine"] = {"board": {"id": board}}
    if status == "ok":
        if p50 is None and raw_ms:
            p50 = float(np.median(raw_ms))
        r["latency"] = {"invoke": {"p50_ms": p50}, "raw_invoke_ns": [round(v * 1e6) for v in raw_ms]}
        r["model"] = {"path": "/m/x.onnx", "sha256": model_sha}
    else:
        r["error"] = error
    if label is not None:
        r["compare"] = {
            "id": cid,
            "config": label,
            "label": label,
            "round": rnd,
            "baseline": baseline,
            "labels": list(labels),
            "source_model": {"path": "/m/digits_cnn.pth", "sha256": source_sha},
        }
    if profiled:
        r["profile"] = {"profiled": True}
    for k, v in extra.items():
        r[k] = v
    return r


def by_label(out: List[ConfigSummary], label: str, board: str = "b1") -> ConfigSummary:
    (s,) = [s for s in out if s.label == label and s.board == board]
    return s


# --- small helpers ----------------------------------------------------------------------------------------------


def test_value_at_walks_dicts_only() -> None:
    d = {"a": {"b": {"c": 3}}, "n": 5}
    assert record_groups.value_at(d, "a", "b", "c") == 3
    assert record_groups.value_at(d, "a", "x", "c") is None
    assert record_groups.value_at(d, "n", "b") is None
    assert record_groups.value_at(d) is d
    assert record_groups.value_at(None, "a") is None


def test_board_key_prefers_the_fleet_name() -> None:
    assert record_groups.board_key({"fleet": {"board": "nano-1"}, "machine": {"board": {"id": "jetson"}}}) == "nano-1"
    assert record_groups.board_key({"fleet": {"board": ""}, "machine": {"board": {"id": "jetson"}}}) == "jetson"
    assert record_groups.board_key({"machine": {"board": {"id": "rpi5"}}}) == "rpi5"
    assert record_groups.board_key({}) == "unknown"


def test_is_accelerator_by_preset_or_framework() -> None:
    for preset in ("tensorrt-fp32", "tensorrt-fp16", "tensorrt-int8", "coral", "tflite-armnn", "armnn"):
        assert config_summary.is_accelerator(preset)
    for fw in ("tensorrt", "coral", "armnn"):
        assert config_summary.is_accelerator("custom", fw)
    assert not config_summary.is_accelerator("onnx", "onnxruntime")
    assert not config_summary.is_accelerator("tflite-int8")


def test_adhoc_label_parts() -> None:
    assert record_groups.adhoc_label({}) == "?"
    assert record_groups.adhoc_label({"framework": "onnx"}) == "onnx"
    fp32 = {"framework": "tflite", "options": {"convert": {"precision": "fp32"}, "delegate": "xnnpack"}}
    assert record_groups.adhoc_label(fp32) == "tflite"
    dflt = {"framework": "tflite", "runtime": {"delegate": "default"}, "options": {"threads": 0}}
    assert record_groups.adhoc_label(dflt) == "tflite"
    opt = {"framework": "tflite", "options": {"delegate": "armnn", "threads": 4}}
    assert record_groups.adhoc_label(opt) == "tflite-armnn @4t"
    both = {"framework": "tflite", "runtime": {"delegate": "edgetpu"}, "options": {"delegate": "armnn"}}
    assert record_groups.adhoc_label(both) == "tflite-edgetpu"
    fp16 = {"framework": "tensorrt", "options": {"convert": {"precision": "fp16"}, "threads": 1}}
    assert record_groups.adhoc_label(fp16) == "tensorrt-fp16 @1t"


def test_model_name_fallbacks() -> None:
    full = {
        "compare": {"source_model": {"path": "/m/resnet50.fp16.pth"}},
        "conversion": {"source": "/c/conv.onnx"},
        "model": {"path": "/r/run.tflite"},
        "options": {"model": "/o/opt.onnx"},
    }
    assert record_groups.model_name(full) == "resnet50"
    del full["compare"]
    assert record_groups.model_name(full) == "conv"
    del full["conversion"]
    assert record_groups.model_name(full) == "run"
    del full["model"]
    assert record_groups.model_name(full) == "opt"
    assert record_groups.model_name({}) == "model"
    assert record_groups.model_name({"model": {"path": "/m/saved_model_dir/"}}) == "saved_model_dir"
    assert record_groups.model_name({"model": {"path": "/m/.hidden"}}) == ".hidden"


def test_group_records_keys_and_skipped_lines() -> None:
    lines: List[Any] = [
        "text",
        {"status": "ok"},
        {"framework": "onnx"},
        rec("onnx", [1.0]),
        rec(None, [1.0], framework="tflite", options={"threads": 2}),
        rec("onnx", [1.0], profiled=True),
        {**rec("x", [1.0]), "compare": {"config": "cfg-only"}},
    ]
    groups = record_groups.group_records(lines)
    assert list(groups) == [
        ("c1", "b1", "digits_cnn", "onnx"),
        ("", "b1", "x", "tflite @2t"),
        ("c1", "b1", "digits_cnn", "onnx (profiled)"),
        ("", "b1", "x", "cfg-only"),
    ]
    assert all(len(v) == 1 for v in groups.values())


def test_pooled_raw_ms_only_ok_runs_sorted_in_ms() -> None:
    recs = [rec("a", [3.0, 1.0]), rec("a", status="error"), rec("a", [2.5])]
    recs[1]["latency"] = {"raw_invoke_ns": [9_000_000]}  # a failed run's samples never count
    recs.append({"status": "ok"})
    assert config_summary.pooled_raw_ms(recs) == [1.0, 2.5, 3.0]


def test_median_sorted_odd_and_even() -> None:
    assert config_summary.median_sorted([5.0]) == 5.0
    assert config_summary.median_sorted([1.0, 2.0, 7.0]) == 2.0
    assert config_summary.median_sorted([1.0, 2.0, 4.0, 10.0]) == 3.0


def _rank_cdf(n: int) -> np.ndarray:
    """Exact CDF of the rank of a bootstrap resample's median, odd n: P(median <= x_j) = P(Bin(n, (j+1)/n) >= k)."""
    from scipy import stats as scipy_stats

    k = (n + 1) // 2
    return np.array([1.0 - scipy_stats.binom.cdf(k - 1, n, (j + 1) / n) for j in range(n)])


def test_speedup_interval_ends_are_the_exact_bootstrap_quantiles_of_the_ratio() -> None:
    """One pool a single value (its resample median is that value), the other 85 distinct values: the ratio's
    bootstrap distribution is the 85-pool's median rank distribution, known exactly (binomial); with B = 20000 the
    interval's ends are the order statistics where its CDF crosses 2.5 % and 97.5 % (more than 0.5 % from a jump)."""
    xs = [float(i + 1) for i in range(85)]
    cdf = _rank_cdf(85)
    lo_rank, hi_rank = int(np.searchsorted(cdf, 0.025)), int(np.searchsorted(cdf, 0.975))
    assert min(np.abs(cdf - 0.025).min(), np.abs(cdf - 0.975).min()) > 0.005
    point, lo, hi = config_summary.speedup_interval(xs, [1.0], b=20000, seed=3)
    assert (point, lo, hi) == (43.0, xs[lo_rank], xs[hi_rank])
    point, lo, hi = config_summary.speedup_interval([2.0], xs, b=20000, seed=3)  # baseline over config
    assert (point, lo, hi) == (
        pytest.approx(2.0 / 43.0),
        pytest.approx(2.0 / xs[hi_rank]),
        pytest.approx(2.0 / xs[lo_rank]),
    )


@pytest.mark.parametrize("nb,nc,b,seed", [(31, 40, 300, 5), (40, 31, 257, 11)])
def test_speedup_interval_b_and_seed_are_used(nb: int, nc: int, b: int, seed: int) -> None:
    rng = random.Random(nb)
    base = sorted(rng.uniform(1.0, 2.0) for _ in range(nb))
    cfg = sorted(rng.uniform(0.8, 1.8) for _ in range(nc))
    point, lo, hi = config_summary.speedup_interval(base, cfg, b=b, seed=seed)
    assert point == pytest.approx(np.median(base) / np.median(cfg), rel=1e-12)
    assert lo < point < hi
    assert config_summary.speedup_interval(base, cfg, b=b, seed=seed) == (point, lo, hi), "seeded: reproducible"
    other = config_summary.speedup_interval(base, cfg, b=b, seed=seed + 1)
    assert other[1:] != (lo, hi)
    _, one_lo, one_hi = config_summary.speedup_interval(base, cfg, b=1, seed=seed)
    assert one_lo == one_hi, "one resample: the interval is that resample's ratio"


def test_speedup_interval_covers_the_true_ratio_of_medians() -> None:
    """400 seeded pairs of 41 exponential latencies with medians ln 2 and ln 2 / 2 (true speedup 2): the interval
    holds 2 in 95-99.5 % of them (measured here: 97.8 % over 600 pairs; the percentile interval of a ratio of two
    medians is a little conservative; a 90 % interval covers 92 % of these 400)."""
    hits = 0
    for seed in range(400):
        rng = random.Random(10**6 + seed)
        base = sorted(rng.expovariate(1.0) for _ in range(41))
        cfg = sorted(rng.expovariate(2.0) for _ in range(41))
        _, lo, hi = config_summary.speedup_interval(base, cfg, b=500, seed=seed)
        hits += lo <= 2.0 <= hi
    assert 0.95 <= hits / 400 <= 0.995, hits


def test_speedup_interval_of_empty_pool_names_it() -> None:
    for a, b in (([], [1.0]), ([1.0], [])):
        with pytest.raises(ValueError, match="^speedup of an empty sample$"):
            config_summary.speedup_interval(a, b)


def test_estimator_text_and_constants() -> None:
    assert config_summary.BOOTSTRAP_B == 10_000 and config_summary.BOOTSTRAP_SEED == 20_240_601
    assert config_summary.CONFIDENCE == 0.95
    assert config_summary.ESTIMATOR == (
        "speedup = median(baseline raw invoke samples) / median(config raw samples), rounds pooled; "
        "95% percentile bootstrap interval, B=10000, seed=20240601"
    )


# --- one group --------------------------------------------------------------------------------------------------


def test_rounds_ordered_by_round_number_then_named_rounds() -> None:
    recs = [
        rec("pytorch", p50=5.0, rnd=2),
        rec("pytorch", p50=1.0, rnd=10),
        rec("pytorch", p50=3.0, rnd="warm"),
        rec("pytorch", p50=4.0, rnd=0),
        rec("pytorch", p50=6.0, rnd=0),
        rec("pytorch", p50=2.0, rnd="a"),
    ]
    s = summarize(recs)[0]
    assert s.round_p50_ms == [5.0, 5.0, 1.0, 2.0, 3.0]  # 0 (median of 4 and 6), 2, 10, then "a", "warm"
    assert s.p50_ms == 3.0 and s.spread_ms == 4.0


def test_rounds_without_a_number_are_one_each_in_file_order() -> None:
    recs = [rec("pytorch", p50=v, rnd=None) for v in (4.0, 1.0, 2.0, 8.0)]
    recs.insert(1, rec("pytorch", status="error", rnd=None, error="boom"))
    s = summarize(recs)[0]
    assert s.round_p50_ms == [4.0, 1.0, 2.0, 8.0] and s.p50_ms == 3.0 and s.spread_ms == 7.0
    assert s.status == "partial" and s.notes == ["no raw samples (--no-raw): no p10/p90 whiskers", "1 of 5 runs failed"]


def test_p10_p90_are_numpy_percentiles_of_pooled_raw() -> None:
    a = [float(v) for v in range(1, 12)]
    b = [0.5, 20.0, 3.3]
    s = summarize([rec("pytorch", a, rnd=0), rec("pytorch", b, rnd=1)])[0]
    pooled = np.array(a + b)
    assert s.raw_samples == 14
    assert s.p10_ms == pytest.approx(np.percentile(pooled, 10), rel=1e-12)
    assert s.p90_ms == pytest.approx(np.percentile(pooled, 90), rel=1e-12)
    assert not any("whiskers" in n for n in s.notes)


def test_no_raw_note_only_for_ok_groups() -> None:
    ok = summarize([rec("pytorch", p50=2.0)])[0]
    assert ok.notes == ["no raw samples (--no-raw): no p10/p90 whiskers"] and ok.p10_ms is None and ok.p90_ms is None
    failed = summarize([rec("pytorch", status="error", error="x")])[0]
    assert failed.notes == [] and failed.raw_samples == 0


def test_summary_fields_of_a_group_by_hand() -> None:
    r1 = rec("tflite-int8", [1.0, 3.0], rnd=0, framework="tflite", labels=["pytorch", "tflite-int8"])
    r2 = rec("tflite-int8", [2.0, 4.0, 6.0], rnd=1, framework="tflite", labels=["pytorch", "tflite-int8"])
    r3 = rec("tflite-int8", status="error", error="killed", framework="tflite", rnd=2)
    r4 = rec("tflite-int8", status="error", error="killed", framework="tflite", rnd=3)
    r5 = rec("tflite-int8", status="error", error="oom", framework="tflite", rnd=4)
    for r, size, load, first, rss, conv in ((r1, 1.0, 10.0, 3.0, 100, 4.0), (r2, 2.0, 30.0, 5.0, 200, 6.0)):
        r["model"]["size_mb"] = size
        r["latency"].update(load_ms=load, first_inference_ms=first)
        r["machine"]["peak_rss_mb"] = rss
        r["compare"]["conversion_s"] = conv
    r3["compare"]["conversion_s"] = 20.0  # conversion time counts for failed runs too
    r2["compare"]["threads"] = 4  # the first ok record's compare section is the one read
    r1["options"] = {"threads": 2}
    r5["machine"].update(emulated=True, state={"throttled": True})
    r5["compare"]["conversion_s"] = True  # not a number: ignored
    s = summarize([r1, r2, r3, r4, r5])[0]
    assert (s.compare_id, s.board, s.model, s.label, s.config, s.framework) == (
        "c1",
        "b1",
        "digits_cnn",
        "tflite-int8",
        "tflite-int8",
        "tflite",
    )
    assert s.threads == 2 and s.records == 5 and s.ok_records == 2 and s.status == "partial"
    assert s.order == 1 and s.baseline == "tflite-int8" and s.is_baseline  # the recorded baseline has no group
    assert s.size_mb == 1.5 and s.load_ms == 20.0 and s.first_inference_ms == 4.0 and s.peak_rss_mb == 150.0
    assert s.conversion_s == 6.0  # median of 4, 6, 20
    assert s.emulated is True and s.throttled is True
    assert s.errors == ["killed", "oom"] and "3 of 5 runs failed" in s.notes
    assert s.round_p50_ms == [2.0, 4.0] and s.p50_ms == 3.0 and s.spread_ms == 2.0


def test_threads_from_compare_section_else_options_and_config_fallback() -> None:
    r = rec("onnx", p50=1.0, options={"threads": 3})
    r["compare"]["threads"] = 1
    assert summarize([r])[0].threads == 1
    r = rec("onnx", p50=1.0, options={"threads": 3})
    assert summarize([r])[0].threads == 3
    r = rec("onnx @2t", p50=1.0)
    r["compare"]["config"] = ""
    s = summarize([r])[0]
    assert s.config == "onnx @2t" and s.order is None


def test_defaults_of_a_failed_group() -> None:
    s = summarize([rec("coral", status="error", error="no Edge TPU found", baseline="")])[0]
    d = s.to_dict()
    assert d["status"] == "error" and d["errors"] == ["no Edge TPU found"] and d["framework"] == "coral"
    for k in (
        "p50_ms",
        "spread_ms",
        "p10_ms",
        "p90_ms",
        "speedup",
        "ci_low",
        "ci_high",
        "significant",
        "quality",
        "quality_delta",
        "size_mb",
        "load_ms",
        "first_inference_ms",
        "peak_rss_mb",
        "conversion_s",
        "gops_per_s",
        "pct_of_peak",
        "order",
        "threads",
    ):
        assert d[k] is None, k
    for k in ("interval_method", "quality_metric", "quality_reference", "quality_note", "compute_note"):
        assert d[k] == "", k
    assert d["best"] is False and d["emulated"] is False and d["throttled"] is False and d["profiled"] is False
    assert d["is_baseline"] is True and d["baseline"] == "coral" and d["round_p50_ms"] == [] and d["notes"] == []
    assert d["raw_samples"] == 0 and d["records"] == 1 and d["ok_records"] == 0
    fresh = ConfigSummary("i", "b", "m", "l", "c", "f", None, 0, 0, "ok")
    assert fresh.round_p50_ms == [] and fresh.errors == [] and fresh.notes == [] and fresh.raw_samples == 0
    assert fresh.best is False and fresh.is_baseline is False and fresh.emulated is False and fresh.baseline == ""
    assert fresh.throttled is False and fresh.profiled is False and fresh.significant is None


def test_error_of_ok_runs_ignored_and_missing_error_skipped() -> None:
    ok = rec("onnx", p50=1.0)
    ok["error"] = "stale"
    recs = [ok, rec("onnx", status="error", error=None), rec("onnx", status="error", error="disk full")]
    s = summarize(recs)[0]
    assert s.errors == ["disk full"]


def test_quality_median_mse_and_not_meaningful() -> None:
    recs = [rec("onnx", p50=1.0, quality={"task": "regression", "mse": v, "accuracy": 9.0}) for v in (0.3, 0.1)]
    recs.append(rec("onnx", status="error", error="x", quality={"task": "regression", "mse": 100.0}))
    s = summarize(recs)[0]
    assert (s.quality_metric, s.quality, s.quality_note) == ("mse", pytest.approx(0.2), "")
    cls = [rec("onnx", p50=1.0, quality={"task": "classification", "accuracy": v}) for v in (0.9, 0.7, 0.8)]
    assert summarize(cls)[0].quality == pytest.approx(0.8) and summarize(cls)[0].quality_metric == "accuracy"
    zoo = [
        rec("onnx", p50=1.0, quality={"task": "classification", "accuracy": 0.1}),
        rec("onnx", p50=1.0, quality={"task": "classification", "accuracy": 0.1, "not_meaningful": "random weights"}),
    ]
    s = summarize(zoo)[0]
    assert (s.quality_metric, s.quality, s.quality_note) == ("", None, "not meaningful (random weights)")
    none = summarize([rec("onnx", p50=1.0, quality={})])[0]
    assert (none.quality_metric, none.quality, none.quality_note) == ("", None, "")


def test_compute_throughput_and_share_of_peak() -> None:
    r = rec("onnx", p50=4.0, compute={"ops": 2e9, "peak_gops": 5000.0})
    s = summarize([r])[0]
    assert s.gops_per_s == pytest.approx(2e9 / 0.004 / 1e9, rel=1e-12)  # 500 GOP/s
    assert s.pct_of_peak == pytest.approx(100 * 500 / 5000.0) and s.compute_note == "" and s.peak_error == ""
    s = summarize([rec("onnx", p50=4.0, compute={"ops": 2e9, "peak_gops": 500.0, "peak_kind": "derived"})])[0]
    assert s.pct_of_peak == pytest.approx(100.0) and s.peak_error == "", "exactly the peak is still a share"
    s = summarize([rec("onnx", p50=4.0, compute={"ops": 2e9, "peak_gops": 50.0, "peak_kind": "measured"})])[0]
    assert s.pct_of_peak is None and s.peak_error.startswith("above 100% of the peak (1000% of a measured peak)")
    r = rec("onnx", p50=4.0, compute={"ops": 2e9, "peak_unavailable": "no int8 peak for this CPU"})
    s = summarize([r])[0]
    assert s.gops_per_s == pytest.approx(500.0) and s.pct_of_peak is None
    assert s.compute_note == "no int8 peak for this CPU"
    s = summarize([rec("onnx", p50=4.0, compute={"ops": 1e9})])[0]
    assert s.compute_note == "no peak" and s.pct_of_peak is None
    s = summarize([rec("onnx", p50=4.0, compute={"ops": 0, "unavailable": "no graph to count"})])[0]
    assert s.gops_per_s is None and s.compute_note == "no graph to count"
    two = [rec("onnx", p50=4.0, compute={"unavailable": ""}), rec("onnx", p50=4.0, compute={"unavailable": "later"})]
    assert summarize(two)[0].compute_note == "later"
    assert summarize([rec("onnx", p50=4.0, compute="n/a")])[0].compute_note == ""
    peaks = [rec("onnx", p50=4.0, compute={"ops": 4e9, "peak_gops": p}) for p in (1000.0, 3000.0)]
    s = summarize(peaks)[0]
    assert s.gops_per_s == pytest.approx(1000.0) and s.pct_of_peak == pytest.approx(100 * 1000 / 2000.0)


# --- groups against each other ----------------------------------------------------------------------------------


def test_significant_flag_at_the_interval_boundary() -> None:
    # constant pools: every bootstrap ratio is the same number, so the interval is a point
    same = summarize([rec("pytorch", [2.0] * 5), rec("onnx", [2.0] * 6)])
    s = by_label(same, "onnx")
    assert s.ci_low == s.ci_high == 1.0 and s.speedup == 1.0 and s.significant is False
    twice = by_label(summarize([rec("pytorch", [2.0] * 5), rec("onnx", [1.0] * 5)]), "onnx")
    assert twice.ci_low == twice.ci_high == 2.0 and twice.significant is True
    half = by_label(summarize([rec("pytorch", [1.0] * 5), rec("onnx", [2.0] * 5)]), "onnx")
    assert half.ci_low == half.ci_high == 0.5 and half.significant is True and half.speedup == 0.5
    assert half.interval_method == "95% percentile bootstrap of the ratio of medians, B=10000, seed=20240601"
    assert half.notes == []


def test_baseline_without_an_ok_run() -> None:
    out = summarize([rec("pytorch", status="error", error="crash"), rec("onnx", p50=1.0)])
    s = by_label(out, "onnx")
    assert s.speedup is None and s.baseline == "pytorch" and not s.is_baseline
    assert "no speedup: the baseline pytorch has no ok run" in s.notes
    base = by_label(out, "pytorch")
    assert base.is_baseline and base.speedup is None and base.notes == []


def test_zero_latency_config_gets_no_speedup() -> None:
    out = summarize([rec("pytorch", p50=1.0), rec("onnx", p50=0.0)])
    s = by_label(out, "onnx")
    assert s.speedup is None and s.ci_low is None and s.notes == ["no raw samples (--no-raw): no p10/p90 whiskers"]


def test_no_raw_speedup_is_ratio_of_round_medians() -> None:
    recs = [rec("pytorch", p50=v, rnd=i) for i, v in enumerate((3.0, 5.0, 4.0))]
    recs += [rec("onnx", p50=v, rnd=i) for i, v in enumerate((1.0, 2.0, 9.0))]
    s = by_label(summarize(recs), "onnx")
    assert s.speedup == pytest.approx(4.0 / 2.0) and s.ci_low is None and s.ci_high is None
    assert s.notes[-1] == "speedup from round medians, no interval: no raw samples (--no-raw)"
    assert s.interval_method == "" and s.significant is None
    # raw samples on one side only: still no interval
    mixed = by_label(summarize([rec("pytorch", [3.0, 3.0]), rec("onnx", p50=1.5)]), "onnx")
    assert mixed.speedup == pytest.approx(2.0) and mixed.ci_low is None


def test_baseline_choice_recorded_override_and_unknown(caplog: pytest.LogCaptureFixture) -> None:
    recs = [rec("onnx", p50=2.0, baseline="tflite"), rec("tflite", p50=1.0, baseline="tflite")]
    out = summarize(recs)
    assert [s.label for s in out] == ["tflite", "onnx"] and by_label(out, "tflite").is_baseline
    assert by_label(out, "onnx").speedup == pytest.approx(0.5)
    out = summarize(recs, baseline="onnx")
    assert [s.label for s in out] == ["onnx", "tflite"] and by_label(out, "tflite").speedup == pytest.approx(2.0)
    with caplog.at_level(logging.WARNING, logger="bench.config_summary"):
        out = summarize(recs, baseline="armnn")
        assert by_label(out, "tflite").is_baseline  # falls back to the recorded baseline, silently
        summarize(recs)
    assert caplog.text == ""
    # recorded baseline unknown too: the first group seen, with a warning when one was asked for
    lost = [rec("onnx", p50=2.0, baseline="gone"), rec("tflite", p50=1.0, baseline="gone")]
    with caplog.at_level(logging.WARNING, logger="bench.config_summary"):
        assert by_label(summarize(lost), "onnx").is_baseline
    assert caplog.text == ""
    with caplog.at_level(logging.WARNING, logger="bench.config_summary"):
        assert by_label(summarize(lost, baseline="armnn"), "onnx").is_baseline
    (msg,) = [r.getMessage() for r in caplog.records]
    assert msg == "baseline 'armnn' not among the configs ['onnx', 'tflite']; using onnx"


def test_adhoc_runs_use_first_label_seen_per_board() -> None:
    a = rec(None, p50=2.0, framework="onnx", board="x")
    b = rec(None, p50=1.0, framework="tflite", board="x")
    c = rec(None, p50=4.0, framework="tflite", board="y")
    out = summarize([a, b, c])
    assert [(s.board, s.label, s.is_baseline) for s in out] == [
        ("x", "onnx", True),
        ("x", "tflite", False),
        ("y", "tflite", True),
    ]
    assert (
        by_label(out, "tflite", "x").speedup == pytest.approx(2.0) and by_label(out, "tflite", "x").baseline == "onnx"
    )
    assert all(s.compare_id == "" for s in out)


def test_several_boards_each_against_its_own_baseline() -> None:
    recs = []
    for board, base, cfg in (("nano", 10.0, 5.0), ("rpi5", 4.0, 8.0)):
        recs += [rec("pytorch", p50=base, board=board), rec("tensorrt-fp16", p50=cfg, board=board)]
    out = summarize(recs)
    assert [(s.board, s.label) for s in out] == [
        ("nano", "pytorch"),
        ("nano", "tensorrt-fp16"),
        ("rpi5", "pytorch"),
        ("rpi5", "tensorrt-fp16"),
    ]
    assert by_label(out, "tensorrt-fp16", "nano").speedup == pytest.approx(2.0)
    assert by_label(out, "tensorrt-fp16", "rpi5").speedup == pytest.approx(0.5)
    assert by_label(out, "tensorrt-fp16", "nano").best and by_label(out, "pytorch", "rpi5").best
    assert not by_label(out, "pytorch", "nano").best and not by_label(out, "tensorrt-fp16", "rpi5").best


def test_best_needs_two_ok_configs() -> None:
    only = summarize([rec("pytorch", p50=1.0), rec("onnx", status="error", error="x")])
    assert not any(s.best for s in only)


def test_display_order_follows_compare_labels() -> None:
    order = ["pytorch", "tflite", "onnx", "armnn"]
    recs = [rec(lab, p50=1.0 + i, labels=order) for i, lab in enumerate(["onnx", "zz", "armnn", "tflite", "pytorch"])]
    out = summarize(recs)
    assert [s.label for s in out] == ["pytorch", "tflite", "onnx", "armnn", "zz"]
    assert [s.order for s in out] == [0, 1, 2, 3, None]


def test_profiled_runs_kept_apart() -> None:
    recs = [
        rec("pytorch", [2.0] * 3),
        rec("onnx", [1.0] * 3),
        rec("pytorch", [4.0] * 3, profiled=True),
        rec("onnx", [1.0] * 3, profiled=True),
    ]
    out = summarize(recs)
    assert [s.label for s in out] == ["pytorch", "onnx", "pytorch (profiled)", "onnx (profiled)"]
    pp, po = by_label(out, "pytorch (profiled)"), by_label(out, "onnx (profiled)")
    assert pp.profiled and po.profiled and pp.baseline == "pytorch (profiled)" and not pp.is_baseline
    note = "profiled run: no speedup against the unprofiled baseline (the profiler's overhead)"
    assert pp.notes == [note] and po.notes == [note] and pp.speedup is None and po.speedup is None
    assert by_label(out, "onnx").best and not po.best and by_label(out, "onnx").speedup == pytest.approx(2.0)
    assert by_label(out, "onnx").raw_samples == 3  # not pooled with the profiled run
    # with the profiled baseline chosen: unprofiled runs say why they have no speedup, the profiled ones compare
    out = summarize(recs, baseline="pytorch (profiled)")
    assert by_label(out, "onnx").notes == [
        "no speedup against the profiled baseline pytorch (profiled) (the profiler's overhead)"
    ]
    assert by_label(out, "onnx (profiled)").speedup == pytest.approx(4.0)
    assert by_label(out, "onnx (profiled)").best and not by_label(out, "onnx").best
    assert out[0].label == "pytorch (profiled)"


def test_profiled_only_compare_uses_the_profiled_baseline_and_label_order() -> None:
    order = ["pytorch", "onnx"]
    recs = [rec("onnx", p50=1.0, profiled=True, labels=order), rec("pytorch", p50=3.0, profiled=True, labels=order)]
    out = summarize(recs)
    assert [s.label for s in out] == ["pytorch (profiled)", "onnx (profiled)"]
    assert [s.order for s in out] == [0, 1]
    assert by_label(out, "onnx (profiled)").speedup == pytest.approx(3.0)
    assert by_label(out, "pytorch (profiled)").is_baseline


def test_quality_change_against_the_source_model_run() -> None:
    def q(v: float) -> Dict[str, Any]:
        return {"task": "classification", "accuracy": v}

    recs = [
        rec("onnx", p50=1.0, quality=q(0.90), baseline="onnx"),
        rec("pytorch", p50=2.0, quality=q(0.98), model_sha="src", baseline="onnx"),
        rec("tflite-int8", p50=0.5, quality=q(0.95), baseline="onnx"),
    ]
    out = summarize(recs)
    int8 = by_label(out, "tflite-int8")
    assert int8.quality_reference == "pytorch" and int8.quality_delta == pytest.approx(0.95 - 0.98)
    assert by_label(out, "pytorch").quality_delta == 0.0
    # the source model's run failed: no group runs it, so the baseline is the reference
    recs[1] = rec("pytorch", status="error", error="x", model_sha="src", baseline="onnx")
    int8 = by_label(summarize(recs), "tflite-int8")
    assert int8.quality_reference == "onnx" and int8.quality_delta == pytest.approx(0.95 - 0.90)
    # no source sha recorded: the baseline is the reference even if a model sha matches ""
    plain = [rec("onnx", p50=1.0, quality=q(0.5), source_sha="", model_sha=""), rec("tflite", p50=1.0, quality=q(0.75))]
    plain[1]["compare"]["source_model"] = {"path": "/m/digits_cnn.pth"}
    tfl = by_label(summarize(plain, baseline="onnx"), "tflite")
    assert tfl.quality_reference == "onnx" and tfl.quality_delta == pytest.approx(0.25)


def test_quality_change_needs_the_same_metric_and_values() -> None:
    recs = [
        rec("pytorch", p50=1.0, quality={"task": "regression", "mse": 0.5}, model_sha="src"),
        rec("onnx", p50=1.0, quality={"task": "classification", "accuracy": 0.9}),
        rec("tflite", p50=1.0),
    ]
    out = summarize(recs)
    for label in ("onnx", "tflite"):
        s = by_label(out, label)
        assert s.quality_delta is None and s.quality_reference == "", label
    none_ref = [
        rec("pytorch", p50=1.0, model_sha="src"),
        rec("onnx", p50=1.0, quality={"task": "regression", "mse": 1.0}),
    ]
    s = by_label(summarize(none_ref), "onnx")
    assert s.quality_delta is None and s.quality_reference == ""


def test_source_sha_read_from_a_later_record() -> None:
    a = rec("onnx", p50=1.0, quality={"task": "classification", "accuracy": 0.8}, source_sha="")
    b = rec("pytorch", p50=2.0, quality={"task": "classification", "accuracy": 0.9}, model_sha="s2", source_sha="s2")
    out = summarize([a, b], baseline="onnx")
    assert by_label(out, "onnx").quality_reference == "pytorch"
    assert by_label(out, "onnx").quality_delta == pytest.approx(-0.1)


# --- environment differences ------------------------------------------------------------------------------------


def _env(board: str = "b1", gov: str = "performance", fw: str = "onnx", **versions: str) -> Dict[str, Any]:
    r = rec("x", p50=1.0, board=board, framework=fw)
    r["machine"]["cpu"] = {"governor": gov, "max_freq_mhz": 1500}
    r["runtime"] = {"versions": versions}
    return r


def test_environment_differences_text() -> None:
    recs: List[Any] = [{**_env(gov="powersave"), "status": "error"}, "not a record"]  # neither is compared
    recs += [_env(gov="ondemand", onnxruntime="1.18"), _env(onnxruntime="1.18"), _env(onnxruntime="1.19")]
    assert record_groups.environment_differences(recs) == [
        "b1: CPU governor differs: ondemand (1 run), performance (2 runs)",
        "b1: onnx versions differs: onnxruntime 1.18 (2 runs), onnxruntime 1.19 (1 run)",
    ]
    # boards are compared apart, runtimes apart
    other = [_env(board="b2", gov="powersave"), _env(), _env(fw="tflite", tflite="2.16")]
    assert record_groups.environment_differences(other) == []
    assert record_groups.environment_differences([_env(a="1", b="2"), _env(b="2", a="1")]) == []
    none = [_env(), _env(onnxruntime="1")]
    assert record_groups.environment_differences(none) == [
        "b1: onnx versions differs: None (1 run), onnxruntime 1 (1 run)"
    ]


def test_environment_differences_coral_speeds_sorted() -> None:
    a, b, c = _env(), _env(), _env()
    a["machine"]["accelerator"] = {"coral": {"devices": [{"speed_mbps": 5000}, {"speed_mbps": 480}]}}
    b["machine"]["accelerator"] = {"coral": {"devices": [{"speed_mbps": 480}, {"speed_mbps": 5000}]}}
    assert record_groups.environment_differences([a, b]) == []
    c["machine"]["accelerator"] = {"coral": {"devices": [{"speed_mbps": 480}]}}
    assert record_groups.environment_differences([a, c]) == [
        "b1: Coral USB speed (Mb/s) differs: [480, 5000] (1 run), [480] (1 run)"
    ]
    facts = [name for name, _ in record_groups.ENVIRONMENT_FACTS]
    assert facts == [
        "CPU governor",
        "CPU max MHz",
        "Jetson clocks locked",
        "Jetson power mode",
        "Coral USB speed (Mb/s)",
        "emulated",
        "container image",
    ]
    d, e = _env(), _env()
    d["machine"].update(
        emulated=True, image="img:1", accelerator={"jetson": {"clocks_locked": True, "power_mode": {"name": "MAXN"}}}
    )
    e["machine"].update(
        emulated=False, image="img:2", accelerator={"jetson": {"clocks_locked": False, "power_mode": {"name": "5W"}}}
    )
    e["machine"]["cpu"]["max_freq_mhz"] = 1800
    assert record_groups.environment_differences([d, e]) == [
        "b1: CPU max MHz differs: 1500 (1 run), 1800 (1 run)",
        "b1: Jetson clocks locked differs: True (1 run), False (1 run)",
        "b1: Jetson power mode differs: MAXN (1 run), 5W (1 run)",
        "b1: emulated differs: True (1 run), False (1 run)",
        "b1: container image differs: img:1 (1 run), img:2 (1 run)",
    ]


def test_speedup_interval_defaults_are_the_documented_b_and_seed() -> None:
    base, cfg = [1.0, 2.0, 3.0, 4.0, 9.0], [1.0, 1.5, 2.0, 2.5]
    assert config_summary.speedup_interval(base, cfg) == config_summary.speedup_interval(base, cfg, 10_000, 20_240_601)


def test_quality_metric_without_a_value_gets_no_change() -> None:
    recs = [
        rec("pytorch", p50=1.0, quality={"task": "classification", "accuracy": 0.9}, model_sha="src"),
        rec("onnx", p50=1.0, quality={"task": "classification"}),
    ]
    s = by_label(summarize(recs), "onnx")
    assert (s.quality_metric, s.quality, s.quality_delta, s.quality_reference) == ("accuracy", None, None, "")
    recs = [  # the reference (the source model's run) without a value
        rec("pytorch", p50=1.0, quality={"task": "classification"}, model_sha="src"),
        rec("onnx", p50=1.0, quality={"task": "classification", "accuracy": 0.9}),
    ]
    s = by_label(summarize(recs), "onnx")
    assert s.quality == pytest.approx(0.9) and s.quality_delta is None and s.quality_reference == ""


def test_adhoc_profiled_run_has_no_baseline() -> None:
    out = summarize([rec(None, p50=2.0, framework="onnx"), rec(None, p50=1.0, framework="onnx", profiled=True)])
    prof = by_label(out, "onnx (profiled)")
    assert prof.baseline == "" and prof.speedup is None and not prof.is_baseline


def test_label_and_config_read_from_their_own_fields() -> None:
    r = rec("tflite", p50=1.0)
    r["compare"]["label"] = "tflite @2t"
    s = summarize([r])[0]
    assert (s.label, s.config) == ("tflite @2t", "tflite")
    r = rec("onnx", p50=1.0)
    r["framework"] = ""
    assert summarize([r])[0].framework == ""


def test_profiled_false_is_not_profiled() -> None:
    r = rec("onnx", p50=1.0)
    r["profile"] = {"profiled": False, "tool": "perf"}
    assert not record_groups.is_profiled(r) and summarize([r])[0].label == "onnx"


def test_model_name_skips_sections_without_a_path() -> None:
    r = {
        "compare": {"source_model": {"sha256": "abc"}},
        "conversion": {"tool": "onnx2tf"},
        "options": {"threads": 2},
    }
    assert record_groups.model_name(r) == "model"
    r["model"] = {"path": "/m/SSD-X"}  # a name ending in X keeps it
    assert record_groups.model_name(r) == "SSD-X"


def test_environment_differences_lists_every_package() -> None:
    a, b = _env(onnxruntime="1.18", numpy="1.26"), _env(onnxruntime="1.18", numpy="2.0")
    assert record_groups.environment_differences([a, b]) == [
        "b1: onnx versions differs: numpy 1.26, onnxruntime 1.18 (1 run), numpy 2.0, onnxruntime 1.18 (1 run)"
    ]
