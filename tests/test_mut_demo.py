"""The demo's plan (mutation run of bench/compare/demo.py): which files each preset runs and with which timing.
Contract test: bench.compare.rounds.execute is replaced by a recorder here; the real demo runs in
tests/test_cli.py and the image tests (minutes), and the shipped files are named by their paths on disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List

import pytest

from bench.compare import demo, rounds
from bench.config import Timing

ASSETS = Path(__file__).resolve().parent.parent / "bench" / "models" / "assets"


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    seen: List[Any] = []

    def record(plan: Any, live: Any = None) -> List[Any]:
        seen.append((plan, live))
        return ["records"]

    monkeypatch.setattr(rounds, "execute", record)
    return seen


def test_the_demo_runs_the_shipped_exports_with_the_demo_timing(
    plans: List[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})  # a Pi 4's four cores
    assert demo.demo(["pytorch", "onnx", "tflite"]) == ["records"]
    plan, live = plans[0]
    assert live is None and plan.output is None and plan.protocol.rounds == 1
    runs = {j.config: j.run for j in plan.jobs}
    assert sorted(runs) == ["onnx", "pytorch", "tflite"]
    assert runs["onnx"].model.resolve() == (ASSETS / "digits_cnn.onnx").resolve()
    assert runs["tflite"].model.resolve() == (ASSETS / "digits_cnn.tflite").resolve()
    assert runs["pytorch"].model.resolve() == (ASSETS / "digits_cnn.pth").resolve()
    assert runs["pytorch"].model_class_name and runs["pytorch"].model_class_path.is_file()
    for run in runs.values():
        assert run.data.resolve() == (ASSETS / "digits_test.npz").resolve()
        assert run.timing == Timing(until_stable_pct=2.0, min_time_s=4.0, max_time_s=15.0)
        assert run.threads == 3  # every core but one
    assert [j.threads for j in plan.jobs] == [3, 3, 3]
    assert plan.source_model["path"].endswith("digits_cnn.pth")


def test_the_demos_options_reach_the_plan(plans: List[Any], tmp_path: Path) -> None:
    timing = Timing(min_runs=3, min_time_s=0.1, max_time_s=1.0)
    demo.demo(["onnx"], threads=2, output=tmp_path / "r.jsonl", timing=timing, rounds=3, live=False)
    plan, live = plans[0]
    assert live is False and plan.output == tmp_path / "r.jsonl" and plan.protocol.rounds == 3
    (job,) = plan.jobs
    assert job.threads == 2 and job.run.threads == 2 and job.run.timing == timing


def test_the_demo_is_the_compare_of_the_shipped_files_spelled_out(
    plans: List[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same compare id and jobs as a compare planned here from the demo's documented inputs: the digits state_dict
    with its class (bench/models/digits.py, DigitsCNN), the test set, label "demo", the demo timing, one thread on a
    two-core machine, and the shipped ONNX and TFLite exports run as they are."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    from bench.compare import plan as compare_plan
    from bench.config import RunConfig

    pth, cls = ASSETS / "digits_cnn.pth", ASSETS.parent / "digits.py"
    template = RunConfig(
        model=pth,
        data=ASSETS / "digits_test.npz",
        framework="",
        model_class_path=cls,
        model_class_name="DigitsCNN",
        timing=Timing(until_stable_pct=2.0, min_time_s=4.0, max_time_s=15.0),
        label="demo",
    )
    artifacts = {
        "pytorch": (pth, cls, "DigitsCNN"),
        "onnx": (ASSETS / "digits_cnn.onnx", None, None),
        "tflite": (ASSETS / "digits_cnn.tflite", None, None),
    }
    configs = ["pytorch", "onnx", "tflite"]
    expected = compare_plan.make_plan(template, configs, [1], compare_plan.Protocol(rounds=1), artifacts=artifacts)
    demo.demo(configs)
    plan, _ = plans[0]
    assert plan.id == expected.id
    assert [(j.label, j.run) for j in plan.jobs] == [(j.label, j.run) for j in expected.jobs]
    assert all(j.run.label == "demo" for j in plan.jobs)


@pytest.mark.parametrize("cpus, threads", [({0}, 1), ({0, 1}, 1), ({2, 5, 7}, 2)])
def test_the_demo_leaves_one_usable_core_free(
    plans: List[Any], monkeypatch: pytest.MonkeyPatch, cpus: set, threads: int
) -> None:
    """The CPU set the process may use (a container's --cpuset-cpus), not the machine's core count; never below 1."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    demo.demo(["onnx"])
    (job,) = plans[0][0].jobs
    assert job.threads == threads and job.run.threads == threads


def test_without_an_affinity_call_the_demo_counts_the_machines_cores(
    plans: List[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    demo.demo(["onnx"])
    assert plans[0][0].jobs[0].threads == 7
