"""One benchmark run: detect, (convert), load, measure, score, record (the stages: bench.stages).

Every run produces one RunRecord. A run that fails with a BenchError is recorded with status
``error`` (when an output file is given) and the error is raised again for the command line.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional

from bench import __version__, envvars, machine, stages
from bench.config import RunConfig
from bench.errors import BenchError
from bench.records import RunRecord, append_jsonl, utc_now

log = logging.getLogger(__name__)


def tool_info() -> Dict[str, str]:
    """edgebench version and git commit (EDGEBENCH_GIT_COMMIT in images, else the checkout's HEAD)."""
    commit = envvars.read(envvars.GIT_COMMIT, "")
    if not commit:
        repo = Path(__file__).resolve().parent.parent
        if (repo / ".git").exists():
            try:
                head = subprocess.run(
                    ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
                )
                # a failed rev-parse echoes its argument ("HEAD" in a checkout with no commit yet): no commit then
                commit = head.stdout.strip() if head.returncode == 0 else ""
                dirty = subprocess.run(
                    ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout.strip()
                if commit and dirty:
                    commit += "-dirty"
            except (OSError, subprocess.SubprocessError):
                commit = ""
    return {"name": "edgebench", "version": __version__, "git_commit": commit or "unknown"}


def validate(config: RunConfig) -> None:
    """Settings the chosen runtime would ignore are refused before any work, and nothing is recorded (each runtime
    validates its own settings, e.g. the delegates it accepts)."""
    from bench import runtimes
    from bench.runtimes.base import RuntimeOptions

    runtimes.runtime_class(config.framework).validate(RuntimeOptions(threads=config.threads, delegate=config.delegate))


def run(config: RunConfig, counts: Optional[Dict[str, Any]] = None) -> RunRecord:
    """Run one benchmark and return its record (status ok); raise BenchError after recording an error.

    Invalid settings (see :func:`validate`) raise before a record exists. ``counts``: operation counts already made
    in this compare, by :func:`bench.stages.counts_key`; a model counted before is not counted again (the count depends on the
    model file, the framework and the input shape only), and a new count is added to it."""
    validate(config)
    record = RunRecord(
        created_utc=utc_now(),
        tool=tool_info(),
        framework=config.framework,
        runtime={},
        options=config.to_dict(),
        machine=machine.facts(),
    )
    try:
        stages.run_into(config, record, {} if counts is None else counts)
    except BenchError as exc:
        record.status, record.error = "error", str(exc)
        record.machine["peak_rss_mb"] = machine.peak_rss_mb()
        exc.record = record  # type: ignore[attr-defined]
        raise
    return record


def run_and_record(config: RunConfig) -> RunRecord:
    """Run, then append the record (ok or error) to ``config.output``."""
    try:
        record = run(config)
    except BenchError as exc:
        rec = getattr(exc, "record", None)
        if config.output and rec is not None:
            append_jsonl(Path(config.output), rec)
        raise
    if config.output:
        append_jsonl(Path(config.output), record)
        log.info("record appended to %s", config.output)
    return record
