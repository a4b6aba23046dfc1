"""bench/report.py in process on records and summaries written by hand (tests/test_report.py's CSV and JSON cases run
the command in a subprocess, which the mutation run cannot see): each cell of a run row, the quality and notes
texts, the CSV and JSON of the summaries, image links relative to where stdout goes, and render's formats."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from bench import config_summary, report, report_tables, report_text
from bench.config_summary import ConfigSummary
from tests.test_report import make_record, samples


def run(**kw: Any) -> Dict[str, Any]:
    """A loose run record (no compare), with the latency figures given."""
    rec: Dict[str, Any] = {
        "framework": "tflite",
        "status": "ok",
        "machine": {"board": {"id": "rpi5"}},
        "options": {"threads": 4},
        "model": {"path": "/m/zoo/net.tflite/"},
        "latency": {
            "invoke": {"p50_ms": 0.0005, "p90_ms": 123.45, "p99_ms": 150.0, "mean_ms": 1.5, "std_ms": 0.25, "count": 7},
            "e2e": {"p50_ms": 2.0},
            "load_ms": 12.34,
            "first_inference_ms": 5.678,
        },
        "quality": {},
    }
    for k, v in kw.items():
        rec[k] = v
    return rec


def test_narrow_run_row_by_hand() -> None:
    (row,) = report.rows([run()], wide=False)
    assert row == ["rpi5", "tflite", "net.tflite", "4", "0.0005", "123.5", "12.3", "-", "ok"]
    (row,) = report.rows([run(latency={"invoke": {"p50_ms": 0.0243, "p90_ms": 99.94}}, options={})], wide=False)
    assert row[3:7] == ["-", "0.0243", "99.9", "-"]  # 3 significant figures below 100 ms; no load time
    (row,) = report.rows([run(latency={"invoke": {"p50_ms": 1e-7, "p90_ms": 2.0}})], wide=False)
    assert row[4:6] == ["0", "2.00"]  # under a microsecond: six decimals, then nothing left; zeros kept


def test_wide_run_row_by_hand() -> None:
    rec = run(
        runtime={"versions": {"litert": "2.3", "numpy": "2.4"}, "delegate": "xnnpack"},
        options={"threads": None, "convert": {"precision": "int8"}},
        conversion={"source_format": "onnx"},
        quality={"task": "classification", "accuracy": 0.97123, "f1": 0.9601, "top5_accuracy": 0.99999},
    )
    (row,) = report.rows([rec], wide=True)
    assert row == [
        "rpi5", "tflite (litert 2.3, numpy 2.4) [xnnpack]", "net.tflite (int8) <- onnx", "default", "0.001",
        "123.450", "150.000", "1.500±0.250", "2.000", "12.3", "5.68", "7", "acc 0.9712 F1 0.9601 top5 1.0000", "ok",
    ]  # fmt: skip
    (narrow,) = report.rows([rec], wide=False)
    assert narrow[1:3] == ["tflite [xnnpack]", "net.tflite (int8)"] and narrow[7] == "acc 0.9712"
    (row,) = report.rows([run(latency={}, runtime={"delegate": "default"})], wide=True)
    assert row[1] == "tflite" and row[4:12] == ["-", "-", "-", "-", "-", "-", "-", "-"]


def test_status_cell_by_hand() -> None:
    def status(**kw: Any) -> str:
        return report.rows([run(**kw)], wide=False)[0][-1]

    assert status(status="error", error="boom") == "error: boom"
    assert status(warnings=["a", "b"]) == "ok (2 warn.)"
    assert status(machine={"board": {"id": "rpi5"}, "emulated": True, "state": {"throttled": True}}) == (
        "ok EMULATED THROTTLED"
    )
    jetson = {"board": {"id": "jetson-nano"}, "accelerator": {"jetson": {"clocks_locked": False}}}
    assert status(machine=jetson) == "ok CLOCKS-UNLOCKED"


def test_quality_text_by_hand() -> None:
    assert report_tables.quality_text({}) == "-"
    assert (
        report_tables.quality_text({"not_meaningful": "random weights", "accuracy": 0.1})
        == "not meaningful (random weights)"
    )
    cls = {"task": "classification", "accuracy": 0.5, "f1": 0.25}
    assert (
        report_tables.quality_text(cls) == "acc 0.5000 F1 0.2500"
        and report_tables.quality_text(cls, wide=False) == "acc 0.5000"
    )
    reg = {"task": "regression", "mse": 0.123456, "mape_pct": 12.345}
    assert report_tables.quality_text(reg) == "MSE 0.1235 MAPE 12.35%"
    assert report_tables.quality_text(reg, wide=False) == "MSE 0.1235"
    assert report_tables.quality_text({"task": "regression", "mse": 2.0, "mape_pct": None}) == "MSE 2 MAPE -"


def summary(**kw: Any) -> ConfigSummary:
    return ConfigSummary("c", "pi5", "m", "onnx", "onnx", "onnx", None, 1, 1, kw.pop("status", "ok"), **kw)


def test_summary_quality_and_notes_by_hand() -> None:
    assert report_tables.summary_quality_text(summary(quality_note="random weights", quality=0.5)) == "random weights"
    assert report_tables.summary_quality_text(summary()) == "-"
    acc = {"quality_metric": "accuracy", "quality": 0.9}
    assert report_tables.summary_quality_text(summary(**acc)) == "90.00%"
    assert (
        report_tables.summary_quality_text(summary(**acc, quality_delta=0.0, quality_reference="onnx"))
        == "90.00% (ref)"
    )
    assert report_tables.summary_quality_text(summary(**acc, quality_delta=-0.015, quality_reference="pytorch")) == (
        "90.00% (-1.50)"
    )
    mse = {"quality_metric": "mse", "quality": 0.3, "quality_reference": "pytorch"}
    assert report_tables.summary_quality_text(summary(**mse, quality_delta=0.1)) == "MSE 0.3 (+50.0%)"  # 0.1 / 0.2
    assert report_tables.summary_quality_text(summary(**mse, quality_delta=0.3)) == "MSE 0.3 (+0.3)"  # reference MSE 0
    assert report_tables.notes_text(summary(best=True, significant=False, emulated=True, throttled=True)) == (
        "best; not significant; EMULATED; THROTTLED"
    )
    assert report_tables.notes_text(summary(status="partial", notes=["x"])) == "partial, see below"
    assert report_tables.notes_text(summary(notes=["x"])) == "see below" and report_tables.notes_text(summary()) == ""


def compare_records() -> list:
    return [
        make_record(label, samples(10 * r + i, 30, 1.0 + i), rnd=r)
        for r in range(2)
        for i, label in enumerate(("pytorch", "onnx"))
    ]


def test_csv_of_the_summaries(tmp_path: Path) -> None:
    sums = config_summary.summarize(compare_records())
    sums[0].errors, sums[0].notes = ["e1", "e2"], []
    text = report.csv_text(sums)
    got = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].split(",") == list(ConfigSummary.__dataclass_fields__)
    assert [r["label"] for r in got] == ["pytorch", "onnx"] and "\r" not in text
    assert got[0]["errors"] == "e1; e2" and got[0]["notes"] == ""
    assert got[0]["round_p50_ms"] == "; ".join(str(v) for v in sums[0].round_p50_ms) and ";" in got[0]["round_p50_ms"]
    assert float(got[1]["speedup"]) == sums[1].speedup and 0 < sums[1].speedup < 1  # onnx: 2x pytorch's latency
    assert got[0]["threads"] == ""  # None is an empty cell


def test_json_of_the_summaries() -> None:
    sums = config_summary.summarize(compare_records())
    text = report.json_text(sums)
    assert text.endswith("}\n]\n") and text.startswith('[\n {\n  "baseline"')  # indent 1, sorted keys
    assert [d["label"] for d in json.loads(text)] == ["pytorch", "onnx"]
    sums[0].p50_ms = float("nan")
    with pytest.raises(ValueError):
        report.json_text(sums)


def test_image_links_are_relative_to_where_stdout_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "plots").mkdir()
    monkeypatch.chdir(tmp_path / "plots")
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # no file behind it: the current folder
    assert report_text.link_base() == (tmp_path / "plots").resolve()
    with (tmp_path / "out" / "report.md").open("w") as f:
        monkeypatch.setattr(sys, "stdout", f)
        assert report_text.link_base() == (tmp_path / "out").resolve()
        text = report.markdown_text([], [], [tmp_path / "plots" / "a.png", tmp_path / "plots" / "a.svg"])
    assert text == "# edgebench report\n\n## Plots\n\n![a](../plots/a.png)\n"


def test_render_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    recs = compare_records()
    loose = run()
    sums = config_summary.summarize(recs)
    assert report.render(recs + [loose], "csv") == report.csv_text(config_summary.summarize(recs + [loose]))
    assert report.render(recs, "json") == report.json_text(sums)
    assert report.render(recs, "json", baseline="onnx") == report.json_text(config_summary.summarize(recs, "onnx"))
    assert report.render(recs, "markdown").startswith("# edgebench report\n\n## ")
    console = Console(record=True, width=200, file=io.StringIO())
    assert report.render(recs + [loose], "table", console=console) == ""
    out = console.export_text()
    assert "pytorch" in out and "edgebench runs" in out and "net.tflite" in out  # the compare, then the loose run
    console = Console(record=True, width=200, file=io.StringIO())
    report.render(recs, "table", console=console)
    assert "edgebench runs" not in console.export_text()  # no loose run: no runs table
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    text = report.render(recs, "markdown", plot_dir=tmp_path / "p")
    assert "## Plots" in text and "![digits_cnn_latency](p/digits_cnn_latency.png)" in text
    assert (tmp_path / "p" / "digits_cnn_latency.svg").is_file()
