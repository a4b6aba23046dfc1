"""Comparison statistics over result records: one summary per (compare id, board, config label).

Standard library only (reports need no numpy) and seeded, so the same files always give the same numbers.

Latency: per group, the median of the per-round invoke p50s (``p50_ms``) and the spread between rounds
(``spread_ms`` = max - min of the round p50s).

Speedup against the baseline label on the same board, with a bootstrap 95% interval:

* point estimate: ``median(baseline pooled raw invoke samples) / median(config pooled raw samples)``;
  above 1 means the config is faster than the baseline. "Pooled" = the raw samples of every round together.
* interval: percentile bootstrap. Each pool is resampled independently with replacement, ``BOOTSTRAP_B``
  times, from a ``random.Random(BOOTSTRAP_SEED)``; the ratio of the two resample medians is taken each time,
  and the 2.5th and 97.5th percentiles (linear interpolation, numpy's default) of those ratios are the bounds.
* ``significant`` is False when the interval contains 1.

A resample's median is drawn without building the resample (see :func:`bootstrap_median`): with the pool
sorted, the k-th smallest of n uniform draws is the pool at index floor(n * U_(k)), and U_(k) follows
Beta(k, n + 1 - k). This is the ordinary bootstrap of the median in distribution, at O(1) per resample
instead of O(n log n): 10 000 resamples of two pools of 15 000 samples take about 0.1 s instead of
minutes in pure Python. Records without raw samples (``--no-raw``) get the point estimate from the round
p50s and no interval, and say so in ``notes``.

Quality: accuracy (classification) or MSE (regression) change against the run of the unchanged source
model (``compare.source_model.sha256`` equal to the record's model sha256), else against the baseline.
Random-weight models (``quality.not_meaningful``) get no quality figure.

Groups are bench.record_groups's: records written by ``bench run`` alone (no ``compare`` section) form ad-hoc
groups too, so plots and csv work on them (``compare_id`` is "").
"""

from __future__ import annotations

import logging
import random
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from bench.record_groups import PROFILED_SUFFIX, group_records, is_profiled, value_at
from bench.stats import bootstrap_median, percentile

log = logging.getLogger(__name__)

BOOTSTRAP_B = 10_000
BOOTSTRAP_SEED = 20_240_601
CONFIDENCE = 0.95
ESTIMATOR = (
    f"speedup = median(baseline raw invoke samples) / median(config raw samples), rounds pooled; "
    f"{CONFIDENCE:.0%} percentile bootstrap interval, B={BOOTSTRAP_B}, seed={BOOTSTRAP_SEED}"
)


def accelerator_presets() -> Tuple[str, ...]:
    """Presets that run on an accelerator (the accelerators chart): their runtime or delegate declares it."""
    from bench import runtimes
    from bench.compare.presets import PRESETS

    return tuple(name for name, p in PRESETS.items() if runtimes.is_accelerator(p.framework, p.delegate))


def is_accelerator(config: str, framework: str = "") -> bool:
    """An accelerator preset, or (a run outside a compare has no preset name) a runtime that declares it."""
    from bench import runtimes

    return config in accelerator_presets() or runtimes.is_accelerator(framework)


