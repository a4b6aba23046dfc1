"""Share of the board's peak (bench/peaks.py, bench/peak_share.py): the table is well formed and sourced, derived values
equal their formulas (factors from LLVM's scheduling models, computed by hand here), peaks follow the board's reported
clocks, a record's compute section equals the values computed here from the hand-counted operations and its own invoke p50, an
unknown CPU gets the measured peak cached once per machine (never measured in the run), and a share above 100 % is
recorded as the error it is. Machine dicts below are fixtures: what a container on the board reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import cpupeak, peak_share, peaks
from bench.boards import BOARDS
from bench.config import RunConfig, Timing
from bench.power.base import PowerOptions
from tests.conftest import require

QUICK = Timing(warmup_runs=2, warmup_min_s=0.0, min_runs=20, min_time_s=0.0, max_time_s=30.0)
NO_POWER = PowerOptions(source="none", idle_s=0.0)


def test_peaks_table_is_well_formed_and_sourced() -> None:
    board_ids = {b.id for b in BOARDS} | {"*"}
    seen = set()
    for p in peaks.PEAKS:
        assert p.board in board_ids, p
        assert p.device in peaks.DEVICES and p.precision in peaks.PRECISIONS, p
        assert p.kind in (peaks.PUBLISHED, peaks.DERIVED), "measured peaks are never in the table"
        assert p.gops > 0 and len(p.source) > 20, p
        if p.kind == peaks.DERIVED:
            assert p.formula and any(ch.isdigit() for ch in p.formula), f"a derived peak shows its formula: {p}"
        if p.device == "cpu":
            assert "llvm/lib/Target/AArch64/" in p.source and p.scales_with == "cpu", p
        key = (p.board, p.model_contains, p.memory, p.device, p.precision)
        assert key not in seen, f"duplicate entry {key}"
        seen.add(key)
    boards = {p.board for p in peaks.PEAKS}
    assert {"rpi4", "rpi5", "jetson-nano", "jetson-orin", "*"} <= boards


@pytest.mark.parametrize(
    "board, model, device, precision, expected",
    [
        # LLVM AArch64SchedA57.td: one FMLA.4S per cycle (both V pipes) = 4 lanes x 2 = 8 fp32 ops per cycle and core
        ("rpi4", "Raspberry Pi 4 Model B Rev 1.4", "cpu", "fp32", 4 * 1.5 * 8),  # 48.0
        ("jetson-nano", "NVIDIA Jetson Nano Developer Kit", "cpu", "fp32", 4 * 1.43 * 8),  # 45.76
        # LLVM AArch64SchedNeoverseN1.td (the A76's pipes): FMLA on V0 or V1, two per cycle
        ("rpi5", "Raspberry Pi 5 Model B Rev 1.0", "cpu", "fp32", 4 * 2.4 * 16),
        ("rpi5", "Raspberry Pi 5 Model B Rev 1.0", "cpu", "int8", 4 * 2.4 * 64),  # 2 SDOT.4S per cycle
        ("jetson-nano", "NVIDIA Jetson Nano Developer Kit", "gpu", "fp32", 128 * 0.9216 * 2),
        ("jetson-nano", "NVIDIA Jetson Nano Developer Kit", "gpu", "fp16", 472.0),  # NVIDIA's figure
        ("rpi4", "Raspberry Pi 4 Model B Rev 1.4", "tpu", "int8", 4000.0),  # Coral on a Pi
    ],
)
def test_peak_values_equal_their_formulas(board: str, model: str, device: str, precision: str, expected: float) -> None:
    p = peaks.lookup(board, model, device, precision)
    assert p is not None and p.gops == pytest.approx(expected, rel=1e-3)


def test_pi4_and_nano_cpu_peaks_are_one_fmla_per_cycle() -> None:
    """The published corrections: Pi 4 48.0 GOP/s at 1.5 GHz, 57.6 at 1.8 GHz; Nano CPU 45.76."""
    rpi4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B Rev 1.4"}, "cpu": {"max_freq_mhz": 1500.0}}
    assert peaks.for_machine(rpi4, "cpu", "fp32").gops == pytest.approx(48.0)
    rpi4["cpu"]["max_freq_mhz"] = 1800.0
    a = peaks.for_machine(rpi4, "cpu", "fp32")
    assert a.gops == pytest.approx(57.6) and "1.8 GHz (cpuinfo_max_freq)" in a.formula and "x 8 fp32" in a.formula
    nano = {"board": {"id": "jetson-nano", "model": "NVIDIA Jetson Nano Developer Kit"}, "cpu": {}}
    a = peaks.for_machine(nano, "cpu", "fp32")
    assert a.gops == pytest.approx(45.76) and "nominal clock" in a.clock_source, "no cpufreq: the nominal clock, said"


def test_cpu_peaks_scale_with_the_boards_maximum_clock() -> None:
    """A Pi 5 overclocked to 3.0 GHz (cpuinfo_max_freq 3000000 kHz -> 3000 MHz) is held against 4 x 3.0 x 16."""
    rpi5 = {"board": {"id": "rpi5", "model": "Raspberry Pi 5 Model B Rev 1.0"}, "cpu": {"max_freq_mhz": 3000.0}}
    assert peaks.for_machine(rpi5, "cpu", "fp32").gops == pytest.approx(4 * 3.0 * 16)
    assert peaks.for_machine(rpi5, "cpu", "int8").gops == pytest.approx(4 * 3.0 * 64)
    section = peak_share.section(_counts(), 0.5, rpi5, "cpu", {"precision": "fp32"})
    assert section["peak_gops"] == pytest.approx(192.0) and section["peak_clock_mhz"] == 3000.0


def _orin(
    memory_mb: object,
    model: str = "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super",
    **jetson: object,
) -> dict:
    return {"board": {"id": "jetson-orin", "model": model}, "memory_mb": memory_mb, "accelerator": {"jetson": jetson}}


def test_orin_gpu_peak_follows_the_power_mode_and_the_module() -> None:
    """Orin Nano 8 GB: 1024 CUDA cores, 4 GB: 512 (data sheet); MAXN_SUPER runs the GPU at 1020 MHz, not 625."""
    nominal = _orin(7620.0)
    assert peaks.for_machine(nominal, "gpu", "fp32").gops == pytest.approx(1024 * 0.625 * 2)
    super_mode = _orin(7620.0, power_mode={"id": 2, "name": "MAXN_SUPER"})
    assert peaks.for_machine(super_mode, "gpu", "fp32").gops == pytest.approx(1024 * 1.02 * 2)
    assert peaks.for_machine(super_mode, "gpu", "int8").gops == pytest.approx(20000.0 * 1020 / 625)
    devfreq = _orin(7620.0, gpu={"max_mhz": 1020.0}, power_mode={"id": 2, "name": "MAXN_SUPER"})
    a = peaks.for_machine(devfreq, "gpu", "fp16")
    assert a.gops == pytest.approx(10000.0 * 1020 / 625) and "devfreq" in a.clock_source
    small = _orin(3420.0, power_mode={"id": 2, "name": "MAXN_SUPER"})
    assert peaks.for_machine(small, "gpu", "fp32").gops == pytest.approx(512 * 1.02 * 2), "the 4 GB module"
    assert peaks.for_machine(small, "gpu", "int8").gops == pytest.approx(10000.0 * 1020 / 625)
    unknown = _orin(None, model="NVIDIA Jetson Orin Nano")
    assert peaks.for_machine(unknown, "gpu", "fp32") is None, "never a guess between the 4 GB and 8 GB module"
    assert (
        "4 GB or 8 GB" in peak_share.section(_counts(), 0.5, unknown, "gpu", {"precision": "fp32"})["peak_unavailable"]
    )


def test_no_int8_peak_for_armv8_0_cpus_and_no_orin_nx_entry() -> None:
    assert peaks.lookup("rpi4", "Raspberry Pi 4", "cpu", "int8") is None
    assert peaks.lookup("jetson-nano", "Jetson Nano", "cpu", "int8") is None
    assert peaks.lookup("jetson-orin", "NVIDIA Jetson Orin NX", "gpu", "fp32", "8gb") is None


def _counts() -> dict:
    return {"macs": 1_000_000, "ops": 2_000_000, "by_type": {"Conv": 1_000_000}, "source": "onnx graph"}


def test_section_is_precision_and_device_aware() -> None:
    rpi4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B"}, "cpu": {"max_freq_mhz": 1800.0}}
    fp32 = peak_share.section(_counts(), 0.5, rpi4, "cpu", {"precision": "fp32"})
    assert fp32["gops_per_s"] == pytest.approx(2e6 / 0.5e-3 / 1e9)  # 4 GOP/s
    assert fp32["peak_gops"] == pytest.approx(4 * 1.8 * 8), "scaled to the reported 1.8 GHz"
    assert fp32["pct_of_peak"] == pytest.approx(100 * 4.0 / (4 * 1.8 * 8))
    assert fp32["peak_kind"] == "derived" and "cortex-a72 uses CortexA57Model" in fp32["peak_source"]
    int8 = peak_share.section(_counts(), 0.5, rpi4, "cpu", {"precision": "int8"})
    assert int8["pct_of_peak"] is None and int8["peak_gops"] is None
    assert int8["peak_unavailable"].startswith("no int8 peak for this CPU")
    tpu = peak_share.section(_counts(), 0.5, rpi4, "tpu", {"precision": "int8"})
    assert tpu["pct_of_peak"] == pytest.approx(100 * 4.0 / 4000.0) and tpu["peak_kind"] == "published"
    nano = {"board": {"id": "jetson-nano", "model": "NVIDIA Jetson Nano Developer Kit"}, "cpu": {}}
    gpu = peak_share.section(_counts(), 0.5, nano, "gpu", {"precision": "fp16"})
    assert gpu["peak_gops"] == 472.0 and gpu["device"] == "gpu"
    missing = peak_share.section({"unavailable": "no graph"}, 0.5, nano, "gpu", {"precision": "fp16"})
    # no GOP/s without counts, but the peak the board is held against is still said
    assert {k: missing[k] for k in ("unavailable", "device", "precision", "peak_gops")} == {
        "unavailable": "no graph",
        "device": "gpu",
        "precision": "fp16",
        "peak_gops": 472.0,
    }
    assert "gops_per_s" not in missing and "pct_of_peak" not in missing


def test_device_of_each_runtime() -> None:
    assert peak_share.device_of("tensorrt", None, {}) == "gpu"
    assert peak_share.device_of("coral", None, {}) == "tpu"
    assert peak_share.device_of("tflite", "edgetpu", {}) == "tpu"
    assert peak_share.device_of("onnx", None, {"providers": ["CUDAExecutionProvider"]}) == "gpu"
    assert peak_share.device_of("tflite", "armnn", {}) == "cpu"


def test_measured_peak_only_for_cpus_the_table_does_not_know() -> None:
    assert not peaks.board_knows_cpu({"board": {"id": "generic", "model": "x86_64"}})
    assert peaks.board_knows_cpu({"board": {"id": "rpi5", "model": "Raspberry Pi 5"}})
    assert cpupeak.ensure({"board": {"id": "rpi5", "model": "Raspberry Pi 5"}}) is None, "never measured on a board"


#: MACs of the shipped digits CNN counted by hand (tests/test_opcount.py): two 3x3 convolutions and the dense layer
DIGITS_MACS = 8 * 32 * 32 * (1 * 3 * 3) + 16 * 16 * 16 * (8 * 3 * 3) + 16 * 8 * 8 * 10


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache root (the measured peak lives there), so the test does not see this machine's entry."""
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _onnx_run() -> dict:
    from bench import models, runner

    config = RunConfig(
        model=models.DIGITS_ONNX, data=models.DIGITS_TEST_DATA, framework="onnx", timing=QUICK, power=NO_POWER
    )
    return runner.run(config).to_dict()


