"""The command line as a user meets it: one clear line per bad input, non-zero exit, nothing lost."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO, run_cli

FAST = ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "3", "--min-time-s", "0"]


def _assert_one_line_error(proc: subprocess.CompletedProcess, needle: str, code: int = 2) -> None:
    """The README's promise: one line naming the problem and the fix, exit 2 (3: framework not available)."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("edgebench: error:")]
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0] and "Fix:" in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def test_help_and_report_do_not_import_frameworks() -> None:
    code = (
        "import sys, bench.cli, bench.report, bench.records, bench.stats;"
        "bench.cli.build_parser().format_help();"
        "heavy = [m for m in ('torch', 'tensorflow', 'onnxruntime', 'ai_edge_litert', 'numpy') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_cli("--help").returncode == 0 and "run" in run_cli("run", "--help").stdout


@pytest.fixture()
def prior_results(tmp_path: Path) -> Path:
    out = tmp_path / "results.jsonl"
    out.write_text('{"earlier": "result"}\n')
    return out


def _bad_cases(tmp_path: Path, digits_npz: Path, digits_onnx: Path) -> list:
    wrong_keys = tmp_path / "keys.npz"
    np.savez(wrong_keys, a=np.zeros(3), b=np.zeros(3), c=np.zeros(3))
    mis_shaped = tmp_path / "shape.npz"
    np.savez(mis_shaped, x_data=np.zeros((4, 64), np.float32), y_data=np.arange(4))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x_data=np.array([{"a": 1}], dtype=object), y_data=np.arange(1))
    unknown = tmp_path / "model.onnx"
    unknown.write_text("not a model")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(digits_onnx.read_bytes()[:2000])
    return [
        ([str(tmp_path / "missing.onnx"), str(digits_npz), "--framework", "onnx"], "not found", 2),
        ([str(digits_onnx), str(tmp_path / "missing.npz"), "--framework", "onnx"], "not found", 2),
        ([str(digits_onnx), str(wrong_keys), "--framework", "onnx"], "not x_data and y_data", 2),
        ([str(digits_onnx), str(mis_shaped), "--framework", "onnx"], "expects [1, 1, 32, 32]", 2),
        ([str(digits_onnx), str(pickled), "--framework", "onnx"], "pickled", 2),
        ([str(unknown), str(digits_npz), "--framework", "onnx"], "no known format", 2),
        ([str(corrupt), str(digits_npz), "--framework", "onnx"], "could not load", 2),
        ([str(digits_onnx), str(digits_npz), "--framework", "tensorrt"], "TensorRT is not available", 3),
        (
            [str(digits_onnx), str(digits_npz), "--framework", "onnx", "--min-time-s", "9", "--max-time-s", "1"],
            "--max-time-s",
            2,
        ),
    ]


def test_bad_inputs_give_one_clear_line_and_keep_earlier_results(
    tmp_path: Path, digits_npz: Path, digits_onnx: Path, prior_results: Path
) -> None:
    for args, needle, code in _bad_cases(tmp_path, digits_npz, digits_onnx):
        before = prior_results.read_bytes()
        proc = run_cli("run", *FAST, "--output", str(prior_results), *args)
        _assert_one_line_error(proc, needle, code)
        after = prior_results.read_bytes()
        assert after.startswith(before), "earlier results must never be rewritten"
    lines = prior_results.read_text().splitlines()
    assert lines[0] == '{"earlier": "result"}'
    errors = [json.loads(ln) for ln in lines[1:]]
    assert errors and all(r["status"] == "error" and r["error"] for r in errors)


def test_run_appends_a_record_and_report_renders_it(digits_onnx: Path, digits_npz: Path, prior_results: Path) -> None:
    proc = run_cli(
        "run",
        str(digits_onnx),
        str(digits_npz),
        "--framework",
        "onnx",
        "--threads",
        "1",
        "--output",
        str(prior_results),
        *FAST,
    )
    assert proc.returncode == 0, proc.stderr
    lines = prior_results.read_text().splitlines()
    assert lines[0] == '{"earlier": "result"}' and len(lines) == 2
    rec = json.loads(lines[1])
    assert rec["status"] == "ok" and rec["options"]["threads"] == 1 and rec["quality"]["accuracy"] > 0.9
    rep = run_cli("report", str(prior_results))
    assert rep.returncode == 0, rep.stderr
    # the row of this record: its accuracy as the report formats it, the framework and model cells
    acc = f"acc {rec['quality']['accuracy']:.4f}"
    (row,) = [ln for ln in rep.stdout.splitlines() if acc in ln]
    cells = [c.strip() for c in re.split(r"[│┃]|\s{2,}", row) if c.strip()]  # boxed or borderless tables
    assert "onnx" in cells and digits_onnx.name in cells, cells
    assert f"{rec['latency']['invoke']['p50_ms']:.3f}" in row or f"{rec['latency']['invoke']['p50_ms']:.4f}" in row


def test_report_on_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    _assert_one_line_error(run_cli("report", str(tmp_path / "none.jsonl")), "not found")


def test_selfcheck_fails_for_a_missing_required_runtime() -> None:
    from importlib.metadata import version

    ok = run_cli("selfcheck", "--require", "onnx")
    assert ok.returncode == 0 and f"onnxruntime {version('onnxruntime')}" in ok.stdout, ok.stdout + ok.stderr
    assert "edgebench: error" not in ok.stdout + ok.stderr
    missing = run_cli("selfcheck", "--require", "onnx,tensorrt")
    assert missing.returncode == 3, (missing.returncode, missing.stderr)
    errors = [ln for ln in missing.stderr.splitlines() if ln.startswith("edgebench: error:")]
    assert errors == ["edgebench: error: required runtimes missing: tensorrt. Fix: install them in this image"]
