"""`edgebench peaks` (bench/peaktable.py) by behaviour, fast: the rows for a Raspberry Pi 5 at its clock (4 Cortex-A76
cores x 2.4 GHz x 16 fp32 / 64 int8 ops a cycle: 153.6 and 614.4 GOP/s, by hand), the Coral row only with a Coral
attached (4 TOPS, its data sheet), an unknown CPU's measured and derived rows and the boost note (the derived peak
stubbed to a known figure), the text rendering, and the command's refusals."""

from __future__ import annotations

import argparse
import json

import pytest

from bench import cpupeak, machine, peaks, peaktable
from bench.errors import InputError

PI5 = {"board": {"id": "rpi5", "model": "Raspberry Pi 5 Model B Rev 1.0"}, "cpu": {"max_freq_mhz": 2400.0}}
UNKNOWN = {"board": {"id": "unknown", "model": None}, "cpu": {"model": "AMD EPYC", "cores": 2, "max_freq_mhz": None}}
MEASURED = {"gops": 200.0, "method": "numpy matmul", "blas": "openblas", "cpu_model": "AMD EPYC", "cores": 2,
            "measured_utc": "2026-12-04T19:56:03Z", "others_cpu_share": 0.5, "idle": False}  # fmt: skip
DERIVED = {"gops": 100.0, "ghz": 2.5, "formula": "2 cores x 2.5 GHz x 32 fp32 ops/cycle = 100", "source": "llvm"}


def _by(rows: list) -> dict:
    return {(r["device"], r["precision"]): r for r in rows}


def test_pi5_rows_at_its_clock_and_without_a_coral() -> None:
    rows = _by(peaktable.this_machine(PI5, None))
    assert set(rows) == {("cpu", "fp32"), ("cpu", "int8")}
    assert rows["cpu", "fp32"]["gops"] == 153.6 and rows["cpu", "int8"]["gops"] == 614.4
    assert rows["cpu", "fp32"]["kind"] == "derived" and rows["cpu", "fp32"]["note"] == "2 FMLA.4S per cycle"
    assert rows["cpu", "fp32"]["formula"] == "4 cores x 2.4 GHz (cpuinfo_max_freq) x 16 fp32 ops/cycle = 153.60"
    slow = _by(peaktable.this_machine({**PI5, "cpu": {"max_freq_mhz": 1500.0}}, MEASURED))  # measured: never used
    assert slow["cpu", "fp32"]["gops"] == 96.0 and len(slow) == 2


def test_coral_row_only_with_a_coral() -> None:
    rows = _by(peaktable.this_machine({**PI5, "accelerator": {"coral": {"devices": 1}}}, None))
    assert rows["tpu", "int8"]["gops"] == 4000.0 and rows["tpu", "int8"]["kind"] == "published"
    assert ("tpu", "int8") not in _by(peaktable.this_machine({**PI5, "accelerator": {"coral": {}}}, None))


def test_unknown_cpu_not_measured_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpupeak, "derived_x86", lambda: None)
    (row,) = peaktable.this_machine(UNKNOWN, None)
    assert row == {
        "device": "cpu",
        "precision": "fp32",
        "gops": None,
        "kind": "measured",
        "formula": "",
        "note": "",
        "source": "not measured yet: `edgebench peaks --measure` on an idle machine (compare and demo measure once "
        "when none is cached)",
    }


def test_unknown_cpu_measured_above_its_derived_peak_gets_the_boost_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpupeak, "derived_x86", lambda: dict(DERIVED))
    measured, derived = peaktable.this_machine(UNKNOWN, MEASURED)
    assert (measured["gops"], measured["kind"], measured["source"]) == (200.0, "measured", cpupeak.describe(MEASURED))
    assert (derived["gops"], derived["kind"], derived["formula"]) == (100.0, "derived", DERIVED["formula"])
    assert derived["note"] == (
        "below the measured peak: the cores run faster than the reported clock (boost), about 5.00 GHz at this many "
        "operations per cycle"
    )  # 200 / 100 x 2.5 GHz


@pytest.mark.parametrize("gops", [100.0, 50.0])
def test_derived_peak_not_below_the_measured_one_is_called_theoretical(monkeypatch, gops: float) -> None:
    monkeypatch.setattr(cpupeak, "derived_x86", lambda: dict(DERIVED))
    _, derived = peaktable.this_machine(UNKNOWN, {**MEASURED, "gops": gops})
    assert derived["note"] == "theoretical: shown beside the measured peak, which shares are taken of"


def test_table_rows_name_the_board_and_nominal_clock() -> None:
    rows = peaktable.table()
    assert len(rows) == len(peaks.PEAKS)
    pi4 = next(r for r in rows if r["board"] == "rpi4" and r["device"] == "cpu")
    assert pi4["gops"] == 48.0 and pi4["nominal_mhz"] == 1500.0  # 4 x 1.5 GHz x 8
    assert pi4["formula"] == "4 cores x 1.5 GHz x 8 fp32 ops/cycle"
    coral = next(r for r in rows if r["device"] == "tpu")
    assert coral["board"] == "any host" and coral["nominal_mhz"] is None and coral["gops"] == 4000.0
    orin = next(r for r in rows if r["board"] == "jetson-orin Orin Nano 8GB" and r["precision"] == "int8")
    assert orin["gops"] == 20000.0 and orin["nominal_mhz"] == 625.0


