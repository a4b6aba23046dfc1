"""MLPerf early-stopping p90 (bench/early_stopping.py) against two independent sources: exact binomial tail sums
in rational arithmetic (hand-checkable), and a line-by-line port of LoadGen's own loop (mlcommons/inference
loadgen/results.cc PerformanceSummary::EarlyStopping, SingleStream, with early_stopping.cc's cached
MinPassingQueriesFinder), which scans t linearly where the module searches it."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from pathlib import Path
from typing import Dict, Tuple

import pytest

from bench import early_stopping as es
from tests.conftest import require, run_cli

P_OVER = Fraction(1, 10)  # a query is over the 90th percentile with probability 0.1


def cdf_over(n: int, t: int) -> Fraction:
    """P(at most t of n queries are over), exactly."""
    return sum(math.comb(n, k) * P_OVER**k * (1 - P_OVER) ** (n - k) for k in range(t + 1))


def expected_t(n: int) -> int:
    """The largest t with P(Binomial(n, 0.1) <= t) < 0.01 (0 when even t = 1 fails)."""
    t = 0
    while t + 1 < n and cdf_over(n, t + 1) < Fraction(1, 100):
        t += 1
    return t


def test_minimum_is_64_queries_by_hand() -> None:
    # 0.9^64 + 64 * 0.1 * 0.9^63 = 0.00956 < 0.01, while 63 queries give 0.01048
    assert float(cdf_over(64, 1)) == pytest.approx(0.0095631, abs=1e-6)
    assert float(cdf_over(63, 1)) == pytest.approx(0.0104802, abs=1e-6)
    assert es.min_queries() == 64
    assert es.discarded_count(63) is None
    assert es.estimate(list(range(63)))["estimate_ms"] is None


@pytest.mark.parametrize("n", [64, 65, 90, 100, 137, 250, 500, 1000, 2000])
def test_discarded_count_matches_exact_binomial(n: int) -> None:
    assert es.discarded_count(n) == expected_t(n)


def test_odds_is_the_binomial_cdf() -> None:
    for h, t in ((63, 1), (100, 5), (900, 80), (5000, 480)):
        assert es.odds(h, t) == pytest.approx(float(cdf_over(h + t, t)), rel=1e-9)


def test_scipy_binomial_agrees_where_installed() -> None:
    binom = require("scipy.stats").binom
    for n in (64, 1000, 10000):
        t = es.discarded_count(n)
        assert binom.cdf(t, n, 0.1) < 0.01 <= binom.cdf(t + 1, n, 0.1)


class LoadGenFinder:
    """early_stopping.cc MinPassingQueriesFinder::operator(), with its cache and its search bracket."""

    def __init__(self) -> None:
        self.cache: Dict[Tuple[float, float, float], Dict[int, int]] = {}

    def __call__(self, t: int, p: float, d: float, c: float) -> int:
        cache = self.cache.setdefault((p, d, c), {})
        if t in cache:
            return cache[t]
        below = sorted(k for k in cache if k < t)
        x0, y0, x1, y1 = -1, 0, 0, math.ceil(math.log(1 - c) / math.log(p - d))
        if below:
            x1, y1 = below[-1], cache[below[-1]]
        if len(below) > 1:
            x0, y0 = below[-2], cache[below[-2]]
        min_slope = (p - d) / (1 - p + d)
        max_slope = (y1 - y0) * (x1 - x0)
        min_h = int((t - x1) * min_slope + y1)
        max_h = int((t - x1) * max_slope + y1 + 1)
        count = max_h - min_h
        while count > 0:  # find_min_passing
            step = count // 2
            h = min_h + step
            if es.odds(h, t, p, d) < 1 - c:
                count = step
            else:
                min_h = h + 1
                count -= step + 1
        cache[t] = min_h
        return min_h


def loadgen_singlestream(sorted_ns: list) -> object:
    """results.cc, case SingleStream, the 90th percentile part."""
    n = len(sorted_ns)
    finder = LoadGenFinder()
    t = 1
    h_min = finder(1, 0.9, 0.0, 0.99)
    if n < h_min + 1:
        return None
    for i in range(2, n + 1):
        h = finder(i, 0.9, 0.0, 0.99)
        if n < h + i:
            t = i - 1
            break
    return sorted_ns[n - t]


@pytest.mark.parametrize("n", [63, 64, 65, 77, 150, 640, 1500, 3000])
def test_estimate_matches_loadgen_loop(n: int) -> None:
    rng = random.Random(n)
    samples = [int(rng.lognormvariate(13, 0.4)) for _ in range(n)]
    want = loadgen_singlestream(sorted(samples))
    got = es.estimate(samples)
    assert got["queries"] == n
    assert got["estimate_ms"] == (None if want is None else want / 1e6)


def test_estimate_at_64_queries_is_the_maximum() -> None:
    samples = [1_000_000 * (k + 1) for k in range(64)]
    random.Random(0).shuffle(samples)
    got = es.estimate(samples)
    assert got["estimate_ms"] == 64.0 and got["discarded"] == 0 and got["min_queries"] == 64
    assert "64 queries" in es.text(got)


def test_a_real_run_records_the_estimate_and_the_report_shows_it(tmp_path: Path) -> None:
    """The shipped digits model on ONNX Runtime, run until its median is known within +-2 %: the record carries
    the rule's outcome and LoadGen's p90 over every measured query (checked with scipy's binomial), the report
    prints it."""
    require("onnxruntime")
    binom = require("scipy.stats").binom
    from bench import models

    out = tmp_path / "r.jsonl"
    proc = run_cli(
        "run", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--framework", "onnx",
        "--until-stable", "2", "--max-time-s", "30", "--output", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    lat = rec["latency"]
    n = len(lat["raw_invoke_ns"])
    assert lat["stopping"]["rule"] == "until stable" and lat["stopping"]["reached"] is True
    assert rec["options"]["timing"]["until_stable_pct"] == 2.0
    half = max(
        lat["invoke"]["p50_ms"] - lat["invoke"]["median_ci_low_ms"],
        lat["invoke"]["median_ci_high_ms"] - lat["invoke"]["p50_ms"],
    )
    assert half <= 0.02 * lat["invoke"]["p50_ms"]
    es_rec = lat["early_stopping"]
    assert es_rec["queries"] == n == lat["invoke"]["count"]
    t = next(t for t in range(1, n) if not binom.cdf(t + 1, n, 0.1) < 0.01)  # the last t that passes
    assert es_rec["estimate_ms"] == sorted(lat["raw_invoke_ns"])[n - t] / 1e6
    assert "MLPerf early-stopping p90 (99% confidence)" in proc.stdout
    assert f"over {n:,} queries" in proc.stdout.replace("\n", " ")
    summary = json.loads(run_cli("report", str(out), "--format", "json").stdout)
    assert summary[0]["early_stopping_p90_ms"] == es_rec["estimate_ms"]
