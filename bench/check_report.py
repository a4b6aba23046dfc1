"""`edgebench check`: its options, and its output (bench.check): a terminal table, markdown for a pull-request
comment, or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from bench import check
from bench.check import CheckResult, Row

HEADERS = [
    "board",
    "model",
    "config",
    "ref median ms",
    "new median ms",
    "change (95% CI)",
    "verdict",
    "quality",
    "environment",
]


def _ms(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:#.4g}"


def change_text(row: Row) -> str:
    if row.change_pct is None:
        return "-"
    if row.ci_low_pct is None:
        return f"{row.change_pct:+.1f}%"
    return f"{row.change_pct:+.1f}% ({row.ci_low_pct:+.1f}% to {row.ci_high_pct:+.1f}%)"


def body(result: CheckResult) -> List[List[str]]:
    out = []
    for r in result.rows:
        verdict = r.verdict + ("; " + "; ".join(r.notes) if r.notes else "")
        env = "; ".join(r.environment) or "-"
        out.append(
            [r.board, r.model, r.config, _ms(r.reference_median_ms), _ms(r.new_median_ms), change_text(r), verdict]
        )
        out[-1] += [r.quality or "-", env]
    return out


def summary_line(result: CheckResult) -> str:
    bad = result.regressed
    counts = {}
    for r in result.rows:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    tally = ", ".join(f"{n} {v}" for v, n in counts.items())
    head = f"FAIL: {len(bad)} regressed ({', '.join(f'{r.board} {r.config}' for r in bad)})" if bad else "PASS"
    return f"{head}; {tally}; tolerance +-{result.tolerance_pct:g}% latency, {result.quality_tolerance:g} quality"


def footer(result: CheckResult) -> List[str]:
    ids = "; ".join(
        f"{side}: compare {', '.join(v) or '(runs outside a compare)'}" for side, v in result.compares.items()
    )
    return [
        f"regression = the whole interval above +{result.tolerance_pct:g}%; improvement = below "
        f"-{result.tolerance_pct:g}%; quality: accuracy drop over {result.quality_tolerance:g} points or MSE rise "
        f"over {result.quality_tolerance:g}%. {result.interval_method}.",
        f"NEW {result.new} against REFERENCE {result.reference} ({ids})",
    ]


def table_text(result: CheckResult) -> str:
    rows = [HEADERS, *body(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(["edgebench check: " + summary_line(result), *lines, *footer(result)]) + "\n"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def markdown_text(result: CheckResult) -> str:
    lines = [f"### edgebench check: {summary_line(result)}", "", _md_row(HEADERS), "|" + "---|" * len(HEADERS)]
    for cells, row in zip(body(result), result.rows):
        if row.regressed:
            cells[6] = f"**{cells[6]}**"
        lines.append(_md_row(cells))
    return "\n".join(lines + [""] + [f"- {line}" for line in footer(result)]) + "\n"


def json_text(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), indent=1, sort_keys=True, allow_nan=False) + "\n"


def render(result: CheckResult, fmt: str = "table") -> str:
    return {"table": table_text, "markdown": markdown_text, "json": json_text}[fmt](result)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`edgebench check NEW --against REFERENCE` options."""
    p.add_argument("new", type=Path, help="results file to check (.jsonl)")
    p.add_argument("--against", type=Path, required=True, metavar="REFERENCE", help="reference results file")
    p.add_argument(
        "--tolerance",
        default=f"{check.DEFAULT_TOLERANCE_PCT:g}%",
        help="a regression: the whole 95%% interval of the median's change beyond this (default 5%%)",
    )
    p.add_argument(
        "--quality-tolerance",
        type=float,
        default=check.DEFAULT_QUALITY_TOLERANCE,
        help="accuracy drop in points, or MSE rise in %%, that fails the check (default %(default)s)",
    )
    p.add_argument("--format", choices=("table", "markdown", "json"), default="table")


def main(args: argparse.Namespace) -> int:
    """0 when nothing regressed, 1 otherwise; unusable input raises InputError (exit 2 through bench.cli)."""
    tolerance = check.parse_pct(args.tolerance)  # here, not as an argparse type: a bad value is one error line
    result = check.check(args.new, args.against, tolerance, args.quality_tolerance)
    sys.stdout.write(render(result, args.format))
    return 1 if result.regressed else 0
