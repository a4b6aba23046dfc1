"""The --until-stable stopping rule of bench/harness.py in its two pieces (mutation run of bench/harness.py):
stable_within on samples whose median and bootstrap interval are known by hand, and until_stable's batches, cap and
record on a fake clock with a scripted stability check, so batch sizes, run counts and times are exact."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

import pytest

from bench import harness


def test_stable_within_three_samples_interval_spans_min_to_max() -> None:
    # 1, 2 and 4 ms: median 2; a bootstrap median of 3 draws is 1 with probability 7/27 (at least two draws of 1),
    # 4 likewise, so the 2.5 % and 97.5 % points are 1 and 4; half width = 100 * max(2 - 1, 4 - 2) / 2 = 100 %
    state = harness.stable_within([4_000_000, 1_000_000, 2_000_000], 100.0)
    assert state == {"stable": True, "median_ms": 2.0, "ci_low_ms": 1.0, "ci_high_ms": 4.0, "half_width_pct": 100.0}
    assert harness.stable_within([4_000_000, 1_000_000, 2_000_000], 99.9)["stable"] is False


def test_stable_within_sub_millisecond_median() -> None:
    # 0.25, 0.5, 1 ms: median 0.5, interval 0.25..1 (as above): half = 100 * max(0.25, 0.5) / 0.5 = 100 %
    state = harness.stable_within([250_000, 500_000, 1_000_000], 5.0)
    assert state["half_width_pct"] == 100.0 and state["stable"] is False


def test_stable_within_zero_median_counts_as_stable() -> None:
    # all zero: the median is 0, the interval 0..0; the half width is taken as 0 (no division by a zero median)
    state = harness.stable_within([0, 0, 0], 0.0)
    assert state == {"stable": True, "median_ms": 0.0, "ci_low_ms": 0.0, "ci_high_ms": 0.0, "half_width_pct": 0.0}


class Clock:
    """perf_counter_ns that moves only when the fake step or the scripted check spends time."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


CHECK_NS = 5_000  #: what each scripted stability check costs on the clock
STEP_NS = 1_000  #: what each step costs


def _script(monkeypatch: pytest.MonkeyPatch, clock: Clock, outcomes: List[bool]) -> List[tuple]:
    """Replace stable_within by checks answering ``outcomes`` in turn (the last one repeated); returns the calls
    seen as (number of samples, pct)."""
    calls: List[tuple] = []

    def check(invoke_ns: List[int], pct: float) -> Dict[str, Any]:
        calls.append((len(invoke_ns), pct))
        clock.now += CHECK_NS
        stable = outcomes[min(len(calls), len(outcomes)) - 1]
        return {"stable": stable, "median_ms": 1.5, "ci_low_ms": 1.0, "ci_high_ms": 2.0, "half_width_pct": 7.5}

    monkeypatch.setattr(harness, "stable_within", check)
    return calls


def _run(monkeypatch: pytest.MonkeyPatch, runs: int, max_ns: int, outcomes: List[bool]) -> tuple:
    clock = Clock()
    monkeypatch.setattr(harness.time, "perf_counter_ns", clock)
    calls = _script(monkeypatch, clock, outcomes)
    seen: List[int] = []

    def step(i: int) -> tuple:
        seen.append(i)
        clock.now += STEP_NS
        return 100 + len(seen), 200 + len(seen), None

    m = harness.Measurement(outputs=None, invoke_ns=[7] * runs, e2e_ns=[9] * runs)  # type: ignore[arg-type]
    result = harness.until_stable(step, 7, m, clock.now, max_ns, 2.5)
    return result, m, calls, seen


def test_until_stable_batches_grow_by_a_fifth_until_stable(monkeypatch: pytest.MonkeyPatch) -> None:
    # 150 runs: batch int(150 * 0.2) = 30 -> 180, then int(180 * 0.2) = 36 -> 216; stable at the third check
    result, m, calls, seen = _run(monkeypatch, 150, 10**12, [False, False, True])
    assert calls == [(150, 2.5), (180, 2.5), (216, 2.5)]
    assert seen == [i % 7 for i in range(150, 216)]  # samples cycle on from where the measured runs stopped
    assert m.invoke_ns == [7] * 150 + [100 + k for k in range(1, 67)]
    assert m.e2e_ns == [9] * 150 + [200 + k for k in range(1, 67)]
    # three checks of 5000 ns each: 15000 ns = 1.5e-5 s
    assert result == {
        "rule": "until stable",
        "bound_pct": 2.5,
        "reached": True,
        "checks": 3,
        "check_s": 1.5e-5,
        "stable": True,
        "median_ms": 1.5,
        "ci_low_ms": 1.0,
        "ci_high_ms": 2.0,
        "half_width_pct": 7.5,
    }


def test_until_stable_small_runs_take_batches_of_twenty(monkeypatch: pytest.MonkeyPatch) -> None:
    # 10 runs: int(10 * 0.2) = 2 < 20, so a batch of 20 -> 30 runs at the second check
    result, m, calls, _ = _run(monkeypatch, 10, 10**12, [False, True])
    assert calls == [(10, 2.5), (30, 2.5)] and len(m.e2e_ns) == 30 and result["checks"] == 2


def test_until_stable_stops_at_the_cap_between_batches(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    # cap 30000 ns: check 1 ends at 5000; 20 steps to 25000 (< cap); check 2 ends at exactly 30000 >= cap: stop
    with caplog.at_level(logging.WARNING, logger="bench.harness"):
        result, m, calls, _ = _run(monkeypatch, 10, 30_000, [False])
    assert calls == [(10, 2.5), (30, 2.5)] and len(m.invoke_ns) == 30
    assert result["reached"] is False and result["checks"] == 2 and result["check_s"] == 1e-5
    assert caplog.messages == [
        "--until-stable 2.5: the median's interval is still +-7.50% after 30 runs; stopped by --max-time-s"
    ]


def test_until_stable_stops_at_the_cap_inside_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # cap 12000 ns: check 1 ends at 5000; steps reach 12000 (>= cap) after 7 of the 20: batch cut, 17 runs; check 2
    result, m, calls, seen = _run(monkeypatch, 10, 12_000, [False])
    assert calls == [(10, 2.5), (17, 2.5)] and len(seen) == 7 and len(m.invoke_ns) == 17
    assert result["reached"] is False and result["checks"] == 2
