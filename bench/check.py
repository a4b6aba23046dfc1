"""`edgebench check NEW --against REFERENCE`: did a change make a model slower (or worse) on a board, beyond noise?

Per (board, model, config) present in both files:

* **latency**: the change of the median invoke latency, ``median(NEW) / median(REFERENCE) - 1``, with the 95 %
  percentile-bootstrap interval the compare computes for its speedups (bench.config_summary.speedup_interval: rounds
  pooled, B and seed recorded). A *regression* when the whole interval lies above ``+tolerance``, an
  *improvement* when it lies below ``-tolerance``, else *unchanged*: a change the noise cannot rule out never fails.
* **quality**: an accuracy drop of more than ``quality tolerance`` percentage points, or an MSE rise of more than
  ``quality tolerance`` percent, is a regression too (random-weight models have no quality figure).
* a config with no ok run in NEW *failed*; a config in one file only is listed and does not fail the check.

Environment facts that change what a latency means (runtime versions, CPU governor and clocks, Jetson power mode,
emulation, image; bench.record_groups.ENVIRONMENT_FACTS) are shown beside each verdict where the two files differ.

Each file may hold many compares (results.jsonl grows): the latest compare of each model on each board is used,
plus any runs made outside a compare. Unusable input (not a results file, different models by sha256, nothing in
common) raises InputError: one line, exit 2. Exit 1 when something regressed or failed, else 0.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from bench.config_summary import (
    BOOTSTRAP_B,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    median_sorted,
    pooled_raw_ms,
    speedup_interval,
    summarize,
)
from bench.errors import InputError
from bench.record_groups import ENVIRONMENT_FACTS, board_key, group_records, model_name, value_at

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE_PCT = 5.0
DEFAULT_QUALITY_TOLERANCE = 0.5  # accuracy percentage points, or MSE percent
Key = Tuple[str, str, str]  # (board, model, config label)

REGRESSION, IMPROVEMENT, UNCHANGED, FAILED = "REGRESSION", "improvement", "unchanged", "FAILED"
NO_INTERVAL, ONLY_NEW, ONLY_REFERENCE, NO_REFERENCE = "no interval", "only in NEW", "only in REFERENCE", "no reference"


METHOD = (
    f"change = median(NEW raw invoke samples) / median(REFERENCE) - 1, rounds pooled; {CONFIDENCE:.0%} "
    f"percentile bootstrap interval, B={BOOTSTRAP_B}, seed={BOOTSTRAP_SEED}"
)


def parse_pct(text: str) -> float:
    """'5%' or '5' -> 5.0 (argparse type)."""
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise InputError(f"tolerance {text!r} is not a percentage", "pass e.g. --tolerance 5%") from None
    if not 0 <= value < 100:
        raise InputError(f"tolerance {text!r} is outside 0-100 %", "pass e.g. --tolerance 5%")
    return value


@dataclass
class Row:
    board: str
    model: str
    config: str
    verdict: str
    regressed: bool = False
    #: median of the pooled raw invoke samples (the change's point estimate); without raw samples, of the round p50s
    reference_median_ms: Optional[float] = None
    new_median_ms: Optional[float] = None
    change_pct: Optional[float] = None  # median(NEW) / median(REFERENCE) - 1, in %
    ci_low_pct: Optional[float] = None
    ci_high_pct: Optional[float] = None
    quality: str = ""
    quality_regressed: bool = False
    environment: List[str] = field(default_factory=list)  # "fact: REFERENCE -> NEW" where the files differ
    notes: List[str] = field(default_factory=list)


@dataclass
class CheckResult:
    new: str
    reference: str
    tolerance_pct: float
    quality_tolerance: float
    rows: List[Row]
    compares: Dict[str, List[str]]  # "NEW"/"REFERENCE" -> compare ids used
    interval_method: str

    @property
    def regressed(self) -> List[Row]:
        return [r for r in self.rows if r.regressed]

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["passed"] = not self.regressed
        return d


class _Silence(logging.Filter):
    """Counts (and hides) bench.records' warning per broken line, so a file that is not results gives one line."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.count += 1
        return False


def is_run(record: Any) -> bool:
    return isinstance(record, dict) and "framework" in record and "status" in record


def load(path: Path, what: str) -> List[Dict[str, Any]]:
    """The run records of a results file; InputError when it holds none (not a results file)."""
    from bench.records import read_records

    silence = _Silence()
    records_log = logging.getLogger("bench.records")
    records_log.addFilter(silence)
    try:
        records = [r for r in read_records(Path(path)) if is_run(r)]
    except (UnicodeDecodeError, IsADirectoryError):
        records = []
    finally:
        records_log.removeFilter(silence)
    if not records:
        raise InputError(
            f"{what} {path} is not an edgebench results file (no run records"
            + (f"; {silence.count} lines are not JSON" if silence.count else "")
            + ")",
            "pass the results .jsonl that `edgebench compare` or `run --output` wrote",
        )
    if silence.count:
        log.warning("%s: %d broken lines skipped", path, silence.count)
    return records


