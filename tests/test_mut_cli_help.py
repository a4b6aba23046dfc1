"""Every `edgebench` parser's --help, rendered in this process from bench's parsers, against the committed CLI
reference docs/generated/cli.md (written by docs/gen_pages.py at 110 columns): a changed help text, default, choice
or option shows here as a difference from the published page. `fleet` is the launcher's parser there, not bench's."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Dict

import pytest

from bench import cli

PAGE = Path(__file__).resolve().parents[1] / "docs" / "generated" / "cli.md"


def _page_sections() -> Dict[str, str]:
    """Heading (`edgebench`, `edgebench run`, ...) -> the text block under it, as committed."""
    found = re.findall(r"^#+ `([^`]+)`\n\n```text\n(.*?)\n```$", PAGE.read_text(), flags=re.M | re.S)
    return {title: body for title, body in found if title.split()[0] == "edgebench"}


def _subparsers(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.fixture
def parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    monkeypatch.setenv("COLUMNS", "110")  # the page's width (docs/gen_pages.py cli_lines)
    monkeypatch.setattr("sys.argv", ["python -m bench"])  # the page's program name
    return cli.build_parser()


def test_the_page_lists_every_subcommand(parser: argparse.ArgumentParser) -> None:
    names = "run compare demo report check evaluate zoo fleet verify peaks selfcheck".split()
    assert list(_subparsers(parser)) == names
    assert list(_page_sections()) == ["edgebench"] + [f"edgebench {n}" for n in names]


def test_top_level_help_is_the_published_one(parser: argparse.ArgumentParser) -> None:
    assert parser.format_help().rstrip() == _page_sections()["edgebench"]


@pytest.mark.parametrize("name", "run compare demo report check evaluate zoo verify peaks selfcheck".split())
def test_subcommand_help_is_the_published_one(parser: argparse.ArgumentParser, name: str) -> None:
    assert _subparsers(parser)[name].format_help().rstrip() == _page_sections()[f"edgebench {name}"]


def test_fleet_is_listed_with_its_help(parser: argparse.ArgumentParser) -> None:
    # bench's own `fleet` entry: only the line --help lists (the page shows the launcher's parser under it)
    assert "fleet               one compare on many boards through their Docker engines (fleet run|status)" in (
        parser.format_help()
    )


# the defaults as the page and the README give them: Timing's 10 warm-up runs / 0.5 s, 50 runs / 1 s, 150 s cap;
# power read 10 times a second after a 2 s idle window, 10 s sustained windows; a 300 s cooldown cap
RUN_DEFAULTS = {
    "model_type": "classification", "use_softmax": False, "model_class_path": None, "model_class_name": None,
    "threads": None, "delegate": None, "delegate_path": None, "edgetpu_device": None, "warmup_runs": 10,
    "warmup_min_s": 0.5, "min_runs": 50, "min_time_s": 1.0, "max_time_s": 150.0, "until_stable": None,
    "mlperf_singlestream": False, "output": Path("results/results.jsonl"), "label": None, "no_raw": False,
    "profile": False, "random_weights": False, "power_source": "auto", "power_cmd": None, "power_hz": 10.0,
    "idle_s": 2.0, "sustained_s": None, "window_s": 10.0,
}  # fmt: skip


def _parse(parser: argparse.ArgumentParser, name: str, *argv: str) -> Dict[str, object]:
    return vars(_subparsers(parser)[name].parse_args(list(argv)))


def test_run_defaults(parser: argparse.ArgumentParser) -> None:
    got = _parse(parser, "run", "m.onnx", "d.npz", "--framework", "onnx")
    assert {k: got[k] for k in RUN_DEFAULTS} == RUN_DEFAULTS
    assert (got["model"], got["data"], got["framework"]) == (Path("m.onnx"), Path("d.npz"), "onnx")
    assert (got["cooldown_to_c"], got["cooldown_max_s"]) == (None, 300.0)


def test_compare_shares_the_run_defaults(parser: argparse.ArgumentParser) -> None:
    got = _parse(parser, "compare", "m.onnx", "d.npz")
    assert {k: got[k] for k in RUN_DEFAULTS} == RUN_DEFAULTS
    assert (got["model"], got["data"], got["rounds"]) == (Path("m.onnx"), Path("d.npz"), 3)


def test_other_commands_defaults(parser: argparse.ArgumentParser) -> None:
    assert _parse(parser, "demo") == {
        "frameworks": "pytorch,onnx,tflite", "threads": None, "rounds": 3, "output": Path("results/results.jsonl"),
        "until_stable": 2.0, "min_time_s": 4.0, "max_time_s": 15.0,
    }  # fmt: skip
    assert _parse(parser, "report", "a.jsonl", "b.jsonl") == {
        "files": [Path("a.jsonl"), Path("b.jsonl")], "format": "table", "plot": None, "wide": False,
        "baseline": None, "last": None,
    }  # fmt: skip
    assert _parse(parser, "zoo", "--out", "z") == {
        "out": Path("z"), "models": None, "samples": None, "representative_samples": None, "seed": 0,
        "no_keras": False,
    }  # fmt: skip
    assert _parse(parser, "selfcheck") == {"require": "", "model": None}
    assert _parse(parser, "evaluate", "m.tflite", "d.npz", "tflite", "--use-armnn") == {
        "legacy_args": ["m.tflite", "d.npz", "tflite", "--use-armnn"]
    }


def test_run_options_are_read_with_their_types(parser: argparse.ArgumentParser) -> None:
    got = _parse(
        parser, "run", "m", "d", "--framework", "tflite", "--model-type", "regression", "--use-softmax",
        "--model-class-path", "net.py", "--model-class-name", "Net", "--threads", "3", "--delegate", "armnn",
        "--delegate-path", "lib.so", "--edgetpu-device", "usb:1", "--warmup-runs", "2", "--warmup-min-s", "0.25",
        "--min-runs", "7", "--min-time-s", "1.5", "--max-time-s", "9", "--until-stable", "2.5",
        "--mlperf-singlestream", "--output", "o.jsonl", "--label", "L", "--no-raw", "--profile", "--random-weights",
        "--power-source", "cmd", "--power-cmd", "meter", "--power-hz", "4", "--idle-s", "1", "--sustained-s", "60",
        "--window-s", "5", "--cooldown-to-c", "45", "--cooldown-max-s", "30",
    )  # fmt: skip
    want = {
        "model_type": "regression", "use_softmax": True, "model_class_path": Path("net.py"), "model_class_name": "Net",
        "threads": 3, "delegate": "armnn", "delegate_path": Path("lib.so"), "edgetpu_device": "usb:1",
        "warmup_runs": 2, "warmup_min_s": 0.25, "min_runs": 7, "min_time_s": 1.5, "max_time_s": 9.0,
        "until_stable": 2.5, "mlperf_singlestream": True, "output": Path("o.jsonl"), "label": "L", "no_raw": True,
        "profile": True, "random_weights": True, "power_source": "cmd", "power_cmd": "meter", "power_hz": 4.0,
        "idle_s": 1.0, "sustained_s": 60.0, "window_s": 5.0, "cooldown_to_c": 45.0, "cooldown_max_s": 30.0,
    }  # fmt: skip
    assert {k: got[k] for k in want} == want
    assert [type(got[k]) for k in want] == [type(v) for v in want.values()]


def test_other_options_are_read_with_their_types(parser: argparse.ArgumentParser) -> None:
    demo = ["--frameworks", "onnx", "--threads", "2", "--rounds", "1", "--output", "o", "--until-stable", "3"]
    assert _parse(parser, "demo", *demo, "--min-time-s", "1", "--max-time-s", "2") == {
        "frameworks": "onnx", "threads": 2, "rounds": 1, "output": Path("o"), "until_stable": 3.0,
        "min_time_s": 1.0, "max_time_s": 2.0,
    }  # fmt: skip
    rep = ["f", "--format", "csv", "--plot", "p", "--wide", "--baseline", "onnx", "--last", "2"]
    assert _parse(parser, "report", *rep) == {
        "files": [Path("f")], "format": "csv", "plot": Path("p"), "wide": True, "baseline": "onnx", "last": 2,
    }  # fmt: skip
    zoo = ["--out", "z", "--models", "resnet50", "mobilenetv2", "--samples", "5", "--representative-samples", "6"]
    assert _parse(parser, "zoo", *zoo, "--seed", "7", "--no-keras") == {
        "out": Path("z"), "models": ["resnet50", "mobilenetv2"], "samples": 5, "representative_samples": 6,
        "seed": 7, "no_keras": True,
    }  # fmt: skip
    assert _parse(parser, "selfcheck", "--require", "onnx", "--model", "m.onnx") == {
        "require": "onnx", "model": Path("m.onnx"),
    }  # fmt: skip
    for cmd in (["run", "m", "d", "--framework", "onnx"], ["compare", "m", "d"]):
        assert _parse(parser, *cmd, "--model-type", "regression")["model_type"] == "regression"
