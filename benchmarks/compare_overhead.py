"""Time to an answer: the default demo's wall time against its timed work, and where the rest goes.

``make bench`` with no arguments runs ``python -m bench demo``: a compare of the built-in digits CNN on PyTorch,
ONNX Runtime and TFLite, 3 rounds, each run in a fresh process (bench.compare.isolate). Its timed work is what the
records say was timed: warm-up plus measurement (``latency.warmup_s + latency.measured_s``), summed over the runs.
Everything else is overhead.

1. **demo, before and after, side by side** (the main figure): ``python -m bench demo`` from a checkout of
   ``--before`` (default: the commit this work started from, extracted with ``git archive``) and from this tree,
   alternating, ``--rounds`` times each. Per demo: wall time from the command to its exit, timed work, and their
   ratio (goal <= 1.5); the runs' untimed time (each run's elapsed time from the compare's log, less its timed work:
   process, imports, load, peak, op count, record) and the time outside the runs (interpreter start, the conversion
   stage, the fork server's start, the report). ``--skip-peak`` also runs this tree with the per-process CPU peak measurement switched off
   (a ``sitecustomize`` on the demo's PYTHONPATH pre-fills bench.peak_share's per-process peak cache, its existing
   switch), which is what the demo costs once the peak is measured once per machine instead of once per run.
2. **where one run's time goes** (``--phases``): one run per framework in a fresh process as the compare makes it,
   with the runner's steps wrapped in timers inside the child: process start (until the child's first line runs),
   bench imports, the framework import, load, the CPU peak, the power sampler's idle window, the timed warm-up and
   measurement, the op count, machine facts and tool info, the record (JSON and pipe), process exit; before and
   after, the same way.

    nice .venv/bin/python benchmarks/compare_overhead.py [--rounds 2] [--before REF] [--skip-peak] [--phases]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
#: the code to compare against: main at the start of the second round of cuts (the first round started from b0b75e4)
DEFAULT_BEFORE = "872cfba"
GOAL = 1.5
#: the compare's log line at the end of each run: "compare: run 3/9 onnx: p50 0.02568 ms (4.6 s)"
RUN_LINE = re.compile(r"compare: run \d+/\d+ \S+: .*\(([\d.]+) s\)$", re.M)

SKIP_PEAK = """\
# written by benchmarks/compare_overhead.py --skip-peak: every process starts with its CPU peak cache filled, so
# bench.peak_share.before_measurement measures nothing (what a peak measured once per machine costs a run: nothing)
try:
    import bench.peak_share as _c

    _c._MEASURED.setdefault("error", "skipped by benchmarks/compare_overhead.py --skip-peak")
except (ImportError, AttributeError):  # no per-run peak in this tree: nothing to skip
    pass
"""


def extract(ref: str, into: Path) -> Path:
    """The ``bench`` package of ``ref`` in ``into`` (git archive | tar), for PYTHONPATH."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "bench"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def demo_once(tree: Path, out: Path, extra_path: Optional[Path] = None) -> Dict[str, Any]:
    """One ``python -m bench demo`` from ``tree``: wall seconds, timed seconds, ratio, runs."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in (extra_path, tree) if p))
    if out.exists():
        out.unlink()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "demo", "--output", str(out)], cwd=tree, env=env, capture_output=True
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"demo from {tree} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    timed = sum((r["latency"]["warmup_s"] + r["latency"]["measured_s"]) for r in records if r.get("latency"))
    runs_s = sum(float(s) for s in RUN_LINE.findall(proc.stderr.decode()))  # each run, start to record
    noisy = proc.stderr.decode().count("latency is noisy")
    shares = [r["latency"]["invoke"].get("outlier_share", 0.0) for r in records if r.get("latency")]
    return {
        "wall_s": wall, "timed_s": timed, "ratio": wall / timed, "runs": len(records), "runs_s": runs_s,
        "noise_warnings": noisy, "max_outlier_share": max(shares, default=0.0), "load": load_average(),
    }  # fmt: skip


def demo_side_by_side(variants: Dict[str, tuple], rounds: int, work: Path) -> Dict[str, List[Dict[str, Any]]]:
    results: Dict[str, List[Dict[str, Any]]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]  # which goes first alternates
        for name in order:
            tree, extra = variants[name]
            res = demo_once(tree, work / f"{name}.jsonl", extra)
            results[name].append(res)
            print(f"  round {r + 1} {name}: {res['wall_s']:.1f} s wall, {res['timed_s']:.1f} s timed, "
                  f"{res['ratio']:.2f}x ({res['runs']} runs; {res['noise_warnings']} noise warnings, largest "
                  f"outlier share {100 * res['max_outlier_share']:.1f}%; load average after {res['load']})",
                  flush=True)  # fmt: skip
    return results


# ------------------------------------------------------------------------------------------- one run, by phase


def _wrap(owner: Any, name: str, phase: str, spent: Dict[str, float]) -> None:
    original = getattr(owner, name, None)
    if original is None:  # a step this tree does not have (e.g. the per-run CPU peak, gone since it is cached)
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - t0

    setattr(owner, name, timed)


def _phase_child(config: Any, conn: Any) -> None:
    """A compare run's child, its steps timed; sends (first-line time, phases, record time) back."""
    first = time.perf_counter()  # CLOCK_MONOTONIC: comparable with the parent's clock
    spent: Dict[str, float] = {}
    t0 = time.perf_counter()
    from bench import harness, machine, peak_share, runner
    from bench.power import session as power_session
    from bench.records import to_json_line

    spent["bench imports"] = time.perf_counter() - t0
    _wrap(harness, "timed_setup", "framework import", spent)
    _wrap(harness, "timed_load", "load", spent)
    _wrap(peak_share, "before_measurement", "CPU peak", spent)
    _wrap(power_session.PowerRun, "__enter__", "power idle window", spent)
    _wrap(harness, "measure", "timed warm-up + measure", spent)
    _wrap(peak_share, "count_ops", "op count", spent)
    _wrap(runner, "tool_info", "machine facts, tool info", spent)
    _wrap(machine, "facts", "machine facts, tool info", spent)
    t0 = time.perf_counter()
    record = runner.run(config)
    total = time.perf_counter() - t0
    t0 = time.perf_counter()
    line = to_json_line(record)
    spent["record (JSON)"] = time.perf_counter() - t0
    spent["rest of the run"] = total - sum(v for k, v in spent.items() if k not in ("bench imports", "record (JSON)"))
    conn.send((first, spent, time.perf_counter(), len(line)))
    conn.close()


