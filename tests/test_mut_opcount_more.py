"""bench/opcount.py, third part (mutation run): the int8 label (more than half of the MACs), the refusal of a format
without a graph, QDQ MatMuls whose operands are not both int8, and the TFLite count read through a stand-in
interpreter (what LiteRT's Interpreter reports: ``get_input_details``, ``get_tensor_details`` with ``index``, ``shape``
and ``dtype``, ``_get_ops_details`` with ``op_name``, ``inputs`` and ``outputs``), so that an older runtime's answers
(no ``shape_signature``, no ``OpResolverType``, a dtype given by name) and an operand missing from the tensor list can
be given. MACs by hand."""

from __future__ import annotations

import logging
import types
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import opcount
from bench.errors import UnsupportedModelError
from bench.runtimes import tflite
from tests.conftest import require


def test_int8_is_the_label_only_above_half_of_the_macs() -> None:
    assert opcount._result({"Conv": 10}, "g", 5)["precision"] == "fp32"  # exactly half
    assert opcount._result({"Conv": 10}, "g", 5)["by_precision"] == {"int8": 5, "fp32": 5}
    assert opcount._result({"Conv": 10}, "g", 4)["precision"] == "fp32"
    assert opcount._result({"Conv": 10}, "g", 6)["precision"] == "int8"


