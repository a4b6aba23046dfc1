"""Run configuration by behaviour: each limit of Timing.validate just inside and just outside, LoadGen's minimums
(mlcommons/inference loadgen/mlperf.conf: SingleStream min_duration 600000 ms, early stopping's 64 queries) and the
record form of a RunConfig. Fast: no framework, no file I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import RunConfig, Timing
from bench.errors import InputError


@pytest.mark.parametrize(
    "kwargs",
    [
        {"until_stable_pct": 0.0},
        {"until_stable_pct": 100.0},
        {"until_stable_pct": -1.0},
        {"warmup_runs": -1},
        {"min_runs": 0},
        {"warmup_min_s": -0.001},
        {"min_time_s": -0.001, "max_time_s": 1.0},
        {"max_time_s": 0.0, "min_time_s": 0.0},
        {"max_time_s": 0.999, "min_time_s": 1.0},
    ],
)
def test_timing_refuses_values_just_outside_each_limit(kwargs: dict) -> None:
    with pytest.raises(InputError) as err:
        Timing(**kwargs).validate()
    assert err.value.fix  # every refusal names its fix


@pytest.mark.parametrize(
    "kwargs",
    [
        {"until_stable_pct": 0.001},
        {"until_stable_pct": 99.999},
        {"until_stable_pct": None},
        {"warmup_runs": 0},
        {"min_runs": 1},
        {"warmup_min_s": 0.0, "min_time_s": 0.0, "max_time_s": 0.001},
        {"min_time_s": 2.0, "max_time_s": 2.0},
    ],
)
def test_timing_accepts_values_just_inside_each_limit(kwargs: dict) -> None:
    t = Timing(**kwargs)
    assert t.validate() == t  # validate returns the same settings, unchanged


def test_timing_messages_name_the_values() -> None:
    with pytest.raises(InputError, match=r"--until-stable 150\.0 is not a percentage between 0 and 100"):
        Timing(until_stable_pct=150.0).validate()
    with pytest.raises(InputError, match=r"--max-time-s 3\.0 is below --min-time-s 4\.0") as err:
        Timing(min_time_s=4.0, max_time_s=3.0).validate()
    assert "raise --max-time-s" in str(err.value.fix)
    with pytest.raises(InputError, match="--warmup-runs must be >= 0 and --min-runs >= 1"):
        Timing(min_runs=0).validate()
    with pytest.raises(InputError, match="timing limits must not be negative"):
        Timing(warmup_min_s=-1.0).validate()


def test_timing_defaults() -> None:
    t = Timing()
    assert (t.warmup_runs, t.warmup_min_s, t.min_runs, t.min_time_s, t.max_time_s, t.until_stable_pct) == (
        10,
        0.5,
        50,
        1.0,
        150.0,
        None,
    )


def test_mlperf_singlestream_raises_the_minimums_to_loadgen_and_keeps_larger_ones() -> None:
    short = Timing(min_time_s=1.0, min_runs=10, max_time_s=150.0).mlperf_singlestream()
    assert (short.min_time_s, short.min_runs, short.max_time_s) == (600.0, 64, 600.0)
    long = Timing(min_time_s=700.0, min_runs=100, max_time_s=900.0).mlperf_singlestream()
    assert (long.min_time_s, long.min_runs, long.max_time_s) == (700.0, 100, 900.0)
    assert long.warmup_runs == 10 and long.validate() == long


def test_run_config_to_dict_has_paths_as_text_and_the_convert_options_record() -> None:
    class Convert:
        def to_dict(self) -> dict:
            return {"precision": "int8"}

    cfg = RunConfig(
        model=Path("/m/a.onnx"),
        data=Path("d.npz"),
        framework="onnx",
        delegate_path=Path("/lib/x.so"),
        convert=Convert(),
    )
    d = cfg.to_dict()
    assert d["model"] == "/m/a.onnx" and d["data"] == "d.npz" and d["delegate_path"] == "/lib/x.so"
    assert d["convert"] == {"precision": "int8"}
    assert d["timing"]["min_runs"] == 50 and d["output"] is None and d["framework"] == "onnx"


@pytest.mark.parametrize(
    "kwargs,problem,fix",
    [
        (
            {"until_stable_pct": 0.0},
            "--until-stable 0.0 is not a percentage between 0 and 100",
            "pass e.g. --until-stable 1 (the median known within +-1 %)",
        ),
        ({"min_runs": 0}, "--warmup-runs must be >= 0 and --min-runs >= 1", "pass sensible counts"),
        ({"warmup_min_s": -1.0}, "timing limits must not be negative", "pass seconds >= 0 and --max-time-s > 0"),
        ({"min_time_s": 3.0, "max_time_s": 2.0}, "--max-time-s 2.0 is below --min-time-s 3.0", "raise --max-time-s"),
    ],
)
def test_timing_refusals_word_for_word(kwargs: dict, problem: str, fix: str) -> None:
    with pytest.raises(InputError) as err:
        Timing(**kwargs).validate()
    assert (err.value.problem, err.value.fix) == (problem, fix)
