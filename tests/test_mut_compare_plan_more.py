"""`edgebench compare`'s plan, more by behaviour and fast: every refusal of the arguments with its full problem and
fix, --all's choice with and without --convert-only (the per-machine probe replaced by a recorder), the skip reasons
and their log lines, and the jobs of a preset given its own converted file (run as it is, nothing to convert)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from bench import cli
from bench.compare import plan
from bench.compare.artifacts import Artifact
from bench.errors import InputError

ASSETS = Path(cli.__file__).parent / "models" / "assets"
MODEL = [str(ASSETS / "digits_cnn.onnx"), str(ASSETS / "digits_test.npz")]
INT8 = ASSETS / "digits_cnn_int8.tflite"
# the presets of bench/compare/presets.py, by hand, in their order; the int8 ones need calibration
ALL = (
    "pytorch onnx tflite tflite-fp16 tflite-int8 tflite-nodelegate tflite-armnn armnn coral tensorrt-fp32 "
    "tensorrt-fp16 tensorrt-int8 executorch executorch-int8 ncnn ncnn-fp16 openvino openvino-int8"
).split()
NEED_CALIB = ["tflite-int8", "coral", "tensorrt-int8", "executorch-int8", "openvino-int8"]


def _plan(tmp_path: Path, *extra: str) -> plan.Plan:
    argv = ["compare", *MODEL, "--output", str(tmp_path / "r.jsonl"), *extra]
    return cli.compare_plan_of(cli.build_parser().parse_args(argv))


def _refusal(tmp_path: Path, *extra: str) -> Tuple[str, str]:
    with pytest.raises(InputError) as err:
        _plan(tmp_path, *extra)
    return err.value.problem, err.value.fix


@pytest.mark.parametrize("flag,value", [("--delegate", "armnn"), ("--precision", "fp16")])
def test_preset_flags_are_refused_with_the_presets(tmp_path: Path, flag: str, value: str) -> None:
    problem, fix = _refusal(tmp_path, "--configs", "onnx", flag, value)
    assert (problem, fix) == (
        f"{flag} is set by each preset in compare",
        f"pick presets instead (valid: {', '.join(ALL)})",
    )


@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--configs", "onnx", "--all"], ("--all and --configs both given", "pass one of them")),
        (["--configs", "onnx", "--no-raw"],
         ("--no-raw does not fit compare (its intervals need the raw samples)", "leave it out")),
        (["--configs", "onnx", "--convert-output", "out"],
         ("compare takes --convert-only and --convert-output DIR together (convert every preset into DIR)",
          "pass both, e.g. --convert-only --convert-output converted/; `edgebench run --convert-only` converts one")),
        (["--configs", "onnx", "--rounds", "0"], ("--rounds 0 is below 1", "pass --rounds 1 or more")),
        (["--configs", "onnx", "--cooldown-max-s", "-2"],
         ("cooldown seconds must not be negative", "pass --cooldown-s and --cooldown-max-s >= 0")),
        (["--configs", "onnx,tflite", "--baseline", "x"],
         ("--baseline 'x' is not one of this compare's labels", "use one of: onnx, tflite")),
        (["--configs", "onnx", "--threads", "2,2"],
         ("--threads '2,2' needs distinct counts >= 1", "pass e.g. --threads 1,4")),
        (["--configs", "onnx", "--artifact", f"tflite-int8={INT8}"],
         ("--artifact tflite-int8: not among --configs", "add it to --configs, or leave the artifact out")),
    ],
)  # fmt: skip
def test_refusals_in_full(tmp_path: Path, extra: List[str], expected: Tuple[str, str]) -> None:
    assert _refusal(tmp_path, *extra) == expected


@pytest.mark.parametrize("given", [["--artifact", f"tflite-int8={INT8}"], ["--artifacts", "conv"]])
def test_convert_only_takes_no_converted_files(tmp_path: Path, given: List[str]) -> None:
    extra = ["--configs", "onnx", "--convert-only", "--convert-output", str(tmp_path / "o"), *given]
    assert _refusal(tmp_path, *extra) == (
        "--convert-only converts; --artifact/--artifacts give converted files",
        "pass one of them",
    )


def test_convert_only_alone_plans_and_leaves_files_out(tmp_path: Path) -> None:
    p = _plan(tmp_path, "--configs", "onnx", "--convert-only", "--convert-output", str(tmp_path / "o"))
    assert p.labels == ["onnx"] and p.jobs[0].artifact is None


def test_all_with_a_missing_model(tmp_path: Path) -> None:
    argv = ["compare", str(tmp_path / "no.onnx"), MODEL[1], "--all"]
    with pytest.raises(InputError) as err:
        cli.compare_plan_of(cli.build_parser().parse_args(argv))
    assert (err.value.problem, err.value.fix) == (f"model {tmp_path / 'no.onnx'} not found", "check the path")


def test_all_convert_only_without_calibration(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bench.compare.plan")
    p = _plan(tmp_path, "--all", "--convert-only", "--convert-output", str(tmp_path / "o"))
    assert p.labels == [n for n in ALL if n not in NEED_CALIB]
    assert list(p.skipped) == [(n, "int8 needs --representative-data-path") for n in NEED_CALIB]
    lines = [r.getMessage() for r in caplog.records if r.name == "bench.compare.plan"]
    assert lines == [f"--all: skipping {n} (int8 needs --representative-data-path)" for n in NEED_CALIB]


def test_all_convert_only_with_calibration_takes_every_preset(tmp_path: Path) -> None:
    extra = ["--all", "--convert-only", "--convert-output", str(tmp_path / "o"), "--representative-data-path"]
    p = _plan(tmp_path, *extra, MODEL[1])
    assert p.labels == ALL and p.skipped == ()


class _SelectAll:
    """Stands in for the per-machine probe: records its arguments, answers ``chosen`` and ``skipped``."""

    def __init__(self, chosen: List[str], skipped: List[Tuple[str, str]]) -> None:
        self.answer = (chosen, skipped)
        self.calls: List[Tuple[Any, ...]] = []

    def __call__(self, source_format: str, have_calibration: bool, arts: Optional[Dict[str, str]] = None) -> Any:
        self.calls.append((source_format, have_calibration, arts))
        return list(self.answer[0]), list(self.answer[1])


def test_all_asks_about_the_source_format_and_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _SelectAll(["onnx", "tflite-int8"], [("coral", "no Edge TPU")])
    monkeypatch.setattr(plan, "select_all", fake)
    p = _plan(tmp_path, "--all", "--artifact", f"tflite-int8={INT8}")
    assert fake.calls == [("onnx", False, {"tflite-int8": "tflite"})]
    assert p.labels == ["onnx", "tflite-int8"] and p.skipped == (("coral", "no Edge TPU"),)
    assert p.jobs[1].artifact.path == INT8 and p.jobs[0].artifact is None
    _plan(tmp_path, "--all", "--representative-data-path", MODEL[1])
    assert fake.calls[-1] == ("onnx", True, {})


def test_all_adds_the_host_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "select_all", _SelectAll(["onnx"], [("coral", "no Edge TPU"), ("ncnn", "no pnnx")]))
    seen: List[Path] = []

    def not_converted(folder: Path) -> Dict[str, str]:
        seen.append(folder)
        return {"coral": "edgetpu_compiler missing"}

    monkeypatch.setattr("bench.compare.artifacts.not_converted", not_converted)
    monkeypatch.setattr("bench.compare.artifacts.read_dir", lambda folder: {})
    p = _plan(tmp_path, "--all", "--artifacts", str(tmp_path / "conv"))
    assert seen == [tmp_path / "conv"]
    assert p.skipped == (
        ("coral", "no Edge TPU; not converted in the host either: edgetpu_compiler missing"),
        ("ncnn", "no pnnx"),
    )
    seen.clear()
    assert _plan(tmp_path, "--all").skipped == (("coral", "no Edge TPU"), ("ncnn", "no pnnx"))
    assert seen == []  # no --artifacts folder: nothing asked


def test_all_with_nothing_runnable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "select_all", _SelectAll([], [("onnx", "broken"), ("tflite", "absent")]))
    assert _refusal(tmp_path, "--all") == ("no preset can run here", "onnx: broken; tflite: absent")


def test_protocol_carries_every_option(tmp_path: Path) -> None:
    extra = ["--configs", "onnx", "--cooldown-to-c", "55", "--resume", "--cooldown-s", "1.5", "--rounds", "4"]
    proto = _plan(tmp_path, *extra, "--cooldown-max-s", "30", "--seed", "3").protocol
    assert proto == plan.Protocol(
        rounds=4, seed=3, cooldown_s=1.5, cooldown_to_c=55.0, cooldown_max_s=30.0, resume=True
    )


def test_a_converted_int8_file_runs_as_it_is(tmp_path: Path) -> None:
    ref = tmp_path / "ref.npz"
    ref.write_bytes(Path(MODEL[1]).read_bytes())
    args = cli.build_parser().parse_args(["compare", *MODEL, "--representative-data-path", MODEL[1]])
    template = cli.config.run_config(args, framework="", threads=None, cooldown=None)
    art = Artifact(INT8, reference=ref, origin="--artifact")
    p = plan.make_plan(template, ["tflite-int8", "tflite"], (1, 2), artifacts={"tflite-int8": art})
    assert p.labels == ["tflite-int8 @1t", "tflite-int8 @2t", "tflite @1t", "tflite @2t"]
    for job in p.jobs[:2]:
        conv = job.run.convert
        assert job.artifact is art and job.run.model == INT8
        # the file is converted already: fp32 "conversion" (none), no calibration, no output, its reference kept
        assert (conv.precision, conv.representative_data, conv.convert_only, conv.output) == ("fp32", None, False, None)
        assert conv.fidelity_reference == ref
    assert [j.threads for j in p.jobs] == [1, 2, 1, 2]
    assert all(j.artifact is None and j.run.model == Path(MODEL[0]) for j in p.jobs[2:])
    assert p.jobs[2].run.convert.precision == "fp32" and p.skipped == () and p.done == frozenset()


def test_demo_exports_serve_fp32_presets_of_their_framework(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(["compare", *MODEL])
    template = cli.config.run_config(args, framework="", threads=None, cooldown=None)
    cls = tmp_path / "net.py"
    exports = {"tflite": (str(ASSETS / "digits_cnn.tflite"), cls, "Net")}
    p = plan.make_plan(template, ["tflite", "tflite-nodelegate", "onnx"], artifacts=exports)
    assert [j.run.model for j in p.jobs] == [ASSETS / "digits_cnn.tflite"] * 2 + [Path(MODEL[0])]
    assert [(j.run.model_class_path, j.run.model_class_name) for j in p.jobs[:2]] == [(cls, "Net")] * 2
    assert p.jobs[0].artifact.path == ASSETS / "digits_cnn.tflite" and p.jobs[2].artifact is None


def test_every_stray_artifact_is_named(tmp_path: Path) -> None:
    extra = [
        "--configs",
        "onnx",
        "--artifact",
        f"tflite-int8={INT8}",
        "--artifact",
        f"tflite={ASSETS / 'digits_cnn.tflite'}",
    ]
    assert _refusal(tmp_path, *extra)[0] == "--artifact tflite-int8, tflite: not among --configs"


def test_a_folder_may_hold_presets_not_compared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a --artifacts folder holds every converted preset; comparing some of them is no mistake
    folder = {"tflite": Artifact(ASSETS / "digits_cnn.tflite", origin=str(tmp_path / "conv" / "manifest.json"))}
    monkeypatch.setattr("bench.compare.artifacts.read_dir", lambda path: dict(folder))
    p = _plan(tmp_path, "--configs", "onnx", "--artifacts", str(tmp_path / "conv"))
    assert p.labels == ["onnx"] and p.jobs[0].artifact is None
    both = _plan(tmp_path, "--configs", "onnx,tflite", "--artifacts", str(tmp_path / "conv"))
    assert both.jobs[1].artifact == folder["tflite"] and both.jobs[1].run.model == ASSETS / "digits_cnn.tflite"
