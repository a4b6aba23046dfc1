"""The compare table a new user reads first, on real records: one line per config, preset names whole, numbers
without a dangling point, "random weights" said once, and a workstation named by its CPU, not "generic".

Fixture (tests/fixtures/records/digits_compare_random_weights.jsonl): the five records this command wrote here
(x86-64, 2 cores, "AMD EPYC" in /proc/cpuinfo), kept as written:

    python -m bench compare bench/models/assets/digits_cnn.onnx bench/models/assets/digits_test.npz --all
        --random-weights --rounds 1 --warmup-runs 2 --warmup-min-s 0 --min-runs 20 --min-time-s 0 --max-time-s 5
        --representative-data-path bench/models/assets/digits_test.npz

A zoo model's table (ResNet-50, 8178 MOP per inference, 100 to 400 GOP/s here) differs only in its numbers: the
tests scale the recorded operation counts to reach them.
"""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any, Dict, List

from bench import config_summary, record_groups, report, report_tables, report_text
from tests.conftest import REPO, require

FIXTURE = REPO / "tests" / "fixtures" / "records" / "digits_compare_random_weights.jsonl"
CONFIGS = ["onnx", "tflite", "tflite-fp16", "tflite-int8", "tflite-nodelegate"]
WORKSTATION = "generic x86_64 (AMD EPYC, 2 cores)"  # machine.cpu of the fixture: x86_64, "AMD EPYC", 2 cores


def _records() -> List[Dict[str, Any]]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def _scaled(records: List[Dict[str, Any]], factor: float) -> List[Dict[str, Any]]:
    """The same runs with ``factor`` times the operations per inference (what a bigger model's records say)."""
    out = copy.deepcopy(records)
    for r in out:
        c = r["compute"]
        c["ops"] *= factor
        c["gops_per_s"] *= factor
        if c.get("pct_of_peak") is not None:
            c["pct_of_peak"] *= factor
    return out


def _table(records: List[Dict[str, Any]], width: int = 100) -> List[str]:
    require("rich")
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO())
    report.print_comparison(records, console=console)
    return console.export_text().splitlines()


def _body(lines: List[str]) -> List[str]:
    """The table's rows: the lines between the rule under the header and the first line under the table."""
    start = next(i for i, line in enumerate(lines) if line.startswith("─")) + 1
    end = next(i for i, line in enumerate(lines) if i >= start and line.startswith(("quality:", "p50 = ")))
    return lines[start:end]


def _column(lines: List[str], header: str) -> List[str]:
    """One column's cells, found by its header (columns are two or more spaces apart), one per table row."""
    rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
    at = re.split(r"\s{2,}", lines[rule - 1].strip()).index(header)
    return [re.split(r"\s{2,}", row.strip())[at] for row in _body(lines)]


def test_a_random_weights_compare_is_one_line_per_config_and_says_random_weights_once() -> None:
    lines = _table(_records())
    assert max(len(line) for line in lines) <= 100
    body = _body(lines)
    assert [row.split()[0] for row in body] == CONFIGS, "one line per config, the preset name whole"
    assert _column(lines, "quality") == ["-"] * len(CONFIGS), "no quality figure in the rows"
    text = "\n".join(lines)
    assert text.count("random weights") == 1 and "quality: not meaningful (random weights)" in lines
    assert "tflite-nodel\n" not in text


def test_two_boards_keep_the_preset_names_whole() -> None:
    """Two fleet boards (a board column): at 110 columns every config is still one word on one line."""
    ws, pi = _records(), _records()
    for r in ws:
        r["fleet"] = {"board": "ws"}
    for r in pi:
        r["fleet"] = {"board": "pi5-a"}
    lines = _table(ws + pi, width=110)
    body = _body(lines)
    assert max(len(line) for line in lines) <= 110
    assert [row.split()[:2] for row in body] == [[b, c] for b in ("pi5-a", "ws") for c in CONFIGS], body


def test_the_config_column_stays_whole_when_the_others_must_wrap() -> None:
    """49 columns for config, quality and notes (17 + 19 + 15 wide, 2 between): quality and notes wrap, config not."""
    row = ["tflite-nodelegate", "MSE 0.0123 (+12.3%)", "not significant"]
    widths = report.column_widths(["config", "quality", "notes"], [row], 49)
    assert widths[0] == 17 and sum(widths) + 2 * 2 <= 49, widths


def test_numbers_have_no_dangling_point() -> None:
    lines = _table(_scaled(_records(), 5.0))  # 40 to 310 GOP/s: three digits before the point
    gops = _column(lines, "GOP/s (% peak)")
    # 5 x 0.75776 MOP over each p50 (0.025017, 0.019208, 0.019514, 0.012198, 0.0954215 ms), worked by hand
    assert [g.split()[0] for g in gops] == ["151", "197", "194", "311", "39.7"], gops
    assert not [line for line in lines if re.search(r"\d\.(?=[ x)%-]|$)", line) and "seed=" not in line]
    assert (
        report_tables.gops_text(147.0, 12.5) == "147 (12.5%)"
        and report_tables.gops_text(99.97, None) == "100 (no peak)"
    )
    resnet = _records()[3]  # the onnx run, as ResNet-50's record would say it: 8178 MOP at 147 GOP/s
    resnet["compute"].update(ops=8_178_000_000, gops_per_s=147.0, peak_gops=1234.5, pct_of_peak=11.9)
    (line,) = report_tables.compute_lines([resnet])
    assert line.startswith("147 GOP/s from 8178 MOP/inference (onnx graph); 11.9% of 1234 GOP/s (fp32 cpu peak")


def test_a_workstation_is_named_by_its_cpu_in_the_table_and_the_charts() -> None:
    records = _records()
    assert {record_groups.board_key(r) for r in records} == {WORKSTATION}
    title = " ".join(_table(records, width=200)[:1])
    assert f"digits_cnn on {WORKSTATION} - baseline onnx" in title
    xeon = copy.deepcopy(records[0])
    xeon["machine"]["cpu"].update(model="Intel(R) Xeon(R) CPU @ 2.20GHz", cores=4)
    assert record_groups.board_key(xeon) == "generic x86_64 (Intel Xeon, 4 cores)", "two workstations never pool"
    fleet = copy.deepcopy(records[0])
    fleet["fleet"] = {"board": "generic"}  # an inventory name is the user's own: kept as given
    assert record_groups.board_key(fleet) == "generic"
    require("matplotlib")
    from bench import plots

    summaries = config_summary.summarize(records)
    fig = plots.latency_chart(summaries, "digits_cnn")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [WORKSTATION]


def test_markdown_says_random_weights_under_the_table(tmp_path: Path) -> None:
    records = _records()
    text = report_text.markdown_text(records, config_summary.summarize(records))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "tflite" in line]
    assert len(rows) == 4 and all(" | - | " in row for row in rows)
    assert text.count("random weights") == 1 and "- quality: not meaningful (random weights)" in text


def test_runs_of_one_workstation_name_it_once_in_the_title() -> None:
    require("rich")
    from rich.console import Console

    records = _records()[:2]
    for r in records:
        r["compare"] = {}  # `edgebench run` records: the runs table
    console = Console(width=100, record=True, file=io.StringIO())
    report.print_records(records, console=console)
    lines = console.export_text().splitlines()
    assert " ".join(line.strip() for line in lines[:2]).endswith(f", on {WORKSTATION}")
    assert lines[2].split()[:2] == ["runtime", "model"], "no board column: the board is in the title"
