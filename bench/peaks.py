"""Which of the board table's peaks a run is held against, and at which clock: the lookup and the scaling.

The peaks themselves, with their sources and the LLVM scheduling models their CPU factors come from, are in the
board records (:mod:`bench.boards`); ``PEAKS`` is all of them in the table's order. A CPU peak is evaluated at the
clock the board reports (``cpuinfo_max_freq``; the nominal clock when it cannot be read), a Jetson GPU peak at the
GPU's maximum clock under the active power mode (devfreq ``max_freq``, which nvpmodel sets, else the power mode's
known clock from the board's record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from bench import boards
from bench.board_types import DERIVED, DEVICES, KINDS, MEASURED, PRECISIONS, PUBLISHED, Peak

__all__ = ["DERIVED", "DEVICES", "KINDS", "MEASURED", "PEAKS", "PRECISIONS", "PUBLISHED", "Applied", "Peak"]

#: every known peak, one entry per (board, model, memory, device, precision); values at the nominal clock (``mhz``)
PEAKS: Tuple[Peak, ...] = boards.all_peaks()


def orin_memory(machine: Dict[str, Any]) -> str:
    """ "4gb" or "8gb" for a board sold with two memory modules, the Orin Nano (MemTotal against its record's
    threshold; the developer kit's module is the 8 GB one), "" when unknown or when the board has one module."""
    board = machine.get("board") or {}
    record = boards.by_id(board.get("id", ""))
    if record is None or record.memory_4gb_below_mb is None:
        return ""
    mb = machine.get("memory_mb")
    if mb:
        return "4gb" if float(mb) < record.memory_4gb_below_mb else "8gb"
    return "8gb" if "Developer Kit" in (board.get("model") or "") else ""


def lookup(board: str, model: str, device: str, precision: str, memory: str = "") -> Optional[Peak]:
    """The table's peak for this board (model string and Orin Nano module), device and precision; None when none.

    The Edge TPU entry (board ``*``) applies on any host board."""
    for p in PEAKS:
        if p.board not in (board, "*") or p.device != device or p.precision != precision:
            continue
        if p.model_contains and p.model_contains not in (model or ""):
            continue
        if p.memory and p.memory != memory:
            continue
        return p
    return None


def clock_of(peak: Peak, machine: Dict[str, Any]) -> Tuple[float, str]:
    """(MHz, where it comes from) the peak is evaluated at: the board's maximum clock, else the table's nominal."""
    if peak.scales_with == "cpu":
        mhz = (machine.get("cpu") or {}).get("max_freq_mhz")
        if mhz:
            return float(mhz), "cpuinfo_max_freq"
        return peak.mhz, "nominal clock (cpuinfo_max_freq not readable)"
    if peak.scales_with == "gpu":
        jetson = (machine.get("accelerator") or {}).get("jetson") or {}
        mhz = (jetson.get("gpu") or {}).get("max_mhz")
        if mhz:
            return float(mhz), "GPU devfreq max_freq (set by the power mode)"
        mode = (jetson.get("power_mode") or {}).get("name") or ""
        record = boards.by_id(peak.board)
        known = dict(record.power_mode_gpu_mhz) if record else {}
        if mode in known:
            return known[mode], f"power mode {mode}"
        return peak.mhz, "data sheet clock (GPU max clock and power mode not readable)"
    return peak.mhz, ""


@dataclass(frozen=True)
class Applied:
    """A table peak evaluated for one machine: at its clock, with the formula filled in."""

    gops: float
    kind: str
    source: str
    formula: str
    note: str
    clock_mhz: float
    clock_source: str


def applied(peak: Peak, machine: Dict[str, Any]) -> Applied:
    """``peak`` at this machine's clock (see :func:`clock_of`); a scaled published figure becomes derived."""
    mhz, where = clock_of(peak, machine)
    gops, kind, formula = peak.gops, peak.kind, peak.formula
    if peak.scales_with:
        gops = peak.gops * mhz / peak.mhz
        clock = f"{mhz / 1000.0:g} GHz ({where})"
        if "{clock}" in formula:
            formula = formula.replace("{clock}", clock)
        elif abs(mhz - peak.mhz) > 0.5:
            formula, kind = f"{formula}, x {mhz:g}/{peak.mhz:g} MHz ({where})", DERIVED
        formula = f"{formula} = {gops:.2f}"
    return Applied(gops, kind, peak.source, formula, peak.note, mhz, where)


def for_machine(machine: Dict[str, Any], device: str, precision: str) -> Optional[Applied]:
    """The table's peak for the board in ``machine`` (a record's machine section), at its clock; None if none."""
    board = machine.get("board") or {}
    bid, model = board.get("id", ""), board.get("model", "")
    p = lookup(bid, model, device, precision, orin_memory(machine))
    return None if p is None else applied(p, machine)


def board_knows_cpu(machine: Dict[str, Any]) -> bool:
    """True when the table has some CPU peak for this board (then no measured peak is used)."""
    board = machine.get("board") or {}
    return any(lookup(board.get("id", ""), board.get("model", ""), "cpu", p) for p in PRECISIONS)
