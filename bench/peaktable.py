"""`edgebench peaks [--format json] [--measure]`: the peaks a run on this machine is held against, each with its kind
(published, derived, measured), formula and source, then the whole table of known boards at their nominal clocks.

Standard library only, apart from numpy for a measured CPU peak (:mod:`bench.cpupeak`).
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any, Dict, List, Optional

from bench import cpupeak, machine, peaks

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument(
        "--measure",
        action="store_true",
        help=f"measure this CPU's achievable peak now ({cpupeak.MEASURE_S:.0f} s; run it on an idle machine) and "
        "cache it; only for CPUs the table does not know",
    )
    p.add_argument("--measure-s", type=float, default=cpupeak.MEASURE_S, help="how long --measure measures, s")


def _row(device: str, precision: str, gops: float, kind: str, formula: str, source: str, note: str = "") -> Dict:
    return {
        "device": device,
        "precision": precision,
        "gops": round(gops, 3),
        "kind": kind,
        "formula": formula,
        "source": source,
        "note": note,
    }


def this_machine(facts: Dict[str, Any], measured: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Every peak that applies here: the table's at this board's clocks, else the measured and derived CPU peak."""
    rows = []
    for device in peaks.DEVICES:
        for precision in peaks.PRECISIONS:
            a = peaks.for_machine(facts, device, precision)
            if a is not None and (device != "tpu" or (facts.get("accelerator") or {}).get("coral")):
                rows.append(_row(device, precision, a.gops, a.kind, a.formula, a.source, a.note))
    if peaks.board_knows_cpu(facts):
        return rows
    if measured:
        rows.append(_row("cpu", "fp32", measured["gops"], peaks.MEASURED, "", cpupeak.describe(measured)))
    else:
        rows.append(
            {
                "device": "cpu",
                "precision": "fp32",
                "gops": None,
                "kind": peaks.MEASURED,
                "formula": "",
                "note": "",
                "source": "not measured yet: `edgebench peaks --measure` on an idle machine (compare and demo measure "
                "once when none is cached)",
            }
        )
    theory = cpupeak.derived_x86()
    if theory and measured and measured["gops"] > theory["gops"]:
        ghz = measured["gops"] / theory["gops"] * theory["ghz"]
        theory["note"] = (
            f"below the measured peak: the cores run faster than the reported clock (boost), about {ghz:.2f} GHz at "
            "this many operations per cycle"
        )
    if theory:
        rows.append(
            _row(
                "cpu",
                "fp32",
                theory["gops"],
                peaks.DERIVED,
                theory["formula"],
                theory["source"],
                theory.get("note") or "theoretical: shown beside the measured peak, which shares are taken of",
            )
        )
    return rows


def table() -> List[Dict[str, Any]]:
    """The table of known boards at their nominal clocks (a run scales them to the clock its board reports)."""
    out = []
    for p in peaks.PEAKS:
        formula = p.formula.replace("{clock}", f"{p.mhz / 1000.0:g} GHz")
        row = _row(p.device, p.precision, p.gops, p.kind, formula, p.source, p.note)
        board = p.board if p.board != "*" else "any host"
        extra = " ".join(x for x in (p.model_contains, p.memory.upper()) if x)
        out.append({"board": f"{board} {extra}".strip(), **row, "nominal_mhz": p.mhz or None})
    return out


def render(facts: Dict[str, Any], mine: List[Dict[str, Any]], known: List[Dict[str, Any]]) -> str:
    board = facts.get("board") or {}
    cpu = facts.get("cpu") or {}
    lines = [
        f"Peaks a run here is held against: board {board.get('id')} ({board.get('model')}), CPU {cpu.get('model')}, "
        f"{cpu.get('cores')} cores, max clock {cpu.get('max_freq_mhz') or 'not readable'} MHz",
    ]
    for r in mine:
        gops = "-" if r["gops"] is None else f"{r['gops']:.2f}"
        lines.append(f"  {r['device']} {r['precision']:<5} {gops:>10} GOP/s  {r['kind']:<9} {r['formula']}")
        lines.append(f"      source: {r['source']}" + (f"; {r['note']}" if r["note"] else ""))
    lines.append(
        "Known boards, at their nominal clocks (a run scales CPU peaks to cpuinfo_max_freq, Jetson GPU peaks to"
    )
    lines.append("the GPU's max clock under the power mode):")
    for r in known:
        lines.append(
            f"  {r['board']:<24} {r['device']} {r['precision']:<5} {r['gops']:>10.2f} GOP/s  {r['kind']:<9} "
            f"{r['formula']}"
        )
        lines.append(f"      source: {r['source']}" + (f"; {r['note']}" if r["note"] else ""))
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    from bench.errors import InputError

    facts = machine.facts()
    if args.measure:
        if peaks.board_knows_cpu(facts):
            raise InputError(
                f"this board ({facts['board']['id']}) has table peaks; a measured CPU peak is never used for it",
                "run `edgebench peaks` to see them",
            )
        if args.measure_s <= 0:
            raise InputError(f"--measure-s {args.measure_s} is not a positive duration", "give --measure-s 20")
        entry = cpupeak.measure_and_store(duration_s=args.measure_s)
        log.info(
            "measured %.1f GOP/s fp32: %s (cached in %s)", entry["gops"], cpupeak.describe(entry), entry["cache_file"]
        )
    measured = None if peaks.board_knows_cpu(facts) else cpupeak.cached()
    mine, known = this_machine(facts, measured), table()
    if args.format == "json":
        print(json.dumps({"machine": facts, "this_machine": mine, "table": known}, indent=1, default=str))
    else:
        print(render(facts, mine, known), end="")
    return 0
