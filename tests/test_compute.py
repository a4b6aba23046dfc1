"""Share of the board's peak (bench/peaks.py, bench/compute.py): the table is well formed and sourced, derived values
equal their formulas, a record's compute section equals the values computed here from the hand-counted operations and
its own invoke p50, and an unknown CPU gets a measured peak (stubbed here) recorded with how it was measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import compute, machine, peaks
from bench.config import RunConfig, Timing
from bench.power.base import PowerOptions
from tests.conftest import require

QUICK = Timing(warmup_runs=2, warmup_min_s=0.0, min_runs=20, min_time_s=0.0, max_time_s=30.0)
NO_POWER = PowerOptions(source="none", idle_s=0.0)


def test_peaks_table_is_well_formed_and_sourced() -> None:
    board_ids = {bid for _, bid in machine.BOARDS} | {"*"}
    seen = set()
    for p in peaks.PEAKS:
        assert p.board in board_ids, p
        assert p.device in peaks.DEVICES and p.precision in peaks.PRECISIONS, p
        assert p.kind in (peaks.PUBLISHED, peaks.DERIVED), "measured peaks are never in the table"
        assert p.gops > 0 and len(p.source) > 20, p
        if p.kind == peaks.DERIVED:
            assert p.formula and any(ch.isdigit() for ch in p.formula), f"a derived peak shows its formula: {p}"
        key = (p.board, p.model_contains, p.device, p.precision)
        assert key not in seen, f"duplicate entry {key}"
        seen.add(key)
    boards = {p.board for p in peaks.PEAKS}
    assert {"rpi4", "rpi5", "jetson-nano", "jetson-orin", "*"} <= boards


@pytest.mark.parametrize(
    "board, model, device, precision, expected",
    [
        ("rpi4", "Raspberry Pi 4 Model B Rev 1.4", "cpu", "fp32", 4 * 1.5 * 16),  # 2 FMLA.4S per cycle
        ("rpi5", "Raspberry Pi 5 Model B Rev 1.0", "cpu", "fp32", 4 * 2.4 * 16),
        ("rpi5", "Raspberry Pi 5 Model B Rev 1.0", "cpu", "int8", 4 * 2.4 * 64),  # 2 SDOT.4S per cycle
        ("jetson-nano", "NVIDIA Jetson Nano Developer Kit", "cpu", "fp32", 4 * 1.43 * 16),
        ("jetson-nano", "NVIDIA Jetson Nano Developer Kit", "gpu", "fp32", 128 * 0.9216 * 2),
        ("jetson-nano", "NVIDIA Jetson Nano Developer Kit", "gpu", "fp16", 472.0),  # NVIDIA's figure
        ("jetson-orin", "NVIDIA Jetson Orin Nano Developer Kit", "gpu", "fp32", 1024 * 0.625 * 2),
        ("jetson-orin", "NVIDIA Jetson Orin Nano Developer Kit", "gpu", "int8", 20000.0),
        ("rpi4", "Raspberry Pi 4 Model B Rev 1.4", "tpu", "int8", 4000.0),  # Coral on a Pi
    ],
)
def test_peak_values_equal_their_formulas(board: str, model: str, device: str, precision: str, expected: float) -> None:
    p = peaks.lookup(board, model, device, precision)
    assert p is not None and p.gops == pytest.approx(expected, rel=1e-3)


def test_no_int8_peak_for_armv8_0_cpus_and_no_orin_nx_entry() -> None:
    assert peaks.lookup("rpi4", "Raspberry Pi 4", "cpu", "int8") is None
    assert peaks.lookup("jetson-nano", "Jetson Nano", "cpu", "int8") is None
    assert peaks.lookup("jetson-orin", "NVIDIA Jetson Orin NX", "gpu", "fp32") is None


def _counts() -> dict:
    return {"macs": 1_000_000, "ops": 2_000_000, "by_type": {"Conv": 1_000_000}, "source": "onnx graph"}


def test_section_is_precision_and_device_aware() -> None:
    rpi4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B"}, "cpu": {"max_freq_mhz": 1800.0}}
    fp32 = compute.section(_counts(), 0.5, rpi4, "cpu", {"precision": "fp32"})
    assert fp32["gops_per_s"] == pytest.approx(2e6 / 0.5e-3 / 1e9)  # 4 GOP/s
    assert fp32["peak_gops"] == pytest.approx(4 * 1.8 * 16), "scaled to the reported 1.8 GHz"
    assert fp32["pct_of_peak"] == pytest.approx(100 * 4.0 / (4 * 1.8 * 16))
    assert fp32["peak_kind"] == "derived" and "Cortex-A72" in fp32["peak_source"]
    int8 = compute.section(_counts(), 0.5, rpi4, "cpu", {"precision": "int8"})
    assert int8["pct_of_peak"] is None and int8["peak_gops"] is None
    assert int8["peak_unavailable"].startswith("no int8 peak for this CPU")
    tpu = compute.section(_counts(), 0.5, rpi4, "tpu", {"precision": "int8"})
    assert tpu["pct_of_peak"] == pytest.approx(100 * 4.0 / 4000.0) and tpu["peak_kind"] == "published"
    nano = {"board": {"id": "jetson-nano", "model": "NVIDIA Jetson Nano Developer Kit"}, "cpu": {}}
    gpu = compute.section(_counts(), 0.5, nano, "gpu", {"precision": "fp16"})
    assert gpu["peak_gops"] == 472.0 and gpu["device"] == "gpu"
    missing = compute.section({"unavailable": "no graph"}, 0.5, nano, "gpu", {"precision": "fp16"})
    assert missing == {"unavailable": "no graph", "device": "gpu", "precision": "fp16"}


def test_device_of_each_runtime() -> None:
    assert compute.device_of("tensorrt", None, {}) == "gpu"
    assert compute.device_of("coral", None, {}) == "tpu"
    assert compute.device_of("tflite", "edgetpu", {}) == "tpu"
    assert compute.device_of("onnx", None, {"providers": ["CUDAExecutionProvider"]}) == "gpu"
    assert compute.device_of("tflite", "armnn", {}) == "cpu"


def test_measured_peak_only_for_cpus_the_table_does_not_know() -> None:
    generic = {"board": {"id": "generic", "model": "x86_64"}}
    assert compute.needs_measured_peak(generic, "onnx", None)
    assert not compute.needs_measured_peak({"board": {"id": "rpi5", "model": "Raspberry Pi 5"}}, "onnx", None)
    assert not compute.needs_measured_peak(generic, "tensorrt", None), "a GPU peak is never measured"
    res = compute.measure_cpu_peak(n=256, trial_s=0.02, trials=2)
    assert res["gops"] > 0 and "float32 matmul" in res["method"] and "best of 2" in res["method"]


#: MACs of the shipped digits CNN counted by hand (tests/test_opcount.py): two 3x3 convolutions and the dense layer
DIGITS_MACS = 8 * 32 * 32 * (1 * 3 * 3) + 16 * 16 * 16 * (8 * 3 * 3) + 16 * 8 * 8 * 10


def test_record_compute_equals_values_computed_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real run on this (unknown, x86) CPU: the hand-counted ops over the record's own invoke p50, and the share of
    a peak the measurement is stubbed to return (50 GOP/s), measured once before the run."""
    require("onnxruntime")
    require("onnx")
    from bench import models, runner

    measured = []

    def peak(*args: object, **kwargs: object) -> dict:
        measured.append(1)
        return {"gops": 50.0, "method": "stubbed 50 GOP/s", "blas": "none"}

    monkeypatch.setattr(compute, "_MEASURED", {})
    monkeypatch.setattr(compute, "measure_cpu_peak", peak)
    config = RunConfig(
        model=models.DIGITS_ONNX, data=models.DIGITS_TEST_DATA, framework="onnx", timing=QUICK, power=NO_POWER
    )
    rec = runner.run(config).to_dict()
    c = rec["compute"]
    p50 = rec["latency"]["invoke"]["p50_ms"]
    assert c["macs"] == DIGITS_MACS and c["ops"] == 2 * DIGITS_MACS and c["source"] == "onnx graph"
    assert c["invoke_p50_ms"] == p50
    assert c["gops_per_s"] == pytest.approx(2 * DIGITS_MACS / (p50 / 1e3) / 1e9)
    assert (c["device"], c["precision"]) == ("cpu", "fp32")
    assert rec["machine"]["board"]["id"] == "generic"
    assert (
        c["peak_kind"] == "measured" and "stubbed 50 GOP/s" in c["peak_source"] and "before the run" in c["peak_source"]
    )
    assert c["peak_gops"] == 50.0 and measured == [1]
    assert c["pct_of_peak"] == pytest.approx(100 * c["gops_per_s"] / 50.0)
    runner.run(config)
    assert measured == [1], "measured once per process"


