"""Comparison statistics, report formats and plots, on synthetic records with known raw samples.

The statistics are checked against independent sources: hand-made cases with known answers (identical samples, 2x
apart), medians computed with numpy from the fixtures' raw samples, and a brute-force numpy bootstrap that must agree
within Monte Carlo error. The fixture records' latency summaries are computed with numpy, not bench.stats.
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pytest

from bench import config_summary, record_groups, report, report_tables, report_text
from bench.records import Latency, RunRecord, append_jsonl, read_records
from tests.conftest import require, run_cli

CID = "0123456789abcdef"


def _numpy_summary(ns: Sequence[int]) -> Dict[str, float]:
    """The latency summary of a record, computed with numpy (not bench.stats): what the report reads of it."""
    ms = np.asarray(ns, dtype=np.float64) / 1e6
    p50, p90, p95, p99 = (float(v) for v in np.percentile(ms, [50, 90, 95, 99]))
    std = float(np.std(ms, ddof=1)) if len(ms) > 1 else 0.0
    mean = float(np.mean(ms))
    return {
        "count": len(ms), "mean_ms": mean, "std_ms": std, "min_ms": float(ms.min()), "max_ms": float(ms.max()),
        "p50_ms": p50, "p90_ms": p90, "p95_ms": p95, "p99_ms": p99,
        "throughput_per_s": 1e3 / mean if mean > 0 else float("inf"), "cv": std / mean if mean > 0 else 0.0,
    }  # fmt: skip


def stored_ms(raw_ms: Sequence[float]) -> np.ndarray:
    """The raw samples as a record stores them (integer ns), back in ms."""
    return np.round(np.asarray(raw_ms) * 1e6) / 1e6


def make_record(
    label: str,
    raw_ms: Sequence[float],
    board: str = "generic",
    rnd: int = 0,
    compare_id: str = CID,
    baseline: str = "pytorch",
    accuracy: Optional[float] = 0.97,
    not_meaningful: bool = False,
    keep_raw: bool = True,
    model_sha: str = "conv",
    status: str = "ok",
    error: Optional[str] = None,
    cpu: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """One record as `bench compare` writes it (schema 2), latency computed from ``raw_ms``; ``cpu`` is the
    machine.cpu facts (a generic board is named by its CPU, so a reference made here needs this machine's)."""
    ns = [round(v * 1e6) for v in raw_ms]
    latency = None
    if status == "ok":
        summary = _numpy_summary(ns)
        latency = Latency(summary, summary, 12.0, 3.0, 10, 0.5, 1.0, False, ns if keep_raw else [], [])
    quality: Dict[str, Any] = {}
    if accuracy is not None and status == "ok":
        quality = {"task": "classification", "accuracy": accuracy, "f1": accuracy}
        if not_meaningful:
            quality["not_meaningful"] = "random weights"
    rec = RunRecord(
        created_utc="2026-01-01T00:00:00Z",
        tool={"name": "edgebench", "version": "0.1.0"},
        framework=label.split("-")[0],
        runtime={"name": label.split("-")[0], "versions": {}},
        options={"threads": None},
        machine={
            "board": {"id": board},
            **({"cpu": cpu} if cpu else {}),
            "emulated": False,
            "peak_rss_mb": 100.0,
            "state": {"throttled": False},
        },
        latency=latency,
        quality=quality,
        status=status,
        error=error,
        compare={
            "id": compare_id,
            "config": label,
            "label": label,
            "threads": None,
            "round": rnd,
            "rounds": 3,
            "position": 0,
            "seed": 1,
            "baseline": baseline,
            "labels": [],
            "conversion_s": 0.0,
            "source_model": {"path": "/m/digits_cnn.pth", "sha256": "src", "format": "pytorch"},
        },
    ).to_dict()
    if status == "ok":
        rec["model"] = {"path": f"/m/{label}.bin", "sha256": model_sha, "size_mb": 1.5, "format": "x"}
    return rec


def samples(seed: int, n: int, scale: float = 1.0) -> List[float]:
    rng = random.Random(seed)
    return [scale * rng.lognormvariate(0.0, 0.25) for _ in range(n)]


def one(
    summaries: List[config_summary.ConfigSummary], label: str, board: str = "generic"
) -> config_summary.ConfigSummary:
    (s,) = [s for s in summaries if s.label == label and s.board == board]
    return s


# --- statistics -----------------------------------------------------------------------------------------


def test_identical_samples_give_speedup_1_not_significant() -> None:
    raw = samples(1, 301)
    recs = [make_record("pytorch", raw, model_sha="src"), make_record("onnx", raw)]
    s = one(config_summary.summarize(recs), "onnx")
    assert s.speedup == 1.0 and s.ci_low is not None and s.ci_low < 1.0 < s.ci_high
    assert s.significant is False and "not significant" in report_tables.notes_text(s)
    base = one(config_summary.summarize(recs), "pytorch")
    assert base.is_baseline and base.speedup == 1.0 and base.significant is None


def test_two_times_apart_is_about_2_and_significant() -> None:
    raw = samples(2, 400)
    recs = [make_record("pytorch", raw, model_sha="src"), make_record("tflite", [v / 2 for v in raw])]
    recs.append(make_record("onnx", [v * 2 for v in raw]))
    out = config_summary.summarize(recs)
    fast, slow = one(out, "tflite"), one(out, "onnx")
    assert fast.speedup == pytest.approx(2.0, rel=1e-3) and fast.significant is True and fast.ci_low > 1.5
    assert slow.speedup == pytest.approx(0.5, rel=1e-3) and slow.significant is True and slow.ci_high < 1.0
    assert fast.best and not slow.best and "best" in report_tables.notes_text(fast)


def test_speedup_and_interval_equal_values_computed_from_raw_samples() -> None:
    rounds_base = [samples(10 + r, 150, 1.0) for r in range(3)]
    rounds_cfg = [samples(20 + r, 151, 0.8) for r in range(3)]
    recs = [make_record("pytorch", raw, rnd=r, model_sha="src") for r, raw in enumerate(rounds_base)]
    recs += [make_record("onnx", raw, rnd=r) for r, raw in enumerate(rounds_cfg)]
    s = one(config_summary.summarize(recs), "onnx")
    # the raw samples as the records store them (integer ns), pooled over rounds
    base = np.sort(np.concatenate([np.round(np.array(x) * 1e6) / 1e6 for x in rounds_base]))
    cfg = np.sort(np.concatenate([np.round(np.array(x) * 1e6) / 1e6 for x in rounds_cfg]))
    assert s.raw_samples == len(cfg) == 453
    assert s.speedup == pytest.approx(np.median(base) / np.median(cfg), rel=1e-12)
    # an ordinary resampling bootstrap (numpy, its own generator): the same interval within Monte Carlo error
    rng = np.random.default_rng(7)
    idx_b = rng.integers(0, len(base), size=(4000, len(base)))
    idx_c = rng.integers(0, len(cfg), size=(4000, len(cfg)))
    brute = np.median(base[idx_b], axis=1) / np.median(cfg[idx_c], axis=1)
    blo, bhi = np.percentile(brute, [2.5, 97.5])
    width = bhi - blo
    assert abs(s.ci_low - blo) < 0.1 * width and abs(s.ci_high - bhi) < 0.1 * width
    assert s.significant is True and s.ci_low > 1.0


def test_median_of_round_medians_and_spread() -> None:
    recs = [make_record("pytorch", [v] * 9, rnd=r) for r, v in enumerate([1.0, 3.0, 2.0])]
    s = one(config_summary.summarize(recs), "pytorch")
    assert s.round_p50_ms == pytest.approx([1.0, 3.0, 2.0]) and s.p50_ms == pytest.approx(2.0)
    assert s.spread_ms == pytest.approx(2.0) and s.records == s.ok_records == 3


def test_without_raw_samples_no_interval_and_said_so() -> None:
    recs = [make_record("pytorch", [2.0] * 5, keep_raw=False), make_record("onnx", [1.0] * 5, keep_raw=False)]
    s = one(config_summary.summarize(recs), "onnx")
    assert s.speedup == pytest.approx(2.0) and s.ci_low is None and s.significant is None
    assert any("--no-raw" in n for n in s.notes) and report_tables.speedup_text(s) == "2.00x (no CI)"
    assert s.p10_ms is None and s.raw_samples == 0


def test_quality_change_against_source_model_run_and_random_weights() -> None:
    recs = [make_record("onnx", [1.0], accuracy=0.95), make_record("pytorch", [2.0], accuracy=0.97, model_sha="src")]
    recs.append(make_record("tflite-int8", [0.5], accuracy=0.96))
    out = config_summary.summarize(recs, baseline="onnx")
    assert one(out, "onnx").is_baseline and one(out, "pytorch").speedup == pytest.approx(0.5)
    int8 = one(out, "tflite-int8")
    assert int8.quality_reference == "pytorch" and int8.quality_delta == pytest.approx(-0.01)
    assert report_tables.summary_quality_text(int8) == "96.00% (-1.00)"
    zoo_recs = [make_record("onnx", [1.0], accuracy=0.1, not_meaningful=True)]
    zoo = config_summary.summarize(zoo_recs)
    assert zoo[0].quality is None and report_tables.summary_quality_text(zoo[0]) == "not meaningful (random weights)"
    md = report_text.markdown_text(zoo_recs, zoo, wide=True)  # wide: the runs table too
    assert md.count("not meaningful (random weights)") == 2 and "0.1000" not in md and "10.00%" not in md


def test_failed_config_keeps_its_error_text() -> None:
    recs = [make_record("pytorch", [1.0]), make_record("coral", [], status="error", error="no Edge TPU found")]
    recs.append(make_record("onnx", [1.0], rnd=0))
    recs.append(make_record("onnx", [], rnd=1, status="error", error="killed"))
    out = config_summary.summarize(recs)
    coral, onnx = one(out, "coral"), one(out, "onnx")
    assert coral.status == "error" and coral.errors == ["no Edge TPU found"] and coral.p50_ms is None
    assert onnx.status == "partial" and onnx.errors == ["killed"] and "1 of 2 runs failed" in onnx.notes
    assert "generic coral: error: no Edge TPU found" in report_tables.footnotes(out)


# --- report formats -------------------------------------------------------------------------------------


def _write(path: Path, records: List[Dict[str, Any]]) -> Path:
    for r in records:
        append_jsonl(path, r)
    return path


@pytest.fixture()
def two_boards(tmp_path: Path) -> List[Path]:
    files = []
    for board, scale in (("generic", 1.0), ("rpi5", 6.0)):
        recs = []
        for r in range(2):
            for i, (label, f) in enumerate((("pytorch", 1.0), ("onnx", 0.5), ("tflite-int8", 0.25))):
                raw = samples(100 * r + i, 60, scale * f)
                recs.append(make_record(label, raw, board=board, rnd=r, model_sha="src" if i == 0 else "c"))
        files.append(_write(tmp_path / f"{board}.jsonl", recs))
    return files


def test_report_csv_has_one_row_per_board_and_config(two_boards: List[Path]) -> None:
    proc = run_cli("report", *map(str, two_boards), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert sorted((r["board"], r["label"]) for r in rows) == sorted(
        (b, c) for b in ("generic", "rpi5") for c in ("pytorch", "onnx", "tflite-int8")
    )
    onnx = [r for r in rows if r["label"] == "onnx" and r["board"] == "rpi5"][0]
    assert float(onnx["speedup"]) == pytest.approx(2.0, rel=0.3) and onnx["significant"] == "True"
    assert onnx["records"] == "2" and float(onnx["ci_low"]) < float(onnx["speedup"]) < float(onnx["ci_high"])


def test_report_json_is_the_summaries_as_a_list(two_boards: List[Path]) -> None:
    proc = run_cli("report", *map(str, two_boards), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert isinstance(data, list) and len(data) == 6 and {d["board"] for d in data} == {"generic", "rpi5"}
    (onnx,) = [d for d in data if d["board"] == "rpi5" and d["label"] == "onnx"]
    rounds = [np.median(stored_ms(samples(100 * r + 1, 60, 6.0 * 0.5))) for r in range(2)]
    assert onnx["p50_ms"] == pytest.approx(np.median(rounds)) and onnx["records"] == 2
    assert onnx["spread_ms"] == pytest.approx(max(rounds) - min(rounds))


def _lines(records: List[Dict[str, Any]], wide: bool = False) -> List[str]:
    from rich.console import Console

    console = Console(width=100, record=True, file=io.StringIO())
    report.print_comparison(records, console=console, wide=wide)
    report.print_records(records, console=console, wide=wide)
    return console.export_text().splitlines()


def test_tables_fit_100_columns(two_boards: List[Path]) -> None:
    require("rich")
    records = [r for f in two_boards for r in read_records(f)]
    records.append(make_record("tflite-armnn", [], board="jetson-orin-nano", status="error", error="x" * 300))
    records.append(make_record("coral", [1.0], accuracy=0.5, not_meaningful=True))
    records[0]["warnings"] = ["latency varies a lot (coefficient of variation 8.34); close other programs " * 2]
    lines = _lines(records)
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "not meaningful" in text and "(random" in text and "speedup (95% CI)" in text and "best" in text
    assert "B=10000" in text  # the estimator is reported
    piped = run_cli("report", *map(str, two_boards))  # not a terminal: 100 columns
    assert piped.returncode == 0 and max(len(x) for x in piped.stdout.splitlines()) <= 100
    assert "mean±std" not in piped.stdout and "mean±std" in run_cli("report", str(two_boards[0]), "--wide").stdout


def test_emulated_and_throttled_are_marked() -> None:
    rec = make_record("onnx", [1.0, 2.0])
    rec["machine"]["emulated"] = True
    rec["machine"]["state"]["throttled"] = True
    s = config_summary.summarize([rec])[0]
    assert "EMULATED" in report_tables.notes_text(s) and "THROTTLED" in report_tables.notes_text(s)
    assert report_tables.rows([rec], wide=False)[0][-1] == "ok EMULATED THROTTLED"


def test_old_v1_record_without_compare_still_reports(tmp_path: Path) -> None:
    v1 = make_record("onnx", samples(3, 50))
    for key in ("compare", "fleet", "energy", "compute", "sustained", "profile", "schema_version"):
        v1.pop(key)
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(v1) + "\n")
    table = run_cli("report", str(path))
    assert table.returncode == 0 and "onnx" in table.stdout and "acc 0.9700" in table.stdout, table.stderr
    rows = list(csv.DictReader(io.StringIO(run_cli("report", str(path), "--format", "csv").stdout)))
    assert len(rows) == 1 and rows[0]["label"] == "onnx" and rows[0]["compare_id"] == ""


# --- plots ----------------------------------------------------------------------------------------------


def test_plot_writes_png_with_one_bar_per_config_and_both_boards(two_boards: List[Path], tmp_path: Path) -> None:
    require("matplotlib")
    from bench import plots

    records = [r for f in two_boards for r in read_records(f)]
    figs = plots.charts(records, config_summary.summarize(records))
    ax = figs["digits_cnn_latency"].axes[0]
    containers = [c for c in ax.containers if c.__class__.__name__ == "BarContainer"]
    assert [c.get_label() for c in containers] == ["generic", "rpi5"]  # both boards in one plot
    assert [len(c.patches) for c in containers] == [3, 3]  # one bar per config on each board
    heights = [p.get_height() for p in containers[1].patches]
    # a bar is the median of the config's round medians (two rounds: their mean), from the fixture's raw samples
    expected = [
        np.median([np.median(stored_ms(samples(100 * r + i, 60, 6.0 * f))) for r in range(2)])
        for i, f in enumerate((1.0, 0.5, 0.25))
    ]
    assert heights == pytest.approx(expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["pytorch", "onnx", "tflite-int8"]
    assert ax.get_yscale() == "log"  # 6 x 4 = 24x range
    assert {p.get_hatch() for p in containers[1].patches} != {p.get_hatch() for p in containers[0].patches}
    assert "digits_cnn_accelerators" not in figs  # no accelerator preset ran
    front = figs["digits_cnn_latency_vs_quality"]
    assert "Pareto" in front.axes[0].get_title()
    out, md = tmp_path / "plots", tmp_path / "md" / "report.md"
    md.parent.mkdir()
    with md.open("w") as f:  # `> md/report.md`: image links relative to the report's folder
        argv = [
            sys.executable,
            "-m",
            "bench",
            "report",
            *map(str, two_boards),
            "--plot",
            str(out),
            "--format",
            "markdown",
        ]
        proc = subprocess.run(argv, cwd=tmp_path, stdout=f, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "digits_cnn_latency.png" in pngs and len(list(out.glob("*.svg"))) == len(pngs)
    assert all((out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "![digits_cnn_latency](../plots/digits_cnn_latency.png)" in md.read_text()
    assert "no accelerators chart" in proc.stderr


def test_accelerator_chart_holds_only_accelerator_presets() -> None:
    require("matplotlib")
    from bench import plots

    recs = [make_record(c, samples(i, 30)) for i, c in enumerate(("pytorch", "coral", "tensorrt-fp16"))]
    recs.append(make_record("tensorrt-int8", [], status="error", error="no calibration data"))
    fig = plots.accelerator_chart(config_summary.summarize(recs), "m")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["coral", "tensorrt-fp16", "tensorrt-int8"]
    assert len(ax.containers[0].patches) == 2 and [t.get_text() for t in ax.texts].count("failed") == 1
    assert plots.accelerator_chart(config_summary.summarize(recs[:1]), "m") is None


def test_pareto_front() -> None:
    from bench.plots import pareto_front

    pts = [(1.0, 90.0), (2.0, 95.0), (3.0, 94.0), (0.5, 80.0), (2.0, 90.0)]
    assert pareto_front(pts, higher_is_better=True) == [3, 0, 1]
    assert pareto_front([(1.0, 0.3), (2.0, 0.1), (3.0, 0.2)], higher_is_better=False) == [0, 1]


def test_run_chart_over_time_and_histogram() -> None:
    require("matplotlib")
    from bench import plots

    raw = samples(5, 200)
    fig = plots.run_chart(make_record("onnx", raw))
    over_time, hist = fig.axes
    assert len(over_time.lines[0].get_ydata()) == 200 and "(ms)" in over_time.get_ylabel()
    assert sum(p.get_height() for p in hist.patches) == 200 and "(s)" in over_time.get_xlabel()


def test_accelerator_names_are_presets() -> None:
    from bench.compare.presets import PRESETS

    assert set(config_summary.accelerator_presets()) <= set(PRESETS)


def test_configs_in_the_users_order_baseline_first() -> None:
    recs = [make_record(c, [1.0 + i]) for i, c in enumerate(("tflite", "onnx", "pytorch"))]
    for r in recs:
        r["compare"]["labels"] = ["onnx", "pytorch", "tflite"]
    assert [s.label for s in config_summary.summarize(recs)] == ["pytorch", "onnx", "tflite"]


def test_bad_report_arguments_are_one_line_errors(two_boards: List[Path], tmp_path: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("")
    for args, needle in ((["--last", "0"], "--last 0"), (["--plot", str(a_file)], "is a file")):
        proc = run_cli("report", str(two_boards[0]), *args)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("edgebench: error:")]
        assert proc.returncode == 2 and len(errors) == 1 and needle in errors[0] and "Fix:" in errors[0], proc.stderr
        assert "Traceback" not in proc.stderr


def test_failed_baseline_says_why_there_is_no_speedup() -> None:
    recs = [make_record("pytorch", [], status="error", error="no torch"), make_record("onnx", samples(1, 20))]
    onnx = one(config_summary.summarize(recs), "onnx")
    assert onnx.speedup is None and "no speedup: the baseline pytorch has no ok run" in onnx.notes
    ok = one(
        config_summary.summarize([make_record("pytorch", samples(2, 20)), make_record("onnx", samples(1, 20))]), "onnx"
    )
    assert "B=10000" in ok.interval_method and "seed=20240601" in ok.interval_method


def test_summary_fields_come_from_the_records() -> None:
    raw = samples(9, 101)
    recs = [make_record("onnx", raw, rnd=0), make_record("onnx", [2 * v for v in raw], rnd=1)]
    recs[0]["latency"]["load_ms"], recs[1]["latency"]["load_ms"] = 10.0, 30.0
    recs[1]["machine"]["peak_rss_mb"] = 300.0
    recs[0]["compare"]["conversion_s"] = 4.0
    for r in recs:
        r["fleet"] = {"board": "pi-lab-3"}
    s = config_summary.summarize(recs)[0]
    pooled = np.round(np.array(raw + [2 * v for v in raw]) * 1e6) / 1e6
    assert (s.board, s.model, s.raw_samples) == ("pi-lab-3", "digits_cnn", 202)
    assert s.p10_ms == pytest.approx(np.percentile(pooled, 10)) and s.p90_ms == pytest.approx(np.percentile(pooled, 90))
    assert (s.load_ms, s.first_inference_ms, s.peak_rss_mb, s.size_mb) == (20.0, 3.0, 200.0, 1.5)
    assert s.conversion_s == 2.0 and not s.emulated and not s.throttled and s.status == "ok"


def test_runs_outside_a_compare_are_grouped_by_what_ran() -> None:
    loose = make_record("tflite", samples(1, 10))
    loose["compare"] = {}
    loose["options"] = {"threads": 2, "convert": {"precision": "int8"}, "model": "/m/net.onnx"}
    loose["runtime"]["delegate"] = "armnn"
    loose["model"]["path"] = "/m/net_int8.tflite"
    loose["conversion"] = {"source": "/m/net.onnx"}
    assert record_groups.adhoc_label(loose) == "tflite-int8-armnn @2t"
    (s,) = config_summary.summarize([loose, {"earlier": "result"}])
    assert (s.compare_id, s.label, s.model) == ("", "tflite-int8-armnn @2t", "net")
    assert config_summary.is_accelerator(s.config, s.framework) is False and config_summary.is_accelerator("x", "coral")
