"""Progress per board: a rich display on a terminal, plain log lines otherwise (CI logs, pipes).

Called from the board threads between runs only; nothing here runs while a board measures (the measurement runs on
the board, the display on the workstation).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Dict, Optional

log = logging.getLogger("launcher.fleet")


class Plain:
    """One log line per event."""

    def start(self, board: str, total: int) -> None:
        log.info("[%s] %d run(s) to do", board, total)

    def step(self, board: str, text: str) -> None:
        log.info("[%s] %s", board, text)

    def advance(self, board: str, text: str) -> None:
        log.info("[%s] %s", board, text)

    def stopped(self, board: str, error: str) -> None:
        """The board gives up: one error line (plain progress and the error log are the same stream here)."""
        log.error("[%s] stopped: %s", board, error)

    def close(self) -> None:
        pass


class Rich(Plain):
    """One progress bar per board (rich.progress is safe to update from several threads)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.fields[board]:<14}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True, log_path=False),
            refresh_per_second=2,
        )
        self._tasks: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self._progress.start()

    def start(self, board: str, total: int) -> None:
        with self._lock:
            self._tasks[board] = self._progress.add_task("waiting", total=max(total, 1), board=board)

    def step(self, board: str, text: str) -> None:
        self._progress.update(self._tasks[board], description=text)

    def advance(self, board: str, text: str) -> None:
        self._progress.update(self._tasks[board], advance=1, description=text)
        self._progress.console.log(f"[{board}] {text}", markup=False)

    def stopped(self, board: str, error: str) -> None:
        self.step(board, f"stopped: {error}")
        super().stopped(board, error)

    def close(self) -> None:
        self._progress.stop()


def make(plain: Optional[bool] = None) -> Plain:
    if plain is None:
        plain = not sys.stderr.isatty()
    return Plain() if plain else Rich()
