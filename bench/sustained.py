"""Sustained runs (``--sustained-s``) and the thermal wait before a run (``--cooldown-to-c``).

A sustained run follows the normal measurement: the model runs back to back for S seconds, cut into windows of
``--window-s`` (default 10 s); the S seconds are the windows' sum, so the statistics and sensor reads between windows
(a few hundred milliseconds for a window of 300 000 fast inferences) lengthen the run instead of shortening the load.
Each window keeps the invoke-time p50 and p90 of its inferences and, read between windows (never inside a timed
step): the hottest thermal zone, the CPU frequency (mean of ``scaling_cur_freq`` over the CPUs), the Jetson GPU
frequency where devfreq shows it, and throttle flags (the Pi firmware's bits, a zone at its passive trip point). The
sustained slowdown is the last window's p50 over the first's: 1.0 means no slowdown, 1.3 means the board got 30%
slower as it heated.

The thermal wait reads the hottest zone (bench.machine.thermal) once a second until it is below the limit or the cap
is reached; ``bench compare`` pauses between runs with the same function.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bench import machine
from bench.errors import InputError
from bench.stats import percentile

log = logging.getLogger(__name__)

DEFAULT_WINDOW_S = 10.0
#: the thermal wait polls the zones this often
COOLDOWN_POLL_S = 1.0
#: --cooldown-max-s default: a board in a hot room never cools, so the wait is capped
DEFAULT_COOLDOWN_MAX_S = 300.0


@dataclass(frozen=True)
class SustainedOptions:
    seconds: float
    window_s: float = DEFAULT_WINDOW_S

    def validate(self) -> SustainedOptions:
        if self.seconds <= 0 or self.window_s <= 0:
            raise InputError("--sustained-s and --window-s must be positive", "pass e.g. --sustained-s 300")
        if self.window_s > self.seconds:
            raise InputError(
                f"--window-s {self.window_s} is longer than --sustained-s {self.seconds}", "use a shorter window"
            )
        return self


@dataclass(frozen=True)
class CooldownOptions:
    to_c: float
    max_s: float = DEFAULT_COOLDOWN_MAX_S


def hottest_c(root: Path = machine.DEFAULT_ROOT) -> Optional[float]:
    zones = machine.thermal(root)
    return max(z["temp_c"] for z in zones) if zones else None


def wait_until_cool(
    limit_c: float,
    max_s: float,
    sleep: Callable[[float], None] = time.sleep,
    read: Callable[[], Optional[float]] = hottest_c,
) -> Dict[str, Any]:
    """Wait (capped) until the hottest zone is below ``limit_c``; what was seen, for the record."""
    temp, waited = read(), 0.0
    out: Dict[str, Any] = {"target_c": limit_c, "max_s": max_s, "before_c": temp}
    if temp is None:
        log.warning("--cooldown-to-c: no readable thermal zone here; not waiting")
        return {**out, "waited_s": 0.0, "reached": None}
    while temp >= limit_c and waited < max_s:
        sleep(COOLDOWN_POLL_S)
        waited += COOLDOWN_POLL_S
        temp = read() or temp
    if temp >= limit_c:
        log.warning("still %.1f C after waiting %.0f s (--cooldown-max-s); going on", temp, waited)
    return {**out, "waited_s": waited, "after_c": temp, "reached": temp < limit_c}


def cpu_mhz(root: Path = machine.DEFAULT_ROOT) -> Optional[float]:
    """Mean current CPU frequency over the CPUs that show one (cpufreq ``scaling_cur_freq``, kHz)."""
    values = []
    for f in (root / "sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq"):
        try:
            values.append(int(f.read_text().strip()) / 1000.0)
        except (OSError, ValueError):
            continue
    return statistics.fmean(values) if values else None


def machine_now(root: Path = machine.DEFAULT_ROOT) -> Dict[str, Any]:
    """Temperature, clocks and throttle flags now (a few sysfs reads)."""
    zones = machine.thermal(root)
    flags = machine.throttle_flags(machine.read_throttled(machine.throttled_file(root)))
    if any(z["passive_trip_c"] is not None and z["temp_c"] >= z["passive_trip_c"] for z in zones):
        flags.append("passive-trip-point")
    gpu = machine.jetson_gpu(root)
    return {
        "temp_c": max((z["temp_c"] for z in zones), default=None),
        "cpu_mhz": cpu_mhz(root),
        "gpu_mhz": gpu.get("cur_mhz") if gpu else None,
        "throttle_flags": flags,
    }


def run(
    step: Callable[[int], tuple],
    n: int,
    options: SustainedOptions,
    root: Path = machine.DEFAULT_ROOT,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> Dict[str, Any]:
    """Run ``step`` (bench.harness.step_fn) back to back for ``options.seconds``; record["sustained"]."""
    total_ns, window_ns = int(options.seconds * 1e9), int(options.window_s * 1e9)
    windows: List[Dict[str, Any]] = []
    start = clock()
    i = covered = 0  # covered: the model's time under load, the windows' sum; the reads between them are not in it
    while covered < total_ns:
        w_start = clock()
        invoke: List[int] = []
        limit = min(window_ns, total_ns - covered)  # this window's length: the last one ends the S seconds
        while clock() - w_start < limit:
            inv, _, _ = step(i % n)
            invoke.append(inv)
            i += 1
        w_end = clock()
        covered += w_end - w_start
        if invoke:
            windows.append(_window(len(windows), (w_start - start) / 1e9, (w_end - w_start) / 1e9, invoke, root))
    first, last = windows[0]["p50_ms"], windows[-1]["p50_ms"]
    return {
        "seconds": options.seconds,
        "window_s": options.window_s,
        "inferences": i,
        "windows": windows,
        "slowdown": last / first if first > 0 else None,
        "max_temp_c": max((w["temp_c"] for w in windows if w["temp_c"] is not None), default=None),
        "throttled": any(w["throttle_flags"] for w in windows),
    }


def _window(index: int, start_s: float, seconds: float, invoke_ns: List[int], root: Path) -> Dict[str, Any]:
    ms = sorted(v / 1e6 for v in invoke_ns)
    return {
        "index": index,
        "start_s": start_s,
        "seconds": seconds,
        "count": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        **machine_now(root),
    }


def sustained_text(runs: List[Dict[str, Any]]) -> Optional[str]:
    """One line for the report over the runs of one config: median slowdown, first and last window p50, heat."""
    runs = [s for s in runs if s and s.get("windows")]
    if not runs:
        return None
    slowdowns = [s["slowdown"] for s in runs if s.get("slowdown") is not None]
    s = runs[-1]
    first, last = s["windows"][0], s["windows"][-1]
    text = f"sustained {s['seconds']:g} s: slowdown {statistics.median(slowdowns):.3f}x" if slowdowns else "sustained"
    text += f" (window p50 {first['p50_ms']:.4g} -> {last['p50_ms']:.4g} ms"
    if first.get("temp_c") is not None and last.get("temp_c") is not None:
        text += f", {first['temp_c']:.1f} -> {last['temp_c']:.1f} C"
    text += ")" + (", THROTTLED" if any(r.get("throttled") for r in runs) else "")
    return text + (f", median of {len(slowdowns)} runs" if len(slowdowns) > 1 else "")
