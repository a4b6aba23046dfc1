"""The experiment zoo: hand-written MobileNetV2 / EfficientNet-B0 / ResNet-50 against their published parameter counts,
the keras.applications variants, `edgebench zoo` output (exports load in onnxruntime and Keras and agree with the
PyTorch model), and --random-weights marking quality as not meaningful."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, require, run_cli

ZOO_NAMES = ("resnet50", "mobilenetv2", "efficientnet-b0")


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_pytorch_architecture_matches_published_parameter_count_and_output(name: str) -> None:
    torch = require("torch")
    from bench.models import zoo

    spec = zoo.ZOO[name]
    model = zoo.build_torch(name)
    params = sum(p.numel() for p in model.parameters())
    # exact: the reference layer layout (torchvision's); and within 2% of the paper's rounded figure
    assert params == spec.reference_params
    assert abs(params - spec.published_params) / spec.published_params < 0.02
    with torch.inference_mode():
        y = model(torch.zeros(2, 3, 224, 224))
    assert tuple(y.shape) == (2, 1000)


def test_hand_written_blocks_follow_the_papers() -> None:
    require("torch")
    from torch import nn

    from bench.models.efficientnet import EfficientNetB0, MBConv, SqueezeExcitation
    from bench.models.mobilenetv2 import InvertedResidual, MobileNetV2

    m = MobileNetV2()
    blocks = [b for b in m.modules() if isinstance(b, InvertedResidual)]
    assert len(blocks) == 17 and sum(b.residual for b in blocks) == 10
    assert any(isinstance(x, nn.ReLU6) for x in m.modules())
    e = EfficientNetB0()
    mb = [b for b in e.modules() if isinstance(b, MBConv)]
    assert len(mb) == 16 and sum(b.residual for b in mb) == 9
    kernels = sorted({c.kernel_size[0] for c in e.modules() if isinstance(c, nn.Conv2d) and c.groups > 1})
    assert kernels == [3, 5]
    assert len([s for s in e.modules() if isinstance(s, SqueezeExcitation)]) == 16
    # squeeze width is a quarter of the block's *input* channels (first block: 32 -> 8)
    assert mb[0].block[1].fc1.out_channels == 8


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_keras_applications_variant_parameter_count(name: str) -> None:
    require("keras")
    from bench.models import keras_zoo, zoo

    model = keras_zoo.build(name)
    trainable = keras_zoo.trainable_params(model)
    spec = zoo.ZOO[name]
    assert abs(trainable - spec.published_params) / spec.published_params < 0.02
    if name != "resnet50":  # Keras' ResNet50 keeps conv biases before BatchNorm (25,583,592 trainable)
        assert trainable == spec.reference_params
    assert tuple(model.input.shape) == (None, 224, 224, 3) and tuple(model.output.shape) == (None, 1000)


def test_unknown_zoo_model_is_a_clear_error() -> None:
    proc = run_cli("zoo", "--out", "/nonexistent/never", "--models", "mobilenetv3", timeout=120)
    assert proc.returncode == 2
    assert "unknown zoo model(s) mobilenetv3" in proc.stderr and "resnet50, mobilenetv2" in proc.stderr


@pytest.fixture(scope="module")
def small_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("torch")
    require("keras")
    out = tmp_path_factory.mktemp("zoo")
    proc = run_cli(
        "zoo", "--out", str(out), "--models", "mobilenetv2", "--samples", "3", "--representative-samples", "2",
        timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mobilenetv2" in proc.stdout and "3,504,872 parameters" in proc.stdout
    return out


def test_zoo_writes_every_format_and_the_manifest(small_zoo: Path) -> None:
    from bench import formats
    from bench.models import zoo

    raw = json.loads((small_zoo / "zoo.json").read_text())
    assert raw["random_weights"] is True and list(raw["models"]) == ["mobilenetv2"]
    entry = zoo.read_manifest(small_zoo)["models"]["mobilenetv2"]
    pt, ke = entry["pytorch"], entry["keras"]
    assert formats.detect(Path(pt["state_dict"])) == formats.TORCH_STATE_DICT
    assert formats.detect(Path(pt["onnx"])) == formats.ONNX
    assert formats.detect(Path(ke["model"])) == formats.KERAS
    assert pt["class_name"] == "MobileNetV2" and Path(pt["class_file"]).read_text().count("import torch") == 1
    with np.load(pt["data"], allow_pickle=False) as d:
        assert d["x_data"].shape == (3, 3, 224, 224) and d["x_data"].dtype == np.float32
        assert d["y_data"].shape == (3,) and d["y_data"].dtype == np.int64 and d["y_data"].max() < 1000
    with np.load(pt["representative_data"], allow_pickle=False) as r:
        assert r.files == ["x_data"] and r["x_data"].shape == (2, 3, 224, 224)
    with np.load(ke["data"], allow_pickle=False) as d:
        assert d["x_data"].shape == (3, 224, 224, 3)
        assert -1.0 <= d["x_data"].min() and d["x_data"].max() <= 1.0  # MobileNetV2's preprocess_input range


def test_zoo_exports_load_and_agree_with_the_pytorch_model(small_zoo: Path) -> None:
    torch = require("torch")
    ort = require("onnxruntime")
    from bench.models import zoo
    from bench.runtimes.pytorch import load_module

    pt = zoo.read_manifest(small_zoo)["models"]["mobilenetv2"]["pytorch"]
    with np.load(pt["data"], allow_pickle=False) as d:
        x = d["x_data"][:1]
    # the state_dict loads into the copied class file, the way `bench run --model-class-path` loads it
    module = load_module(Path(pt["state_dict"]), None, Path(pt["class_file"]), pt["class_name"])
    with torch.inference_mode():
        ref = module(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(pt["onnx"], providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert out.shape == (1, 1000)
    np.testing.assert_allclose(out, ref, atol=1e-4)
    # settled BatchNorm statistics: outputs vary with the input instead of collapsing to a constant
    assert float(ref.std()) > 1e-2


def test_zoo_keras_model_loads_and_predicts(small_zoo: Path) -> None:
    keras = require("keras")
    from bench.models import zoo

    ke = zoo.read_manifest(small_zoo)["models"]["mobilenetv2"]["keras"]
    model = keras.models.load_model(ke["model"], compile=False)
    with np.load(ke["data"], allow_pickle=False) as d:
        y = np.asarray(model(d["x_data"][:2], training=False))
    assert y.shape == (2, 1000)
    # logits (classifier_activation=None), at a trained network's scale: an int8 output keeps their ranking
    assert float(y.std()) > 1e-2 and not np.allclose(y.sum(axis=1), 1.0)
    assert model.layers[-1].get_config()["activation"] == "linear"


def test_random_weights_keeps_metrics_and_marks_them_not_meaningful(tmp_path: Path) -> None:
    require("onnxruntime")
    from bench import models

    out = tmp_path / "r.jsonl"
    common = "--framework onnx --warmup-runs 1 --warmup-min-s 0 --min-runs 3 --min-time-s 0".split()
    cmd = [sys.executable, "-m", "bench", "run", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), *common]
    for extra in ([], ["--random-weights"]):
        proc = subprocess.run(
            [*cmd, *extra, "--output", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    plain, marked = (json.loads(line) for line in out.read_text().splitlines())
    assert "not_meaningful" not in plain["quality"]
    assert marked["quality"]["not_meaningful"] == "random weights"
    assert marked["quality"]["accuracy"] == plain["quality"]["accuracy"]
    assert marked["options"]["random_weights"] is True
