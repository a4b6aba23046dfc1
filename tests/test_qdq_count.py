"""ONNX QDQ models (QuantizeLinear/DequantizeLinear around float operators) are counted as int8 work: a model
quantized by ONNX Runtime's own quantize_static, against hand-computed MACs; weights alone dequantized stay fp32."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import opcount
from tests.conftest import require


def _float_model(path: Path) -> Path:
    """x(1,3,8,8) -> Conv 3->4 k3 p1 -> Relu -> Flatten -> Gemm 256->10 (float weights)."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal((10, 256)).astype(np.float32), "w2"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Flatten", ["r1"], ["f"]),
        helper.make_node("Gemm", ["f", "w2"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "float",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


#: by hand: Conv 4 outputs x 8x8 x (3 x 3x3); Gemm 10 outputs x 256
CONV_MACS = 4 * 8 * 8 * 27
GEMM_MACS = 10 * 256


def test_a_qdq_model_quantized_by_onnx_runtime_is_counted_as_int8(tmp_path: Path) -> None:
    require("onnxruntime")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(1)
            self.batches = iter([{"x": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)} for _ in range(4)])

        def get_next(self) -> object:
            return next(self.batches, None)

    src = _float_model(tmp_path / "f.onnx")
    qdq = tmp_path / "qdq.onnx"
    quantize_static(
        str(src), str(qdq), Reader(), quant_format=QuantFormat.QDQ, weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
    )  # fmt: skip
    onnx = require("onnx")
    ops = {n.op_type for n in onnx.load(str(qdq)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "Gemm"} <= ops, "the fixture is a QDQ model"

    res = opcount.count(qdq)
    assert res["macs"] == CONV_MACS + GEMM_MACS
    assert res["by_precision"] == {"int8": CONV_MACS + GEMM_MACS} and res["precision"] == "int8"
    assert opcount.count(src)["by_precision"] == {"fp32": CONV_MACS + GEMM_MACS}


def test_weights_alone_dequantized_are_fp32_arithmetic(tmp_path: Path) -> None:
    """int8 weights -> DequantizeLinear -> Conv with a float activation: the arithmetic is float (weight-only
    quantization), so the count says fp32."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.ones((4, 3, 3, 3), np.int8), "w1q"),
        numpy_helper.from_array(np.array(0.1, np.float32), "s"),
        numpy_helper.from_array(np.array(0, np.int8), "z"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["w1q", "s", "z"], ["w1"]),
        helper.make_node("Conv", ["x", "w1"], ["y"], pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "weights",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        inits,
    )
    path = tmp_path / "w.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    res = opcount.count(path)
    assert res["by_precision"] == {"fp32": CONV_MACS} and res["precision"] == "fp32"
