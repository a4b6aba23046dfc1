"""bench/report_tables.py's cells and lines on records and summaries written by hand, each expected text worked out
by hand in a comment: the GOP/s cell of each run, the compute lines (peak share, no share, operators of a profile),
the lines under a table (energy, sustained, early stopping, compute, what differs in the environment, from the ok
runs only), the wide comparison row, where the GOP/s column goes, the footnotes, the status, model and runtime cells,
latencies, speedups and significant figures, and the compare sections with their titles."""

from __future__ import annotations

from typing import Any, Dict, List

from bench import report_tables
from bench.config_summary import ConfigSummary
from tests.conftest import ENERGY

#: 2.5 M ops at 5 GOP/s, 12.34 % of a 40.5 GOP/s fp32 CPU peak, with a note
COMPUTE = {
    "ops": 2_500_000,
    "gops_per_s": 5.0,
    "source": "onnx graph",
    "pct_of_peak": 12.34,
    "peak_gops": 40.5,
    "precision": "fp32",
    "device": "cpu",
    "peak_kind": "measured",
    "peak_source": "edgebench peaks --measure",
    "peak_note": "4 cores",
}
# 5.0 -> "5.00" (3 significant figures); 2.5e6 / 1e6 = 2.5 -> "2.500" (4); 12.34 -> "12.3"; 40.5 -> "40.50" (4)
COMPUTE_LINE = (
    "5.00 GOP/s from 2.500 MOP/inference (onnx graph); 12.3% of 40.50 GOP/s "
    "(fp32 cpu peak, measured: edgebench peaks --measure); 4 cores"
)


def _summary(label: str, **kw: Any) -> ConfigSummary:
    base = dict(compare_id="c1", board="rpi5", model="m", label=label, config=label, framework=label, threads=None)
    return ConfigSummary(**{**base, "records": 3, "ok_records": 3, "status": "ok", **kw})


def test_gops_cell_of_each_run_from_its_compute_section() -> None:
    records: List[Dict[str, Any]] = [
        {"compute": {"gops_per_s": 8.52, "pct_of_peak": 2.34}},  # "8.52", share 2.34 -> "2.3%"
        {"compute": {"gops_per_s": 150.4, "pct_of_peak": 180.0, "peak_error": "above the peak"}},  # 150, no share
        {"compute": {"gops_per_s": 0.5}},  # 0.5 -> "0.500", no peak for it
        {"compute": {"ops": 1000}},  # counted but not timed: no figure
        {},
    ]
    assert report_tables.record_gops_texts(records) == ["8.52 (2.3%)", "150 (peak error)", "0.500 (no peak)", "-", "-"]


def test_compute_line_with_a_share_of_peak_from_the_first_run_that_counted() -> None:
    group = [{"compute": {"gops_per_s": 1.0}}, {"compute": COMPUTE}, {"compute": {**COMPUTE, "source": "other"}}]
    assert report_tables.compute_lines(group) == [COMPUTE_LINE]


def test_compute_line_without_a_share_says_why() -> None:
    bare = {"ops": 123_456_789, "source": "tflite graph"}  # 123.456789 MOP -> "123.5" (4 significant figures)
    unavailable = {**bare, "gops_per_s": 2000.4, "peak_unavailable": "no int8 peak for this CPU"}  # -> "2000"
    assert report_tables.compute_lines([{"compute": unavailable}]) == [
        "2000 GOP/s from 123.5 MOP/inference (tflite graph); no int8 peak for this CPU"
    ]
    error = {**unavailable, "peak_error": "above 100%: wrong peak", "peak_note": "clocks unknown"}
    assert report_tables.compute_lines([{"compute": error}]) == [
        "2000 GOP/s from 123.5 MOP/inference (tflite graph); above 100%: wrong peak; clocks unknown"
    ]
    assert report_tables.compute_lines([{"compute": bare}]) == [
        "GOP/s - from 123.5 MOP/inference (tflite graph); no peak"
    ]


