"""The measurement loop. The harness owns the clock; runtimes never time themselves.

Per inference, four ``perf_counter_ns`` reads bound one region:
``t0 | sample + quantize + prepare | t1 | invoke | t2 | fetch + dequantize | t3``
``invoke = t2 - t1`` is the runtime call alone, ``e2e = t3 - t0`` the whole inference.
Load and the first inference are timed separately and never enter steady-state statistics.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List

import numpy as np

from bench.config import Timing
from bench.data import Adapted, dequantize
from bench.infer import unbatch as _unbatch
from bench.runtimes.base import Runtime, RuntimeOptions

log = logging.getLogger(__name__)

#: called with "warm-up", then "measure" by measure(), between phases and never inside a timed loop; bench.compare's
#: progress display listens (empty otherwise)
PHASE_LISTENERS: List[Callable[[str], None]] = []


def _phase(name: str) -> None:
    for listener in PHASE_LISTENERS:
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

    _phase("warm-up")
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

    _phase("measure")
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
    m.measured_ns = pc() - start
    m.outputs = np.stack([np.asarray(o) for o in outputs])
    return m
