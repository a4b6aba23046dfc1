"""`edgebench compare`'s plan by behaviour, fast: the arguments parsed by the real parser into a plan (no run), each
refusal word for word, the threads sweep's labels, which presets need calibration, why a preset cannot run here
(the ones decided without a framework import, and TensorRT's, absent on this machine), and the live display's
handling of stderr log handlers (a rich Console writing to a buffer)."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from bench import cli
from bench.compare import plan, presets, progress
from bench.errors import InputError

ASSETS = Path(cli.__file__).parent / "models" / "assets"
MODEL = [str(ASSETS / "digits_cnn.onnx"), str(ASSETS / "digits_test.npz")]


def _plan(tmp_path: Path, *extra: str) -> plan.Plan:
    argv = ["compare", *MODEL, "--output", str(tmp_path / "r.jsonl"), *extra]
    return cli.compare_plan_of(cli.build_parser().parse_args(argv))


def _refusal(tmp_path: Path, *extra: str) -> InputError:
    with pytest.raises(InputError) as err:
        _plan(tmp_path, *extra)
    return err.value


def test_plan_of_two_presets_and_a_threads_sweep(tmp_path: Path) -> None:
    p = _plan(tmp_path, "--configs", "onnx,tflite", "--threads", "1,2", "--rounds", "2", "--seed", "9")
    assert p.labels == ["onnx @1t", "onnx @2t", "tflite @1t", "tflite @2t"]
    assert [(j.config, j.threads, j.run.framework, j.run.threads) for j in p.jobs] == [
        ("onnx", 1, "onnx", 1), ("onnx", 2, "onnx", 2), ("tflite", 1, "tflite", 1), ("tflite", 2, "tflite", 2),
    ]  # fmt: skip
    assert all(j.run.output is None and j.run.convert.precision == "fp32" for j in p.jobs)
    assert p.baseline == "onnx @1t" and p.seed == 9 and p.protocol.rounds == 2 and p.output == tmp_path / "r.jsonl"
    assert p.source_model["format"] == "onnx" and p.source_model["path"] == MODEL[0] and p.skipped == ()
    one = _plan(tmp_path, "--configs", "onnx", "--baseline", "onnx")
    assert one.labels == ["onnx"] and one.baseline == "onnx" and one.jobs[0].threads is None


def test_int8_presets_need_calibration_data(tmp_path: Path) -> None:
    err = _refusal(tmp_path, "--configs", "onnx,tflite-int8,openvino-int8")
    assert err.problem == "tflite-int8, openvino-int8 quantize to int8 and need calibration samples"
    without = [n for n in presets.NAMES if not presets.PRESETS[n].needs_representative_data]
    assert err.fix == (
        f"pass --representative-data-path CALIB.npz, or leave them out (presets without calibration: {', '.join(without)})"
    )
    p = _plan(tmp_path, "--configs", "onnx,tflite-int8", "--representative-data-path", MODEL[1])
    int8 = p.jobs[1].run.convert
    assert (int8.precision, Path(int8.representative_data)) == ("int8", Path(MODEL[1]))
    assert p.jobs[0].run.convert.representative_data is None  # fp32 presets get no calibration data


@pytest.mark.parametrize(
    "extra,problem",
    [
        (["--configs", "onnx", "--rounds", "0"], "--rounds 0 is below 1"),
        (["--configs", "onnx", "--cooldown-s", "-1"], "cooldown seconds must not be negative"),
        (["--configs", "onnx", "--baseline", "tflite"], "--baseline 'tflite' is not one of this compare's labels"),
        (["--configs", "onnx", "--delegate", "armnn"], "--delegate is set by each preset in compare"),
        (["--configs", "onnx", "--all"], "--all and --configs both given"),
        (["--configs", "onnx", "--no-raw"], "--no-raw does not fit compare (its intervals need the raw samples)"),
        (["--configs", "onnx", "--convert-only"],
         "compare takes --convert-only and --convert-output DIR together (convert every preset into DIR)"),
        (["--configs", "onnx", "--max-time-s", "0.5", "--min-time-s", "1"], "--max-time-s 0.5 is below --min-time-s 1.0"),
    ],
)  # fmt: skip
def test_refusals(tmp_path: Path, extra: list, problem: str) -> None:
    assert _refusal(tmp_path, *extra).problem == problem


def test_missing_files_are_named(tmp_path: Path) -> None:
    argv = ["compare", str(tmp_path / "none.onnx"), MODEL[1], "--configs", "onnx"]
    with pytest.raises(InputError) as err:
        cli.compare_plan_of(cli.build_parser().parse_args(argv))
    assert (err.value.problem, err.value.fix) == (f"model {tmp_path / 'none.onnx'} not found", "check the path")
    argv = ["compare", MODEL[0], str(tmp_path / "none.npz"), "--configs", "onnx"]
    with pytest.raises(InputError) as err:
        cli.compare_plan_of(cli.build_parser().parse_args(argv))
    assert err.value.problem == f"data {tmp_path / 'none.npz'} not found"


def test_why_not_without_importing_a_framework(monkeypatch: pytest.MonkeyPatch) -> None:
    assert plan.why_not("tflite-int8", "onnx", have_calibration=False) == "int8 needs --representative-data-path"
    assert plan.why_not("coral", "tflite", have_calibration=False) == "int8 needs --representative-data-path"
    monkeypatch.setitem(plan.PRESETS, "madeup", presets.Preset("madeup", "fp32", None, False, "x"))
    assert plan.why_not("madeup", "onnx", have_calibration=True) == "runtime madeup is not in this edgebench build"


def test_why_not_tensorrt_on_this_machine() -> None:
    reason = plan.why_not("tensorrt-fp32", "onnx", have_calibration=False)
    assert reason is not None and reason.startswith("tensorrt: ")  # no TensorRT here: its check's first line
    # a converted engine from elsewhere still needs the runtime here
    assert plan.why_not("tensorrt-int8", "onnx", False, artifact_format="tensorrt-engine").startswith("tensorrt: ")
    assert plan.why_not("onnx", "onnx", have_calibration=False) is None  # native fp32: nothing to convert


def test_select_all_over_a_few_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "NAMES", ("onnx", "tflite-int8", "tensorrt-fp16"))
    chosen, skipped = plan.select_all("onnx", have_calibration=False)
    assert chosen == ["onnx"]
    assert skipped[0] == ("tflite-int8", "int8 needs --representative-data-path")
    assert skipped[1][0] == "tensorrt-fp16" and skipped[1][1].startswith("tensorrt: ")


def test_builds_on_device_only_for_tensorrt_from_onnx(tmp_path: Path) -> None:
    class Art:
        def __init__(self, path: Path) -> None:
            self.path = path

    engine = tmp_path / "m.engine"
    engine.write_bytes(b"\x00" * 64)
    assert plan.builds_on_device("tensorrt-int8", Art(Path(MODEL[0]))) is True
    assert plan.builds_on_device("tensorrt-fp16", Art(engine)) is False
    assert plan.builds_on_device("onnx", Art(Path(MODEL[0]))) is False


def test_live_display_moves_stderr_log_handlers_and_puts_them_back() -> None:
    from rich.console import Console

    handler = logging.StreamHandler(sys.stderr)
    other = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(other)
    try:
        console = Console(file=io.StringIO(), force_terminal=True, width=120)
        with progress.Progress(total=2, rounds=1, live=True, console=console) as p:
            assert handler.stream is sys.stderr  # rich's proxy while the display is up
            assert other.stream is not sys.stderr
            p.starting(1, "onnx", 0)
        assert handler.stream is not None and p._live is None
        assert sys.stderr is handler.stream  # put back: the original stream again
    finally:
        root.removeHandler(handler)
        root.removeHandler(other)


def test_live_display_logs_no_plain_lines(caplog: pytest.LogCaptureFixture) -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with caplog.at_level(logging.INFO, logger="bench.compare.progress"):
        with progress.Progress(total=1, rounds=1, live=True, console=console) as p:
            p.converting(1, 1, "onnx")
            p.starting(1, "onnx", 0)
            p.finished("ok", 1.0)
    assert caplog.records == []


def test_display_cells_and_bar_from_the_start_and_during_a_run(monkeypatch) -> None:
    from rich.console import Console

    monkeypatch.setattr(progress.time, "monotonic", lambda: 50.0)
    p = progress.Progress(total=6, rounds=3, live=False)
    grid = p.render()
    console = Console(width=200, record=True, color_system=None)
    console.print(grid)
    text = console.export_text()
    for cell in ("run 0/6", "round 1/3", "starting", "  0.0 s", "(total 0:00:00)"):
        assert cell in text, text
    bar = list(grid.columns[0].cells)[0]
    assert (bar.total, bar.completed, bar.width) == (6, 0, 20)
    assert grid.padding == (0, 1, 0, 1)
    p.starting(3, "onnx", 2)
    bar = list(p.render().columns[0].cells)[0]
    assert (bar.total, bar.completed) == (6, 2) and p.phase == "load"  # two runs done before the third
    empty = list(progress.Progress(total=0, rounds=1, live=False).render().columns[0].cells)[0]
    assert empty.total == 1  # no division by zero in the bar


def test_live_display_is_forced_on_a_non_terminal_and_drawn(caplog: pytest.LogCaptureFixture) -> None:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    with caplog.at_level(logging.INFO, logger="bench.compare.progress"):
        with progress.Progress(total=2, rounds=1, live=True, console=console) as p:
            p.starting(1, "tflite-int8", 0)
    assert caplog.records == []  # the display (forced), not log lines
    drawn = io.StringIO()
    with progress.Progress(
        total=2, rounds=1, live=True, console=Console(file=drawn, force_terminal=True, width=120)
    ) as p:
        p.starting(1, "tflite-int8", 0)
    assert "run 1/2" in drawn.getvalue() and "tflite-int8" in drawn.getvalue()  # drawn at least once (at stop)