def test_compute_lines_list_the_top_operators_of_the_first_profile() -> None:
    op = {"name": "conv1", "type": "Conv", "total_ms": 1.5, "share": 0.456, "calls": 100}
    group = [{"profile": {}}, {"profile": {"ops": [op]}}, {"profile": {"unavailable": "later run"}}]
    # 1.5 ms -> "1.500", share 0.456 -> "45.6%"; no compute section, so no GOP/s line
    assert report_tables.compute_lines(group) == ["top op: conv1 (Conv): 1.500 ms total, 45.6%, 100 calls"]


def _explained_records() -> List[Any]:
    machine = {"board": {"id": "rpi5"}, "cpu": {"governor": "performance"}}
    first = {
        "framework": "tflite",
        "status": "ok",
        "machine": machine,
        "model": {"path": "/m/net.tflite"},
        "compare": {"id": "c1", "label": "tflite"},
        "energy": dict(ENERGY),
        "sustained": {
            "seconds": 60,
            "slowdown": 1.25,
            "windows": [{"p50_ms": 2.0, "temp_c": 45.0}, {"p50_ms": 2.5, "temp_c": 70.5}],
        },
        "latency": {"early_stopping": {"estimate_ms": 2.345, "queries": 1234, "confidence": 0.99}},
        "compute": COMPUTE,
    }
    second = {**first, "machine": {**machine, "cpu": {"governor": "ondemand"}}}
    for k in ("energy", "sustained", "latency", "compute"):
        del second[k]
    failed = {**second, "status": "error", "machine": {**machine, "cpu": {"governor": "powersave"}}}
    return [first, "not a record", second, failed]


def test_lines_under_a_table_from_the_ok_runs() -> None:
    # one group (c1, rpi5, net, tflite), named "board label"; energy, sustained (1.25 -> "1.250x", 2.0 -> 2.5 ms,
    # 45.0 -> 70.5 C), early stopping at 99 % (2.345 ms, 1,234 queries), the compute line; the two ok runs differ in
    # their governor (the failed run's powersave is not counted)
    assert report_tables.explain_lines(_explained_records()) == [
        "rpi5 tflite: energy 1.5 mJ/inference (0.5 above idle), 3.2 W, idle 2.1 W; measured: pmic, PMIC rails",
        "rpi5 tflite: sustained 60 s: slowdown 1.250x (window p50 2 -> 2.5 ms, 45.0 -> 70.5 C)",
        "rpi5 tflite: MLPerf early-stopping p90 (99% confidence): 2.345 ms over 1,234 queries",
        f"rpi5 tflite: {COMPUTE_LINE}",
        "ENVIRONMENT DIFFERS, rpi5: CPU governor differs: performance (1 run), ondemand (1 run)",
    ]


def full_summary() -> ConfigSummary:
    s = _summary("tflite", p50_ms=2.0, spread_ms=0.5, speedup=2.0, ci_low=1.9, ci_high=2.1, significant=True)
    s.records, s.ok_records, s.raw_samples, s.p10_ms, s.p90_ms = 3, 2, 300, 1.234, 5.678
    s.load_ms, s.first_inference_ms, s.conversion_s, s.threads = 12.34, 5.678, 3.21, 4
    s.quality_metric, s.quality, s.quality_delta, s.quality_reference = "accuracy", 0.95, -0.02, "onnx"
    s.size_mb, s.peak_rss_mb, s.best = 12.5, 300.4, True
    return s


def test_wide_comparison_row_by_hand() -> None:
    # narrow part: 2.0 -> "2.00", 0.5 -> "0.500", 2.00x (1.90-2.10), 95 % accuracy 2 points below the reference,
    # 12.5 MB -> "12.50", RSS 300.4 -> "300", "best"; wide part: 2 of 3 rounds ok, 300 samples, p10 1.234 -> "1.23",
    # p90 5.678 -> "5.68", load 12.34 -> "12.3", first 5.678 -> "5.68", conversion 3.21 s -> "3.2", 4 threads
    assert report_tables.comparison_rows([full_summary()], wide=True) == [
        ["rpi5", "tflite", "2.00", "0.500", "2.00x (1.90-2.10)", "95.00% (-2.00)", "12.50", "300", "best"]
        + ["2/3", "300", "1.23", "5.68", "12.3", "5.68", "3.2", "4"]
    ]
    noted = full_summary()
    noted.quality_note, noted.threads = "random weights", None
    (row,) = report_tables.comparison_rows([noted], wide=True)
    assert row[5] == "-" and row[-1] == "default"  # the quality note goes under the table; no thread count


