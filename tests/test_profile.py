"""--profile (bench/profile.py): ONNX Runtime's and PyTorch's profilers name the digits model's two convolution
layers; TFLite says profiling is not available; the TensorRT IProfiler is a contract test against a fake ``tensorrt``
module shaped like NVIDIA/TensorRT ``python/src/infer/pyCore.cpp`` (8.2.1, v10.3.0); profiled records are flagged
and kept apart from unprofiled ones in the comparison."""

from __future__ import annotations

import types
from typing import Any, Dict

import pytest

from bench import config_summary, profile
from bench.config import RunConfig, Timing
from bench.power.base import PowerOptions
from tests.conftest import require

QUICK = Timing(warmup_runs=2, warmup_min_s=0.0, min_runs=20, min_time_s=0.0, max_time_s=30.0)
NO_POWER = PowerOptions(source="none", idle_s=0.0)


def _run(framework: str, **kw: Any) -> Dict[str, Any]:
    from bench import models, runner

    model = {
        "onnx": models.DIGITS_ONNX,
        "pytorch": models.DIGITS_STATE_DICT,
        "tflite": models.DIGITS_TFLITE,
    }[framework]
    if framework == "pytorch":
        kw.update(model_class_path=models.DIGITS_CLASS_FILE, model_class_name=models.DIGITS_CLASS_NAME)
    config = RunConfig(
        model=model, data=models.DIGITS_TEST_DATA, framework=framework, timing=QUICK, power=NO_POWER, **kw
    )
    return runner.run(config).to_dict()


def _check_profiled(rec: Dict[str, Any], conv_type: str) -> list:
    prof = rec["profile"]
    assert prof["profiled"] is True and profile.WARNING in rec["warnings"]
    convs = [op for op in prof["ops"] if op["type"] == conv_type]
    assert len(convs) == 2, f"the digits model has two convolution layers: {prof['ops']}"
    assert sum(op["share"] for op in prof["ops"]) == pytest.approx(1.0)
    assert all(op["total_ms"] > 0 for op in convs)
    assert prof["ops"] == sorted(prof["ops"], key=lambda op: -op["total_ms"])
    return convs


def test_onnxruntime_profile_names_the_convolutions() -> None:
    require("onnxruntime")
    rec = _run("onnx", profile=True)
    convs = _check_profiled(rec, "Conv")
    runs = rec["latency"]["invoke"]["count"]
    # only the measured runs (warm-up and first inference left out): one call per measured inference
    assert all(op["calls"] == runs for op in convs), (runs, convs)
    assert all("features" in op["name"] for op in convs)


def test_pytorch_profile_names_the_convolution_layers() -> None:
    require("torch")
    rec = _run("pytorch", profile=True)
    convs = _check_profiled(rec, "Conv2d")
    assert sorted(op["name"] for op in convs) == ["features.0", "features.3"]  # DigitsCNN's module names
    assert all(op["calls"] == rec["latency"]["invoke"]["count"] for op in convs)


def test_tflite_profile_not_available() -> None:
    require("ai_edge_litert")
    rec = _run("tflite", profile=True)
    assert rec["profile"]["profiled"] is False
    assert rec["profile"]["unavailable"] == "per-operator profiling is not available for this runtime (tflite)"
    assert profile.WARNING not in rec["warnings"], "latencies are unaffected: not flagged"


def test_unprofiled_run_has_no_profile() -> None:
    require("onnxruntime")
    assert _run("onnx")["profile"] == {}


def test_normalize_merges_and_shares() -> None:
    rows = [
        {"name": "a", "type": "Conv", "calls": 1, "total_ms": 1.0},
        {"name": "a", "type": "Conv", "calls": 1, "total_ms": 2.0},
        {"name": "b", "type": "Gemm", "calls": 3, "total_ms": 1.0},
    ]
    out = profile.normalize(rows)
    assert out == [
        {"name": "a", "type": "Conv", "calls": 2, "total_ms": 3.0, "share": 0.75},
        {"name": "b", "type": "Gemm", "calls": 3, "total_ms": 1.0, "share": 0.25},
    ]
    assert profile.top_text({"ops": out}, 1) == ["top op: a (Conv): 3.000 ms total, 75.0%, 2 calls"]


def _fake_trt() -> Any:
    """``tensorrt.IProfiler`` as bound in pyCore.cpp: a base class with ``__init__`` and a pure virtual
    ``report_layer_time(layer_name, ms)`` that Python overrides."""

    class IProfiler:
        def __init__(self) -> None:
            pass

        def report_layer_time(self, layer_name: str, ms: float) -> None:
            raise RuntimeError("pure virtual")

    return types.SimpleNamespace(IProfiler=IProfiler)


def test_tensorrt_layer_profiler_contract() -> None:
    from bench.runtimes import tensorrt as trt_rt

    prof = trt_rt.layer_profiler(_fake_trt())
    for _ in range(3):  # what execute_v2 does after each inference: one call per layer
        prof.report_layer_time("conv1 + relu1", 0.5)
        prof.report_layer_time("fc", 0.25)
    rt = trt_rt.TensorRTRuntime()
    rt._profiler = prof
    assert sorted(rt.profile_rows(), key=lambda r: r["name"]) == [
        {"name": "conv1 + relu1", "type": "", "calls": 3, "total_ms": 1.5},
        {"name": "fc", "type": "", "calls": 3, "total_ms": 0.75},
    ]
    rt.profile_start()  # the measured runs begin: warm-up times forgotten
    assert rt.profile_rows() == []


def _record(label: str, p50: float, profiled: bool) -> Dict[str, Any]:
    return {
        "framework": "onnx",
        "status": "ok",
        "machine": {"board": {"id": "generic"}},
        "model": {"path": "m.onnx"},
        "latency": {"invoke": {"p50_ms": p50}, "raw_invoke_ns": [int(p50 * 1e6)] * 5},
        "compare": {"id": "c1", "label": label, "config": label, "round": 0, "baseline": "onnx"},
        "profile": {"profiled": True} if profiled else {},
    }


def test_comparison_keeps_profiled_records_apart() -> None:
    recs = [_record("onnx", 1.0, False), _record("onnx", 3.0, True), _record("tflite", 0.5, False)]
    out = {s.label: s for s in config_summary.summarize(recs)}
    assert set(out) == {"onnx", "onnx (profiled)", "tflite"}
    assert out["onnx"].p50_ms == 1.0 and out["onnx (profiled)"].p50_ms == 3.0, "never pooled"
    assert out["tflite"].speedup == pytest.approx(2.0)
    prof = out["onnx (profiled)"]
    assert prof.profiled and prof.speedup is None and any("profiled" in n for n in prof.notes)


def test_compare_passes_profile_to_every_run_and_into_its_id(tmp_path: Any) -> None:
    from bench import cli, models

    def plan(*extra: str) -> Any:
        argv = ["compare", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--configs", "onnx,tflite"]
        args = cli.build_parser().parse_args([*argv, "--output", str(tmp_path / "r.jsonl"), *extra])
        return cli.compare_plan_of(args)

    profiled, plain = plan("--profile"), plan()
    assert [j.run.profile for j in profiled.jobs] == [True, True]
    assert [j.run.profile for j in plain.jobs] == [False, False]
    assert profiled.id != plain.id, "a profiled compare never resumes into an unprofiled one"
