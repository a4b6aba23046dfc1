"""Command line: `python -m bench {run,compare,demo,report,peaks,selfcheck,...}`.

Only the standard library and bench's light modules are imported here, so `--help`, `report` and
`selfcheck` work without any framework installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, List, Optional

from bench import __version__
from bench.compare import plan as compare_plan
from bench.config import DEMO_MAX_TIME_S, DEMO_STABLE_PCT, RunConfig, Timing
from bench.convert import options as convert_options
from bench.errors import BenchError, InputError
from bench.records import DEFAULT_RESULTS
from bench.runtimes import RUNTIMES

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = DEFAULT_RESULTS  # defined once, in bench.records


def edgetpu_device(text: str) -> str:
    """An Edge TPU device as pycoral's make_interpreter(device=) documents it (google-coral/pycoral v2.0.0
    pycoral/utils/edgetpu.py): ":N", "usb", "usb:N", "pci" or "pci:N"."""
    import argparse
    import re

    if not re.fullmatch(r":\d+|(usb|pci)(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an Edge TPU device: use usb, usb:N, pci, pci:N or :N")
    return text


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-type", choices=("classification", "regression"), default="classification")
    p.add_argument(
        "--use-softmax", action="store_true", help="apply softmax to outputs before metrics (classification)"
    )
    p.add_argument("--model-class-path", type=Path, help="Python file defining the model class (PyTorch state_dict)")
    p.add_argument("--model-class-name", help="name of the model class in --model-class-path")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads for every runtime (recorded)")
    p.add_argument(
        "--delegate",
        choices=("xnnpack", "armnn", "edgetpu", "none"),
        default=None,
        help="TFLite delegate (default: the runtime's own, XNNPACK in LiteRT)",
    )
    p.add_argument(
        "--delegate-path",
        type=Path,
        default=None,
        help="library of the --delegate (e.g. libarmnnDelegate.so; default: the one the image installs)",
    )
    p.add_argument(
        "--edgetpu-device",
        type=edgetpu_device,
        default=None,
        help="which Edge TPU (coral): usb, usb:N, pci, pci:N or :N, as pycoral's make_interpreter(device=) "
        "takes it (default: the first found)",
    )
    t = p.add_argument_group("run length (count and minimum time, with a cap)")
    d = Timing()
    t.add_argument("--warmup-runs", type=int, default=d.warmup_runs)
    t.add_argument("--warmup-min-s", type=float, default=d.warmup_min_s)
    t.add_argument("--min-runs", type=int, default=d.min_runs)
    t.add_argument("--min-time-s", type=float, default=d.min_time_s)
    t.add_argument("--max-time-s", type=float, default=d.max_time_s)
    add_stopping_arguments(t)
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON Lines file the record is appended to")
    p.add_argument("--label", help="free text stored with the record")
    p.add_argument("--no-raw", action="store_true", help="do not keep raw latencies in the record")
    p.add_argument(
        "--profile",
        action="store_true",
        help="per-operator time (ONNX Runtime, PyTorch, TensorRT); latencies then include the profiler's overhead",
    )
    add_random_weights_argument(p)
    add_power_arguments(p)
    convert_options.add_arguments(p)


def add_stopping_arguments(g: Any) -> None:
    """--until-stable and --mlperf-singlestream (bench.harness.until_stable, bench.config.Timing)."""
    g.add_argument(
        "--until-stable",
        type=float,
        default=None,
        metavar="PCT",
        help="after the minimums, run until the median's 95%% interval is within +-PCT%% of it (capped by --max-time-s)",
    )
    g.add_argument(
        "--mlperf-singlestream",
        action="store_true",
        help="MLPerf LoadGen's SingleStream minimums: 600 s and at least 64 queries (for its early-stopping p90)",
    )


def _timing_from_args(args: argparse.Namespace) -> Timing:
    timing = Timing(
        warmup_runs=args.warmup_runs,
        warmup_min_s=args.warmup_min_s,
        min_runs=args.min_runs,
        min_time_s=args.min_time_s,
        max_time_s=args.max_time_s,
        until_stable_pct=args.until_stable,
    )
    return (timing.mlperf_singlestream() if args.mlperf_singlestream else timing).validate()


def add_power_arguments(p: argparse.ArgumentParser) -> None:
    """Energy (bench/power) and sustained-run (bench/sustained.py) options, for `run` and `compare`."""
    from bench.power import DEFAULT_HZ, DEFAULT_IDLE_S, SOURCES
    from bench.sustained import DEFAULT_WINDOW_S

    g = p.add_argument_group("energy and sustained runs")
    g.add_argument("--power-source", default="auto", choices=("auto", "none", *SOURCES), help="power sensor")
    g.add_argument("--power-cmd", default=None, help="external meter: a command printing watts (no shell)")
    g.add_argument("--power-hz", type=float, default=DEFAULT_HZ, help="power reads per second")
    g.add_argument("--idle-s", type=float, default=DEFAULT_IDLE_S, help="idle power window before the run, s")
    g.add_argument("--sustained-s", type=float, default=None, help="after the run, run S seconds more in windows")
    g.add_argument("--window-s", type=float, default=DEFAULT_WINDOW_S, help="window of --sustained-s, s")


def _power_and_sustained(args: argparse.Namespace) -> dict:
    from bench.power import SOURCES, PowerOptions
    from bench.sustained import SustainedOptions

    power = PowerOptions(args.power_source, args.power_cmd, args.power_hz, args.idle_s).validate(SOURCES)
    sustained = None if args.sustained_s is None else SustainedOptions(args.sustained_s, args.window_s).validate()
    return {"power": power, "sustained": sustained}


def add_random_weights_argument(p: argparse.ArgumentParser) -> None:
    """--random-weights, one definition for `run` and `compare` (through _add_run_arguments)."""
    p.add_argument(
        "--random-weights",
        action="store_true",
        help="the model has random weights (e.g. the zoo): metrics are kept but marked not meaningful",
    )


def build_parser() -> argparse.ArgumentParser:
    # the name the user typed: the `edgebench` console script, else `python -m bench`
    prog = "edgebench" if Path(sys.argv[0]).name == "edgebench" else "python -m bench"
    parser = argparse.ArgumentParser(prog=prog, description="Benchmark a model's latency and quality.")
    parser.add_argument("--version", action="version", version=f"edgebench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="benchmark MODEL on DATA with one framework")
    run.add_argument("model", type=Path, help="model file or SavedModel folder")
    run.add_argument("data", type=Path, help=".npz with x_data (no batch dimension) and y_data")
    run.add_argument("--framework", required=True, choices=tuple(RUNTIMES))
    _add_run_arguments(run)
    run.add_argument("--cooldown-to-c", type=float, default=None, help="first wait until the hottest zone is below")
    run.add_argument(
        "--cooldown-max-s",
        type=float,
        default=compare_plan.DEFAULT_COOLDOWN_MAX_S,
        help="cap of the --cooldown-to-c wait, s",
    )

    # "resolve": compare's own --threads (a list to sweep) replaces the run option of the same name
    cmp = sub.add_parser(
        "compare", conflict_handler="resolve", help="MODEL on every chosen preset (framework and optimization)"
    )
    cmp.add_argument("model", type=Path, help="the source model; each preset converts it as it needs")
    cmp.add_argument("data", type=Path, help=".npz with x_data (no batch dimension) and y_data")
    _add_run_arguments(cmp)
    compare_plan.add_arguments(cmp)

    demo = sub.add_parser("demo", help="compare the built-in digits CNN on PyTorch, ONNX Runtime and TFLite")
    demo.add_argument("--frameworks", default="pytorch,onnx,tflite", help="comma-separated presets")
    demo.add_argument("--threads", type=int, default=None)
    demo.add_argument("--rounds", type=int, default=compare_plan.DEFAULT_ROUNDS)
    demo.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    demo.add_argument(
        "--until-stable",
        type=float,
        default=DEMO_STABLE_PCT,
        metavar="PCT",
        help="each run goes on until the median's 95%% interval is within +-PCT%% of it (default %(default)s)",
    )
    demo.add_argument("--max-time-s", type=float, default=DEMO_MAX_TIME_S, help="cap of one run's measurement, s")

    rep = sub.add_parser("report", help="render result files (several boards merge): table, markdown, csv, json")
    rep.add_argument("files", type=Path, nargs="+")
    rep.add_argument("--format", choices=("table", "markdown", "csv", "json"), default="table")
    rep.add_argument("--plot", type=Path, default=None, metavar="DIR", help="write PNG and SVG charts to DIR")
    rep.add_argument("--wide", action="store_true", help="every column (versions, e2e, p90/p99, mean±std, ...)")
    rep.add_argument("--baseline", default=None, help="config label speedups are measured against")
    rep.add_argument("--last", type=int, default=None, help="only the last N records")

    ck = sub.add_parser("check", help="gate: is NEW slower or worse than REFERENCE beyond noise? (exit 1 if so)")
    from bench import check_report

    check_report.add_arguments(ck)

    ev = sub.add_parser(
        "evaluate",
        add_help=False,
        help="the original tool's command line: evaluate MODEL DATA FRAMEWORK [--use-armnn ...] (see bench/legacy.py)",
    )
    ev.add_argument("legacy_args", nargs=argparse.REMAINDER)

    zoo = sub.add_parser("zoo", help="write ResNet-50, MobileNetV2, EfficientNet-B0 (random weights) and data")
    zoo.add_argument("--out", type=Path, required=True, help="folder the models, data and zoo.json are written to")
    zoo.add_argument("--models", nargs="+", default=None, help="resnet50 mobilenetv2 efficientnet-b0 (default: all)")
    zoo.add_argument("--samples", type=int, default=None, help="random input samples in each data.npz (50)")
    zoo.add_argument("--representative-samples", type=int, default=None, help="samples in representative.npz (100)")
    zoo.add_argument("--seed", type=int, default=0)
    zoo.add_argument("--no-keras", action="store_true", help="skip the keras.applications variants")
    # its own parser (launcher.fleet.cli), reached before this one parses: `edgebench fleet run|status --help`
    sub.add_parser("fleet", help="one compare on many boards through their Docker engines (fleet run|status)")

    vf = sub.add_parser("verify", help="which paths of this image work on this board: pass, fail or skipped each")
    from bench import verify as verify_mod

    verify_mod.add_arguments(vf)

    pk = sub.add_parser("peaks", help="the peaks GOP/s shares are taken of here, with kind, formula and source")
    from bench import peaktable

    peaktable.add_arguments(pk)

    sc = sub.add_parser("selfcheck", help="print runtime versions and delegates; fail if a required one is missing")
    sc.add_argument("--require", default="", help="comma-separated runtimes/delegates that must work")
    sc.add_argument("--model", type=Path, default=None, help="also run this model once per required runtime")
    return parser


def _config_from_args(args: argparse.Namespace) -> RunConfig:
    timing = _timing_from_args(args)
    if args.threads is not None and args.threads < 1:  # 0 would read as "unset" in the runtimes
        raise InputError(f"--threads {args.threads} is not a thread count", "pass --threads 1 or more, or leave it out")
    return RunConfig(
        model=args.model,
        data=args.data,
        framework=args.framework,
        model_type=args.model_type,
        use_softmax=args.use_softmax,
        model_class_path=args.model_class_path,
        model_class_name=args.model_class_name,
        threads=args.threads,
        delegate=args.delegate,
        delegate_path=args.delegate_path,
        edgetpu_device=args.edgetpu_device,
        timing=timing,
        output=args.output,
        label=args.label,
        keep_raw=not args.no_raw,
        profile=getattr(args, "profile", False),
        random_weights=args.random_weights,
        convert=convert_options.from_args(args),
        **_power_and_sustained(args),
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from bench import report, runner

    config = _config_from_args(args)
    if args.cooldown_max_s < 0:
        raise InputError(f"--cooldown-max-s {args.cooldown_max_s:g} is negative", "pass --cooldown-max-s 0 or more")
    if args.cooldown_to_c is not None:
        from dataclasses import replace

        from bench.sustained import CooldownOptions

        config = replace(config, cooldown=CooldownOptions(args.cooldown_to_c, args.cooldown_max_s))
    record = runner.run_and_record(config)
    report.print_records([record.to_dict()])
    if args.convert_only or args.convert_output:
        from bench.convert import output

        print(output.summary(record.conversion, record.model.path if record.model else ""))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from bench import runner

    _ensure_cpu_peak()
    records = runner.demo(
        frameworks=[f for f in args.frameworks.split(",") if f],
        threads=args.threads,
        output=args.output,
        rounds=args.rounds,
        timing=Timing(until_stable_pct=args.until_stable, max_time_s=args.max_time_s).validate(),
    )
    return _show_compare([r.to_dict() for r in records])


def compare_plan_of(args: argparse.Namespace) -> compare_plan.Plan:
    """The plan of `compare` arguments: the run options as `run` reads them, framework and threads per job."""
    ns = argparse.Namespace(**vars(args))
    ns.framework, ns.threads = "", None  # each job's, set by its preset and the --threads sweep
    return compare_plan.from_args(args, _config_from_args(ns))


def _cmd_compare(args: argparse.Namespace) -> int:
    from bench.compare import run as compare_run
    from bench.records import read_records

    plan = compare_plan_of(args)
    if args.convert_only:  # the conversion step for a device: files and manifest into --convert-output DIR
        from bench.compare import artifacts

        print(artifacts.summary(artifacts.convert_presets(plan, args.convert_output), args.convert_output))
        return 0
    _ensure_cpu_peak()
    compare_run.execute(plan)
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
    from bench.errors import InputError
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
    if argv[:1] == ["fleet"]:
        from launcher.fleet.cli import main as fleet_main

        return fleet_main(argv[1:])
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
