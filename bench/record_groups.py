"""Result records read as groups: which board, model and config label a record belongs to, and which facts of the
environment differ between the records of one board.

A record's group is (compare id, board, model, label). Records written by ``bench run`` alone (no ``compare``
section) form ad-hoc groups labelled from their framework, precision, delegate and threads (``compare_id`` is "").
The record's fields are described in docs/record.md. Standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Tuple


def value_at(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...`` of a record, or None where a level is missing or not a dict (also used by bench.report)."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


#: machine.board.id of a machine that is none of the known boards (bench/machine.py): a workstation, a server
GENERIC_BOARD = "generic"
#: dropped from a CPU model string to name a generic board: "Intel(R) Xeon(R) CPU @ 2.20GHz" -> "Intel Xeon"
_CPU_NAME_NOISE = re.compile(r"\((?:R|TM|tm)\)|\bCPU\b|\bProcessor\b|\bwith\b.*$|@.*$")


def board_key(record: Dict[str, Any]) -> str:
    """fleet.board when present, else machine.board.id (docs/record.md); a generic board (a workstation) is named by
    its CPU, so two workstations never pool and a reader sees what "generic" was."""
    fleet_name = value_at(record, "fleet", "board")
    if fleet_name:
        return str(fleet_name)
    board = value_at(record, "machine", "board", "id")
    if board == GENERIC_BOARD:
        cpu = value_at(record, "machine", "cpu")
        return generic_board_name(cpu if isinstance(cpu, dict) else {})
    return str(board or "unknown")


def generic_board_name(cpu: Dict[str, Any]) -> str:
    """``generic x86_64 (AMD EPYC, 2 cores)`` from the record's machine.cpu; ``generic`` when it has none."""
    name = " ".join(str(x) for x in (GENERIC_BOARD, cpu.get("arch")) if x)
    model = " ".join(_CPU_NAME_NOISE.sub(" ", str(cpu.get("model") or "")).split())
    cores = f"{cpu['cores']} cores" if cpu.get("cores") else ""
    detail = ", ".join(x for x in (model, cores) if x)
    return f"{name} ({detail})" if detail else name


def adhoc_label(record: Dict[str, Any]) -> str:
    """A label for a record written outside a compare: framework[-precision][-delegate][ @Nt]."""
    label = str(record.get("framework") or "?")
    precision = value_at(record, "options", "convert", "precision")
    if precision and precision != "fp32":
        label += f"-{precision}"
    delegate = value_at(record, "runtime", "delegate") or value_at(record, "options", "delegate")
    if delegate and delegate not in ("default", "xnnpack"):
        label += f"-{delegate}"
    threads = value_at(record, "options", "threads")
    return label + (f" @{threads}t" if threads else "")


def model_name(record: Dict[str, Any]) -> str:
    """Stem of the source model of a compare, else of the converted-from model, else of the model run."""
    path = (
        value_at(record, "compare", "source_model", "path")
        or value_at(record, "conversion", "source")
        or value_at(record, "model", "path")
        or value_at(record, "options", "model")
        or "model"
    )
    name = Path(str(path).rstrip("/")).name
    return name.split(".", 1)[0] or name


#: appended to the label of --profile records, so they form their own groups and never pool with unprofiled ones
PROFILED_SUFFIX = " (profiled)"


def is_profiled(record: Dict[str, Any]) -> bool:
    return bool(value_at(record, "profile", "profiled"))


def group_key(record: Dict[str, Any]) -> Tuple[str, str, str, str]:
    cmp = record.get("compare") or {}
    label = str(cmp.get("label") or cmp.get("config") or adhoc_label(record))
    label += PROFILED_SUFFIX if is_profiled(record) else ""
    return str(cmp.get("id") or ""), board_key(record), model_name(record), label


def group_records(records: Iterable[Dict[str, Any]]) -> Dict[Tuple[str, str, str, str], List[Dict[str, Any]]]:
    """Records by (compare id, board, model, label), in first-seen order; non-run lines are skipped."""
    groups: Dict[Tuple[str, str, str, str], List[Dict[str, Any]]] = {}
    for r in records:
        if not isinstance(r, dict) or "framework" not in r or "status" not in r:
            continue
        groups.setdefault(group_key(r), []).append(r)
    return groups


#: facts that change what a latency means; records of one board compared side by side should agree on them
ENVIRONMENT_FACTS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("CPU governor", ("machine", "cpu", "governor")),
    ("CPU max MHz", ("machine", "cpu", "max_freq_mhz")),
    ("Jetson clocks locked", ("machine", "accelerator", "jetson", "clocks_locked")),
    ("Jetson power mode", ("machine", "accelerator", "jetson", "power_mode", "name")),
    ("Coral USB speed (Mb/s)", ("machine", "accelerator", "coral", "devices")),
    ("emulated", ("machine", "emulated")),
    ("container image", ("machine", "image")),
)


def environment_differences(records: Iterable[Dict[str, Any]]) -> List[str]:
    """What differs between the ok records of one board (and between runs of one runtime): ``board: fact:
    value (n runs), value (m runs)``. Runtime versions are compared per framework; empty when all agree."""
    seen: Dict[Tuple[str, str], Dict[str, int]] = {}
    for r in records:
        if not isinstance(r, dict) or r.get("status") != "ok":
            continue
        board = board_key(r)
        for name, path in ENVIRONMENT_FACTS:
            value = value_at(r, *path)
            if name.startswith("Coral") and value is not None:
                value = sorted(d.get("speed_mbps") for d in value)
            seen.setdefault((board, name), {}).setdefault(str(value), 0)
            seen[(board, name)][str(value)] += 1
        versions = value_at(r, "runtime", "versions") or {}
        fact = f"{r.get('framework')} versions"
        text = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        seen.setdefault((board, fact), {}).setdefault(text or "None", 0)
        seen[(board, fact)][text or "None"] += 1
    return [
        f"{board}: {name} differs: " + ", ".join(f"{v} ({n} run{'s' * (n > 1)})" for v, n in values.items())
        for (board, name), values in seen.items()
        if len(values) > 1
    ]
