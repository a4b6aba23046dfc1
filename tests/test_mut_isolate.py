"""bench.compare.isolate by behaviour, fast: the start method and preload of the run processes, what the child sends
through the pipe (phases, logs, new operation counts, the record or the error text), how the parent reads it back
(poll interval, a child that died, the joins and the kill), and the crash messages (signal names from the standard
library's signal module). The runtime (bench.runner.run) and the multiprocessing context of the parent's loop are
stubs; one test forks a real child (the stub runner) to check the pipe end to end."""

from __future__ import annotations

import ctypes
import json
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bench import harness, runner
from bench.compare import isolate
from bench.config import RunConfig
from bench.errors import BenchError, InputError
from bench.records import RunRecord

PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2  # linux/prctl.h


def _pdeathsig() -> int:
    value = ctypes.c_int(-1)
    ctypes.CDLL(None, use_errno=True).prctl(PR_GET_PDEATHSIG, ctypes.byref(value))
    return value.value


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    """The child's changes to this process (root logger, parent-death signal) undone after each test."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 0)


def _config() -> RunConfig:
    return RunConfig(model=Path("m.onnx"), data=Path("d.npz"), framework="onnx")


def _record(error: Optional[str] = None) -> RunRecord:
    rec = RunRecord("2026-01-01T00:00:00Z", {}, "onnx", {}, {}, {}, status="error" if error else "ok", error=error)
    rec.compute = {"macs": 5}
    return rec


# ------------------------------------------------------------------------------------------- context


def test_preload_is_edgebench_without_a_framework() -> None:
    assert isolate.PRELOAD == (
        "bench.runner",
        "bench.harness",
        "bench.records",
        "bench.errors",
        "bench.compare.isolate",
    )


def test_context_is_the_fork_server_with_the_preload() -> None:
    ctx = isolate.context()
    assert ctx.get_start_method() == "forkserver"
    assert multiprocessing.forkserver._forkserver._preload_modules == list(isolate.PRELOAD)


def test_context_is_spawn_without_a_fork_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["fork", "spawn"])
    assert isolate.context().get_start_method() == "spawn"


# ------------------------------------------------------------------------------------------- the child


class Conn:
    """Stub of the child's pipe end: keeps what is sent."""

    def __init__(self) -> None:
        self.sent: List[Any] = []
        self.closed = False

    def send(self, obj: Any) -> None:
        self.sent.append(obj)

    def close(self) -> None:
        self.closed = True


def test_pipe_handler_sends_level_name_and_formatted_text() -> None:
    conn = Conn()
    handler = isolate._PipeHandler(conn)
    assert handler.conn is conn
    try:
        raise ValueError("inner")
    except ValueError:
        import sys

        rec = logging.LogRecord("bench.x", logging.ERROR, "f.py", 1, "failed %d", (3,), sys.exc_info())
    handler.emit(rec)
    kind, (level, name, text) = conn.sent[0]
    assert (kind, level, name) == ("log", logging.ERROR, "bench.x")
    assert text.startswith("failed 3\nTraceback") and text.endswith("ValueError: inner")


def test_die_with_parent_sets_sigkill_on_parent_death() -> None:
    isolate._die_with_parent()
    assert _pdeathsig() == int(signal.SIGKILL)


@pytest.mark.parametrize("exc", [OSError("no libc"), AttributeError("no prctl")])
def test_die_with_parent_without_prctl_is_quiet(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    def cdll(*a: Any, **k: Any) -> Any:
        """Stub ctypes.CDLL of a system without prctl."""
        raise exc

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    isolate._die_with_parent()


class StubRunner:
    """Stub of bench.runner.run (a real one loads a framework): harness phases, a warning, a new count."""

    def __init__(self, outcome: Any = None) -> None:
        self.outcome = outcome
        self.counts: Optional[Dict[str, Any]] = None
        self.config: Optional[RunConfig] = None

    def __call__(self, config: RunConfig, counts: Optional[Dict[str, Any]] = None) -> RunRecord:
        self.config, self.counts = config, counts
        harness.phase("warm-up")
        logging.getLogger("bench.stub").warning("hot %s", "board")
        logging.getLogger("bench.stub").debug("unseen")
        if counts is not None:
            counts["new"] = {"macs": 5}
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome or _record()


def test_child_sends_phases_logs_new_counts_and_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    monkeypatch.setattr(runner, "run", stub)
    conn, counts, config = Conn(), {"old": {"macs": 1}}, _config()
    isolate._child(config, conn, logging.INFO, counts)
    assert stub.config is config and stub.counts == {"old": {"macs": 1}, "new": {"macs": 5}}
    assert conn.sent[:3] == [
        ("phase", "warm-up"),
        ("log", (logging.WARNING, "bench.stub", "hot board")),  # INFO level: the debug line is not sent
        ("counts", {"new": {"macs": 5}}),  # only the counts the run made
    ]
    kind, line = conn.sent[3]
    assert kind == "record" and json.loads(line) == _record().to_dict() and len(conn.sent) == 4
    assert conn.closed and logging.getLogger().level == logging.INFO
    assert _pdeathsig() == int(signal.SIGKILL)
    assert harness.listeners() == ()


def test_child_at_debug_level_sends_debug_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner())
    conn = Conn()
    isolate._child(_config(), conn, logging.DEBUG, {})
    assert ("log", (logging.DEBUG, "bench.stub", "unseen")) in conn.sent


