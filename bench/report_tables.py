"""The report's tables as plain text cells: headers, rows and the text of each cell, for the runs table and the
comparison view, and the lines printed under them. The terminal (bench.report) and the text formats
(bench.report_text) lay these out; nothing here prints. Only the standard library is imported.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence

from bench import record_groups
from bench.config_summary import ConfigSummary
from bench.record_groups import value_at

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
        board = record_groups.board_key(r) if isinstance(r, dict) else "-"
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
    measured), then what differs in the environment of the records (bench.record_groups.environment_differences)."""
    from bench.early_stopping import group_text as early_stopping_text
    from bench.power.sampler import energy_text
    from bench.sustained import sustained_text

    ok = [r for r in records if isinstance(r, dict) and r.get("status") == "ok"]
    lines = []
    for key, group in record_groups.group_records(ok).items():
        texts = (energy_text([r.get("energy") for r in group]), sustained_text([r.get("sustained") for r in group]))
        lines += [f"{key[1]} {key[3]}: {text}" for text in texts if text]
        p90 = early_stopping_text([value_at(r, "latency", "early_stopping") or {} for r in group])
        lines += [f"{key[1]} {key[3]}: {p90}"] if p90 else []
        lines += [f"{key[1]} {key[3]}: {text}" for text in compute_lines(group)]
    return lines + [f"ENVIRONMENT DIFFERS, {d}" for d in record_groups.environment_differences(ok)]


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
