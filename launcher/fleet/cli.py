"""`edgebench fleet run|status` (also `python -m launcher.fleet`).

edgebench fleet run boards.toml MODEL DATA --configs onnx,tflite [--rounds N] [--resume] [-- <bench run options>]
edgebench fleet status boards.toml
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from pathlib import Path
from typing import List, Optional

from bench.errors import BenchError, InputError
from launcher.cli import split_extra
from launcher.fleet import inventory

log = logging.getLogger(__name__)

DEFAULT_RESULTS = Path("results/fleet.jsonl")
DEFAULT_WORK = Path("results/fleet-work")
DEFAULT_ROUNDS = 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgebench fleet", description="One comparison on many boards (docs/fleet.md).")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the configs on every board of the inventory, boards in parallel")
    r.add_argument("inventory", type=Path, help="boards.toml")
    r.add_argument("model", type=Path)
    r.add_argument("data", type=Path)
    r.add_argument("--configs", required=True, help="comma-separated presets (as for `edgebench compare`)")
    r.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="each round runs every config once, shuffled")
    r.add_argument("--seed", type=int, default=None, help="shuffle seed (default: random, recorded)")
    r.add_argument("--threads", type=int, default=None, help="intra-op threads on every board (recorded)")
    r.add_argument("--boards", default=None, help="comma-separated subset of the inventory's boards")
    r.add_argument("--resume", action="store_true", help="run only what has no ok record in --results yet")
    r.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="appended to, never rewritten")
    r.add_argument("--work", type=Path, default=DEFAULT_WORK, help="conversions and per-board container logs")
    r.add_argument("--cache-dir", type=Path, default=None, help="conversion cache (default: bench's)")
    r.add_argument("--representative-data-path", type=Path, default=None, help="calibration .npz for int8 configs")
    r.add_argument("--plain", action="store_true", help="plain log lines instead of the progress display")
    s = sub.add_parser("status", help="engine reachable? image present, which build? board detected as?")
    s.add_argument("inventory", type=Path)
    s.add_argument("--boards", default=None)
    s.add_argument("--no-detect", action="store_true", help="skip the short detection container per board")
    return p


def _names(text: Optional[str]) -> List[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def cmd_status(args: argparse.Namespace) -> int:
    from launcher.fleet import status

    boards = inventory.load(args.inventory).select(_names(args.boards))
    statuses = status.check_all(boards, detect=not args.no_detect)
    print(status.render(statuses))
    return 0 if all(s.ok for s in statuses) else 1


def _plan(args: argparse.Namespace, extra: List[str]):
    from bench import formats
    from bench.hashing import sha256_path
    from launcher.fleet.convert import resolve
    from launcher.fleet.plan import Plan

    for p, what in ((args.model, "model"), (args.data, "data")):
        if not p.exists():
            raise InputError(f"{what} {p} does not exist", f"check the {what.upper()} path")
    if args.rounds < 1:
        raise InputError(f"--rounds {args.rounds} is not a round count", "give --rounds 1 or more")
    if "--output" in extra or "--threads" in extra:
        raise InputError("--output/--threads after -- are the fleet's own", "use --results and --threads before --")
    return Plan(
        model=args.model.resolve(),
        data=args.data.resolve(),
        model_sha256=sha256_path(args.model),
        model_format=formats.detect(args.model),
        data_sha256=sha256_path(args.data),
        configs=tuple(resolve(_names(args.configs), args.representative_data_path)),
        rounds=args.rounds,
        seed=args.seed if args.seed is not None else random.SystemRandom().randrange(2**31),
        threads=args.threads,
        options=tuple(extra),
        results=args.results,
    )


def cmd_run(args: argparse.Namespace, extra: List[str]) -> int:
    from launcher.fleet import boards as fleet_boards
    from launcher.fleet import convert, progress, summary
    from launcher.fleet import plan as plan_mod

    boards = inventory.load(args.inventory).select(_names(args.boards))
    plan = _plan(args, extra)
    if args.resume:
        plan = plan_mod.seed_from_results(plan)  # the earlier invocation's seed: same shuffled orders
    elif plan_mod.has_records(plan.results, plan.id):
        raise InputError(
            f"{plan.results} already holds records of this fleet run (id {plan.id})",
            "pass --resume to finish it, or --results NEW.jsonl for a new run",
        )
    done = plan_mod.done_units(plan.results, plan.id)
    pending = {c.name for b in boards for (_, _, c) in plan.units(done.get(b.name, set()))}
    convert_extra = ["--representative-data-path", str(args.representative_data_path)]
    conversions = convert.convert_all(
        plan.model,
        plan.data,
        [c for c in plan.configs if c.name in pending],
        args.work,
        args.cache_dir,
        convert_extra if args.representative_data_path else [],
    )
    for c in plan.configs:
        conversions.setdefault(c.name, convert.Conversion(c))
    show = progress.make(plain=True if args.plain else None)
    ctx = fleet_boards.Context(plan=plan, conversions=conversions, work=args.work, progress=show)
    try:
        results = fleet_boards.run_fleet(ctx, boards, done)
    finally:
        show.close()
    print(summary.render(plan, results))
    return 0 if all(r.complete for r in results) else 1


def main(argv: Optional[List[str]] = None) -> int:
    argv, extra = split_extra(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="fleet: %(message)s", stream=sys.stderr
    )
    if not args.verbose:  # the launcher's per-container lines: in the board logs and the progress display already
        logging.getLogger("launcher.container").setLevel(logging.WARNING)
    try:
        if args.command == "status":
            return cmd_status(args)
        return cmd_run(args, extra)
    except BenchError as exc:
        print(f"edgebench: error: {exc}", file=sys.stderr)
        return exc.exit_code
