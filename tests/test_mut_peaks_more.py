"""bench/peaks.py's rules on small peak tables written here (mutation run): the first entry whose model string fits is
taken (a board sold in two models with a fallback for the rest), a model-specific CPU entry makes the board known
only in that model, and a GPU entry of a board with no record of power modes is at its data sheet clock."""

from __future__ import annotations

import pytest

from bench import peaks
from bench.board_types import Peak

A = Peak("sbc", "cpu", "fp32", 10.0, "derived", "a", model_contains="Model A")
B = Peak("sbc", "cpu", "fp32", 20.0, "derived", "b", model_contains="Model B")
ANY = Peak("sbc", "cpu", "fp32", 5.0, "derived", "any model")


def test_the_first_entry_whose_model_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peaks, "PEAKS", (A, B, ANY))
    assert peaks.lookup("sbc", "SBC Model A rev 2", "cpu", "fp32") is A
    assert peaks.lookup("sbc", "SBC Model B rev 1", "cpu", "fp32") is B  # past A, whose model does not fit
    assert peaks.lookup("sbc", "SBC Model C", "cpu", "fp32") is ANY
    assert peaks.lookup("sbc", None, "cpu", "fp32") is ANY  # type: ignore[arg-type]
    assert peaks.lookup("sbc", "SBC Model B", "cpu", "int8") is None


def test_a_model_specific_cpu_entry_knows_only_that_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peaks, "PEAKS", (B,))
    assert peaks.board_knows_cpu({"board": {"id": "sbc", "model": "SBC Model B"}})
    assert not peaks.board_knows_cpu({"board": {"id": "sbc", "model": "SBC Model A"}})
    assert not peaks.board_knows_cpu({"board": {"id": "sbc"}})
    got = peaks.for_machine({"board": {"id": "sbc", "model": "SBC Model B"}, "cpu": {"max_freq_mhz": 0}}, "cpu", "fp32")
    assert got is not None and got.gops == 20.0


def test_a_gpu_entry_of_a_board_without_a_record_is_at_its_data_sheet_clock() -> None:
    usb_gpu = Peak("*", "gpu", "fp16", 100.0, "published", "s", mhz=500.0, scales_with="gpu")
    machine = {"accelerator": {"jetson": {"power_mode": {"name": "MAXN"}}}}  # a mode, but no board record to read
    assert peaks.clock_of(usb_gpu, machine) == (500.0, "data sheet clock (GPU max clock and power mode not readable)")
