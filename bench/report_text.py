"""The report as text files: csv and json of the comparison summaries, and markdown (a table per compare, the runs
outside any compare, the plots as image links). Cells come from bench.report_tables.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence

from bench import config_summary
from bench.config_summary import ConfigSummary
from bench.record_groups import value_at
from bench.report_tables import (
    HEADERS,
    LEGEND,
    NARROW_HEADERS,
    compare_sections,
    comparison_table,
    explain_lines,
    footnotes,
    record_gops_texts,
    rows,
    section_title,
    with_compute,
)

CSV_LIST_FIELDS = ("round_p50_ms", "errors", "notes")


def csv_text(summaries: Sequence[ConfigSummary]) -> str:
    """One row per (compare, board, model, config) with a header; list fields joined with '; '."""
    buf = io.StringIO()
    names = list(ConfigSummary.__dataclass_fields__)
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for s in summaries:
        d = s.to_dict()
        for k in CSV_LIST_FIELDS:
            d[k] = "; ".join(str(v) for v in d[k])
        writer.writerow({k: "" if v is None else v for k, v in d.items()})
    return buf.getvalue()


def json_text(summaries: Sequence[ConfigSummary]) -> str:
    return json.dumps([s.to_dict() for s in summaries], indent=1, sort_keys=True, allow_nan=False) + "\n"


def _md_table(headers: Sequence[str], body: Sequence[Sequence[str]]) -> List[str]:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]


def link_base() -> Path:
    """The folder image links are relative to: that of the file stdout is redirected to (``> report.md``, or a
    launcher's ``stdout=file``) when the system names it, else the current folder."""
    try:
        fd = sys.stdout.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return Path(os.readlink(f"/proc/self/fd/{fd}")).resolve().parent
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    return Path.cwd().resolve()


def markdown_text(
    records: List[Dict[str, Any]], summaries: Sequence[ConfigSummary], plots: Sequence[Path] = (), wide: bool = False
) -> str:
    """Markdown: a table per compare, the runs outside any compare, then the plots as image links relative to
    :func:`link_base`."""
    out = ["# edgebench report", ""]
    for section in compare_sections(summaries):
        headers, body = comparison_table(section, wide)
        for row, s in zip(body, section):
            if s.best:
                row[2] = f"**{row[2]}**"  # p50 ms: the GOP/s column goes in further right, before notes
        out += [f"## {section_title(section)}", "", *_md_table(headers, body), ""]
        out += [f"- {line}" for line in footnotes(section)] + [""] * bool(footnotes(section))
    if compare_sections(summaries):
        out += [LEGEND + config_summary.ESTIMATOR + ".", ""]
        explained = explain_lines(r for r in records if value_at(r, "compare", "id"))
        out += [f"- {line}" for line in explained] + [""] * bool(explained)
    loose = [r for r in records if isinstance(r, dict) and not value_at(r, "compare", "id") and "framework" in r]
    if wide:
        loose = [r for r in records if isinstance(r, dict) and "framework" in r]
    if loose:
        run_headers, run_rows = with_compute(  # markdown has no width limit: the column is always there
            HEADERS if wide else NARROW_HEADERS, rows(loose, wide), record_gops_texts(loose)
        )
        out += ["## Runs", "", *_md_table(run_headers, run_rows), ""]
        explained = explain_lines(loose)
        out += [f"- {line}" for line in explained] + [""] * bool(explained)
    pngs = [p for p in plots if p.suffix == ".png"]
    if pngs:
        out += ["## Plots", ""]
        base = link_base()
        for p in pngs:
            link = Path(os.path.relpath(Path(p).resolve(), base)).as_posix()
            out += [f"![{p.stem}]({link})", ""]
    return "\n".join(out).rstrip("\n") + "\n"
