"""Charts of result records (matplotlib, Agg backend; imported only here and only when plots are asked for).

* per model, latency per config grouped by board: p50 bars (median of round medians) with p10-p90
  whiskers from the pooled raw samples, log scale when the tallest bar is over 20x the shortest;
* per model, the same for the accelerator presets only (none run -> no file, said in a log line);
* per model, latency against accuracy (or MSE) with the Pareto front marked;
* for one run (the last record with raw samples), its latency over time and its histogram.
* for the last --sustained-s run, p50/p90 per window and the temperature over time (throttled windows shaded).

Each chart is written as PNG and SVG. Boards differ by hatch and marker as well as by colour (cividis,
whose lightness rises monotonically), so a grey print stays readable. The plotting functions return
matplotlib ``Figure`` objects (made without pyplot: no global state, nothing left open).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench import config_summary, record_groups
from bench.config_summary import ConfigSummary
from bench.errors import FrameworkUnavailable, InputError

log = logging.getLogger(__name__)

HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "--", "++")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LOG_RANGE = 20.0  # log scale when max / min of the plotted latencies is above this
PARETO_LOG_RANGE = 5.0  # points, not bars: a log axis separates close fast configs sooner
FIGSIZE = (8.0, 4.5)
DPI = 100


def _figure(ncols: int = 1) -> Tuple[Any, List[Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(FIGSIZE[0] * (1.4 if ncols > 1 else 1), FIGSIZE[1]), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _shades(n: int) -> List[Any]:
    from matplotlib import colormaps

    cmap = colormaps["cividis"]
    return [cmap(0.15 + 0.7 * i / max(1, n - 1)) for i in range(n)]


def _board_name(summaries: Sequence[ConfigSummary], board: str) -> str:
    emulated = any(s.emulated for s in summaries if s.board == board)
    return f"{board} (EMULATED)" if emulated else board


def latency_chart(summaries: Sequence[ConfigSummary], title: str) -> Any:
    """p50 bars per config (x) and board (one bar container per board), p10-p90 whiskers; returns the Figure."""
    labels = list(dict.fromkeys(s.label for s in summaries))
    boards = list(dict.fromkeys(s.board for s in summaries))
    by_key = {(s.board, s.label): s for s in summaries}
    fig, (ax,) = _figure()
    width = 0.8 / max(1, len(boards))
    heights: List[float] = []
    for bi, (board, shade) in enumerate(zip(boards, _shades(len(boards)))):
        xs, ys, lo, hi = [], [], [], []
        for li, label in enumerate(labels):
            s = by_key.get((board, label))
            x = li - 0.4 + width * (bi + 0.5)
            if s is None:
                continue
            if s.p50_ms is None:
                ax.text(
                    x,
                    0.02,
                    "failed",
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    transform=ax.get_xaxis_transform(),
                )  # x in data, y in axes fraction: any y scale
                continue
            xs.append(x)
            ys.append(s.p50_ms)
            lo.append(s.p50_ms - s.p10_ms if s.p10_ms is not None else 0.0)
            hi.append(s.p90_ms - s.p50_ms if s.p90_ms is not None else 0.0)
        bars = ax.bar(xs, ys, width, color=shade, edgecolor="black", hatch=HATCHES[bi % len(HATCHES)])
        bars.set_label(_board_name(summaries, board))
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="black", capsize=3, linewidth=1)
        ax.bar_label(
            bars,
            [f"{y:.3g}" for y in ys],
            label_type="center",
            fontsize=7,
            bbox={"fc": "white", "ec": "none", "pad": 1},
        )
        heights += [y - d for y, d in zip(ys, lo)] + [y + d for y, d in zip(ys, hi)]
    log_scale = bool(heights) and min(heights) > 0 and max(heights) / min(heights) > LOG_RANGE
    if log_scale:
        ax.set_yscale("log")
    ax.set_xticks(
        range(len(labels)), labels, rotation=20 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center"
    )
    ax.set_xlabel("config")
    ax.set_ylabel("latency per inference, batch 1 (ms" + (", log scale)" if log_scale else ")"))
    ax.set_title(title + "\np50 (median of round medians), whiskers p10-p90 of raw samples", fontsize=10)
    ax.margins(y=0.15)
    ax.legend(title="board", fontsize=8)
    return fig


def accelerator_chart(summaries: Sequence[ConfigSummary], model: str) -> Optional[Any]:
    """Latency chart of the accelerator presets only; None (and a log line) when none of them ran."""
    acc = [s for s in summaries if config_summary.is_accelerator(s.config, s.framework)]
    if not any(s.p50_ms is not None for s in acc):
        log.info(
            "%s: no accelerator config (%s) ran; no accelerators chart",
            model,
            ", ".join(config_summary.accelerator_presets()),
        )
        return None
    return latency_chart(acc, f"{model}: accelerators, latency per config")


def pareto_front(points: Sequence[Tuple[float, float]], higher_is_better: bool) -> List[int]:
    """Indexes of the points no other point beats on both latency (lower) and quality."""
    sign = 1.0 if higher_is_better else -1.0
    front = []
    for i, (lat, q) in enumerate(points):
        dominated = any(
            (lat2 <= lat and sign * q2 >= sign * q) and (lat2 < lat or sign * q2 > sign * q)
            for j, (lat2, q2) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


LINESTYLES = ("--", ":", "-.", (0, (5, 1, 1, 1)))


def pareto_chart(summaries: Sequence[ConfigSummary], model: str) -> Optional[Any]:
    """Latency against accuracy (or MSE), each board's Pareto front filled and joined; None when no quality to show."""
    pts = [s for s in summaries if s.p50_ms is not None and s.quality is not None and not s.quality_note]
    if not pts:
        log.info("%s: no quality figures (none measured, or random weights); no latency-quality chart", model)
        return None
    acc = pts[0].quality_metric == "accuracy"
    pts = [s for s in pts if s.quality_metric == pts[0].quality_metric]
    xy = [(s.p50_ms, 100 * s.quality if acc else s.quality) for s in pts]
    fig, (ax,) = _figure()
    for bi, board in enumerate(dict.fromkeys(s.board for s in pts)):
        idx = [i for i, s in enumerate(pts) if s.board == board]
        xs, ys = [xy[i][0] for i in idx], [xy[i][1] for i in idx]
        marker = MARKERS[bi % len(MARKERS)]
        front = [idx[j] for j in pareto_front(list(zip(xs, ys)), higher_is_better=acc)]
        fx, fy = [xy[i][0] for i in front], [xy[i][1] for i in front]
        ax.scatter(xs, ys, marker=marker, s=50, facecolors="white", edgecolors="black", zorder=3)
        ax.scatter(fx, fy, marker=marker, s=50, color="black", zorder=4)
        ax.plot(
            fx,
            fy,
            linestyle=LINESTYLES[bi % len(LINESTYLES)],
            color="black",
            linewidth=1,
            marker=marker,
            markerfacecolor="white",
            markeredgecolor="black",
            label=_board_name(pts, board),
        )
    for n, i in enumerate(sorted(range(len(pts)), key=lambda i: xy[i])):  # staggered: close points stay legible
        ax.annotate(
            pts[i].label,
            xy[i],
            textcoords="offset points",
            xytext=(4, (8, -14, 20, -26)[n % 4]),
            fontsize=7,
            arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.5},
        )
    lats = [x for x, _ in xy]
    if min(lats) > 0 and max(lats) / min(lats) > PARETO_LOG_RANGE:
        ax.set_xscale("log")
    ax.set_xlabel("latency per inference, p50 (ms)")
    ax.set_ylabel("accuracy (%)" if acc else "MSE (lower is better)")
    what = "accuracy" if acc else "MSE"
    ax.set_title(f"{model}: latency against {what}\nPareto front of each board filled and joined", fontsize=10)
    ax.margins(0.15)
    if acc:
        ax.set_ylim(top=min(100.5, ax.get_ylim()[1]))  # no room above 100%
    ax.legend(title="board", fontsize=8)
    return fig