@dataclass
class ConfigSummary:
    compare_id: str
    board: str
    model: str
    label: str
    config: str
    framework: str
    threads: Optional[int]
    records: int
    ok_records: int
    status: str  # "ok" | "partial" (some runs failed) | "error" (every run failed)
    p50_ms: Optional[float] = None  # median of round p50s
    spread_ms: Optional[float] = None  # max - min of round p50s
    round_p50_ms: List[float] = field(default_factory=list)
    raw_samples: int = 0
    p10_ms: Optional[float] = None  # pooled raw samples
    p90_ms: Optional[float] = None
    order: Optional[int] = None  # position of the label in the compare's config list (compare.labels)
    baseline: str = ""
    is_baseline: bool = False
    speedup: Optional[float] = None
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    significant: Optional[bool] = None
    interval_method: str = ""  # how ci_low/ci_high were computed (B and seed), empty without an interval
    best: bool = False  # lowest p50_ms among the ok configs of this compare on this board
    quality_metric: str = ""  # "accuracy" | "mse" | ""
    quality: Optional[float] = None
    quality_delta: Optional[float] = None
    quality_reference: str = ""
    quality_note: str = ""
    size_mb: Optional[float] = None
    load_ms: Optional[float] = None
    first_inference_ms: Optional[float] = None
    peak_rss_mb: Optional[float] = None
    conversion_s: Optional[float] = None
    emulated: bool = False
    throttled: bool = False
    profiled: bool = False  # --profile runs: latencies include the profiler's overhead, kept apart (label suffix)
    gops_per_s: Optional[float] = None  # operations per inference (record.compute.ops) / p50_ms
    pct_of_peak: Optional[float] = None  # of the record's peak for its device and precision (bench.peaks)
    compute_note: str = ""  # why there is no share of peak (no int8 peak for this CPU, no graph to count, ...)
    peak_error: str = ""  # a share above 100 %: the error it is and its cause (bench.peak_share.over_peak_error)
    errors: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    #: MLPerf early-stopping p90 (bench.early_stopping), median over the ok runs, and the fewest queries of a run
    early_stopping_p90_ms: Optional[float] = None
    early_stopping_queries: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def pooled_raw_ms(records: Sequence[Dict[str, Any]]) -> List[float]:
    """Raw invoke latencies of the ok records, rounds pooled, in ms, sorted."""
    out: List[float] = []
    for r in records:
        if r.get("status") == "ok":
            out.extend(ns / 1e6 for ns in (value_at(r, "latency", "raw_invoke_ns") or []))
    return sorted(out)


def median_sorted(xs: Sequence[float]) -> float:
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def speedup_interval(
    baseline_ms: Sequence[float], config_ms: Sequence[float], b: int = BOOTSTRAP_B, seed: int = BOOTSTRAP_SEED
) -> Tuple[float, float, float]:
    """(point, low, high): ratio of medians baseline/config and its percentile-bootstrap interval.

    Both inputs must be sorted ascending. Each of the ``b`` resamples draws the baseline median first,
    then the config median, from one ``random.Random(seed)``.
    """
    if not baseline_ms or not config_ms:
        raise ValueError("speedup of an empty sample")
    rng = random.Random(seed)
    ratios = sorted(bootstrap_median(baseline_ms, rng) / bootstrap_median(config_ms, rng) for _ in range(b))
    tail = (1.0 - CONFIDENCE) / 2.0 * 100.0
    point = median_sorted(baseline_ms) / median_sorted(config_ms)
    return point, percentile(ratios, tail), percentile(ratios, 100.0 - tail)


def _median_of(values: Iterable[Any]) -> Optional[float]:
    xs = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return statistics.median(xs) if xs else None


def _quality(records: Sequence[Dict[str, Any]]) -> Tuple[str, Optional[float], str]:
    """(metric, median value over ok runs, note)."""
    qs = [r.get("quality") or {} for r in records if r.get("status") == "ok"]
    qs = [q for q in qs if q]
    if not qs:
        return "", None, ""
    if any(q.get("not_meaningful") for q in qs):
        reason = next(q["not_meaningful"] for q in qs if q.get("not_meaningful"))
        return "", None, f"not meaningful ({reason})"
    metric = "accuracy" if qs[0].get("task") == "classification" else "mse"
    return metric, _median_of(q.get(metric) for q in qs), ""


def _latency(s: ConfigSummary, ok: Sequence[Dict[str, Any]]) -> None:
    by_round: Dict[Any, List[float]] = {}
    for i, r in enumerate(ok):
        p50 = value_at(r, "latency", "invoke", "p50_ms")
        if isinstance(p50, (int, float)):
            rnd = value_at(r, "compare", "round")
            by_round.setdefault(i if rnd is None else rnd, []).append(float(p50))
    order = sorted(by_round, key=lambda k: (0, k, "") if isinstance(k, int) else (1, 0, str(k)))
    s.round_p50_ms = [statistics.median(by_round[k]) for k in order]
    if s.round_p50_ms:
        s.p50_ms = statistics.median(s.round_p50_ms)
        s.spread_ms = max(s.round_p50_ms) - min(s.round_p50_ms)
    raw = pooled_raw_ms(ok)
    s.raw_samples = len(raw)
    if raw:
        s.p10_ms, s.p90_ms = percentile(raw, 10), percentile(raw, 90)
    elif ok:
        s.notes.append("no raw samples (--no-raw): no p10/p90 whiskers")


