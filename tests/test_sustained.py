"""Sustained runs and the thermal wait (bench/sustained.py): windows cut on a fake clock, machine state read from
the sysfs fixture trees of tests/fixtures/sysfs (fixture tests: no board), and one real 60 s run of the digits model
that writes its windows (the one slow test here, about 70 s)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List

import numpy as np
import pytest

from bench import sustained
from bench.errors import InputError
from bench.sustained import SustainedOptions

SYSFS = Path(__file__).parent / "fixtures" / "sysfs"


class FakeClock:
    """perf_counter_ns that advances only when a step runs (each step takes ``step_ns``, slower over time)."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _stepper(clock: FakeClock, latencies_ms: List[float]):
    def step(i: int) -> tuple:
        ms = latencies_ms[min(int(clock.now / 1e9), len(latencies_ms) - 1)]  # latency by elapsed second
        clock.now += int(ms * 1e6)
        return int(ms * 1e6), int(ms * 1e6), None

    return step


def test_windows_p50_p90_and_slowdown_on_a_fake_clock() -> None:
    clock = FakeClock()
    per_second = [10.0] * 10 + [12.0] * 10 + [15.0] * 10  # the board slows down as it heats
    out = sustained.run(_stepper(clock, per_second), 5, SustainedOptions(30, 10), root=SYSFS / "rpi5/idle", clock=clock)
    assert [w["index"] for w in out["windows"]] == [0, 1, 2]
    assert [w["p50_ms"] for w in out["windows"]] == [10.0, 12.0, 15.0]
    assert [w["count"] for w in out["windows"]] == [1000, 834, 667]
    assert out["slowdown"] == pytest.approx(1.5) and out["inferences"] == 1000 + 834 + 667
    assert out["windows"][0]["start_s"] == 0.0 and out["windows"][1]["start_s"] == pytest.approx(10.0)


def test_the_sustained_seconds_are_under_load_and_the_reads_between_windows_come_on_top(monkeypatch) -> None:
    """Each window's statistics and sensor reads take 0.5 s here (a slow read; 300 000 sorted latencies take about as
    long): 30 s of 10 ms steps still make three full windows of 1000 steps, and the run lasts 31 s."""
    clock = FakeClock()
    real = sustained._window

    def slow_window(*args):
        clock.now += 500_000_000
        return real(*args)

    monkeypatch.setattr(sustained, "_window", slow_window)
    out = sustained.run(_stepper(clock, [10.0]), 5, SustainedOptions(30, 10), root=SYSFS / "rpi5/idle", clock=clock)
    assert [w["count"] for w in out["windows"]] == [1000, 1000, 1000] and out["inferences"] == 3000
    assert [w["seconds"] for w in out["windows"]] == [10.0, 10.0, 10.0]
    assert [w["start_s"] for w in out["windows"]] == [0.0, 10.5, 21.0] and clock.now == 31_500_000_000


def test_window_state_from_board_fixtures() -> None:
    pi = sustained.machine_now(SYSFS / "rpi5/throttled")
    assert pi["temp_c"] == 85.15
    assert pi["throttle_flags"][:2] == ["soft-temperature-limit", "soft-temperature-limit-occurred"]  # 0x80008
    idle = sustained.machine_now(SYSFS / "rpi5/idle")
    assert idle["throttle_flags"] == [] and idle["gpu_mhz"] is None
    orin = sustained.machine_now(SYSFS / "jetson-orin/throttled")
    assert orin["gpu_mhz"] == 1020.0 and orin["temp_c"] is not None


def test_cpu_frequency_is_the_mean_over_cpus(tmp_path: Path) -> None:
    for cpu, khz in (("cpu0", 2400000), ("cpu1", 1500000)):
        d = tmp_path / f"sys/devices/system/cpu/{cpu}/cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_cur_freq").write_text(f"{khz}\n")
    assert sustained.cpu_mhz(tmp_path) == 1950.0
    assert sustained.cpu_mhz(tmp_path / "none") is None