NARROW = ["board", "config", "p50 ms", "spread", "speedup (95% CI)", "quality", "MB", "RSS", "notes"]
WIDE = ["rounds", "samples", "p10 ms", "p90 ms", "load ms", "first ms", "convert s", "threads"]


def test_gops_column_goes_before_notes_in_the_wide_comparison() -> None:
    fast = full_summary()
    fast.gops_per_s, fast.pct_of_peak = 8.52, 2.34  # "8.52 (2.3%)"
    slow = _summary("onnx", p50_ms=4.0)
    headers, body = report_tables.comparison_table([fast, slow], wide=True)
    at = headers.index("notes")
    assert headers == NARROW[:-1] + ["GOP/s (% peak)", "notes"] + WIDE
    assert [row[at - 1] for row in body] == ["8.52 (2.3%)", "-"] and [row[at] for row in body] == ["best", ""]
    # onnx: no speedup, no figures; 3 of 3 rounds, 0 samples, threads None -> "default"
    assert body[1] == ["rpi5", "onnx", "4.00"] + ["-"] * 6 + ["", "3/3", "0"] + ["-"] * 5 + ["default"]
    narrow_headers, narrow_body = report_tables.comparison_table([fast, slow])
    assert narrow_headers[-2:] == ["GOP/s (% peak)", "notes"] and narrow_body[0][-2:] == ["8.52 (2.3%)", "best"]
    assert report_tables.comparison_table([slow], wide=True)[0] == NARROW + WIDE  # no figure anywhere: no column


def test_gops_column_goes_before_status_in_the_runs_table() -> None:
    headers, body = report_tables.with_compute(["board", "p50 ms", "status"], [["a", "1", "ok"]], ["5.00 (no peak)"])
    assert headers == ["board", "p50 ms", "GOP/s (% peak)", "status"] and body == [["a", "1", "5.00 (no peak)", "ok"]]


def test_comparison_rows_are_narrow_by_default_and_carry_the_peak_error() -> None:
    (row,) = report_tables.comparison_rows([_summary("onnx", p50_ms=4.0)])
    assert row == ["rpi5", "onnx", "4.00", "-", "-", "-", "-", "-", ""]  # 4.0 -> "4.00"; nothing else measured
    over = _summary("onnx", gops_per_s=150.4, pct_of_peak=180.0, peak_error="above the peak")
    headers, body = report_tables.comparison_table([over])
    assert body[0][headers.index("GOP/s (% peak)")] == "150 (peak error)"  # 150.4 -> "150", never a share
    assert report_tables.comparison_table([_summary("onnx")])[1] == [["rpi5", "onnx"] + ["-"] * 6 + [""]]


def test_gops_cell_with_and_without_a_share() -> None:
    assert report_tables.gops_text(8.52, 2.34) == "8.52 (2.3%)"  # no peak error given: the share
    assert report_tables.gops_text(8.52, None) == "8.52 (no peak)" and report_tables.gops_text(None, 2.0) == "-"


def test_operations_are_in_millions_to_four_figures() -> None:
    # 1,000,501 ops = 1.000501 MOP -> "1.001" (4 significant figures, rounded up)
    (line,) = report_tables.compute_lines([{"compute": {"ops": 1_000_501, "source": "onnx graph"}}])
    assert line == "GOP/s - from 1.001 MOP/inference (onnx graph); no peak"


