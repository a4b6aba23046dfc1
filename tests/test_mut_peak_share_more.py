"""bench/peak_share.py, second part (mutation run): which source a count comes from when some are missing, broken,
empty or need the data's shape (small ONNX graphs built here, their MACs by hand), every key of the record's compute
section with and without a peak, the share just at and just above 100 % of a Pi 4's 48 GOP/s, what each device says
without a peak, and the precision of fp16 and uint8 TFLite filters (the interpreter's details faked as in
tests/test_mut_peak_share.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import cpupeak, peak_share, peaks
from tests.conftest import require
from tests.test_mut_peak_share import DIGITS_MACS, T, _Counter, _Interpreter, _with

ASSETS = Path(__file__).resolve().parent.parent / "bench" / "models" / "assets"
NO_GRAPH = "no ONNX or TFLite graph to count for a {} model"


def _onnx(path: Path, op: str, a: List[Any], inits: Dict[str, List[int]]) -> Path:
    """One-node ONNX graph ``y = op(a, *inits)`` (input ``a`` may have symbolic dims), saved at ``path``."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node(op, ["a", *inits], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, a)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.zeros(s, dtype=np.float32), n) for n, s in inits.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_a_symbolic_dimension_is_counted_at_the_datas_shape(tmp_path: Path) -> None:
    # a (1, k) x b (6, 5) at the data's shape (1, 6): y (1, 5), 5 * 6 = 30 MACs
    model = _onnx(tmp_path / "sym.onnx", "MatMul", [1, "k"], {"b": [6, 5]})
    got = peak_share.count_ops(None, model, "onnx", {}, [1, 6])
    assert (got["macs"], got["ops"], got["input_shape"], got["source"]) == (30, 60, [1, 6], "onnx graph")
    assert peak_share.count_ops(None, model, "onnx", {})["unavailable"].startswith("sym.onnx: input 'a' has symbolic")


def test_one_mac_counts_and_none_does_not(tmp_path: Path) -> None:
    one = _onnx(tmp_path / "one.onnx", "MatMul", [1, 1], {"b": [1, 1]})  # (1, 1) x (1, 1): one MAC
    assert peak_share.count_ops(None, one, "onnx", {})["macs"] == 1
    relu = _onnx(tmp_path / "relu.onnx", "Relu", [1, 4], {})
    assert peak_share.count_ops(None, relu, "onnx", {}) == {
        "unavailable": "relu.onnx: no counted operators (compiled into a custom op?)"
    }