def test_thermal_wait_records_what_it_saw() -> None:
    slept: List[float] = []
    temps = iter([70.0, 60.0, 49.0])
    out = sustained.wait_until_cool(50.0, 30.0, slept.append, lambda: next(temps))
    assert slept == [1.0, 1.0] and out == {
        "target_c": 50.0, "max_s": 30.0, "before_c": 70.0, "waited_s": 2.0, "after_c": 49.0, "reached": True
    }  # fmt: skip
    assert sustained.wait_until_cool(50.0, 30.0, slept.append, lambda: None)["reached"] is None


def test_bad_sustained_options() -> None:
    with pytest.raises(InputError, match="must be positive"):
        SustainedOptions(0).validate()
    with pytest.raises(InputError, match="longer than"):
        SustainedOptions(5, 10).validate()


def test_sixty_second_sustained_run_of_the_digits_model_writes_its_windows(tmp_path: Path) -> None:
    from bench.records import read_records

    from .conftest import require, run_cli

    require("onnxruntime")
    from bench import models

    out = tmp_path / "r.jsonl"
    done = run_cli(
        "run", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--framework", "onnx", "--output", str(out),
        "--min-runs", "20", "--min-time-s", "0.2", "--warmup-min-s", "0", "--threads", "1",
        "--sustained-s", "60", "--cooldown-to-c", "200",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = next(iter(read_records(out)))
    s = record["sustained"]
    assert s["seconds"] == 60 and s["window_s"] == 10.0 and len(s["windows"]) == 6
    assert [w["index"] for w in s["windows"]] == list(range(6))
    assert all(w["count"] > 100 and w["p90_ms"] >= w["p50_ms"] > 0 for w in s["windows"])
    assert sum(w["count"] for w in s["windows"]) == s["inferences"]
    assert 59.5 < sum(w["seconds"] for w in s["windows"]) < 61.0
    assert 0.2 < s["slowdown"] < 5.0  # the formula is checked on a known input above (fake clock: 1.5)
    assert record["latency"]["invoke"]["count"] < s["inferences"]  # the sustained phase is kept apart
    assert record["machine"]["cooldown"]["target_c"] == 200.0
    zones = [f for f in Path("/sys/class/thermal").glob("thermal_zone*/temp") if os.access(f, os.R_OK)]
    start = record["machine"]["start_temp_c"]
    assert start is None if not zones else 0.0 < start < 150.0, start
    json.dumps(record)
    # the report: the slowdown line under the runs table, and the latency/temperature chart
    shown = run_cli("report", str(out), "--plot", str(tmp_path / "plots"))
    assert shown.returncode == 0, shown.stderr
    assert f"sustained 60 s: slowdown {s['slowdown']:.3f}x (window p50 {s['windows'][0]['p50_ms']:.4g}" in shown.stdout
    assert (tmp_path / "plots" / "sustained_digits_cnn.png").stat().st_size > 10_000


def test_compare_passes_sustained_and_power_options_to_every_run(tmp_path: Path) -> None:
    from bench import cli, models

    args = cli.build_parser().parse_args(
        ["compare", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--configs", "onnx,tflite"]
        + ["--sustained-s", "30", "--window-s", "5", "--power-hz", "5", "--idle-s", "1", "--cooldown-to-c", "60"]
        + ["--output", str(tmp_path / "r.jsonl")]
    )
    plan = cli.compare_plan_of(args)
    assert {j.run.sustained for j in plan.jobs} == {SustainedOptions(30.0, 5.0)}
    assert {(j.run.power.hz, j.run.power.idle_s) for j in plan.jobs} == {(5.0, 1.0)}
    assert plan.protocol.cooldown_to_c == 60.0 and {j.run.cooldown for j in plan.jobs} == {None}  # compare waits


def test_sustained_phase_follows_the_measurement_and_stays_out_of_its_statistics(tmp_path: Path) -> None:
    from .conftest import require

    require("onnxruntime")
    from bench import harness, models, runner
    from bench.config import RunConfig, Timing
    from bench.power import PowerOptions

    phases: List[str] = []
    config = RunConfig(
        model=models.DIGITS_ONNX,
        data=models.DIGITS_TEST_DATA,
        framework="onnx",
        timing=Timing(warmup_runs=5, warmup_min_s=0.0, min_runs=20, min_time_s=0.2),
        power=PowerOptions(source="none"),
        sustained=SustainedOptions(1.0, 0.5),
    )
    with harness.listening(phases.append):
        record = runner.run(config)
    assert phases == ["warm-up", "measure", "sustained"]
    s = record.sustained
    assert len(s["windows"]) == 2 and s["inferences"] == sum(w["count"] for w in s["windows"])
    assert len(record.latency.raw_invoke_ns) == record.latency.invoke["count"] < s["inferences"]


def _board_tree(root: Path, temp_c: float, throttled_hex: str, passive_c: float = 85.0) -> None:
    """A minimal Pi-like sysfs tree: one thermal zone with a passive trip point, the firmware's get_throttled."""
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text(f"{round(temp_c * 1000)}\n")
    (zone / "trip_point_0_type").write_text("passive\n")
    (zone / "trip_point_0_temp").write_text(f"{round(passive_c * 1000)}\n")
    fw = root / "sys/devices/platform/soc/soc:firmware"
    fw.mkdir(parents=True, exist_ok=True)
    (fw / "get_throttled").write_text(throttled_hex + "\n")


def _heating_run(root: Path, states: List[tuple], latencies_ms: List[float]) -> tuple:
    """A 30 s run in 10 s windows on a fake clock; while window w runs, the board shows ``states[w]`` (temp, flags).
    Latencies cycle through ``latencies_ms``; returns (record["sustained"], the latencies of each window)."""
    clock = FakeClock()
    seen: List[List[float]] = [[], [], []]

    def step(i: int) -> tuple:
        w = min(int(clock.now / 10e9), 2)
        if not seen[w]:  # the first step of a window: the board's state changes
            _board_tree(root, *states[w])
        ms = latencies_ms[sum(map(len, seen)) % len(latencies_ms)]
        seen[w].append(ms)
        clock.now += int(ms * 1e6)
        return int(ms * 1e6), int(ms * 1e6), None

    return sustained.run(step, 7, SustainedOptions(30, 10), root=root, clock=clock), seen


def test_window_p90_max_temperature_and_throttled_from_a_heating_board(tmp_path: Path) -> None:
    latencies = [float(v) for v in range(1, 101)]  # 1..100 ms in turn: p50 and p90 differ from p99 and the mean
    states = [(60.0, "0"), (75.5, "80008"), (65.0, "0")]  # window 1: hottest and soft-throttled
    out, seen = _heating_run(tmp_path, states, latencies)
    for w, window_ms in zip(out["windows"], seen):
        assert w["count"] == len(window_ms)
        assert w["p50_ms"] == pytest.approx(float(np.percentile(window_ms, 50)))
        assert w["p90_ms"] == pytest.approx(float(np.percentile(window_ms, 90)))
    assert [w["temp_c"] for w in out["windows"]] == [60.0, 75.5, 65.0]
    assert out["max_temp_c"] == 75.5
    assert [bool(w["throttle_flags"]) for w in out["windows"]] == [False, True, False]
    assert out["throttled"] is True, "one throttled window makes the run throttled"
    cool, _ = _heating_run(tmp_path / "cool", [(50.0, "0")] * 3, latencies)
    assert cool["throttled"] is False and cool["max_temp_c"] == 50.0


def test_a_zone_exactly_at_its_passive_trip_point_is_throttling(tmp_path: Path) -> None:
    _board_tree(tmp_path / "at", 85.0, "0", passive_c=85.0)
    _board_tree(tmp_path / "below", 84.9, "0", passive_c=85.0)
    assert sustained.machine_now(tmp_path / "at")["throttle_flags"] == ["passive-trip-point"]
    assert sustained.machine_now(tmp_path / "below")["throttle_flags"] == []


def test_thermal_wait_goes_on_at_exactly_the_limit_and_stops_below_it() -> None:
    slept: List[float] = []
    temps = iter([50.0, 50.0, 49.9])
    out = sustained.wait_until_cool(50.0, 30.0, slept.append, lambda: next(temps))
    assert slept == [1.0, 1.0] and out["reached"] is True and out["after_c"] == 49.9
    slept.clear()
    out = sustained.wait_until_cool(50.0, 30.0, slept.append, lambda: 49.9)
    assert slept == [] and out["reached"] is True and out["waited_s"] == 0.0


def test_thermal_wait_is_capped_by_max_s() -> None:
    slept: List[float] = []
    out = sustained.wait_until_cool(50.0, 3.0, slept.append, lambda: 70.0)
    assert slept == [1.0, 1.0, 1.0] and out["reached"] is False and out["waited_s"] == 3.0


def test_sustained_options_edges() -> None:
    opts = SustainedOptions(10, 10)
    assert opts.validate() is opts, "a window as long as the run is one window"
    for bad in (SustainedOptions(0), SustainedOptions(-1), SustainedOptions(10, 0), SustainedOptions(10, -2)):
        with pytest.raises(InputError, match=r"^--sustained-s and --window-s must be positive\. Fix: pass e\.g\."):
            bad.validate()
    with pytest.raises(InputError, match=r"^--window-s 10\.5 is longer than --sustained-s 10\. Fix: use a shorter"):
        SustainedOptions(10, 10.5).validate()
    assert SustainedOptions(30).window_s == 10.0 and sustained.CooldownOptions(50).max_s == 300.0


def test_hottest_zone_is_the_maximum_over_zones(tmp_path: Path) -> None:
    for i, milli in enumerate((40500, 61200, 55000)):
        zone = tmp_path / f"sys/class/thermal/thermal_zone{i}"
        zone.mkdir(parents=True)
        (zone / "type").write_text("cpu\n")
        (zone / "temp").write_text(f"{milli}\n")
    assert sustained.hottest_c(tmp_path) == 61.2
    assert sustained.hottest_c(tmp_path / "none") is None


def test_thermal_wait_keeps_the_last_reading_when_a_read_fails() -> None:
    slept: List[float] = []
    temps = iter([70.0, None, 49.0])
    out = sustained.wait_until_cool(50.0, 30.0, slept.append, lambda: next(temps))
    assert out == {
        "target_c": 50.0, "max_s": 30.0, "before_c": 70.0, "waited_s": 2.0, "after_c": 49.0, "reached": True
    }  # fmt: skip
    assert sustained.wait_until_cool(50.0, 30.0, slept.append, lambda: None) == {
        "target_c": 50.0, "max_s": 30.0, "before_c": None, "waited_s": 0.0, "reached": None
    }  # fmt: skip


def _windows(p50s: List[float], temps: List[object]) -> List[dict]:
    return [{"p50_ms": p, "temp_c": t} for p, t in zip(p50s, temps)]


def test_sustained_text_by_hand() -> None:
    one = {"seconds": 60, "slowdown": 1.25, "windows": _windows([4.0, 5.0], [50.0, 71.25]), "throttled": False}
    assert sustained.sustained_text([one]) == "sustained 60 s: slowdown 1.250x (window p50 4 -> 5 ms, 50.0 -> 71.2 C)"
    hot = {"seconds": 60, "slowdown": 1.5, "windows": _windows([4.0, 6.0], [None, 80.0]), "throttled": True}
    assert sustained.sustained_text(
        [one, hot, {"seconds": 60, "slowdown": 2.0, "windows": _windows([1, 2], [1, 2])}]
    ) == ("sustained 60 s: slowdown 1.500x (window p50 1 -> 2 ms, 1.0 -> 2.0 C), THROTTLED, median of 3 runs")
    no_slowdown = {"seconds": 30, "slowdown": None, "windows": _windows([0.0, 1.0], [None, None])}
    assert sustained.sustained_text([no_slowdown]) == "sustained (window p50 0 -> 1 ms)"
    assert sustained.sustained_text([{}, {"windows": []}, None]) is None  # type: ignore[list-item]


def _constant(clock: FakeClock, ms: float, invoke_ms: List[float]) -> object:
    """Each step advances the clock by ``ms``; the recorded invoke time is taken in turn from ``invoke_ms``."""
    calls = [0]

    def step(i: int) -> tuple:
        clock.now += int(ms * 1e6)
        calls[0] += 1
        v = int(invoke_ms[min(int(calls[0] * ms / 10_000), len(invoke_ms) - 1)] * 1e6)  # per 10 s window
        return v, v, None

    return step


def test_windows_on_a_clock_that_does_not_start_at_zero_and_a_short_last_window() -> None:
    clock = FakeClock()
    clock.now = 5_000_000_000
    out = sustained.run(_constant(clock, 10.0, [0.5, 1.0]), 3, SustainedOptions(25, 10), SYSFS / "rpi5/idle", clock)
    assert [w["count"] for w in out["windows"]] == [1000, 1000, 500] and out["inferences"] == 2500
    assert [w["start_s"] for w in out["windows"]] == [0.0, 10.0, 20.0]
    assert [w["seconds"] for w in out["windows"]] == [10.0, 10.0, 5.0]
    assert (out["seconds"], out["window_s"]) == (25, 10)
    assert out["slowdown"] == 2.0, "a first window under 1 ms still gives a slowdown"
    clock.now = 0
    zero = sustained.run(_constant(clock, 10.0, [0.0, 1.0]), 3, SustainedOptions(20, 10), SYSFS / "rpi5/idle", clock)
    assert zero["windows"][0]["p50_ms"] == 0.0 and zero["slowdown"] is None


def test_thermal_wait_says_when_it_gives_up_or_cannot_read(caplog: pytest.LogCaptureFixture) -> None:
    out = sustained.wait_until_cool(50.0, 1.0, lambda s: None, lambda: 50.0)  # exactly at the limit: not cool
    assert out["reached"] is False and out["waited_s"] == 1.0
    assert [r.getMessage() for r in caplog.records] == ["still 50.0 C after waiting 1 s (--cooldown-max-s); going on"]
    caplog.clear()
    sustained.wait_until_cool(50.0, 1.0, lambda s: None, lambda: None)
    assert [r.getMessage() for r in caplog.records] == ["--cooldown-to-c: no readable thermal zone here; not waiting"]


def test_sustained_options_below_one_second_are_valid() -> None:
    assert SustainedOptions(0.5, 0.5).validate() == SustainedOptions(0.5, 0.5)


def test_sustained_text_reads_the_last_window_and_needs_both_temperatures() -> None:
    three = {"seconds": 30, "slowdown": 1.2, "windows": _windows([1.0, 9.0, 2.0], [40.0, 41.0, None])}
    other = {"seconds": 30, "slowdown": 1.4, "windows": _windows([1.0, 2.0], [40.0, 45.0])}
    assert sustained.sustained_text([other, three]) == (
        "sustained 30 s: slowdown 1.300x (window p50 1 -> 2 ms), median of 2 runs"
    )


def test_cpu_frequency_skips_an_unreadable_cpu_and_machine_now_reports_it(tmp_path: Path) -> None:
    for cpu, text in (("cpu0", "2400000"), ("cpu1", "n/a"), ("cpu2", "1500000"), ("cpu3", "")):
        d = tmp_path / f"sys/devices/system/cpu/{cpu}/cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_cur_freq").write_text(text + "\n")
    assert sustained.cpu_mhz(tmp_path) == 1950.0
    assert sustained.machine_now(tmp_path)["cpu_mhz"] == 1950.0
