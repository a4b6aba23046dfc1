"""Run configuration: plain frozen data, no I/O at import, and the one place it is built (:func:`run_config`).

Its parts are typed: the conversion (bench.convert.options.ConvertOptions), power sampling
(bench.power.base.PowerOptions), the sustained run and the thermal wait (bench.sustained.SustainedOptions,
CooldownOptions). They are imported for the annotations only, and inside :func:`run_config`, so importing this module
stays light.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional

from bench.errors import InputError

if TYPE_CHECKING:
    from bench.convert.options import ConvertOptions
    from bench.power.base import PowerOptions
    from bench.sustained import CooldownOptions, SustainedOptions

#: LoadGen's SingleStream minimum duration (mlcommons/inference loadgen/mlperf.conf: *.SingleStream.min_duration =
#: 600000 ms) and the queries its early-stopping p90 needs (bench.early_stopping.min_queries())
MLPERF_MIN_TIME_S = 600.0
MLPERF_MIN_QUERIES = 64
#: the demo's stopping rule (`make bench`): after the minimums, on until the median is known within +-2 % (its 95 %
#: interval then spans at most 4 %, under the noise warning's 5 %), at most 15 s a run
DEMO_STABLE_PCT = 2.0
DEMO_MAX_TIME_S = 15.0
#: ... and at least 4 s each: the demo's untimed floor (a fresh process per run, PyTorch's import in each of its runs,
#: one op count per model) is about 17-23 s on the build machine, so its wall time stays within 1.5x its timed work
#: only when the runs measure about 40 s in all (benchmarks/compare_overhead.py; docs/development.md)
DEMO_MIN_TIME_S = 4.0


def demo_threads(cores: int) -> int:
    """The demo's thread count on a machine with ``cores`` usable cores: every core but one. The spare core takes the
    OS and the tool's own sampler thread; with ONNX Runtime's spinning pool on both cores of a quiet 2-core machine,
    18.5 % of one demo run's iterations took twice the median or more (a noise warning) when one of its threads was
    preempted. ``compare`` and ``run`` keep each runtime's own default (all cores)."""
    return max(1, cores - 1)


@dataclass(frozen=True)
class Timing:
    """Warm-up and run length, by count *and* minimum time, with a cap (TFLite benchmark_model spirit)."""

    warmup_runs: int = 10
    warmup_min_s: float = 0.5
    min_runs: int = 50
    min_time_s: float = 1.0
    max_time_s: float = 150.0
    #: --until-stable PCT: after the count and time minimums, run on until the median's 95 % interval (the record's
    #: bootstrap one, bench.stats.median_interval) lies within +-PCT % of the median, or --max-time-s is reached
    until_stable_pct: Optional[float] = None

    def validate(self) -> Timing:
        if self.until_stable_pct is not None and not 0 < self.until_stable_pct < 100:
            raise InputError(
                f"--until-stable {self.until_stable_pct} is not a percentage between 0 and 100",
                "pass e.g. --until-stable 1 (the median known within +-1 %)",
            )
        if self.warmup_runs < 0 or self.min_runs < 1:
            raise InputError("--warmup-runs must be >= 0 and --min-runs >= 1", "pass sensible counts")
        if min(self.warmup_min_s, self.min_time_s) < 0 or self.max_time_s <= 0:
            raise InputError("timing limits must not be negative", "pass seconds >= 0 and --max-time-s > 0")
        if self.max_time_s < self.min_time_s:
            raise InputError(
                f"--max-time-s {self.max_time_s} is below --min-time-s {self.min_time_s}", "raise --max-time-s"
            )
        return self

    def mlperf_singlestream(self) -> Timing:
        """--mlperf-singlestream: LoadGen's minimums, 600 s and at least 64 queries; the cap raised to match."""
        return replace(
            self,
            min_time_s=max(self.min_time_s, MLPERF_MIN_TIME_S),
            min_runs=max(self.min_runs, MLPERF_MIN_QUERIES),
            max_time_s=max(self.max_time_s, MLPERF_MIN_TIME_S),
        )


