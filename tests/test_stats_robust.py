"""Robust latency statistics (bench/stats.py): quartiles and IQR against numpy, Tukey outliers by hand, the seeded
bootstrap interval of the median, and the noise warning that replaced the coefficient-of-variation one."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections import Counter

import numpy as np
import pytest
from scipy import stats as scipy_stats

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


def test_summary_values_match_numpy() -> None:
    ms = np.array([1.0, 2.0, 3.0, 7.0, 11.0])
    s = stats.summarize_ns([int(v * 1_000_000) for v in ms])
    assert s["count"] == 5 and s["min_ms"] == 1.0 and s["max_ms"] == 11.0
    assert s["mean_ms"] == pytest.approx(ms.mean()) and s["std_ms"] == pytest.approx(ms.std(ddof=1))
    for q in (50, 90, 95, 99):
        assert s[f"p{q}_ms"] == pytest.approx(np.percentile(ms, q))
    assert s["throughput_per_s"] == pytest.approx(1000 / ms.mean()) and s["cv"] == pytest.approx(ms.std(ddof=1) / 4.8)


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
    spiky = stats.summarize_ns([1_000_000] * 80 + [1_000_000 * (2 + i % 3) for i in range(20)])  # 20 % at 2-4x
    text = stats.noise_warning(spiky)
    assert text is not None and "20.0% of runs took 2x the median or more" in text
    assert text.endswith("close other programs, pin the governor to performance, or raise --min-time-s")


# --- the bootstrap draw against the exact bootstrap distribution, the interval by its coverage, thresholds at equality


def _enumerated_median_cdf(xs: list) -> tuple:
    """(values, CDF) of the median of a bootstrap resample of ``xs``, by enumerating all n^n resamples."""
    counts = Counter(statistics.median(r) for r in itertools.product(xs, repeat=len(xs)))
    values = sorted(counts)
    return values, np.cumsum([counts[v] for v in values]) / len(xs) ** len(xs)


def _binomial_median_cdf(n: int) -> np.ndarray:
    """CDF of the bootstrap median's rank for odd n: median <= x_j iff at least k of the n draws are <= x_j, and
    each draw is <= x_j with probability (j + 1) / n."""
    k = (n + 1) // 2
    return np.array([1.0 - scipy_stats.binom.cdf(k - 1, n, (j + 1) / n) for j in range(n)])


def _empirical_cdf(draws: list, values: list) -> np.ndarray:
    d = np.sort(np.asarray(draws))
    return np.searchsorted(d, np.asarray(values), side="right") / len(d)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_bootstrap_median_has_the_distribution_of_the_median_of_a_resample(n: int) -> None:
    """Against every one of the n^n resamples (the definition of the bootstrap): the CDFs agree within the DKW bound
    of 20000 draws (0.014 at 99.9 %), and every draw is a value some resample's median takes."""
    xs = sorted(random.Random(n).uniform(0, 100) for _ in range(n))
    values, cdf = _enumerated_median_cdf(xs)
    rng = random.Random(99)
    draws = [stats.bootstrap_median(xs, rng) for _ in range(20000)]
    assert set(draws) <= set(values)
    assert np.max(np.abs(_empirical_cdf(draws, values) - cdf)) < 0.014


@pytest.mark.parametrize("n", [1, 51])
def test_bootstrap_median_of_an_odd_pool_has_the_binomial_rank_distribution(n: int) -> None:
    xs = [float(i) for i in range(n)]
    rng = random.Random(5)
    draws = [stats.bootstrap_median(xs, rng) for _ in range(20000)]
    assert np.max(np.abs(_empirical_cdf(draws, xs) - _binomial_median_cdf(n))) < 0.014


def test_bootstrap_median_is_reproducible_from_the_generator_state() -> None:
    xs = sorted(random.Random(4).uniform(0, 100) for _ in range(10))
    a, b = random.Random(99), random.Random(99)
    assert [stats.bootstrap_median(xs, a) for _ in range(50)] == [stats.bootstrap_median(xs, b) for _ in range(50)]


def test_bootstrap_median_in_distribution() -> None:
    """Against resampling by hand: the share of resample medians at each order statistic (n = 5 and 6)."""
    for n in (5, 6):
        xs = [float(i) for i in range(n)]
        rng = random.Random(3)
        draws = [stats.bootstrap_median(xs, rng) for _ in range(20000)]
        plain = [statistics.median(rng.choices(xs, k=n)) for _ in range(20000)]
        assert statistics.fmean(draws) == pytest.approx(statistics.fmean(plain), abs=0.05)
        assert statistics.pstdev(draws) == pytest.approx(statistics.pstdev(plain), rel=0.05)


