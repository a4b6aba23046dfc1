"""bench/report.py's terminal output in process (the CLI tests that print reports run in a subprocess, which the
mutation run cannot see): the piped console's width, column_widths by hand, how a table is laid out (title, folding,
wrapping, cropping, the bold best row), the comparison view and the runs table with and without rich (titles,
footnotes, legend, warnings, energy lines: plain text, never highlighted nor read as markup), and which records and
options render passes on (baseline, wide, loose runs, plots). Expected texts are written by hand from the records."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence

import pytest
from rich.console import Console

from bench import report
from tests.test_report import make_record

ESC = "\x1b["  # start of an ANSI escape sequence: a style (bold, colour) on a terminal
TITLE = "compare 0123456789abcdef - digits_cnn on generic - baseline pytorch, 1 round(s)"
RUNS_TITLE = "edgebench runs (invoke = runtime call alone; e2e = with input/output handling)"
LEGEND = (
    "p50 = median of the rounds' median invoke latencies; spread = max - min of those; speedup: above 1 is faster than "
    "the baseline; 'not significant' = its 95% interval contains 1; quality = accuracy with its change in points, or "
    "MSE with its relative change, against the source-model run; MB = model file size; RSS = peak resident memory of "
    "the run (MB). Estimator: speedup = median(baseline raw invoke samples) / median(config raw samples), rounds "
    "pooled; 95% percentile bootstrap interval, B=10000, seed=20240601."
)
#: energy_text by hand: 2.5 and 1.25 mJ (:.4g), 4.0 and 2.0 W (:.3g), then label: source, scope
ENERGY = {
    "energy_mj_per_inference": 2.5,
    "above_idle_mj_per_inference": 1.25,
    "mean_w": 4.0,
    "idle_w": 2.0,
    "label": "tegrastats",
    "source": "rail [vdd_in]",
    "scope": "board",
}
ENERGY_TEXT = "energy 2.5 mJ/inference (1.25 above idle), 4 W, idle 2 W; tegrastats: rail [vdd_in], board"


def compare(compare_id: str = "0123456789abcdef") -> List[Dict[str, Any]]:
    """One round of pytorch (1 ms every sample) against onnx (2 ms): p50 1.00 and 2.00, onnx 0.5x, pytorch best."""
    return [
        make_record("pytorch", [1.0] * 5, compare_id=compare_id),
        make_record("onnx", [2.0] * 5, compare_id=compare_id),
    ]


def loose(board: str = "rpi5", **kw: Any) -> Dict[str, Any]:
    """A run outside any compare: tflite on ``board``, p50 0.5 ms, p90 1.5 ms, load 12.34 ms, 4 threads."""
    rec: Dict[str, Any] = {
        "framework": "tflite",
        "status": "ok",
        "machine": {"board": {"id": board}},
        "options": {"threads": 4},
        "model": {"path": "/m/net.tflite"},
        "latency": {
            "invoke": {"p50_ms": 0.5, "p90_ms": 1.5, "p99_ms": 2.0, "mean_ms": 0.75, "std_ms": 0.25, "count": 9},
            "e2e": {"p50_ms": 0.6},
            "load_ms": 12.34,
            "first_inference_ms": 3.0,
        },
        "quality": {},
    }
    rec.update(kw)
    return rec


def plain(width: int = 200) -> Console:
    return Console(width=width, record=True, file=io.StringIO())


def terminal(width: int = 200) -> Console:
    """A console that writes ANSI styles, as on a terminal; its text is read back with ``written``."""
    return Console(width=width, file=io.StringIO(), force_terminal=True, color_system="standard")


def written(console: Console) -> List[str]:
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def text_lines(console: Console) -> List[str]:
    return console.export_text().splitlines()


def lines_with(lines: Sequence[str], part: str) -> List[str]:
    return [line for line in lines if part in line]


def runs_title(lines: Sequence[str]) -> str:
    """The runs table's title, which wraps at the table's width: the lines from its start to the header."""
    start = next(i for i, line in enumerate(lines) if line.startswith("edgebench runs"))
    end = next(i for i in range(start, len(lines)) if lines[i].split()[0] in ("board", "runtime"))
    return " ".join(line.strip() for line in lines[start:end])


# --- the console ------------------------------------------------------------------------------------------------


def test_a_piped_console_is_100_columns_and_240_when_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal
    assert report._console(None, False).width == 100
    assert report._console(None, True).width == 240
    given = plain(50)
    assert report._console(given, True) is given


def test_wide_tables_printed_without_a_console_use_240_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    # the wide runs table has 13 columns after the board (in the title): 90 header characters + 12 gaps of 2 = 114,
    # the wide comparison 16 columns: more than 100 either way, so some line is longer than a 100-column console
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    report.print_records([loose()], wide=True)
    runs = out.getvalue().splitlines()
    assert 100 < max(len(line) for line in runs) <= 240
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    report.print_comparison(compare(), wide=True)
    assert 100 < max(len(line) for line in out.getvalue().splitlines()) <= 240


# --- column_widths by hand ----------------------------------------------------------------------------------------


def test_wrapping_columns_grow_to_their_widest_cell_when_there_is_room() -> None:
    # natural widths 30, 6, 40; model and notes start at 12 and 15, the 163 spare columns give them 18 and 25
    body = [["m" * 30, "1.23", "n" * 40]]
    assert report.column_widths(["model", "p50 ms", "notes"], body, 200) == [30, 6, 40]


def test_spare_columns_go_first_to_the_wrapping_column_lacking_least() -> None:
    # 12 + 6 + 15 = 33 plus 2 gaps of 2: 10 columns spare of 47; model lacks 18, notes 25: model gets all 10
    body = [["m" * 30, "1.23", "n" * 40]]
    assert report.column_widths(["model", "p50 ms", "notes"], body, 47) == [22, 6, 15]


def test_too_narrow_wrapping_columns_go_below_their_minimum_widest_first() -> None:
    # model 12 and notes 15 at their minimum, one gap of 2: 29 for 15, 14 too many; notes (widest) gives 10 (down to
    # its header, 5), then model the 4 left: 12 - 4 = 8
    body = [["m" * 30, "n" * 20]]
    assert report.column_widths(["model", "notes"], body, 15) == [8, 5]


# --- the table's layout -------------------------------------------------------------------------------------------


def print_table(headers: List[str], body: List[List[str]], width: int, styles: Sequence[str] = ()) -> Console:
    console = plain(width)
    console.print(report._rich_table("T", headers, body, width, styles))
    return console


def test_a_long_word_folds_and_words_wrap_in_wrapping_columns() -> None:
    # widths 12 (model's minimum) and 14 (quality's): 12 + 2 + 14 = 28; the title is padded to that width
    body = [["abcdefghijklmnopqrstuvwxyz0123", "acc 0.9712 F1 0.9601"]]
    lines = text_lines(print_table(["model", "quality"], body, 28))
    assert lines[0] == "T" + " " * 27
    assert [line.rstrip() for line in lines[1:]] == [
        "model         quality",
        "─" * 28,
        "abcdefghijkl  acc 0.9712 F1",
        "mnopqrstuvwx  0.9601",
        "yz0123",
    ]


def test_cells_of_other_columns_stay_on_one_line_when_the_console_is_too_narrow() -> None:
    # 6 + 2 + 17 = 25 columns on a 20-column console: the cells are cut, never wrapped onto a second line
    body = [["1.23", "2.01x (1.95-2.07)"]]
    lines = text_lines(print_table(["p50 ms", "speedup (95% CI)"], body, 20))
    assert len(lines) == 4 and lines[0].rstrip() == "T" and lines[3].startswith("1.23  2.01x")


def test_only_the_best_config_row_is_bold() -> None:
    console = terminal()
    report.print_comparison(compare(), console=console)
    (best,) = lines_with(written(console), "1 (baseline)")  # pytorch's row
    (other,) = lines_with(written(console), "0.500x")  # onnx's
    assert ESC + "1m" in best and ESC not in other


# --- the comparison view ------------------------------------------------------------------------------------------


def test_comparison_table_by_hand_with_its_title_and_legend() -> None:
    # one board (in the title): no board column; speedup 1 ms / 2 ms = 0.5 with a zero-width interval; quality 0.97
    # against pytorch (the baseline, as the source model's sha is not among the runs); 1.5 MB, 100 MB RSS
    console = plain(120)
    shown = report.print_comparison(compare(), console=console)
    lines = [line.rstrip() for line in text_lines(console)]
    assert lines[:5] == [
        TITLE,
        "config   p50 ms  spread  speedup (95% CI)      quality         MB    RSS  notes",
        "─" * 79,
        "pytorch  1.00    0       1 (baseline)          97.00% (ref)    1.50  100  best",
        "onnx     2.00    0       0.500x (0.500-0.500)  97.00% (+0.00)  1.50  100",
    ]
    assert " ".join(lines[5:]) == LEGEND
    assert [s.label for s in shown] == ["pytorch", "onnx"]


def test_the_legend_and_footnotes_are_not_highlighted_nor_read_as_markup() -> None:
    # an error text with numbers (highlighted on a terminal unless told not to) and "[int8]" (a markup tag)
    bad = make_record("onnx", [], rnd=1, status="error", error="Conv2D [int8] needs 42 ops")
    console = terminal(600)  # the legend on one line
    report.print_comparison(compare() + [bad], console=console)
    lines = written(console)
    assert lines_with(lines, "error:") == ["generic onnx: error: Conv2D [int8] needs 42 ops"]
    legend = lines_with(lines, "p50 = median")
    assert len(legend) == 1 and legend[0].rstrip() == LEGEND


def test_the_baseline_asked_for_is_used_when_summaries_are_computed() -> None:
    console = plain(120)
    report.print_comparison(compare(), console=console, baseline="onnx")
    lines = text_lines(console)
    assert lines[0] == TITLE.replace("baseline pytorch", "baseline onnx")
    (onnx,) = lines_with(lines, "onnx  ")
    assert "1 (baseline)" in onnx and "2.00x (2.00-2.00)" in lines_with(lines, "pytorch ")[0]  # 2 ms / 1 ms


def test_the_wide_comparison_has_the_rounds_column() -> None:
    console = plain(240)
    report.print_comparison(compare(), console=console, wide=True)
    header = text_lines(console)[1]
    assert header.split()[-14:] == [
        "notes", "rounds", "samples", "p10", "ms", "p90", "ms", "load", "ms", "first", "ms", "convert", "s", "threads",
    ]  # fmt: skip


def test_energy_of_a_compare_is_printed_once_plain() -> None:
    recs = compare()
    recs[0]["energy"] = ENERGY
    console = terminal(400)
    report.print_comparison(recs, console=console)
    assert lines_with(written(console), "energy ") == ["generic pytorch: " + ENERGY_TEXT]


def test_a_long_energy_line_wraps_at_the_console_width() -> None:
    recs = compare()
    recs[0]["energy"] = dict(ENERGY, scope="board " + "x" * 60)
    console = plain(60)
    report.print_comparison(recs, console=console)
    assert max(len(line) for line in text_lines(console)) <= 60


def hide_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # ``import rich`` raises ImportError


def test_without_rich_each_compare_is_printed_as_tab_separated_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the second compare: pytorch alone ok (no best among one), onnx failed in two rounds with two messages
    second = [
        make_record("pytorch", [1.0] * 5, compare_id="c2"),
        make_record("onnx", [], compare_id="c2", status="error", error="boom"),
        make_record("onnx", [], compare_id="c2", rnd=1, status="error", error="bang"),
    ]
    hide_rich(monkeypatch)
    shown = report.print_comparison(compare() + second)
    header = "board\tconfig\tp50 ms\tspread\tspeedup (95% CI)\tquality\tMB\tRSS\tnotes"
    assert capsys.readouterr().out.splitlines() == [
        TITLE,
        header,
        "generic\tpytorch\t1.00\t0\t1 (baseline)\t97.00% (ref)\t1.50\t100\tbest",
        "generic\tonnx\t2.00\t0\t0.500x (0.500-0.500)\t97.00% (+0.00)\t1.50\t100\t",
        "",  # no footnotes
        "compare c2 - digits_cnn on generic - baseline pytorch, 2 round(s)",
        header,
        "generic\tpytorch\t1.00\t0\t1 (baseline)\t97.00% (ref)\t1.50\t100\t",
        "generic\tonnx\t-\t-\t-\t-\t-\t-\terror, see below",
        "generic onnx: error: boom",
        "generic onnx: error: bang",
    ]
    assert [(s.compare_id, s.label) for s in shown] == [
        ("0123456789abcdef", "pytorch"),
        ("0123456789abcdef", "onnx"),
        ("c2", "pytorch"),
        ("c2", "onnx"),
    ]


def test_without_rich_the_wide_comparison_has_every_column(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # wide cells of pytorch by hand: 1 of 1 rounds ok, 5 samples, p10 = p90 = 1.00 ms (every sample 1 ms), load
    # 12.0 ms, first inference 3.00 ms, conversion 0.0 s, threads not set: default
    hide_rich(monkeypatch)
    report.print_comparison(compare(), wide=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split("\t")[8:] == [
        "notes", "rounds", "samples", "p10 ms", "p90 ms", "load ms", "first ms", "convert s", "threads",
    ]  # fmt: skip
    assert lines[2].split("\t")[8:] == ["best", "1/1", "5", "1.00", "1.00", "12.0", "3.00", "0.0", "default"]


def test_every_compare_shown_is_returned() -> None:
    console = plain(200)
    shown = report.print_comparison(compare() + compare("c2"), console=console)
    assert [(s.compare_id, s.label) for s in shown] == [
        ("0123456789abcdef", "pytorch"),
        ("0123456789abcdef", "onnx"),
        ("c2", "pytorch"),
        ("c2", "onnx"),
    ]
    assert len(lines_with(text_lines(console), "1 (baseline)")) == 2  # a table for each


# --- the runs table -----------------------------------------------------------------------------------------------


def test_without_rich_the_runs_are_printed_as_tab_separated_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hide_rich(monkeypatch)
    report.print_records([loose(), loose("jetson-nano")])
    row = "tflite\tnet.tflite\t4\t0.500\t1.50\t12.3\t-\tok"  # 3 significant figures; load to 0.1 ms; no quality
    assert capsys.readouterr().out.splitlines() == [
        "board\truntime\tmodel\tthr\tp50 ms\tp90 ms\tload ms\tquality\tstatus",
        "rpi5\t" + row,
        "jetson-nano\t" + row,
    ]


def test_runs_of_two_boards_have_the_plain_title_and_a_board_column() -> None:
    console = plain(200)
    report.print_records([loose(), loose("jetson-nano")], console=console)
    lines = text_lines(console)
    assert lines[0].rstrip() == RUNS_TITLE and lines[1].split()[:2] == ["board", "runtime"]


def test_the_wide_runs_table_has_every_column_and_the_gops_column() -> None:
    rec = loose(compute={"gops_per_s": 8.52, "pct_of_peak": 2.3})
    console = plain(240)
    report.print_records([rec], console=console)  # narrow: no GOP/s column
    assert "GOP/s" not in console.export_text()
    console = plain(240)
    report.print_records([rec], console=console, wide=True)
    lines = text_lines(console)
    assert runs_title(lines) == RUNS_TITLE + ", on rpi5" and lines[0].startswith("edgebench runs")
    # wide cells by hand: 3 decimals, mean±std, e2e, load to 0.1, first to 0.01, runs, then GOP/s (share of peak)
    assert lines[3].split() == [
        "tflite", "net.tflite", "4", "0.500", "1.500", "2.000", "0.750±0.250", "0.600", "12.3", "3.00", "9", "-",
        "8.52", "(2.3%)", "ok",
    ]  # fmt: skip
    assert "p99 ms" in lines[1] and "GOP/s (% peak)" in lines[1]


def test_warnings_of_a_run_are_printed_under_the_table() -> None:
    console = plain(200)
    report.print_records([loose(warnings=["clock not locked"])], console=console)
    assert lines_with(text_lines(console), "warning") == ["warning tflite: clock not locked"]


def test_a_long_warning_wraps_at_the_console_width() -> None:
    console = plain(60)
    report.print_records([loose(warnings=["clock " * 20])], console=console)
    lines = text_lines(console)
    assert len(lines_with(lines, "clock")) > 1 and max(len(line) for line in lines) <= 60


def test_energy_of_a_run_is_printed_plain_and_wrapped() -> None:
    rec = loose(energy=ENERGY)
    console = terminal(400)
    report.print_records([rec], console=console)
    # board rpi5, ad hoc label: the framework and its 4 threads
    assert lines_with(written(console), "energy ") == ["rpi5 tflite @4t: " + ENERGY_TEXT]
    console = plain(60)
    report.print_records([rec], console=console)
    lines = text_lines(console)
    assert max(len(line) for line in lines) <= 60 and len(lines_with(lines, "rpi5 tflite @4t: energy")) == 1


# --- render -------------------------------------------------------------------------------------------------------


def test_render_by_default_prints_the_table_with_the_baseline_asked_for(caplog: pytest.LogCaptureFixture) -> None:
    # the loose run is not summarized: no warning that the baseline is not among its configs
    console = plain(200)
    with caplog.at_level(logging.WARNING):
        assert report.render(compare() + [loose()], baseline="onnx", console=console) == ""
    assert caplog.records == []
    lines = text_lines(console)
    assert lines[0] == TITLE.replace("baseline pytorch", "baseline onnx")
    assert runs_title(lines) == RUNS_TITLE + ", on rpi5"


def test_render_narrow_and_wide_tables() -> None:
    console = plain(240)
    report.render(compare() + [loose()], "table", console=console)
    lines = text_lines(console)
    assert lines[1].split()[-1] == "notes" and lines_with(lines, "p99 ms") == []
    assert runs_title(lines) == RUNS_TITLE + ", on rpi5"  # the loose run only: one board
    console = plain(240)
    report.render(compare() + [loose()], "table", wide=True, console=console)
    lines = text_lines(console)
    assert "rounds" in lines[1].split()
    assert [line.rstrip() for line in lines_with(lines, "edgebench runs")] == [
        RUNS_TITLE
    ]  # wide: the compare's runs too, on two boards
    assert lines_with(lines, "p99 ms")[0].split()[:3] == ["board", "runtime", "model"]


def test_render_wide_markdown_has_the_rounds_column() -> None:
    text = report.render(compare(), "markdown", wide=True)
    header = text.splitlines()[4]  # title, blank line, heading, blank line, the comparison's header
    assert header.startswith("| board | config |") and header.endswith(
        "| notes | rounds | samples | p10 ms | p90 ms | load ms | first ms | convert s | threads |"
    )


def test_a_run_whose_compare_has_no_id_is_a_loose_run(caplog: pytest.LogCaptureFixture) -> None:
    odd = loose(compare={"label": "tflite"}, energy=ENERGY)
    console = plain(400)
    with caplog.at_level(logging.WARNING):
        report.render(compare() + [odd], "table", baseline="onnx", console=console)
    assert caplog.records == []  # not summarized
    lines = text_lines(console)
    assert runs_title(lines) == RUNS_TITLE + ", on rpi5"
    # once, under the runs table; labelled by its compare section's label
    assert lines_with(lines, "energy ") == ["rpi5 tflite: " + ENERGY_TEXT]


def test_render_passes_its_summaries_to_the_plots_and_logs_each_plot(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from bench import plots

    got: Dict[str, Any] = {}

    def fake_write_plots(records: Any, out_dir: Path, summaries: Any = None) -> List[Path]:
        got.update(records=records, out_dir=out_dir, summaries=summaries)
        return [out_dir / "a.png", out_dir / "a.svg"]

    monkeypatch.setattr(plots, "write_plots", fake_write_plots)
    recs = compare() + [loose()]
    with caplog.at_level(logging.INFO, logger="bench.report"):
        report.render(recs, "table", plot_dir=tmp_path, baseline="onnx", console=plain())
    assert got["records"] == recs and got["out_dir"] == tmp_path
    # with plots every record is summarized, the loose run too (its own baseline: tflite, the only label)
    # onnx asked for as the baseline: onnx's speedup is 1, pytorch's 2 ms / 1 ms = 2
    assert [(s.label, s.speedup) for s in got["summaries"]] == [("onnx", 1.0), ("pytorch", 2.0), ("tflite @4t", 1.0)]
    assert [r.getMessage() for r in caplog.records if r.name == "bench.report"] == [
        f"plot written: {tmp_path / 'a.png'}",
        f"plot written: {tmp_path / 'a.svg'}",
    ]