def test_int8_tflite_on_an_unknown_cpu_says_no_int8_peak() -> None:
    require("ai_edge_litert")
    from bench import models, runner

    config = RunConfig(
        model=models.DIGITS_TFLITE_INT8, data=models.DIGITS_TEST_DATA, framework="tflite", timing=QUICK, power=NO_POWER
    )
    c = runner.run(config).to_dict()["compute"]
    assert c["precision"] == "int8" and c["ops"] == 2 * DIGITS_MACS
    assert c["pct_of_peak"] is None and "no int8 peak for this CPU" in c["peak_unavailable"]


def test_pytorch_counts_with_its_own_counter_equal_the_graph_count() -> None:
    require("torch")
    require("onnx")
    from bench import models, runner

    config = RunConfig(
        model=models.DIGITS_STATE_DICT,
        data=models.DIGITS_TEST_DATA,
        framework="pytorch",
        model_class_path=models.DIGITS_CLASS_FILE,
        model_class_name=models.DIGITS_CLASS_NAME,
        timing=QUICK,
        power=NO_POWER,
    )
    c = runner.run(config).to_dict()["compute"]
    assert c["source"].startswith("torch FlopCounterMode")
    assert c["macs"] == DIGITS_MACS, "same weights, same arithmetic"


def _cmp_record(label: str, p50: float, compute_section: dict) -> dict:
    return {
        "framework": "onnx",
        "status": "ok",
        "machine": {"board": {"id": "rpi4"}},
        "model": {"path": "m.onnx"},
        "latency": {"invoke": {"p50_ms": p50}, "raw_invoke_ns": [int(p50 * 1e6)] * 5},
        "compare": {"id": "c1", "label": label, "config": label, "round": 0, "baseline": "onnx", "labels": []},
        "compute": compute_section,
    }


def test_report_shows_gops_and_share_of_peak() -> None:
    from bench import comparison, report

    rpi4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B"}, "cpu": {}}
    fp32 = compute.section(_counts(), 0.5, rpi4, "cpu", {"precision": "fp32"})
    int8 = compute.section(_counts(), 0.25, rpi4, "cpu", {"precision": "int8"})
    recs = [_cmp_record("onnx", 0.5, fp32), _cmp_record("tflite-int8", 0.25, int8)]
    by_label = {s.label: s for s in comparison.summarize(recs)}
    assert by_label["onnx"].gops_per_s == pytest.approx(4.0)  # 2e6 ops / 0.5 ms
    assert by_label["onnx"].pct_of_peak == pytest.approx(100 * 4.0 / 96.0)
    assert by_label["tflite-int8"].pct_of_peak is None
    assert by_label["tflite-int8"].compute_note.startswith("no int8 peak for this CPU")
    text = report.render(recs, "markdown")
    assert "GOP/s (% peak)" in text and "4.00 (4.2%)" in text and "8.00 (no peak)" in text
    assert "of 96.00 GOP/s (fp32 cpu peak, derived: Arm Cortex-A72" in text
    assert "no int8 peak for this CPU" in text
