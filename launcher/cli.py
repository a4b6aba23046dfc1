"""Command line of the launcher.

python -m launcher bench --device rpi5 MODEL DATA --framework onnx [--emulate] [-- --threads 4 ...]
python -m launcher bench --device rpi5                      # the built-in demo inside the image
python -m launcher selfcheck --device rpi-coral
python -m launcher convert MODEL DATA --framework tflite --out converted/ [-- --precision int8 ...]
python -m launcher chain --device rpi5 MODEL DATA --framework tflite [-- ...]   # convert in host, bench on rpi5
python -m launcher compare --device rpi5 MODEL DATA [--emulate] [-- --configs onnx,tflite --rounds 3 ...]
                                             # every preset converted in host first, measured on rpi5
python -m launcher verify --device rpi5 [--emulate] [-- --presets tflite,tflite-int8]   # edgebench verify there
python -m launcher detect | profiles
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from bench.errors import BenchError
from bench.records import DEFAULT_RESULTS
from bench.runtimes import model_suffixes  # what a converted model looks like per framework (`chain`'s choices)
from launcher import detect, profiles
from launcher.workflows import (
    COMPARE_CONVERTED,
    VERIFY_IN_CONTAINER,
    bench_argv,
    compare_on_device,
    convert_then_bench,
    device_profile,
    job_of,
    run_or_print,
    verify_inputs,
)

log = logging.getLogger(__name__)

#: default outer timeout of `launcher compare` (every preset, several rounds), seconds
COMPARE_TIMEOUT_S = 4 * 3600.0
#: `launcher verify`: where the JSON report of bench verify is copied to here
VERIFY_REPORTS = Path("results/verify")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", default=None, help="image to use instead of the profile's")
    p.add_argument("--emulate", action="store_true", help="run a foreign-architecture image under qemu (explicit)")
    p.add_argument("--mount-mode", choices=("copy", "bind"), default="copy", help="inputs: copy in (default) or bind")
    p.add_argument("--timeout", type=float, default=3600.0, help="kill the container after this many seconds")
    p.add_argument("--no-pull", action="store_true", help="never pull; use local images only")
    p.add_argument(
        "--no-accelerator",
        action="store_true",
        help="run the device image without its accelerator (no Coral/GPU check or devices): its CPU path",
    )


def _print_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the `docker run` command this implies on the board's own engine and exit (nothing runs)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m launcher", description="Run edgebench in a device container.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="benchmark MODEL on DATA in the device's image (no MODEL: the demo)")
    b.add_argument("--device", default="auto", help=f"auto or one of {', '.join(profiles.PROFILES)}")
    b.add_argument("model", nargs="?", type=Path)
    b.add_argument("data", nargs="?", type=Path)
    b.add_argument("--framework", default=None)
    b.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="appended to, never rewritten")
    _common(b)
    _print_option(b)
    s = sub.add_parser("selfcheck", help="runtime versions and delegates in the device's image")
    s.add_argument("--device", default="auto")
    s.add_argument("--require", default="")
    _common(s)
    _print_option(s)
    for name, helptext in (
        ("convert", "convert MODEL in the host image"),
        ("chain", "convert in host, bench on DEVICE"),
    ):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="appended to, never rewritten")
        if name == "chain":
            c.add_argument("--device", required=True)
        c.add_argument("model", type=Path)
        c.add_argument("data", type=Path)
        c.add_argument("--framework", required=True, choices=sorted(model_suffixes()))
        c.add_argument("--out", type=Path, default=Path("results/converted"), help="converted models land here")
        _common(c)
    cmp = sub.add_parser("compare", help="compare presets on MODEL in the device's image (no MODEL: the digits model)")
    cmp.add_argument("--device", default="auto", help=f"auto or one of {', '.join(profiles.PROFILES)}")
    cmp.add_argument("model", nargs="?", type=Path)
    cmp.add_argument("data", nargs="?", type=Path)
    cmp.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="appended to, never rewritten")
    cmp.add_argument(
        "--no-host-convert",
        action="store_true",
        help="convert in the device image (which has no onnx2tf/TensorFlow), not first in the host image",
    )
    cmp.add_argument(
        "--converted",
        type=Path,
        default=None,
        help=f"the host conversions go here (default {COMPARE_CONVERTED}/compare-<key>; reused when complete)",
    )
    _common(cmp)
    # --all with three rounds on ResNet-50 takes most of an hour on a Raspberry Pi
    cmp.set_defaults(timeout=COMPARE_TIMEOUT_S)
    vf = sub.add_parser("verify", help="edgebench verify in the device's image: pass, fail or skipped per path")
    vf.add_argument("--device", default="auto", help=f"auto or one of {', '.join(profiles.PROFILES)}")
    vf.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="appended to, never rewritten")
    vf.add_argument("--report-dir", type=Path, default=VERIFY_REPORTS, help="the JSON report is copied here")
    _common(vf)
    _print_option(vf)
    sub.add_parser("detect", help="print the profile DEVICE=auto picks here")
    sub.add_parser("profiles", help="list device profiles")
    return parser


def split_extra(argv: List[str]) -> Tuple[List[str], List[str]]:
    """(the launcher's own arguments, the ones after ``--`` that go to bench in the container)."""
    if "--" not in argv:
        return argv, []
    i = argv.index("--")
    return argv[:i], argv[i + 1 :]


def main(argv: Optional[List[str]] = None) -> int:
    argv, extra = split_extra(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="launcher: %(message)s", stream=sys.stderr
    )
    try:
        if args.command == "profiles":
            for p in profiles.PROFILES.values():
                print(f"{p.name:<12} {p.platform or 'native':<12} {p.description}")
            return 0
        if args.command == "detect":
            print(detect.auto())
            return 0
        if args.command == "selfcheck":
            job = job_of(args, device_profile(args.device), ["selfcheck", "--require", args.require], [])
            return run_or_print(args, job)
        if args.command == "bench":
            bargv, inputs, results = bench_argv(args.model, args.data, args.framework, extra)
            job = job_of(args, device_profile(args.device), bargv, inputs, results=results or args.results)
            return run_or_print(args, job)
        if args.command == "compare":
            return compare_on_device(args, extra)
        if args.command == "verify":
            vargv = ["verify", "--report-dir", VERIFY_IN_CONTAINER, *extra]
            job = job_of(args, device_profile(args.device), vargv, verify_inputs(extra), results=args.results)
            job = dataclasses.replace(job, collect=((VERIFY_IN_CONTAINER, args.report_dir),))
            return run_or_print(args, job)
        if args.command in ("convert", "chain"):
            return convert_then_bench(args, extra, model_suffixes()[args.framework])
    except BenchError as exc:
        print(f"edgebench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 2
