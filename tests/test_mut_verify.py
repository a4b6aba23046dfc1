"""bench/verify.py's choices made before any run, in process: which file each preset runs on (its own format, else
the ONNX export, never a guess for the Edge TPU), and report files that never overwrite one another."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import verify
from bench.errors import InputError


def test_each_preset_runs_on_its_own_format_else_the_onnx_export(tmp_path: Path) -> None:
    onnx, tfl = tmp_path / "m.onnx", tmp_path / "m.tflite"
    full = verify.ModelSet("m", tmp_path / "d.npz", {"onnx": onnx, "tflite": tfl})
    assert verify.source_for("tflite", full) == (tfl, "tflite")
    assert verify.source_for("tflite-fp16", full) == (onnx, "onnx")
    assert verify.source_for("tflite-int8", full) == (onnx, "onnx")  # no int8 file: converted from the ONNX export
    assert verify.source_for("coral", full) == (
        None,
        "no Edge TPU-compiled model: compile the int8 model with edgetpu_compiler, pass --edgetpu-model",
    )
    only_tflite = verify.ModelSet("m", tmp_path / "d.npz", {"tflite": tfl})
    assert verify.source_for("pytorch", only_tflite) == (None, "no pytorch model in the set")
    assert verify.source_for("armnn", only_tflite) == (tfl, "tflite")


def test_reports_of_the_same_second_get_their_own_files(tmp_path: Path) -> None:
    report = {"created_utc": "2026-12-04T23:00:00Z", "paths": [], "summary": {}}
    first = verify.write_report(report, tmp_path / "r", "rpi5")
    second = verify.write_report(report, tmp_path / "r", "rpi5")
    assert first.name == "verify-rpi5-20261204T230000Z.json" and second.name == "verify-rpi5-20261204T230000Z-1.json"
    assert json.loads(first.read_text()) == report and first.read_text().endswith("}\n")
    assert oct(os.stat(first).st_mode & 0o777) == oct(0o644 & ~_umask())
    for n in range(2, 99):
        (tmp_path / "r" / f"verify-rpi5-20261204T230000Z-{n}.json").write_text("{}")
    last = verify.write_report(report, tmp_path / "r", "rpi5")
    assert last.name == "verify-rpi5-20261204T230000Z-99.json"  # the 100th of this second
    with pytest.raises(InputError, match="holds 100 reports of this second"):
        verify.write_report(report, tmp_path / "r", "rpi5")
    assert json.loads(first.read_text()) == report, "an existing report is never overwritten"


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old
