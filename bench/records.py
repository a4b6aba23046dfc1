"""Typed result records, written as JSON Lines. Standard library only.

Appending never rewrites or truncates what is already in the file: one ``os.write`` of one complete
line on a file opened with O_APPEND, then fsync. If an earlier crash left a partial last line, the new
record starts on a fresh line and readers skip (and report) the broken one.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from bench.errors import InputError

log = logging.getLogger(__name__)

#: 2 added the sections ``compare``, ``fleet``, ``energy``, ``compute``, ``sustained`` and ``profile``
#: (empty when unused); version-1 lines are upgraded on read by :func:`upgrade`.
#: 3 changed the meaning of ``compute``: ``pct_of_peak`` is never above 100 (such a share is ``peak_error``, naming
#: its cause), the Cortex-A57/A72 CPU peaks are 8 fp32 operations per cycle and core (not 16), and a measured CPU peak
#: is the one cached once per machine (not measured in the run's process); added ``peak_clock_mhz``,
#: ``peak_clock_source``, ``peak_theoretical_gops``, ``input_shape``, ``by_precision`` and ``machine.memory_mb``.
#: Version-2 compute sections are upgraded on read by :func:`_compute_v3`.
SCHEMA_VERSION = 3
#: the results file every command appends to unless told otherwise (bench and the launcher alike)
DEFAULT_RESULTS = Path("results/results.jsonl")


def utc_now() -> str:
    """Now in UTC, to the second, ISO 8601 with a Z: ``2026-12-04T22:55:00Z``. Every timestamp edgebench writes (records'
    ``created_utc``, manifests, verify reports, the measured CPU peak, fleet logs) is this one; strings compare in
    time order."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ModelInfo:
    path: str
    sha256: str
    size_mb: float
    format: str
    inputs: List[Dict[str, Any]] = field(default_factory=list)
    outputs: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class DataInfo:
    path: str
    sha256: str
    samples: int
    x_shape: List[int] = field(default_factory=list)
    x_dtype: str = ""
    y_shape: List[int] = field(default_factory=list)
    keys: List[str] = field(default_factory=list)
    adaptation: List[str] = field(default_factory=list)  # what was done to fit the model: transposed, quantized


@dataclass
class Latency:
    """Steady-state latencies. ``invoke``: the runtime call alone; ``e2e``: prepare + invoke + fetch."""

    invoke: Dict[str, float]
    e2e: Dict[str, float]
    load_ms: float
    first_inference_ms: float
    warmup_runs: int
    warmup_s: float
    measured_s: float
    high_variance: bool
    raw_invoke_ns: List[int] = field(default_factory=list)
    raw_e2e_ns: List[int] = field(default_factory=list)
    import_ms: float = 0.0  # importing the framework, before load; not part of load_ms
    #: MLPerf LoadGen's SingleStream early-stopping p90 of the invoke samples (bench.early_stopping.estimate): the
    #: estimate in ms and the number of queries; empty in records written before it existed
    early_stopping: Dict[str, Any] = field(default_factory=dict)
    #: how the measurement stopped (bench.harness: "count and time", or "until stable" with its bound and outcome)
    stopping: Dict[str, Any] = field(default_factory=dict)


@dataclass
class RunRecord:
    created_utc: str
    tool: Dict[str, str]
    framework: str
    runtime: Dict[str, Any]
    options: Dict[str, Any]
    machine: Dict[str, Any]
    model: Optional[ModelInfo] = None
    data: Optional[DataInfo] = None
    latency: Optional[Latency] = None
    quality: Dict[str, Any] = field(default_factory=dict)
    conversion: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    status: str = "ok"
    error: Optional[str] = None
    #: compare runs: id (model, data, configs, options), config (preset name), round, order seed (bench.compare)
    compare: Dict[str, Any] = field(default_factory=dict)
    #: fleet runs: board name from the inventory and the engine's identity (launcher.fleet)
    fleet: Dict[str, Any] = field(default_factory=dict)
    #: power source, idle and measured watts, energy per inference; "unavailable" with a reason when no sensor
    energy: Dict[str, Any] = field(default_factory=dict)
    #: operations per inference, achieved GOP/s and share of the device's peak
    compute: Dict[str, Any] = field(default_factory=dict)
    #: --sustained-s: per-window statistics and the sustained slowdown
    sustained: Dict[str, Any] = field(default_factory=dict)
    #: --profile: per-operator time (profiled runs never mix with unprofiled latency statistics)
    profile: Dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> RunRecord:
        """A typed record from a dict read back from a results file (upgraded to this schema first)."""
        d = upgrade(data)
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if isinstance(kw.get("model"), dict):
            kw["model"] = ModelInfo(**_known(ModelInfo, kw["model"]))
        if isinstance(kw.get("data"), dict):
            kw["data"] = DataInfo(**_known(DataInfo, kw["data"]))
        if isinstance(kw.get("latency"), dict):
            kw["latency"] = Latency(**_known(Latency, kw["latency"]))
        return cls(**kw)


