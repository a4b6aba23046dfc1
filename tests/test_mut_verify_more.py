"""bench/verify.py's summary and command in process, without a run: the summary table's rows and cells from a
hand-made report (rich's table and the plain-text one), and ``verify.main``'s exit code, printed lines and what it
passes on (presets, model set, timing models, report folder, results file, threads, the reference and its
tolerance), with ``verify.run`` and ``check.hold_verify`` replaced by recorders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bench import check, check_report, cli, models, verify, verify_timing
from bench.errors import InputError

REASON_FIX = "no Edge TPU-compiled model. Fix: pass --edgetpu-model"


def _paths() -> List[Dict[str, Any]]:
    """Four paths: one passing with a figure, one failing both checks, one without a figure, one skipped."""
    return [
        {
            "preset": "coral",
            "status": "pass",
            "p50_ms": 1.23456,
            "reason": "",
            "output_check": {"ok": True, "max_abs_diff": 0.000123},
            "timing_check": {"ok": True, "published_ms": 2.6, "timed_model": "mobilenetv2"},
        },
        {
            "preset": "tensorrt-fp16",
            "status": "fail",
            "p50_ms": 0.0,
            "reason": "outputs and timing out of bounds",
            "output_check": {"ok": False, "max_abs_diff": 1.0},
            "timing_check": {"ok": False, "published_ms": 28.0, "timed_model": "resnet50"},
        },
        {
            "preset": "onnx",
            "status": "pass",
            "p50_ms": 12.0,
            "reason": None,
            "output_check": {"ok": True, "max_abs_diff": 0.0456},
            "timing_check": {"ok": False, "note": "timing run failed"},
        },
        {"preset": "tflite", "status": "skipped", "reason": REASON_FIX, "output_check": {}, "timing_check": {}},
    ]


#: by hand: p50 with 3 decimals (1.23456 -> 1.235, 0.0 -> 0.000, none -> -), diffs with 2 significant digits
#: (0.000123 -> 0.00012, 1.0 -> 1, 0.0456 -> 0.046), a figure as "<model> vs <ms> ms", the fix cut from a reason
ROWS = [
    ["coral", "PASS", "1.235", "ok (diff 0.00012)", "ok mobilenetv2 vs 2.6 ms", ""],
    ["tensorrt-fp16", "FAIL", "0.000", "BAD (diff 1)", "OUT resnet50 vs 28.0 ms", "outputs and timing out of bounds"],
    ["onnx", "PASS", "12.000", "ok (diff 0.046)", "OUT (no figure)", ""],
    ["tflite", "SKIPPED", "-", "-", "-", "no Edge TPU-compiled model"],
]
HEADERS = ["path", "status", "p50 ms", "outputs", "timing", "reason"]


def _report(machine: Any = None) -> Dict[str, Any]:
    machine = {"board": {"id": "rpi5"}} if machine is None else machine
    summary = {"pass": 2, "fail": 1, "skipped": 1}
    return {"machine": machine, "reference": "onnxruntime (onnx)", "paths": _paths(), "summary": summary}


def test_summary_rows_cell_by_cell() -> None:
    assert verify.summary_rows(_report()) == ROWS


def test_a_path_without_checks_or_reason_shows_dashes() -> None:
    bare = {"preset": "pytorch", "status": "skipped"}
    nones = {"preset": "armnn", "status": "fail", "output_check": None, "timing_check": None, "p50_ms": None}
    ok_note = {"preset": "onnx", "status": "pass", "timing_check": {"ok": True, "note": "emulated"}}
    rows = verify.summary_rows({"paths": [bare, nones, ok_note]})
    assert rows == [
        ["pytorch", "SKIPPED", "-", "-", "-", ""],
        ["armnn", "FAIL", "-", "-", "-", ""],
        ["onnx", "PASS", "-", "-", "ok (no figure)", ""],
    ]


def _cells(out: str) -> List[List[str]]:
    """The rows of rich's table: each line between vertical bars (header ┃, body │) split into stripped cells, a
    line whose first cell is empty (a folded row's continuation) joined onto the row above, cell by cell."""
    rows: List[List[str]] = []
    for line in out.splitlines():
        bar = "┃" if line.startswith("┃") else "│" if line.startswith("│") else None
        if not bar:
            continue
        cells = [c.strip() for c in line.strip(bar).split(bar)]
        if cells[0] or not rows:
            rows.append(cells)
        else:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
    return rows


def test_the_rich_table_has_the_title_headers_rows_and_counts(capsys: pytest.CaptureFixture) -> None:
    verify.print_summary(_report())
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].strip() == "edgebench verify on rpi5 (reference: onnxruntime (onnx))"
    assert _cells(out) == [HEADERS, *ROWS]
    assert lines[-1] == "2 passed, 1 failed, 1 skipped"  # the counts of the report's summary, not of its rows
    assert out.endswith("skipped\n")


