"""Operation counts and the measured CPU peak against values computed by hand: Gemm with ``transA``, ConvTranspose
with groups (small ONNX graphs built here), and the measured peak (bench/cpupeak.py) from a known matrix size and a known CPU time per
product (the clock and the matrix product stubbed, so the formula ``2 n^3 / t`` is what is checked)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bench import cpupeak, opcount
from tests.conftest import require


def _save(path: Path, nodes: list, inputs: list, outputs: list, inits: dict) -> Path:
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(np.zeros(s, dtype=np.float32), n) for n, s in inits.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_gemm_with_transposed_a_counts_m_n_k(tmp_path: Path) -> None:
    from onnx import helper

    # A stored as (K, M) = (6, 2), B (K, N) = (6, 5): Y (2, 5), 2 * 5 * 6 = 60 MACs (not 2 * 5 * 2 = 20)
    node = helper.make_node("Gemm", ["a", "b"], ["y"], transA=1)
    res = opcount.count(_save(tmp_path / "g.onnx", [node], [("a", [6, 2])], [("y", [2, 5])], {"b": [6, 5]}))
    assert res["by_type"] == {"Gemm": 60} and res["ops"] == 120


def test_gemm_without_transposition_counts_m_n_k(tmp_path: Path) -> None:
    from onnx import helper

    node = helper.make_node("Gemm", ["a", "b"], ["y"])  # A (2, 6), B (6, 5)
    res = opcount.count(_save(tmp_path / "g.onnx", [node], [("a", [2, 6])], [("y", [2, 5])], {"b": [6, 5]}))
    assert res["macs"] == 2 * 5 * 6


def test_conv_transpose_counts_every_input_pixel_times_its_kernel(tmp_path: Path) -> None:
    from onnx import helper

    # x (1, 4, 3, 3), W (Cin 4, Cout/group 3, 2, 2), group 2 (Cout 6), stride 2: y (1, 6, 6, 6)
    # each of the 4*3*3 input values is multiplied into Cout/group * kH * kW = 3*2*2 outputs: 36 * 12 = 432 MACs
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], group=2)
    path = _save(tmp_path / "ct.onnx", [node], [("x", [1, 4, 3, 3])], [("y", [1, 6, 6, 6])], {"w": [4, 3, 2, 2]})
    res = opcount.count(path)
    assert res["by_type"] == {"ConvTranspose": 4 * 3 * 3 * 3 * 2 * 2} == {"ConvTranspose": 432}


def _stub_clock(monkeypatch: pytest.MonkeyPatch, durations: list[float], default: float) -> None:
    """np.matmul advances a stubbed clock (CPU and wall alike) by the next duration, then by ``default``."""
    now = [0.0]
    left = iter(durations)

    def matmul(a, b, out=None):  # noqa: ANN001, ANN202 - numpy's signature
        now[0] += next(left, default)
        return out

    monkeypatch.setattr(np, "matmul", matmul)
    monkeypatch.setattr(cpupeak, "time", SimpleNamespace(perf_counter=lambda: now[0], thread_time=lambda: now[0]))


def test_measured_peak_is_two_n_cubed_over_the_time_of_one_product(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stubbed product of 256x256 matrices takes exactly 10 ms of CPU: 2 * 256^3 / 0.01 s per window."""
    _stub_clock(monkeypatch, [], 0.01)
    res = cpupeak.one_core(duration_s=0.1, window_s=0.025, max_n=256)
    assert res["n"] == 256 and len(res["windows"]) >= 2
    assert max(res["windows"]) == pytest.approx(2 * 256**3 / 0.01 / 1e9)  # 3.355 GOP/s
    assert min(res["windows"]) == pytest.approx(2 * 256**3 / 0.01 / 1e9)


def test_measured_peak_is_the_best_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Products take 20 ms except in the second window (10 ms each): that window's rate is the best one."""
    # 2 size probes, then window 1: 2 x 20 ms (>= 25 ms), window 2: 3 x 10 ms, later windows 20 ms each
    _stub_clock(monkeypatch, [0.02, 0.02, 0.02, 0.02, 0.01, 0.01, 0.01], 0.02)
    res = cpupeak.one_core(duration_s=0.15, window_s=0.025, max_n=256)
    assert len(res["windows"]) >= 3 and res["windows"].index(max(res["windows"])) == 1
    assert max(res["windows"]) == pytest.approx(2 * 256**3 / 0.01 / 1e9)
    assert res["windows"][0] == pytest.approx(2 * 256**3 / 0.02 / 1e9)


@pytest.mark.parametrize(
    "op, ins, out, macs",
    [
        ("CONV_2D", [[1, 8, 8, 3], [4, 3, 3, 3], [4]], [1, 8, 8, 4], 8 * 8 * 4 * 3 * 3 * 3),  # filter OHWI
        ("DEPTHWISE_CONV_2D", [[1, 8, 8, 4], [1, 3, 3, 4], [4]], [1, 8, 8, 4], 8 * 8 * 4 * 3 * 3),  # filter 1HWC
        ("FULLY_CONNECTED", [[1, 256], [10, 256], [10]], [1, 10], 10 * 256),  # filter (Cout, Cin)
        ("BATCH_MATMUL", [[2, 3, 5], [2, 5, 7]], [2, 3, 7], 2 * 3 * 7 * 5),
        # inputs: output_shape, filter (Cout 6, kH 2, kW 2, Cin 4), input (1, 3, 3, 4): each input value x 6*2*2
        ("TRANSPOSE_CONV", [[4], [6, 2, 2, 4], [1, 3, 3, 4]], [1, 6, 6, 6], 3 * 3 * 4 * 6 * 2 * 2),
        ("ADD", [[1, 4], [1, 4]], [1, 4], 0),
    ],
)
def test_tflite_operator_macs_by_hand(op: str, ins: list, out: list, macs: int) -> None:
    assert opcount._tflite_op_macs(op, ins, out) == macs


def test_onnx_matmul_and_grouped_conv_by_hand(tmp_path: Path) -> None:
    from onnx import helper

    # MatMul (3, 5) x (5, 7): 3 * 7 * 5; a Conv of 4 -> 6 channels in 2 groups, 3x3, 8x8: 6*8*8 * (4/2)*3*3
    nodes = [
        helper.make_node("MatMul", ["a", "b"], ["m"]),
        helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], group=2),
    ]
    inputs = [("a", [3, 5]), ("x", [1, 4, 8, 8])]
    res = opcount.count(_save(tmp_path / "mm.onnx", nodes, inputs, [("m", [3, 7]), ("y", [1, 6, 8, 8])],
                              {"b": [5, 7], "w": [6, 2, 3, 3]}))  # fmt: skip
    assert res["by_type"] == {"GroupConv": 6 * 8 * 8 * 2 * 3 * 3, "MatMul": 3 * 7 * 5}
    assert res["macs"] == 6912 + 105 and res["ops"] == 2 * res["macs"] and res["source"] == "onnx graph"
    assert list(res["by_type"]) == sorted(res["by_type"])


def test_onnx_symbolic_batch_counts_as_one(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, numpy_helper

    onnx = require("onnx")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["a", "b"], ["y"])],
        "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
        [numpy_helper.from_array(np.zeros((6, 5), dtype=np.float32), "b")],
    )
    path = tmp_path / "sym.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    assert opcount.count(path, "onnx")["macs"] == 1 * 5 * 6