def test_a_format_without_a_graph_is_refused_with_its_fix(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        opcount.count(tmp_path / "m.pth", "pytorch-state-dict")
    assert err.value.problem == "operation counts are read from ONNX and TFLite graphs, not pytorch-state-dict"
    assert err.value.fix == "count the ONNX or TFLite export"


def _qdq_matmul(path: Path, a_dtype: Any, w_dtype: Any) -> Path:
    """(1, 4) x (4, 3) MatMul: 3 * 4 = 12 MACs. ``a_dtype`` (the graph input) and ``w_dtype`` (the initializer): None
    for a float operand, else the integer type it is stored in, dequantized by a DequantizeLinear before the MatMul."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(0.1, np.float32), "s")]
    nodes = [
        helper.make_node("DequantizeLinear", [f"{n}q", "s"], [f"{n}f"])
        for n, t in (("a", a_dtype), ("w", w_dtype))
        if t
    ]
    a_elem = TensorProto.FLOAT if a_dtype is None else helper.np_dtype_to_tensor_dtype(np.dtype(a_dtype))
    inputs = [helper.make_tensor_value_info("a" if a_dtype is None else "aq", a_elem, [1, 4])]
    inits.append(numpy_helper.from_array(np.ones((4, 3), w_dtype or np.float32), "w" if w_dtype is None else "wq"))
    operands = ["a" if a_dtype is None else "af", "w" if w_dtype is None else "wf"]
    nodes.append(helper.make_node("MatMul", operands, ["y"]))
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "qdq", inputs, [out], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


@pytest.mark.parametrize(
    "a_dtype, w_dtype, by_precision",
    [
        (np.uint8, np.int8, {"int8": 12}),  # both operands int8/uint8: ONNX Runtime's integer kernel
        (None, np.int8, {"fp32": 12}),  # int8 weights alone (weight-only quantization): float arithmetic
        (np.int32, np.int32, {"fp32": 12}),  # int32 (a bias's type) is not int8 arithmetic
    ],
)
def test_a_qdq_matmul_is_int8_only_when_both_operands_are(
    tmp_path: Path, a_dtype: Any, w_dtype: Any, by_precision: Dict[str, int]
) -> None:
    res = opcount.count(_qdq_matmul(tmp_path / "m.onnx", a_dtype, w_dtype))
    assert res["by_type"] == {"MatMul": 12} and res["by_precision"] == by_precision


class _Interp:
    """A stand-in for LiteRT's Interpreter (see the module docstring); class attributes set per test."""

    inputs: List[Dict[str, Any]] = []
    tensors: List[Dict[str, Any]] = []
    ops: List[Dict[str, Any]] = []
    made: List[Dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        _Interp.made.append(kwargs)
        self.resized: Dict[int, List[int]] = {}

    def get_input_details(self) -> List[Dict[str, Any]]:
        return self.inputs

    def resize_tensor_input(self, index: int, shape: List[int]) -> None:
        self.resized[index] = list(shape)

    def allocate_tensors(self) -> None:
        pass

    def get_tensor_details(self) -> List[Dict[str, Any]]:
        return self.tensors

    def _get_ops_details(self) -> List[Dict[str, Any]]:
        return self.ops


def _stand_in(monkeypatch: pytest.MonkeyPatch, tensors: list, ops: list, resolver: bool = True) -> None:
    _Interp.inputs = [{"name": "x", "index": 0, "shape": [1, 4], "shape_signature": [1, 4]}]
    _Interp.tensors, _Interp.ops, _Interp.made = tensors, ops, []
    mod = types.SimpleNamespace(Interpreter=_Interp)
    if resolver:
        mod.OpResolverType = types.SimpleNamespace(BUILTIN_WITHOUT_DEFAULT_DELEGATES="no default delegates")
    monkeypatch.setattr(tflite, "interpreter_module", lambda: ("ai_edge_litert", mod, "2.3.0"))


X, OUT = {"index": 0, "shape": [1, 4], "dtype": np.float32}, {"index": 2, "shape": [1, 3], "dtype": np.float32}
FC = {"op_name": "FULLY_CONNECTED", "inputs": [0, 1], "outputs": [2]}  # no bias: two inputs


def test_a_tflite_graph_is_read_without_the_default_delegates(monkeypatch: pytest.MonkeyPatch) -> None:
    _stand_in(monkeypatch, [X, {"index": 1, "shape": [3, 4], "dtype": np.int8}, OUT], [FC])
    assert opcount.count_tflite(Path("m.tflite")) == {
        "macs": 12,  # 3 outputs x 4 inputs
        "ops": 24,
        "by_type": {"FULLY_CONNECTED": 12},
        "by_precision": {"int8": 12},
        "precision": "int8",
        "source": "tflite graph",
    }
    assert _Interp.made == [{"model_path": "m.tflite", "experimental_op_resolver_type": "no default delegates"}]
    _stand_in(monkeypatch, [X, {"index": 1, "shape": [3, 4], "dtype": np.float32}, OUT], [FC], resolver=False)
    assert opcount.count_tflite(Path("m.tflite"))["by_precision"] == {"fp32": 12}  # before OpResolverType
    assert _Interp.made == [{"model_path": "m.tflite"}]


@pytest.mark.parametrize("name, precision", [("uint8", "int8"), ("int8", "int8"), ("float32", "fp32")])
def test_a_filter_dtype_given_by_name(monkeypatch: pytest.MonkeyPatch, name: str, precision: str) -> None:
    _stand_in(monkeypatch, [X, {"index": 1, "shape": [3, 4], "dtype": name}, OUT], [FC])
    assert opcount.count_tflite(Path("m.tflite"))["precision"] == precision


def test_an_operand_of_an_unexpected_rank_is_not_counted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    scalar = {"index": 3, "shape": [], "dtype": np.float32}  # a filter without the (Cout, Cin) dimensions
    filt = {"index": 1, "shape": [3, 4], "dtype": np.float32}
    _stand_in(monkeypatch, [X, filt, OUT, scalar], [{**FC, "inputs": [0, 3]}, FC])
    with caplog.at_level(logging.DEBUG, logger="bench.opcount"):
        res = opcount.count_tflite(Path("m.tflite"))
    assert (res["macs"], res["by_type"]) == (12, {"FULLY_CONNECTED": 12})  # the second operator alone
    assert [r.getMessage() for r in caplog.records] == [
        "op FULLY_CONNECTED with unexpected operands [[1, 4], []]: not counted"
    ]


@pytest.mark.parametrize("inputs, outputs, unlisted", [([0, 9], [2], [9]), ([0, 1], [7], [7])])
def test_a_counted_operators_tensor_the_interpreter_does_not_list_is_refused(
    monkeypatch: pytest.MonkeyPatch, inputs: list, outputs: list, unlisted: list
) -> None:
    """LiteRT's get_tensor_details leaves out tensors it cannot describe (its docstring: "temporary tensors without a
    name"); a count without the filter's or the output's shape would be a guess (it was: one output element)."""
    filt = {"index": 1, "shape": [3, 4], "dtype": np.float32}
    _stand_in(monkeypatch, [X, filt, OUT], [{"op_name": "ADD", "inputs": [0, 8], "outputs": [2]}, FC])
    assert opcount.count_tflite(Path("m.tflite"))["macs"] == 12  # an operator not counted may miss one
    _stand_in(monkeypatch, [X, filt, OUT], [{**FC, "inputs": inputs, "outputs": outputs}])
    with pytest.raises(UnsupportedModelError) as err:
        opcount.count_tflite(Path("m.tflite"))
    assert err.value.problem == (
        f"the shapes of FULLY_CONNECTED (tensors {unlisted}) are not in the interpreter's tensor list: its operation "
        "count would be a guess"
    )
    assert err.value.fix == "count the ONNX export instead"
    _stand_in(monkeypatch, [filt, OUT], [FC])  # the activation, tensor 0, is the one left out
    with pytest.raises(UnsupportedModelError, match=r"^the shapes of FULLY_CONNECTED \(tensors \[0\]\)"):
        opcount.count_tflite(Path("m.tflite"))


def test_inputs_of_older_runtimes_and_a_second_dynamic_input() -> None:
    interp = _Interp()
    interp.inputs = [{"name": "x", "index": 0, "shape": [1, 4]}]  # no shape_signature (tflite_runtime 2.5)
    assert opcount._fix_tflite_inputs(interp, None) is None and interp.resized == {}
    interp.inputs = [
        {"name": "x", "index": 0, "shape": [1, 4], "shape_signature": [1, 4]},
        {"name": "mask", "index": 1, "shape": [1, 1], "shape_signature": [-1, -1]},
    ]
    with pytest.raises(UnsupportedModelError) as err:
        opcount._fix_tflite_inputs(interp, None)
    assert err.value.problem == (
        "input 'mask' has unknown dimensions [1] (no input shape given): its operation count would be a guess"
    )


def test_a_static_graph_records_no_input_shape() -> None:
    assets = Path(opcount.__file__).parent / "models" / "assets"
    res = opcount.count(assets / "digits_cnn.onnx")
    assert sorted(res) == ["by_precision", "by_type", "macs", "ops", "precision", "source"]