def test_a_broken_graph_passes_on_to_its_source(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    conv = {"source_model": {"path": str(ASSETS / "digits_cnn.onnx"), "format": "onnx"}}
    got = peak_share.count_ops(None, bad, "onnx", conv)
    assert (got["macs"], got["source"]) == (DIGITS_MACS, "onnx graph (of the source model)")


def test_missing_or_uncountable_files_are_passed_over_without_a_reason(tmp_path: Path) -> None:
    pte = tmp_path / "m.pte"
    pte.write_bytes(b"\0\0\0\0ET12" + bytes(64))  # an ExecuTorch program: present, not countable
    conv = {"chain": [{"artifact": str(tmp_path / "gone.onnx"), "to": "onnx"}, {"artifact": str(pte)}]}
    assert peak_share.count_ops(None, pte, "executorch-pte", conv) == {"unavailable": NO_GRAPH.format("executorch-pte")}


def test_steps_and_counters_without_a_count(tmp_path: Path) -> None:
    pth = tmp_path / "m.pth"
    conv = {"chain": [{"to": "onnx"}, {"options": {}}, {"options": {"macs": None}}]}  # no step counted anything
    want = {"unavailable": NO_GRAPH.format("pytorch-state-dict")}
    assert peak_share.count_ops(None, pth, "pytorch-state-dict", conv) == want
    assert peak_share.count_ops(_Counter({"source": "FlopCounterMode"}), pth, "pytorch-state-dict", conv) == want
    assert peak_share.count_ops(_Counter(None), pth, "pytorch-state-dict", {}) == want
    one = {"macs": 1, "ops": 2, "source": "FlopCounterMode"}
    assert peak_share.count_ops(_Counter(one), pth, "pytorch-state-dict", {}) == one
    made = {"chain": [{"options": {"macs": {"macs": 1, "ops": 2, "source": "torch module"}}}]}
    got = peak_share.count_ops(None, pth, "pytorch-state-dict", made)
    assert got == {"macs": 1, "ops": 2, "source": "torch module (at conversion)"}


def test_device_of_a_runtime_on_an_accelerator() -> None:
    assert peak_share.device_of("tensorrt", None, {}) == "gpu"
    assert peak_share.device_of("coral", None, {}) == "tpu"


@pytest.mark.parametrize(
    "ops, dtype, expected",
    [
        ([{"op_name": "CONV_2D", "inputs": [0, 3]}], "float16", {"precision": "fp32", "note": "fp16 weights, "
                                                                 "dequantized to fp32 by the CPU kernels"}),
        ([{"op_name": "FULLY_CONNECTED", "inputs": [0, 4]}], "uint8", {"precision": "int8"}),
    ],
)  # fmt: skip
def test_precision_of_fp16_and_uint8_filters(
    monkeypatch: pytest.MonkeyPatch, ops: list, dtype: str, expected: dict
) -> None:
    _with(monkeypatch, _Interpreter, ops, T)
    assert peak_share.tflite_weight_dtype(Path("m.tflite")) == dtype
    assert peak_share.precision_of("tflite", "cpu", {}, Path("m.tflite"), "tflite") == expected
    assert peak_share.precision_of("tflite", "cpu", {}, Path("m.tflite"), "edgetpu-tflite") == expected


PI4 = {"board": {"id": "rpi4", "model": "Raspberry Pi 4 Model B Rev 1.4"}, "cpu": {"max_freq_mhz": 1500.0}}
FP32 = {"precision": "fp32"}


def test_every_key_of_a_section_without_a_peak() -> None:
    counts = {"macs": 3_000_000_000, "ops": 6_000_000_000, "by_type": {"Conv": 3_000_000_000}, "source": "onnx graph"}
    board = {"board": {"id": "generic", "model": "PC"}}
    got = peak_share.section(counts, 1000.0, board, "gpu", {"precision": "fp16"})
    assert got == {
        "macs": 3_000_000_000,
        "ops": 6_000_000_000,
        "by_type": {"Conv": 3_000_000_000},
        "source": "onnx graph",
        "gops_per_s": 6.0,  # 6e9 operations in one second
        "invoke_p50_ms": 1000.0,
        "device": "gpu",
        "precision": "fp16",
        "peak_gops": None,
        "peak_source": None,
        "peak_kind": None,
        "pct_of_peak": None,
        "peak_unavailable": "no fp16 peak for this GPU (generic PC) in bench/peaks.py",
    }


def test_a_share_of_exactly_100_percent_is_kept_and_just_above_is_an_error() -> None:
    counts = {"macs": 24_000_000_000, "ops": 48_000_000_000, "source": "onnx graph"}
    at = peak_share.section(counts, 1000.0, PI4, "cpu", FP32)  # 48 GOP/s on 4 cores x 1.5 GHz x 8 = 48 GOP/s
    assert (at["gops_per_s"], at["peak_gops"], at["pct_of_peak"]) == (48.0, 48.0, 100.0) and "peak_error" not in at
    over = peak_share.section({**counts, "ops": 48_288_000_000}, 1000.0, PI4, "cpu", FP32)  # 48.288 / 48 = 100.6 %
    assert over["pct_of_peak"] is None
    assert over["peak_error"].startswith("above 100% of the peak (101% of a derived peak) is impossible")


def test_peak_of_a_pi4_at_its_clock() -> None:
    got = peak_share._peak_for({**PI4, "cpu": {"max_freq_mhz": 1800}}, "cpu", "fp32")
    assert got == {
        "peak_gops": pytest.approx(4 * 1.8 * 8),
        "peak_source": peaks.lookup("rpi4", "", "cpu", "fp32").source,  # the table's LLVM reference
        "peak_kind": "derived",
        "peak_formula": "4 cores x 1.8 GHz (cpuinfo_max_freq) x 8 fp32 ops/cycle = 57.60",
        "peak_note": "1 FMLA.4S per cycle; 57.6 at 1.8 GHz",
        "peak_clock_mhz": 1800.0,
        "peak_clock_source": "cpuinfo_max_freq",
    }


def test_peaks_without_a_note_or_a_formula() -> None:
    nano = {"board": {"id": "jetson-nano"}, "accelerator": {"jetson": {"gpu": {"max_mhz": 921.6}}}}
    assert peak_share._peak_for(nano, "gpu", "fp16") == {
        "peak_gops": pytest.approx(472.0),
        "peak_source": "NVIDIA Jetson Nano module data sheet (DA-09366-001): 128-core Maxwell GPU, 921.6 MHz; 472 "
        "GFLOPS fp16",
        "peak_kind": "published",
        "peak_formula": "472 GOP/s at 921.6 MHz (128 CUDA cores x 2 x 2, half2) = 472.00",
        "peak_clock_mhz": 921.6,
        "peak_clock_source": "GPU devfreq max_freq (set by the power mode)",
    }
    assert peak_share._peak_for({"board": {"id": "rpi5"}}, "tpu", "int8") == {
        "peak_gops": 4000.0,
        "peak_source": "Coral USB Accelerator datasheet v1.4 (coral.ai): Edge TPU 4 TOPS total peak performance (int8)",
        "peak_kind": "published",
        "peak_note": "at the maximum clock (libedgetpu1-max); libedgetpu1-std runs the Edge TPU slower",
    }


def test_what_each_device_says_without_a_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpupeak, "cached", lambda: None)
    generic = {"board": {"id": "generic"}}
    assert peak_share._peak_for(generic, "cpu", "fp32")["peak_unavailable"].startswith("no measured peak for this CPU")
    assert peak_share._peak_for(generic, "cpu", "int8") == {
        "peak_unavailable": "no int8 peak for this CPU (only a measured fp32 peak)"
    }
    assert peak_share._peak_for(generic, "gpu", "fp32") == {
        "peak_unavailable": "no fp32 peak for this GPU (generic ) in bench/peaks.py"
    }
    assert peak_share._peak_for({"board": {"model": "Some SBC"}}, "npu", "int8") == {
        "peak_unavailable": "no int8 peak for this NPU ( Some SBC) in bench/peaks.py"
    }


def test_a_measured_peak_is_described_by_its_own_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"gops": 50.0, "method": "numpy matmul", "blas": "OpenBLAS", "cpu_model": "Test CPU", "cores": 4}
    entry.update({"measured_utc": "2026-12-04T00:00:00Z", "others_cpu_share": 0.05, "idle": True})
    monkeypatch.setattr(cpupeak, "cached", lambda: entry)
    got = peak_share._measured_cpu_peak("fp32")
    assert got["peak_source"] == (
        "numpy matmul, BLAS OpenBLAS, on Test CPU (4 cores), 2026-12-04T00:00:00Z; other programs' CPU use meanwhile 5%"
    )
