"""`edgebench compare` on the shipped digits model, with the real runtimes and converters (onnx2tf for TFLite).

Conversions go to one cache folder per test module, so the first test pays onnx2tf (fp32 and int8, about 15 s) and
the others reuse it. Timing options are the shortest the harness accepts: these tests check the protocol and the
records, not speed.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import psutil
import pytest

from bench import models
from bench.compare import plan as compare_plan
from bench.compare import rounds as compare_rounds
from bench.compare.presets import NAMES, PRESETS
from bench.compare.progress import Progress
from bench.config import RunConfig

from .conftest import REPO, require, run_cli

FAST = ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5", "--min-time-s", "0"]
ONNX, DATA = models.DIGITS_ONNX, models.DIGITS_TEST_DATA
#: the keys of record["compare"] (docs/record.md)
COMPARE_KEYS = {
    "id",
    "config",
    "threads",
    "label",
    "round",
    "rounds",
    "position",
    "seed",
    "baseline",
    "labels",
    "conversion_s",
    "source_model",
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("onnxruntime")
    require("ai_edge_litert")
    if importlib.util.find_spec("onnx2tf") is None:  # importing it (and TensorFlow) here would cost 20 s
        require("onnx2tf")
    return tmp_path_factory.mktemp("compare-cache")


def _compare(out: Path, cache: Path, *args: str, timing: List[str] = FAST) -> subprocess.CompletedProcess:
    return run_cli(
        "compare", str(ONNX), str(DATA), *args, *timing, "--output", str(out), "--cache-dir", str(cache), timeout=900
    )


def _records(path: Path) -> List[Dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _plan_again(out: Path, cache: Path, *args: str) -> compare_plan.Plan:
    """The plan the command made, rebuilt from the same arguments; --resume finds the compare already in ``out``."""
    from bench import cli

    argv = ["compare", str(ONNX), str(DATA), *args, *FAST, "--output", str(out), "--cache-dir", str(cache), "--resume"]
    return cli.compare_plan_of(cli.build_parser().parse_args(argv))


def test_three_configs_two_rounds_write_six_ok_records_with_compare_fields(tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "results.jsonl"
    configs = ["onnx", "tflite", "tflite-int8"]
    proc = _compare(
        out, cache, "--configs", ",".join(configs), "--representative-data-path", str(DATA), "--rounds", "2"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = _records(out)
    assert len(recs) == 6 and all(r["status"] == "ok" for r in recs), [r.get("error") for r in recs]
    for r in recs:
        assert set(r["compare"]) == COMPARE_KEYS
    c = [r["compare"] for r in recs]
    assert len({x["id"] for x in c}) == 1 and len(c[0]["id"]) == 16
    assert sorted((x["label"], x["round"]) for x in c) == sorted((lb, r) for lb in configs for r in (0, 1))
    assert all(x["labels"] == configs and x["baseline"] == "onnx" and x["rounds"] == 2 for x in c)
    assert all(x["source_model"]["sha256"] == recs[0]["compare"]["source_model"]["sha256"] for x in c)
    assert c[0]["source_model"]["format"] == "onnx"
    # conversions ran once, before the runs: timed in conversion_s, and every run found its model in the cache
    conv = {x["label"]: x["conversion_s"] for x in c}
    assert conv["onnx"] == 0 and conv["tflite"] > 0 and conv["tflite-int8"] > 0
    for r in recs:
        assert r["conversion"] == {} if r["compare"]["config"] == "onnx" else r["conversion"]["cached"] is True
    int8 = [r for r in recs if r["compare"]["config"] == "tflite-int8"]
    assert all(r["options"]["convert"]["precision"] == "int8" and r["quality"]["accuracy"] > 0.9 for r in int8)
    # the shuffle: seeded (default derived from the id), recorded, and the same orders when the plan is made again
    plan = _plan_again(
        out, cache, "--configs", ",".join(configs), "--representative-data-path", str(DATA), "--rounds", "2"
    )
    assert plan.id == c[0]["id"] and plan.seed == c[0]["seed"] == int(plan.id[:8], 16)
    assert plan.pending() == []  # --resume of a finished compare runs nothing
    for rnd in (0, 1):
        recorded = sorted((x["position"], x["label"]) for x in c if x["round"] == rnd)
        assert [label for _, label in recorded] == [j.label for j in plan.order(rnd)]
    # the same command again is a new compare (new id), not more rounds of the old one
    again = _compare(out, cache, "--configs", "onnx", "--rounds", "1")
    first = _compare(tmp_path / "other.jsonl", cache, "--configs", "onnx", "--rounds", "1")
    assert again.returncode == first.returncode == 0
    assert _records(out)[-1]["compare"]["id"] == _records(tmp_path / "other.jsonl")[0]["compare"]["id"]
    assert _records(out)[-1]["compare"]["id"] != c[0]["id"]


def test_seeded_orders_are_reproducible_and_vary_between_rounds() -> None:
    template = RunConfig(model=ONNX, data=DATA, framework="")
    configs = ["onnx", "tflite", "tflite-nodelegate", "pytorch"]
    a = compare_plan.make_plan(template, configs, [None], compare_plan.Protocol(rounds=6, seed=7))
    b = compare_plan.make_plan(template, configs, [None], compare_plan.Protocol(rounds=6, seed=7))
    orders = [[j.label for j in a.order(r)] for r in range(6)]
    assert orders == [[j.label for j in b.order(r)] for r in range(6)]
    assert len({tuple(o) for o in orders}) > 1, "every round had the same order"
    assert all(sorted(o) == sorted(configs) for o in orders)
    assert a.seed == 7 and a.id != compare_plan.make_plan(template, configs, [None]).id


def test_killed_compare_resumes_without_duplicates(tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "results.jsonl"
    args = ["compare", str(ONNX), str(DATA), "--configs", "onnx,tflite", "--rounds", "2", "--output", str(out)]
    args += ["--cache-dir", str(cache), "--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5"]
    args += ["--min-time-s", "1.5"]
    proc = subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        children: List[psutil.Process] = []
        while not (out.is_file() and out.read_bytes().count(b"\n") >= 1 and children):
            assert proc.poll() is None, "the compare ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
            children = psutil.Process(proc.pid).children(recursive=True)  # the next run, measuring
        proc.kill()
    finally:
        proc.wait(timeout=60)
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, "a run's process outlived the killed compare"
    before = out.read_bytes()
    n_before = len(_records(out))
    assert 1 <= n_before < 4
    resumed = run_cli(*args, "--resume", timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert out.read_bytes().startswith(before), "earlier records must never be rewritten"
    recs = _records(out)
    pairs = [(r["compare"]["label"], r["compare"]["round"]) for r in recs]
    assert len(recs) == 4 and len(set(pairs)) == 4, pairs
    assert len({r["compare"]["id"] for r in recs}) == 1 and all(r["status"] == "ok" for r in recs)
    assert "resuming" in resumed.stderr


def _bad_cases(tmp_path: Path) -> list:
    missing = str(tmp_path / "missing.npz")
    return [
        (["--configs", "onnx,tflite-xnn"], "unknown config tflite-xnn"),
        (["--configs", "onnx,tflite,onnx"], "config onnx given twice"),
        (["--configs", ","], "no configs to compare"),
        ([], "no configs to compare"),
        (["--configs", "onnx,tflite-int8"], "tflite-int8 quantize to int8"),
        (["--configs", "coral"], "coral quantize to int8"),
        (["--configs", "onnx", "--delegate", "armnn"], "--delegate is set by each preset"),
        (["--configs", "onnx", "--baseline", "tflite"], "--baseline 'tflite'"),
        (["--configs", "onnx", "--threads", "1,1"], "--threads '1,1'"),
        (["--configs", "onnx", "--rounds", "0"], "--rounds 0"),
        (["--configs", "onnx", "--all"], "--all and --configs"),
        (["--configs", "tflite-int8", "--representative-data-path", missing], "representative data"),
    ]


def test_bad_configs_give_one_clear_line_exit_2_and_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    for args, needle in _bad_cases(tmp_path):
        proc = run_cli("compare", str(ONNX), str(DATA), *args, *FAST, "--output", str(out))
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("edgebench: error:")]
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(lines) == 1 and needle in lines[0] and "Fix:" in lines[0], (args, proc.stderr)
        assert "Traceback" not in proc.stderr and not out.exists(), args
        if "config" in needle and "--all" not in needle:  # the preset errors name the valid presets
            assert all(name in lines[0] for name in NAMES if not PRESETS[name].needs_representative_data), lines[0]


def test_threads_list_runs_the_cartesian_product(tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "results.jsonl"
    proc = _compare(out, cache, "--configs", "onnx,tflite", "--threads", "1,2", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    recs = _records(out)
    labels = ["onnx @1t", "onnx @2t", "tflite @1t", "tflite @2t"]
    assert sorted(r["compare"]["label"] for r in recs) == labels
    assert all(r["compare"]["labels"] == labels and r["status"] == "ok" for r in recs)
    for r in recs:
        assert r["compare"]["threads"] == r["options"]["threads"]
        if r["framework"] == "tflite":
            assert r["runtime"]["threads"] == r["compare"]["threads"]
        assert r["compare"]["label"].endswith(f"@{r['compare']['threads']}t")


def test_failing_config_is_recorded_and_the_others_run(tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "results.jsonl"
    proc = _compare(out, cache, "--configs", "coral,onnx", "--representative-data-path", str(DATA), "--rounds", "2")
    assert proc.returncode == 1, proc.stderr[-3000:]
    last = [ln for ln in proc.stderr.splitlines() if ln.startswith("edgebench: error:")][-1]
    assert "coral" in last and "onnx" not in last
    recs = _records(out)
    by = {(r["compare"]["label"], r["compare"]["round"]): r for r in recs}
    assert len(recs) == 4 and len(by) == 4
    assert by[("onnx", 0)]["status"] == by[("onnx", 1)]["status"] == "ok"
    for rnd in (0, 1):
        err = by[("coral", rnd)]
        assert err["status"] == "error" and "edgetpu" in err["error"].lower(), err["error"]
        assert err["options"]["framework"] == "coral" and err["options"]["convert"]["convert_only"] is False


def test_all_takes_what_runs_here_and_says_why_not_for_the_rest() -> None:
    require("onnxruntime")
    require("ai_edge_litert")
    chosen, skipped = compare_plan.select_all("onnx", have_calibration=False)
    why = dict(skipped)
    assert {"onnx", "tflite", "tflite-nodelegate"} <= set(chosen)
    assert set(chosen) | set(why) == set(NAMES) and not set(chosen) & set(why)
    assert why["tflite-int8"] == why["tensorrt-int8"] == "int8 needs --representative-data-path"
    assert "executorch" in chosen and why["executorch-int8"] == "int8 needs --representative-data-path"
    assert "pytorch" in why["pytorch"].lower()  # nothing converts an ONNX model to PyTorch
    assert "tensorrt" in why["tensorrt-fp32"].lower()
    assert "armnn" in why["tflite-armnn"].lower()
    chosen8, skipped8 = compare_plan.select_all("onnx", have_calibration=True)
    assert "tflite-int8" in chosen8 and "int8" not in dict(skipped8).get("coral", "")


def test_cooldown_waits_for_the_board_with_a_cap(caplog: pytest.LogCaptureFixture) -> None:
    template = RunConfig(model=ONNX, data=DATA, framework="")

    def plan(**kw: float) -> compare_plan.Plan:
        return compare_plan.make_plan(template, ["onnx"], [None], compare_plan.Protocol(**kw))

    slept: List[float] = []
    temps = iter([80.0, 70.0, 60.0, 50.0])
    compare_rounds.cool_down(plan(cooldown_s=2, cooldown_to_c=55), slept.append, lambda: next(temps))
    assert slept == [2, 1.0, 1.0, 1.0]
    slept.clear()
    with caplog.at_level(logging.WARNING):
        compare_rounds.cool_down(plan(cooldown_to_c=55, cooldown_max_s=3), slept.append, lambda: 90.0)
        assert slept == [1.0, 1.0, 1.0] and "still 90.0 C" in caplog.text
        slept.clear()
        compare_rounds.cool_down(plan(cooldown_to_c=55), slept.append, lambda: None)
        assert slept == [] and "no readable thermal zone" in caplog.text


def test_progress_display_renders_from_its_thread_and_detaches() -> None:
    from rich.console import Console

    from bench import harness

    live_console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with Progress(total=3, rounds=2, live=True, console=live_console) as progress:
        progress.starting(2, "tflite-int8", 1)
        harness.phase("measure")  # what harness.measure calls between warm-up and measurement
        assert progress.phase == "measure"
        out = Console(file=io.StringIO(), width=120)
        with out.capture() as cap:
            out.print(progress.render())
    assert all(s in cap.get() for s in ("run 2/3", "round 2/2", "tflite-int8", "measure")), cap.get()
    assert progress.set_phase not in harness.listeners()


def test_isolated_run_reports_phases_and_its_own_record() -> None:
    require("onnxruntime")
    from bench.compare import isolate
    from bench.config import Timing

    phases: List[str] = []
    config = RunConfig(model=ONNX, data=DATA, framework="onnx", timing=Timing(1, 0, 5, 0))
    big = bytearray(400 << 20)
    big[:: 1 << 12] = b"x" * len(big[:: 1 << 12])  # this process's peak is now above 400 MB
    del big
    record, error = isolate.run(config, phases.append)
    assert error is None and record is not None and record["status"] == "ok"
    assert phases == ["warm-up", "measure"]  # sent by the child between the harness's phases
    # the run's own peak, not the parent's (ru_maxrss would inherit the parent's high-water mark across exec)
    assert 0 < record["machine"]["peak_rss_mb"] < 300
    assert record["latency"]["invoke"]["p50_ms"] > 0
    missing = RunConfig(model=ONNX, data=DATA, framework="tensorrt", timing=Timing(1, 0, 5, 0))
    record, error = isolate.run(missing, phases.append)
    assert record is not None and record["status"] == "error" and "tensorrt" in record["error"].lower()


def _modules_in_a_run_process() -> List[str]:
    """What a fresh run process has imported before it runs anything (the fork server's preload)."""
    return sorted(sys.modules)


def test_run_processes_have_edgebench_preloaded_and_no_framework() -> None:
    """A run's process comes from the fork server: edgebench's own modules are imported once (not per run), but
    every framework is still the run's own import (timed as import_ms), so no framework may be preloaded."""
    from bench.compare import isolate

    ctx = isolate.context()
    assert ctx.get_start_method() == "forkserver"
    with ctx.Pool(1) as pool:
        loaded = set(pool.apply(_modules_in_a_run_process))
    assert {"bench.runner", "bench.harness", "numpy"} <= loaded
    frameworks = {"torch", "onnxruntime", "onnx", "tensorflow", "ai_edge_litert", "tflite_runtime", "openvino"}
    assert not frameworks & {m.split(".")[0] for m in loaded}


def test_isolated_runs_count_a_model_once_and_hand_the_count_on() -> None:
    """The op count (untimed, after the measurement) is made by a model's first run; the next run of the same model
    gets it from the compare instead of counting again (the marker below proves the count was handed on)."""
    require("onnxruntime")
    from bench.compare import isolate
    from bench.config import Timing

    config = RunConfig(model=ONNX, data=DATA, framework="onnx", timing=Timing(1, 0, 5, 0))
    counts: Dict[str, dict] = {}
    record, error = isolate.run(config, lambda _: None, counts)
    assert error is None and record is not None and record["compute"]["macs"] > 0
    assert len(counts) == 1
    key = next(iter(counts))
    assert key.startswith(record["model"]["sha256"])
    counts[key] = {**counts[key], "macs": 7, "ops": 14, "source": "handed on"}
    record, error = isolate.run(config, lambda _: None, counts)
    assert error is None and record["compute"]["macs"] == 7 and record["compute"]["source"] == "handed on"


def test_compare_counts_each_model_once_over_its_rounds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require("onnxruntime")
    from bench import peak_share

    calls: List[str] = []
    real = peak_share.count_ops

    def counting(rt, path, fmt, conversion, shape):  # type: ignore[no-untyped-def]
        calls.append(str(path))
        return real(rt, path, fmt, conversion, shape)

    monkeypatch.setattr(peak_share, "count_ops", counting)
    from bench.config import Timing

    template = RunConfig(model=ONNX, data=DATA, framework="", output=tmp_path / "r.jsonl", timing=Timing(1, 0, 5, 0))
    plan = compare_plan.make_plan(template, ["onnx"], [None], compare_plan.Protocol(rounds=3))
    records = compare_rounds.execute(plan, live=False, sleep=lambda _: None, isolated=False)
    assert [r.status for r in records] == ["ok"] * 3
    assert len(calls) == 1 and len({r.compute["macs"] for r in records}) == 1


def test_isolated_run_that_crashes_is_reported_and_the_next_one_runs(tmp_path: Path) -> None:
    """Crash isolation kept: a run whose process dies by a signal (here the model class file kills it while the
    PyTorch runtime imports it) is an error naming the signal, and the next run in the same compare works."""
    require("torch")
    require("onnxruntime")
    from bench.compare import isolate
    from bench.config import Timing

    crash = tmp_path / "crash.py"
    crash.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    timing = Timing(1, 0, 5, 0)
    config = RunConfig(
        model=models.DIGITS_STATE_DICT, data=DATA, framework="pytorch", model_class_path=crash,
        model_class_name="Net", timing=timing,
    )  # fmt: skip
    record, error = isolate.run(config, lambda _: None)
    assert record is None and error is not None and "killed by SIGSEGV" in error
    record, error = isolate.run(RunConfig(model=ONNX, data=DATA, framework="onnx", timing=timing), lambda _: None)
    assert error is None and record is not None and record["status"] == "ok"
