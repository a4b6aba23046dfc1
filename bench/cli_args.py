"""The command line's parsers: one function per subcommand, and the option groups `run` and `compare` share.

Only the standard library and bench's light modules are imported here (see bench/cli.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench import runtimes
from bench.compare import plan as compare_plan
from bench.config import DEMO_MAX_TIME_S, DEMO_MIN_TIME_S, DEMO_STABLE_PCT, Timing
from bench.convert import options as convert_options
from bench.records import DEFAULT_RESULTS

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
        choices=runtimes.delegate_names(),
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


def add_random_weights_argument(p: argparse.ArgumentParser) -> None:
    """--random-weights, one definition for `run` and `compare` (through _add_run_arguments)."""
    p.add_argument(
        "--random-weights",
        action="store_true",
        help="the model has random weights (e.g. the zoo): metrics are kept but marked not meaningful",
    )


def add_commands(sub: Any) -> None:
    """Every subcommand's parser, in the order --help lists them."""
    for add in (_run_parser, _compare_parser, _demo_parser, _report_parser, _gate_parsers, _zoo_parser, _board_parsers):
        add(sub)


def _run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="benchmark MODEL on DATA with one framework")
    run.add_argument("model", type=Path, help="model file or SavedModel folder")
    run.add_argument("data", type=Path, help=".npz with x_data (no batch dimension) and y_data")
    run.add_argument("--framework", required=True, choices=runtimes.names())
    _add_run_arguments(run)
    run.add_argument("--cooldown-to-c", type=float, default=None, help="first wait until the hottest zone is below")
    run.add_argument(
        "--cooldown-max-s",
        type=float,
        default=compare_plan.DEFAULT_COOLDOWN_MAX_S,
        help="cap of the --cooldown-to-c wait, s",
    )


def _compare_parser(sub: Any) -> None:
    # "resolve": compare's own --threads (a list to sweep) replaces the run option of the same name
    cmp = sub.add_parser(
        "compare", conflict_handler="resolve", help="MODEL on every chosen preset (framework and optimization)"
    )
    cmp.add_argument("model", type=Path, help="the source model; each preset converts it as it needs")
    cmp.add_argument("data", type=Path, help=".npz with x_data (no batch dimension) and y_data")
    _add_run_arguments(cmp)
    compare_plan.add_arguments(cmp)


def _demo_parser(sub: Any) -> None:
    demo = sub.add_parser("demo", help="compare the built-in digits CNN on PyTorch, ONNX Runtime and TFLite")
    demo.add_argument("--frameworks", default="pytorch,onnx,tflite", help="comma-separated presets")
    demo.add_argument("--threads", type=int, default=None, help="intra-op threads (default: every usable core but one)")
    demo.add_argument("--rounds", type=int, default=compare_plan.DEFAULT_ROUNDS)
    demo.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    demo.add_argument(
        "--until-stable",
        type=float,
        default=DEMO_STABLE_PCT,
        metavar="PCT",
        help="each run goes on until the median's 95%% interval is within +-PCT%% of it (default %(default)s)",
    )
    demo.add_argument("--min-time-s", type=float, default=DEMO_MIN_TIME_S, help="least measurement of one run, s")
    demo.add_argument("--max-time-s", type=float, default=DEMO_MAX_TIME_S, help="cap of one run's measurement, s")


def _report_parser(sub: Any) -> None:
    rep = sub.add_parser("report", help="render result files (several boards merge): table, markdown, csv, json")
    rep.add_argument("files", type=Path, nargs="+")
    rep.add_argument("--format", choices=("table", "markdown", "csv", "json"), default="table")
    rep.add_argument("--plot", type=Path, default=None, metavar="DIR", help="write PNG and SVG charts to DIR")
    rep.add_argument("--wide", action="store_true", help="every column (versions, e2e, p90/p99, mean±std, ...)")
    rep.add_argument("--baseline", default=None, help="config label speedups are measured against")
    rep.add_argument("--last", type=int, default=None, help="only the last N records")


def _gate_parsers(sub: Any) -> None:
    """`check` (the regression gate) and `evaluate` (the original tool's command line)."""
    ck = sub.add_parser("check", help="gate: is NEW slower or worse than REFERENCE beyond noise? (exit 1 if so)")
    from bench import check_report

    check_report.add_arguments(ck)

    ev = sub.add_parser(
        "evaluate",
        add_help=False,
        help="the original tool's command line: evaluate MODEL DATA FRAMEWORK [--use-armnn ...] (see bench/legacy.py)",
    )
    ev.add_argument("legacy_args", nargs=argparse.REMAINDER)


def _zoo_parser(sub: Any) -> None:
    """`zoo`, then `fleet`: the launcher's command, listed for --help."""
    zoo = sub.add_parser("zoo", help="write ResNet-50, MobileNetV2, EfficientNet-B0 (random weights) and data")
    zoo.add_argument("--out", type=Path, required=True, help="folder the models, data and zoo.json are written to")
    zoo.add_argument("--models", nargs="+", default=None, help="resnet50 mobilenetv2 efficientnet-b0 (default: all)")
    zoo.add_argument("--samples", type=int, default=None, help="random input samples in each data.npz (50)")
    zoo.add_argument("--representative-samples", type=int, default=None, help="samples in representative.npz (100)")
    zoo.add_argument("--seed", type=int, default=0)
    zoo.add_argument("--no-keras", action="store_true", help="skip the keras.applications variants")
    # the launcher's command: the `edgebench` script (launcher.console) hands it to launcher.fleet.cli before this
    # parser runs; bench itself never imports the launcher (the device images ship bench alone)
    sub.add_parser("fleet", help="one compare on many boards through their Docker engines (fleet run|status)")


def _board_parsers(sub: Any) -> None:
    """`verify`, `peaks`, `selfcheck`: what this image does on this board."""
    vf = sub.add_parser("verify", help="which paths of this image work on this board: pass, fail or skipped each")
    from bench import verify as verify_mod

    verify_mod.add_arguments(vf)

    pk = sub.add_parser("peaks", help="the peaks GOP/s shares are taken of here, with kind, formula and source")
    from bench import peaktable

    peaktable.add_arguments(pk)

    sc = sub.add_parser("selfcheck", help="print runtime versions and delegates; fail if a required one is missing")
    sc.add_argument("--require", default="", help="comma-separated runtimes/delegates that must work")
    sc.add_argument("--model", type=Path, default=None, help="also run this model once per required runtime")
