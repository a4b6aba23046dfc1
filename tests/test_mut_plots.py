"""bench/plots.py's charts read back from their matplotlib objects, on summaries and records written by hand: bar
positions, heights and whiskers, the log-scale switch, the Pareto front drawn, a run's time axis, the sustained
windows, file names and the per-model choice of summaries. (No test name here holds "chart": the mutation run
leaves such names out, for the slow `report --plot` tests.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from bench.config_summary import ConfigSummary
from bench.errors import InputError
from tests.conftest import require
from tests.test_report import make_record


@pytest.fixture(scope="module")
def plots() -> Any:
    require("matplotlib")
    from bench import plots

    return plots


def cs(board: str, label: str, p50: Optional[float], p10: Optional[float] = None, p90: Optional[float] = None,
       model: str = "m", cid: str = "c1", **kw: Any) -> ConfigSummary:  # fmt: skip
    return ConfigSummary(cid, board, model, label, label, label.split("-")[0], None, 1, 1, "ok", p50, **kw,
                         p10_ms=p10, p90_ms=p90)  # fmt: skip


def bars(ax: Any) -> List[Any]:
    return [c for c in ax.containers if c.__class__.__name__ == "BarContainer"]


def whiskers(ax: Any) -> List[List[List[float]]]:
    out = []
    for c in ax.containers:
        if c.__class__.__name__ == "ErrorbarContainer":
            out += [[list(map(float, p)) for p in seg] for seg in c.lines[2][0].get_segments()]
    return out


def test_latency_bars_whiskers_and_log_scale_by_hand(plots: Any) -> None:
    summaries = [
        cs("pi5", "A", 1.0, 0.8, 1.5),
        cs("pi5", "B", 30.0, 25.0, 40.0),
        cs("nano", "A", 2.0, emulated=True),
        cs("nano", "B", None),
    ]
    ax = plots.latency_chart(summaries, "T").axes[0]
    pi5, nano = bars(ax)
    assert (pi5.get_label(), nano.get_label()) == ("pi5", "nano (EMULATED)")
    # two boards: bars 0.4 wide, centred 0.2 left and right of each config's tick
    assert [p.get_x() + p.get_width() / 2 for p in pi5.patches] == pytest.approx([-0.2, 0.8])
    assert [p.get_x() + p.get_width() / 2 for p in nano.patches] == pytest.approx([0.2])
    assert [p.get_width() for p in pi5.patches] == pytest.approx([0.4, 0.4])
    assert [p.get_height() for p in pi5.patches] == [1.0, 30.0] and [p.get_height() for p in nano.patches] == [2.0]
    got = [v for seg in whiskers(ax) for point in seg for v in point]
    want = [[[-0.2, 0.8], [-0.2, 1.5]], [[0.8, 25.0], [0.8, 40.0]], [[0.2, 2.0], [0.2, 2.0]]]  # no p10/p90: none
    assert got == pytest.approx([v for seg in want for point in seg for v in point])
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("failed") == 1 and {"1", "30", "2"} <= set(texts)
    (failed,) = [t for t in ax.texts if t.get_text() == "failed"]
    assert failed.get_position()[0] == pytest.approx(1.2)
    # whisker ends span 0.8 .. 40 ms: 50x > 20x, log scale
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "latency per inference, batch 1 (ms, log scale)"
    assert ax.get_title() == "T\np50 (median of round medians), whiskers p10-p90 of raw samples"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B"] and ax.get_xlabel() == "config"
    assert ax.get_xticklabels()[0].get_rotation() == 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pi5", "nano (EMULATED)"]


def test_latency_within_20x_is_linear_and_five_configs_lean(plots: Any) -> None:
    summaries = [cs("pi5", lab, p50, p50 * 0.9, p50 * 1.1) for lab, p50 in zip("ABCDE", (1.0, 2.0, 5.0, 10.0, 16.0))]
    ax = plots.latency_chart(summaries, "T").axes[0]
    (one,) = bars(ax)
    assert [p.get_width() for p in one.patches] == pytest.approx([0.8] * 5)  # one board: bars 0.8 wide
    assert [p.get_x() + p.get_width() / 2 for p in one.patches] == pytest.approx([0, 1, 2, 3, 4])
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "latency per inference, batch 1 (ms)"  # 17.6 / 0.9
    assert ax.get_xticklabels()[0].get_rotation() == 20
    # without whiskers the bars decide: exactly 20x stays linear, just over is log
    assert plots.latency_chart([cs("p", "A", 1.0), cs("p", "B", 20.0)], "T").axes[0].get_yscale() == "linear"
    assert plots.latency_chart([cs("p", "A", 1.0), cs("p", "B", 20.5)], "T").axes[0].get_yscale() == "log"


def test_pareto_plot_draws_each_boards_front_by_hand(plots: Any) -> None:
    acc = {"quality_metric": "accuracy"}
    summaries = [
        cs("pi5", "A", 1.0, quality=0.90, **acc),
        cs("pi5", "B", 2.0, quality=0.95, **acc),
        cs("pi5", "C", 3.0, quality=0.94, **acc),
        cs("pi5", "D", 0.5, quality=0.80, **acc),
        cs("pi5", "R", 0.1, quality=0.99, quality_note="random weights", **acc),  # not a quality figure
        cs("pi5", "M", 0.2, quality=0.01, quality_metric="mse"),  # another metric: left out
        cs("pi5", "F", None, quality=0.99, **acc),  # failed
    ]
    ax = plots.pareto_chart(summaries, "m").axes[0]
    (front,) = ax.lines
    assert list(front.get_xdata()) == [0.5, 1.0, 2.0] and list(front.get_ydata()) == pytest.approx([80, 90, 95])
    assert front.get_label() == "pi5"
    assert [a.get_text() for a in ax.texts] == ["D", "A", "B", "C"]  # sorted by latency
    assert ax.get_xscale() == "log"  # 3.0 / 0.5 = 6 > 5
    assert ax.get_ylabel() == "accuracy (%)" and ax.get_ylim()[1] <= 100.5
    assert ax.get_title() == "m: latency against accuracy\nPareto front of each board filled and joined"
    mse = [
        cs("pi5", "A", 1.0, quality=0.3, quality_metric="mse"),
        cs("pi5", "B", 2.0, quality=0.1, quality_metric="mse"),
    ]
    ax = plots.pareto_chart(mse + [cs("pi5", "C", 3.0, quality=0.2, quality_metric="mse")], "m").axes[0]
    assert list(ax.lines[0].get_xdata()) == [1.0, 2.0] and list(ax.lines[0].get_ydata()) == [0.3, 0.1]
    assert ax.get_ylabel() == "MSE (lower is better)" and ax.get_xscale() == "linear"  # 3x
    assert plots.pareto_chart([cs("pi5", "A", 1.0)], "m") is None


def test_pareto_front_of_ties_and_of_lower_is_better(plots: Any) -> None:
    # equal points do not dominate each other; a point equal on one figure and worse on the other is dominated
    assert plots.pareto_front([(1.0, 90.0), (1.0, 90.0)], True) == [0, 1]
    assert plots.pareto_front([(1.0, 90.0), (1.0, 85.0), (2.0, 90.0)], True) == [0]
    assert plots.pareto_front([(1.0, 0.5), (2.0, 0.5), (3.0, 0.1), (0.5, 0.9)], False) == [3, 0, 2]


def test_run_plot_time_axis_and_log_bins(plots: Any) -> None:
    raw = [1.0, 2.0, 3.0, 100.0]
    fig = plots.run_chart(make_record("onnx", raw))
    over_time, hist = fig.axes
    assert list(over_time.lines[0].get_xdata()) == pytest.approx([0.001, 0.003, 0.006, 0.106])  # cumulative, s
    assert list(over_time.lines[0].get_ydata()) == pytest.approx(raw)
    # 100 / 1 > 20: log axes, 60 bins spaced evenly in log from 1 to 100
    assert over_time.get_yscale() == "log" and hist.get_xscale() == "log" and hist.get_yscale() == "log"
    assert hist.get_xlabel() == "invoke latency (ms, log scale)" and len(hist.patches) == 60
    assert hist.patches[0].get_x() == pytest.approx(1.0) and hist.patches[-1].get_x() == pytest.approx(100 ** (59 / 60))
    assert fig._suptitle.get_text() == "digits_cnn: onnx on generic, 4 runs"
    fig = plots.run_chart(make_record("onnx", [1.0, 2.0, 3.0]))
    assert fig.axes[0].get_yscale() == "linear" and fig.axes[1].get_xlabel() == "invoke latency (ms)"
    with pytest.raises(ValueError):
        plots.run_chart({"latency": {"raw_invoke_ns": []}})


def sustained(windows: List[Dict[str, Any]], slowdown: Optional[float]) -> Dict[str, Any]:
    rec = make_record("onnx", [1.0, 2.0])
    rec["sustained"] = {"seconds": 60, "slowdown": slowdown, "windows": windows}
    return rec


def test_sustained_plot_windows_temperature_and_throttling(plots: Any) -> None:
    windows = [
        {"start_s": 0, "seconds": 20, "p50_ms": 1.0, "p90_ms": 2.0, "temp_c": 50.0},
        {"start_s": 20, "seconds": 20, "p50_ms": 1.1, "p90_ms": 2.2, "temp_c": None, "throttle_flags": ["arm"]},
        {"start_s": 40, "seconds": 20, "p50_ms": 1.3, "p90_ms": 2.5, "temp_c": 60.0},
    ]
    fig = plots.sustained_chart(sustained(windows, 1.25))
    ax, ax_t = fig.axes
    p50, p90 = ax.lines
    assert list(p50.get_xdata()) == [10, 30, 50] and list(p50.get_ydata()) == [1.0, 1.1, 1.3]
    assert list(p90.get_ydata()) == [2.0, 2.2, 2.5] and (p50.get_label(), p90.get_label()) == ("p50", "p90")
    assert list(ax_t.lines[0].get_xdata()) == [10, 50] and list(ax_t.lines[0].get_ydata()) == [50.0, 60.0]
    (span,) = ax.patches  # the throttled window shaded, 20 s to 40 s
    assert (span.get_x(), span.get_x() + span.get_width()) == pytest.approx((20, 40))
    assert fig._suptitle.get_text() == "digits_cnn: onnx on generic, sustained 60 s, slowdown 1.25x"
    cool = [dict(w, temp_c=None, throttle_flags=[]) for w in windows]
    fig = plots.sustained_chart(sustained(cool, None))
    assert len(fig.axes) == 1 and not fig.axes[0].patches
    assert [t.get_text() for t in fig.axes[0].texts] == ["no readable thermal zone"]
    assert fig._suptitle.get_text() == "digits_cnn: onnx on generic, sustained 60 s"
    with pytest.raises(ValueError):
        plots.sustained_chart(sustained([], None))


def test_save_names_and_formats(plots: Any, tmp_path: Path) -> None:
    fig = plots.latency_chart([cs("pi5", "A", 1.0)], "T")
    paths = plots.save(fig, tmp_path / "new", "m: a b/c")
    assert [p.name for p in paths] == ["m_a_b_c.png", "m_a_b_c.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in paths[1].read_bytes()[:400]
    assert b"Software" not in paths[0].read_bytes()[:200] and b"<dc:date>" not in paths[1].read_bytes()
    assert [p.name for p in plots.save(fig, tmp_path, "///")] == ["x.png", "x.svg"]
    assert [p.name for p in plots.save(fig, tmp_path, "_a.b-c_")] == ["a.b-c.png", "a.b-c.svg"]


def test_by_model_prefers_compare_runs_and_keeps_the_last(plots: Any) -> None:
    first, last = cs("pi5", "A", 1.0, cid="c1"), cs("pi5", "A", 2.0, cid="c2")
    loose = cs("pi5", "A", 9.0, cid="")
    other = cs("pi5", "B", 3.0, cid="c1")
    alone = cs("pi5", "A", 4.0, model="n", cid="")
    got = plots.by_model([first, loose, other, last, alone])
    assert got == {"m": [last, other], "n": [alone]}


def test_every_figure_and_write_plots(plots: Any, tmp_path: Path) -> None:
    recs = [make_record(c, [1.0 + i, 1.5 + i, 2.0 + i]) for i, c in enumerate(("pytorch", "onnx"))]
    from bench import config_summary

    figs = plots.charts(recs, config_summary.summarize(recs))
    assert sorted(figs) == ["digits_cnn_latency", "digits_cnn_latency_vs_quality", "run_digits_cnn"]
    written = plots.write_plots(recs, tmp_path / "plots")
    assert sorted(p.name for p in written) == sorted(f"{k}.{x}" for k in figs for x in ("png", "svg"))
    assert all(p.is_file() for p in written)
    no_raw = [make_record("onnx", [1.0, 2.0], keep_raw=False)]
    assert "run_digits_cnn" not in plots.charts(no_raw, config_summary.summarize(no_raw))
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        plots.write_plots(recs, afile)


def test_figure_size_resolution_layout_and_colours(plots: Any, tmp_path: Path) -> None:
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    one = plots.latency_chart([cs("pi5", "A", 1.0), cs("nano", "A", 2.0), cs("orin", "A", 3.0)], "T")
    assert tuple(one.get_size_inches()) == (8.0, 4.5) and one.dpi == 100
    assert type(one.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    assert isinstance(one.canvas, FigureCanvasAgg)
    assert one.axes[0].get_subplotspec().get_gridspec().get_geometry() == (1, 1)
    two = plots.run_chart(make_record("onnx", [1.0, 2.0]))
    assert tuple(two.get_size_inches()) == pytest.approx((8.0 * 1.4, 4.5))
    assert two.axes[1].get_subplotspec().get_gridspec().get_geometry() == (1, 2)
    # boards shaded along cividis from 0.15 to 0.85, evenly
    cmap = colormaps["cividis"]
    got = [tuple(c.patches[0].get_facecolor()) for c in bars(one.axes[0])]
    assert got == [pytest.approx(cmap(v)) for v in (0.15, 0.5, 0.85)]
    paths = plots.save(one, tmp_path / "a" / "b", "Net X")  # folders made as needed; capitals kept
    assert [p.name for p in paths] == ["Net_X.png", "Net_X.svg"] and all(p.is_file() for p in paths)
    assert [p.name for p in plots.save(one, tmp_path, "Xm")] == ["Xm.png", "Xm.svg"]


def test_bars_readable_in_grey_and_a_gap_or_failure_in_the_middle(plots: Any) -> None:
    summaries = [cs("pi5", "A", 1.0), cs("pi5", "B", None), cs("pi5", "C", 3.0), cs("nano", "C", 2.0)]
    ax = plots.latency_chart(summaries, "T").axes[0]
    pi5, nano = bars(ax)
    assert [p.get_height() for p in pi5.patches] == [1.0, 3.0] and [p.get_height() for p in nano.patches] == [2.0]
    assert [c.patches[0].get_hatch() or "" for c in (pi5, nano)] == ["", "//"]  # boards differ by hatch too
    assert all(tuple(p.get_edgecolor()) == (0.0, 0.0, 0.0, 1.0) for p in pi5.patches + nano.patches)
    (failed,) = [t for t in ax.texts if t.get_text() == "failed"]
    assert failed.get_position() == pytest.approx((1.0 - 0.2, 0.02)) and failed.get_rotation() == 90
    assert failed.get_transform() == ax.get_xaxis_transform()  # y in axes fraction: readable on a log axis too