def run_chart(record: Dict[str, Any]) -> Any:
    """One run: invoke latency against elapsed measuring time, and the histogram of the same samples."""
    raw_ms = [ns / 1e6 for ns in (record.get("latency") or {}).get("raw_invoke_ns") or []]
    if not raw_ms:
        raise ValueError("run_chart needs a record with raw samples")
    elapsed, t = [], 0.0
    for v in raw_ms:
        t += v / 1000.0
        elapsed.append(t)
    label = record_groups.group_key(record)[3]
    fig, (ax_t, ax_h) = _figure(ncols=2)
    ax_t.plot(elapsed, raw_ms, marker=".", markersize=2, linestyle="none", color="black", rasterized=True)
    ax_t.set_xlabel("time spent in invoke calls (s)")
    ax_t.set_ylabel("invoke latency (ms)")
    ax_t.set_title("latency over time", fontsize=10)
    lo, hi = min(raw_ms), max(raw_ms)
    wide_range = lo > 0 and hi / lo > LOG_RANGE
    bins: Any = [lo * (hi / lo) ** (i / 60) for i in range(61)] if wide_range else 60  # log-spaced when wide
    ax_h.hist(raw_ms, bins=bins, color="0.6", edgecolor="black", hatch="//")
    ax_h.set_yscale("log")
    ax_h.set_xlabel("invoke latency (ms)")
    ax_h.set_ylabel("runs (log scale)")
    ax_h.set_title("histogram", fontsize=10)
    if wide_range:
        ax_t.set_yscale("log")
        ax_h.set_xscale("log")
        ax_h.set_xlabel("invoke latency (ms, log scale)")
    fig.suptitle(
        f"{record_groups.model_name(record)}: {label} on {record_groups.board_key(record)}, {len(raw_ms)} runs"
    )
    return fig


