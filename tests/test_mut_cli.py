"""`edgebench run` and the other commands through ``bench.cli.main`` in this process (so a mutation run sees them),
on the shipped digits ONNX model with ONNX Runtime: each option lands in the record's ``options`` section as given,
each bad value is refused with one line and its exit code, ``report`` and ``selfcheck`` answer. Short real runs (one
measured inference, no warm-up, no idle window): about half a second each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import cli, cli_args

ASSETS = Path(cli.__file__).parent / "models" / "assets"
MODEL = [str(ASSETS / "digits_cnn.onnx"), str(ASSETS / "digits_test.npz")]
SHORT = ["--warmup-runs", "0", "--warmup-min-s", "0", "--min-runs", "1", "--min-time-s", "0", "--idle-s", "0"]


def _run(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "r.jsonl"
    code = cli.main(
        ["run", *MODEL, "--framework", "onnx", *SHORT, "--power-source", "none", "--output", str(out), *extra]
    )
    assert code == 0
    (line,) = out.read_text().splitlines()
    return json.loads(line)


def test_run_records_every_option_as_given(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rec = _run(
        tmp_path,
        "--threads", "2", "--label", "my label", "--no-raw", "--use-softmax", "--max-time-s", "30",
        "--power-hz", "20", "--random-weights", "--model-type", "classification",
    )  # fmt: skip
    o = rec["options"]
    assert rec["status"] == "ok" and o["framework"] == "onnx" and o["model"] == MODEL[0] and o["data"] == MODEL[1]
    assert (o["threads"], o["label"], o["keep_raw"], o["use_softmax"], o["random_weights"]) == (
        2, "my label", False, True, True,
    )  # fmt: skip
    assert o["timing"] == {
        "warmup_runs": 0, "warmup_min_s": 0.0, "min_runs": 1, "min_time_s": 0.0, "max_time_s": 30.0,
        "until_stable_pct": None,
    }  # fmt: skip
    assert o["power"] == {"source": "none", "cmd": None, "hz": 20.0, "idle_s": 0.0}
    assert o["sustained"] is None and o["cooldown"] is None and o["profile"] is False and o["delegate"] is None
    assert o["output"] == str(tmp_path / "r.jsonl")
    assert "raw_invoke_ns" not in rec["latency"] or not rec["latency"]["raw_invoke_ns"]
    assert "onnx" in capsys.readouterr().out  # the record's table


def test_run_defaults(tmp_path: Path) -> None:
    o = _run(tmp_path)["options"]
    assert (o["threads"], o["label"], o["keep_raw"], o["use_softmax"], o["random_weights"]) == (
        None, None, True, False, False,
    )  # fmt: skip
    assert o["model_type"] == "classification" and o["edgetpu_device"] is None and o["delegate_path"] is None
    assert o["power"]["hz"] == 10.0 and o["timing"]["max_time_s"] == 150.0


def test_run_with_until_stable_and_cooldown(tmp_path: Path) -> None:
    o = _run(tmp_path, "--until-stable", "50", "--cooldown-to-c", "200", "--cooldown-max-s", "0")["options"]
    assert o["timing"]["until_stable_pct"] == 50.0
    assert o["cooldown"]["to_c"] == 200.0 and o["cooldown"]["max_s"] == 0.0


def test_mlperf_singlestream_sets_loadgen_minimums_before_the_run() -> None:
    args = cli.build_parser().parse_args(["run", *MODEL, "--framework", "onnx", "--mlperf-singlestream"])
    from bench.config import run_config

    t = run_config(args).timing
    assert (t.min_time_s, t.min_runs, t.max_time_s) == (600.0, 64, 600.0)


@pytest.mark.parametrize(
    "extra,words,code",
    [
        (["--threads", "0"], "--threads 0 is not a thread count", 2),
        (["--cooldown-to-c", "60", "--cooldown-max-s", "-1"], "--cooldown-max-s -1 is negative", 2),
        (["--min-time-s", "5", "--max-time-s", "4"], "--max-time-s 4.0 is below --min-time-s 5.0", 2),
        (["--until-stable", "150"], "--until-stable 150.0 is not a percentage", 2),
        (["--power-hz", "0"], "--power-hz 0.0 is outside", 2),
        (["--sustained-s", "-5"], "--sustained-s", 2),
    ],
)
def test_run_refuses_bad_values_with_one_line(tmp_path: Path, capsys, extra: list, words: str, code: int) -> None:
    out = tmp_path / "r.jsonl"
    assert cli.main(["run", *MODEL, "--framework", "onnx", "--output", str(out), *extra]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edgebench: error: ") and words in err[0] and "Fix:" in err[0]
    assert not out.exists()


def test_missing_model_exit_code_and_message(tmp_path: Path, capsys) -> None:
    assert cli.main(["run", str(tmp_path / "no.onnx"), MODEL[1], "--framework", "onnx"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"edgebench: error: model {tmp_path / 'no.onnx'} not found. "
        "Fix: check the path (relative paths are from the current folder)"
    )


@pytest.mark.parametrize("device", ["usb", "usb:0", "pci", "pci:12", ":0"])
def test_edgetpu_device_accepts_pycorals_forms(device: str) -> None:
    assert cli_args.edgetpu_device(device) == device


@pytest.mark.parametrize("device", ["", "usb:", "usb0", "pci:x", "0", ":", "usb:1:2", " usb"])
def test_edgetpu_device_refuses_others(device: str) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError) as err:
        cli_args.edgetpu_device(device)
    assert str(err.value) == f"{device!r} is not an Edge TPU device: use usb, usb:N, pci, pci:N or :N"


def test_parser_choices_and_errors(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["run", *MODEL, "--framework", "onnx", "--edgetpu-device", "usb0"])
    assert e.value.code == 2 and "is not an Edge TPU device" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["run", *MODEL])  # --framework is required
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        cli.main([])
    assert e.value.code == 2


def test_report_of_a_run_and_its_last_option(tmp_path: Path, capsys) -> None:
    rec = _run(tmp_path, "--label", "first")
    capsys.readouterr()
    out = tmp_path / "r.jsonl"
    assert cli.main(["report", str(out), "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert json.dumps(shown).count(rec["options"]["label"]) >= 1
    assert cli.main(["report", str(out), "--last", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "edgebench: error: --last 0 is not a positive count. Fix: give --last N with N >= 1, or leave it out"
    )
    assert cli.main(["report", str(tmp_path / "none.jsonl")]) == 2


def test_selfcheck_command_requires_the_named_runtimes(capsys) -> None:
    assert cli.main(["selfcheck", "--require", "madeup,"]) == 2
    assert "unknown selfcheck names ['madeup']" in capsys.readouterr().err


def test_evaluate_goes_through_run(tmp_path: Path, capsys) -> None:
    assert cli.main(["evaluate", str(tmp_path / "gone.onnx"), MODEL[1], "onnx"]) == 2
    assert f"model {tmp_path / 'gone.onnx'} not found" in capsys.readouterr().err


def test_show_compare_names_the_configs_without_an_ok_record(capsys) -> None:
    def rec(label: str, rnd: int, status: str) -> dict:
        return {"status": status, "compare": {"label": label, "round": rnd}}

    records = [rec("onnx", 0, "ok"), rec("tflite", 0, "error"), rec("tflite", 1, "ok"), rec("coral", 0, "error")]
    assert cli._show_compare(records) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "edgebench: error: 2 config(s) failed: coral, tflite. "
        "Fix: read each record's error above; install what it names or leave the config out"
    )
    assert cli._show_compare([rec("onnx", 0, "ok"), rec("onnx", 0, "error")]) == 0
