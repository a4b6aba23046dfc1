"""bench.cli's commands in this process, each on a tiny input: `compare` (a real two-job compare of the shipped
digits ONNX model, and its --convert-only step), `demo` and `zoo` with their heavy work replaced by recorders (what
the command hands them, what it prints), `check`, `peaks` and `verify` on their quickest answers, `main` and
`evaluate` (the fleet refusal, Ctrl-C, the log format and level, argv from sys.argv), the program name and --version.
"""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from bench import __version__, cli, config, cpupeak
from bench.compare import demo as demo_mod
from bench.compare import rounds
from bench.models import zoo

ASSETS = Path(cli.__file__).parent / "models" / "assets"
MODEL = [str(ASSETS / "digits_cnn.onnx"), str(ASSETS / "digits_test.npz")]
SHORT = ["--warmup-runs", "0", "--warmup-min-s", "0", "--min-runs", "1", "--min-time-s", "0", "--idle-s", "0"]


@pytest.fixture
def peak_calls(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """cpupeak.ensure replaced by a recorder (the real one may measure the CPU for 20 s)."""
    calls: List[Any] = []
    monkeypatch.setattr(cpupeak, "ensure", calls.append)
    return calls


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without handlers and at WARNING (as in a fresh process), restored afterwards (entered in the
    test itself: pytest adds its capture handlers to the root logger when the test body starts)."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    for h in saved:
        root.removeHandler(h)
    root.setLevel(logging.WARNING)
    try:
        yield root
    finally:
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)


# --- compare ---------------------------------------------------------------------------------------------------


def _rows(text: str) -> Dict[str, str]:
    """Table rows of the comparison by their label (the first two words: 'onnx @1t')."""
    return {" ".join(line.split()[:2]): line for line in text.splitlines() if line.startswith("onnx @")}


