"""The original ``evaluate.py`` command line (bench/legacy.py) translated into ``bench run``, checked as whole argument
lists written by hand from the original tool's options; the quantization rule on the shipped float and int8 digits
TFLite models (their input types read with the installed interpreter: float32 and int8). Fast: no conversion."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench import cli, legacy

ASSETS = Path(legacy.__file__).parent / "models" / "assets"


def test_minimal_call() -> None:
    assert legacy.translate(["m.onnx", "d.npz", "onnx"]) == [
        "run",
        "m.onnx",
        "d.npz",
        "--framework",
        "onnx",
        "--model-type",
        "classification",
    ]


def test_every_option_in_order() -> None:
    argv = legacy.translate(
        [
            "m.pt",
            "d.npz",
            "pytorch",
            "--use-armnn",
            "--armnn-path",
            "/opt/a.so",
            "--use-softmax",
            "--model-type",
            "regression",
            "--model-class-path",
            "net.py",
            "--model-class-name",
            "Net",
            "--do-not-keep-shape",
            "--transposed-data-path",
            "t.npz",
            "--convert-only",
            "--representative-data-path",
            "r.npz",
            "--output",
            "out.jsonl",
        ]
    )
    assert argv == [
        "run", "m.pt", "d.npz", "--framework", "pytorch", "--model-type", "regression",
        "--delegate", "armnn", "--delegate-path", "/opt/a.so",
        "--use-softmax", "--do-not-keep-shape", "--convert-only",
        "--output", "out.jsonl", "--model-class-path", "net.py", "--model-class-name", "Net",
        "--transposed-data-path", "t.npz", "--representative-data-path", "r.npz",
    ]  # fmt: skip


def test_use_armnn_without_a_path_uses_the_runtimes_default_library() -> None:
    argv = legacy.translate(["m.tflite", "d.npz", "tflite", "--use-armnn"])
    assert argv[-2:] == ["--delegate", "armnn"] and "--delegate-path" not in argv


def test_armnn_path_alone_is_ignored_with_the_originals_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bench.legacy"):
        argv = legacy.translate(["m.tflite", "d.npz", "tflite", "--armnn-path", "x.so"])
    assert argv == ["run", "m.tflite", "d.npz", "--framework", "tflite", "--model-type", "classification"]
    assert [r.getMessage() for r in caplog.records] == [
        "--armnn-path is used only with --use-armnn (as in the original tool); ignored"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bench.legacy"):
        legacy.translate(["m.tflite", "d.npz", "tflite"])
    assert caplog.records == []


@pytest.mark.parametrize(
    "model,kept",
    [
        (ASSETS / "digits_cnn.tflite", True),  # float32 input: quantize
        (ASSETS / "digits_cnn_int8.tflite", False),  # int8 input: benchmarked as it is
        (ASSETS / "digits_cnn.onnx", True),  # not TFLite
        (Path("/no/such/model.tflite"), True),  # detection fails: `bench run` reports it
    ],
)
def test_quantization_flag_by_model(model: Path, kept: bool, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bench.legacy"):
        argv = legacy.translate([str(model), "d.npz", "tflite", "--quantization"])
    assert ("--quantization" in argv) is kept
    said = [r.getMessage() for r in caplog.records]
    assert said == ([] if kept else [f"{model} is already an int8 TFLite model: benchmarked as it is"])


def test_quantization_not_asked_is_not_added() -> None:
    assert "--quantization" not in legacy.translate([str(ASSETS / "digits_cnn.tflite"), "d.npz", "tflite"])


@pytest.mark.parametrize("bad", [["m", "d", "tensorflow"], ["m", "d", "onnx", "--model-type", "detection"], ["m", "d"]])
def test_the_originals_choices_are_refused_with_exit_2(bad: list) -> None:
    with pytest.raises(SystemExit) as e:
        legacy.translate(bad)
    assert e.value.code == 2


def test_parser_is_the_originals() -> None:
    p = legacy.build_parser()
    assert p.prog == "evaluate.py"
    a = p.parse_args(["m", "d", "coral"])
    assert (a.framework, a.model_type, a.use_armnn, a.quantization, a.output) == (
        "coral",
        "classification",
        False,
        False,
        None,
    )
    assert legacy.frameworks() == ("pytorch", "tflite", "onnx", "tensorrt", "coral")


def test_main_returns_bench_runs_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = cli.evaluate([str(tmp_path / "missing.onnx"), str(tmp_path / "d.npz"), "onnx"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"model {tmp_path / 'missing.onnx'} not found" in err


def test_main_reads_sys_argv_without_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("sys.argv", ["evaluate.py", str(tmp_path / "gone.onnx"), "d.npz", "onnx"])
    assert cli.evaluate() == 2
    assert f"model {tmp_path / 'gone.onnx'} not found" in capsys.readouterr().err


def test_help_keeps_the_originals_texts() -> None:
    """The original evaluate.py's description and argument help (edgebench's README quotes its usage), kept."""
    text = " ".join(legacy.build_parser().format_help().split())
    for phrase in (
        "Usage of evaluate.sh (edgebench compatibility)",
        "model_path Path to the model file",
        "data_path Path to the data file",
        "The framework that will be used to test the model",
        "--use-armnn Use the ARM NN delegate (float32 TFLite models)",
        "--armnn-path ARMNN_PATH Path to the ARM NN delegate library",
        "--output OUTPUT results file (default: edgebench's)",
        "--model-type {classification,regression}",
    ):
        assert f" {phrase} " in f" {text} ", phrase  # whole words: nothing glued to either end


def test_an_explicit_classification_is_one_of_the_choices() -> None:
    argv = legacy.translate(["m.onnx", "d.npz", "onnx", "--model-type", "classification"])
    assert argv[-2:] == ["--model-type", "classification"]


def test_main_logs_info_lines_in_edgebench_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import logging as lg

    root = lg.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh process: basicConfig installs its handler
    monkeypatch.setattr(root, "level", lg.WARNING)
    cli.evaluate([str(ASSETS / "digits_cnn_int8.tflite"), str(tmp_path / "none.npz"), "tflite", "--quantization"])
    err = capsys.readouterr().err
    assert f"edgebench: INFO: {ASSETS / 'digits_cnn_int8.tflite'} is already an int8 TFLite model" in err
