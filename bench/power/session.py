"""Power sampling around one run's measurement: open the source, idle window, sample the measured phase.

Used by bench.runner as a context manager around ``harness.measure``::

    with PowerRun(config.power) as pw:   # source opened, sampler started, idle window slept
        m = harness.measure(...)         # the harness's phase listeners tag warm-up and measure readings
        pw.done()                        # readings after this are not counted
    record.energy = pw.summary(len(m.invoke_ns), m.measured_ns / 1e9)
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Dict, Optional

from bench.power import PowerOptions, open_source
from bench.power.sampler import PowerSampler, idle_window, summarize, unavailable


class PowerRun:
    def __init__(self, options: Optional[PowerOptions], root: Path = Path("/")) -> None:
        self.options = options or PowerOptions()
        self.root = root
        self.sampler: Optional[PowerSampler] = None
        self.reason = ""
        self._listening = contextlib.ExitStack()  # the sampler hears the harness's phases while the run is open

    def __enter__(self) -> PowerRun:
        from bench import harness

        source, self.reason = open_source(self.options, self.root)
        if source is not None:
            self.sampler = PowerSampler(source, self.options.hz).start()
            self._listening.enter_context(harness.listening(self.sampler.phase))
            idle_window(self.sampler, self.options.idle_s)
        return self

    def done(self) -> None:
        if self.sampler is not None:
            self.sampler.phase("done")

    def __exit__(self, *exc: object) -> None:
        if self.sampler is not None:
            self._listening.close()
            self.sampler.stop()

    def summary(self, inferences: int, measured_s: float) -> Dict[str, Any]:
        if self.sampler is None:
            return unavailable(self.reason)
        return summarize(self.sampler, inferences, measured_s, self.options.idle_s)