def test_a_config_without_early_stopping_gets_no_line_for_it() -> None:
    rec = {"framework": "onnx", "status": "ok", "machine": {"board": {"id": "rpi5"}}, "model": {"path": "/m/n.onnx"}}
    rec["sustained"] = {"seconds": 30, "windows": [{"p50_ms": 4.0}, {"p50_ms": 4.5}]}
    # no slowdown figure, no temperatures: "sustained (window p50 4 -> 4.5 ms)"; label "onnx" (no compare, no threads)
    assert report_tables.explain_lines([rec]) == ["rpi5 onnx: sustained (window p50 4 -> 4.5 ms)"]
    other = {**rec, "framework": "tflite", "sustained": {"seconds": 30, "windows": [{"p50_ms": 2.0}]}}
    assert report_tables.explain_lines([rec, other]) == [  # one line per config, in the order first seen
        "rpi5 onnx: sustained (window p50 4 -> 4.5 ms)",
        "rpi5 tflite: sustained (window p50 2 -> 2 ms)",  # one window: it is the first and the last
    ]


def _run(**kw: Any) -> Dict[str, Any]:
    rec: Dict[str, Any] = {"framework": "tflite", "status": "ok", "machine": {"board": {"id": "rpi5"}}}
    return {**rec, **kw}


def _narrow(rec: Dict[str, Any]) -> List[str]:
    (row,) = report_tables.rows([rec], wide=False)
    return row


def test_status_cell_flags() -> None:
    assert _narrow(_run())[-1] == "ok"
    assert _narrow(_run(status="error", error="boom"))[-1] == "error: boom"
    assert _narrow({"framework": "tflite"})[-1] == "error: "  # no status: not ok, and no error text
    assert _narrow(_run(warnings=["a", "b"]))[-1] == "ok (2 warn.)"
    machine = {"emulated": True, "state": {"throttled": True}, "accelerator": {"jetson": {"clocks_locked": False}}}
    assert _narrow(_run(machine=machine))[-1] == "ok EMULATED THROTTLED CLOCKS-UNLOCKED"
    cool = {"emulated": False, "state": {"throttled": False}, "accelerator": {"jetson": {"clocks_locked": True}}}
    assert _narrow(_run(machine=cool))[-1] == "ok"
    coral = {"accelerator": {"coral": {"devices": [{"speed_mbps": 480}]}}}  # a USB 2 link
    assert _narrow(_run(framework="coral", machine=coral))[-1] == "ok CORAL-USB2"


def test_runtime_and_model_cells() -> None:
    rec = _run(
        runtime={"versions": {"litert": "2.3", "numpy": "2.4"}, "delegate": "xnnpack"},
        options={"convert": {"precision": "int8"}},
        model={"path": "/m/zoo/net.tflite/"},
        conversion={"source_format": "onnx"},
    )
    (wide,) = report_tables.rows([rec], wide=True)
    assert wide[1:3] == ["tflite (litert 2.3, numpy 2.4) [xnnpack]", "net.tflite (int8) <- onnx"]
    assert _narrow(rec)[1:3] == ["tflite [xnnpack]", "net.tflite (int8)"]  # narrow: no versions, no source format
    plain = _run(
        runtime={"delegate": "default"}, options={"convert": {"precision": "fp32"}}, model={"path": "a/b.onnx"}
    )
    assert _narrow(plain)[1:3] == ["tflite", "b.onnx"] and _narrow({"status": "ok"})[1:3] == ["?", "-"]
    saved_model = _run(model={"path": "/m/zoo/FCN-X/"})  # a model folder: its name, the trailing slash dropped
    assert _narrow(saved_model)[2] == "FCN-X"


