"""bench/verify_timing.py's model set for timing a Coral without a zoo folder, in process (tests/test_verify.py's
Coral case also reads the image's Dockerfile, which the mutation run's scratch tree has not): Coral's compiled
MobileNet v2 on 8 random 224x224 uint8 images, and no set for other presets or without the compiled model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import verify_timing


def test_coral_timing_set_without_a_zoo(tmp_path: Path) -> None:
    compiled = tmp_path / "mobilenet_v2_1.0_224_quant_edgetpu.tflite"
    compiled.write_bytes(b"TFL3" * 4)
    figure = verify_timing.figure_for("rpi5", "coral")
    timed = verify_timing.timing_set(figure, None, compiled)
    assert timed.name == "mobilenetv2" and timed.files == {"edgetpu": compiled} and timed.random_weights is True
    assert timed.data.name == "images.npz" and timed.data.parent.name.startswith("edgebench-timing-")
    with np.load(timed.data, allow_pickle=False) as data:
        assert sorted(data.files) == ["x_data", "y_data"]
        x, y = data["x_data"], data["y_data"]
    assert x.shape == (8, 224, 224, 3) and x.dtype == np.uint8 and (x.min(), x.max()) == (0, 255)  # the whole range
    assert y.shape == (8,) and y.dtype == np.int64 and not y.any()
    assert len(np.unique(x)) > 200, "random images, not a constant"
    again = verify_timing.timing_set(figure, None, compiled)
    assert again.data != timed.data and np.array_equal(np.load(again.data)["x_data"], x)  # seeded: the same images


def test_no_timing_set_without_the_compiled_model_or_for_other_presets(tmp_path: Path) -> None:
    coral = verify_timing.figure_for("rpi5", "coral")
    assert verify_timing.timing_set(coral, None, None) is None
    nano = verify_timing.figure_for("jetson-nano", "tensorrt-fp16")
    assert verify_timing.timing_set(nano, None, tmp_path / "x.tflite") is None


def test_the_images_compiled_model_is_used_only_when_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(verify_timing.EDGETPU_TIMING_MODEL_ENV, raising=False)
    assert verify_timing.default_edgetpu_model() is None
    compiled = tmp_path / "mobilenet_v2_1.0_224_quant_edgetpu.tflite"
    monkeypatch.setenv(verify_timing.EDGETPU_TIMING_MODEL_ENV, str(compiled))
    assert verify_timing.default_edgetpu_model() is None  # named, not fetched
    compiled.write_bytes(b"TFL3")
    assert verify_timing.default_edgetpu_model() == compiled
    monkeypatch.setenv(verify_timing.EDGETPU_TIMING_MODEL_ENV, "")
    assert verify_timing.default_edgetpu_model() is None


@pytest.mark.parametrize(
    "board, preset, expected",
    [
        # Coral's desktop figure (coral.ai Edge TPU benchmarks: 2.6 ms, MobileNet v2, USB 3.0) on a workstation
        ("generic", "coral", ("generic", "mobilenetv2", 2.6, 3.0)),
        # the same figure held within 6x on a Pi host (its CPU and USB stack add time the figure does not hold)
        ("rpi4", "coral", ("rpi4", "mobilenetv2", 2.6, 6.0)),
        ("rpi5", "coral", ("rpi5", "mobilenetv2", 2.6, 6.0)),
        # NVIDIA's Jetson Nano benchmark: ResNet-50 TensorRT FP16 at 36 FPS, about 28 ms
        ("jetson-nano", "tensorrt-fp16", ("jetson-nano", "resnet50", 28.0, 3.0)),
        # no figure: a Coral on a Jetson, TensorRT on an Orin, a CPU preset anywhere
        ("jetson-nano", "coral", None),
        ("jetson-orin", "tensorrt-fp16", None),
        ("rpi5", "onnx", None),
    ],
)
def test_each_boards_published_figure_from_the_board_table(board: str, preset: str, expected: object) -> None:
    figure = verify_timing.figure_for(board, preset)
    got = None if figure is None else (figure.board, figure.model, figure.ms, figure.bound)
    assert got == expected
