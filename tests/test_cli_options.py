"""Run and compare options at their edges: ``--threads 0`` and a negative ``--cooldown-max-s`` are refused with one
line (exit 2, nothing written), ``--seed 0`` is a seed like any other (not "unset"), and ``--power-hz`` sets the
rate a real run's power sampler reads at (a meter script, counted idle readings)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench import cli, models
from bench.errors import InputError
from tests.conftest import require, run_cli

MODEL = [str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA)]
FAST = ["--min-runs", "20", "--min-time-s", "0.2", "--warmup-min-s", "0"]


def _one_line_refusal(proc, *words: str) -> None:  # noqa: ANN001
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgebench: error:")]
    assert proc.returncode == 2 and len(errors) == 1 and "Fix:" in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in errors[0], errors[0]


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--threads", "0"], ("--threads 0", "1 or more")),
        (["--threads", "-2"], ("--threads -2",)),
        (["--cooldown-to-c", "60", "--cooldown-max-s", "-1"], ("--cooldown-max-s -1", "0 or more")),
    ],
)
def test_run_refuses_zero_threads_and_a_negative_cooldown_cap(tmp_path: Path, extra: list, words: tuple) -> None:
    out = tmp_path / "r.jsonl"
    proc = run_cli("run", *MODEL, "--framework", "onnx", *FAST, "--output", str(out), *extra)
    _one_line_refusal(proc, *words)
    assert not out.exists(), "a refused option runs nothing and writes nothing"


def _compare_args(tmp_path: Path, *extra: str):  # noqa: ANN202
    argv = ["compare", *MODEL, "--configs", "onnx,tflite", "--output", str(tmp_path / "r.jsonl"), *extra]
    return cli.build_parser().parse_args(argv)


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--threads", "0"], "counts >= 1"),
        (["--threads", "0,2"], "counts >= 1"),
        (["--cooldown-max-s", "-1"], "must not be negative"),
        (["--cooldown-s", "-0.5"], "must not be negative"),
    ],
)
def test_compare_refuses_zero_threads_and_negative_pauses(tmp_path: Path, extra: list, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cli.compare_plan_of(_compare_args(tmp_path, *extra))


def test_compare_accepts_one_thread_and_a_zero_cooldown_cap(tmp_path: Path) -> None:
    plan = cli.compare_plan_of(_compare_args(tmp_path, "--threads", "1", "--cooldown-max-s", "0"))
    assert {j.run.threads for j in plan.jobs} == {1} and plan.protocol.cooldown_max_s == 0.0


def test_seed_zero_is_a_seed(tmp_path: Path) -> None:
    """--seed 0 orders the rounds by random.Random("0:<round>"), as the documented shuffle says; unset derives it."""
    plan = cli.compare_plan_of(_compare_args(tmp_path, "--seed", "0", "--rounds", "4"))
    assert plan.seed == 0
    for r in range(4):
        expected = list(plan.jobs)
        random.Random(f"0:{r}").shuffle(expected)
        assert [j.label for j in plan.order(r)] == [j.label for j in expected]
    unset = cli.compare_plan_of(_compare_args(tmp_path, "--rounds", "4"))
    assert unset.seed == int(unset.id[:8], 16)
    assert plan.id != unset.id, "the seed is part of the compare id"


def test_power_hz_sets_the_sampling_rate_of_a_real_run(tmp_path: Path) -> None:
    """One second of idle window at --power-hz 4: about 4 readings (10 at the default rate)."""
    require("onnxruntime")
    from bench.records import read_records

    meter = tmp_path / "meter.sh"
    meter.write_text("#!/bin/sh\necho '3.5 W'\n")
    meter.chmod(0o755)
    out = tmp_path / "r.jsonl"
    args = ["--power-cmd", str(meter), "--power-hz", "4", "--idle-s", "1.0", "--output", str(out)]
    proc = run_cli("run", *MODEL, "--framework", "onnx", *FAST, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (record,) = list(read_records(out))
    e = record["energy"]
    assert e["hz"] == 4.0 and record["options"]["power"]["hz"] == 4.0
    assert 3 <= e["samples"]["idle"] <= 6, e["samples"]