def test_a_run_never_measures_the_peak_and_says_how_to_get_one(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require("onnxruntime")
    require("onnx")

    def no_measurement(*args: object, **kwargs: object) -> None:
        raise AssertionError("a peak was measured inside a run")

    monkeypatch.setattr(cpupeak, "measure", no_measurement)
    c = _onnx_run()["compute"]
    assert c["peak_gops"] is None and c["pct_of_peak"] is None
    assert "edgebench peaks --measure" in c["peak_unavailable"]


def _cached_entry(gops: float) -> dict:
    """A measured peak as `edgebench peaks --measure` caches it, with a known figure (the measurement's own test is
    in test_peaks.py)."""
    import json

    ident = cpupeak.identity()
    entry = {**ident, "gops": gops, "method": "numpy float32 matmul (fixture)", "measured_utc": "2026-01-02T03:04:05Z"}
    path = cpupeak.cache_file(ident)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(entry))
    return entry


def test_record_compute_equals_values_computed_here(cache: Path) -> None:
    """A real run on this (unknown, x86) CPU: ops from opcount over the record's own invoke p50; the cached peak."""
    require("onnxruntime")
    require("onnx")

    entry = _cached_entry(1000.0)
    rec = _onnx_run()
    c = rec["compute"]
    p50 = rec["latency"]["invoke"]["p50_ms"]
    assert c["macs"] == DIGITS_MACS and c["ops"] == 2 * DIGITS_MACS and c["source"] == "onnx graph"
    assert c["invoke_p50_ms"] == p50
    assert c["gops_per_s"] == pytest.approx(2 * DIGITS_MACS / (p50 / 1e3) / 1e9)
    assert (c["device"], c["precision"]) == ("cpu", "fp32")
    assert rec["machine"]["board"]["id"] == "generic"
    assert c["peak_kind"] == "measured" and "numpy" in c["peak_source"] and entry["measured_utc"] in c["peak_source"]
    assert c["peak_gops"] == entry["gops"], "the cached figure, not one measured in the run"
    assert c["pct_of_peak"] == pytest.approx(100 * c["gops_per_s"] / c["peak_gops"])
    second = _onnx_run()["compute"]
    assert second["peak_gops"] == c["peak_gops"], "the same peak in every run"


