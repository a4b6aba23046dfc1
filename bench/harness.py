"""The measurement loop. The harness owns the clock; runtimes never time themselves.

Per inference, four ``perf_counter_ns`` reads bound one region:
``t0 | sample + quantize + prepare | t1 | invoke | t2 | fetch + dequantize | t3``
``invoke = t2 - t1`` is the runtime call alone, ``e2e = t3 - t0`` the whole inference.
Load and the first inference are timed separately and never enter steady-state statistics.
With ``--until-stable PCT`` the run goes on in batches after its minimums; the stability check (a sort and the
median's bootstrap interval) runs between batches, outside every timed region, and the batch loop is the same
``step`` as above.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import numpy as np

from bench.config import Timing
from bench.data import Adapted, dequantize
from bench.infer import unbatch as _unbatch
from bench.runtimes.base import Runtime, RuntimeOptions
from bench.stats import median_interval, percentile

log = logging.getLogger(__name__)

#: the listeners registered by :func:`listening`, in order; never touched elsewhere
_listeners: List[Callable[[str], None]] = []


@contextmanager
def listening(listener: Callable[[str], None]) -> Iterator[None]:
    """Within the block, ``listener`` is called with each phase's name: "warm-up", then "measure" by
    :func:`measure` (and "sustained" by the runner), between phases and never inside a timed loop. Listeners: the
    compare's progress display, the power sampler, the profiler, a compare child's pipe. Removed on leaving the block,
    whatever happens."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def listeners() -> Tuple[Callable[[str], None], ...]:
    """The listeners registered now, in order."""
    return tuple(_listeners)


def phase(name: str) -> None:
    """Tell every listener that phase ``name`` starts."""
    for listener in list(_listeners):
        listener(name)


@dataclass
class Measurement:
    outputs: np.ndarray  # one dequantized output per data sample, in order, batch dimension dropped
    invoke_ns: List[int] = field(default_factory=list)
    e2e_ns: List[int] = field(default_factory=list)
    load_ns: int = 0
    first_inference_ns: int = 0
    warmup_runs: int = 0
    warmup_ns: int = 0
    measured_ns: int = 0
    #: how the measurement stopped: rule ("count and time" or "until stable"), and for the latter the bound, whether
    #: it was reached, the checks made and the interval at the last one
    stopping: Dict[str, Any] = field(default_factory=dict)


def timed_setup(runtime: Runtime) -> int:
    """Import the runtime's framework; return the wall time it took in ns."""
    t0 = time.perf_counter_ns()
    runtime.setup()
    return time.perf_counter_ns() - t0


def timed_load(runtime: Runtime, model: Path, options: RuntimeOptions) -> int:
    """Load the model; return the wall time it took in ns."""
    t0 = time.perf_counter_ns()
    runtime.load(model, options)
    return time.perf_counter_ns() - t0


def step_fn(runtime: Runtime, data: Adapted) -> Callable[[int], tuple]:
    """One timed inference on sample ``i``: returns (invoke_ns, e2e_ns, output)."""
    pc = time.perf_counter_ns
    prepare, invoke, fetch = runtime.prepare, runtime.invoke, runtime.fetch
    out_spec = runtime.output
    deq = out_spec.quantized
    if data.quantize:
        sample = data.sample
    else:
        views = data.batches()
        sample = views.__getitem__

    def step(i: int) -> tuple:
        t0 = pc()
        prepare(sample(i))
        t1 = pc()
        invoke()
        t2 = pc()
        y = fetch()
        if deq:
            y = dequantize(y, out_spec)
        t3 = pc()
        return t2 - t1, t3 - t0, y

    return step


