"""Render result records (dicts read from JSON Lines): terminal table, markdown, csv or json.

Capture first, render later. Records that share a ``compare.id`` get the comparison view (one row per
board and config, from :func:`bench.comparison.summarize`); other records get one row per run. The
terminal tables fit 100 columns; ``wide`` adds the detail (versions, e2e, p90/p99, mean±std, ...).
Only the standard library and rich are imported here; plots (matplotlib) load only when asked for.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from bench import comparison
from bench.compare.presets import PRESETS
from bench.comparison import ConfigSummary, value_at

log = logging.getLogger(__name__)

NARROW_WIDTH = 100
WIDE_WIDTH = 240
NOT_MEANINGFUL = "not meaningful (random weights)"


def _fmt(v: Optional[float], digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _sig(v: float, digits: int = 3) -> str:
    """``v`` to ``digits`` significant figures, zeros kept (2.00), without a dangling point (147, not ``147.``) and,
    from ``10**(digits-1)`` on, without an exponent (8178)."""
    if abs(v) >= 10 ** (digits - 1):
        return f"{v:.0f}"
    return f"{v:#.{digits}g}".rstrip(".")


def _ms(v: Optional[float]) -> str:
    """Latency in ms with 3 significant figures at least (0.0243, 1.23, 123.4)."""
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.1f}"
    return _sig(v) if v >= 0.001 else f"{v:.6f}".rstrip("0").rstrip(".") or "0"


def quality_text(q: Dict[str, Any], wide: bool = True) -> str:
    if not q:
        return "-"
    if q.get("not_meaningful"):
        return f"not meaningful ({q['not_meaningful']})"
    if q.get("task") == "classification":
        text = f"acc {q['accuracy']:.4f}"
        if wide:
            text += f" F1 {q['f1']:.4f}"
            if "top5_accuracy" in q:
                text += f" top5 {q['top5_accuracy']:.4f}"
        return text
    mape = q.get("mape_pct")
    text = f"MSE {q['mse']:.4g}"
    return text + (f" MAPE {'-' if mape is None else f'{mape:.2f}%'}" if wide else "")


def _status(r: Dict[str, Any]) -> str:
    status = r.get("status", "?")
    if status != "ok":
        status = f"error: {r.get('error', '')}"
    elif r.get("warnings"):
        status = f"ok ({len(r['warnings'])} warn.)"
    if value_at(r, "machine", "emulated"):
        status += " EMULATED"
    if value_at(r, "machine", "state", "throttled"):
        status += " THROTTLED"
    from bench.machine import accelerator_flags  # CLOCKS-UNLOCKED (Jetson), CORAL-USB2

    for flag in accelerator_flags(r):
        status += " " + flag
    return status


def _runtime(r: Dict[str, Any], wide: bool) -> str:
    runtime = str(r.get("framework", "?"))
    versions = value_at(r, "runtime", "versions") or {}
    if wide and versions:
        runtime += " (" + ", ".join(f"{k} {v}" for k, v in versions.items()) + ")"
    delegate = value_at(r, "runtime", "delegate")
    if delegate and delegate != "default":
        runtime += f" [{delegate}]"
    return runtime


def _model(r: Dict[str, Any], wide: bool) -> str:
    model = (value_at(r, "model", "path") or "-").rstrip("/").rsplit("/", 1)[-1]
    precision = value_at(r, "options", "convert", "precision")
    if precision and precision != "fp32":
        model += f" ({precision})"
    source_format = value_at(r, "conversion", "source_format")
    if wide and source_format:
        model += f" <- {source_format}"
    return model


def rows(records: Iterable[Dict[str, Any]], wide: bool = True) -> List[List[str]]:
    """One row per run; ``wide`` gives every column of :data:`HEADERS`, else :data:`NARROW_HEADERS`."""
    out = []
    for r in records:
        inv, e2e = value_at(r, "latency", "invoke") or {}, value_at(r, "latency", "e2e") or {}
        threads = str(value_at(r, "options", "threads") or "default")
        board = comparison.board_key(r) if isinstance(r, dict) else "-"
        quality = quality_text(r.get("quality") or {}, wide)
        if not wide:
            out.append(
                [board, _runtime(r, False), _model(r, False), threads.replace("default", "-"), _ms(inv.get("p50_ms"))]
                + [_ms(inv.get("p90_ms")), _fmt(value_at(r, "latency", "load_ms"), 1), quality, _status(r)]
            )
            continue
        mean_std = "-" if not inv else f"{inv['mean_ms']:.3f}±{inv['std_ms']:.3f}"
        out.append(
            [board, _runtime(r, True), _model(r, True), threads, _fmt(inv.get("p50_ms")), _fmt(inv.get("p90_ms"))]
            + [_fmt(inv.get("p99_ms")), mean_std, _fmt(e2e.get("p50_ms")), _fmt(value_at(r, "latency", "load_ms"), 1)]
            + [_fmt(value_at(r, "latency", "first_inference_ms"), 2), str(inv.get("count", "-")), quality, _status(r)]
        )
    return out


HEADERS = [
    "board",
    "runtime",
    "model",
    "threads",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "mean±std ms",
    "e2e p50 ms",
    "load ms",
    "first ms",
    "runs",
    "quality",
    "status",
]
NARROW_HEADERS = ["board", "runtime", "model", "thr", "p50 ms", "p90 ms", "load ms", "quality", "status"]
RUNS_TITLE = "edgebench runs (invoke = runtime call alone; e2e = with input/output handling)"


def speedup_text(s: ConfigSummary) -> str:
    """``2.01x (1.95-2.07)``: speedup and its 95% bootstrap interval, 3 significant figures."""
    if s.speedup is None:
        return "-"
    if s.is_baseline:
        return "1 (baseline)"
    if s.ci_low is None or s.ci_high is None:
        return f"{_sig(s.speedup)}x (no CI)"
    return f"{_sig(s.speedup)}x ({_sig(s.ci_low)}-{_sig(s.ci_high)})"


def summary_quality_text(s: ConfigSummary) -> str:
    """Accuracy in % with its change in points, or MSE with its relative change, against the reference run."""
    if s.quality_note:
        return s.quality_note
    if s.quality is None:
        return "-"
    acc = s.quality_metric == "accuracy"
    value = f"{100 * s.quality:.2f}%" if acc else f"MSE {s.quality:.3g}"
    if s.quality_delta is None:
        return value
    if s.quality_reference == s.label:
        return value + " (ref)"
    ref = s.quality - s.quality_delta
    if acc:
        return value + f" ({100 * s.quality_delta:+.2f})"
    return value + (f" ({100 * s.quality_delta / ref:+.1f}%)" if ref else f" ({s.quality_delta:+.3g})")


def notes_text(s: ConfigSummary) -> str:
    """Short flags for the table; errors and long notes go below it (:func:`footnotes`)."""
    notes = ["best"] if s.best else []
    if s.significant is False:
        notes.append("not significant")
    notes += ["EMULATED"] * s.emulated + ["THROTTLED"] * s.throttled
    if s.status != "ok":
        notes.append(f"{s.status}, see below")
    elif s.notes:
        notes.append("see below")
    return "; ".join(notes)


def footnotes(section: Sequence[ConfigSummary]) -> List[str]:
    lines = []
    for note in dict.fromkeys(s.quality_note for s in section if s.quality_note):  # said once, not in every row
        labels = [s.label for s in section if s.quality_note == note]
        lines.append(f"quality{'' if len(labels) == len(section) else ' of ' + ', '.join(labels)}: {note}")
    for s in section:
        lines += [f"{s.board} {s.label}: error: {e}" for e in s.errors]
        lines += [f"{s.board} {s.label}: {n}" for n in s.notes]
        lines += [f"{s.board} {s.label}: GOP/s {s.peak_error}"] if s.peak_error else []
    return lines


COMPUTE_HEADER = "GOP/s (% peak)"


def gops_text(gops: Optional[float], pct: Optional[float], peak_error: str = "") -> str:
    """``8.52 (2.3%)``: achieved GOP/s and its share of the device's peak; ``(no peak)`` when none applies;
    ``(peak error)`` for a share above 100 %, which is never printed as a share (the cause is printed below)."""
    if gops is None:
        return "-"
    if peak_error:
        return f"{_sig(gops)} (peak error)"
    return _sig(gops) + (f" ({pct:.1f}%)" if pct is not None else " (no peak)")


def with_compute(headers: Sequence[str], body: List[List[str]], texts: Sequence[str]) -> tuple:
    """The GOP/s column, before notes/status, only when some row has a figure."""
    if all(t == "-" for t in texts):
        return list(headers), body
    at = len(headers) - 1 if headers[-1] in ("notes", "status") else headers.index("notes")
    return list(headers[:at]) + [COMPUTE_HEADER] + list(headers[at:]), [
        row[:at] + [t] + row[at:] for row, t in zip(body, texts)
    ]


def record_gops_texts(records: Sequence[Dict[str, Any]]) -> List[str]:
    return [
        gops_text(
            value_at(r, "compute", "gops_per_s"),
            value_at(r, "compute", "pct_of_peak"),
            value_at(r, "compute", "peak_error") or "",
        )
        for r in records
    ]


def compute_lines(group: Sequence[Dict[str, Any]]) -> List[str]:
    """Where the GOP/s and the peak come from, and the top operators of a profiled run."""
    from bench.profile import top_text

    lines = []
    c = next((r.get("compute") for r in group if (r.get("compute") or {}).get("ops")), None)
    if c:
        peak = (
            f"{c['pct_of_peak']:.1f}% of {_sig(c['peak_gops'], 4)} GOP/s ({c['precision']} {c['device']} peak, "
            f"{c['peak_kind']}: {c['peak_source']})"
            if c.get("pct_of_peak") is not None
            else c.get("peak_error") or c.get("peak_unavailable", "no peak")
        )
        note = f"; {c['peak_note']}" if c.get("peak_note") else ""
        gops = f"{_sig(c['gops_per_s'])} GOP/s" if c.get("gops_per_s") is not None else "GOP/s -"
        lines.append(f"{gops} from {_sig(c['ops'] / 1e6, 4)} MOP/inference ({c['source']}); {peak}{note}")
    prof = next((r.get("profile") for r in group if r.get("profile")), None)
    return lines + top_text(prof or {})


def explain_lines(records: Iterable[Dict[str, Any]]) -> List[str]:
    """Under a table: energy per inference and sustained slowdown per config (medians over its ok runs, when
    measured), then what differs in the environment of the records (bench.comparison.environment_differences)."""
    from bench.early_stopping import group_text as early_stopping_text
    from bench.power.sampler import energy_text
    from bench.sustained import sustained_text

    ok = [r for r in records if isinstance(r, dict) and r.get("status") == "ok"]
    lines = []
    for key, group in comparison.group_records(ok).items():
        texts = (energy_text([r.get("energy") for r in group]), sustained_text([r.get("sustained") for r in group]))
        lines += [f"{key[1]} {key[3]}: {text}" for text in texts if text]
        p90 = early_stopping_text([value_at(r, "latency", "early_stopping") or {} for r in group])
        lines += [f"{key[1]} {key[3]}: {p90}"] if p90 else []
        lines += [f"{key[1]} {key[3]}: {text}" for text in compute_lines(group)]
    return lines + [f"ENVIRONMENT DIFFERS, {d}" for d in comparison.environment_differences(ok)]


LEGEND = (
    "p50 = median of the rounds' median invoke latencies; spread = max - min of those; speedup: above 1 is faster "
    "than the baseline; 'not significant' = its 95% interval contains 1; quality = accuracy with its change in points, "
    "or MSE with its relative change, against the source-model run; MB = model file size; RSS = peak resident memory "
    "of the run (MB). Estimator: "
)


COMPARISON_HEADERS = [
    "board",
    "config",
    "p50 ms",
    "spread",
    "speedup (95% CI)",
    "quality",
    "MB",
    "RSS",
    "notes",
]
COMPARISON_WIDE_HEADERS = ["rounds", "samples", "p10 ms", "p90 ms", "load ms", "first ms", "convert s", "threads"]


def comparison_rows(summaries: Sequence[ConfigSummary], wide: bool = False) -> List[List[str]]:
    out = []
    for s in summaries:
        quality = "-" if s.quality_note else summary_quality_text(s)  # the note goes under the table (footnotes)
        row = [s.board, s.label, _ms(s.p50_ms), _ms(s.spread_ms), speedup_text(s), quality]
        row += [_fmt(s.size_mb, 2), _fmt(s.peak_rss_mb, 0), notes_text(s)]
        if wide:
            rounds = f"{s.ok_records}/{s.records}"
            row += [rounds, str(s.raw_samples), _ms(s.p10_ms), _ms(s.p90_ms), _fmt(s.load_ms, 1)]
            row += [_fmt(s.first_inference_ms, 2), _fmt(s.conversion_s, 1), str(s.threads or "default")]
        out.append(row)
    return out


def comparison_table(section: Sequence[ConfigSummary], wide: bool = False) -> tuple:
    """(headers, rows) of one compare section: :func:`comparison_rows` with the GOP/s column when it has figures."""
    headers = COMPARISON_HEADERS + (COMPARISON_WIDE_HEADERS if wide else [])
    gops = [gops_text(s.gops_per_s, s.pct_of_peak, s.peak_error) for s in section]
    return with_compute(headers, comparison_rows(section, wide), gops)


def compare_sections(summaries: Sequence[ConfigSummary]) -> List[List[ConfigSummary]]:
    """Summaries of records that share a compare id, one list per (compare id, model), boards merged."""
    sections: Dict[tuple, List[ConfigSummary]] = {}
    for s in summaries:
        if s.compare_id:
            sections.setdefault((s.compare_id, s.model), []).append(s)
    return [sorted(v, key=lambda s: s.board) for v in sections.values()]  # stable: summarize's order per board


def section_title(section: Sequence[ConfigSummary]) -> str:
    s = section[0]
    boards = sorted({m.board for m in section})
    return (
        f"compare {s.compare_id} - {s.model} on {', '.join(boards)} - baseline {s.baseline or '-'}, "
        f"{max(m.records for m in section)} round(s)"
    )


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
        summaries = comparison.summarize(records, baseline)
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
        console.print(LEGEND + comparison.ESTIMATOR + ".", soft_wrap=False, highlight=False)
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
        out += [LEGEND + comparison.ESTIMATOR + ".", ""]
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
    summaries = comparison.summarize(records_to_summarize, baseline)
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
