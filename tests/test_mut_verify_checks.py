"""bench/verify.py's output check at its edges, its report file's exact text and its command-line defaults.

Expected values are worked by hand: int8 outputs whose difference or range overflows int8, bounds met exactly, a
constant reference, one-column outputs; the report's JSON written out as a literal.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from bench import verify
from bench.compare.presets import NAMES
from bench.errors import InputError


def test_int8_outputs_are_compared_without_wrapping() -> None:
    """127 - (-128) is 255, not int8's wrapped -1; the range of [-128, 127] is 255, not -1."""
    got, ref = np.array([[127, -128]], dtype=np.int8), np.array([[-128, 127]], dtype=np.int8)
    assert verify.check_outputs("onnx", got, ref)["max_abs_diff"] == 255.0
    shifted = np.array([[-126.0, 127.0]])  # 2 off on a range of 255: within 1 % (2.55)
    res = verify.check_outputs("tflite-fp16", shifted, ref)
    assert res["ok"] and res["rule"] == "max abs diff <= 2.55 (0.01 of the output range)"


def test_bounds_met_exactly_pass() -> None:
    assert verify.check_outputs("onnx", np.array([[0.001, 0.0]]), np.zeros((1, 2)))["ok"]
    ref = np.array([[0.0, 100.0]])  # range 100: the fp16 bound is 1.0 exactly
    assert verify.check_outputs("tflite-fp16", ref + 1.0, ref)["ok"]
    assert not verify.check_outputs("tflite-fp16", ref + 1.25, ref)["ok"]


def test_a_constant_reference_is_held_to_one_percent_of_one() -> None:
    ref = np.full((2, 3), 3.0)
    assert verify.check_outputs("tflite-fp16", ref + 0.01, ref)["ok"]
    res = verify.check_outputs("tflite-fp16", ref + 0.015, ref)
    assert not res["ok"] and res["rule"] == "max abs diff <= 0.01 (0.01 of the output range)"


def test_top1_agreement_needs_two_classes_or_more() -> None:
    one = verify.check_outputs("onnx", np.array([[0.5], [0.2]]), np.array([[0.5], [0.2]]))
    assert one == {"ok": True, "max_abs_diff": 0.0, "top1_agreement": None, "rule": "max abs diff <= 0.001"}
    two = verify.check_outputs("onnx", np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert two["top1_agreement"] == 0.5 and not two["ok"]


def test_the_report_file_is_sorted_one_space_indented_json(tmp_path: Path) -> None:
    report = {"summary": {"pass": 1}, "created_utc": "2026-12-05T08:00:00Z", "model": Path("m.onnx")}
    path = verify.write_report(report, tmp_path / "new" / "nested", "rpi4")  # parents made as needed
    assert path == tmp_path / "new" / "nested" / "verify-rpi4-20261205T080000Z.json"
    expected = '{\n "created_utc": "2026-12-05T08:00:00Z",\n "model": "m.onnx",\n "summary": {\n  "pass": 1\n }\n}\n'
    assert path.read_text() == expected


def test_a_full_second_names_the_fix(tmp_path: Path) -> None:
    report = {"created_utc": "2026-12-05T08:00:00Z"}
    for _ in range(100):
        verify.write_report(report, tmp_path, "rpi4")
    with pytest.raises(InputError) as err:
        verify.write_report(report, tmp_path, "rpi4")
    assert (err.value.problem, err.value.fix) == (
        f"{tmp_path} holds 100 reports of this second",
        "pass another --report-dir",
    )


def test_the_defaults_verify_every_preset_into_results() -> None:
    p = argparse.ArgumentParser()
    verify.add_arguments(p)
    args = p.parse_args([])
    assert args.presets.split(",") == list(NAMES) and len(NAMES) > 10
    assert (args.report_dir, args.output) == (Path("results/verify"), Path("results/results.jsonl"))
    assert (args.threads, args.reference, args.tolerance) == (None, None, "5%")
