"""Conversion options (mutation run of bench/convert/options.py): the defaults as docs/generated/cli.md gives them,
the flags parsed into ConvertOptions, its plain dict, and `bench run` argv split by hand into the conversion's and
the benchmark's halves."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.convert import options as O

# the defaults as the CLI reference states them: --opset 17, 1000 fidelity samples, tolerance 0.001, timeout 1800 s
DEFAULT_DICT = {
    "precision": "fp32",
    "representative_data": None,
    "keep_shape": True,
    "transposed_data": None,
    "convert_only": False,
    "cache_dir": None,
    "opset": None,
    "fidelity_samples": 1000,
    "fidelity_tolerance": 0.001,
    "timeout_s": 1800.0,
    "output": None,
    "fidelity_reference": None,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run")
    O.add_arguments(parser)
    return parser


def test_published_defaults() -> None:
    assert O.PRECISIONS == ("fp32", "fp16", "dynamic-range", "int8")
    assert (O.DEFAULT_OPSET, O.FIDELITY_SAMPLES, O.FIDELITY_TOLERANCE, O.TIMEOUT_S) == (17, 1000, 0.001, 1800.0)
    assert O.DEFERRED_FIDELITY_SAMPLES == 100
    assert O.ConvertOptions().to_dict() == DEFAULT_DICT


def test_no_flags_give_the_defaults() -> None:
    opts = O.from_args(_parser().parse_args([]))
    assert opts == O.ConvertOptions()
    assert opts.to_dict() == DEFAULT_DICT


def test_every_flag_reaches_its_field() -> None:
    argv = (
        "--convert-only --precision fp16 --representative-data-path r.npz --do-not-keep-shape "
        "--transposed-data-path t.npz --convert-output out/ --cache-dir c --opset 13 --fidelity-samples 64 "
        "--fidelity-tolerance 0.25 --convert-timeout-s 90 --fidelity-reference ref.npz"
    ).split()
    opts = O.from_args(_parser().parse_args(argv))
    assert opts.to_dict() == {
        "precision": "fp16",
        "representative_data": "r.npz",
        "keep_shape": False,
        "transposed_data": "t.npz",
        "convert_only": True,
        "cache_dir": "c",
        "opset": 13,
        "fidelity_samples": 64,
        "fidelity_tolerance": 0.25,
        "timeout_s": 90.0,
        "output": "out",
        "fidelity_reference": "ref.npz",
    }
    # the fields hold paths; to_dict gives their text
    assert (opts.representative_data, opts.transposed_data, opts.cache_dir) == (
        Path("r.npz"),
        Path("t.npz"),
        Path("c"),
    )
    assert (opts.output, opts.fidelity_reference) == (Path("out"), Path("ref.npz"))


@pytest.mark.parametrize(
    "argv, precision",
    [
        ([], "fp32"),
        (["--quantization"], "int8"),
        (["--precision", "dynamic-range"], "dynamic-range"),
        (["--quantization", "--precision", "fp16"], "fp16"),  # --precision wins
        (["--precision", "fp32", "--quantization"], "fp32"),
    ],
)
def test_precision_from_flags(argv: list, precision: str) -> None:
    assert O.from_args(_parser().parse_args(argv)).precision == precision


def test_an_unknown_precision_is_refused(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["--precision", "int4"])
    assert "invalid choice: 'int4'" in capsys.readouterr().err


def test_a_namespace_without_the_newer_flags_gets_their_defaults() -> None:
    # callers (the launcher, older scripts) build a Namespace with only the first flags
    ns = argparse.Namespace(
        precision=None,
        quantization=True,
        representative_data_path=Path("r.npz"),
        do_not_keep_shape=False,
        transposed_data_path=None,
        convert_only=False,
        cache_dir=None,
        opset=None,
    )
    opts = O.from_args(ns)
    assert opts.to_dict() == {**DEFAULT_DICT, "precision": "int8", "representative_data": "r.npz"}


def test_conversion_flags_and_their_value_counts() -> None:
    assert O.conversion_flags() == {
        "--convert-only": 0,
        "--quantization": 0,
        "--precision": 1,
        "--representative-data-path": 1,
        "--do-not-keep-shape": 0,
        "--transposed-data-path": 1,
        "--convert-output": 1,
        "--cache-dir": 1,
        "--opset": 1,
        "--fidelity-samples": 1,
        "--fidelity-tolerance": 1,
        "--convert-timeout-s": 1,
    }
    assert O.SHARED_FLAGS == ("--model-type", "--model-class-path", "--model-class-name", "--label")
    assert O.RUN_SIDE_FLAGS == ("--fidelity-reference",)


def test_split_argv_by_hand() -> None:
    argv = [
        "m.onnx", "d.npz", "--framework", "tflite",
        "--precision", "int8", "--representative-data-path", Path("r.npz"),
        "--model-type=regression", "--label", "x", "--convert-only", "--threads", "4",
        "--fidelity-reference", "ref.npz", "--opset=13", "--do-not-keep-shape", "--model-class-path", "net.py",
    ]  # fmt: skip
    to_convert, to_run = O.split_argv(argv)
    assert to_convert == [
        "--precision", "int8", "--representative-data-path", "r.npz", "--model-type=regression", "--label", "x",
        "--convert-only", "--opset=13", "--do-not-keep-shape", "--model-class-path", "net.py",
    ]  # fmt: skip
    assert to_run == [
        "m.onnx", "d.npz", "--framework", "tflite", "--model-type=regression", "--label", "x", "--threads", "4",
        "--fidelity-reference", "ref.npz", "--model-class-path", "net.py",
    ]  # fmt: skip


def test_split_argv_edges() -> None:
    assert O.split_argv([]) == ([], [])
    assert O.split_argv(("--precision",)) == (["--precision"], [])  # its value missing at the end
    assert O.split_argv(["--cache-dir=/c", "--model-class-name=Net", "x"]) == (
        ["--cache-dir=/c", "--model-class-name=Net"],
        ["--model-class-name=Net", "x"],
    )
    # a shared flag takes one value; a flag the conversion does not know stays whole on the run side
    assert O.split_argv(["--model-type", "classification", "--quantization", "--x=1"]) == (
        ["--model-type", "classification", "--quantization"],
        ["--model-type", "classification", "--x=1"],
    )
    assert O.split_argv([Path("m.onnx"), "--opset", 12]) == (["--opset", "12"], ["m.onnx"])
    # a value holding "=" itself: the flag's name ends at the first one
    assert O.split_argv(["--label=a=b", "--cache-dir=/x=y"]) == (["--label=a=b", "--cache-dir=/x=y"], ["--label=a=b"])
