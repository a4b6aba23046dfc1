"""The power sampler thread and the energy figures of a run.

The thread reads the source ``hz`` times a second and sleeps between reads (``Event.wait``), so it takes no CPU from
the measurement beyond the reads themselves (benchmarks/harness_overhead.py measures that). Each reading is tagged
with the phase it was taken in: ``idle`` (the window before the run, model loaded, nothing running), then the
harness's phases (``warm-up``, ``measure``; bench.harness.PHASE_LISTENERS calls :meth:`PowerSampler.phase` between
phases, never inside the timed loop), then ``done`` when the runner has the measurement back. Warm-up readings are
not used.

Energy per inference = mean watts over the measure phase x measured wall time / inferences measured; the above-idle
share uses (mean - idle) watts. A run with no reading in a phase says ``unavailable`` with the reason, never 0.
"""

from __future__ import annotations

import logging
import statistics
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
        self.failed = 0
        self._phase = "idle"
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="edgebench-power", daemon=True)

    def phase(self, name: str) -> None:
        """The phase the next readings belong to (a harness phase listener)."""
        self._phase = name

    def _read(self) -> None:
        phase = self._phase
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


def summarize(sampler: PowerSampler, inferences: int, measured_s: float, idle_s: float) -> Dict[str, Any]:
    """record["energy"] from the readings of one run."""
    out: Dict[str, Any] = {**sampler.source.describe(), "hz": sampler.hz, "idle_s": idle_s}
    idle, busy = sampler.watts("idle"), sampler.watts("measure")
    out["samples"] = {"idle": len(idle), "measure": len(busy), "failed_reads": sampler.failed}
    out["idle_w"] = statistics.fmean(idle) if idle else UNAVAILABLE
    if not busy or inferences < 1:
        out["mean_w"] = out["energy_mj_per_inference"] = out["above_idle_mj_per_inference"] = UNAVAILABLE
        out["reason"] = "no power reading during the measured phase (run shorter than one read period?)"
        return out
    mean_w = statistics.fmean(busy)
    out["mean_w"] = mean_w
    out["energy_mj_per_inference"] = mean_w * measured_s / inferences * 1000.0
    if idle:
        out["above_idle_mj_per_inference"] = (mean_w - out["idle_w"]) * measured_s / inferences * 1000.0
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
