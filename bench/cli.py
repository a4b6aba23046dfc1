"""Command line: `python -m bench {run,compare,demo,report,peaks,selfcheck,...}`.

Only the standard library and bench's light modules are imported here, so `--help`, `report` and
`selfcheck` work without any framework installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from bench import __version__, cli_args, config
from bench.compare import plan as compare_plan
from bench.config import Timing
from bench.errors import BenchError, InputError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    # the name the user typed: the `edgebench` console script, else `python -m bench`
    prog = "edgebench" if Path(sys.argv[0]).name == "edgebench" else "python -m bench"
    parser = argparse.ArgumentParser(prog=prog, description="Benchmark a model's latency and quality.")
    parser.add_argument("--version", action="version", version=f"edgebench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    cli_args.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from bench import report, runner

    record = runner.run_and_record(config.run_config(args))
    report.print_records([record.to_dict()])
    if args.convert_only or args.convert_output:
        from bench.convert import output

        print(output.summary(record.conversion, record.model.path if record.model else ""))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from bench.compare import demo

    _ensure_cpu_peak()
    records = demo.demo(
        frameworks=[f for f in args.frameworks.split(",") if f],
        threads=args.threads,
        output=args.output,
        rounds=args.rounds,
        timing=Timing(
            until_stable_pct=args.until_stable, min_time_s=args.min_time_s, max_time_s=args.max_time_s
        ).validate(),
    )
    return _show_compare([r.to_dict() for r in records])


def compare_plan_of(args: argparse.Namespace) -> compare_plan.Plan:
    """The plan of `compare` arguments: the run options as `run` reads them, framework and threads per job."""
    # framework and threads: each job's, set by its preset and the --threads sweep; compare waits between runs itself
    return compare_plan.from_args(args, config.run_config(args, framework="", threads=None, cooldown=None))


def _cmd_compare(args: argparse.Namespace) -> int:
    from bench.compare import rounds as compare_rounds
    from bench.records import read_records

    plan = compare_plan_of(args)
    if args.convert_only:  # the conversion step for a device: files and manifest into --convert-output DIR
        from bench.compare import artifacts

        print(artifacts.summary(artifacts.convert_presets(plan, args.convert_output), args.convert_output))
        return 0
    _ensure_cpu_peak()
    compare_rounds.execute(plan)
    records = [r for r in read_records(plan.output) if (r.get("compare") or {}).get("id") == plan.id]
    for name, reason in plan.skipped:
        print(f"not run here: {name} ({reason})")
    return _show_compare(records, plan.baseline)


def _show_compare(records: List[dict], baseline: Optional[str] = None) -> int:
    """Print the comparison; non-zero when a (config, round) of the compare has no ok record, naming the configs."""
    from bench import report

    if hasattr(report, "print_comparison"):
        report.print_comparison(records, baseline=baseline)
    else:
        report.print_records(records)
    ok = {(r["compare"]["label"], r["compare"]["round"]) for r in records if r.get("status") == "ok"}
    failed = sorted(
        {r["compare"]["label"] for r in records if (r["compare"]["label"], r["compare"]["round"]) not in ok}
    )
    if failed:
        print(
            f"edgebench: error: {len(failed)} config(s) failed: {', '.join(failed)}. "
            "Fix: read each record's error above; install what it names or leave the config out",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from bench import report
    from bench.records import read_records

    if args.last is not None and args.last < 1:
        raise InputError(f"--last {args.last} is not a positive count", "give --last N with N >= 1, or leave it out")
    records = [r for f in args.files for r in read_records(f)]
    if args.last:
        records = records[-args.last :]
    text = report.render(records, args.format, args.plot, args.wide, args.baseline)
    if text:
        sys.stdout.write(text)
    return 0


def _cmd_zoo(args: argparse.Namespace) -> int:
    from bench.models import zoo

    counts = {"samples": args.samples, "representative_samples": args.representative_samples}
    kw = {k: v for k, v in counts.items() if v is not None}
    manifest = zoo.write_zoo(args.out, zoo.parse_names(args.models), seed=args.seed, keras=not args.no_keras, **kw)
    for name, entry in manifest["models"].items():
        for variant, files in entry.items():
            if isinstance(files, dict):
                model = files.get("onnx") or files["model"]
                print(f"{name:<16} {variant:<8} {files['params']:>11,} parameters  {model}")
    print(f"manifest: {Path(args.out) / zoo.MANIFEST} (random weights: pass --random-weights to run/compare)")
    return 0


def _cmd_selfcheck(args: argparse.Namespace) -> int:
    from bench import selfcheck

    required = [r for r in args.require.split(",") if r]
    return selfcheck.main(required, model=args.model)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from bench import legacy

    return main(legacy.translate(args.legacy_args))


def evaluate(argv: Optional[List[str]] = None) -> int:
    """evaluate.py: an original-style call run as ``bench run`` (bench.legacy.translate); the exit code is ``run``'s."""
    from bench import legacy

    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="edgebench: %(levelname)s: %(message)s")
    return main(legacy.translate(args))


def _cmd_check(args: argparse.Namespace) -> int:
    from bench import check_report

    return check_report.main(args)


def _cmd_peaks(args: argparse.Namespace) -> int:
    from bench import peaktable

    return peaktable.main(args)


def _ensure_cpu_peak() -> None:
    """Before a compare or demo on a CPU the peaks table does not know: its measured peak, once per machine."""
    from bench import cpupeak, machine

    try:
        cpupeak.ensure(machine.facts())
    except Exception as exc:  # the comparison stands without a share of peak
        log.warning("CPU peak not measured: %s: %s", type(exc).__name__, exc)


def _cmd_verify(args: argparse.Namespace) -> int:
    from bench import verify

    return verify.main(args)


COMMANDS = {
    "run": _cmd_run,
    "demo": _cmd_demo,
    "compare": _cmd_compare,
    "report": _cmd_report,
    "selfcheck": _cmd_selfcheck,
    "zoo": _cmd_zoo,
    "evaluate": _cmd_evaluate,
    "verify": _cmd_verify,
    "check": _cmd_check,
    "peaks": _cmd_peaks,
}


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fleet"]:  # the `edgebench` script (launcher.console) hands fleet to the launcher before this
        exc = BenchError(
            "fleet is the launcher's command, and `python -m bench` is bench alone",
            "run `edgebench fleet ...` (or `python -m launcher.fleet ...`) from a checkout with the launcher",
        )
        print(f"edgebench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="edgebench: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return COMMANDS[args.command](args)
    except BenchError as exc:
        print(f"edgebench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("edgebench: interrupted; results already written are kept", file=sys.stderr)
        return 130
