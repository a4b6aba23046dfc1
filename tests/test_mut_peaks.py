"""bench/peaks.py's lookups on machine sections written by hand: which Orin Nano module (MemTotal just under and at
6000 MB), where each clock comes from, the formula text of a scaled figure, and when a published figure becomes
derived (a clock more than 0.5 MHz off the data sheet's)."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from bench import peaks

ORIN = "NVIDIA Jetson Orin Nano Developer Kit"


def orin(**kw: Any) -> Dict[str, Any]:
    return {"board": {"id": "jetson-orin", "model": kw.pop("model", ORIN)}, **kw}


def test_orin_module_from_memory_and_model() -> None:
    assert peaks.orin_memory(orin(memory_mb=5999.9)) == "4gb"
    assert peaks.orin_memory(orin(memory_mb=6000)) == "8gb"
    assert peaks.orin_memory(orin(memory_mb=7400, model="NVIDIA Jetson Orin Nano")) == "8gb"
    assert peaks.orin_memory(orin(memory_mb="3500")) == "4gb"  # a string from a fixture reads as a number
    assert peaks.orin_memory(orin()) == "8gb"  # no MemTotal: the developer kit's module
    assert peaks.orin_memory(orin(model="NVIDIA Jetson Orin Nano")) == ""  # no MemTotal, no kit: unknown
    assert peaks.orin_memory({"board": None}) == "" and peaks.orin_memory({}) == ""


def test_clock_sources_by_hand() -> None:
    rpi4 = peaks.lookup("rpi4", "", "cpu", "fp32")
    assert peaks.clock_of(rpi4, {"cpu": {"max_freq_mhz": 1800}}) == (1800.0, "cpuinfo_max_freq")
    assert peaks.clock_of(rpi4, {"cpu": {}}) == (1500.0, "nominal clock (cpuinfo_max_freq not readable)")
    assert peaks.clock_of(rpi4, {}) == (1500.0, "nominal clock (cpuinfo_max_freq not readable)")
    gpu = peaks.lookup("jetson-orin", ORIN, "gpu", "fp32", "8gb")
    devfreq = {"accelerator": {"jetson": {"gpu": {"max_mhz": 918}, "power_mode": {"name": "MAXN_SUPER"}}}}
    assert peaks.clock_of(gpu, devfreq) == (918.0, "GPU devfreq max_freq (set by the power mode)")
    mode = {"accelerator": {"jetson": {"gpu": {}, "power_mode": {"name": "MAXN_SUPER"}}}}
    assert peaks.clock_of(gpu, mode) == (1020.0, "power mode MAXN_SUPER")
    other = {"accelerator": {"jetson": {"power_mode": {"name": "15W"}}}}
    sheet = (625.0, "data sheet clock (GPU max clock and power mode not readable)")
    assert peaks.clock_of(gpu, other) == sheet and peaks.clock_of(gpu, {}) == sheet
    assert peaks.clock_of(gpu, {"accelerator": {"jetson": {"power_mode": None}}}) == sheet
    coral = peaks.lookup("rpi5", "", "tpu", "int8")
    assert peaks.clock_of(coral, {"cpu": {"max_freq_mhz": 3000}}) == (0.0, "")


def test_applied_formulas_by_hand() -> None:
    rpi4 = peaks.lookup("rpi4", "", "cpu", "fp32")
    a = peaks.applied(rpi4, {"cpu": {"max_freq_mhz": 1800}})
    assert a.gops == pytest.approx(4 * 1.8 * 8) and a.kind == "derived" and a.clock_mhz == 1800.0
    assert a.formula == "4 cores x 1.8 GHz (cpuinfo_max_freq) x 8 fp32 ops/cycle = 57.60"
    assert (a.clock_source, a.source, a.note) == ("cpuinfo_max_freq", rpi4.source, rpi4.note)
    nano16 = peaks.lookup("jetson-nano", "", "gpu", "fp16")
    at = {"accelerator": {"jetson": {"gpu": {"max_mhz": 921.6}}}}
    a = peaks.applied(nano16, at)
    assert a.kind == "published" and a.gops == pytest.approx(472.0)
    assert a.formula == "472 GOP/s at 921.6 MHz (128 CUDA cores x 2 x 2, half2) = 472.00"
    near = peaks.applied(nano16, {"accelerator": {"jetson": {"gpu": {"max_mhz": 922.0}}}})
    assert near.kind == "published" and near.gops == pytest.approx(472.0 * 922.0 / 921.6)  # within 0.5 MHz
    low = peaks.applied(nano16, {"accelerator": {"jetson": {"gpu": {"max_mhz": 640}}}})
    assert low.kind == "derived" and low.gops == pytest.approx(472.0 * 640 / 921.6)
    assert low.formula == (
        "472 GOP/s at 921.6 MHz (128 CUDA cores x 2 x 2, half2), x 640/921.6 MHz "
        "(GPU devfreq max_freq (set by the power mode)) = 327.78"
    )
    orin8 = peaks.lookup("jetson-orin", ORIN, "gpu", "int8", "8gb")  # published at 625 MHz, no {clock} in it

    def at(mhz: float) -> peaks.Applied:
        return peaks.applied(orin8, {"accelerator": {"jetson": {"gpu": {"max_mhz": mhz}}}})

    assert at(625.5).kind == "published" and at(624.5).kind == "published"  # 0.5 MHz off: still the data sheet's
    assert at(626.0).kind == "derived" and at(626.0).formula.startswith("20000 GOP/s at 625 MHz, x 626/625 MHz")
    coral = peaks.applied(peaks.lookup("generic", "", "tpu", "int8"), {})
    assert (coral.gops, coral.kind, coral.formula, coral.clock_mhz) == (4000.0, "published", "", 0.0)


def test_table_values_by_hand() -> None:
    """Every figure of the table from its data sheet or LLVM factors, at the nominal clock (these are built when the
    module is imported, so a mutation test cannot reach the code that builds them: this does)."""
    nominal: Dict[str, Any] = {}
    cases = [
        ("rpi4", "", "cpu", "fp32", "", 4 * 1.5 * 8, "4 cores x 1.5 GHz"),
        ("rpi5", "", "cpu", "fp32", "", 4 * 2.4 * 16, "4 cores x 2.4 GHz"),
        ("rpi5", "", "cpu", "int8", "", 4 * 2.4 * 64, "x 64 int8 ops/cycle"),
        ("jetson-nano", "", "cpu", "fp32", "", 4 * 1.43 * 8, "x 8 fp32 ops/cycle"),
        ("jetson-nano", "", "gpu", "fp32", "", 128 * 0.9216 * 2, "128 CUDA cores x 0.9216 GHz"),
        ("jetson-orin", ORIN, "gpu", "int8", "8gb", 20000.0, "20000 GOP/s at 625 MHz"),
        ("jetson-orin", ORIN, "gpu", "fp16", "8gb", 10000.0, "20000 dense INT8 GOP/s / 2"),
        ("jetson-orin", ORIN, "gpu", "fp32", "8gb", 1024 * 0.625 * 2, "1024 CUDA cores x 0.625 GHz"),
        ("jetson-orin", ORIN, "gpu", "int8", "4gb", 10000.0, "10000 GOP/s at 625 MHz"),
        ("jetson-orin", ORIN, "gpu", "fp16", "4gb", 5000.0, "10000 dense INT8 GOP/s / 2"),
        ("jetson-orin", ORIN, "gpu", "fp32", "4gb", 512 * 0.625 * 2, "512 CUDA cores x 0.625 GHz"),
    ]
    for board, model, device, precision, memory, gops, text in cases:
        p = peaks.lookup(board, model, device, precision, memory)
        assert p is not None and p.gops == pytest.approx(gops), (board, device, precision, memory)
        a = peaks.applied(p, nominal)
        assert a.gops == pytest.approx(gops) and text in a.formula, (a.formula, text)
        assert p.scales_with == ("cpu" if device == "cpu" else "gpu")
        if board == "jetson-orin":
            assert (p.model_contains, p.memory, p.mhz) == ("Orin Nano", memory, 625.0)
            assert (p.kind == "published") == (precision == "int8")
            assert ("sparse" in p.note) == (precision == "int8")
        else:
            assert p.kind == ("published" if precision == "fp16" else "derived")
    assert peaks.lookup("jetson-orin", "NVIDIA Jetson Orin NX", "gpu", "fp32", "8gb") is None
    assert peaks.lookup("rpi4", "", "cpu", "int8") is None and peaks.lookup("rpi4", "", "gpu", "fp32") is None


def test_board_knows_cpu() -> None:
    assert peaks.board_knows_cpu({"board": {"id": "rpi4"}})
    assert peaks.board_knows_cpu({"board": {"id": "jetson-nano", "model": "x"}})
    assert not peaks.board_knows_cpu({"board": {"id": "generic"}}) and not peaks.board_knows_cpu({})
    assert peaks.for_machine({"board": {"id": "generic"}}, "cpu", "fp32") is None
    got = peaks.for_machine(orin(memory_mb=3800), "gpu", "int8")
    assert got is not None and got.gops == pytest.approx(10000.0)
