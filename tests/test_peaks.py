"""The peak a CPU the table does not know is held against (bench/cpupeak.py), `edgebench peaks` (bench/peaktable.py),
and version-2 records read in version 3's meaning (bench/records.py). /proc/cpuinfo trees below are fixtures: what a
process on such a machine reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import cpupeak, peaks, records
from tests.conftest import require, run_cli


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_measured_peak_is_cached_once_with_what_it_was_measured_on(cache: Path) -> None:
    np = require("numpy")
    assert cpupeak.cached() is None
    entry = cpupeak.measure_and_store(duration_s=0.5)
    assert entry["gops"] > 0 and entry["windows"] >= 1 and entry["gops"] >= entry["median_window_gops"]
    assert entry["numpy"] == np.__version__ and entry["cores"] == os.cpu_count() and entry["cpu_model"]
    assert "float32 matmul" in entry["method"] and entry["measured_utc"].endswith("Z") and "idle" in entry
    assert "on one BLAS thread" in entry["method"] and "CPU-time window" in entry["method"]
    assert entry["gops"] == pytest.approx(entry["per_core_gops"] * cpupeak.physical_cores())
    assert Path(entry["cache_file"]).parent == cache / "peaks"
    again = cpupeak.cached()
    assert again["gops"] == entry["gops"] and again["measured_utc"] == entry["measured_utc"]
    calls = []
    original = cpupeak.measure

    def counted(*a: object, **k: object) -> dict:
        calls.append(1)
        return original(*a, **k)

    cpupeak.measure = counted  # type: ignore[assignment]
    try:
        assert cpupeak.ensure({"board": {"id": "generic"}})["gops"] == entry["gops"]
    finally:
        cpupeak.measure = original  # type: ignore[assignment]
    assert calls == [], "a cached peak is never measured again"


def test_another_numpy_or_cpu_finds_no_cached_peak(cache: Path) -> None:
    ident = {"cpu_model": "AMD EPYC", "arch": "x86_64", "cores": 2, "numpy": "2.4.6", "blas": "openblas 0.3"}
    assert cpupeak.cache_file(ident) == cpupeak.cache_file(dict(ident))
    for key, value in (("numpy", "2.5.0"), ("cores", 4), ("cpu_model", "Intel Xeon"), ("blas", "mkl")):
        assert cpupeak.cache_file({**ident, key: value}) != cpupeak.cache_file(ident), key


def _cpuinfo(root: Path, vendor: str, family: int, flags: str, mhz: str) -> Path:
    """Three logical CPUs on two cores (CPU 2 is core 0's SMT sibling)."""
    (root / "proc").mkdir(parents=True)
    block = f"vendor_id\t: {vendor}\ncpu family\t: {family}\nmodel name\t: X\ncpu MHz\t\t: {mhz}\nflags\t\t: {flags}\n"
    cpus = [f"processor\t: {i}\n{block}physical id\t: 0\ncore id\t\t: {core}\n" for i, core in enumerate((0, 1, 0))]
    (root / "proc/cpuinfo").write_text("\n".join(cpus))
    return root


def test_derived_x86_peak_from_vector_width_fma_pipes_and_clock(tmp_path: Path) -> None:
    """Zen 4 (family 19h with AVX-512; LLVM X86ScheduleZnver4.td): 2 x 256-bit FMA = 32 fp32 ops per cycle."""
    root = _cpuinfo(tmp_path / "vm", "AuthenticAMD", 25, "fpu sse avx2 fma avx512f", "2596.148")
    assert cpupeak.physical_cores(root) == 2, "SMT siblings share a core's FMA pipes"
    d = cpupeak.derived_x86(root)
    assert d["gops"] == pytest.approx(2 * 2.596148 * 32)
    assert "current clock" in d["formula"] and "X86ScheduleZnver4.td" in d["source"]
    freq = root / "sys/devices/system/cpu/cpu0/cpufreq"
    freq.mkdir(parents=True)
    (freq / "cpuinfo_max_freq").write_text("3700000\n")
    d = cpupeak.derived_x86(root)
    assert d["gops"] == pytest.approx(2 * 3.7 * 32) and "cpuinfo_max_freq" in d["formula"]
    zen3 = _cpuinfo(tmp_path / "zen3", "AuthenticAMD", 25, "fpu avx2 fma", "3000.0")
    intel = _cpuinfo(tmp_path / "intel", "GenuineIntel", 6, "fpu avx2 fma avx512f", "3000.0")
    assert cpupeak.derived_x86(zen3) is None and cpupeak.derived_x86(intel) is None, "unknown pipes: no figure"


def test_peaks_command_shows_each_figure_with_kind_formula_and_source(cache: Path) -> None:
    res = run_cli("peaks", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    table = {(r["board"], r["device"], r["precision"]): r for r in out["table"]}
    assert table[("rpi4", "cpu", "fp32")]["gops"] == 48.0 and table[("jetson-nano", "cpu", "fp32")]["gops"] == 45.76
    assert "4 cores x 1.5 GHz x 8 fp32 ops/cycle" == table[("rpi4", "cpu", "fp32")]["formula"]
    assert "57.6 at 1.8 GHz" in table[("rpi4", "cpu", "fp32")]["note"]
    assert table[("jetson-orin Orin Nano 4GB", "gpu", "fp32")]["gops"] == 640.0
    for r in out["table"] + out["this_machine"]:
        assert r["kind"] in peaks.KINDS and r["source"], r
    mine = out["this_machine"]
    assert out["machine"]["board"]["id"] == "generic"
    measured = [r for r in mine if r["kind"] == "measured"]
    assert measured and measured[0]["gops"] is None and "edgebench peaks --measure" in measured[0]["source"]
    text = run_cli("peaks").stdout
    assert "Peaks a run here is held against" in text and "4 cores x 1.8" not in text


def test_peaks_measure_refuses_a_bad_duration(cache: Path) -> None:
    res = run_cli("peaks", "--measure", "--measure-s", "0")
    assert res.returncode != 0 and "--measure-s" in res.stderr and res.stderr.count("\n") == 1


def _v2(board: str, compute: dict) -> dict:
    return {"schema_version": 2, "framework": "onnx", "machine": {"board": {"id": board}}, "compute": compute}


def test_version_2_compute_sections_are_read_in_version_3_meaning(tmp_path: Path) -> None:
    old_pi4 = {
        "device": "cpu",
        "precision": "fp32",
        "peak_gops": 115.2,  # 4 x 1.8 x 16, as version 2 recorded it
        "peak_kind": "derived",
        "peak_formula": "4 cores x 1.5 GHz x 16 fp32 ops/cycle (2 FMLA.4S), scaled to the reported 1800 MHz",
        "pct_of_peak": 10.0,
    }
    up = records.upgrade(_v2("rpi4", old_pi4))
    assert up["schema_version"] == 3 and up["compute"]["peak_gops"] == pytest.approx(57.6)
    assert up["compute"]["pct_of_peak"] == pytest.approx(20.0) and "x 8 fp32 ops/cycle" in up["compute"]["peak_formula"]
    assert old_pi4["peak_gops"] == 115.2, "upgrade works on a copy"
    measured = {
        "device": "cpu",
        "peak_gops": 9.0,
        "peak_kind": "measured",
        "peak_source": "numpy",
        "pct_of_peak": 352.0,
    }
    up = records.upgrade(_v2("generic", measured))["compute"]
    assert up["pct_of_peak"] is None and up["peak_error"].startswith("above 100% of the peak (352% of a measured")
    assert "own process" in up["peak_source"]
    rpi5 = {"device": "cpu", "peak_gops": 153.6, "peak_kind": "derived", "peak_formula": "x 16 fp32 ops/cycle"}
    assert records.upgrade(_v2("rpi5", rpi5))["compute"]["peak_gops"] == 153.6, "the A76 figure was right"
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps(_v2("rpi4", old_pi4)) + "\n")
    (read,) = records.read_records(out)
    assert read["compute"]["peak_gops"] == pytest.approx(57.6) and json.loads(out.read_text())["schema_version"] == 2


def test_no_measurement_in_a_device_image_or_under_emulation(cache: Path) -> None:
    image = {"board": {"id": "generic"}, "in_container": True, "image": "edgebench/edgebench-rpi:0.1.0-arm64"}
    for machine in (image, {"board": {"id": "generic"}, "emulated": True}):
        assert cpupeak.ensure(machine) is None
    assert not (cache / "peaks").exists(), "nothing measured, nothing cached"


def test_first_compare_on_an_unknown_cpu_measures_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own container (in_container, no edgebench image) is a machine like any other."""
    calls = []

    def fake(duration_s: float = 0.0, *a: object) -> dict:
        calls.append(duration_s)
        return {"gops": 123.0, "method": "fake", "measured_utc": "2026-01-01T00:00:00Z", "idle": True}

    monkeypatch.setattr(cpupeak, "measure", fake)
    machine = {"board": {"id": "generic"}, "in_container": True, "image": None}
    assert cpupeak.ensure(machine)["gops"] == 123.0 and calls == [cpupeak.MEASURE_S]
    assert cpupeak.ensure(machine)["gops"] == 123.0 and len(calls) == 1, "once per machine"