def latest(records: Sequence[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], List[str]]:
    """The records of the latest compare of each (board, model), and runs outside any compare; the ids kept."""
    last: Dict[Tuple[str, str], str] = {}
    for r in records:
        cid = value_at(r, "compare", "id")
        if cid:
            last[(board_key(r), model_name(r))] = str(cid)
    kept = [
        r
        for r in records
        if not value_at(r, "compare", "id") or last.get((board_key(r), model_name(r))) == r["compare"]["id"]
    ]
    return kept, sorted(set(last.values()))


def groups_of(records: Sequence[Dict[str, Any]]) -> Dict[Key, List[Dict[str, Any]]]:
    """Records by (board, model, config label): bench.record_groups's groups without the compare id."""
    out: Dict[Key, List[Dict[str, Any]]] = {}
    for (_, board, model, label), recs in group_records(records).items():
        out.setdefault((board, model, label), []).extend(recs)
    return out


def identity(records: Iterable[Dict[str, Any]]) -> Tuple[Optional[str], frozenset]:
    """(sha256 of the compare's source model or None, sha256s of the files measured)."""
    records = list(records)
    source = next(
        (
            value_at(r, "compare", "source_model", "sha256")
            for r in records
            if value_at(r, "compare", "source_model", "sha256")
        ),
        None,
    )
    measured = frozenset(value_at(r, "model", "sha256") for r in records if value_at(r, "model", "sha256"))
    return source, measured


def same_model(new: Sequence[Dict[str, Any]], ref: Sequence[Dict[str, Any]]) -> Optional[str]:
    """None when both groups measured the same model, else the two sha256s that differ."""
    (src_n, files_n), (src_r, files_r) = identity(new), identity(ref)
    if src_n and src_r:
        return None if src_n == src_r else f"source sha256 {src_n[:12]} vs {src_r[:12]}"
    if not files_n or not files_r or files_n & files_r:
        return None
    return f"sha256 {min(files_n)[:12]} vs {min(files_r)[:12]}"


#: run options a config label does not show, compared beside the environment
OPTION_FACTS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("threads", ("options", "threads")),
    ("delegate", ("runtime", "delegate")),
)


def environment(records: Iterable[Dict[str, Any]]) -> Dict[Tuple[str, str], str]:
    """(board, fact) -> value(s) over the ok records (bench.record_groups.ENVIRONMENT_FACTS, OPTION_FACTS, runtime
    versions)."""
    seen: Dict[Tuple[str, str], set] = {}
    for r in records:
        if r.get("status") != "ok":
            continue
        board = board_key(r)
        for name, path in (*ENVIRONMENT_FACTS, *OPTION_FACTS):
            value = value_at(r, *path)
            if name.startswith("Coral") and value is not None:
                value = sorted(d.get("speed_mbps") for d in value)
            seen.setdefault((board, name), set()).add(str(value))
        versions = value_at(r, "runtime", "versions") or {}
        text = ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "None"
        seen.setdefault((board, f"{r.get('framework')} versions"), set()).add(text)
    return {k: " | ".join(sorted(v)) for k, v in seen.items()}


def environment_changes(
    new: Dict[Tuple[str, str], str], ref: Dict[Tuple[str, str], str], board: str, framework: str
) -> List[str]:
    out = []
    for (b, fact), value in new.items():
        if b != board or (fact.endswith(" versions") and fact != f"{framework} versions"):
            continue
        before = ref.get((b, fact))
        if before is not None and before != value:
            out.append(f"{fact}: {before} -> {value}")
    return out


def _latency(row: Row, new: Sequence[Dict[str, Any]], ref: Sequence[Dict[str, Any]], tol: float) -> None:
    new_pool, ref_pool = pooled_raw_ms(new), pooled_raw_ms(ref)
    if new_pool and ref_pool:
        row.new_median_ms, row.reference_median_ms = median_sorted(new_pool), median_sorted(ref_pool)
        ratio, low, high = speedup_interval(new_pool, ref_pool)  # median(NEW) / median(REFERENCE)
        row.change_pct, row.ci_low_pct, row.ci_high_pct = (100 * (v - 1) for v in (ratio, low, high))
        if row.ci_low_pct > tol:
            row.verdict, row.regressed = REGRESSION, True
        elif row.ci_high_pct < -tol:
            row.verdict = IMPROVEMENT
        else:
            row.verdict = UNCHANGED
        return
    if row.new_median_ms and row.reference_median_ms:
        row.change_pct = 100 * (row.new_median_ms / row.reference_median_ms - 1)
    row.verdict = NO_INTERVAL
    row.notes.append("no raw samples (--no-raw) in one file: no interval, no verdict")