_SCALARS = (int, float, str, bool, type(None))


def _plain(obj: Any) -> Any:
    """``dataclasses.asdict``, with a list of plain numbers copied at once: asdict deep-copies a run's raw latencies
    (tens of thousands of ints) one by one, about 0.1 s a record, paid several times per compare run."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, list):
        return list(obj) if all(type(v) in _SCALARS for v in obj) else [_plain(v) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_plain(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((_plain(k), _plain(v)) for k, v in obj.items())
    return copy.deepcopy(obj)  # a scalar, or what asdict would deep-copy too


def _known(cls: Any, d: Dict[str, Any]) -> Dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


#: sections added by each schema version, with the value an older record gets for them
_ADDED = {2: {"compare": {}, "fleet": {}, "energy": {}, "compute": {}, "sustained": {}, "profile": {}}}


def _compute_v3(record: Dict[str, Any]) -> None:
    """A version-2 ``compute`` section in version 3's meaning (see SCHEMA_VERSION); works on ``record``'s copy."""
    c = record.get("compute")
    if not isinstance(c, dict) or not c.get("peak_gops"):
        return
    c = record["compute"] = dict(c)
    board = ((record.get("machine") or {}).get("board") or {}).get("id")
    formula = str(c.get("peak_formula") or "")
    if c.get("device") == "cpu" and board in ("rpi4", "jetson-nano") and "x 16 fp32 ops/cycle" in formula:
        c["peak_gops"] = c["peak_gops"] / 2.0
        c["peak_formula"] = formula.replace("x 16 fp32 ops/cycle (2 FMLA.4S)", "x 8 fp32 ops/cycle").replace(
            "x 16 fp32 ops/cycle", "x 8 fp32 ops/cycle"
        )
        c["peak_note"] = "corrected on read: Cortex-A57/A72 issue one FMLA.4S per cycle (8 fp32 ops), not 16"
        if c.get("pct_of_peak") is not None:
            c["pct_of_peak"] = c["pct_of_peak"] * 2.0
    if c.get("peak_kind") == "measured":
        c["peak_source"] = f"{c.get('peak_source')} (measured in the run's own process: not comparable between runs)"
    pct = c.get("pct_of_peak")
    if pct is not None and pct > 100.0:
        c["pct_of_peak"] = None
        c["peak_error"] = (
            f"above 100% of the peak ({pct:.0f}% of a {c.get('peak_kind')} peak) is impossible: recorded by an "
            "older edgebench whose peak was wrong (a measured peak from half a second in the run's own process, or "
            "Cortex-A57/A72 peaks twice too high)"
        )


#: changes of meaning by schema version, applied on read to records older than it
_CHANGED = {3: _compute_v3}


def upgrade(record: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of ``record`` moved to SCHEMA_VERSION (pytest-benchmark style: old files are upgraded on read).

    The file itself is never rewritten. A record from a newer schema is returned as it is.
    """
    d = dict(record)
    version = int(d.get("schema_version", 1) or 1)
    for v in sorted(_ADDED):
        if version < v:
            for key, default in _ADDED[v].items():
                d.setdefault(key, json.loads(json.dumps(default)))
    for v in sorted(_CHANGED):
        if version < v:
            _CHANGED[v](d)
    if version < SCHEMA_VERSION:
        d["schema_version"] = SCHEMA_VERSION
    return d


def to_json_line(record: Any) -> str:
    data = record.to_dict() if hasattr(record, "to_dict") else record
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str) + "\n"


def append_jsonl(path: Path, record: Any) -> None:
    """Append one record as one line. Never truncates or rewrites earlier lines."""
    line = to_json_line(record).encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise InputError(f"output {path} is a directory", "give a file path such as results/results.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size > 0:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    line = b"\n" + line  # an earlier writer died mid-line: start clean, keep its bytes
        written = os.write(fd, line)
        while written < len(line):  # regular files write fully; this guards odd filesystems
            written += os.write(fd, line[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> Iterator[Dict[str, Any]]:
    """Lines of a results file as dicts, as written; broken lines are skipped with a warning, never fatal."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"results file {path} not found", "run `python -m bench run ... --output FILE` first")
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d is not a complete JSON record (interrupted write?); skipped", path, lineno)


def read_records(path: Path) -> Iterator[Dict[str, Any]]:
    """Records of a results file upgraded to the current schema (see :func:`upgrade`); broken lines skipped."""
    for d in read_jsonl(path):
        yield upgrade(d) if isinstance(d, dict) else d
