"""Operation counts from model graphs: hand-computed small models, and ResNet-50 / MobileNetV2 against their published
multiply-accumulate counts (He et al. 2016: 3.8e9 FLOPs as multiply-adds for the paper's variant, torchvision's
ResNet-50 v1.5 4.09 GMACs; Sandler et al. 2018, Table 4: MobileNetV2 300M multiply-adds)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
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


def _symbolic_conv(path: Path) -> Path:
    """x(N, 3, H, W) with symbolic N, H, W -> Conv 3->16 k3 p1: at 224x224 it does 16*224*224*27 MACs, not 432."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((16, 3, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
        "symbolic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16, "H", "W"])],
        [w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_symbolic_spatial_dims_take_the_datas_shape_or_are_unavailable(tmp_path: Path) -> None:
    model = _symbolic_conv(tmp_path / "sym.onnx")
    with pytest.raises(UnsupportedModelError, match=r"symbolic dimensions \['H', 'W'\].*would be a guess"):
        opcount.count(model)
    at_224 = 16 * 224 * 224 * (3 * 3 * 3)  # Cout*Hout*Wout * Cin*kH*kW, by hand
    res = opcount.count(model, input_shape=[1, 3, 224, 224])
    assert res["macs"] == at_224 and res["input_shape"] == [1, 3, 224, 224]
    assert opcount.count(model, input_shape=[1, 224, 224, 3])["macs"] == at_224, "NHWC data fits transposed"
    with pytest.raises(UnsupportedModelError, match="does not fit"):
        opcount.count(model, input_shape=[1, 5, 7])


def test_symbolic_batch_alone_counts_at_batch_one(tmp_path: Path) -> None:
    onnx = require("onnx")
    model = onnx.load(str(_onnx_model(tmp_path / "small.onnx")))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(model, str(tmp_path / "batch.onnx"))
    assert opcount.count(tmp_path / "batch.onnx")["macs"] == 4 * 8 * 8 * 27 + 4 * 8 * 8 * 9 + 256 * 10


def _quantized_onnx(path: Path) -> Path:
    """QLinearConv 3->4 k3 p1 on 8x8, ConvInteger 4->2 k1, then QLinearMatMul (1,128)x(128,10) and MatMulInteger."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    def t(name: str, a: np.ndarray) -> object:
        return numpy_helper.from_array(a, name)

    f32, u8, i8 = np.float32, np.uint8, np.int8
    inits = [
        t("s", np.array(0.1, f32)), t("zu", np.array(0, u8)), t("zi", np.array(0, i8)),
        t("w1", np.ones((4, 3, 3, 3), i8)), t("w2", np.ones((2, 4, 1, 1), u8)),
        t("shape", np.array([1, 128], np.int64)), t("w3", np.ones((128, 10), i8)), t("w4", np.ones((10, 6), u8)),
    ]  # fmt: skip
    nodes = [
        helper.make_node("QLinearConv", ["x", "s", "zu", "w1", "s", "zi", "s", "zu"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("ConvInteger", ["c1", "w2"], ["c2"]),  # int32 out
        helper.make_node("Cast", ["c2"], ["c2f"], to=TensorProto.FLOAT),
        helper.make_node("QuantizeLinear", ["c2f", "s", "zu"], ["c2q"]),
        helper.make_node("Reshape", ["c2q", "shape"], ["flat"]),
        helper.make_node("QLinearMatMul", ["flat", "s", "zu", "w3", "s", "zi", "s", "zu"], ["m1"]),
        helper.make_node("MatMulInteger", ["m1", "w4"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "quantized",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 6])],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_quantized_onnx_operators_are_counted_and_labelled_int8(tmp_path: Path) -> None:
    res = opcount.count(_quantized_onnx(tmp_path / "q.onnx"))
    by_hand = {
        "QLinearConv": 4 * 8 * 8 * (3 * 3 * 3),
        "ConvInteger": 2 * 8 * 8 * (4 * 1 * 1),
        "QLinearMatMul": 10 * 128,
        "MatMulInteger": 6 * 10,
    }
    assert res["by_type"] == by_hand and res["macs"] == sum(by_hand.values())
    assert res["by_precision"] == {"int8": sum(by_hand.values())} and res["precision"] == "int8"
    ort = require("onnxruntime")
    sess = ort.InferenceSession(str(tmp_path / "q.onnx"), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"x": np.ones((1, 3, 8, 8), np.uint8)})
    assert y.shape == (1, 6), "the fixture is a model ONNX Runtime runs, shapes as counted"


def tflite_made_by(script: str) -> Path:
    """The TFLite model a TensorFlow ``script`` makes (it sets ``model_bytes``), converted in a child process and kept
    by the script's hash: TensorFlow's threads never start in the test process, whose forks (mutmut's) would wait on
    their locks, and the second test run takes the file as it is."""
    require("tensorflow")
    key = hashlib.sha256(script.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / "edgebench-test-tflite" / f"{key}.tflite"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(f".{key}.part")
        code = f"import numpy as np\nimport tensorflow as tf\n{script}\nopen({str(part)!r}, 'wb').write(model_bytes)\n"
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=600)
        part.replace(path)
    return path


#: a conv with input (1, None, None, 3): 8 filters 3x3, 'SAME' (TensorFlow code for tflite_made_by)
DYNAMIC_CONV = """
w = tf.constant(np.ones((3, 3, 3, 8), np.float32))

@tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
def f(x):
    return tf.nn.conv2d(x, w, strides=1, padding="SAME")

model_bytes = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert()
"""


def test_tflite_batch_matmul_honours_adj_x() -> None:
    """A (1, K=6, M=4) with adj_x times B (1, 6, 5): out (1, 4, 5), K = 6: 4*5*6 = 120 MACs (A's last dim would give
    4*5*4 = 80)."""
    require("ai_edge_litert")
    path = tflite_made_by(
        """
b = tf.constant(np.ones((1, 6, 5), np.float32))

@tf.function(input_signature=[tf.TensorSpec([1, 6, 4], tf.float32)])
def f(a):
    return tf.linalg.matmul(a, b, adjoint_a=True)

model_bytes = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert()
"""
    )
    from bench.runtimes.tflite import interpreter_module

    _, mod, _ = interpreter_module()
    ops = [op["op_name"] for op in mod.Interpreter(model_path=str(path))._get_ops_details()]
    assert ops == ["BATCH_MATMUL"], f"the fixture must keep adj_x in one BATCH_MATMUL, got {ops}"
    assert opcount.count(path)["by_type"] == {"BATCH_MATMUL": 4 * 5 * 6}


def test_edge_tpu_model_counts_the_model_it_was_compiled_from(tmp_path: Path) -> None:
    """A partly compiled Edge TPU model's own graph is the custom op plus the CPU remainder: counted from the model it
    was compiled from. Stand-in here: a TFLite holding only the digits model's last layer (the remainder)."""
    require("ai_edge_litert")
    require("onnx")
    from bench import formats, models, peak_share

    made = tflite_made_by(
        """
@tf.function(input_signature=[tf.TensorSpec([1, 1024], tf.float32)])
def tail(x):
    return tf.matmul(x, tf.ones((1024, 10)))

model_bytes = tf.lite.TFLiteConverter.from_concrete_functions([tail.get_concrete_function()], tail).convert()
"""
    )
    remainder = tmp_path / "digits_edgetpu.tflite"
    remainder.write_bytes(made.read_bytes())
    assert opcount.count(remainder)["macs"] == 1024 * 10, "the remainder alone"
    chain = {"chain": [{"from": "onnx", "to": "tflite", "artifact": str(models.DIGITS_TFLITE_INT8)},
                       {"from": "tflite", "to": "edgetpu-tflite", "artifact": str(remainder)}]}  # fmt: skip
    res = peak_share.count_ops(None, remainder, formats.EDGETPU_TFLITE, chain)
    digits = 8 * 32 * 32 * 9 + 16 * 16 * 16 * 72 + 16 * 8 * 8 * 10
    assert res["macs"] == digits and res["source"] == "tflite graph (of the model it was converted from)"
    alone = peak_share.count_ops(None, remainder, formats.EDGETPU_TFLITE, {})
    assert "edgetpu-custom-op" in alone["unavailable"], "no source at hand: unavailable, never the remainder"


def test_tflite_unknown_spatial_dims_take_the_datas_shape_or_are_unavailable() -> None:
    """A conv with input (1, None, None, 3): the interpreter shows 1x1 until resized; 8 filters 3x3 at 32x32, 'SAME'."""
    require("ai_edge_litert")
    path = tflite_made_by(DYNAMIC_CONV)
    with pytest.raises(UnsupportedModelError, match="unknown dimensions"):
        opcount.count(path)
    res = opcount.count(path, input_shape=[1, 32, 32, 3])
    assert res["macs"] == 8 * 32 * 32 * (3 * 3 * 3) and res["input_shape"] == [1, 32, 32, 3]


def test_the_shipped_int8_and_float_digits_models_split_by_precision() -> None:
    """The digits CNN by hand: conv 1->8 3x3 at 32x32 (8*32*32*9), conv 8->16 3x3 at 16x16 (16*16*16*72), dense
    1024->10 (16*8*8*10). The int8 export's weights are int8: every MAC is int8; the float one's none."""
    require("ai_edge_litert")
    from bench import models

    macs = 8 * 32 * 32 * 9 + 16 * 16 * 16 * 72 + 16 * 8 * 8 * 10
    q = opcount.count(models.DIGITS_TFLITE_INT8)
    assert (q["macs"], q["by_precision"], q["precision"]) == (macs, {"int8": macs}, "int8")
    f = opcount.count(models.DIGITS_TFLITE)
    assert (f["macs"], f["by_precision"], f["precision"]) == (macs, {"fp32": macs}, "fp32")
    assert q["by_type"] == f["by_type"] == {"CONV_2D": 8 * 32 * 32 * 9 + 16 * 16 * 16 * 72, "FULLY_CONNECTED": 10240}


def test_a_tflite_build_without_operator_details_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Coral's tflite_runtime 2.5.0.post1 may lack Interpreter._get_ops_details: a stand-in module without it."""
    from bench import models
    from bench.runtimes import tflite

    class Interpreter:
        def __init__(self, model_path: str, **kwargs: object) -> None:
            self.model_path = model_path

    fake = type("tflite_runtime", (), {"Interpreter": Interpreter})
    monkeypatch.setattr(tflite, "interpreter_module", lambda preferred=None: ("tflite_runtime", fake, "2.5.0"))
    with pytest.raises(UnsupportedModelError) as err:
        opcount.count(models.DIGITS_TFLITE)
    assert str(err.value) == "this TFLite build exposes no operator details. Fix: count the ONNX export instead"


def test_unknown_tflite_dims_name_the_input_and_the_fix_in_full() -> None:
    require("ai_edge_litert")
    path = tflite_made_by(DYNAMIC_CONV)
    fix = "Fix: count it with the data it runs on, or convert the model with static input shapes"
    for shape, why in (
        (None, "no input shape given"),
        ([1, 32, 32, 5], "the data's shape [1, 32, 32, 5] does not fit"),
    ):
        with pytest.raises(UnsupportedModelError) as err:
            opcount.count(path, input_shape=shape)
        text = str(err.value)
        assert text.startswith("input '") and text.endswith(
            f"has unknown dimensions [1, 2] ({why}): its operation count would be a guess. {fix}"
        ), text