def test_int8_tflite_on_an_unknown_cpu_says_no_int8_peak(cache: Path) -> None:
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
    from bench import config_summary, report

    rpi4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B"}, "cpu": {}}
    fp32 = peak_share.section(_counts(), 0.5, rpi4, "cpu", {"precision": "fp32"})
    int8 = peak_share.section(_counts(), 0.25, rpi4, "cpu", {"precision": "int8"})
    recs = [_cmp_record("onnx", 0.5, fp32), _cmp_record("tflite-int8", 0.25, int8)]
    by_label = {s.label: s for s in config_summary.summarize(recs)}
    assert by_label["onnx"].gops_per_s == pytest.approx(4.0)  # 2e6 ops / 0.5 ms
    assert by_label["onnx"].pct_of_peak == pytest.approx(100 * 4.0 / 48.0)
    assert by_label["tflite-int8"].pct_of_peak is None
    assert by_label["tflite-int8"].compute_note.startswith("no int8 peak for this CPU")
    text = report.render(recs, "markdown")
    assert "GOP/s (% peak)" in text and "4.00 (8.3%)" in text and "8.00 (no peak)" in text
    assert "of 48.00 GOP/s (fp32 cpu peak, derived: llvm/llvm-project" in text
    assert "no int8 peak for this CPU" in text