def test_median_interval_covers_the_true_median_95_percent_of_the_time() -> None:
    """800 seeded samples of 51 exponential latencies (true median ln 2): the interval holds it in 92-97 % of them
    (binomial standard error 0.8 %; measured here: 94.6 % over 1000 samples)."""
    hits = 0
    for seed in range(800):
        rng = random.Random(seed)
        lo, hi = stats.median_interval(sorted(rng.expovariate(1.0) for _ in range(51)), 500, seed)
        hits += lo <= math.log(2) <= hi
    assert 0.92 <= hits / 800 <= 0.97, hits


def test_median_interval_b_and_seed() -> None:
    gen = random.Random(5)
    xs = sorted(gen.lognormvariate(0, 0.5) for _ in range(40))
    assert stats.median_interval(xs) == stats.median_interval(xs, 2000, 20_240_601)
    assert stats.MEDIAN_CI_B == 2000 and stats.MEDIAN_CI_SEED == 20_240_601
    assert stats.median_interval(xs, 333, 8) != stats.median_interval(xs, 333, 9)
    lo, hi = stats.median_interval(xs, 1, 8)
    assert lo == hi, "one resample: the interval is that resample's median"
    r = stats.robust(xs, b=333, seed=8)
    assert (r["median_ci_low_ms"], r["median_ci_high_ms"]) == stats.median_interval(xs, 333, 8)
    assert r["median_ci_b"] == 333 and r["median_ci_seed"] == 8


def test_median_interval_ends_are_the_2_5_and_97_5_percentiles_of_the_bootstrap_distribution() -> None:
    """Odd n = 85, B = 20000: the ends are the order statistics where the exact (binomial) CDF of the bootstrap median
    crosses 2.5 % and 97.5 % (both crossings more than 0.5 % from a jump, 5 standard errors of B draws; 1.5 % and
    3.5 %, 96.5 % and 98.5 % fall on other order statistics, so a percentile one point off is told apart)."""
    n = 85
    xs = [float(i) for i in range(n)]
    cdf = _binomial_median_cdf(n)
    lo_rank, hi_rank = int(np.searchsorted(cdf, 0.025)), int(np.searchsorted(cdf, 0.975))
    assert min(np.abs(cdf - 0.025).min(), np.abs(cdf - 0.975).min()) > 0.005
    assert len({int(np.searchsorted(cdf, q)) for q in (0.015, 0.025, 0.035)}) == 3
    assert len({int(np.searchsorted(cdf, q)) for q in (0.965, 0.975, 0.985)}) == 3
    assert stats.median_interval(xs, 20000, 3) == (xs[lo_rank], xs[hi_rank])


def test_tukey_fences_are_not_outliers_themselves() -> None:
    # 1, 4, 5, 6, 9: Q1 = 4, Q3 = 6, IQR = 2, fences exactly 1 and 9
    r = stats.robust([1.0, 4.0, 5.0, 6.0, 9.0], b=10)
    assert (r["q1_ms"], r["q3_ms"], r["iqr_ms"], r["outliers"], r["outlier_share"]) == (4.0, 6.0, 2.0, 0, 0.0)
    r = stats.robust([0.999, 4.0, 5.0, 6.0, 9.001], b=10)
    assert r["outliers"] == 2 and r["outlier_share"] == 0.4
    assert stats.TUKEY_K == 1.5


def _noise(median: float, low: float, high: float, share: float) -> dict:
    return {"p50_ms": median, "median_ci_low_ms": low, "median_ci_high_ms": high, "slow_share": share}


def test_noise_thresholds_at_equality() -> None:
    assert stats.MAX_CI_WIDTH == 0.05 and stats.MAX_SLOW_SHARE == 0.10 and stats.SLOW_FACTOR == 2.0
    # width exactly 5% (0.2 / 4.0 is the double nearest 0.05) and share exactly 10%: quiet
    assert stats.noise_warning(_noise(4.0, 0.0, 0.2, 0.1)) is None
    assert stats.noise_warning(_noise(4.0, 0.0, 0.2000001, 0.1)) is not None
    assert stats.noise_warning(_noise(4.0, 0.0, 0.2, 0.1000001)) is not None
    # a zero median (a timer too coarse for the model) cannot give a width: no division, no warning
    assert stats.noise_warning(_noise(0.0, 0.0, 0.5, 0.0)) is None