def _quality(row: Row, new: Any, ref: Any, qtol: float) -> None:
    """new, ref: bench.config_summary.ConfigSummary of the two groups."""
    if new.quality is None or ref.quality is None or new.quality_metric != ref.quality_metric:
        row.quality = new.quality_note or ref.quality_note or "-"
        return
    if new.quality_metric == "accuracy":
        points = 100 * (new.quality - ref.quality)
        row.quality = f"acc {100 * ref.quality:.2f}% -> {100 * new.quality:.2f}% ({points:+.2f} pt)"
        row.quality_regressed = points < -qtol
    else:
        rel = 100 * (new.quality / ref.quality - 1) if ref.quality else (0.0 if new.quality == 0 else float("inf"))
        row.quality = f"MSE {ref.quality:.4g} -> {new.quality:.4g} ({rel:+.2f}%)"
        row.quality_regressed = rel > qtol
    if row.quality_regressed:
        row.regressed = True
        row.quality += " QUALITY REGRESSION"


def compare_groups(
    new: Dict[Key, List[Dict[str, Any]]],
    ref: Dict[Key, List[Dict[str, Any]]],
    tol: float = DEFAULT_TOLERANCE_PCT,
    qtol: float = DEFAULT_QUALITY_TOLERANCE,
) -> List[Row]:
    """One row per key of either side (REFERENCE's order first); InputError for different models or no overlap."""
    common = [k for k in ref if k in new]
    if not common:
        raise InputError(
            f"NEW and REFERENCE have no (board, model, config) in common: NEW has {_names(new)}; "
            f"REFERENCE has {_names(ref)}",
            "check results of the same model on the same board with the same --configs",
        )
    for k in common:
        differs = same_model(new[k], ref[k])
        if differs:
            raise InputError(
                f"{k[1]} ({k[2]}) on {k[0]} is a different model in NEW and REFERENCE ({differs})",
                "check results of the same model file; a changed model needs new reference results",
            )
    env_new, env_ref = environment(r for g in new.values() for r in g), environment(r for g in ref.values() for r in g)
    rows = []
    for k in [*ref, *(k for k in new if k not in ref)]:
        row = Row(*k, verdict="")
        if k not in new or k not in ref:
            row.verdict = ONLY_REFERENCE if k not in new else ONLY_NEW
            rows.append(row)
            continue
        s_new, s_ref = (_summary(g) for g in (new[k], ref[k]))
        row.new_median_ms, row.reference_median_ms = s_new.p50_ms, s_ref.p50_ms
        if s_new.p50_ms is None:
            row.verdict, row.regressed = FAILED, True
            row.notes += s_new.errors[:1]
        elif s_ref.p50_ms is None:
            row.verdict = NO_REFERENCE
            row.notes.append("REFERENCE has no ok run of this config")
        else:
            _latency(row, new[k], ref[k], tol)
            _quality(row, s_new, s_ref, qtol)
        row.environment = environment_changes(env_new, env_ref, k[0], s_new.framework)
        rows.append(row)
    return rows


def _summary(group: Sequence[Dict[str, Any]]) -> Any:
    return summarize(list(group))[0]


def _names(groups: Dict[Key, Any]) -> str:
    by: Dict[Tuple[str, str], List[str]] = {}
    for board, model, label in groups:
        by.setdefault((board, model), []).append(label)
    return "; ".join(f"{m} on {b}: {', '.join(labels)}" for (b, m), labels in by.items()) or "nothing"


def check(
    new_path: Path,
    ref_path: Path,
    tol: float = DEFAULT_TOLERANCE_PCT,
    qtol: float = DEFAULT_QUALITY_TOLERANCE,
) -> CheckResult:
    """Check the results file ``new_path`` against ``ref_path``."""
    new, new_ids = latest(load(new_path, "NEW"))
    ref, ref_ids = latest(load(ref_path, "REFERENCE"))
    rows = compare_groups(groups_of(new), groups_of(ref), tol, qtol)
    return CheckResult(str(new_path), str(ref_path), tol, qtol, rows, {"NEW": new_ids, "REFERENCE": ref_ids}, METHOD)


#: bench.verify labels each run "verify <preset>" (RunConfig.label)
VERIFY_PREFIX = "verify "


def verify_groups(output: Path, since_utc: str) -> Dict[Key, List[Dict[str, Any]]]:
    """The runs `edgebench verify` appended to ``output`` since ``since_utc``, by (board, model, preset)."""
    from bench.records import read_records

    out: Dict[Key, List[Dict[str, Any]]] = {}
    for r in read_records(Path(output)):
        label = str(value_at(r, "options", "label") or "")
        if is_run(r) and label.startswith(VERIFY_PREFIX) and str(r.get("created_utc", "")) >= since_utc:
            out.setdefault((board_key(r), model_name(r), label[len(VERIFY_PREFIX) :]), []).append(r)
    return out


def hold_verify(
    output: Path,
    since_utc: str,
    reference: Path,
    tol: float = DEFAULT_TOLERANCE_PCT,
    qtol: float = DEFAULT_QUALITY_TOLERANCE,
) -> CheckResult:
    """`edgebench verify --reference FILE`: this verify's runs held to the reference results as `check` does."""
    ref, ref_ids = latest(load(reference, "REFERENCE"))
    rows = compare_groups(verify_groups(output, since_utc), groups_of(ref), tol, qtol)
    return CheckResult(f"verify runs in {output}", str(reference), tol, qtol, rows, {"REFERENCE": ref_ids}, METHOD)
