"""Operation counts from model graphs: hand-computed small models, and ResNet-50 / MobileNetV2 against their published
multiply-accumulate counts (He et al. 2016: 3.8e9 FLOPs as multiply-adds for the paper's variant, torchvision's
ResNet-50 v1.5 4.09 GMACs; Sandler et al. 2018, Table 4: MobileNetV2 300M multiply-adds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import opcount
from bench.errors import UnsupportedModelError
from tests.conftest import require


def _onnx_model(path: Path) -> Path:
    """x(1,3,8,8) -> Conv 3->4 k3 p1 -> depthwise Conv k3 p1 (group 4) -> Flatten -> Gemm 256->10."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.standard_normal((256, 10)).astype(np.float32), "w3"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=4),
        helper.make_node("Flatten", ["c2"], ["f"]),
        helper.make_node("Gemm", ["f", "w3"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))
    return path


def test_small_onnx_model_by_hand(tmp_path: Path) -> None:
    res = opcount.count(_onnx_model(tmp_path / "small.onnx"))
    conv = 4 * 8 * 8 * (3 * 3 * 3)  # Cout*Hout*Wout * Cin*kH*kW
    depthwise = 4 * 8 * 8 * (1 * 3 * 3)  # group == Cin: one input channel per output
    gemm = 256 * 10
    assert res["by_type"] == {"Conv": conv, "DepthwiseConv": depthwise, "Gemm": gemm}
    assert res["macs"] == conv + depthwise + gemm and res["ops"] == 2 * res["macs"]


def test_shipped_digits_model_onnx_and_tflite_agree_with_hand_count() -> None:
    require("onnx")
    require("ai_edge_litert")
    from bench import models

    conv1 = 8 * 32 * 32 * (1 * 3 * 3)
    conv2 = 16 * 16 * 16 * (8 * 3 * 3)
    fc = 16 * 8 * 8 * 10
    onnx_res = opcount.count(models.DIGITS_ONNX)
    tfl_res = opcount.count(models.DIGITS_TFLITE)
    assert onnx_res["macs"] == tfl_res["macs"] == conv1 + conv2 + fc
    assert tfl_res["by_type"] == {"CONV_2D": conv1 + conv2, "FULLY_CONNECTED": fc}
    assert opcount.count(models.DIGITS_TFLITE_INT8)["macs"] == conv1 + conv2 + fc, "int8 has the same graph"


@pytest.mark.parametrize(
    "module, cls, published, tol",
    [("resnet", "ResNet50", 4.1e9, 0.02), ("mobilenetv2", "MobileNetV2", 300e6, 0.02)],
)
def test_zoo_models_match_published_counts(tmp_path: Path, module: str, cls: str, published: float, tol: float) -> None:
    torch = require("torch")
    require("onnx")
    import importlib

    model = getattr(importlib.import_module(f"bench.models.{module}"), cls)().eval()
    path = tmp_path / f"{cls}.onnx"
    torch.onnx.export(
        model, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, external_data=False, opset_version=17
    )
    res = opcount.count(path)
    assert abs(res["macs"] - published) / published < tol, res
    if cls == "MobileNetV2":
        assert res["by_type"]["DepthwiseConv"] > 0


def test_tflite_depthwise_mobilenetv2_from_keras(tmp_path: Path) -> None:
    """keras.applications MobileNetV2 through TFLiteConverter: DEPTHWISE_CONV_2D counted, total ~300M MACs."""
    keras = require("keras")
    tf = require("tensorflow")
    require("ai_edge_litert")
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    path = tmp_path / "mbv2.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    res = opcount.count(path)
    assert abs(res["macs"] - 300e6) / 300e6 < 0.02, res
    assert set(res["by_type"]) == {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def test_formats_without_a_graph_reader_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelError, match="ONNX and TFLite"):
        opcount.count(tmp_path / "m.pth", fmt="torch-state-dict")
