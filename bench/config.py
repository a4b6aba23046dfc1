"""Run configuration: plain frozen data, no I/O at import."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Optional

from bench.errors import InputError

#: LoadGen's SingleStream minimum duration (mlcommons/inference loadgen/mlperf.conf: *.SingleStream.min_duration =
#: 600000 ms) and the queries its early-stopping p90 needs (bench.early_stopping.min_queries())
MLPERF_MIN_TIME_S = 600.0
MLPERF_MIN_QUERIES = 64
#: the demo's stopping rule (`make bench`): after the minimums, on until the median is known within +-2 % (its 95 %
#: interval then spans at most 4 %, under the noise warning's 5 %), at most 15 s a run
DEMO_STABLE_PCT = 2.0
DEMO_MAX_TIME_S = 15.0


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
    #: conversion options (bench.convert.options.ConvertOptions), None when no conversion was asked for
    convert: Any = None
    #: power sampling (bench.power.PowerOptions); None: the defaults (auto source, 10 Hz, 2 s idle window)
    power: Any = None
    #: --sustained-s (bench.sustained.SustainedOptions); None: no sustained run
    sustained: Any = None
    #: bench run --cooldown-to-c (bench.sustained.CooldownOptions); compare waits between runs itself
    cooldown: Any = None
    #: --profile: per-operator time (bench.profile); the run's latencies then include the profiler's overhead
    profile: bool = False

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        for k, v in list(d.items()):
            if isinstance(v, Path):
                d[k] = str(v)
        if self.convert is not None and hasattr(self.convert, "to_dict"):
            d["convert"] = self.convert.to_dict()
        return d