def measure(runtime: Runtime, data: Adapted, timing: Timing) -> Measurement:
    """First inference, warm-up, then the measured runs over every sample (quality) and beyond (latency)."""
    n = len(data)
    step = step_fn(runtime, data)
    pc = time.perf_counter_ns
    m = Measurement(outputs=np.empty(0))

    phase("warm-up")
    _, m.first_inference_ns, _ = step(0)

    max_ns = int(timing.max_time_s * 1e9)
    start = pc()
    runs = 0
    min_ns = int(timing.warmup_min_s * 1e9)
    while runs < timing.warmup_runs or pc() - start < min_ns:
        step(runs % n)
        runs += 1
        if pc() - start >= max_ns:
            log.warning("warm-up stopped by --max-time-s after %d runs", runs)
            break
    m.warmup_runs, m.warmup_ns = runs, pc() - start

    phase("measure")
    outputs = []
    invoke_ns, e2e_ns = m.invoke_ns, m.e2e_ns
    start = pc()
    for i in range(n):  # every sample once, for quality; always completes
        inv, e2e, y = step(i)
        invoke_ns.append(inv)
        e2e_ns.append(e2e)
        outputs.append(_unbatch(y))
    min_ns = int(timing.min_time_s * 1e9)
    i = 0
    while len(invoke_ns) < timing.min_runs or pc() - start < min_ns:  # cycle for latency only
        if pc() - start >= max_ns:
            log.warning("measurement stopped by --max-time-s after %d runs", len(invoke_ns))
            break
        inv, e2e, _ = step(i % n)
        invoke_ns.append(inv)
        e2e_ns.append(e2e)
        i += 1
    m.stopping = {"rule": "count and time"}
    if timing.until_stable_pct is not None:
        m.stopping = until_stable(step, n, m, start, max_ns, timing.until_stable_pct)
    m.measured_ns = pc() - start
    m.outputs = np.stack([np.asarray(o) for o in outputs])
    return m


#: --until-stable: the next check comes after this share more samples (the interval narrows as 1/sqrt(n)) ...
STABLE_GROWTH = 0.2
#: ... and at least this many
STABLE_MIN_BATCH = 20


def stable_within(invoke_ns: List[int], pct: float) -> Dict[str, Any]:
    """Whether the median's 95 % bootstrap interval (bench.stats.median_interval, as the record reports it) lies
    within +-``pct`` % of the median of ``invoke_ns``."""
    ms = sorted(v / 1e6 for v in invoke_ns)
    median = percentile(ms, 50)
    low, high = median_interval(ms)
    half = 100.0 * max(median - low, high - median) / median if median > 0 else 0.0
    return {"stable": half <= pct, "median_ms": median, "ci_low_ms": low, "ci_high_ms": high, "half_width_pct": half}


def until_stable(step: Callable[[int], tuple], n: int, m: Measurement, start: int, max_ns: int, pct: float) -> Dict:
    """Run batches of ``step`` until the median is known within +-``pct`` % or ``max_ns`` after ``start``; the check
    runs between batches, never inside a timed step."""
    pc = time.perf_counter_ns
    invoke_ns, e2e_ns = m.invoke_ns, m.e2e_ns
    checks, i, check_ns = 0, len(invoke_ns), 0
    while True:
        checks += 1
        t0 = pc()
        state = stable_within(invoke_ns, pct)
        check_ns += pc() - t0
        if state["stable"]:
            break
        if pc() - start >= max_ns:
            log.warning(
                "--until-stable %g: the median's interval is still +-%.2f%% after %d runs; stopped by --max-time-s",
                pct,
                state["half_width_pct"],
                len(invoke_ns),
            )
            break
        for _ in range(max(STABLE_MIN_BATCH, int(len(invoke_ns) * STABLE_GROWTH))):
            inv, e2e, _ = step(i % n)
            invoke_ns.append(inv)
            e2e_ns.append(e2e)
            i += 1
            if pc() - start >= max_ns:
                break
    return {
        "rule": "until stable",
        "bound_pct": pct,
        "reached": state["stable"],
        "checks": checks,
        "check_s": check_ns / 1e9,  # between batches, inside measured_s but outside every timed step
        **state,
    }
