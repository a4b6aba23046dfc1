"""What a compare is doing: run i of N, config, round, phase (convert, load, warm-up, measure), elapsed.

On a terminal a rich Live display is redrawn by rich's own refresh thread, which sleeps between redraws
(``REFRESH_PER_SECOND``); the main thread only assigns attributes, between runs and between the harness's phases
(``bench.harness.listening``), never inside a timed loop. ``benchmarks/progress_overhead.py`` measures what the
redraws cost an inference. When stderr is not a terminal: one plain log line per conversion and per run.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Any, List, Optional

log = logging.getLogger(__name__)

#: redraws per second: enough for a clock that counts seconds, rare enough to cost nothing measurable
REFRESH_PER_SECOND = 2.0


class Progress:
    """Progress of one compare; a context manager. ``live=None``: a rich display when stderr is a terminal."""

    def __init__(self, total: int, rounds: int, live: Optional[bool] = None, console: Any = None) -> None:
        self.total, self.rounds = total, rounds
        self.index = 0
        self.label, self.round, self.phase = "", 0, "starting"
        self.t0 = self.run_t0 = time.monotonic()
        self._console = console
        self._live_wanted = live
        self._live: Any = None
        self._swapped: List[Any] = []
        self._listening = contextlib.ExitStack()  # the harness's phases, while the display is open

    # -- called by bench.compare.rounds between runs, and by the harness between phases ------------------------------
    def converting(self, i: int, n: int, label: str) -> None:
        self.label, self.phase, self.run_t0 = label, f"convert {i}/{n}", time.monotonic()
        if self._live is None:
            log.info("compare: converting for %s (%d/%d)", label, i, n)

    def starting(self, index: int, label: str, round_index: int) -> None:
        self.index, self.label, self.round = index, label, round_index
        self.phase, self.run_t0 = "load", time.monotonic()
        if self._live is None:
            log.info("compare: run %d/%d, round %d/%d: %s", index, self.total, round_index + 1, self.rounds, label)

    def set_phase(self, name: str) -> None:
        self.phase = name

    def finished(self, status: str, p50_ms: Optional[float]) -> None:
        self.phase = status
        if self._live is None:
            took = time.monotonic() - self.run_t0
            result = f"p50 {p50_ms:.4g} ms" if p50_ms is not None else status
            log.info("compare: run %d/%d %s: %s (%.1f s)", self.index, self.total, self.label, result, took)

    # -- display -------------------------------------------------------------------------------------------------
    def render(self) -> Any:
        """The display (called by rich's refresh thread)."""
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        now = time.monotonic()
        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            ProgressBar(total=max(self.total, 1), completed=max(self.index - 1, 0), width=20),
            f"run {self.index}/{self.total}",
            f"round {self.round + 1}/{self.rounds}",
            f"[bold]{self.label}[/bold]",
            self.phase,
            f"{now - self.run_t0:5.1f} s",
            f"(total {_clock(now - self.t0)})",
        )
        return grid

    def __enter__(self) -> Progress:
        from bench import harness

        self._listening.enter_context(harness.listening(self.set_phase))
        console = self._console
        if self._live_wanted is not False:
            from rich.console import Console

            console = console or Console(stderr=True)
            if self._live_wanted or console.is_terminal:
                self._start_live(console)
        return self

    def __exit__(self, *exc: object) -> None:
        self._listening.close()
        if self._live is not None:
            self._live.stop()
            for handler, stream in self._swapped:
                handler.setStream(stream)
            self._live = None

    def _start_live(self, console: Any) -> None:
        from rich.live import Live

        original = sys.stderr
        self._live = Live(
            console=console,
            get_renderable=self.render,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=True,
        )
        self._live.start()
        # log lines go above the display instead of through it: point stderr log handlers at rich's proxy
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is original:
                self._swapped.append((handler, handler.setStream(sys.stderr)))


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
