"""`edgebench fleet run`: the same comparison on every board of an inventory, boards in parallel.

* Conversions happen once, on the workstation (launcher.fleet.convert), before any board starts.
* One thread per board; on a board the runs are strictly one at a time (a rule, not an option): the board's thread
  runs its units in order, and before each one waits until no other edgebench container runs on that engine (another
  fleet run, or a run orphaned by a lost SSH connection). Two boards of one inventory may not share an engine.
* Each unit is one `bench run` in the board's image through launcher.container (inputs copied in with put_archive, results
  copied out), so a remote engine needs nothing but Docker and the image.
* A board that is unreachable, lacks its image, times out or is lost mid-way gets error records for what it did not
  finish and does not stop the others; `--resume` runs only the (board, config, round) units without an ok record.
* Every record is appended through bench.records.append_jsonl with record["fleet"] (board, profile, engine identity)
  and record["compare"] (id, config, round, order), so `edgebench report` merges the boards.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from bench import __version__
from bench.errors import BenchError
from bench.records import utc_now
from launcher import profiles
from launcher.errors import LauncherError
from launcher.fleet import engine
from launcher.fleet.convert import Config, Conversion
from launcher.fleet.inventory import Board
from launcher.fleet.plan import Plan, Unit
from launcher.fleet.progress import Plain

log = logging.getLogger(__name__)

#: most boards driven at once: each costs a thread and a connection, and copies go through the workstation's link
MAX_PARALLEL_BOARDS = 16
#: seconds between checks for another edgebench container still running on a board
BUSY_POLL_S = 2.0
#: longest wait for another edgebench run on the board to end (someone else's compare may take that long)
BUSY_MAX_WAIT_S = 3600.0


@dataclass
class BoardResult:
    board: str
    planned: int = 0  #: units this invocation had to run
    ok: int = 0
    failed: int = 0
    already: int = 0  #: units done by an earlier invocation (--resume)
    error: Optional[str] = None  #: why the board stopped early
    engine: Dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.error is None and self.failed == 0 and self.ok == self.planned


@dataclass
class Context:
    """What every board thread shares (read-only, except the stop flag)."""

    plan: Plan
    conversions: Dict[str, Conversion]
    work: Path
    progress: Plain
    stop: threading.Event = field(default_factory=threading.Event)


def _fleet_section(plan: Plan, board: Board, ident: Dict[str, Any]) -> Dict[str, Any]:
    return {"board": board.name, "profile": board.profile, "engine": ident, "id": plan.id}


def _append(ctx: Context, record: Dict[str, Any], board: Board, ident: Dict, unit: Tuple[int, int, Config]) -> None:
    from bench.records import append_jsonl

    r, pos, config = unit
    conv = ctx.conversions[config.name]
    record["fleet"] = _fleet_section(ctx.plan, board, ident)
    record["compare"] = ctx.plan.compare_section(config, r, pos, conv.seconds)
    append_jsonl(ctx.plan.results, record)


def _error_record(ctx: Context, board: Board, ident: Dict, unit: Tuple[int, int, Config], error: str) -> None:
    from bench.records import RunRecord

    config = unit[2]
    rec = RunRecord(
        created_utc=utc_now(),
        tool={"name": "edgebench", "version": __version__},
        framework=config.framework,
        runtime={},
        options={"precision": config.precision, "delegate": config.delegate, "threads": ctx.plan.threads},
        machine={},
        status="error",
        error=error,
    ).to_dict()
    _append(ctx, rec, board, ident, unit)


def _bench_argv(ctx: Context, config: Config, model: Path) -> List[str]:
    argv = ["run", str(model), str(ctx.plan.data), "--framework", config.framework]
    if config.delegate:
        argv += ["--delegate", config.delegate]
    if ctx.plan.threads is not None:
        argv += ["--threads", str(ctx.plan.threads)]
    return argv + list(ctx.plan.options)


def _wait_until_idle(client: Any, board: Board, stop: threading.Event) -> None:
    """One run at a time per board: wait (up to BUSY_MAX_WAIT_S) for any edgebench container already running there."""
    deadline, told = time.monotonic() + BUSY_MAX_WAIT_S, False
    while True:
        busy = client.containers.list(filters={"label": "org.edgebench.launcher", "status": "running"})
        if not busy:
            return
        if time.monotonic() > deadline or stop.is_set():
            raise LauncherError(
                f"board {board.name!r} is busy with another edgebench run ({busy[0].short_id})",
                "wait for it, or stop it there (docker stop), then run again with --resume",
            )
        if not told:
            log.info("[%s] waiting for edgebench container %s already running there", board.name, busy[0].short_id)
            told = True
        time.sleep(BUSY_POLL_S)


def _last_error_line(log_path: Path, offset: int) -> str:
    """The unit's last line naming an error in the board's log (from ``offset``, where the unit's output starts)."""
    with open(log_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    lines = [ln for ln in text.splitlines() if "error" in ln.lower()] or text.splitlines() or [""]
    return lines[-1].strip()[:300]


def _run_unit(ctx: Context, client: Any, board: Board, ident: Dict, unit: Tuple[int, int, Config], logf: Any) -> str:
    """Run one (config, round) on the board and append its records; return "" or the error."""
    from launcher.container import Job, run

    r, _, config = unit
    conv = ctx.conversions[config.name]
    if conv.error:
        _error_record(ctx, board, ident, unit, conv.error)
        return conv.error
    scratch = ctx.work / "runs" / board.name / f"{config.name}-r{r}.jsonl"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    scratch.unlink(missing_ok=True)
    job = Job(
        profile=profiles.get(board.profile),
        bench_argv=tuple(_bench_argv(ctx, config, conv.model)),
        inputs=(conv.model, ctx.plan.data),
        results=scratch,
        image=board.image,
        emulate=board.emulate,
        timeout_s=board.timeout_s,
        pull=board.pull,
        engine_local=engine.is_local(client),
    )
    _wait_until_idle(client, board, ctx.stop)
    logf.write(f"\n==> {utc_now()} {config.name} round {r}\n".encode())
    logf.flush()
    start = logf.tell()
    return _record_outcome(ctx, board, ident, unit, run(job, client=client, out=logf, err=logf), start)


def _record_outcome(
    ctx: Context, board: Board, ident: Dict, unit: Tuple[int, int, Config], out: Any, log_offset: int
) -> str:
    """Append the unit's records (or one error record); return "" when it succeeded, else the error."""
    for rec in out.records:
        _append(ctx, rec, board, ident, unit)
    if out.exit_code == 0 and any(rec.get("status") == "ok" for rec in out.records):
        return ""
    if out.timed_out:
        error = f"timed out after {board.timeout_s:g} s (board {board.name!r}); the container was killed"
    else:
        error = f"exit code {out.exit_code}: {_last_error_line(ctx.work / 'logs' / f'{board.name}.log', log_offset)}"
    if not out.records:
        _error_record(ctx, board, ident, unit, error)
    return error


def _connect(board: Board, ctx: Context) -> Tuple[Any, Dict[str, Any]]:
    from launcher.container import resolve_image

    client = engine.connect(board)
    ident = engine.identity(client)
    profile = profiles.get(board.profile)
    if profile.arch and profile.arch != ident["arch"] and not board.emulate:
        raise LauncherError(
            f"board {board.name!r}: profile {board.profile!r} runs linux/{profile.arch} images, but the engine at "
            f"{board.engine} is linux/{ident['arch']}",
            "check the board's profile and engine address (emulate = true only for demos on a local engine)",
        )
    resolve_image(client, profile, ident["arch"], board.image, board.pull)  # missing image: one error, up front
    return client, ident


def run_board(ctx: Context, board: Board, done: Set[Unit]) -> BoardResult:
    """Every pending unit of one board, one after the other; never raises."""
    units = ctx.plan.units(done)
    res = BoardResult(board.name, planned=len(units), already=len(ctx.plan.units(set())) - len(units))
    ctx.progress.start(board.name, len(units))
    if not units:
        ctx.progress.step(board.name, "complete (nothing to do)")
        return res
    ident: Dict[str, Any] = {}
    ctx.progress.step(board.name, f"connecting to {board.engine}")
    try:
        client, ident = _connect(board, ctx)
        res.engine = ident
    except Exception as exc:  # LauncherError, or anything the SDK raised: recorded, the others go on
        return _give_up(ctx, board, ident, units, res, _text(exc))
    (ctx.work / "logs").mkdir(parents=True, exist_ok=True)
    with open(ctx.work / "logs" / f"{board.name}.log", "ab") as logf:
        for i, unit in enumerate(units):
            if ctx.stop.is_set():
                return _give_up(ctx, board, ident, units[i:], res, "interrupted", record=False)
            r, _, config = unit
            ctx.progress.step(board.name, f"{config.name} round {r + 1}/{ctx.plan.rounds}")
            try:
                error = _run_unit(ctx, client, board, ident, unit, logf)
            except Exception as exc:  # lost connection, engine refusal, busy board
                error = _text(exc)
                _error_record(ctx, board, ident, unit, error)
                if not _alive(client):
                    res.failed += 1
                    ctx.progress.advance(board.name, f"{config.name} round {r + 1}: failed: {error}")
                    return _give_up(ctx, board, ident, units[i + 1 :], res, f"board lost: {error}")
            res.ok += not error
            res.failed += bool(error)
            ctx.progress.advance(board.name, f"{config.name} round {r + 1}: " + (f"failed: {error}" if error else "ok"))
    return res


def _text(exc: BaseException) -> str:
    if isinstance(exc, BenchError):
        return str(exc)
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"


def _alive(client: Any) -> bool:
    try:
        client.ping()
        return True
    except Exception:
        return False


def _give_up(
    ctx: Context, board: Board, ident: Dict, units: List, res: BoardResult, error: str, record: bool = True
) -> BoardResult:
    """The board stops: its remaining units get error records (resume runs them), the summary says why."""
    res.error = error
    if record:
        for unit in units:
            _error_record(ctx, board, ident, unit, f"not run: {error}")
    ctx.progress.stopped(board.name, error)
    return res


def run_fleet(ctx: Context, boards: List[Board], done: Dict[str, Set[Unit]]) -> List[BoardResult]:
    """Run every board in its own thread; return one result per board, in inventory order."""
    with ThreadPoolExecutor(max_workers=min(len(boards), MAX_PARALLEL_BOARDS), thread_name_prefix="board") as pool:
        futures = [pool.submit(run_board, ctx, b, done.get(b.name, set())) for b in boards]
        try:
            while not all(f.done() for f in futures):
                time.sleep(0.2)
        except KeyboardInterrupt:
            ctx.stop.set()
            log.warning("interrupted: no new runs start; runs under way finish (or time out); --resume continues")
            while not all(f.done() for f in futures):
                time.sleep(0.2)
        return [f.result() for f in futures]