def test_a_share_above_100_percent_is_an_error_naming_its_cause() -> None:
    """2e6 ops in 0.01 ms = 200 GOP/s on a 48 GOP/s Pi 4: 417 %, impossible; never printed as a share."""
    from bench import config_summary, report, report_tables

    rpi4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B"}, "cpu": {"max_freq_mhz": 1500.0}}
    c = peak_share.section(_counts(), 0.01, rpi4, "cpu", {"precision": "fp32"})
    assert c["gops_per_s"] == pytest.approx(200.0) and c["pct_of_peak"] is None
    assert c["peak_error"].startswith("above 100% of the peak (417% of a derived peak) is impossible")
    assert "edgebench peaks" in c["peak_error"]
    measured = peak_share.over_peak_error(352.0, peaks.MEASURED)
    assert "352%" in measured and "edgebench peaks --measure` on an idle machine" in measured
    recs = [_cmp_record("onnx", 0.01, c)]
    (s,) = config_summary.summarize(recs)
    assert s.pct_of_peak is None and s.peak_error.startswith("above 100% of the peak (417%")
    text = report.render(recs, "markdown")
    assert "200 (peak error)" in text and "417%" in text and "(417" not in text.replace("(417% of a", "")
    assert report_tables.gops_text(200.0, None, "x") == "200 (peak error)"
