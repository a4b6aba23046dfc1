"""bench/report_text.py's markdown in process, on summaries and records written by hand (tests/test_report.py's
markdown cases run the command in a subprocess, which the mutation run cannot see): the whole text of a report with a
compare section, its footnotes, the legend, the compare runs' energy line, the runs outside the compare (narrow), their
energy line and a plot link; the wide report's columns and which records its runs table holds; and a table cell's
pipe and line break escaped. Every expected cell is worked out by hand in the comments."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bench import report_text
from bench.config_summary import ConfigSummary
from tests.conftest import ENERGY

RPI5 = {"board": {"id": "rpi5"}}
ENERGY_TEXT = "energy 1.5 mJ/inference (0.5 above idle), 3.2 W, idle 2.1 W; measured: pmic, PMIC rails"
LEGEND = (
    "p50 = median of the rounds' median invoke latencies; spread = max - min of those; speedup: above 1 is faster "
    "than the baseline; 'not significant' = its 95% interval contains 1; quality = accuracy with its change in points, "
    "or MSE with its relative change, against the source-model run; MB = model file size; RSS = peak resident memory "
    "of the run (MB). Estimator: speedup = median(baseline raw invoke samples) / median(config raw samples), rounds "
    "pooled; 95% percentile bootstrap interval, B=10000, seed=20240601."
)


def _summary(label: str, **kw: Any) -> ConfigSummary:
    base = dict(compare_id="c1", board="rpi5", model="m", label=label, config=label, framework=label, threads=None)
    return ConfigSummary(**{**base, "records": 3, "ok_records": 3, "status": "ok", "baseline": "onnx", **kw})


def summaries() -> List[ConfigSummary]:
    """onnx the baseline at 4 ms; tflite at 2 ms, the best, twice as fast, with a note for the footnotes."""
    base = _summary("onnx", p50_ms=4.0, speedup=1.0, is_baseline=True)
    fast = _summary("tflite", p50_ms=2.0, spread_ms=0.5, speedup=2.0, ci_low=1.9, ci_high=2.1, significant=True)
    fast.best, fast.size_mb, fast.peak_rss_mb, fast.notes = True, 12.5, 300.4, ["no raw samples"]
    return [base, fast]


def records() -> List[Dict[str, Any]]:
    """A compare run with energy, a loose ok run with energy, a loose failed run, and a line that is not a run."""
    compared = {
        "framework": "tflite",
        "status": "ok",
        "machine": RPI5,
        "model": {"path": "/m/m.tflite"},
        "compare": {"id": "c1", "label": "tflite"},
        "energy": ENERGY,
    }
    loose_ok = {
        "framework": "tflite",
        "status": "ok",
        "machine": RPI5,
        "options": {"threads": 4},
        "model": {"path": "/m/net.tflite"},
        "latency": {
            "invoke": {"p50_ms": 2.5, "p90_ms": 3.25, "p99_ms": 2.9, "mean_ms": 2.6, "std_ms": 0.1, "count": 100},
            "load_ms": 12.34,
        },
        "quality": {},
        "compare": {},
        "energy": ENERGY,
    }
    loose_error = {
        "framework": "onnx",
        "status": "error",
        "error": "bad shape | (1, 3)\nexpected (1, 4)",
        "machine": RPI5,
        "options": {},
        "model": {"path": "/m/net.onnx"},
        "compare": {},
    }
    return [compared, loose_ok, loose_error, {"kind": "manifest", "image": "edgebench:rpi"}]


def links_relative_to(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Image links relative to ``folder``: the current folder, stdout not a file (set in the test itself: pytest puts
    its own stdout back between a fixture's setup and the test)."""
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "stdout", io.StringIO())


