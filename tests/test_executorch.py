"""ExecuTorch (bench/runtimes/executorch.py, bench/convert/executorch_edge.py): real executorch 1.5.1, torch.export,
XNNPACK lowering and PT2E int8 on the digits CNN trained here; every source format reaches a .pte through the
conversion table with its fidelity checked; models the exporter refuses fail in one line naming the operator.

Expected values come from elsewhere: the source model's own outputs and accuracy (PyTorch eager / ONNX Runtime via
the fidelity check, and numpy argmax on PyTorch outputs here), the .pte file identifier "ET12" from ExecuTorch's
``schema/program.fbs`` (``file_identifier "ET12"``), thread counts as asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

from bench import formats
from bench.config import RunConfig, Timing
from bench.convert.options import ConvertOptions
from bench.errors import ConversionError
from bench.power.base import PowerOptions
from tests.conftest import IN_CI, require

QUICK = Timing(warmup_runs=2, warmup_min_s=0.0, min_runs=20, min_time_s=0.0, max_time_s=30.0)
NO_POWER = PowerOptions(source="none", idle_s=0.0)


@pytest.fixture(scope="module", autouse=True)
def _frameworks() -> None:
    require("executorch")
    require("torchao")
    try:  # onnx2torch imports torchvision, absent here: the edge imports it with a stand-in (executorch_edge)
        from bench.convert.executorch_edge import _onnx2torch_convert

        _onnx2torch_convert()
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"CI=true and onnx2torch is missing: {exc}", pytrace=False)
        pytest.skip(f"onnx2torch not installed: {exc}")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("et-cache")


def _run(model: Path, data: Path, cache: Path, **kw: Any) -> Dict[str, Any]:
    from bench import runner

    precision = kw.pop("precision", "fp32")
    convert = ConvertOptions(
        precision=precision, representative_data=data if precision == "int8" else None, cache_dir=cache
    )
    config = RunConfig(
        model=model, data=data, framework="executorch", timing=QUICK, power=NO_POWER, convert=convert, **kw
    )
    return runner.run(config).to_dict()


def _source_accuracy(digits_trained: tuple) -> float:
    import torch

    model, x, y = digits_trained
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).numpy().argmax(1) == y).mean())


def test_state_dict_to_pte_fp32_runs_with_the_sources_accuracy(digits_state_dict, digits_npz, digits_trained, cache):
    path, cls_file, cls_name = digits_state_dict
    rec = _run(path, digits_npz, cache, model_class_path=cls_file, model_class_name=cls_name, threads=1)
    assert rec["status"] == "ok" and rec["model"]["format"] == formats.EXECUTORCH_PTE
    assert Path(rec["model"]["path"]).read_bytes()[4:8] == b"ET12"
    fid = rec["conversion"]["fidelity"]
    assert fid["status"] == "checked" and fid["max_abs_diff"] <= 1e-3
    assert rec["quality"]["accuracy"] == pytest.approx(_source_accuracy(digits_trained))
    step = rec["conversion"]["chain"][-1]
    assert step["tool"] == "torch.export+xnnpack" and step["options"]["delegated_nodes"] > 0
    rt = rec["runtime"]
    assert rt["delegate"] == "xnnpack" and rt["delegate_calls"] == 1 and rt["operators_outside_delegate"] == []
    assert rt["threads"] == 1 and rt["precision"] == "fp32" and rt["versions"]["executorch"] == "1.5.1"
    # by hand: conv 1->8 3x3 (padding 1) at 32x32, conv 8->16 3x3 at 16x16, linear 1024->10
    assert rec["compute"]["macs"] == 8 * 9 * 32 * 32 + 16 * 72 * 16 * 16 + 10 * 1024


def test_threads_set_the_xnnpack_pool(digits_state_dict, digits_npz, cache):
    path, cls_file, cls_name = digits_state_dict
    for threads in (2, 1):
        rec = _run(path, digits_npz, cache, model_class_path=cls_file, model_class_name=cls_name, threads=threads)
        assert rec["runtime"]["threads"] == threads and rec["runtime"]["threads_asked"] == threads


def test_int8_pt2e_keeps_top1_and_says_int8(digits_state_dict, digits_npz, digits_trained, cache):
    path, cls_file, cls_name = digits_state_dict
    rec = _run(path, digits_npz, cache, model_class_path=cls_file, model_class_name=cls_name, precision="int8")
    assert rec["status"] == "ok" and rec["runtime"]["precision"] == "int8"
    assert rec["compute"]["precision"] == "int8"
    fid = rec["conversion"]["fidelity"]
    assert fid["precision"] == "int8" and fid["top1_agreement"] >= 0.98 and fid["max_abs_diff"] > 0
    assert rec["quality"]["accuracy"] >= _source_accuracy(digits_trained) - 0.02
    assert "XNNPACKQuantizer" in rec["conversion"]["chain"][-1]["options"]["quantizer"]


def test_onnx_and_torchscript_sources(digits_onnx, digits_torchscript, digits_npz, cache):
    from bench.convert.pipeline import convert_for
    from bench.runtimes.base import RuntimeOptions

    for model, fmt, tools in (
        (digits_onnx, formats.ONNX, ["torch.export+xnnpack"]),
        # torch.export cannot take a ScriptModule: TorchScript goes through ONNX, then onnx2torch
        (digits_torchscript, formats.TORCHSCRIPT, ["torch.onnx.export", "torch.export+xnnpack"]),
    ):
        conv = convert_for(
            model,
            fmt,
            "executorch",
            ConvertOptions(cache_dir=cache),
            runtime_options=RuntimeOptions(),
            data=digits_npz,
            model_type="classification",
        )
        assert [s["tool"] for s in conv.chain] == tools
        assert conv.fidelity["status"] == "checked" and conv.fidelity["max_abs_diff"] <= 1e-3
        assert conv.fidelity["top1_agreement"] == 1.0


def test_keras_source_through_onnx(keras_digits, cache):
    require("tf2onnx")
    from bench.convert.pipeline import convert_for
    from bench.runtimes.base import RuntimeOptions

    model, data = keras_digits
    conv = convert_for(
        model,
        formats.KERAS,
        "executorch",
        ConvertOptions(cache_dir=cache),
        runtime_options=RuntimeOptions(),
        data=data,
        model_type="classification",
    )
    assert [s["tool"] for s in conv.chain] == ["tf2onnx", "torch.export+xnnpack"]
    assert conv.fidelity["status"] == "checked" and conv.fidelity["max_abs_diff"] <= 1e-3


def test_profile_rows_are_xnnpack_operators_of_the_measured_runs(digits_state_dict, digits_npz, cache):
    path, cls_file, cls_name = digits_state_dict
    rec = _run(path, digits_npz, cache, model_class_path=cls_file, model_class_name=cls_name, profile=True)
    prof = rec["profile"]
    assert prof["profiled"] is True and prof["runtime"] == "executorch"
    convs = [op for op in prof["ops"] if op["type"].startswith("Convolution")]
    assert len(convs) == 2  # the digits CNN's two convolutions
    measured = len(rec["latency"]["raw_invoke_ns"])  # warm-up runs are left out: one event per measured run
    assert all(op["calls"] == measured for op in convs)


# ------------------------------------------------------------------------------------------------ refused models

BRANCHY = """
import torch
from torch import nn


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        y = self.fc(x)
        if y.sum() > 0:
            return y
        return -y
