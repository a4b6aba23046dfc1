"""Render result records (dicts read from JSON Lines): terminal table, markdown, csv or json.

board and config, from :func:`bench.config_summary.summarize`); other records get one row per run. The
terminal tables fit 100 columns; ``wide`` adds the detail (versions, e2e, p90/p99, mean±std, ...). This module lays
the tables out on the terminal (rich, plain text without it); their cells are bench.report_tables's, the text formats
(csv, json, markdown) bench.report_text's. Only the standard library and rich are imported here; plots (matplotlib)
load only when asked for.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench import config_summary
from bench.compare.presets import PRESETS
from bench.config_summary import ConfigSummary
from bench.record_groups import value_at
from bench.report_tables import (
    HEADERS,
    LEGEND,
    NARROW_HEADERS,
    RUNS_TITLE,
    compare_sections,
    comparison_table,
    explain_lines,
    footnotes,
    record_gops_texts,
    rows,
    section_title,
    with_compute,
)
from bench.report_text import csv_text, json_text, markdown_text

log = logging.getLogger(__name__)

NARROW_WIDTH = 100
WIDE_WIDTH = 240


def _console(console: Any, wide: bool) -> Any:
    if console is not None:
        return console
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(width=WIDE_WIDTH if wide else NARROW_WIDTH)  # piped: fixed width


#: columns that may wrap, and the width each keeps at least when the table is squeezed; config keeps the longest
#: preset name whole ("tflite-nodelegate" broken in two reads as two presets; a " @4t" suffix may go below it)
WRAP_MIN_WIDTH = {
    "board": 7,
    "config": max(len(name) for name in PRESETS),
    "quality": 14,
    "notes": 15,
    "model": 12,
    "runtime": 7,
    "status": 10,
}
COLUMN_GAP = 2


def column_widths(headers: Sequence[str], body: Sequence[Sequence[str]], width: int) -> List[int]:
    """Widths that fit ``width``: other columns keep their widest cell; wrapping columns start at their
    minimum and share what is left, the ones lacking least served first, never above their widest cell. Too
    narrow even so: wrapping columns but config go below their minimum (down to their header), widest first."""
    natural = [max([len(h)] + [len(row[i]) for row in body]) for i, h in enumerate(headers)]
    out = [n if h not in WRAP_MIN_WIDTH else min(n, max(len(h), WRAP_MIN_WIDTH[h])) for h, n in zip(headers, natural)]
    spare = width - sum(out) - COLUMN_GAP * (len(headers) - 1)
    for need, i in sorted((natural[i] - out[i], i) for i, h in enumerate(headers) if h in WRAP_MIN_WIDTH):
        give = max(0, min(need, spare))
        out[i] += give
        spare -= give
    for i in sorted((i for i, h in enumerate(headers) if h in WRAP_MIN_WIDTH and h != "config"), key=lambda i: -out[i]):
        take = max(0, min(-spare, out[i] - len(headers[i])))
        out[i] -= take
        spare += take
    return out


def _rich_table(
    title: str, headers: Sequence[str], body: Sequence[Sequence[str]], width: int, styles: Sequence[str] = ()
) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, title_justify="left"
    )
    for h, w in zip(headers, column_widths(headers, body, width)):
        table.add_column(h, overflow="fold", no_wrap=h not in WRAP_MIN_WIDTH, width=w)
    for i, row in enumerate(body):
        table.add_row(*row, style=styles[i] if i < len(styles) else None)
    return table


def print_comparison(
    records: List[Dict[str, Any]],
    console: Any = None,
    baseline: Optional[str] = None,
    wide: bool = False,
    summaries: Optional[Sequence[ConfigSummary]] = None,
) -> List[ConfigSummary]:
    """Print the comparison view of every compare in ``records`` (or of ``summaries`` already computed);
    returns the summaries shown."""
    shown: List[ConfigSummary] = []
    if summaries is None:
        summaries = config_summary.summarize(records, baseline)
    try:
        import rich  # noqa: F401
    except ImportError:
        for section in compare_sections(summaries):
            print(section_title(section))
            headers, body = comparison_table(section, wide)
            for row in [headers, *body]:
                print("\t".join(row))
            print("\n".join(footnotes(section)))
            shown += section
        return shown
    console = _console(console, wide)
    for section in compare_sections(summaries):
        styles = ["bold" if s.best else "" for s in section]
        headers, body = comparison_table(section, wide)
        if len({s.board for s in section}) == 1:  # the board is in the title: room for the other columns
            headers, body = headers[1:], [row[1:] for row in body]
        console.print(_rich_table(section_title(section), headers, body, console.width, styles))
        for line in footnotes(section):
            console.print(line, soft_wrap=False, highlight=False, markup=False)
        shown += section
    if shown:
        console.print(LEGEND + config_summary.ESTIMATOR + ".", soft_wrap=False, highlight=False)
    for line in explain_lines(r for r in records if value_at(r, "compare", "id")):
        console.print(line, soft_wrap=False, highlight=False, markup=False)
    return shown


def print_records(records: List[Dict[str, Any]], console: Any = None, wide: bool = False) -> None:
    """Print one row per run with rich (plain text when rich is not installed); 100 columns unless ``wide``."""
    headers, table_rows = HEADERS if wide else NARROW_HEADERS, rows(records, wide)
    if wide:  # the narrow table has no room: GOP/s and % of peak are printed under it (compute_lines)
        headers, table_rows = with_compute(headers, table_rows, record_gops_texts(records))
    try:
        import rich  # noqa: F401
    except ImportError:
        print("\t".join(headers))
        for row in table_rows:
            print("\t".join(row))
        return
    console = _console(console, wide)
    title = RUNS_TITLE
    if len({row[0] for row in table_rows}) == 1:  # one board: in the title, as in the compare table
        title = f"{RUNS_TITLE}, on {table_rows[0][0]}"
        headers, table_rows = headers[1:], [row[1:] for row in table_rows]
    console.print(_rich_table(title, headers, table_rows, console.width))
    for r in records:
        for w in r.get("warnings") or []:
            console.print(f"[yellow]warning[/yellow] {r.get('framework')}: {w}", soft_wrap=False)
    for line in explain_lines(records):
        console.print(line, soft_wrap=False, highlight=False, markup=False)


def render(
    records: List[Dict[str, Any]],
    fmt: str = "table",
    plot_dir: Optional[Path] = None,
    wide: bool = False,
    baseline: Optional[str] = None,
    console: Any = None,
) -> str:
    """Render ``records`` in ``fmt``; table output is printed, other formats are returned as text."""
    if fmt == "table" and plot_dir is None:  # the table summarizes compares only; loose runs are shown as they are
        records_to_summarize = [r for r in records if value_at(r, "compare", "id")]
    else:
        records_to_summarize = records
    summaries = config_summary.summarize(records_to_summarize, baseline)
    plots: List[Path] = []
    if plot_dir is not None:
        from bench import plots as plotting

        plots = plotting.write_plots(records, plot_dir, summaries)
    if fmt == "csv":
        return csv_text(summaries)
    if fmt == "json":
        return json_text(summaries)
    if fmt == "markdown":
        return markdown_text(records, summaries, plots, wide)
    shown = print_comparison(records, console, baseline, wide, summaries)
    loose = [r for r in records if isinstance(r, dict) and (wide or not value_at(r, "compare", "id"))]
    if loose or not shown:
        print_records(loose, console, wide)
    for p in plots:
        log.info("plot written: %s", p)
    return ""
