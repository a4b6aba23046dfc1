"""Where an operation count comes from and the record's compute section by hand (mutation run of
bench/peak_share.py). The digits CNN's MACs are counted by hand: conv 8x32x32x(1x3x3) + conv 16x16x16x(8x3x3) + dense
16x8x8x10 = 378880."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

from bench import peak_share

ASSETS = Path(__file__).resolve().parent.parent / "bench" / "models" / "assets"
DIGITS_MACS = 8 * 32 * 32 * 9 + 16 * 16 * 16 * 72 + 16 * 8 * 8 * 10
OF_CONVERTED = " (of the model it was converted from)"
OF_SOURCE = " (of the source model)"


def test_sources_in_order() -> None:
    conv = {
        "chain": [
            {"artifact": "/c/m.onnx", "to": "onnx"},
            "not a step",
            {"artifact": "/c/m.tflite", "to": "tflite"},
            {"artifact": "", "to": "x"},
        ],
        "source_model": {"path": "/s/m.pth", "format": "pytorch-state-dict"},
    }
    assert peak_share._sources(Path("/c/m.tflite"), "tflite", conv) == [
        (Path("/c/m.tflite"), "tflite", ""),
        (Path("/c/m.onnx"), "onnx", OF_CONVERTED),
        (Path("/s/m.pth"), "pytorch-state-dict", OF_SOURCE),
    ]
    assert peak_share._sources(Path("/c/m_edgetpu.tflite"), "edgetpu-tflite", {"chain": [{"artifact": "/a"}]}) == [
        (Path("/a"), "", OF_CONVERTED)
    ]
    assert peak_share._sources(Path("m.onnx"), "onnx", {"source_model": {"path": "", "format": "x"}}) == [
        (Path("m.onnx"), "onnx", "")
    ]
    assert peak_share._sources(Path("m.onnx"), "onnx", {"source_model": {"path": "/p"}}) == [
        (Path("m.onnx"), "onnx", ""),
        (Path("/p"), "", OF_SOURCE),
    ]


def test_count_of_the_measured_graph_then_of_its_source(tmp_path: Path) -> None:
    got = peak_share.count_ops(None, ASSETS / "digits_cnn.onnx", "onnx", {})
    assert (got["macs"], got["ops"], got["source"]) == (DIGITS_MACS, 2 * DIGITS_MACS, "onnx graph")
    # an ExecuTorch program is not countable: its source ONNX is counted
    conv = {"source_model": {"path": str(ASSETS / "digits_cnn.onnx"), "format": "onnx"}}
    got = peak_share.count_ops(None, tmp_path / "m.pte", "executorch-pte", conv)
    assert (got["macs"], got["source"]) == (DIGITS_MACS, "onnx graph" + OF_SOURCE)
    # a listed source that is missing is passed over
    conv["chain"] = [{"artifact": str(tmp_path / "gone.onnx"), "to": "onnx"}]
    assert peak_share.count_ops(None, tmp_path / "m.pte", "executorch-pte", conv)["macs"] == DIGITS_MACS


class _Counter:
    name = "pytorch"

    def __init__(self, result: Any) -> None:
        self.result = result

    def count_macs(self) -> Dict[str, Any]:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_count_falls_back_to_the_conversion_then_the_runtime(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    made = {"macs": 5, "ops": 10, "source": "torch module"}
    conv = {"chain": [{"options": {"macs": {"macs": 0}}}, {"options": {"macs": made}}]}
    got = peak_share.count_ops(None, bad, "onnx", conv)
    assert got == {"macs": 5, "ops": 10, "source": "torch module (at conversion)"}
    rt = _Counter({"macs": 7, "ops": 14, "source": "FlopCounterMode"})
    assert peak_share.count_ops(rt, tmp_path / "m.pth", "pytorch-state-dict", {}) == rt.result
    assert peak_share.count_ops(_Counter({"macs": 0}), tmp_path / "m.pth", "pytorch-state-dict", {}) == {
        "unavailable": "no ONNX or TFLite graph to count for a pytorch-state-dict model"
    }
    got = peak_share.count_ops(_Counter(RuntimeError("boom")), bad, "onnx", {})
    assert got["unavailable"].startswith("bad.onnx: ")
    assert got["unavailable"].endswith("; pytorch counter: RuntimeError: boom")


def test_an_edge_tpu_model_says_why_it_is_not_counted(tmp_path: Path) -> None:
    got = peak_share.count_ops(None, ASSETS / "digits_cnn_int8.tflite", "edgetpu-tflite", {})
    assert got == {"unavailable": "the Edge TPU's share is compiled into edgetpu-custom-op"}


def test_device_of_an_onnx_runtime_on_a_gpu_provider() -> None:
    assert peak_share.device_of("onnx", None, {"providers": ["CUDAExecutionProvider"]}) == "gpu"
    assert peak_share.device_of("onnx", None, {"providers": ["TensorrtExecutionProvider"]}) == "gpu"
    assert peak_share.device_of("onnx", None, {"providers": ["CPUExecutionProvider"]}) == "cpu"
    assert peak_share.device_of("tflite", "edgetpu", {}) == "tpu"
    assert peak_share.device_of("tflite", None, {"delegate": "edgetpu"}) == "tpu"


@pytest.mark.parametrize(
    "framework, device, runtime, name, fmt, counted, expected",
    [
        ("tflite", "tpu", {}, "digits_cnn.tflite", "tflite", "", {"precision": "int8"}),
        ("onnx", "cpu", {}, "digits_cnn.onnx", "onnx", "int8", {"precision": "int8"}),
        ("onnx", "cpu", {}, "digits_cnn.onnx", "onnx", "", {"precision": "fp32"}),
        ("tflite", "cpu", {}, "digits_cnn_int8.tflite", "tflite", "", {"precision": "int8"}),
        ("tflite", "cpu", {}, "digits_cnn.tflite", "tflite", "", {"precision": "fp32"}),
        ("executorch", "cpu", {"precision": "int8"}, "x.pte", "executorch-pte", "", {"precision": "int8"}),
        ("executorch", "cpu", {}, "x.pte", "executorch-pte", "", {"precision": "fp32"}),
    ],
)
def test_precision_of(
    framework: str, device: str, runtime: dict, name: str, fmt: str, counted: str, expected: dict
) -> None:
    got = peak_share.precision_of(framework, device, runtime, ASSETS / name, fmt, counted)
    assert got == expected


def test_a_runtime_that_reports_its_precision_is_believed() -> None:
    assert peak_share.precision_of("tensorrt", "gpu", {"precision": "fp16"}, Path("x"), "onnx", "") == {
        "precision": "fp16"
    }
    assert peak_share.precision_of("tensorrt", "gpu", {}, Path("x"), "onnx", "int8") == {"precision": "fp32"}


PI4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B Rev 1.4"}, "cpu": {"max_freq_mhz": 1500.0}}


def test_section_by_hand_on_a_pi4() -> None:
    counts = {"macs": 1_000_000, "ops": 2_000_000, "source": "onnx graph", "input_shape": [1, 3]}
    c = peak_share.section(counts, 0.5, PI4, "cpu", {"precision": "fp32"})
    assert c["gops_per_s"] == pytest.approx(4.0)  # 2e6 ops / 0.5 ms
    assert c["peak_gops"] == pytest.approx(48.0)  # 4 cores x 1.5 GHz x 8
    assert c["pct_of_peak"] == pytest.approx(100 * 4.0 / 48.0)
    assert (c["macs"], c["ops"], c["by_type"], c["input_shape"]) == (1_000_000, 2_000_000, {}, [1, 3])
    assert c["peak_kind"] == "derived" and "peak_error" not in c and c["invoke_p50_ms"] == 0.5
    c = peak_share.section(counts, 0.01, PI4, "cpu", {"precision": "fp32"})  # 200 GOP/s on a 48 GOP/s CPU
    assert c["pct_of_peak"] is None and c["peak_error"].startswith("above 100% of the peak (417% of a derived peak)")
    c = peak_share.section({**counts, "input_shape": None}, 0.0, PI4, "cpu", {"precision": "fp32"})
    assert c["gops_per_s"] is None and c["pct_of_peak"] is None and "input_shape" not in c


def test_what_a_board_without_the_peak_says() -> None:
    c = peak_share.section({"unavailable": "why"}, 1.0, PI4, "cpu", {"precision": "int8"})
    assert c["unavailable"] == "why" and c["device"] == "cpu" and c["precision"] == "int8"
    assert c["peak_unavailable"] == "no int8 peak for this CPU (rpi4 Raspberry Pi 4 Model B Rev 1.4) in bench/peaks.py"
    orin = {"board": {"id": "jetson-orin", "model": "NVIDIA Jetson Orin Nano"}}  # no memory size, no kit
    c = peak_share.section({"unavailable": "x"}, 1.0, orin, "gpu", {"precision": "fp16"})
    assert c["peak_unavailable"] == ("which Orin Nano module (4 GB or 8 GB) is unknown: the memory size was not read")


def test_measured_cpu_peak_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import cpupeak

    assert peak_share._measured_cpu_peak("int8") == {
        "peak_unavailable": "no int8 peak for this CPU (only a measured fp32 peak)"
    }
    monkeypatch.setattr(cpupeak, "cached", lambda: None)
    assert peak_share._measured_cpu_peak("fp32")["peak_unavailable"].startswith(
        "no measured peak for this CPU: run `edgebench peaks --measure` once on an idle machine"
    )
    entry = {"gops": 50.0, "measured_utc": "2026-12-04T00:00:00Z"}
    monkeypatch.setattr(cpupeak, "cached", lambda: entry)
    monkeypatch.setattr(cpupeak, "describe", lambda e: "measured here")
    monkeypatch.setattr(cpupeak, "derived_x86", lambda: {"gops": 80.0, "formula": "f"})
    assert peak_share._measured_cpu_peak("fp32") == {
        "peak_gops": 50.0,
        "peak_source": "measured here",
        "peak_kind": "measured",
        "peak_measured_utc": "2026-12-04T00:00:00Z",
        "peak_theoretical_gops": 80.0,
        "peak_theoretical_formula": "f",
    }
    monkeypatch.setattr(cpupeak, "derived_x86", lambda: None)
    assert "peak_theoretical_gops" not in peak_share._measured_cpu_peak("fp32")


class _Interpreter:
    """Fixture of what LiteRT's Interpreter reports (ai_edge_litert/interpreter.py of the installed wheel, lines 628-629, 682, 696, 711: ``_get_ops_details`` gives
    ``op_name`` and ``inputs`` per operator, ``get_tensor_details`` ``index`` and ``dtype`` (a numpy type)); the
    shipped digits models are read through the real interpreter in test_precision_of."""

    ops: list = []
    tensors: list = []

    def __init__(self, model_path: str) -> None:
        self.model_path = model_path

    def _get_ops_details(self) -> list:
        return self.ops

    def get_tensor_details(self) -> list:
        return self.tensors


class _Old:
    """An interpreter build without ``_get_ops_details`` (older tflite_runtime wheels)."""

    ops: list = []
    tensors: list = []

    def __init__(self, model_path: str) -> None:
        self.model_path = model_path

    def get_tensor_details(self) -> list:
        return self.tensors


def _with(monkeypatch: pytest.MonkeyPatch, cls: type, ops: list, tensors: list) -> None:
    import types

    from bench.runtimes import tflite

    cls.ops, cls.tensors = ops, tensors
    monkeypatch.setattr(tflite, "interpreter_module", lambda: (None, types.SimpleNamespace(Interpreter=cls), None))


T = [
    {"index": 0, "dtype": np.float32},
    {"index": 1, "dtype": np.float32},
    {"index": 2, "dtype": np.int8},
    {"index": 3, "dtype": np.float16},
    {"index": 4, "dtype": "uint8"},  # a dtype given by name has no __name__
]


@pytest.mark.parametrize(
    "ops, expected",
    [
        ([{"op_name": "ADD", "inputs": [0, 1]}, {"op_name": "DEPTHWISE_CONV_2D", "inputs": [0, 2]}], "int8"),
        ([{"op_name": "FULLY_CONNECTED", "inputs": [0, 3, 1]}], "float16"),
        ([{"op_name": "CONV_2D", "inputs": [2]}, {"op_name": "CONV_2D", "inputs": [0, 3]}], "float16"),
        ([{"op_name": "CONV_2D", "inputs": [1, 2, 0]}, {"op_name": "FULLY_CONNECTED", "inputs": [0, 3]}], "int8"),
        ([{"op_name": "CONV_2D", "inputs": [0, 4]}], "uint8"),
        ([{"op_name": "CONV_2D", "inputs": [0, 9]}], ""),  # a filter the tensor list does not have
        ([{"op_name": "SOFTMAX", "inputs": [0, 2]}], ""),
    ],
)
def test_filter_dtype_from_the_interpreters_details(monkeypatch: pytest.MonkeyPatch, ops: list, expected: str) -> None:
    _with(monkeypatch, _Interpreter, ops, T)
    assert peak_share.tflite_weight_dtype(Path("m.tflite")) == expected


def test_an_interpreter_without_op_details_gives_no_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, _Old, [{"op_name": "CONV_2D", "inputs": [0, 2]}], T)
    assert peak_share.tflite_weight_dtype(Path("m.tflite")) == ""