def sustained_chart(record: Dict[str, Any]) -> Any:
    """A --sustained-s run: p50 and p90 per window (left axis) and the hottest zone's temperature (right axis)
    against time; windows with throttle flags shaded."""
    windows = (record.get("sustained") or {}).get("windows") or []
    if not windows:
        raise ValueError("sustained_chart needs a record with sustained windows")
    x = [w["start_s"] + w["seconds"] / 2 for w in windows]
    fig, (ax,) = _figure()
    ax.plot(x, [w["p50_ms"] for w in windows], marker="o", color="black", label="p50")
    ax.plot(x, [w["p90_ms"] for w in windows], marker="^", linestyle="--", color="0.45", label="p90")
    ax.set_xlabel("time since the sustained run started (s, window centres)")
    ax.set_ylabel("invoke latency (ms)")
    temps = [(xi, w["temp_c"]) for xi, w in zip(x, windows) if w.get("temp_c") is not None]
    if temps:
        ax_t = ax.twinx()
        ax_t.plot([p[0] for p in temps], [p[1] for p in temps], marker="s", linestyle=":", color="tab:red")
        ax_t.set_ylabel("hottest thermal zone (°C)", color="tab:red")
    else:
        ax.text(0.99, 0.02, "no readable thermal zone", transform=ax.transAxes, ha="right", fontsize=8)
    for xi, w in zip(x, windows):
        if w.get("throttle_flags"):
            ax.axvspan(xi - w["seconds"] / 2, xi + w["seconds"] / 2, color="tab:red", alpha=0.12)
    ax.legend(loc="upper left", fontsize=8)
    s = record["sustained"]
    label = record_groups.group_key(record)[3]
    fig.suptitle(
        f"{record_groups.model_name(record)}: {label} on {record_groups.board_key(record)}, sustained {s['seconds']:g} s"
        + (f", slowdown {s['slowdown']:.2f}x" if s.get("slowdown") else "")
    )
    return fig


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def save(fig: Any, out_dir: Path, stem: str) -> List[Path]:
    """Write ``stem``.png and ``stem``.svg into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{_slug(stem)}.png", out_dir / f"{_slug(stem)}.svg"]
    fig.savefig(paths[0], format="png", metadata={"Software": None})
    fig.savefig(paths[1], format="svg", metadata={"Date": None})
    return paths


def by_model(summaries: Sequence[ConfigSummary]) -> Dict[str, List[ConfigSummary]]:
    """Summaries per model, compare runs preferred over loose runs, one per (board, label): the last one seen."""
    models: Dict[str, Dict[Tuple[str, str], ConfigSummary]] = {}
    has_compare = {s.model for s in summaries if s.compare_id}
    for s in summaries:
        if s.model in has_compare and not s.compare_id:
            continue
        models.setdefault(s.model, {})[(s.board, s.label)] = s
    return {m: list(v.values()) for m, v in models.items()}


def charts(records: Sequence[Dict[str, Any]], summaries: Sequence[ConfigSummary]) -> Dict[str, Any]:
    """Every chart of ``records``: file stem -> Figure (charts with nothing to draw are left out, with a log line)."""
    figs: Dict[str, Any] = {}
    for model, group in by_model(summaries).items():
        figs[f"{model}_latency"] = latency_chart(group, f"{model}: latency per config")
        figs[f"{model}_accelerators"] = accelerator_chart(group, model)
        figs[f"{model}_latency_vs_quality"] = pareto_chart(group, model)
    runs = [r for r in records if isinstance(r, dict) and (r.get("latency") or {}).get("raw_invoke_ns")]
    if runs:
        figs[f"run_{record_groups.model_name(runs[-1])}"] = run_chart(runs[-1])
    else:
        log.info("no record keeps raw samples (--no-raw); no latency-over-time chart")
    sustained = [r for r in records if isinstance(r, dict) and (r.get("sustained") or {}).get("windows")]
    if sustained:
        figs[f"sustained_{record_groups.model_name(sustained[-1])}"] = sustained_chart(sustained[-1])
    return {k: v for k, v in figs.items() if v is not None}


def write_plots(
    records: Sequence[Dict[str, Any]], out_dir: Path, summaries: Optional[Sequence[ConfigSummary]] = None
) -> List[Path]:
    """Every chart of ``records`` into ``out_dir`` (PNG and SVG); returns the files written."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"--plot needs matplotlib, which is not installed ({exc})",
            "pip install matplotlib==3.11.2 (requirements/host.txt)",
        ) from exc
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--plot {out_dir} is a file", "give a folder (it is created when missing)")
    if summaries is None:
        summaries = config_summary.summarize(list(records))
    written: List[Path] = []
    for stem, fig in charts(records, summaries).items():
        written += save(fig, out_dir, stem)
    return written