@dataclass(frozen=True)
class RunConfig:
    """Everything a single benchmark run needs. Recorded verbatim in the result."""

    model: Path
    data: Path
    framework: str
    model_type: str = "classification"  # or "regression"
    use_softmax: bool = False
    model_class_path: Optional[Path] = None
    model_class_name: Optional[str] = None
    threads: Optional[int] = None
    delegate: Optional[str] = None
    #: library file of the delegate (the original tool's --armnn-path); None: the runtime's default
    delegate_path: Optional[Path] = None
    #: which Edge TPU the coral runtime opens ("usb", "usb:1", "pci:0", ":0"); None: the first found
    edgetpu_device: Optional[str] = None
    timing: Timing = field(default_factory=Timing)
    output: Optional[Path] = None
    label: Optional[str] = None
    keep_raw: bool = True
    #: the model has random weights (the zoo): quality metrics are kept but marked not meaningful
    random_weights: bool = False
    #: conversion options, None when no conversion was asked for
    convert: Optional[ConvertOptions] = None
    #: power sampling; None: the defaults (auto source, 10 Hz, 2 s idle window)
    power: Optional[PowerOptions] = None
    #: --sustained-s; None: no sustained run
    sustained: Optional[SustainedOptions] = None
    #: bench run --cooldown-to-c; compare waits between runs itself
    cooldown: Optional[CooldownOptions] = None
    #: --profile: per-operator time (bench.profile); the run's latencies then include the profiler's overhead
    profile: bool = False

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        for k, v in list(d.items()):
            if isinstance(v, Path):
                d[k] = str(v)
        if self.convert is not None:
            d["convert"] = self.convert.to_dict()
        return d

    @property
    def conversion(self) -> ConvertOptions:
        """The conversion options, their defaults when none were given (fp32, nothing copied, no reference)."""
        from bench.convert.options import ConvertOptions

        return self.convert if self.convert is not None else ConvertOptions()


def timing_from_args(args: argparse.Namespace) -> Timing:
    """--warmup-runs ... --until-stable, --mlperf-singlestream as a validated :class:`Timing`."""
    timing = Timing(
        warmup_runs=args.warmup_runs,
        warmup_min_s=args.warmup_min_s,
        min_runs=args.min_runs,
        min_time_s=args.min_time_s,
        max_time_s=args.max_time_s,
        until_stable_pct=args.until_stable,
    )
    return (timing.mlperf_singlestream() if args.mlperf_singlestream else timing).validate()


def run_config(
    args: Optional[argparse.Namespace] = None,
    *,
    template: Optional[RunConfig] = None,
    preset: Optional[str] = None,
    **given: Any,
) -> RunConfig:
    """The one place a :class:`RunConfig` is built, in three layers, each over the one before:

    1. the command line's run options (`run`, and the template of `compare`): ``args``; else ``template``'s fields;
       a field in ``given`` is not read from ``args`` (nor checked there);
    2. ``preset`` (bench.compare.presets): its framework and delegate, its precision on the conversion options, and
       the calibration data only when it quantizes to int8 (never ``convert_only``);
    3. ``given``: any RunConfig field, set last.
    """
    if args is not None:
        values = _from_args(args, set(given))
    elif template is not None:
        values = {f.name: getattr(template, f.name) for f in fields(RunConfig)}
    else:
        values = {}
    if preset is not None:
        values.update(_preset_fields(preset, values.get("convert")))
    values.update(given)
    return RunConfig(**values)


def _preset_fields(name: str, convert: Optional[ConvertOptions]) -> Dict[str, Any]:
    from bench.compare.presets import PRESETS
    from bench.convert.options import ConvertOptions

    preset = PRESETS[name]
    base = convert or ConvertOptions()
    convert = replace(
        base,
        precision=preset.precision,
        representative_data=base.representative_data if preset.needs_representative_data else None,
        convert_only=False,
    )
    return {"framework": preset.framework, "delegate": preset.delegate, "convert": convert}


#: RunConfig fields that are one command-line option each, taken as given (the option's argparse dest is the field)
_AS_GIVEN = (
    "model",
    "data",
    "framework",
    "model_type",
    "use_softmax",
    "model_class_path",
    "model_class_name",
    "threads",
    "delegate",
    "delegate_path",
    "edgetpu_device",
    "output",
    "label",
    "random_weights",
)


def _from_args(args: argparse.Namespace, given: set) -> Dict[str, Any]:
    """RunConfig fields from `run`'s options (bench.cli), checked; the fields in ``given`` are neither read nor
    checked."""
    from bench.convert import options as convert_options
    from bench.power import SOURCES, PowerOptions
    from bench.sustained import CooldownOptions, SustainedOptions

    values: Dict[str, Any] = {"timing": timing_from_args(args)}
    values.update({name: getattr(args, name) for name in _AS_GIVEN if name not in given})
    threads = values.get("threads")
    if threads is not None and threads < 1:  # 0 would read as "unset" in the runtimes
        raise InputError(f"--threads {threads} is not a thread count", "pass --threads 1 or more, or leave it out")
    values.update(
        keep_raw=not args.no_raw,
        profile=getattr(args, "profile", False),
        convert=convert_options.from_args(args),
        power=PowerOptions(args.power_source, args.power_cmd, args.power_hz, args.idle_s).validate(SOURCES),
        sustained=None if args.sustained_s is None else SustainedOptions(args.sustained_s, args.window_s).validate(),
    )
    if "cooldown" not in given:
        if args.cooldown_max_s < 0:
            raise InputError(f"--cooldown-max-s {args.cooldown_max_s:g} is negative", "pass --cooldown-max-s 0 or more")
        if args.cooldown_to_c is not None:
            values["cooldown"] = CooldownOptions(args.cooldown_to_c, args.cooldown_max_s)
    return {k: v for k, v in values.items() if k not in given}
