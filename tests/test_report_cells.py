"""Single cells of the report against values computed by hand: the relative MSE change (against the reference run's
MSE), the accuracy change in points, the operations per inference in MOP, and the bold p50 cell of the fastest config
in markdown. Summaries are built here field by field (no statistics code involved)."""

from __future__ import annotations

from typing import List

from bench import report_tables, report_text
from bench.config_summary import ConfigSummary


def _summary(label: str, **kw: object) -> ConfigSummary:
    base = dict(compare_id="c1", board="rpi5", model="m", label=label, config=label, framework="onnx", threads=None)
    return ConfigSummary(**{**base, "records": 3, "ok_records": 3, "status": "ok", **kw})


def test_mse_change_is_relative_to_the_reference_runs_mse() -> None:
    # reference MSE 0.10, this run 0.12: +20 % of the reference (not +16.7 % of this run's 0.12)
    s = _summary("tflite-int8", quality_metric="mse", quality=0.12, quality_delta=0.02, quality_reference="onnx")
    assert report_tables.summary_quality_text(s) == "MSE 0.12 (+20.0%)"
    better = _summary("tflite", quality_metric="mse", quality=0.08, quality_delta=-0.02, quality_reference="onnx")
    assert report_tables.summary_quality_text(better) == "MSE 0.08 (-20.0%)"


def test_accuracy_change_is_in_points_and_the_reference_says_ref() -> None:
    s = _summary("tflite-int8", quality_metric="accuracy", quality=0.95, quality_delta=-0.02, quality_reference="onnx")
    assert report_tables.summary_quality_text(s) == "95.00% (-2.00)"
    ref = _summary("onnx", quality_metric="accuracy", quality=0.97, quality_delta=0.0, quality_reference="onnx")
    assert report_tables.summary_quality_text(ref) == "97.00% (ref)"


def test_operations_per_inference_are_shown_in_millions() -> None:
    compute = {"ops": 2_500_000, "macs": 1_250_000, "gops_per_s": 5.0, "source": "onnx graph", "peak_unavailable": "x"}
    (line,) = report_tables.compute_lines([{"compute": compute}])
    assert "2.500 MOP/inference" in line and line.startswith("5.00 GOP/s")


def _markdown_rows(text: str) -> List[List[str]]:
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in rows]


def test_markdown_bolds_the_p50_cell_of_the_fastest_config_only() -> None:
    slow = _summary("onnx", p50_ms=4.0, is_baseline=True)
    fast = _summary("tflite", p50_ms=2.0, best=True)
    header, *body = _markdown_rows(report_text.markdown_text([], [slow, fast]))
    p50 = header.index("p50 ms")
    by_label = {row[header.index("config")]: row for row in body}
    assert by_label["tflite"][p50].startswith("**2") and by_label["tflite"][p50].endswith("**")
    bold = [(label, i) for label, row in by_label.items() for i, cell in enumerate(row) if cell.startswith("**")]
    assert bold == [("tflite", p50)]