def test_whole_markdown_report_with_a_compare_loose_runs_and_a_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # compare rows: 4.0 -> "4.00" and 2.0 -> "2.00" (3 significant figures), bold for the best; spread 0.5 -> "0.500";
    # speedup 2.0 (1.9-2.1) -> "2.00x (1.90-2.10)"; 12.5 MB -> "12.50"; 300.4 MB RSS -> "300"; onnx has no notes
    # (an empty last cell), tflite is "best" and its note goes below the table. Loose runs (narrow): the ok one at
    # 2.5/3.25 ms -> "2.50"/"3.25", load 12.34 -> "12.3", 4 threads; the failed one has no figures and its error's
    # pipe escaped and line break made a space. The energy lines are labelled board + config label (the loose run's
    # ad-hoc label is "tflite @4t"). The line that is not a run is in no table.
    expected = f"""# edgebench report

## compare c1 - m on rpi5 - baseline onnx, 3 round(s)

| board | config | p50 ms | spread | speedup (95% CI) | quality | MB | RSS | notes |
|---|---|---|---|---|---|---|---|---|
| rpi5 | onnx | 4.00 | - | 1 (baseline) | - | - | - |  |
| rpi5 | tflite | **2.00** | 0.500 | 2.00x (1.90-2.10) | - | 12.50 | 300 | best; see below |

- rpi5 tflite: no raw samples

{LEGEND}

- rpi5 tflite: {ENERGY_TEXT}

## Runs

| board | runtime | model | thr | p50 ms | p90 ms | load ms | quality | status |
|---|---|---|---|---|---|---|---|---|
| rpi5 | tflite | net.tflite | 4 | 2.50 | 3.25 | 12.3 | - | ok |
| rpi5 | onnx | net.onnx | - | - | - | - | - | error: bad shape \\| (1, 3) expected (1, 4) |

- rpi5 tflite @4t: {ENERGY_TEXT}

## Plots

![a](a.png)
"""
    links_relative_to(tmp_path, monkeypatch)
    assert report_text.markdown_text(records(), summaries(), [tmp_path / "a.png", tmp_path / "a.svg"]) == expected


def _section(text: str, title: str) -> List[str]:
    """The lines of one '## ' section, title excluded."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def test_wide_markdown_has_every_column_and_every_run() -> None:
    text = report_text.markdown_text(records(), summaries(), wide=True)
    compare = _section(text, "## compare c1 - m on rpi5 - baseline onnx, 3 round(s)")
    # the wide columns after notes; onnx: 3 of 3 rounds ok, no raw samples, no figures, threads None -> "default"
    assert compare[1:5] == [
        "| board | config | p50 ms | spread | speedup (95% CI) | quality | MB | RSS | notes | rounds | samples | "
        "p10 ms | p90 ms | load ms | first ms | convert s | threads |",
        "|" + "---|" * 17,
        "| rpi5 | onnx | 4.00 | - | 1 (baseline) | - | - | - |  | 3/3 | 0 | - | - | - | - | - | default |",
        "| rpi5 | tflite | **2.00** | 0.500 | 2.00x (1.90-2.10) | - | 12.50 | 300 | best; see below | 3/3 | 0 | - | "
        "- | - | - | - | default |",
    ]
    runs = _section(text, "## Runs")
    # wide: the compare run is listed too (3 runs, not the line that is not a run); the ok loose run's cells with
    # 3 decimals (2.500, 3.250, p99 2.900, mean±std 2.600±0.100), no e2e, load 12.3, no first, 100 runs
    assert runs[1:3] == [
        "| board | runtime | model | threads | p50 ms | p90 ms | p99 ms | mean±std ms | "
        "e2e p50 ms | load ms | first ms | runs | quality | status |",
        "|" + "---|" * 14,
    ]
    body = [line for line in runs[3:] if line.startswith("| ")]
    assert [line.split(" | ")[1] for line in body] == ["tflite", "tflite", "onnx"]  # runtime: compare, ok, failed
    assert (
        body[1]
        == "| rpi5 | tflite | net.tflite | 4 | 2.500 | 3.250 | 2.900 | 2.600±0.100 | - | 12.3 | - | 100 | - | ok |"
    )
