"""The compare protocol: convert everything first, then rounds of shuffled runs, one record per run.

1. Every job's conversion runs once, through the runner's own conversion (``bench.convert.pipeline.convert_for``, cached),
   before any timing starts; its wall time goes to ``compare.conversion_s`` (0 when cached or none), never to
   latency. A refused or failed conversion becomes that config's error record in every round, without retrying.
2. Round r runs every pending job once in ``plan.order(r)``, a shuffle seeded by (seed, r), so drift and heat hit
   every config alike and a resumed compare repeats the same orders. Between runs: ``--cooldown-s``, then, with
   ``--cooldown-to-c``, a capped wait until the hottest thermal zone (bench.machine.thermal) is below the limit.
3. Each run is ``bench.runner.run`` in a fresh process (bench.compare.isolate); its record gets ``compare`` (see
   docs/record.md) and is appended at once (bench.records.append_jsonl), so a killed compare keeps every finished
   run. A failed or crashed run is recorded with its error and the others go on. A model's operation count (untimed,
   after the measurement) is made by its first run and handed to the later ones.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from bench import machine, runner, sustained
from bench.compare import artifacts
from bench.compare.plan import Job, Plan
from bench.compare.progress import Progress
from bench.config import RunConfig
from bench.errors import BenchError
from bench.records import RunRecord, append_jsonl, utc_now

log = logging.getLogger(__name__)


def _error_record(config: RunConfig, error: str) -> RunRecord:
    """A record for a run that failed before the runner could make one (an unexpected exception)."""
    return RunRecord(
        created_utc=utc_now(),
        tool=runner.tool_info(),
        framework=config.framework,
        runtime={},
        options=config.to_dict(),
        machine=machine.facts(),
        status="error",
        error=error,
    )


def _attempt(config: RunConfig, counts: Optional[Dict[str, Any]] = None) -> RunRecord:
    """runner.run, with any failure turned into an error record (KeyboardInterrupt still stops the compare)."""
    try:
        return runner.run(config, counts)
    except BenchError as exc:
        rec = getattr(exc, "record", None)
        return rec if rec is not None else _error_record(config, str(exc))
    except Exception as exc:  # a framework's own exception: recorded so the other configs still run
        log.warning(
            "%s: unexpected %s, recorded as the run's error", config.framework, type(exc).__name__, exc_info=True
        )
        return _error_record(config, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def convert_all(plan: Plan, labels: List[str], progress: Progress) -> Dict[str, Tuple[float, Optional[RunRecord]]]:
    """label -> (conversion seconds, error record or None), converting each job that still has runs to do."""
    out: Dict[str, Tuple[float, Optional[RunRecord]]] = {}
    jobs = [j for j in plan.jobs if j.label in labels]
    for i, job in enumerate(jobs, 1):
        progress.converting(i, len(jobs), job.label)
        convert = replace(job.run.convert, convert_only=True)
        t0 = time.perf_counter()
        rec = _attempt(replace(job.run, convert=convert))
        seconds = time.perf_counter() - t0
        if rec.status != "ok":
            rec.options = job.run.to_dict()  # the run that could not happen, not the convert-only step
            out[job.label] = (seconds if rec.conversion else 0.0, rec)
            log.error("%s: %s", job.label, rec.error)
            continue
        cached = bool(rec.conversion.get("cached")) if rec.conversion else True
        out[job.label] = (0.0 if cached else round(seconds, 3), None)
    return out


def _compare_fields(plan: Plan, job: Job, round_index: int, position: int, conversion_s: float) -> Dict[str, Any]:
    return {
        "id": plan.id,
        "config": job.config,
        "threads": job.threads,
        "label": job.label,
        "round": round_index,
        "rounds": plan.protocol.rounds,
        "position": position,
        "seed": plan.seed,
        "baseline": plan.baseline,
        "labels": plan.labels,
        "conversion_s": conversion_s,
        "source_model": dict(plan.source_model),
    }


def cool_down(plan: Plan, sleep: Callable[[float], None] = time.sleep, read: Callable = sustained.hottest_c) -> None:
    """The pause between two runs: --cooldown-s, then (--cooldown-to-c) until the board is cool or the cap is hit
    (bench.sustained.wait_until_cool, shared with `bench run --cooldown-to-c`)."""
    p = plan.protocol
    if p.cooldown_s > 0:
        sleep(p.cooldown_s)
    if p.cooldown_to_c is not None:
        sustained.wait_until_cool(p.cooldown_to_c, p.cooldown_max_s, sleep, read)


def _measure(job: Job, progress: Progress, isolated: bool, counts: Dict[str, Any]) -> RunRecord:
    """One run: in a fresh process (bench.compare.isolate) unless ``isolated`` is False. ``counts``: the operation
    counts of this compare so far (each model is counted once, by its first run)."""
    if not isolated:
        return _attempt(job.run, counts)
    from bench.compare import isolate

    record, error = isolate.run(job.run, progress.set_phase, counts)
    return RunRecord.from_dict(record) if record is not None else _error_record(job.run, error or "no record")


def execute(
    plan: Plan, live: Optional[bool] = None, sleep: Callable[[float], None] = time.sleep, isolated: bool = True
) -> List[RunRecord]:
    """Run what the plan still has to run; return the records written (ok and error). ``isolated``: each run in its
    own process (see bench.compare.isolate); False runs them in this process."""
    pending = plan.pending()
    if plan.protocol.resume and not plan.done:
        log.warning("--resume: %s holds no ok run of this compare (other arguments?); running it whole", plan.output)
    if plan.done:
        log.info(
            "compare %s: resuming, %d of %d runs left", plan.id, len(pending), len(plan.jobs) * plan.protocol.rounds
        )
    if not pending:
        log.info("compare %s: nothing left to run", plan.id)
        return []
    written: List[RunRecord] = []
    counts: Dict[str, Any] = {}
    with Progress(len(pending), plan.protocol.rounds, live=live) as progress:
        labels = sorted({job.label for _, _, job in pending})
        conversions = convert_all(plan, labels, progress)
        for n, (round_index, position, job) in enumerate(pending, 1):
            if n > 1:
                progress.set_phase("cooldown")
                cool_down(plan, sleep)
            progress.starting(n, job.label, round_index)
            conversion_s, failed = conversions[job.label]
            rec = _copy(failed) if failed is not None else _measure(job, progress, isolated, counts)
            rec.compare = _compare_fields(plan, job, round_index, position, conversion_s)
            if job.artifact is not None and job.artifact.origin:  # converted elsewhere: say so in the record
                rec.conversion = artifacts.conversion_section(job.artifact, rec.conversion or {})
            if plan.output is not None:
                append_jsonl(plan.output, rec)
            written.append(rec)
            p50 = rec.latency.invoke.get("p50_ms") if rec.latency is not None else None
            progress.finished(rec.status, p50)
            if rec.status != "ok":
                log.error("%s (round %d): %s", job.label, round_index + 1, rec.error)
    return written


def _copy(rec: RunRecord) -> RunRecord:
    """The conversion's error record, once per (config, round): the run it stands for failed now."""
    copy = RunRecord.from_dict(rec.to_dict())
    copy.created_utc = utc_now()
    return copy
