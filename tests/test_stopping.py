"""The stopping rule (--until-stable, --mlperf-singlestream) on a fake clock that only moves when the fake runtime
works, so every timing is exact: the run goes on until the median is known within the bound, stops at the cap when
it cannot be, and the stability check between batches never enters a timed sample (bench/harness.py's contract)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bench import data, harness
from bench.config import Timing
from bench.errors import InputError

from .test_core_units import F32, FakeClock, FakeRuntime


class NoisyRuntime(FakeRuntime):
    """invoke costs 100 us +- a seeded uniform jitter of up to ``spread`` ns; prepare 10 ns and fetch 1000 ns."""

    def __init__(self, clock: FakeClock, spread: int) -> None:
        super().__init__(clock, F32, F32)
        self.rng, self.spread, self.costs = random.Random(7), spread, []

    def invoke(self) -> None:
        cost = 100_000 + self.rng.randint(-self.spread, self.spread)
        self.costs.append(cost)
        self.clock.now += cost
        self.y = 2 * self.x.astype(np.float32)


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(harness.time, "perf_counter_ns", c)
    return c


def _measure(rt: FakeRuntime, timing: Timing) -> harness.Measurement:
    return harness.measure(rt, data.adapt(np.ones((3, 2), np.float32), F32), timing)


def _half_width_pct(invoke_ns: list) -> float:
    """Half-width of the median's 95 % interval as the record reports it (bench.stats.summarize_ns)."""
    from bench.stats import summarize_ns

    s = summarize_ns(invoke_ns)
    return 100 * max(s["p50_ms"] - s["median_ci_low_ms"], s["median_ci_high_ms"] - s["p50_ms"]) / s["p50_ms"]


def test_until_stable_runs_on_until_the_median_is_known_within_the_bound(clock: FakeClock) -> None:
    base = Timing(warmup_runs=0, warmup_min_s=0, min_runs=30, min_time_s=0, max_time_s=600)
    fixed = _measure(NoisyRuntime(clock, 60_000), base)
    assert len(fixed.invoke_ns) == 30 and fixed.stopping == {"rule": "count and time"}
    assert _half_width_pct(fixed.invoke_ns) > 1.0  # 30 samples of +-60 % jitter: not known within 1 %

    stable = _measure(NoisyRuntime(clock, 60_000), Timing(0, 0, 30, 0, 600, until_stable_pct=1.0))
    assert len(stable.invoke_ns) > 30
    assert stable.stopping["rule"] == "until stable" and stable.stopping["reached"] is True
    assert stable.stopping["bound_pct"] == 1.0 and stable.stopping["checks"] >= 2
    assert _half_width_pct(stable.invoke_ns) <= 1.0
    # the median the rule saw is the samples' median (numpy, an independent computation)
    assert stable.stopping["median_ms"] == pytest.approx(np.median(np.array(stable.invoke_ns) / 1e6), rel=1e-12)


def test_until_stable_stops_at_the_cap_and_says_so(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    timing = Timing(0, 0, 10, 0, max_time_s=0.05, until_stable_pct=0.001)  # 50 ms of ~100 us runs: ~500 runs
    with caplog.at_level("WARNING", logger="bench.harness"):
        m = _measure(NoisyRuntime(clock, 60_000), timing)
    assert m.stopping["reached"] is False
    # the clock moves only in steps: the run ends with the first step that reaches the cap
    assert sum(m.e2e_ns[:-1]) < 50_000_000 <= sum(m.e2e_ns) == m.measured_ns
    assert any("stopped by --max-time-s" in r.getMessage() for r in caplog.records)


def test_the_stability_check_is_outside_every_timed_sample(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that costs 1 s of clock time changes no sample: invoke is the runtime's cost, e2e adds exactly
    prepare + fetch."""
    real = harness.stable_within

    def slow_check(invoke_ns: list, pct: float) -> dict:
        clock.now += 1_000_000_000
        return real(invoke_ns, pct)

    monkeypatch.setattr(harness, "stable_within", slow_check)
    rt = NoisyRuntime(clock, 60_000)
    m = _measure(rt, Timing(0, 0, 30, 0, 3600, until_stable_pct=1.0))
    assert m.stopping["checks"] >= 2 and m.stopping["check_s"] >= m.stopping["checks"] * 1.0
    # the first inference and the measured ones, in order: every sample is one call's own cost
    assert m.invoke_ns == rt.costs[1:]
    assert m.e2e_ns == [c + 1010 for c in rt.costs[1:]]


def test_mlperf_singlestream_sets_loadgens_minimums() -> None:
    t = Timing().mlperf_singlestream().validate()
    assert (t.min_time_s, t.min_runs) == (600.0, 64) and t.max_time_s >= 600.0
    longer = Timing(min_runs=5000, min_time_s=900, max_time_s=1000).mlperf_singlestream()
    assert (longer.min_time_s, longer.min_runs, longer.max_time_s) == (900, 5000, 1000)


@pytest.mark.parametrize("pct", [0, -1, 100])
def test_until_stable_refuses_a_bound_that_is_no_percentage(pct: float) -> None:
    with pytest.raises(InputError, match="--until-stable"):
        Timing(until_stable_pct=pct).validate()


def test_cli_builds_the_rule() -> None:
    from bench.cli import build_parser
    from bench.config import timing_from_args

    args = build_parser().parse_args(["run", "m.onnx", "d.npz", "--framework", "onnx", "--until-stable", "0.5"])
    assert timing_from_args(args).until_stable_pct == 0.5
    args = build_parser().parse_args(["compare", "m.onnx", "d.npz", "--configs", "onnx", "--mlperf-singlestream"])
    t = timing_from_args(args)
    assert (t.min_time_s, t.min_runs, t.until_stable_pct) == (600.0, 64, None)


def test_the_demo_runs_until_stable_so_a_quiet_machine_gets_no_noise_warning(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make bench` runs `bench demo`; its rule is --until-stable 2 (capped at 15 s a run). On a quiet machine (here:
    bounded jitter, no outliers) the fixed minimums leave the median's interval wider than the noise warning's 5 %,
    the demo's rule does not."""
    from bench.cli import build_parser
    from bench.compare import demo
    from bench.compare import rounds as compare_rounds
    from bench.config import DEMO_MAX_TIME_S, DEMO_STABLE_PCT
    from bench.stats import noise_warning, summarize_ns

    plans: list = []
    monkeypatch.setattr(compare_rounds, "execute", lambda plan, live=None: plans.append(plan) or [])
    demo.demo(["onnx"])
    demo_timing = plans[0].jobs[0].run.timing
    assert (demo_timing.until_stable_pct, demo_timing.max_time_s) == (2.0, 15.0) == (DEMO_STABLE_PCT, DEMO_MAX_TIME_S)
    args = build_parser().parse_args(["demo"])
    assert (args.until_stable, args.max_time_s) == (DEMO_STABLE_PCT, DEMO_MAX_TIME_S)
    assert demo_timing.min_time_s == args.min_time_s == 4.0, "at least 4 s a run: wall within 1.5x the timed work"

    fixed = _measure(NoisyRuntime(clock, 60_000), Timing(0, 0, 50, 0, 600))
    assert "interval" in (noise_warning(summarize_ns(fixed.invoke_ns)) or "")
    stable = _measure(NoisyRuntime(clock, 60_000), Timing(0, 0, 50, 0, demo_timing.max_time_s, until_stable_pct=2.0))
    assert stable.stopping["reached"] and noise_warning(summarize_ns(stable.invoke_ns)) is None
