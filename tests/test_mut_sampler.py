"""The energy figures of a run (bench/power/sampler.py) from readings scripted here, no thread: the whole
``record["energy"]`` by hand for a watt meter and for an energy counter, the unavailable cases, the exact mean of
equal readings, the above-idle zero band at its edge (4 epsilon of the larger mean, by hand in binary floating
point), and the idle window."""

from __future__ import annotations

import sys
from typing import List, Optional, Tuple

import pytest

from bench.power.base import MEASURED, PowerSource
from bench.power.sampler import PowerSampler, above_idle_w, idle_window, summarize

EPS = sys.float_info.epsilon


class Meter(PowerSource):
    name, label, scope = "meter", MEASURED, "scripted meter"

    def __init__(self, values: List[Optional[float]]) -> None:
        self.values = list(values)

    def read_w(self) -> Optional[float]:
        return self.values.pop(0)


class Counter(PowerSource):
    name, label, scope, counter = "ctr", "estimate", "scripted counter", True

    def __init__(self, spans: List[Optional[Tuple[float, float]]]) -> None:
        self.spans = list(spans)

    def read_span(self) -> Optional[Tuple[float, float]]:
        return self.spans.pop(0)


def _sampled(source: PowerSource, idle: int, measure: int) -> PowerSampler:
    s = PowerSampler(source, hz=20.0)
    for _ in range(idle):
        s._read()
    s.phase("measure")
    for _ in range(measure):
        s._read()
    return s


def test_meter_energy_record_by_hand() -> None:
    s = _sampled(Meter([2.0, 2.0, None, 5.0, 7.0]), idle=3, measure=2)
    assert summarize(s, inferences=1, measured_s=0.5, idle_s=0.25) == {
        "source": "meter",
        "label": "measured",
        "scope": "scripted meter",
        "hz": 20.0,
        "idle_s": 0.25,
        "samples": {"idle": 2, "measure": 2, "failed_reads": 1},
        "idle_w": 2.0,
        "mean_w": 6.0,
        "energy_mj_per_inference": 3000.0,  # 6 W x 0.5 s / 1 inference, in mJ
        "above_idle_mj_per_inference": 2000.0,  # (6 - 2) W x 0.5 s
    }


def test_counter_energy_record_by_hand() -> None:
    # idle: 1 J over 0.5 s; the phase change reads the counter (tagged idle): 0.5 J over 0.25 s -> 1.5 J / 0.75 s
    s = PowerSampler(Counter([(1.0, 0.5), (0.5, 0.25), (3.0, 0.5), (3.0, 0.5)]), hz=10.0)
    s._read()
    s.phase("measure")
    s._read()
    s._read()
    e = summarize(s, inferences=2, measured_s=1.0, idle_s=0.75)
    assert e["idle_w"] == 2.0 and e["mean_w"] == 6.0  # 6 J / 1 s
    assert e["energy_mj_per_inference"] == 3000.0 and e["above_idle_mj_per_inference"] == 2000.0
    assert e["window"] == "counter read at the phase changes: mean power = joules / seconds of the phase"
    assert s.mean_w("warm-up") is None  # no span in that phase: no value, no division by zero
    assert s.readings == [("idle", 2.0), ("idle", 2.0), ("measure", 6.0), ("measure", 6.0)]  # J / s of each span
    assert e["samples"] == {"idle": 2, "measure": 2, "failed_reads": 0}
    s.source.spans = [None, None]  # a counter read that failed (or the first one): counted as failed, no reading
    s._read()
    s._read()
    assert s.failed == 2 and len(s.readings) == 4


def test_counter_with_no_time_in_a_phase_has_no_mean() -> None:
    s = PowerSampler(Counter([(0.0, 0.0)]), hz=10.0)
    s.spans.append(("idle", 0.0, 0.0))
    assert s.mean_w("idle") is None


def test_no_measured_reading_or_no_inference_is_unavailable() -> None:
    reason = "no power reading during the measured phase (run shorter than one read period?)"
    e = summarize(_sampled(Meter([3.0]), idle=1, measure=0), inferences=10, measured_s=1.0, idle_s=1.0)
    assert (e["idle_w"], e["mean_w"], e["reason"]) == (3.0, "unavailable", reason)
    assert e["energy_mj_per_inference"] == e["above_idle_mj_per_inference"] == "unavailable"
    e = summarize(_sampled(Meter([3.0, 4.0]), idle=1, measure=1), inferences=0, measured_s=1.0, idle_s=1.0)
    assert e["mean_w"] == "unavailable" and e["reason"] == reason


def test_no_idle_reading() -> None:
    e = summarize(_sampled(Meter([4.0]), idle=0, measure=1), inferences=4, measured_s=1.0, idle_s=0)
    assert e["idle_w"] == "unavailable" and e["energy_mj_per_inference"] == 1000.0
    assert e["above_idle_mj_per_inference"] == "unavailable" and e["reason"] == "no idle reading (--idle-s 0)"
    e = summarize(_sampled(Meter([4.0]), idle=0, measure=1), inferences=4, measured_s=1.0, idle_s=2.0)
    assert e["reason"] == "no reading in the idle window"


def test_mean_of_different_readings_and_of_equal_ones() -> None:
    assert _sampled(Meter([1.0, 2.0]), idle=2, measure=0).mean_w("idle") == 1.5
    assert (
        _sampled(Meter([3.3, 3.3, 3.3]), idle=3, measure=0).mean_w("idle") == 3.3
    )  # fmean would give 3.3000000000000003


def test_above_idle_zero_band_edges() -> None:
    assert above_idle_w(1.0 - 4 * EPS, 1.0) == 0.0  # exactly 4 epsilon of the larger (1.0): inside
    assert above_idle_w(1.0 - 5 * EPS, 1.0) == -5 * EPS  # just outside
    assert above_idle_w(2.0 - 8 * EPS, 2.0) == 0.0  # 4 epsilon of 2.0 is 8 epsilon
    assert above_idle_w(6.0, 2.0) == 4.0


def test_idle_window_tags_the_idle_phase_and_sleeps() -> None:
    slept: List[float] = []
    s = PowerSampler(Meter([1.0, 1.0]), hz=10.0)
    s.phase("measure")
    idle_window(s, 0.0, sleep=slept.append)  # no idle window asked: nothing happens
    s._read()
    idle_window(s, 0.5, sleep=slept.append)
    s._read()
    assert slept == [0.5] and [p for p, _ in s.readings] == ["measure", "idle"]
    idle_window(None, 2.0, sleep=slept.append)  # no sampler: no sleep
    assert slept == [0.5]


@pytest.mark.parametrize("seconds", [0.25, 1.0])
def test_idle_window_sleeps_any_positive_time(seconds: float) -> None:
    slept: List[float] = []
    idle_window(PowerSampler(Meter([]), hz=10.0), seconds, sleep=slept.append)
    assert slept == [seconds]


def test_the_sampler_thread_is_a_named_daemon_and_keeps_its_rate_after_slow_reads() -> None:
    import threading
    import time

    class Slow(Meter):
        def read_w(self) -> Optional[float]:
            time.sleep(0.03)  # longer than the 20 ms period
            return 1.0

    s = PowerSampler(Slow([]), hz=50.0).start()
    try:
        (thread,) = [t for t in threading.enumerate() if t.name == "edgebench-power"]
        assert thread.daemon  # a hung sensor never keeps the process alive
        time.sleep(0.4)
    finally:
        s.stop()
    assert len(s.readings) >= 5  # back to back after a slow read, not a pause of a second
    assert s.failed == 0