def test_child_sends_a_bench_errors_record(monkeypatch: pytest.MonkeyPatch) -> None:
    exc = BenchError("x")
    exc.record = _record("own error")  # type: ignore[attr-defined]
    monkeypatch.setattr(runner, "run", StubRunner(exc))
    conn = Conn()
    isolate._child(_config(), conn, logging.INFO, {})
    kind, line = conn.sent[-1]
    assert kind == "record" and json.loads(line)["error"] == "own error" and conn.closed


def test_child_sends_a_bench_errors_text_without_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner(InputError("no such model", "check the path")))
    conn = Conn()
    isolate._child(_config(), conn, logging.INFO, {})
    assert conn.sent[-1] == ("error", "no such model. Fix: check the path") and conn.closed


@pytest.mark.parametrize(
    "exc,text", [(RuntimeError("first\nsecond"), "RuntimeError: first"), (KeyError(), "KeyError: ")]
)
def test_child_sends_a_frameworks_exception_first_line(
    monkeypatch: pytest.MonkeyPatch, exc: Exception, text: str
) -> None:
    monkeypatch.setattr(runner, "run", StubRunner(exc))
    conn = Conn()
    isolate._child(_config(), conn, logging.INFO, {})
    assert conn.sent[-1] == ("error", text)
    kind, (level, name, msg) = conn.sent[-2]
    assert (kind, level, name) == ("log", logging.WARNING, "bench.compare.isolate")
    assert msg.startswith(f"unexpected {type(exc).__name__} in the run\nTraceback")


def test_child_interrupted_sends_nothing_and_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner(KeyboardInterrupt()))
    conn = Conn()
    isolate._child(_config(), conn, logging.INFO, {})
    assert [k for k, _ in conn.sent] == ["phase", "log"] and conn.closed


# ------------------------------------------------------------------------------------------- crash messages


@pytest.mark.parametrize(
    "code,text",
    [
        (-11, "the run's process was killed by SIGSEGV (a crash in the runtime or delegate?)"),
        (-9, "the run's process was killed by SIGKILL (a crash in the runtime or delegate?)"),
        (-1, "the run's process was killed by SIGHUP (a crash in the runtime or delegate?)"),
        (-200, "the run's process was killed by signal 200 (a crash in the runtime or delegate?)"),
        (0, "the run's process ended with exit code 0 without a record"),
        (3, "the run's process ended with exit code 3 without a record"),
        (None, "the run's process ended with exit code None without a record"),
    ],
)
def test_died_names_the_signal_or_exit_code(code: Optional[int], text: str) -> None:
    assert isolate._died(code) == text


# ------------------------------------------------------------------------------------------- the parent's loop


class Receive:
    """Stub of the parent's pipe end: ``polls`` answers poll() in turn, ``messages`` are received in turn."""

    def __init__(self, polls: List[bool], messages: List[Any]) -> None:
        self.polls, self.messages, self.timeouts = list(polls), list(messages), []

    def poll(self, timeout: float) -> bool:
        self.timeouts.append(timeout)
        return self.polls.pop(0)

    def recv(self) -> Any:
        if not self.messages:
            raise EOFError
        return self.messages.pop(0)


class Proc:
    """Stub of a multiprocessing.Process: ``alive`` answers is_alive() in turn (then False)."""

    def __init__(self, alive: List[bool], exitcode: Optional[int] = None, **kw: Any) -> None:
        self.kw, self.alive, self.exitcode = kw, list(alive), exitcode
        self.started, self.joins, self.killed = False, [], False

    def start(self) -> None:
        self.started = True

    def is_alive(self) -> bool:
        return self.alive.pop(0) if self.alive else False

    def join(self, timeout: Optional[float] = None) -> None:
        self.joins.append(timeout)

    def kill(self) -> None:
        self.killed = True


class Ctx:
    """Stub multiprocessing context: hands out the stub pipe ends and process, records what it was asked."""

    def __init__(self, receive: Receive, alive: List[bool], exitcode: Optional[int] = None) -> None:
        self.receive, self.send, self.alive, self.exitcode = receive, Conn(), alive, exitcode
        self.pipe_kw: Dict[str, Any] = {}
        self.proc: Optional[Proc] = None

    def Pipe(self, **kw: Any) -> tuple:  # noqa: N802 (multiprocessing's name)
        self.pipe_kw = kw
        return self.receive, self.send

    def Process(self, **kw: Any) -> Proc:  # noqa: N802
        self.proc = Proc(self.alive, self.exitcode, **kw)
        return self.proc