"""


def _hardmax_onnx(path: Path) -> Path:
    """One ONNX Hardmax node: ONNX Runtime runs it, onnx2torch 1.5.15 has no converter for it."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Hardmax", ["input"], ["output"], axis=-1)],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def ten_features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "data.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_data=rng.random((20, 10), dtype=np.float32), y_data=rng.integers(0, 10, 20))
    return path


def test_unsupported_onnx_operator_is_one_line_naming_it(tmp_path, ten_features, cache):
    from bench.convert.pipeline import convert_for
    from bench.runtimes.base import RuntimeOptions

    with pytest.raises(ConversionError) as err:
        convert_for(
            _hardmax_onnx(tmp_path / "hardmax.onnx"),
            formats.ONNX,
            "executorch",
            ConvertOptions(cache_dir=cache),
            runtime_options=RuntimeOptions(),
            data=ten_features,
            model_type="classification",
        )
    msg = str(err.value)
    assert "\n" not in msg and "ONNX operator Hardmax" in msg and "Fix:" in msg


def test_data_dependent_branch_is_one_line_naming_the_line(tmp_path, ten_features, cache):
    torch = require("torch")
    from bench.convert.pipeline import convert_for
    from bench.runtimes.base import RuntimeOptions

    cls = tmp_path / "branchy.py"
    cls.write_text(BRANCHY)
    ns: Dict[str, Any] = {}
    exec(compile(BRANCHY, str(cls), "exec"), ns)
    torch.save(ns["Branchy"]().state_dict(), tmp_path / "branchy.pth")
    with pytest.raises(ConversionError) as err:
        convert_for(
            tmp_path / "branchy.pth",
            formats.TORCH_STATE_DICT,
            "executorch",
            ConvertOptions(cache_dir=cache),
            runtime_options=RuntimeOptions(model_class_path=cls, model_class_name="Branchy"),
            data=ten_features,
            model_type="classification",
        )
    msg = str(err.value)
    assert "\n" not in msg and "torch.export refused" in msg and "data-dependent" in msg
    line = BRANCHY.splitlines().index("        if y.sum() > 0:") + 1
    assert f"branchy.py:{line} `if y.sum() > 0:`" in msg and "Fix:" in msg