def test_noise_warning_full_text() -> None:
    both = stats.noise_warning(_noise(2.0, 1.9, 2.1, 0.25))
    assert both == (
        "latency is noisy: the median's 95% interval spans 10.0% of the median (over 5%) and 25.0% of runs took "
        "2x the median or more (over 10%); close other programs, pin the governor to performance, or raise "
        "--min-time-s"
    )
    width = stats.noise_warning(_noise(2.0, 1.9, 2.1, 0.0))
    assert width == (
        "latency is noisy: the median's 95% interval spans 10.0% of the median (over 5%); " + stats.NOISE_ADVICE
    )
    share = stats.noise_warning(_noise(2.0, 2.0, 2.0, 0.125))
    assert share == ("latency is noisy: 12.5% of runs took 2x the median or more (over 10%); " + stats.NOISE_ADVICE)
    # a record written before slow_share was kept: only the interval speaks
    assert stats.noise_warning({"p50_ms": 2.0, "median_ci_low_ms": 2.0, "median_ci_high_ms": 2.0}) is None


def test_slow_share_by_hand() -> None:
    # median 1.0: 2.0 is slow (twice the median exactly), 1.99 is not; 2 of 5
    r = stats.robust([1.0, 1.0, 1.0, 2.0, 3.0], b=10)
    assert r["slow_share"] == 0.4
    assert stats.robust([1.0, 1.0, 1.0, 1.99, 1.99], b=10)["slow_share"] == 0.0
    # even count: the median is the mean of the middle two, 1.5 (3.0 slow) and 1.4 (2.9 slow, 2.7 not); the
    # smallest of the middle two (1.0) would make 2.0 slow too
    assert stats.robust([1.0, 1.0, 2.0, 3.0], b=10)["slow_share"] == 0.25
    assert stats.robust([1.0, 1.0, 1.8, 2.7], b=10)["slow_share"] == 0.0
    assert stats.robust([1.0, 1.0, 1.8, 2.9], b=10)["slow_share"] == 0.25


def test_summarize_ns_edges() -> None:
    one = stats.summarize_ns([2_000_000])
    assert one["std_ms"] == 0.0 and one["cv"] == 0.0 and one["throughput_per_s"] == 500.0
    assert one["median_ci_low_ms"] == one["median_ci_high_ms"] == 2.0
    zero = stats.summarize_ns([0, 0])
    assert zero["throughput_per_s"] == float("inf") and zero["cv"] == 0.0
    two = stats.summarize_ns([1_000_000, 3_000_000])
    assert two["std_ms"] == pytest.approx(np.std([1.0, 3.0], ddof=1)) and two["cv"] == pytest.approx(two["std_ms"] / 2)
    with pytest.raises(ValueError, match="^no latency samples$"):
        stats.summarize_ns([])


def test_median_interval_of_two_samples_is_bootstrapped() -> None:
    # resamples (1, 1) and (3, 3) each come up a quarter of the time, (1, 3) and (3, 1) give 2
    assert stats.median_interval([1.0, 3.0]) == (1.0, 3.0)


def test_noise_warning_on_a_sub_millisecond_median() -> None:
    text = stats.noise_warning(_noise(0.5, 0.4, 0.6, 0.0))
    assert text is not None and "spans 40.0% of the median" in text


def test_median_interval_on_a_fine_grained_sample() -> None:
    gen = random.Random(11)
    xs = sorted(gen.gauss(5.0, 1.0) for _ in range(2001))
    r = stats.robust(xs, b=500, seed=8)
    assert (r["median_ci_low_ms"], r["median_ci_high_ms"]) == stats.median_interval(xs, 500, 8)
    assert stats.median_interval(xs, 500, 8) != stats.median_interval(xs, 500)
    s = stats.summarize_ns([int(x * 1e6) for x in xs])
    assert s["median_ci_b"] == stats.MEDIAN_CI_B and s["median_ci_seed"] == stats.MEDIAN_CI_SEED
    assert s["median_ci_low_ms"] < s["p50_ms"] < s["median_ci_high_ms"]
    # the median of 2001 normal draws has a standard error of about 1.2533 / sqrt(2001) = 0.028: a 95 % interval
    # spans about 2 x 1.96 x 0.028 = 0.11
    assert 0.07 < s["median_ci_high_ms"] - s["median_ci_low_ms"] < 0.16
