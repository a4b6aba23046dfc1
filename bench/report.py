"""Render result records (dicts read from JSON Lines) as a table. Capture first, render later."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _fmt(v: Optional[float], digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def quality_text(q: Dict[str, Any]) -> str:
    if not q:
        return "-"
    if q.get("task") == "classification":
        text = f"acc {q['accuracy']:.4f} F1 {q['f1']:.4f}"
        if "top5_accuracy" in q:
            text += f" top5 {q['top5_accuracy']:.4f}"
        return text
    mape = q.get("mape_pct")
    return f"MSE {q['mse']:.4g} MAPE {'-' if mape is None else f'{mape:.2f}%'}"


def rows(records: Iterable[Dict[str, Any]]) -> List[List[str]]:
    out = []
    for r in records:
        inv, e2e = _get(r, "latency", "invoke") or {}, _get(r, "latency", "e2e") or {}
        versions = _get(r, "runtime", "versions") or {}
        runtime = r.get("framework", "?")
        if versions:
            runtime += " (" + ", ".join(f"{k} {v}" for k, v in versions.items()) + ")"
        delegate = _get(r, "runtime", "delegate")
        if delegate and delegate != "default":
            runtime += f" [{delegate}]"
        precision = _get(r, "options", "convert", "precision")
        model = (_get(r, "model", "path") or "-").rsplit("/", 1)[-1]
        if precision and precision != "fp32":
            model += f" ({precision})"
        source_format = _get(r, "conversion", "source_format")
        if source_format:
            model += f" <- {source_format}"
        status = r.get("status", "?")
        if status != "ok":
            status = f"error: {r.get('error', '')}"
        elif r.get("warnings"):
            status = "ok (" + str(len(r["warnings"])) + " warnings)"
        if _get(r, "machine", "emulated"):
            status += " EMULATED"
        if _get(r, "machine", "state", "throttled"):
            status += " THROTTLED"
        out.append(
            [
                _get(r, "machine", "board", "id") or "-",
                runtime,
                model,
                str(_get(r, "options", "threads") or "default"),
                _fmt(inv.get("p50_ms")),
                _fmt(inv.get("p90_ms")),
                _fmt(inv.get("p99_ms")),
                "-" if not inv else f"{inv['mean_ms']:.3f}±{inv['std_ms']:.3f}",
                _fmt(e2e.get("p50_ms")),
                _fmt(_get(r, "latency", "load_ms"), 1),
                _fmt(_get(r, "latency", "first_inference_ms"), 2),
                str(inv.get("count", "-")),
                quality_text(r.get("quality") or {}),
                status,
            ]
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


def print_records(records: List[Dict[str, Any]], console: Any = None) -> None:
    """Print a table with rich; plain text when rich is not installed."""
    table_rows = rows(records)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print("\t".join(HEADERS))
        for row in table_rows:
            print("\t".join(row))
        return
    table = Table(title="edgebench results (invoke = runtime call alone; e2e = with input/output handling)")
    for h in HEADERS:
        table.add_column(h, overflow="fold", no_wrap=h != "status")
    for row in table_rows:
        table.add_row(*row)
    if console is None:
        import sys

        console = Console(width=None if sys.stdout.isatty() else 240)  # piped: keep rows on one line
    console.print(table)
    for r in records:
        for w in r.get("warnings") or []:
            console.print(f"[yellow]warning[/yellow] {r.get('framework')}: {w}", soft_wrap=True)