def phases_of_one_run(config: Any, ctx: Any) -> Dict[str, float]:
    receive, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_phase_child, args=(config, send), daemon=True)
    proc.start()
    send.close()
    first, spent, sent, _ = receive.recv()
    got = time.perf_counter()
    proc.join()
    out = {"process start": first - t0, **spent, "pipe": got - sent, "process exit": time.perf_counter() - got}
    out["total"] = time.perf_counter() - t0
    return out


def demo_configs() -> List[Any]:
    from bench import models
    from bench.config import RunConfig, Timing

    arts = {
        "pytorch": (models.DIGITS_STATE_DICT, models.DIGITS_CLASS_FILE, models.DIGITS_CLASS_NAME),
        "onnx": (models.DIGITS_ONNX, None, None),
        "tflite": (models.DIGITS_TFLITE, None, None),
    }
    return [
        RunConfig(model=m, data=models.DIGITS_TEST_DATA, framework=fw, model_class_path=c, model_class_name=n,
                  timing=Timing())
        for fw, (m, c, n) in arts.items()
    ]  # fmt: skip


def print_phases(rounds: int) -> None:
    """Per framework, spawn (before) and the fork server (after), runs interleaved; medians over ``rounds``."""
    from bench.compare import isolate

    configs = demo_configs()
    t0 = time.perf_counter()
    server = isolate.context()
    phases_of_one_run(configs[1], server)  # starts the fork server (once per compare), not counted below
    print(f"fork server start and first run: {time.perf_counter() - t0:.2f} s", flush=True)
    methods = {"spawn": multiprocessing.get_context("spawn"), "fork server": server}
    table: Dict[str, Dict[str, List[float]]] = {}
    for r in range(rounds):
        for config in configs:
            for name in methods if r % 2 == 0 else list(methods)[::-1]:
                column = f"{config.framework}, {name}"
                for phase, seconds in phases_of_one_run(config, methods[name]).items():
                    table.setdefault(column, {}).setdefault(phase, []).append(seconds)
    columns = sorted(table)
    phases = list(table[columns[0]])
    print("\n| phase (median s per run) | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for phase in phases:
        row = " | ".join(f"{statistics.median(table[c][phase]):.3f}" for c in columns)
        print(f"| {phase} | {row} |")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--before", default=DEFAULT_BEFORE, help="git ref of the code to compare against")
    ap.add_argument("--skip-peak", action="store_true", help="also run this tree with the per-run peak skipped")
    ap.add_argument("--phases", action="store_true", help="only the per-phase breakdown of one run (this tree)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    print(f"load average before: {load_average()}, {os.cpu_count()} CPUs", flush=True)
    if args.phases:
        print_phases(args.rounds)
        print(f"load average after: {load_average()}")
        return 0
    with tempfile.TemporaryDirectory(prefix="edgebench-overhead-") as tmp:
        work = Path(tmp)
        (work / "before").mkdir()
        before = extract(args.before, work / "before")
        variants = {f"before ({args.before})": (before, None), "after": (REPO, None)}
        if args.skip_peak:
            hook = work / "skip-peak"
            hook.mkdir()
            (hook / "sitecustomize.py").write_text(SKIP_PEAK)
            variants[f"before ({args.before}), peak skipped"] = (before, hook)
            variants["after, peak skipped"] = (REPO, hook)
        results = demo_side_by_side(variants, args.rounds, work)
    print(
        "\n| demo (`python -m bench demo`, 9 runs), medians | wall s | timed s | runs' untimed s | outside the runs s "
        f"| wall / timed (goal <= {GOAL:g}) |"
    )
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "timed_s", "ratio")}
        untimed = statistics.median(r["runs_s"] - r["timed_s"] for r in runs)
        outside = statistics.median(r["wall_s"] - r["runs_s"] for r in runs)
        print(
            f"| {name} | {med['wall_s']:.1f} | {med['timed_s']:.1f} | {untimed:.1f} | {outside:.1f} "
            f"| {med['ratio']:.2f} |"
        )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