def test_compare_shows_its_own_records_against_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture, peak_calls: List[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r.jsonl"
    assert cli.main(["run", *MODEL, "--framework", "onnx", *SHORT, "--power-source", "none", "--output", str(out)]) == 0
    first = json.loads(out.read_text())  # a plain run in the same file: no compare section, not shown
    real = cli.compare_plan_of
    monkeypatch.setattr(cli, "compare_plan_of", lambda a: replace(real(a), skipped=(("coral", "no Edge TPU"),)))
    # each run in this process: under a mutation run the test itself runs in a forked child, whose own child
    # processes cannot be waited for ("No child processes"), which failed this test for every mutant
    execute = rounds.execute
    monkeypatch.setattr(rounds, "execute", lambda plan, **kw: execute(plan, **{**kw, "isolated": False}))
    capsys.readouterr()
    argv = ["compare", *MODEL, "--configs", "onnx", "--threads", "1,2", "--rounds", "1", *SHORT]
    code = cli.main([*argv, "--power-source", "none", "--output", str(out), "--baseline", "onnx @2t"])
    shown = capsys.readouterr().out
    assert code == 0 and not first.get("compare")
    assert len(out.read_text().splitlines()) == 3  # the run and one record per job
    rows = _rows(shown)
    assert sorted(rows) == ["onnx @1t", "onnx @2t"]
    assert "(baseline)" in rows["onnx @2t"] and "(baseline)" not in rows["onnx @1t"]
    assert "not run here: coral (no Edge TPU)" in shown.splitlines()
    assert len(peak_calls) == 1 and "board" in peak_calls[0]  # this machine's facts, once before the runs
    # report's --baseline wins over the one the compare recorded
    assert cli.main(["report", str(out), "--baseline", "onnx @1t"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert "(baseline)" in rows["onnx @1t"] and "(baseline)" not in rows["onnx @2t"]
    # a second compare (another seed: another id) in the same file shows its own records only
    assert cli.main([*argv, "--power-source", "none", "--output", str(out), "--seed", "5"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert sorted(rows) == ["onnx @1t", "onnx @2t"]
    assert "(baseline)" in rows["onnx @1t"] and "(baseline)" not in rows["onnx @2t"]  # the first label by default


def test_compare_convert_only_writes_the_manifest_and_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture, peak_calls: List[Any]
) -> None:
    dev = tmp_path / "dev"
    assert cli.main(["compare", *MODEL, "--configs", "onnx", "--convert-only", "--convert-output", str(dev)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"converted for the device into {dev} (artifacts.json):",
        "  onnx: not converted (nothing to convert: the device runs the source model (or converts it itself))",
    ]
    assert (dev / "artifacts.json").is_file()
    assert peak_calls == []  # a conversion step measures nothing


def test_report_of_the_last_records_and_wide(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r.jsonl"
    assert cli.main(["run", *MODEL, "--framework", "onnx", *SHORT, "--power-source", "none", "--output", str(out)]) == 0
    rec = json.loads(out.read_text())
    out.write_text("".join(json.dumps({**rec, "options": {**rec["options"], "label": x}}) + "\n" for x in "abc"))
    capsys.readouterr()
    for last in (1, 2):  # the last N of the 3 records: the rows count N records
        assert cli.main(["report", str(out), "--format", "json", "--last", str(last)]) == 0
        assert sum(row["records"] for row in json.loads(capsys.readouterr().out)) == last
    assert cli.main(["report", str(out), "--wide"]) == 0
    assert "p99 ms" in capsys.readouterr().out
    assert cli.main(["report", str(out)]) == 0
    assert "p99 ms" not in capsys.readouterr().out
    assert cli.main(["report", str(out), "--plot", str(tmp_path / "charts")]) == 0
    assert {p.suffix for p in (tmp_path / "charts").iterdir()} == {".png", ".svg"}


# --- demo, zoo, selfcheck: what the command hands the heavy work, what it prints -------------------------------


def _recorder(calls: List[Dict[str, Any]], result: Any) -> Callable[..., Any]:
    def fake(*args: Any, **kw: Any) -> Any:
        calls.append({"args": args, **kw})
        return result

    return fake


def test_demo_hands_its_options_to_the_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, peak_calls: List[Any]
) -> None:
    calls: List[Dict[str, Any]] = []
    monkeypatch.setattr(demo_mod, "demo", _recorder(calls, []))
    argv = ["demo", "--frameworks", "onnx,,tflite,", "--threads", "2", "--rounds", "4", "--output", "o.jsonl"]
    assert cli.main([*argv, "--until-stable", "3", "--min-time-s", "1.5", "--max-time-s", "2"]) == 0
    (call,) = calls
    assert call == {
        "args": (), "frameworks": ["onnx", "tflite"], "threads": 2, "output": Path("o.jsonl"), "rounds": 4,
        "timing": config.Timing(until_stable_pct=3.0, min_time_s=1.5, max_time_s=2.0),
    }  # fmt: skip
    assert len(peak_calls) == 1 and "board" in peak_calls[0]  # this machine's facts
    capsys.readouterr()
    assert cli.main(["demo", "--until-stable", "150"]) == 2  # the Timing is validated: 150 is no percentage
    assert capsys.readouterr().err.startswith("edgebench: error: --until-stable 150.0 is not a percentage")


def test_a_failed_peak_measurement_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(facts: Any) -> None:
        raise RuntimeError("no BLAS")

    monkeypatch.setattr(cpupeak, "ensure", fail)
    monkeypatch.setattr(demo_mod, "demo", _recorder([], []))
    with caplog.at_level(logging.WARNING):
        assert cli.main(["demo"]) == 0
    assert [r.getMessage() for r in caplog.records if r.name == "bench.cli"] == [
        "CPU peak not measured: RuntimeError: no BLAS"
    ]


MANIFEST = {
    "random_weights": True,
    "seed": 7,
    "models": {
        "resnet50": {
            "title": "ResNet-50",
            "pytorch": {"onnx": "resnet50/resnet50.onnx", "params": 25557032},
            "keras": {"model": "resnet50/resnet50_keras.keras", "params": 25636712},
        }
    },
}


def test_zoo_hands_its_options_to_write_zoo_and_lists_the_models(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    calls: List[Dict[str, Any]] = []
    monkeypatch.setattr(zoo, "write_zoo", _recorder(calls, MANIFEST))
    argv = ["zoo", "--out", str(tmp_path), "--models", "resnet50", "mobilenetv2", "--seed", "7", "--no-keras"]
    assert cli.main([*argv, "--samples", "5", "--representative-samples", "6"]) == 0
    assert calls[0] == {
        "args": (tmp_path, ["resnet50", "mobilenetv2"]), "seed": 7, "keras": False, "samples": 5,
        "representative_samples": 6,
    }  # fmt: skip
    # name padded to 16, variant to 8, the parameter count right-aligned in 11 with thousands commas
    assert capsys.readouterr().out.splitlines() == [
        "resnet50         pytorch   25,557,032 parameters  resnet50/resnet50.onnx",
        "resnet50         keras     25,636,712 parameters  resnet50/resnet50_keras.keras",
        f"manifest: {tmp_path}/zoo.json (random weights: pass --random-weights to run/compare)",
    ]
    assert cli.main(["zoo", "--out", str(tmp_path)]) == 0
    assert calls[1] == {"args": (tmp_path, ["resnet50", "mobilenetv2", "efficientnet-b0"]), "seed": 0, "keras": True}


def test_selfcheck_hands_the_names_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import selfcheck

    calls: List[Dict[str, Any]] = []
    monkeypatch.setattr(selfcheck, "main", _recorder(calls, 3))
    assert cli.main(["selfcheck", "--require", "onnx,,tflite", "--model", "m.onnx"]) == 3
    assert calls == [{"args": (["onnx", "tflite"],), "model": Path("m.onnx")}]


# --- check, peaks, verify: the parsed arguments reach them ----------------------------------------------------


def test_check_peaks_and_verify_answer(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    new = tmp_path / "new.jsonl"
    assert cli.main(["check", str(new), "--against", str(tmp_path / "ref.jsonl")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"edgebench: error: results file {new} not found. Fix: run `python -m bench run ... --output FILE` first"
    ]
    assert cli.main(["peaks", "--format", "json"]) == 0
    assert "board" in json.loads(capsys.readouterr().out)["machine"]
    assert cli.main(["verify", "--presets", "madeup"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("edgebench: error: ") and "madeup" in line


# --- main, evaluate, the parser ------------------------------------------------------------------------------


def test_fleet_is_refused_with_its_fix(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["edgebench", "fleet", "run"])
    assert cli.main() == 2  # argv from sys.argv
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        "edgebench: error: fleet is the launcher's command, and `python -m bench` is bench alone. "
        "Fix: run `edgebench fleet ...` (or `python -m launcher.fleet ...`) from a checkout with the launcher\n"
    )


def test_ctrl_c_keeps_what_was_written(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "report", interrupted)
    assert cli.main(["report", "x.jsonl"]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "edgebench: interrupted; results already written are kept\n"


@pytest.mark.parametrize("verbose,level", [([], logging.INFO), (["-v"], logging.DEBUG), (["--verbose"], logging.DEBUG)])
def test_main_logs_one_format_to_stderr(capsys: pytest.CaptureFixture, verbose: List[str], level: int) -> None:
    with bare_root() as root:
        assert cli.main([*verbose, "report", "none.jsonl"]) == 2
        capsys.readouterr()
        assert root.level == level
        logging.getLogger("bench.x").info("hello")
        logging.getLogger("bench.x").debug("detail")
    want = "edgebench: INFO: hello\n" + ("edgebench: DEBUG: detail\n" if level == logging.DEBUG else "")
    assert capsys.readouterr().err == want


def test_evaluate_reads_sys_argv_and_logs_at_info(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gone = tmp_path / "gone.onnx"
    monkeypatch.setattr(sys, "argv", ["evaluate.py", str(gone), MODEL[1], "onnx"])
    with bare_root():
        assert cli.evaluate() == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"edgebench: error: model {gone} not found. "
            "Fix: check the path (relative paths are from the current folder)"
        )
        logging.getLogger("bench.x").info("hello")
    assert capsys.readouterr().err == "edgebench: INFO: hello\n"
    other = tmp_path / "other.onnx"  # a list given wins over sys.argv
    assert cli.evaluate([str(other), MODEL[1], "onnx"]) == 2
    assert f"model {other} not found" in capsys.readouterr().err


def test_program_name_and_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/edgebench"])
    assert cli.build_parser().prog == "edgebench"
    monkeypatch.setattr(sys, "argv", ["/x/edgebench.py"])
    assert cli.build_parser().prog == "python -m bench"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"edgebench {__version__}\n"


@pytest.mark.parametrize("only", [["--convert-only"], []])
def test_run_with_a_convert_output_prints_the_conversion(
    tmp_path: Path, capsys: pytest.CaptureFixture, only: List[str]
) -> None:
    dev, out = tmp_path / "dev", tmp_path / "r.jsonl"
    argv = ["run", *MODEL, "--framework", "onnx", *SHORT, "--power-source", "none", "--output", str(out), *only]
    assert cli.main([*argv, "--convert-output", str(dev)]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        f"converted model: {MODEL[0]}",  # ONNX Runtime runs the ONNX model itself: nothing converted
        f"copied to: {dev}",
        "fidelity: no conversion was needed (the model is already in the framework's format)",
    ]
    assert dev.read_bytes() == Path(MODEL[0]).read_bytes()  # the model copied to the path given


def test_run_without_a_convert_output_prints_no_conversion(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r.jsonl"
    assert cli.main(["run", *MODEL, "--framework", "onnx", *SHORT, "--power-source", "none", "--output", str(out)]) == 0
    assert "converted model" not in capsys.readouterr().out
