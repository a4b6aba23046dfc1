"""The power sampler thread and the energy figures of a run.

The thread reads the source ``hz`` times a second and sleeps between reads (``Event.wait``), so it takes no CPU from
the measurement beyond the reads themselves (benchmarks/harness_overhead.py measures that). Each reading is tagged
with the phase it was taken in: ``idle`` (the window before the run, model loaded, nothing running), then the
harness's phases (``warm-up``, ``measure``; bench.harness.listening makes the harness call :meth:`PowerSampler.phase` between
phases, never inside the timed loop), then ``done`` when the runner has the measurement back. Warm-up readings are
not used.

A sensor that reads watts now (INA3221, PMIC, a meter) is tagged with the phase at the read. An energy counter
(RAPL, ``source.counter``) reads the mean power of the interval *before* the read, so a reading tagged at the read
would count the end of the previous phase into the next one (one read period late); the sampler therefore also reads
a counter at every phase change, tagging that reading with the phase that just ended, and a phase's mean power is its
joules over its seconds. Energy per inference = mean watts over the measure phase x measured wall time / inferences
measured; the above-idle share uses (mean - idle) watts, exactly 0 for a meter that read the same value throughout
(a difference below the readings' floating-point resolution is 0, not 4e-17). A run with no reading in a phase says
``unavailable`` with the reason, never 0.
"""

from __future__ import annotations

import logging
import math
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from bench.power.base import UNAVAILABLE, PowerSource

log = logging.getLogger(__name__)


class PowerSampler:
    """Reads ``source`` every 1/hz s in a sleeping thread; ``readings`` are (phase, watts)."""

    def __init__(self, source: PowerSource, hz: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.source, self.hz = source, hz
        self.readings: List[Tuple[str, float]] = []
        #: counters only: (phase, joules, seconds) per reading
        self.spans: List[Tuple[str, float, float]] = []
        self.failed = 0
        self._phase = "idle"
        self._clock = clock
        self._lock = threading.Lock()  # a phase change's read and the thread's read never interleave
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="edgebench-power", daemon=True)

    def phase(self, name: str) -> None:
        """The phase the next readings belong to (a harness phase listener). A counter is read first, so the
        interval up to now is the ending phase's."""
        with self._lock:
            if self.source.counter:
                self._read_locked()
            self._phase = name

    def _read(self) -> None:
        with self._lock:
            self._read_locked()

    def _read_locked(self) -> None:
        phase = self._phase
        if self.source.counter:
            span = self.source.read_span()
            watts = None if span is None else span[0] / span[1]
            if span is not None:
                self.spans.append((phase, span[0], span[1]))
        else:
            watts = self.source.read_w()
        if watts is None:
            self.failed += 1
        else:
            self.readings.append((phase, watts))

    def _loop(self) -> None:
        period = 1.0 / self.hz
        next_t = self._clock()
        while not self._stop.is_set():
            self._read()
            next_t += period
            delay = next_t - self._clock()
            if delay < 0:  # a slow read: keep the rate, do not catch up with a burst
                next_t, delay = self._clock(), 0.0
            self._stop.wait(delay)

    def start(self) -> PowerSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.source.close()

    def watts(self, phase: str) -> List[float]:
        return [w for p, w in self.readings if p == phase]

    def mean_w(self, phase: str) -> Optional[float]:
        """Mean watts of a phase: joules over seconds for a counter, the mean reading otherwise; None: no reading."""
        if self.source.counter:
            spans = [(j, s) for p, j, s in self.spans if p == phase]
            seconds = math.fsum(s for _, s in spans)
            return math.fsum(j for j, _ in spans) / seconds if spans and seconds > 0 else None
        return _mean(self.watts(phase))


def _mean(values: List[float]) -> Optional[float]:
    """The mean; exactly the value when all are equal (fmean of [3.3] * 3 is 3.3000000000000003)."""
    if not values:
        return None
    return values[0] if min(values) == max(values) else statistics.fmean(values)


def above_idle_w(mean_w: float, idle_w: float) -> float:
    """mean - idle, with a difference below the floating-point resolution of the two means as 0 (4 epsilon of the
    larger: 4 to 8 units in the last place; math.ulp is Python 3.9+, and bench runs on the Nano's 3.8)."""
    diff = mean_w - idle_w
    return 0.0 if abs(diff) <= 4 * sys.float_info.epsilon * max(abs(mean_w), abs(idle_w)) else diff


def summarize(sampler: PowerSampler, inferences: int, measured_s: float, idle_s: float) -> Dict[str, Any]:
    """record["energy"] from the readings of one run."""
    out: Dict[str, Any] = {**sampler.source.describe(), "hz": sampler.hz, "idle_s": idle_s}
    idle_w, mean_w = sampler.mean_w("idle"), sampler.mean_w("measure")
    out["samples"] = {
        "idle": len(sampler.watts("idle")),
        "measure": len(sampler.watts("measure")),
        "failed_reads": sampler.failed,
    }
    if sampler.source.counter:
        out["window"] = "counter read at the phase changes: mean power = joules / seconds of the phase"
    out["idle_w"] = UNAVAILABLE if idle_w is None else idle_w
    if mean_w is None or inferences < 1:
        out["mean_w"] = out["energy_mj_per_inference"] = out["above_idle_mj_per_inference"] = UNAVAILABLE
        out["reason"] = "no power reading during the measured phase (run shorter than one read period?)"
        return out
    out["mean_w"] = mean_w
    out["energy_mj_per_inference"] = mean_w * measured_s / inferences * 1000.0
    if idle_w is not None:
        out["above_idle_mj_per_inference"] = above_idle_w(mean_w, idle_w) * measured_s / inferences * 1000.0
    else:
        out["above_idle_mj_per_inference"] = UNAVAILABLE
        out["reason"] = "no idle reading (--idle-s 0)" if idle_s == 0 else "no reading in the idle window"
    return out


def unavailable(reason: str) -> Dict[str, Any]:
    """record["energy"] when there is no source: every figure says unavailable, with the reason."""
    fields = ("source", "label", "mean_w", "idle_w", "energy_mj_per_inference", "above_idle_mj_per_inference")
    return {**{k: UNAVAILABLE for k in fields}, "reason": reason}


def idle_window(sampler: Optional[PowerSampler], seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
    """Sleep ``seconds`` with the sampler in its idle phase (nothing else runs)."""
    if sampler is not None and seconds > 0:
        sampler.phase("idle")
        sleep(seconds)


def _median(values: List[Any]) -> Optional[float]:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(numbers) if numbers else None


def energy_text(energies: List[Dict[str, Any]]) -> Optional[str]:
    """One line for the report over the runs of one config (medians over rounds); None when no run measured it."""
    energies = [e for e in energies if e]
    total = _median([e.get("energy_mj_per_inference") for e in energies])
    if total is None:
        return None
    e0 = energies[0]
    above, mean_w, idle_w = (
        _median([e.get(k) for e in energies]) for k in ("above_idle_mj_per_inference", "mean_w", "idle_w")
    )
    text = f"energy {total:.4g} mJ/inference"
    text += f" ({above:.4g} above idle)" if above is not None else " (no idle reading)"
    text += f", {mean_w:.3g} W" + (f", idle {idle_w:.3g} W" if idle_w is not None else "")
    return text + f"; {e0.get('label')}: {e0.get('source')}, {e0.get('scope')}"