def test_render_text() -> None:
    mine = [
        {"device": "cpu", "precision": "fp32", "gops": 153.6, "kind": "derived", "formula": "f", "source": "s",
         "note": "n"},
        {"device": "cpu", "precision": "fp32", "gops": None, "kind": "measured", "formula": "", "source": "t",
         "note": ""},
    ]  # fmt: skip
    known = [{"board": "rpi4", "device": "cpu", "precision": "fp32", "gops": 48.0, "kind": "derived", "formula": "g",
              "source": "u", "note": ""}]  # fmt: skip
    text = peaktable.render({**PI5, "cpu": {"model": "Cortex-A76", "cores": 4, "max_freq_mhz": 2400}}, mine, known)
    assert text.splitlines() == [
        "Peaks a run here is held against: board rpi5 (Raspberry Pi 5 Model B Rev 1.0), CPU Cortex-A76, 4 cores, "
        "max clock 2400 MHz",
        "  cpu fp32      153.60 GOP/s  derived   f",
        "      source: s; n",
        "  cpu fp32           - GOP/s  measured  ",
        "      source: t",
        "Known boards, at their nominal clocks (a run scales CPU peaks to cpuinfo_max_freq, Jetson GPU peaks to",
        "the GPU's max clock under the power mode):",
        "  rpi4                     cpu fp32       48.00 GOP/s  derived   g",
        "      source: u",
    ]
    assert text.endswith("\n")
    assert "max clock not readable MHz" in peaktable.render({}, [], [])


def _args(**kw) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    peaktable.add_arguments(p)
    return p.parse_args([f"--{k.replace('_', '-')}={v}" if v is not True else f"--{k.replace('_', '-')}"
                         for k, v in kw.items()])  # fmt: skip


def test_command_json_on_a_pi5(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(machine, "facts", lambda: dict(PI5))
    assert peaktable.main(_args(format="json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["machine"] == PI5 and len(out["table"]) == len(peaks.PEAKS)
    assert _by(out["this_machine"])["cpu", "fp32"]["gops"] == 153.6
    assert peaktable.main(_args()) == 0
    assert capsys.readouterr().out.startswith("Peaks a run here is held against: board rpi5")
    with pytest.raises(InputError) as err:
        peaktable.main(_args(measure=True))
    assert err.value.problem == "this board (rpi5) has table peaks; a measured CPU peak is never used for it"
    assert err.value.fix == "run `edgebench peaks` to see them"


def test_measure_refuses_a_non_positive_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "facts", lambda: dict(UNKNOWN))
    for s in ("0", "-1"):
        with pytest.raises(InputError) as err:
            peaktable.main(_args(measure=True, measure_s=s))
        assert err.value.problem == f"--measure-s {float(s)} is not a positive duration"
    a = _args()
    assert (a.format, a.measure, a.measure_s) == ("table", False, cpupeak.MEASURE_S)


def test_measure_on_an_unknown_cpu_caches_and_shows_the_peak(tmp_path, monkeypatch, caplog, capsys) -> None:
    """A real half-second measurement (bench.cpupeak's child process) into a cache folder of this test."""
    import logging

    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(machine, "facts", lambda: dict(UNKNOWN))
    with caplog.at_level(logging.INFO, logger="bench.peaktable"):
        assert peaktable.main(_args(measure=True, measure_s="0.5", format="json")) == 0
    entry = cpupeak.cached()
    assert entry is not None and entry["gops"] > 0
    (message,) = [r.getMessage() for r in caplog.records if r.name == "bench.peaktable"]
    assert (
        message
        == f"measured {entry['gops']:.1f} GOP/s fp32: {cpupeak.describe(entry)} (cached in {entry['cache_file']})"
    )
    rows = json.loads(capsys.readouterr().out)["this_machine"]
    measured = next(r for r in rows if r["kind"] == "measured")
    assert measured == {"device": "cpu", "precision": "fp32", "gops": round(entry["gops"], 3), "kind": "measured",
                        "formula": "", "source": cpupeak.describe(entry), "note": ""}  # fmt: skip


def test_sources_and_notes_are_carried_and_bad_formats_refused() -> None:
    rows = _by(peaktable.this_machine(PI5, None))
    assert rows["cpu", "fp32"]["source"].startswith("llvm/llvm-project llvm/lib/Target/AArch64/")
    pi4 = next(r for r in peaktable.table() if r["board"] == "rpi4" and r["device"] == "cpu")
    assert pi4["note"] == "1 FMLA.4S per cycle; 57.6 at 1.8 GHz" and pi4["source"].startswith("llvm/llvm-project")
    with pytest.raises(SystemExit):
        _args(format="xml")
    assert _args(format="json").format == "json"
    with pytest.raises(InputError) as err:
        peaktable.main(_args(measure=True, measure_s="0"))  # an unknown board is not needed to refuse this
    assert err.value.fix == "give --measure-s 20"