def summarize_group(key: Tuple[str, str, str, str], records: Sequence[Dict[str, Any]]) -> ConfigSummary:
    """Everything about one group that does not need another group (speedup and quality change come later)."""
    ok = [r for r in records if r.get("status") == "ok"]
    first = (ok or list(records))[0]
    cmp = first.get("compare") or {}
    status = "error" if not ok else ("partial" if len(ok) < len(records) else "ok")
    s = ConfigSummary(
        compare_id=key[0],
        board=key[1],
        model=key[2],
        label=key[3],
        config=str(cmp.get("config") or key[3]),
        framework=str(first.get("framework") or ""),
        threads=cmp.get("threads", value_at(first, "options", "threads")),
        records=len(records),
        ok_records=len(ok),
        status=status,
        baseline=str(cmp.get("baseline") or ""),
        profiled=is_profiled(first),
    )
    if s.profiled and s.baseline:
        s.baseline += PROFILED_SUFFIX  # a profiled compare's baseline is the profiled run of that label
    labels = cmp.get("labels") or []
    plain = key[3][: -len(PROFILED_SUFFIX)] if s.profiled else key[3]
    s.order = labels.index(plain) if plain in labels else None
    _latency(s, ok)
    _early_stopping(s, ok)
    s.quality_metric, s.quality, s.quality_note = _quality(ok)
    _compute(s, ok)
    s.size_mb = _median_of(value_at(r, "model", "size_mb") for r in ok)
    s.load_ms = _median_of(value_at(r, "latency", "load_ms") for r in ok)
    s.first_inference_ms = _median_of(value_at(r, "latency", "first_inference_ms") for r in ok)
    s.peak_rss_mb = _median_of(value_at(r, "machine", "peak_rss_mb") for r in ok)
    s.conversion_s = _median_of(value_at(r, "compare", "conversion_s") for r in records)
    s.emulated = any(value_at(r, "machine", "emulated") for r in records)
    s.throttled = any(value_at(r, "machine", "state", "throttled") for r in records)
    for r in records:
        err = r.get("error") if r.get("status") != "ok" else None
        if err and str(err) not in s.errors:
            s.errors.append(str(err))
    if status == "partial":
        s.notes.append(f"{len(records) - len(ok)} of {len(records)} runs failed")
    return s


def _early_stopping(s: ConfigSummary, ok: Sequence[Dict[str, Any]]) -> None:
    from bench.early_stopping import median_estimate_ms

    sections = [value_at(r, "latency", "early_stopping") or {} for r in ok]
    s.early_stopping_p90_ms = median_estimate_ms(sections)
    queries = [sec["queries"] for sec in sections if sec.get("estimate_ms") is not None]
    s.early_stopping_queries = min(queries) if queries else None


def _compute(s: ConfigSummary, ok: Sequence[Dict[str, Any]]) -> None:
    """GOP/s from the operations per inference over the group's p50, and its share of the records' peak."""
    counted = [r["compute"] for r in ok if isinstance(r.get("compute"), dict) and r["compute"].get("ops")]
    if not counted or not s.p50_ms:
        notes = [r["compute"].get("unavailable") for r in ok if isinstance(r.get("compute"), dict)]
        s.compute_note = next((str(n) for n in notes if n), "")
        return
    s.gops_per_s = counted[0]["ops"] / (s.p50_ms / 1e3) / 1e9
    peak = _median_of(c.get("peak_gops") for c in counted)
    if peak:
        pct = 100.0 * s.gops_per_s / peak
        if pct > 100.0:  # impossible: shown as the error it is, with its cause (bench.peak_share)
            from bench.peak_share import over_peak_error

            s.peak_error = over_peak_error(pct, str(counted[0].get("peak_kind") or "unknown"))
        else:
            s.pct_of_peak = pct
    else:
        s.compute_note = str(counted[0].get("peak_unavailable") or "no peak")


def _source_sha(records: Sequence[Dict[str, Any]]) -> Optional[str]:
    for r in records:
        sha = value_at(r, "compare", "source_model", "sha256")
        if sha:
            return str(sha)
    return None


