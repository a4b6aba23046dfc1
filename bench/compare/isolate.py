"""One compare run in a fresh process, so each run's figures are its own.

In one shared process a compare would report the process's peak RSS so far (``ru_maxrss`` only grows) for every
config, only the first run of a framework would pay its import, one runtime's thread pools would still exist while the
next one is measured, and a delegate that crashes (a segfault in a vendor library) would end the whole compare. Here
the child runs ``bench.runner.run`` and sends back, through a pipe: the harness's phases (between phases only, never
inside a timed loop), its log records, the operation counts it made, and the record. The parent waits in ``poll``
(sleeping), so it takes no CPU from the measurement; a child that dies is reported with its exit code or signal.

The processes come from a multiprocessing fork server (``spawn`` where there is none): a small process started once
per compare, from a fresh interpreter, that has imported edgebench's own modules (:data:`PRELOAD`: numpy and the
standard library, never a framework) and forks one child per run. A child is a new process all the same: its own
memory (VmHWM counts from the server's small image, not the compare's), its own framework import (timed, as
``import_ms``), its own crash; it no longer pays an interpreter start and edgebench's imports each time (0.4-0.7 s a
run here, benchmarks/compare_overhead.py), nor the interpreter's teardown of a framework at exit (a forked child
ends with ``os._exit`` after its record is sent; up to seconds for PyTorch).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import signal
from typing import Any, Callable, Dict, Optional, Tuple

log = logging.getLogger(__name__)

#: how long the parent sleeps in poll between checks that the child is still alive
POLL_S = 0.5
#: imported once by the fork server: what every run imports before its framework (no framework, no converter)
PRELOAD = ("bench.runner", "bench.harness", "bench.records", "bench.errors", "bench.compare.isolate")


def context() -> Any:
    """The multiprocessing context of the runs: the fork server with :data:`PRELOAD`, else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


class _PipeHandler(logging.Handler):
    def __init__(self, conn: Any) -> None:
        super().__init__()
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        self.conn.send(("log", (record.levelno, record.name, self.format(record))))  # traceback included


def _die_with_parent() -> None:
    """Linux: SIGKILL this child when the compare process dies (prctl PR_SET_PDEATHSIG), so a killed compare leaves
    no orphan measuring on its own."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))
    except (OSError, AttributeError):
        pass


def _child(config: Any, conn: Any, level: int, counts: Dict[str, Any]) -> None:
    _die_with_parent()
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(_PipeHandler(conn))
    try:
        from bench import harness, runner
        from bench.errors import BenchError
        from bench.records import to_json_line  # as JSON: a pickled dict could hold e.g. torch's TorchVersion

        known = set(counts)
        try:
            with harness.listening(lambda name: conn.send(("phase", name))):
                record = runner.run(config, counts)
            conn.send(("counts", {k: v for k, v in counts.items() if k not in known}))
            conn.send(("record", to_json_line(record)))
        except BenchError as exc:
            rec = getattr(exc, "record", None)
            conn.send(("record", to_json_line(rec)) if rec is not None else ("error", str(exc)))
        except Exception as exc:  # a framework's own exception: the parent records it
            log.warning("unexpected %s in the run", type(exc).__name__, exc_info=True)
            conn.send(("error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        pass
    finally:
        conn.close()


def _died(exitcode: Optional[int]) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the run's process was killed by {name} (a crash in the runtime or delegate?)"
    return f"the run's process ended with exit code {exitcode} without a record"


def run(
    config: Any, on_phase: Callable[[str], None], counts: Optional[Dict[str, Any]] = None
) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """(record dict, None), or (None, error text) when the child sent no record. ``counts``: the compare's
    operation counts (bench.runner.run); the child's new ones are added to it."""
    counts = {} if counts is None else counts
    ctx = context()
    receive, send = ctx.Pipe(duplex=False)
    level = logging.getLogger().getEffectiveLevel()
    proc = ctx.Process(target=_child, args=(config, send, level, dict(counts)), daemon=True)
    proc.start()
    send.close()
    try:
        while True:
            if not receive.poll(POLL_S):
                if proc.is_alive():
                    continue
                if not receive.poll(0):
                    return None, _died(proc.exitcode)
            try:
                kind, value = receive.recv()
            except EOFError:
                proc.join(timeout=10)
                return None, _died(proc.exitcode)
            if kind == "phase":
                on_phase(value)
            elif kind == "counts":
                counts.update(value)
            elif kind == "log":
                logging.getLogger(value[1]).log(value[0], "%s", value[2])
            else:
                return (json.loads(value), None) if kind == "record" else (None, value)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
            proc.join()