def test_whole_run_rows_wide_and_narrow() -> None:
    rec = _run(
        options={"threads": 4},
        model={"path": "/m/net.tflite"},
        latency={
            "invoke": {"p50_ms": 1.2344, "p90_ms": 2.5, "p99_ms": 3.75, "mean_ms": 1.5, "std_ms": 0.25, "count": 7},
            "e2e": {"p50_ms": 2.0},
            "load_ms": 12.34,
            "first_inference_ms": 5.678,
        },
        quality={"task": "classification", "accuracy": 0.97123, "f1": 0.9601},
    )
    # wide: 3 decimals (1.234, 2.500, 3.750, 1.500±0.250, e2e 2.000), load 1 (12.3), first 2 (5.68), count 7,
    # accuracy and F1 to 4 decimals; narrow: 3 significant figures (1.23, 2.50), accuracy alone
    assert report_tables.rows([rec]) == [
        ["rpi5", "tflite", "net.tflite", "4", "1.234", "2.500", "3.750", "1.500±0.250", "2.000", "12.3", "5.68", "7"]
        + ["acc 0.9712 F1 0.9601", "ok"]
    ]
    assert _narrow(rec) == ["rpi5", "tflite", "net.tflite", "4", "1.23", "2.50", "12.3", "acc 0.9712", "ok"]
    bare = ["rpi5", "tflite", "-", "default", "-", "-", "-", "-", "-", "-", "-", "-", "-", "ok"]
    assert report_tables.rows([_run()], wide=True) == [bare]  # nothing measured; threads not set
    assert _narrow(_run()) == ["rpi5", "tflite", "-", "-", "-", "-", "-", "-", "ok"]
    assert len(report_tables.rows([rec, _run()], wide=False)) == 2  # one row per run, narrow too


def test_latency_cells_by_size() -> None:
    # from 100 ms: one decimal; from 0.001 ms: 3 significant figures; below: six decimals, trailing zeros dropped
    p50s = [123.45, 100.0, 99.96, 2.0, 0.001, 0.0005, 1e-7, None]
    body = report_tables.comparison_rows([_summary("a", p50_ms=v) for v in p50s])
    assert [row[2] for row in body] == ["123.5", "100.0", "100", "2.00", "0.00100", "0.0005", "0", "-"]


def test_speedup_cells() -> None:
    assert report_tables.speedup_text(_summary("a")) == "-"
    assert report_tables.speedup_text(_summary("a", speedup=1.0, is_baseline=True)) == "1 (baseline)"
    assert report_tables.speedup_text(_summary("a", speedup=2.0, ci_low=1.9)) == "2.00x (no CI)"  # one bound only
    assert report_tables.speedup_text(_summary("a", speedup=0.5, ci_high=0.6)) == "0.500x (no CI)"
    assert report_tables.speedup_text(_summary("a", speedup=8178.4, ci_low=99.96, ci_high=8200.0)) == (
        "8178x (100-8200)"  # from 100 on no decimals and no exponent; 99.96 rounds to 100, no dangling point
    )


def test_footnotes_say_a_shared_quality_note_once() -> None:
    a, b, c = (_summary(x, quality_note="random weights") for x in "abc")
    assert report_tables.footnotes([a, b, c]) == ["quality: random weights"]
    c.quality_note = ""
    assert report_tables.footnotes([a, b, c]) == ["quality of a, b: random weights"]  # c has none
    c.quality_note, c.errors, c.notes, c.peak_error = "", ["e1", "e2"], ["n1"], "above the peak"
    a.quality_note = "other"
    assert report_tables.footnotes([a, b, c]) == [
        "quality of a: other",
        "quality of b: random weights",
        "rpi5 c: error: e1",
        "rpi5 c: error: e2",
        "rpi5 c: n1",
        "rpi5 c: GOP/s above the peak",
    ]


def test_compare_sections_and_their_titles() -> None:
    a = _summary("a", board="rpi5", records=3)
    b = _summary("b", board="jetson", records=5)
    c = _summary("c", model="m2")
    loose = _summary("loose", compare_id="")
    d = _summary("d", compare_id="c2", baseline="d")
    a2 = _summary("a2", board="rpi5")
    sections = report_tables.compare_sections([a, b, c, loose, d, a2])
    # per (compare id, model) in first-seen order, boards sorted, rpi5's two kept in their order; loose runs out
    assert [[s.label for s in sec] for sec in sections] == [["b", "a", "a2"], ["c"], ["d"]]
    assert report_tables.section_title(sections[0]) == "compare c1 - m on jetson, rpi5 - baseline -, 5 round(s)"
    assert report_tables.section_title(sections[2]) == "compare c2 - m on rpi5 - baseline d, 3 round(s)"
