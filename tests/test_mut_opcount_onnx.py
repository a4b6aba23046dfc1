"""bench/opcount.py on small ONNX graphs built here: the whole messages of the two refusals (symbolic inputs, shapes
unknown after inference) for each counted operator family, and the MACs of a transposed Gemm and a batched MatMul,
each by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence

import numpy as np
import pytest

from bench import opcount
from bench.errors import UnsupportedModelError
from tests.conftest import require

FIX_SHAPES = "export the model with static shapes (or simplify it with onnxsim)"


def _save(path: Path, nodes: List[Any], inputs: List[Any], inits: Sequence[Any] = ()) -> Path:
    onnx = require("onnx")
    from onnx import TensorProto, helper

    out = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", inputs, [out], list(inits))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def _input(name: str, shape: Optional[Sequence[Any]], elem: str = "FLOAT") -> Any:
    require("onnx")
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, getattr(TensorProto, elem), shape)


def _weight(name: str, shape: Sequence[int]) -> Any:
    require("onnx")
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)


def _message(err: pytest.ExceptionInfo) -> str:
    return f"{err.value.problem}. Fix: {err.value.fix}"


def test_a_symbolic_input_without_data_names_its_dims_and_the_fix(tmp_path: Path) -> None:
    from onnx import helper

    model = _save(
        tmp_path / "m.onnx",
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])],
        [_input("x", [1, 3, "H", "W"])],
        [_weight("w", (4, 3, 3, 3))],
    )
    with pytest.raises(UnsupportedModelError) as err:
        opcount.count(model)
    assert _message(err) == (
        "input 'x' has symbolic dimensions ['H', 'W'] (no input shape given): its operation count would be a guess. "
        "Fix: count it with the data it runs on, or export the model with static input shapes"
    )


def test_the_second_input_is_fixed_after_a_static_first(tmp_path: Path) -> None:
    """Two inputs, the first static (only its batch symbolic), the second with a symbolic width: the second is still
    looked at (and refused: data shapes fix a single input only)."""
    from onnx import helper

    model = _save(
        tmp_path / "m.onnx",
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        [_input("a", ["N", 2, 3]), _input("b", [1, 3, "K"])],
    )
    with pytest.raises(UnsupportedModelError) as err:
        opcount.count(model, input_shape=[1, 2, 3])
    assert _message(err).startswith("input 'b' has symbolic dimensions ['K'] (the data's shape [1, 2, 3] does not fit)")


def _dynamic(nodes: List[Any]) -> List[Any]:
    """x (1, 8) reshaped by a runtime shape input: the result's dims are unknown to shape inference."""
    from onnx import helper

    return [helper.make_node("Reshape", ["x", "s"], ["d"]), *nodes]


DYNAMIC_INPUTS = [("x", [1, 8], "FLOAT"), ("s", [4], "INT64")]


@pytest.mark.parametrize(
    "op, node_name, weights, attrs, shown",
    [
        ("Conv", "conv1", [("w", (2, 2, 1, 1))], {}, "Conv 'conv1'"),
        ("ConvTranspose", "", [("w", (2, 2, 1, 1))], {}, "ConvTranspose 'y'"),  # no name: its output's
        ("Gemm", "fc", [("w", (8, 3))], {}, "Gemm 'fc'"),
        ("MatMul", "", [("w", (8, 3))], {}, "MatMul 'y'"),
    ],
)
def test_shapes_unknown_after_inference_are_refused_for_every_counted_family(
    tmp_path: Path, op: str, node_name: str, weights: list, attrs: dict, shown: str
) -> None:
    from onnx import helper

    node = helper.make_node(op, ["d", *(w for w, _ in weights)], ["y"], name=node_name, **attrs)
    model = _save(
        tmp_path / "m.onnx",
        _dynamic([node]),
        [_input(n, s, e) for n, s, e in DYNAMIC_INPUTS],
        [_weight(w, s) for w, s in weights],
    )
    with pytest.raises(UnsupportedModelError) as err:
        opcount.count(model)
    assert _message(err) == (
        f"the shapes of {shown} are unknown after shape inference: its operation count would be a guess. "
        f"Fix: {FIX_SHAPES}"
    )


def test_a_transposed_gemm_counts_k_from_a(tmp_path: Path) -> None:
    """Gemm with transA and transB: A is (K, M) = (8, 1), B is (N, K) = (3, 8); Y = A^T B^T is (1, 3) and each of its
    3 outputs takes K = 8 MACs: 24 (B's first dim, N = 3, would give 9)."""
    from onnx import helper

    model = _save(
        tmp_path / "m.onnx",
        [helper.make_node("Gemm", ["a", "b"], ["y"], transA=1, transB=1)],
        [_input("a", [8, 1])],
        [_weight("b", (3, 8))],
    )
    assert opcount.count(model)["macs"] == 24


def test_a_batched_matmul_counts_k_from_the_last_dim_of_a(tmp_path: Path) -> None:
    """MatMul A (1, 5, 7) x B (7, 2): output (1, 5, 2), 10 outputs of K = 7 MACs each: 70 (A's dim 1, 5, gives 50)."""
    from onnx import helper

    model = _save(
        tmp_path / "m.onnx",
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        [_input("a", [1, 5, 7])],
        [_weight("b", (7, 2))],
    )
    assert opcount.count(model)["macs"] == 70


@pytest.mark.parametrize("op", ["Gemm", "MatMul"])
def test_an_unknown_second_operand_is_refused_too(tmp_path: Path, op: str) -> None:
    """A known (1, 8), B from the runtime reshape: the output's shape is unknown, so the count is refused."""
    from onnx import helper

    node = helper.make_node(op, ["a", "d"], ["y"], name="mm")
    inputs = [_input(n, s, e) for n, s, e in DYNAMIC_INPUTS] + [_input("a", [1, 8])]
    model = _save(tmp_path / "m.onnx", _dynamic([node]), inputs)
    with pytest.raises(UnsupportedModelError) as err:
        opcount.count(model)
    assert _message(err).startswith(f"the shapes of {op} 'mm' are unknown after shape inference")
