"""More of bench/plots.py's figures read back from their matplotlib objects, on summaries and records written by hand:
how each board's points and Pareto front are drawn (markers, sizes, colours, line styles, label offsets), the
sustained and single-run figures' styling, whisker caps and bar labels, the log-scale and tick-layout edges, which
records the figure set draws, the log lines and error messages users read, and sizes that stay fixed whatever the
user's matplotlibrc says. Colours are compared as RGBA (matplotlib's own colour parser is the reference). (No test
name here holds "chart": the mutation run leaves such names out, for the slow `report --plot` tests.)"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest

from bench.config_summary import ConfigSummary
from bench.errors import FrameworkUnavailable, InputError
from tests.conftest import require
from tests.test_mut_plots import bars, cs
from tests.test_report import make_record

BLACK = (0.0, 0.0, 0.0, 1.0)
WHITE = (1.0, 1.0, 1.0, 1.0)
TAB_RED = (0xD6 / 255, 0x27 / 255, 0x28 / 255)  # matplotlib's "tab:red" is #d62728 (the Tableau 10 red)
ACC = {"quality_metric": "accuracy"}


@pytest.fixture(scope="module")
def plots() -> Any:
    require("matplotlib")
    from bench import plots

    return plots


def rgba(colour: Any) -> Tuple[float, ...]:
    from matplotlib.colors import to_rgba

    return tuple(float(v) for v in to_rgba(colour))


def marker_vertices(marker: str) -> Any:
    """The outline matplotlib draws for ``marker`` in a scatter (its MarkerStyle path in marker units)."""
    from matplotlib.markers import MarkerStyle

    style = MarkerStyle(marker)
    return style.get_path().transformed(style.get_transform()).vertices


def log_lines(caplog: Any) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bench.plots"]


# --- latency against quality ----------------------------------------------------------------------------------


def two_board_points() -> List[ConfigSummary]:
    # pi5: A (1 ms, 80 %), B (2 ms, 95 %), C (3 ms, 90 %): C is slower and worse than B, so the front is A, B;
    # nano: D (4 ms, 85 %), E (6 ms, 100 %): neither beats the other on both, so both are on the front
    return [
        cs("pi5", "A", 1.0, quality=0.80, **ACC),
        cs("pi5", "B", 2.0, quality=0.95, **ACC),
        cs("pi5", "C", 3.0, quality=0.90, **ACC),
        cs("nano", "D", 4.0, quality=0.85, **ACC),
        cs("nano", "E", 6.0, quality=1.00, **ACC),
    ]


def test_pareto_points_open_for_all_and_filled_for_the_front(plots: Any) -> None:
    ax = plots.pareto_chart(two_board_points(), "m").axes[0]
    pi5_all, pi5_front, nano_all, nano_front = ax.collections
    assert pi5_all.get_offsets().tolist() == [[1.0, 80.0], [2.0, 95.0], [3.0, 90.0]]
    assert pi5_front.get_offsets().tolist() == [[1.0, 80.0], [2.0, 95.0]]
    assert nano_all.get_offsets().tolist() == [[4.0, 85.0], [6.0, 100.0]]
    assert nano_front.get_offsets().tolist() == [[4.0, 85.0], [6.0, 100.0]]
    for every, front in ((pi5_all, pi5_front), (nano_all, nano_front)):
        # every point: open (white inside, black edge) under the front's filled black ones
        assert [rgba(c) for c in every.get_facecolors()] == [WHITE] and [rgba(c) for c in every.get_edgecolors()] == [
            BLACK
        ]
        assert [rgba(c) for c in front.get_facecolors()] == [BLACK] and [rgba(c) for c in front.get_edgecolors()] == [
            BLACK
        ]
        assert list(every.get_sizes()) == [50.0] and list(front.get_sizes()) == [50.0]  # 50 pt^2 each
        assert (every.get_zorder(), front.get_zorder()) == (3, 4)


def test_pareto_boards_differ_by_marker_and_line_style(plots: Any) -> None:
    ax = plots.pareto_chart(two_board_points(), "m").axes[0]
    # first board circles, second squares (MARKERS), each in its open and its filled scatter
    for coll, marker in zip(ax.collections, ("o", "o", "s", "s")):
        assert np.allclose(coll.get_paths()[0].vertices, marker_vertices(marker))
    pi5, nano = ax.lines
    assert (list(pi5.get_xdata()), list(pi5.get_ydata())) == ([1.0, 2.0], pytest.approx([80.0, 95.0]))
    assert (list(nano.get_xdata()), list(nano.get_ydata())) == ([4.0, 6.0], pytest.approx([85.0, 100.0]))
    assert (pi5.get_linestyle(), nano.get_linestyle()) == ("--", ":")  # LINESTYLES by board
    assert (pi5.get_marker(), nano.get_marker()) == ("o", "s")
    for line in (pi5, nano):
        assert rgba(line.get_color()) == BLACK and line.get_linewidth() == 1.0
        assert rgba(line.get_markerfacecolor()) == WHITE and rgba(line.get_markeredgecolor()) == BLACK
    assert (pi5.get_label(), nano.get_label()) == ("pi5", "nano")


def test_pareto_labels_staggered_in_offset_points_with_a_grey_leader(plots: Any) -> None:
    from matplotlib.patches import ArrowStyle

    ax = plots.pareto_chart(two_board_points(), "m").axes[0]
    # sorted by (latency, quality): A, B, C, D, E; offsets cycle 8, -14, 20, -26 points up, then 8 again
    assert [a.get_text() for a in ax.texts] == ["A", "B", "C", "D", "E"]
    assert [tuple(a.xy) for a in ax.texts] == [(1.0, 80.0), (2.0, 95.0), (3.0, 90.0), (4.0, 85.0), (6.0, 100.0)]
    assert [tuple(a.xyann) for a in ax.texts] == [(4, 8), (4, -14), (4, 20), (4, -26), (4, 8)]
    for a in ax.texts:
        assert a.anncoords == "offset points" and a.get_fontsize() == 7
        arrow = a.arrow_patch
        assert type(arrow.get_arrowstyle()) is type(ArrowStyle("-"))  # a plain line, no head
        assert rgba(arrow.get_edgecolor()) == (0.5, 0.5, 0.5, 1.0) and arrow.get_linewidth() == 0.5


def test_pareto_axes_title_margins_legend_and_the_100_percent_cap(plots: Any) -> None:
    ax = plots.pareto_chart(two_board_points(), "m").axes[0]
    assert ax.get_xlabel() == "latency per inference, p50 (ms)"
    assert ax.title.get_fontsize() == 10
    assert ax.margins() == (0.15, 0.15)
    # y data 80 .. 100 with 15 % margins would reach 103; the axis stops at 100.5
    assert ax.get_ylim()[1] == 100.5
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "board" and [t.get_fontsize() for t in legend.get_texts()] == [8, 8]


def test_pareto_mse_title_and_the_scale_edges(plots: Any) -> None:
    mse = {"quality_metric": "mse"}
    ax = plots.pareto_chart(
        [cs("pi5", "A", 1.0, quality=0.3, **mse), cs("pi5", "B", 5.0, quality=0.1, **mse)], "m"
    ).axes[0]
    assert ax.get_title() == "m: latency against MSE\nPareto front of each board filled and joined"
    assert ax.get_xscale() == "linear"  # 5.0 / 1.0 is exactly 5: not over it
    # a 0 ms point (a timer too coarse for a tiny model) leaves the axis linear instead of dividing by 0
    zero = [cs("pi5", "A", 0.0, quality=0.3, **mse), cs("pi5", "B", 1.0, quality=0.1, **mse)]
    assert plots.pareto_chart(zero, "m").axes[0].get_xscale() == "linear"


def test_pareto_without_quality_logs_why(plots: Any, caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="bench.plots"):
        assert plots.pareto_chart([cs("pi5", "A", 1.0)], "net") is None
    assert log_lines(caplog) == ["net: no quality figures (none measured, or random weights); no latency-quality chart"]


# --- sizes and colours a matplotlibrc cannot change ---------------------------------------------------------------

HOSTILE_RC = {"font.size": 14.0, "figure.dpi": 72.0, "lines.markeredgecolor": "red"}


def test_title_sizes_resolution_and_marker_edges_ignore_the_users_matplotlibrc(plots: Any) -> None:
    from matplotlib import rc_context

    with rc_context(HOSTILE_RC):
        latency = plots.latency_chart([cs("pi5", "A", 1.0)], "T")
        pareto = plots.pareto_chart(two_board_points(), "m")
        run = plots.run_chart(make_record("onnx", [1.0, 2.0]))
    assert latency.dpi == 100 and pareto.dpi == 100 and run.dpi == 100  # DPI, not the rc's 72
    # titles at 10 pt, not the rc's 14
    assert latency.axes[0].title.get_fontsize() == 10 and pareto.axes[0].title.get_fontsize() == 10
    assert [ax.title.get_fontsize() for ax in run.axes] == [10, 10]
    assert all(rgba(line.get_markeredgecolor()) == BLACK for line in pareto.axes[0].lines)  # not the rc's red


# --- a sustained run ---------------------------------------------------------------------------------------------


def sustained_record(windows: List[Dict[str, Any]], model: str = "digits_cnn") -> Dict[str, Any]:
    rec = make_record("onnx", [1.0, 2.0])
    rec["compare"]["source_model"]["path"] = f"/m/{model}.pth"
    rec["sustained"] = {"seconds": 60, "slowdown": None, "windows": windows}
    return rec


def falling_windows(temps: Sequence[Optional[float]]) -> List[Dict[str, Any]]:
    # three 20 s windows, latency falling (so the upper left of the axes is where the lines are)
    return [
        {"start_s": 20 * i, "seconds": 20, "p50_ms": 3.0 - i, "p90_ms": 4.0 - i, "temp_c": t, "throttle_flags": ["arm"]}
        for i, t in enumerate(temps)
    ]


def test_sustained_lines_styles_labels_and_shading(plots: Any) -> None:
    fig = plots.sustained_chart(sustained_record(falling_windows([50.0, 55.0, 60.0])))
    ax, ax_t = fig.axes
    p50, p90 = ax.lines
    assert p50.get_marker() == "o" and rgba(p50.get_color()) == BLACK
    # p90: triangles, dashed, mid grey, at the window centres 10, 30, 50 s
    assert p90.get_marker() == "^" and p90.get_linestyle() == "--" and rgba(p90.get_color()) == (0.45, 0.45, 0.45, 1.0)
    assert list(p90.get_xdata()) == [10, 30, 50]
    assert ax.get_xlabel() == "time since the sustained run started (s, window centres)"
    assert ax.get_ylabel() == "invoke latency (ms)"
    (temp,) = ax_t.lines
    assert temp.get_marker() == "s" and temp.get_linestyle() == ":" and rgba(temp.get_color()) == (*TAB_RED, 1.0)
    assert ax_t.get_ylabel() == "hottest thermal zone (°C)" and rgba(ax_t.yaxis.label.get_color()) == (*TAB_RED, 1.0)
    # every window throttled: three red spans at 12 % opacity
    assert [rgba(p.get_facecolor()) for p in ax.patches] == [pytest.approx((*TAB_RED, 0.12))] * 3


def test_sustained_legend_upper_left_in_small_type(plots: Any) -> None:
    fig = plots.sustained_chart(sustained_record(falling_windows([50.0, 55.0, 60.0])))
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["p50", "p90"]
    assert [t.get_fontsize() for t in legend.get_texts()] == [8, 8]
    # drawn in the upper left corner of the axes even though the lines are there (so not matplotlib's "best")
    fig.canvas.draw()
    box, frame = legend.get_window_extent(), ax.get_window_extent()
    assert box.x0 - frame.x0 < 20 and frame.y1 - box.y1 < 20


def test_sustained_without_thermal_zone_says_so_bottom_right(plots: Any) -> None:
    ax = plots.sustained_chart(sustained_record(falling_windows([None, None, None]))).axes[0]
    (note,) = ax.texts
    assert note.get_text() == "no readable thermal zone"
    assert note.get_position() == (0.99, 0.02) and note.get_transform() == ax.transAxes  # axes fraction
    assert note.get_horizontalalignment() == "right" and note.get_fontsize() == 8


def test_sustained_without_windows_message(plots: Any) -> None:
    with pytest.raises(ValueError) as err:
        plots.sustained_chart(sustained_record([]))
    assert str(err.value) == "sustained_chart needs a record with sustained windows"


# --- one run over time -------------------------------------------------------------------------------------------


def test_run_samples_in_ms_as_small_black_rasterized_dots(plots: Any) -> None:
    fig = plots.run_chart(make_record("onnx", [1.0, 2.0, 3.0]))
    over_time, hist = fig.axes
    (dots,) = over_time.lines
    assert list(dots.get_ydata()) == [1.0, 2.0, 3.0]  # 1_000_000 ns is exactly 1 ms
    assert dots.get_marker() == "." and dots.get_markersize() == 2 and dots.get_linestyle() == "None"
    assert rgba(dots.get_color()) == BLACK and dots.get_rasterized() is True
    assert (over_time.get_xlabel(), over_time.get_ylabel()) == ("time spent in invoke calls (s)", "invoke latency (ms)")
    assert over_time.get_title() == "latency over time" and over_time.title.get_fontsize() == 10
    assert (hist.get_ylabel(), hist.get_title()) == (
        "runs (log scale)",
        "histogram",
    ) and hist.title.get_fontsize() == 10


def test_run_histogram_grey_hatched_bars_in_60_even_bins(plots: Any) -> None:
    hist = plots.run_chart(make_record("onnx", [1.0, 2.0, 3.0])).axes[1]
    # 3 / 1 is under 20: 60 bins of (3 - 1) / 60 ms from 1 ms
    assert len(hist.patches) == 60
    assert [p.get_x() for p in hist.patches] == pytest.approx([1.0 + i * 2 / 60 for i in range(60)])
    for p in hist.patches[:1] + hist.patches[-1:]:
        assert rgba(p.get_facecolor()) == (0.6, 0.6, 0.6, 1.0) and rgba(p.get_edgecolor()) == BLACK
        assert p.get_hatch() == "//"


def test_run_log_bins_from_the_fastest_sample(plots: Any) -> None:
    hist = plots.run_chart(make_record("onnx", [0.5, 1.0, 30.0])).axes[1]
    # 30 / 0.5 = 60 > 20: bin edges 0.5 * 60 ** (i / 60), the last bar starting at 0.5 * 60 ** (59 / 60)
    assert hist.get_xscale() == "log" and len(hist.patches) == 60
    assert hist.patches[-1].get_x() == pytest.approx(0.5 * 60 ** (59 / 60))


def test_run_scale_edges(plots: Any) -> None:
    # exactly 20x stays linear; a 0 ms sample (a coarse timer) leaves it linear instead of dividing by 0
    for raw in ([1.0, 20.0], [0.0, 1.0, 2.0]):
        over_time, hist = plots.run_chart(make_record("onnx", raw)).axes
        assert over_time.get_yscale() == "linear" and hist.get_xscale() == "linear" and len(hist.patches) == 60


def test_run_without_samples_message(plots: Any) -> None:
    with pytest.raises(ValueError) as err:
        plots.run_chart({"latency": {"raw_invoke_ns": []}})
    assert str(err.value) == "run_chart needs a record with raw samples"


# --- latency bars ------------------------------------------------------------------------------------------------


def test_latency_failed_note_small_centred_from_the_bottom(plots: Any) -> None:
    ax = plots.latency_chart([cs("pi5", "A", 1.0), cs("pi5", "B", None)], "T").axes[0]
    (failed,) = [t for t in ax.texts if t.get_text() == "failed"]
    assert failed.get_fontsize() == 8
    assert (failed.get_horizontalalignment(), failed.get_verticalalignment()) == ("center", "bottom")


def test_latency_whiskers_black_thin_capped_and_no_joining_line(plots: Any) -> None:
    ax = plots.latency_chart([cs("pi5", "A", 1.0, 0.8, 1.5), cs("pi5", "B", 2.0, 1.5, 3.0)], "T").axes[0]
    (container,) = [c for c in ax.containers if c.__class__.__name__ == "ErrorbarContainer"]
    data_line, caplines, (stems,) = container.lines
    assert data_line is None  # fmt "none": the bars show the p50, no line joins them
    assert [rgba(c) for c in stems.get_colors()] == [BLACK] and list(stems.get_linewidths()) == [1.0]
    # caps 3 pt each side: markers 2 * 3 = 6 pt wide at both whisker ends
    assert [c.get_markersize() for c in caplines] == [6.0, 6.0]


def test_latency_bar_labels_three_significant_digits_on_white(plots: Any) -> None:
    ax = plots.latency_chart([cs("pi5", "A", 1.2345), cs("pi5", "B", 12.3456)], "T").axes[0]
    labels = [t for t in ax.texts if t.get_text() != "failed"]
    assert [t.get_text() for t in labels] == ["1.23", "12.3"]  # {:.3g}, on a linear axis (10x)
    # drawn in the middle of their bars (not on top of them)
    ax.figure.canvas.draw()
    (container,) = bars(ax)
    for t, bar in zip(labels, container.patches):
        text, box = t.get_window_extent(), bar.get_window_extent()
        assert (text.x0 + text.x1) / 2 == pytest.approx((box.x0 + box.x1) / 2, abs=1.0)
        assert (text.y0 + text.y1) / 2 == pytest.approx((box.y0 + box.y1) / 2, abs=1.0)
    for t in labels:
        assert t.get_fontsize() == 7
        box = t.get_bbox_patch()
        assert rgba(box.get_facecolor()) == WHITE and rgba(box.get_edgecolor())[3] == 0.0  # no frame
        # 1 pt of padding in units of the 7 pt font, which matplotlib keeps to two decimals: 1 / 7 -> 0.14
        assert box.get_boxstyle().pad == round(1 / 7, 2)


def test_latency_log_switch_counts_whisker_ends(plots: Any) -> None:
    def scale(*s: ConfigSummary) -> str:
        return plots.latency_chart(list(s), "T").axes[0].get_yscale()

    # lower whisker end 0.4, upper 12: 30x -> log (the bar alone, 10, would not be)
    assert scale(cs("p", "A", 10.0, 0.4, 12.0)) == "log"
    # bar 1, upper whisker end 25: 25x -> log
    assert scale(cs("p", "A", 1.0, 1.0, 25.0)) == "log"
    # bars 0.5 and 30: 60x -> log
    assert scale(cs("p", "A", 0.5), cs("p", "B", 30.0)) == "log"
    # a whisker down to 0 ms (a coarse timer) keeps it linear
    assert scale(cs("p", "A", 1.0, 0.0, 2.0), cs("p", "B", 50.0)) == "linear"


def test_latency_ticks_lean_only_past_four_configs(plots: Any) -> None:
    def ticks(n: int) -> List[Tuple[float, str]]:
        ax = plots.latency_chart([cs("p", lab, 1.0) for lab in "ABCDE"[:n]], "T").axes[0]
        return [(t.get_rotation(), t.get_horizontalalignment()) for t in ax.get_xticklabels()]

    assert ticks(4) == [(0.0, "center")] * 4
    assert ticks(5) == [(20.0, "right")] * 5


def test_latency_margins_title_size_and_legend(plots: Any) -> None:
    ax = plots.latency_chart([cs("pi5", "A", 1.0), cs("nano", "A", 2.0)], "T").axes[0]
    assert ax.margins()[1] == 0.15 and ax.title.get_fontsize() == 10
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "board" and [t.get_fontsize() for t in legend.get_texts()] == [8, 8]


def test_two_boards_take_the_ends_of_the_colour_range(plots: Any) -> None:
    from matplotlib import colormaps

    ax = plots.latency_chart([cs("pi5", "A", 1.0), cs("nano", "A", 2.0)], "T").axes[0]
    # two shades: cividis at 0.15 and 0.85 (0.15 + 0.7 * 1 / 1)
    got = [rgba(c.patches[0].get_facecolor()) for c in bars(ax)]
    assert got == [pytest.approx(colormaps["cividis"](v)) for v in (0.15, 0.85)]


# --- accelerators ------------------------------------------------------------------------------------------------


def acs(label: str, config: str, framework: str, p50: Optional[float]) -> ConfigSummary:
    return ConfigSummary("c1", "orin", "m", label, config, framework, None, 1, 1, "ok", p50)


def test_accelerators_by_preset_name_or_by_runtime(plots: Any) -> None:
    summaries = [
        acs("onnx", "onnx", "onnx", 5.0),  # a CPU preset: left out
        acs("coral", "coral", "tflite", 2.0),  # an accelerator preset on a CPU framework: by its name
        acs("trt", "trt-custom", "tensorrt", 1.0),  # no preset name, an accelerator runtime: by its framework
    ]
    ax = plots.accelerator_chart(summaries, "m").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["coral", "trt"]
    assert (
        ax.get_title()
        == "m: accelerators, latency per config\np50 (median of round medians), whiskers p10-p90 of raw samples"
    )


def test_accelerators_none_ran_logs_the_presets(plots: Any, caplog: Any) -> None:
    from bench import config_summary

    with caplog.at_level(logging.INFO, logger="bench.plots"):
        assert (
            plots.accelerator_chart([acs("coral", "coral", "tflite", None), acs("onnx", "onnx", "onnx", 1.0)], "m")
            is None
        )
    presets = ", ".join(config_summary.accelerator_presets())  # the preset table (bench/compare/presets.py)
    assert log_lines(caplog) == [f"m: no accelerator config ({presets}) ran; no accelerators chart"]


# --- the figure set and the files --------------------------------------------------------------------------------


def model_record(model: str, raw: Sequence[float], windows: bool = False) -> Dict[str, Any]:
    rec = make_record("onnx", raw)
    rec["compare"]["source_model"]["path"] = f"/m/{model}.pth"
    if windows:
        rec["sustained"] = {"seconds": 60, "slowdown": None, "windows": falling_windows([50.0])}
    return rec


def test_figure_set_draws_the_last_run_and_the_last_sustained_run(plots: Any) -> None:
    recs = [model_record(m, [1.0, 2.0], windows=True) for m in ("netA", "netB", "netC")]
    recs.append(model_record("netD", [1.0, 2.0]))  # raw samples, no sustained windows
    figs = plots.charts(recs, [])
    assert sorted(figs) == ["run_netD", "sustained_netC"]
    assert figs["run_netD"]._suptitle.get_text().startswith("netD: ")
    assert figs["sustained_netC"]._suptitle.get_text().startswith("netC: ")
    three = plots.charts(recs[:3], [])  # the last of three with raw samples, not the second
    assert sorted(three) == ["run_netC", "sustained_netC"] and three["run_netC"]._suptitle.get_text().startswith(
        "netC: "
    )


def test_figure_set_per_model_titles_and_the_no_raw_log(plots: Any, caplog: Any) -> None:
    summaries = [
        acs("coral", "coral", "tflite", 2.0),
        ConfigSummary(
            "c1", "orin", "m", "onnx", "onnx", "onnx", None, 1, 1, "ok", 4.0, quality=0.9, quality_metric="accuracy"
        ),
    ]
    with caplog.at_level(logging.INFO, logger="bench.plots"):
        figs = plots.charts([], summaries)
    assert sorted(figs) == ["m_accelerators", "m_latency", "m_latency_vs_quality"]
    assert figs["m_accelerators"].axes[0].get_title().startswith("m: accelerators, latency per config\n")
    assert figs["m_latency_vs_quality"].axes[0].get_title().startswith("m: latency against accuracy\n")
    assert log_lines(caplog) == ["no record keeps raw samples (--no-raw); no latency-over-time chart"]


def test_write_plots_without_matplotlib_says_how_to_install(plots: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        why = str(exc)  # Python's own words for a blocked import
    with pytest.raises(FrameworkUnavailable) as err:
        plots.write_plots([], Path("unused"))
    assert err.value.problem == f"--plot needs matplotlib, which is not installed ({why})"
    assert err.value.fix == "pip install matplotlib==3.11.2 (requirements/host.txt)"


def test_write_plots_into_a_file_says_give_a_folder(plots: Any, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError) as err:
        plots.write_plots([], afile)
    assert (
        err.value.problem == f"--plot {afile} is a file"
        and err.value.fix == "give a folder (it is created when missing)"
    )