def _runs_model(records: Sequence[Dict[str, Any]], sha: str) -> bool:
    return any(r.get("status") == "ok" and value_at(r, "model", "sha256") == sha for r in records)


def _set_speedup(s: ConfigSummary, base: ConfigSummary, pools: Dict[int, List[float]]) -> None:
    s.baseline, s.is_baseline = base.label, s is base
    if base.p50_ms is None and s.p50_ms is not None:
        s.notes.append(f"no speedup: the baseline {base.label} has no ok run")
    if s.p50_ms is None or base.p50_ms is None or s.p50_ms <= 0:
        return
    if s.is_baseline:
        s.speedup = 1.0
        return
    mine, theirs = pools.get(id(s)), pools.get(id(base))
    if mine and theirs:
        s.speedup, s.ci_low, s.ci_high = speedup_interval(theirs, mine)
        s.significant = not (s.ci_low <= 1.0 <= s.ci_high)
        s.interval_method = (
            f"{CONFIDENCE:.0%} percentile bootstrap of the ratio of medians, B={BOOTSTRAP_B}, seed={BOOTSTRAP_SEED}"
        )
    else:
        s.speedup = base.p50_ms / s.p50_ms  # ratio of round-median medians; no interval without raw samples
        s.notes.append("speedup from round medians, no interval: no raw samples (--no-raw)")


def _set_quality_change(s: ConfigSummary, ref: Optional[ConfigSummary]) -> None:
    if ref is None or s.quality is None or ref.quality is None or ref.quality_metric != s.quality_metric:
        return
    s.quality_delta = s.quality - ref.quality
    s.quality_reference = ref.label


def _pick_baseline(members: List[ConfigSummary], wanted: Optional[str]) -> Optional[ConfigSummary]:
    by_label = {m.label: m for m in members}
    for name in (wanted, members[0].baseline if members else None):
        if name and name in by_label:
            return by_label[name]
    if wanted:
        log.warning("baseline %r not among the configs %s; using %s", wanted, sorted(by_label), members[0].label)
    return members[0] if members else None


def summarize(records: List[Dict[str, Any]], baseline: Optional[str] = None) -> List[ConfigSummary]:
    """One :class:`ConfigSummary` per (compare id, board, model, label), in first-seen order.

    ``baseline`` overrides the baseline label recorded by the compare (``compare.baseline``); records
    written outside a compare use the first label seen per (board, model) unless ``baseline`` names one.
    """
    groups = group_records(records)
    summaries = {key: summarize_group(key, recs) for key, recs in groups.items()}
    pools = {id(s): pooled_raw_ms(groups[k]) for k, s in summaries.items()}
    families: Dict[Tuple[str, str, str], List[Tuple[str, str, str, str]]] = {}
    for key in summaries:
        families.setdefault(key[:3], []).append(key)
    for keys in families.values():
        members = [summaries[k] for k in keys]
        base = _pick_baseline(members, baseline)
        sha = _source_sha([r for k in keys for r in groups[k]])
        ref = next((summaries[k] for k in keys if sha and _runs_model(groups[k], sha)), base)
        same = base.profiled if base is not None else False  # "best" among runs measured the same way
        ok = [m for m in members if m.p50_ms is not None and m.profiled == same]
        fastest = min(ok, key=lambda m: m.p50_ms) if ok else None  # type: ignore[arg-type,return-value]
        for m in members:
            if base is not None and m.profiled != base.profiled:
                m.notes.append(
                    "profiled run: no speedup against the unprofiled baseline (the profiler's overhead)"
                    if m.profiled
                    else f"no speedup against the profiled baseline {base.label} (the profiler's overhead)"
                )
            elif base is not None:
                _set_speedup(m, base, pools)
            _set_quality_change(m, ref)
            m.best = m is fastest and len(ok) > 1
    return [s for keys in families.values() for s in sorted((summaries[k] for k in keys), key=_display_order)]


def _display_order(s: ConfigSummary) -> Tuple[int, int]:
    """Baseline first, then the user's order of configs; first seen otherwise (sorted() is stable)."""
    return (0 if s.is_baseline else 1, s.order if s.order is not None else 1 << 30)
