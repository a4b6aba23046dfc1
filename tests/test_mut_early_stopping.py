"""bench/early_stopping.py beyond LoadGen's defaults, in process (fast, for the mutation run): the report lines by
hand, the median of several runs against numpy, the series and the regularized beta against closed forms and scipy,
and other percentiles / confidences against exact binomial sums in rational arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from bench import early_stopping as es
from tests.conftest import require


def cdf(n: int, t: int, q: Fraction) -> Fraction:
    """P(at most t of n queries are over) when each is over with probability q, exactly."""
    return sum(math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(t + 1))


def last_passing(n: int, q: Fraction, limit: Fraction) -> int:
    """The largest t with P(at most t of n over) < limit, summing the binomial terms once."""
    term, total, t = (1 - q) ** n, Fraction(0), 0
    while True:
        total += term
        term = term * (n - t) * q / ((t + 1) * (1 - q))
        if t >= 1 and total + term >= limit:
            return t
        t += 1


def section(ms: float | None, queries: int, confidence: float = 0.99) -> dict:
    if ms is None:
        return {"estimate_ms": None, "queries": queries, "unavailable": f"{queries} queries; needs at least 64"}
    return {"estimate_ms": ms, "queries": queries, "confidence": confidence}


def test_text_of_one_run_by_hand() -> None:
    assert es.text({}) == ""
    assert es.text(section(1.23456, 1234)) == "MLPerf early-stopping p90 (99% confidence): 1.235 ms over 1,234 queries"
    assert es.text(section(20.0, 64, confidence=0.95)).startswith(
        "MLPerf early-stopping p90 (95% confidence): 20.00 ms"
    )
    assert es.text(section(None, 12)) == "MLPerf early-stopping p90: unavailable (12 queries; needs at least 64)"
    assert es.text({"estimate_ms": None}) == "MLPerf early-stopping p90: unavailable (no estimate)"
    # a section without a confidence is LoadGen's 99 %
    assert "(99% confidence)" in es.text({"estimate_ms": 2.0, "queries": 100})


def test_group_text_ranges_over_runs_by_hand() -> None:
    assert es.group_text([]) == "" and es.group_text([{}, {}]) == ""
    one = section(1.5, 100)
    assert es.group_text([{}, one]) == es.text(one)
    runs = [section(2.0, 2000), section(1.0, 100), section(3.0, 150)]
    assert es.group_text(runs) == (
        "MLPerf early-stopping p90 (99% confidence): 1.000-3.000 ms over 100-2,000 queries (3 runs)"
    )
    short = [section(None, 10), section(4.0, 1000, 0.95), section(None, 20), section(5.0, 70, 0.95)]
    assert es.group_text(short) == (
        "MLPerf early-stopping p90 (95% confidence): 4.000-5.000 ms over 70-1,000 queries (2 runs); "
        "2 run(s) too short for one"
    )
    none = [section(None, 10), section(None, 20)]
    assert es.group_text(none) == "MLPerf early-stopping p90: unavailable (10 queries; needs at least 64)"
    assert "(99% confidence)" in es.group_text(
        [{"estimate_ms": 1.0, "queries": 64}, {"estimate_ms": 2.0, "queries": 64}]
    )


@pytest.mark.parametrize(
    "values", [[3.0], [5.0, 1.0], [2.0, 9.0, 4.0], [7.0, 1.0, 3.0, 2.0], [1.0, 1.5, 8.0, 2.5, 0.5]]
)
def test_median_of_runs_is_numpys_median(values: list) -> None:
    sections = [section(v, 100) for v in values] + [section(None, 3), {}]
    assert es.median_estimate_ms(sections) == pytest.approx(float(np.median(values)), rel=1e-15)


def test_median_of_no_estimate_is_none() -> None:
    assert es.median_estimate_ms([]) is None
    assert es.median_estimate_ms([section(None, 3), {}]) is None


def test_series_against_closed_forms() -> None:
    for x in (-0.9, -0.3, 0.25, 0.6):
        # 2F1(1, 1; 2; x) = -ln(1 - x) / x
        assert es.hypergeometric_2f1_a1(1, 2, x) == pytest.approx(-math.log1p(-x) / x, rel=1e-9)
        # 2F1(1, b; b; x) = 1 / (1 - x)
        assert es.hypergeometric_2f1_a1(3, 3, x) == pytest.approx(1 / (1 - x), rel=1e-9)
    # b = 0 and b = -1 end the series: 1, and 1 - x / c
    assert es.hypergeometric_2f1_a1(0, 5, -7.0) == 1.0
    assert es.hypergeometric_2f1_a1(-1, 4, -3.0) == pytest.approx(1 + 3.0 / 4)
    # b = -2: 1 + (-2) x / c + (-2)(-1) x^2 / (c (c + 1))
    assert es.hypergeometric_2f1_a1(-2, 3, -2.0) == pytest.approx(1 + 4 / 3 + 2 * 4 / 12)


def test_beta_regularized_against_scipy_and_lbeta_by_hand() -> None:
    betainc = require("scipy.special").betainc
    for x, a, b in ((0.9, 63, 2), (0.8, 10, 3), (0.5, 4, 7), (0.95, 200, 12), (0.3, 2, 1)):
        assert es.beta_regularized(x, a, b) == pytest.approx(float(betainc(a, b, x)), rel=1e-9)
    assert es.lbeta(3, 4) == pytest.approx(math.log(math.factorial(2) * math.factorial(3) / math.factorial(6)))


@pytest.mark.parametrize("p, d, c", [(0.8, 0.0, 0.99), (0.9, 0.05, 0.95), (0.95, 0.0, 0.9)])
def test_other_settings_against_exact_binomial(p: float, d: float, c: float) -> None:
    q = 1 - Fraction(p - d).limit_denominator(1000)
    for h, t in ((20, 1), (60, 4), (150, 9)):
        assert es.odds(h, t, p, d) == pytest.approx(float(cdf(h + t, t, q)), rel=1e-9)
    need = next(n for n in range(2, 1000) if cdf(n, 1, q) < 1 - Fraction(c).limit_denominator(1000))
    assert es.min_queries(p, d, c) == need
    assert es.discarded_count(need - 1, p, d, c) is None
    assert es.discarded_count(need, p, d, c) == 1
    limit = 1 - Fraction(c).limit_denominator(1000)
    for n in (need + 1, 3 * need, 400):
        t = last_passing(n, q, limit)
        assert es.discarded_count(n, p, d, c) == t
        assert es.passes(n, t, p, d, c) and not es.passes(n, t + 1, p, d, c)
    assert not es.passes(5, 5, p, d, c)  # no query under the estimate


def test_estimate_below_the_minimum_says_how_many_it_needs() -> None:
    got = es.estimate([1_000_000] * 10)
    assert got["estimate_ms"] is None and got["queries"] == 10 and got["min_queries"] == 64
    assert got["unavailable"] == "10 queries; LoadGen's early stopping needs at least 64"
    assert "discarded" not in got
    assert (got["percentile"], got["confidence"], got["tolerance"]) == (0.9, 0.99, 0.0)
    assert got["source"] == es.SOURCE


def test_estimate_at_200_queries_discards_the_highest_by_hand() -> None:
    # exact binomial: the last t with P(Binomial(200, 0.1) <= t) < 0.01 (t = 10: 0.00807, t = 11: 0.01679)
    assert float(cdf(200, 10, Fraction(1, 10))) < 0.01 <= float(cdf(200, 11, Fraction(1, 10)))
    samples = [1_000_000 * (k + 1) for k in range(200)]  # 1 ms .. 200 ms
    got = es.estimate(list(reversed(samples)))
    assert got["discarded"] == 9 and got["estimate_ms"] == 191.0  # sorted index 200 - 10


def test_one_query_under_can_be_enough_at_a_low_confidence() -> None:
    """By hand, p = 0.5, d = 0, c = 0.05: passes(n, t) holds when P(Binomial(n, 0.5) <= t) < 0.95. n = 2, t = 1:
    1 - 1/4 = 0.75; n = 3, t = 2: 1 - 1/8 = 0.875; so h = 1 query under suffices and LoadGen's minimum is h + 1 = 2,
    and with 3 queries the estimate discards 2 (t = n - 1 is the last that can pass: one query must be under)."""
    p, d, c = 0.5, 0.0, 0.05
    assert float(cdf(2, 1, Fraction(1, 2))) == 0.75 and float(cdf(3, 2, Fraction(1, 2))) == 0.875
    assert es.min_queries(p, d, c) == 2
    assert es.passes(2, 1, p, d, c) and es.passes(3, 2, p, d, c)
    assert es.discarded_count(3, p, d, c) == 2