def test_compare_records_the_refusal_and_goes_on(tmp_path, ten_features, cache):
    from bench.compare import plan as compare_plan
    from bench.compare import rounds as compare_rounds

    model = _hardmax_onnx(tmp_path / "hardmax.onnx")
    template = RunConfig(
        model=model,
        data=ten_features,
        framework="",
        timing=QUICK,
        power=NO_POWER,
        output=tmp_path / "r.jsonl",
        convert=ConvertOptions(cache_dir=cache),
    )
    plan = compare_plan.make_plan(template, ["onnx", "executorch"], protocol=compare_plan.Protocol(rounds=1))
    records = {r.compare["config"]: r for r in compare_rounds.execute(plan, live=False, isolated=False)}
    assert records["onnx"].status == "ok"
    assert records["executorch"].status == "error" and "ONNX operator Hardmax" in records["executorch"].error
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2


def test_format_detection_and_presets():
    from bench.compare.presets import PRESETS
    from bench.convert import edges

    assert PRESETS["executorch"].framework == "executorch" and PRESETS["executorch-int8"].needs_representative_data
    chain = edges.plan(formats.TORCHSCRIPT, formats.EXECUTORCH_PTE, "int8")
    assert [(e.source, e.target) for e in chain] == [
        (formats.TORCHSCRIPT, formats.ONNX),
        (formats.ONNX, formats.EXECUTORCH_PTE),
    ]
    assert [e.target for e in edges.plan(formats.KERAS, formats.EXECUTORCH_PTE)] == [formats.ONNX, "executorch-pte"]


def test_onnx_reshape_squeeze_pad_with_constant_shapes(tmp_path, cache):
    """tf2onnx writes Reshape with an initializer shape, opset-13 Squeeze with tensor axes and Pad with tensor pads;
    onnx2torch turns them into run-time reads of those tensors, which torch.export refuses unless the edge makes them static. The
    source's outputs come from ONNX Runtime."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from bench.convert.pipeline import convert_for
    from bench.runtimes.base import RuntimeOptions

    nodes = [
        helper.make_node("Reshape", ["input", "shape"], ["r"]),
        helper.make_node("Constant", [], ["axes"], value=numpy_helper.from_array(np.array([2, 3], np.int64))),
        helper.make_node("Squeeze", ["r", "axes"], ["s"]),
        helper.make_node("Pad", ["s", "pads"], ["p"]),
        helper.make_node("Relu", ["p"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4, 4, 1])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 19])],
        initializer=[
            numpy_helper.from_array(np.array([-1, 16, 1, 1], np.int64), "shape"),
            numpy_helper.from_array(np.array([0, 1, 0, 2], np.int64), "pads"),  # 1 before, 2 after the 16
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "shapes.onnx"))
    data = tmp_path / "shapes.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x_data=rng.standard_normal((8, 4, 4, 1)).astype(np.float32), y_data=rng.integers(0, 16, 8))
    conv = convert_for(
        tmp_path / "shapes.onnx",
        formats.ONNX,
        "executorch",
        ConvertOptions(cache_dir=cache),
        runtime_options=RuntimeOptions(),
        data=data,
        model_type="classification",
    )
    assert conv.fidelity["status"] == "checked" and conv.fidelity["max_abs_diff"] <= 1e-6
    assert conv.fidelity["samples"] == 8
