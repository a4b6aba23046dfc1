"""`edgebench check`'s output (bench/check_report.py) in process: a check result built by hand, and the table,
markdown, JSON and summary line written out by hand; the options and main's exit code on real results files.
(tests/test_check.py runs the same command in a subprocess, which the mutation run cannot see.)"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench import check_report
from bench.check import METHOD, CheckResult, Row
from tests.test_check import compare


def result() -> CheckResult:
    rows = [
        Row("pi5", "m", "onnx", "unchanged", False, 1.234567, 1.2, 2.345, -1.04, 5.55),
        Row(
            "pi5",
            "m",
            "tflite-int8",
            "REGRESSION",
            True,
            10.0,
            12.5,
            25.0,
            None,
            None,
            "top-1 0.9 -> 0.8",
            environment=["CPU governor: None -> powersave", "image: a -> b"],
            notes=["slow"],
        ),  # fmt: skip
        Row("pi5", "m", "pytorch", "FAILED", True, None, None, None, quality="acc|mse", notes=["x\ny", "z"]),
    ]
    return CheckResult("new.jsonl", "ref.jsonl", 5.0, 0.5, rows, {"NEW": ["c2"], "REFERENCE": []}, METHOD)


SUMMARY = (
    "FAIL: 2 regressed (pi5 tflite-int8, pi5 pytorch); 1 unchanged, 1 REGRESSION, 1 FAILED; "
    "tolerance +-5% latency, 0.5 quality"
)
FOOTER = [
    "regression = the whole interval above +5%; improvement = below -5%; quality: accuracy drop over 0.5 points "
    f"or MSE rise over 0.5%. {METHOD}.",
    "NEW new.jsonl against REFERENCE ref.jsonl (NEW: compare c2; REFERENCE: compare (runs outside a compare))",
]


def test_cells_by_hand() -> None:
    assert check_report.body(result()) == [
        ["pi5", "m", "onnx", "1.235", "1.200", "+2.3% (-1.0% to +5.5%)", "unchanged", "-", "-"],
        [
            "pi5",
            "m",
            "tflite-int8",
            "10.00",
            "12.50",
            "+25.0%",
            "REGRESSION; slow",
            "top-1 0.9 -> 0.8",
            "CPU governor: None -> powersave; image: a -> b",
        ],  # fmt: skip
        ["pi5", "m", "pytorch", "-", "-", "-", "FAILED; x\ny; z", "acc|mse", "-"],
    ]


def test_summary_line_and_footer_by_hand() -> None:
    res = result()
    assert check_report.summary_line(res) == SUMMARY
    assert check_report.footer(res) == FOOTER
    res.compares = {"NEW": ["c2", "c3"], "REFERENCE": ["c1"]}
    assert (
        check_report.footer(res)[1]
        == "NEW new.jsonl against REFERENCE ref.jsonl (NEW: compare c2, c3; REFERENCE: compare c1)"
    )
    res.rows = res.rows[:1]
    res.tolerance_pct, res.quality_tolerance = 2.5, 1.0
    assert check_report.summary_line(res) == "PASS; 1 unchanged; tolerance +-2.5% latency, 1 quality"


def test_table_by_hand() -> None:
    res = result()
    res.rows[2].notes = []  # one line per row
    lines = check_report.table_text(res).splitlines()
    assert lines[0] == "edgebench check: " + SUMMARY
    #         board  model  config(11)   ref(13)        new(13)        change(22)              verdict(16)       quality(16)
    assert lines[1] == (
        "board  model  config       ref median ms  new median ms  change (95% CI)         verdict           "
        "quality           environment"
    )
    assert lines[2] == "-----  -----  -----------  -------------  -------------  ----------------------  " + (
        "----------------  ----------------  " + "-" * len("CPU governor: None -> powersave; image: a -> b")
    )
    assert lines[3] == (
        "pi5    m      onnx         1.235          1.200          +2.3% (-1.0% to +5.5%)  unchanged         -"
        "                 -"
    )
    assert lines[4] == (
        "pi5    m      tflite-int8  10.00          12.50          +25.0%                  REGRESSION; slow  "
        "top-1 0.9 -> 0.8  CPU governor: None -> powersave; image: a -> b"
    )
    assert lines[5] == (
        "pi5    m      pytorch      -              -              -                       FAILED            acc|mse"
        "           -"
    )
    assert lines[6:] == FOOTER


def test_markdown_by_hand() -> None:
    text = check_report.markdown_text(result())
    assert text == "\n".join(
        [
            "### edgebench check: " + SUMMARY,
            "",
            "| board | model | config | ref median ms | new median ms | change (95% CI) | verdict | quality | environment |",
            "|---|---|---|---|---|---|---|---|---|",
            "| pi5 | m | onnx | 1.235 | 1.200 | +2.3% (-1.0% to +5.5%) | unchanged | - | - |",
            "| pi5 | m | tflite-int8 | 10.00 | 12.50 | +25.0% | **REGRESSION; slow** | top-1 0.9 -> 0.8 | "
            "CPU governor: None -> powersave; image: a -> b |",
            "| pi5 | m | pytorch | - | - | - | **FAILED; x y; z** | acc\\|mse | - |",
            "",
            "- " + FOOTER[0],
            "- " + FOOTER[1],
            "",
        ]
    )


def test_json_and_render() -> None:
    res = result()
    text = check_report.render(res, "json")
    data = json.loads(text)
    assert text.startswith('{\n "compares": {') and text.endswith("}\n")  # sorted keys, indent 1
    assert data["passed"] is False and data["tolerance_pct"] == 5.0 and data["quality_tolerance"] == 0.5
    assert [r["config"] for r in data["rows"]] == ["onnx", "tflite-int8", "pytorch"]
    assert data["rows"][0]["ci_low_pct"] == -1.04 and data["rows"][1]["environment"][1] == "image: a -> b"
    assert check_report.render(res, "table") == check_report.table_text(res)
    assert check_report.render(res, "markdown") == check_report.markdown_text(res)
    assert check_report.render(res) == check_report.table_text(res)
    res.rows[0].change_pct = float("nan")
    with pytest.raises(ValueError):
        check_report.json_text(res)  # JSON has no NaN: refused, not written


def test_options_and_their_defaults() -> None:
    p = argparse.ArgumentParser()
    check_report.add_arguments(p)
    args = p.parse_args(["new.jsonl", "--against", "ref.jsonl"])
    assert (args.new, args.against) == (Path("new.jsonl"), Path("ref.jsonl"))
    assert (args.tolerance, args.quality_tolerance, args.format) == ("5%", 0.5, "table")
    args = p.parse_args(["n", "--against", "r", "--tolerance", "3", "--quality-tolerance", "2", "--format", "json"])
    assert (args.tolerance, args.quality_tolerance, args.format) == ("3", 2.0, "json")
    for bad in (
        ["n"],
        ["n", "--against", "r", "--format", "html"],
        ["n", "--against", "r", "--quality-tolerance", "x"],
    ):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
    for fmt in ("table", "markdown", "json"):
        assert p.parse_args(["n", "--against", "r", "--format", fmt]).format == fmt
    helptext = " ".join(p.format_help().split())  # what `edgebench check --help` shows, line breaks aside
    assert "positional arguments: new results file to check (.jsonl)" in helptext
    assert "--against REFERENCE reference results file" in helptext
    assert (
        "--tolerance TOLERANCE a regression: the whole 95% interval of the median's change beyond this (default 5%)"
        in helptext
    )
    assert (
        "--quality-tolerance QUALITY_TOLERANCE accuracy drop in points, or MSE rise in %, that fails the check "
        "(default 0.5) --format {table,markdown,json}"
    ) in helptext


def test_main_exit_code_and_output_in_process(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    slow = compare(tmp_path / "slow.jsonl", {"tflite": 1.2}, seed=3)

    def run(new: Path, fmt: str, tolerance: str = "5%", qtol: float = 0.5) -> tuple:
        ns = argparse.Namespace(new=new, against=ref, tolerance=tolerance, quality_tolerance=qtol, format=fmt)
        code = check_report.main(ns)
        return code, capsys.readouterr().out

    code, out = run(ref, "table")
    assert code == 0 and out.startswith("edgebench check: PASS; 2 unchanged; tolerance +-5% latency")
    code, out = run(slow, "json", "4", 2.0)
    data = json.loads(out)
    assert code == 1 and data["tolerance_pct"] == 4.0 and data["quality_tolerance"] == 2.0 and data["passed"] is False
    assert [r["verdict"] for r in data["rows"]] == ["unchanged", "REGRESSION"]
    code, out = run(slow, "markdown", "90%")  # +20 % is inside a 90 % tolerance
    assert code == 0 and out.startswith("### edgebench check: PASS; 2 unchanged; tolerance +-90% latency")
