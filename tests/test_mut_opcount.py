"""bench/opcount.py's symbolic image inputs fixed from the data's shape in the other layout, on small ONNX graphs
built here with height and width unequal (so a transpose that swaps them is told apart); MACs by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import opcount
from bench.errors import UnsupportedModelError
from tests.conftest import require


def conv_model(path: Path, nhwc: bool) -> Path:
    """Conv 3->4, 3x3 kernel, no padding, on an input with symbolic H and W (NHWC input transposed first)."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    shape = ["N", "H", "W", 3] if nhwc else ["N", 3, "H", "W"]
    nodes = [helper.make_node("Conv", ["xc" if nhwc else "x", "w"], ["y"], kernel_shape=[3, 3])]
    if nhwc:
        nodes.insert(0, helper.make_node("Transpose", ["x"], ["xc"], perm=[0, 3, 1, 2]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.zeros((4, 3, 3, 3), dtype=np.float32), "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_nchw_data_on_an_nhwc_model(tmp_path: Path) -> None:
    model = conv_model(tmp_path / "nhwc.onnx", nhwc=True)
    res = opcount.count(model, input_shape=[8, 3, 6, 10])  # data NCHW, H 6, W 10, a batch of 8
    assert res["input_shape"] == [1, 6, 10, 3]
    assert res["macs"] == 4 * (6 - 2) * (10 - 2) * (3 * 3 * 3)  # per inference at batch 1


def test_nhwc_data_on_an_nchw_model(tmp_path: Path) -> None:
    model = conv_model(tmp_path / "nchw.onnx", nhwc=False)
    res = opcount.count(model, input_shape=[1, 6, 10, 3])  # data NHWC
    assert res["input_shape"] == [1, 3, 6, 10]
    assert res["macs"] == 4 * (6 - 2) * (10 - 2) * 27
    same = opcount.count(model, input_shape=[1, 3, 6, 10])  # already in the model's layout: taken as it is
    assert same["input_shape"] == [1, 3, 6, 10] and same["macs"] == res["macs"]
    with pytest.raises(UnsupportedModelError, match="does not fit"):
        opcount.count(model, input_shape=[1, 6, 10, 5])  # 5 channels fit neither layout
    with pytest.raises(UnsupportedModelError, match="no input shape given"):
        opcount.count(model)