@pytest.mark.parametrize("machine", [{}, {"board": {}}, {"cpu": "x"}])
def test_a_report_without_a_board_says_so_in_the_title(machine: Dict[str, Any], capsys) -> None:
    verify.print_summary(_report(machine))
    assert capsys.readouterr().out.splitlines()[0].strip() == "edgebench verify on ? (reference: onnxruntime (onnx))"


def test_a_report_without_machine_facts_says_so_in_the_title(capsys: pytest.CaptureFixture) -> None:
    report = _report()
    del report["machine"]
    verify.print_summary(report)
    assert capsys.readouterr().out.splitlines()[0].strip() == "edgebench verify on ? (reference: onnxruntime (onnx))"


def test_a_long_reason_folds_within_100_columns(capsys: pytest.CaptureFixture) -> None:
    report = _report()
    long = "model " + "/".join(f"d{i:02d}" for i in range(40)) + " not found"  # a 159-character path: no space
    report["paths"][1]["reason"] = long
    verify.print_summary(report)
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert max(len(line) for line in table) == 100, "the table is 100 columns wide"
    reason = next(r[5] for r in _cells(out) if r[0] == "tensorrt-fp16")
    assert reason.replace(" ", "") == long.replace(" ", "") and "…" not in out, "folded, nothing cut"


def test_without_rich_the_table_is_tab_separated_and_counted(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)  # `from rich.console import Console` -> ImportError
    verify.print_summary(_report())
    assert capsys.readouterr().out.splitlines() == [
        "edgebench verify on rpi5 (reference: onnxruntime (onnx))",
        "\t".join(HEADERS),
        *("\t".join(r) for r in ROWS),
        "2 passed, 1 failed, 1 skipped",
    ]


# --- verify.main, with the runs replaced -------------------------------------------------------------------------


class Recorder:
    """Stands in for verify.run: records its arguments, returns a report with ``fail`` failed paths."""

    def __init__(self, tmp_path: Path, fail: int) -> None:
        self.calls: List[tuple] = []
        self.path = tmp_path / "reports" / "verify-rpi5-x.json"
        self.fail = fail

    def __call__(self, *args: Any) -> tuple:
        self.calls.append(args)
        report = {**_report(), "summary": {"pass": 2, "fail": self.fail, "skipped": 1}}
        return report, self.path


def _args(tmp_path: Path, *extra: str) -> argparse.Namespace:
    argv = ["verify", "--presets", "onnx,tflite", "--report-dir", str(tmp_path / "reports")]
    return cli.build_parser().parse_args([*argv, "--output", str(tmp_path / "r.jsonl"), *extra])


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(verify_timing.EDGETPU_TIMING_MODEL_ENV, raising=False)
    return monkeypatch


@pytest.mark.parametrize("fail, code", [(0, 0), (1, 1), (3, 1)])
def test_main_exit_code_and_lines(tmp_path: Path, no_env, capsys, fail: int, code: int) -> None:
    rec = Recorder(tmp_path, fail)
    no_env.setattr(verify, "run", rec)
    assert verify.main(_args(tmp_path)) == code
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [
        f"2 passed, {fail} failed, 1 skipped",
        f"report: {tmp_path / 'reports' / 'verify-rpi5-x.json'}",
    ]
    (call,) = rec.calls
    models_, presets, report_dir, output, threads, timing = call
    assert presets == ["onnx", "tflite"] and report_dir == tmp_path / "reports" and output == tmp_path / "r.jsonl"
    assert threads is None and timing == verify.TimingModels(None, None)
    assert models_.name == "digits" and models_.files["onnx"] == models.DIGITS_ONNX and "edgetpu" not in models_.files


def test_main_passes_threads_models_and_timing_models_on(tmp_path: Path, no_env) -> None:
    rec = Recorder(tmp_path, 0)
    no_env.setattr(verify, "run", rec)
    compiled, zoo_dir, timed = tmp_path / "m_edgetpu.tflite", tmp_path / "zoo", tmp_path / "timed_edgetpu.tflite"
    extra = ["--threads", "2", "--edgetpu-model", str(compiled), "--timing-models", str(zoo_dir)]
    assert verify.main(_args(tmp_path, *extra, "--edgetpu-timing-model", str(timed))) == 0
    models_, _, _, _, threads, timing = rec.calls[0]
    assert threads == 2 and models_.files["edgetpu"] == compiled
    assert timing == verify.TimingModels(zoo_dir, timed)