def _use(monkeypatch: pytest.MonkeyPatch, ctx: Ctx) -> Ctx:
    monkeypatch.setattr(isolate, "context", lambda: ctx)
    return ctx


def test_run_relays_phases_counts_and_logs_then_returns_the_record(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    msgs = [
        ("phase", "warm-up"),
        ("log", (logging.WARNING, "bench.child", "50% done")),  # "%" kept as text
        ("counts", {"new": 2}),
        ("phase", "measure"),
        ("record", '{"status": "ok"}'),
    ]
    ctx = _use(monkeypatch, Ctx(Receive([True] * 5, msgs), alive=[]))
    logging.getLogger().setLevel(logging.INFO)
    phases: List[str] = []
    counts = {"old": 1}
    config = _config()
    with caplog.at_level(logging.INFO, logger="bench.child"):
        got = isolate.run(config, phases.append, counts)
    assert got == ({"status": "ok"}, None)
    assert phases == ["warm-up", "measure"] and counts == {"old": 1, "new": 2}
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("bench.child", logging.WARNING, "50% done")
    ]
    assert ctx.pipe_kw == {"duplex": False} and ctx.send.closed
    proc = ctx.proc
    assert proc is not None and proc.started and proc.kw["target"] is isolate._child and proc.kw["daemon"] is True
    cfg, send, level, sent_counts = proc.kw["args"]
    assert cfg is config and send is ctx.send and level == logging.INFO
    assert (
        sent_counts == {"old": 1} and sent_counts is not counts
    )  # a copy: the child's additions come back as "counts"
    assert ctx.receive.timeouts == [0.5] * 5 and isolate.POLL_S == 0.5
    assert proc.joins == [30] and not proc.killed


def test_run_returns_the_childs_error_text(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, Ctx(Receive([True], [("error", "no such model")]), alive=[]))
    assert isolate.run(_config(), lambda _: None) == (None, "no such model")


def test_run_without_counts_sends_an_empty_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _use(monkeypatch, Ctx(Receive([True, True], [("counts", {"n": 1}), ("error", "x")]), alive=[]))
    isolate.run(_config(), lambda _: None)
    assert ctx.proc is not None and ctx.proc.kw["args"][3] == {}


def test_run_waits_while_the_child_is_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _use(monkeypatch, Ctx(Receive([False, False, True], [("error", "late")]), alive=[True, True]))
    assert isolate.run(_config(), lambda _: None) == (None, "late")
    assert ctx.receive.timeouts == [0.5, 0.5, 0.5]


def test_run_reads_what_a_dead_child_left_in_the_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _use(monkeypatch, Ctx(Receive([False, True], [("record", '{"a": 1}')]), alive=[False], exitcode=0))
    assert isolate.run(_config(), lambda _: None) == ({"a": 1}, None)
    assert ctx.receive.timeouts == [0.5, 0]


def test_run_reports_a_child_that_died_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _use(monkeypatch, Ctx(Receive([False, False], []), alive=[False], exitcode=-11))
    got = isolate.run(_config(), lambda _: None)
    assert got == (None, "the run's process was killed by SIGSEGV (a crash in the runtime or delegate?)")
    assert ctx.receive.timeouts == [0.5, 0] and ctx.proc is not None and ctx.proc.joins == [30]


def test_run_reports_a_pipe_closed_without_a_record(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _use(monkeypatch, Ctx(Receive([True], []), alive=[], exitcode=4))
    assert isolate.run(_config(), lambda _: None) == (None, "the run's process ended with exit code 4 without a record")
    assert ctx.proc is not None and ctx.proc.joins == [10, 30]


def test_run_kills_a_child_still_alive_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    # is_alive: False while waiting is not asked (poll answers); True after the 30 s join
    ctx = _use(monkeypatch, Ctx(Receive([True], [("error", "x")]), alive=[True]))
    isolate.run(_config(), lambda _: None)
    assert ctx.proc is not None and ctx.proc.killed and ctx.proc.joins == [30, None]


# ------------------------------------------------------------------------------------------- a real child


def test_a_forked_child_sends_its_record_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolate, "context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(runner, "run", StubRunner())
    phases: List[str] = []
    counts: Dict[str, Any] = {}
    record, error = isolate.run(_config(), phases.append, counts)
    assert error is None and record == _record().to_dict()
    assert phases == ["warm-up"] and counts == {"new": {"macs": 5}}


def _kill_self(config: RunConfig, counts: Any = None) -> None:
    """Stub runner that crashes its process."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_forked_child_killed_by_a_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolate, "context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(runner, "run", _kill_self)
    got = isolate.run(_config(), lambda _: None)
    assert got == (None, "the run's process was killed by SIGKILL (a crash in the runtime or delegate?)")
