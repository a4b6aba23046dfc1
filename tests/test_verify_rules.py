"""`edgebench verify`'s rules pinned by behaviour: each tolerance, threshold, bound and published figure with a case
just inside and one just outside it, the verdict of a path whose outputs disagree (a real ONNX Runtime run against a
wrong reference) and the exit code of ``verify.main`` when a path fails (a real broken model file)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from bench import cli, verify
from tests.conftest import require

REF = np.array([[0.0, 5.0, 1.0], [3.0, 0.0, 1.0]])  # output range 5


@pytest.mark.parametrize("shift, ok", [(0.99e-3, True), (1.01e-3, False)])
def test_fp32_tolerance_is_one_thousandth_absolute(shift: float, ok: bool) -> None:
    res = verify.check_outputs("onnx", REF + shift, REF)
    assert res["ok"] is ok and res["max_abs_diff"] == pytest.approx(shift)


@pytest.mark.parametrize("shift, ok", [(0.049, True), (0.051, False)])  # 1 % of the range 5
def test_fp16_tolerance_is_one_percent_of_the_reference_range(shift: float, ok: bool) -> None:
    assert verify.check_outputs("tflite-fp16", REF + shift, REF)["ok"] is ok


def _classes_agreeing(n: int, agree: int) -> tuple:
    """(got, ref) logits of n samples over 4 classes whose top-1 agrees on the first ``agree`` samples only."""
    ref = np.zeros((n, 4))
    ref[np.arange(n), np.arange(n) % 4] = 1.0
    got = ref.copy()
    got[agree:] = np.roll(ref[agree:], 1, axis=1)
    return got, ref


@pytest.mark.parametrize("agree, ok", [(90, True), (89, False), (50, False)])
def test_int8_needs_top1_agreement_of_at_least_90_percent(agree: int, ok: bool) -> None:
    got, ref = _classes_agreeing(100, agree)
    res = verify.check_outputs("tflite-int8", got, ref)
    assert res["top1_agreement"] == pytest.approx(agree / 100) and res["ok"] is ok


@pytest.mark.parametrize(
    "board, preset, model, published, bound",
    [
        ("generic", "coral", "mobilenetv2", 2.6, 3.0),  # Coral's own setup: a desktop host over USB 3
        ("rpi4", "coral", "mobilenetv2", 2.6, 6.0),  # a Pi host adds host time the desktop figure does not hold
        ("rpi5", "coral", "mobilenetv2", 2.6, 6.0),
        ("jetson-nano", "tensorrt-fp16", "resnet50", 28.0, 3.0),
    ],
)
def test_timing_bound_is_its_stated_factor_either_way_of_the_published_figure(
    board: str, preset: str, model: str, published: float, bound: float
) -> None:
    def ok(ms: float) -> bool:
        res = verify.check_timing(board, preset, model, ms, emulated=False)
        assert res["published_ms"] == published and res["bound"] == bound
        return res["ok"]

    assert ok(published) and ok(published / bound * 1.01) and ok(published * bound * 0.99)
    assert not ok(published / bound * 0.99), "a run that much faster than published is as suspect as one slower"
    assert not ok(published * bound * 1.01)


def test_a_path_whose_outputs_disagree_fails_even_when_it_runs(tmp_path: Path) -> None:
    """A real ONNX Runtime run of the digits model checked against a reference 1.0 off: the run works, the verdict
    is fail because of the outputs alone (emulated: no timing check)."""
    require("onnxruntime")
    from bench import data

    models_ = verify.shipped_digits()
    x = data.load_npz(models_.data).x[:20]
    _, right = verify.reference_outputs(models_, x)
    out = tmp_path / "r.jsonl"
    good = verify.verify_path("onnx", models_, x, right, "generic", True, out, 1)
    assert good.status == "pass" and good.output_check["ok"], good
    bad = verify.verify_path("onnx", models_, x, np.asarray(right) + 1.0, "generic", True, out, 1)
    assert bad.status == "fail" and bad.reason == "outputs out of bounds", bad
    assert bad.output_check["max_abs_diff"] == pytest.approx(1.0, abs=1e-3) and bad.timing_check["ok"]


def test_main_exits_1_when_a_path_fails_and_0_when_none_does(tmp_path: Path, monkeypatch, capsys) -> None:
    require("onnxruntime")
    require("ai_edge_litert")
    good = verify.shipped_digits()
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"TFL3" + b"\0" * 64)
    bad = verify.ModelSet(
        "digits", good.data, {**good.files, "tflite": broken}, good.class_path, good.class_name, good.representative
    )

    def args(presets: str) -> argparse.Namespace:  # the command line's own parser: every option at its default
        argv = ["verify", "--presets", presets, "--report-dir", str(tmp_path / "reports")]
        return cli.build_parser().parse_args([*argv, "--output", str(tmp_path / "r.jsonl"), "--threads", "1"])

    monkeypatch.setattr(verify, "shipped_digits", lambda edgetpu=None: bad)
    assert verify.main(args("onnx,tflite")) == 1
    assert "1 passed, 1 failed" in capsys.readouterr().out
    assert verify.main(args("onnx")) == 0


def test_the_cpu_reference_agrees_with_pytorch_on_the_same_weights_and_knows_the_digits() -> None:
    """The reference (ONNX Runtime on the shipped ONNX file) against an independent computation: PyTorch's forward
    pass of the shipped state dict, and the test labels of the digits data (a known input)."""
    torch = require("torch")
    require("onnxruntime")
    from bench import data, models
    from bench.models.digits import DigitsCNN

    models_ = verify.shipped_digits()
    d = data.load_npz(models_.data)
    x, y = d.x[:200], np.asarray(d.y[:200])
    name, ref = verify.reference_outputs(models_, x)
    net = DigitsCNN().eval()
    net.load_state_dict(torch.load(models.DIGITS_STATE_DICT, weights_only=True))
    with torch.no_grad():
        expected = net(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()
    assert name.startswith("onnx")
    assert np.max(np.abs(np.asarray(ref).reshape(expected.shape) - expected)) < 1e-4
    assert np.mean(expected.argmax(1) == y) > 0.9