def test_main_times_on_the_images_compiled_model_unless_given_one(tmp_path: Path, no_env) -> None:
    image_model, given = tmp_path / "image_edgetpu.tflite", tmp_path / "given_edgetpu.tflite"
    image_model.write_bytes(b"TFL3")
    no_env.setenv(verify_timing.EDGETPU_TIMING_MODEL_ENV, str(image_model))
    rec = Recorder(tmp_path, 0)
    no_env.setattr(verify, "run", rec)
    verify.main(_args(tmp_path))
    verify.main(_args(tmp_path, "--edgetpu-timing-model", str(given)))
    assert [c[5] for c in rec.calls] == [verify.TimingModels(None, image_model), verify.TimingModels(None, given)]


class Held:
    def __init__(self, regressed: bool) -> None:
        self.regressed = regressed


def _reference(tmp_path: Path) -> Path:
    ref = tmp_path / "ref.jsonl"
    ref.write_text('{"framework": "onnxruntime", "status": "ok"}\n')  # one run record: a results file
    return ref


@pytest.mark.parametrize("fail, regressed, code", [(0, False, 0), (0, True, 1), (1, False, 1), (1, True, 1)])
def test_main_holds_the_runs_to_a_reference(tmp_path: Path, no_env, capsys, fail, regressed, code) -> None:
    rec, held = Recorder(tmp_path, fail), []
    no_env.setattr(verify, "run", rec)

    def hold(output: Path, started: str, reference: Path, tol: float) -> Held:
        held.append((output, started, reference, tol))
        return Held(regressed)

    no_env.setattr(check, "hold_verify", hold)
    no_env.setattr(check_report, "render", lambda result: f"held, regressed={result.regressed}\n")
    before = verify.utc_now()
    ref = _reference(tmp_path)
    assert verify.main(_args(tmp_path, "--reference", str(ref), "--tolerance", "7.5%")) == code
    after = verify.utc_now()
    out = capsys.readouterr().out
    assert out.endswith(f"report: {rec.path}\nheld, regressed={regressed}\n")
    ((output, started, reference, tol),) = held
    assert output == tmp_path / "r.jsonl" and reference == ref and tol == 7.5  # "7.5%" -> 7.5
    assert before <= started <= after and len(started) == len("2026-12-05T05:00:00Z")


def test_main_default_tolerance_is_5_percent(tmp_path: Path, no_env) -> None:
    no_env.setattr(verify, "run", Recorder(tmp_path, 0))
    tols = []
    no_env.setattr(check, "hold_verify", lambda o, s, r, tol: tols.append(tol) or Held(False))
    no_env.setattr(check_report, "render", lambda result: "")
    assert verify.main(_args(tmp_path, "--reference", str(_reference(tmp_path)))) == 0
    assert tols == [5.0]


def test_an_unusable_reference_stops_before_any_run(tmp_path: Path, no_env) -> None:
    rec = Recorder(tmp_path, 0)
    no_env.setattr(verify, "run", rec)
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"note": "not a run"}\n')
    with pytest.raises(InputError) as err:
        verify.main(_args(tmp_path, "--reference", str(notes)))
    assert err.value.problem == f"REFERENCE {notes} is not an edgebench results file (no run records)"
    with pytest.raises(InputError, match="tolerance '120%' is outside 0-100 %"):
        verify.main(_args(tmp_path, "--reference", str(_reference(tmp_path)), "--tolerance", "120%"))
    assert rec.calls == []


def test_main_without_a_reference_option_runs_without_one(tmp_path: Path, no_env, capsys) -> None:
    """A namespace made by hand (no --reference, no --tolerance attributes): no hold, exit code of the runs alone."""
    rec = Recorder(tmp_path, 0)
    no_env.setattr(verify, "run", rec)
    no_env.setattr(check, "hold_verify", lambda *a: pytest.fail("held without a reference"))
    args = argparse.Namespace(
        presets="onnx", timing_models=None, edgetpu_timing_model=None, edgetpu_model=None,
        report_dir=tmp_path / "reports", output=tmp_path / "r.jsonl", threads=1,
    )  # fmt: skip
    assert verify.main(args) == 0
    assert capsys.readouterr().out.endswith(f"report: {rec.path}\n")
    assert rec.calls[0][1] == ["onnx"] and rec.calls[0][4] == 1
