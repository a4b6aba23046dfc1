"""Robust latency statistics (bench/stats.py): quartiles and IQR against numpy, Tukey outliers by hand, the seeded
bootstrap interval of the median, and the noise warning that replaced the coefficient-of-variation one."""

from __future__ import annotations

import random
import statistics

import numpy as np
import pytest

from bench import stats


def test_quartiles_and_iqr_match_numpy() -> None:
    rng = np.random.default_rng(3)
    for n in (2, 3, 10, 101, 1000):
        ns = rng.lognormal(14, 0.3, n).astype(np.int64)
        s = stats.summarize_ns(ns.tolist())
        ms = ns / 1e6
        q1, q3 = np.percentile(ms, [25, 75])
        assert s["q1_ms"] == pytest.approx(q1, rel=1e-12) and s["q3_ms"] == pytest.approx(q3, rel=1e-12)
        assert s["iqr_ms"] == pytest.approx(q3 - q1, rel=1e-9, abs=1e-12)
        assert s["p50_ms"] == pytest.approx(np.median(ms), rel=1e-12)


def test_tukey_outliers_by_hand() -> None:
    # 1..8 ms: Q1 = 2.75, Q3 = 6.25, IQR = 3.5, fences -2.5 and 11.5; 12 and 40 are beyond, 11 is not
    s = stats.summarize_ns([v * 1_000_000 for v in (1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 40)])
    ms = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 40]
    q1, q3 = np.percentile(ms, [25, 75])
    fences = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
    expected = sum(1 for v in ms if v < fences[0] or v > fences[1])
    assert s["outliers"] == expected
    assert s["outlier_share"] == pytest.approx(expected / 11)
    flat = stats.summarize_ns([5_000_000] * 9 + [5_000_001])  # IQR 0: any different value is an outlier
    assert flat["iqr_ms"] == 0.0 and flat["outliers"] == 1
    assert stats.summarize_ns([3_000_000])["outliers"] == 0


def test_low_outliers_count_too() -> None:
    s = stats.summarize_ns([1_000] + [10_000_000 + i for i in range(20)])
    assert s["outliers"] == 1


def test_median_interval_is_seeded_and_covers_the_median() -> None:
    rng = random.Random(1)
    xs = sorted(rng.gauss(10.0, 1.0) for _ in range(501))
    lo, hi = stats.median_interval(xs)
    assert (lo, hi) == stats.median_interval(xs), "same seed, same interval"
    assert lo < statistics.median(xs) < hi
    # the median's standard error for a normal sample is about 1.2533 sigma / sqrt(n): the 95% interval is ~+-0.11
    assert 0.1 < hi - lo < 0.35
    assert stats.median_interval([4.0]) == (4.0, 4.0)
    s = stats.summarize_ns([int(x * 1e6) for x in xs])
    assert s["median_ci_b"] == stats.MEDIAN_CI_B and s["median_ci_seed"] == stats.MEDIAN_CI_SEED
    assert s["median_ci_low_ms"] <= s["p50_ms"] <= s["median_ci_high_ms"]


def test_median_interval_matches_a_plain_bootstrap() -> None:
    """The order-statistic draw is the ordinary bootstrap in distribution: compare with resampling by hand."""
    rng = random.Random(7)
    xs = sorted(rng.expovariate(1.0) for _ in range(200))
    lo, hi = stats.median_interval(xs, b=4000)
    plain = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(4000))
    assert lo == pytest.approx(stats.percentile(plain, 2.5), rel=0.08)
    assert hi == pytest.approx(stats.percentile(plain, 97.5), rel=0.08)


def test_existing_keys_are_kept() -> None:
    s = stats.summarize_ns([1_000_000, 2_000_000, 3_000_000])
    for key in ("count", "mean_ms", "std_ms", "min_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms"):
        assert key in s
    assert "throughput_per_s" in s and "cv" in s


def test_noise_warning_quiet_on_a_tail_the_cv_would_flag() -> None:
    """A steady median with a few slow runs: the CV is high (the old warning fired), the robust figures are fine."""
    ns = [1_000_000 + (i % 7) * 1_000 for i in range(2000)] + [20_000_000] * 20
    s = stats.summarize_ns(ns)
    assert s["cv"] > stats.HIGH_CV, "the old rule would have warned"
    assert stats.noise_warning(s) is None


def test_noise_warning_names_the_problem_and_the_fix() -> None:
    wide = stats.summarize_ns([1_000_000 * (1 + (i % 10)) for i in range(30)])  # flat 1..10 ms, 30 runs
    text = stats.noise_warning(wide)
    assert text is not None and "median's 95% interval spans" in text and stats.NOISE_ADVICE in text
    spiky = stats.summarize_ns([1_000_000] * 80 + [1_000_000 + 1000 * i for i in range(1, 21)])
    text = stats.noise_warning(spiky)
    assert text is not None and "20.0% of runs are outliers beyond 1.5 IQR" in text
    assert text.endswith("close other programs, pin the governor to performance, or raise --min-time-s")
