"""OpenVINO and ncnn: real conversions (openvino.convert_model, NNCF, pnnx), real runtimes, bad input in one line.

Expected values come from outside the code under test: ONNX Runtime's outputs on the same samples, the labels of the
digits test split, and an operator (ONNX ``Det``) that OpenVINO 2026.4's ONNX frontend and ncnn 20261020 both lack
(seen by running their converters by hand: "No conversion rule found for operations: Det-17"; pnnx writes a ``Det``
layer that ``ncnn.layer_to_index`` does not know).
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bench import bundle, formats
from bench.errors import BenchError, ModelFormatError
from tests.conftest import REPO, require, run_cli

DIGITS_ONNX = REPO / "bench" / "models" / "assets" / "digits_cnn.onnx"
DIGITS_DATA = REPO / "bench" / "models" / "assets" / "digits_test.npz"
N = 120


def _digits():
    d = np.load(DIGITS_DATA, allow_pickle=False)
    return d["x_data"][:N].astype(np.float32), d["y_data"][:N]


def _ort_outputs(x: np.ndarray) -> np.ndarray:
    ort = require("onnxruntime")
    s = ort.InferenceSession(str(DIGITS_ONNX), providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return np.stack([s.run(None, {name: x[i : i + 1]})[0][0] for i in range(len(x))])


def _convert(tmp_path: Path, target: str, precision: str = "fp32", source: Path = DIGITS_ONNX, data: bool = True):
    from bench.convert.options import ConvertOptions
    from bench.convert.pipeline import convert

    calib = None
    if precision == "int8":
        calib = tmp_path / "calib.npz"
        np.savez(calib, x_data=_digits()[0][:64])
    opts = ConvertOptions(precision=precision, cache_dir=tmp_path / "cache", representative_data=calib)
    return convert(source, formats.detect(source), target, opts, data=DIGITS_DATA if data else None)


def _run(path: Path, framework: str, x: np.ndarray, threads: int = 1):
    from bench import runtimes
    from bench.infer import infer_all
    from bench.runtimes.base import RuntimeOptions

    rt = runtimes.create(framework)
    rt.load(path, RuntimeOptions(threads=threads))
    try:
        return np.asarray(infer_all(rt, x)), rt.describe(), rt.versions()
    finally:
        rt.close()


# ------------------------------------------------------------------------------------------------ contract tests


def test_bundle_contract_round_trip_and_detection(tmp_path: Path) -> None:
    """A bundle is a stored zip of the vendor's two files; detect() knows it and the vendor's own files."""
    graph, weights = tmp_path / "m.ncnn.param", tmp_path / "m.ncnn.bin"
    graph.write_text("7767517\n1 1\nInput in0 0 1 in0 0=4\n")
    weights.write_bytes(b"\x00" * 16)
    z = bundle.write(tmp_path / "m_ncnn.zip", formats.NCNN, graph, weights, {"precision": "fp16"})
    assert formats.detect(z) == formats.NCNN
    assert all(i.compress_type == zipfile.ZIP_STORED for i in zipfile.ZipFile(z).infolist())
    g, w, meta = bundle.read(z, formats.NCNN)
    assert g == graph.read_bytes() and w == weights.read_bytes() and meta["precision"] == "fp16"
    assert formats.detect(graph) == formats.NCNN  # the vendor's file, its .bin beside it
    assert bundle.read(graph, formats.NCNN)[1] == weights.read_bytes()
    xml = tmp_path / "ir.xml"
    xml.write_text('<?xml version="1.0"?>\n<net name="m" version="11">\n</net>\n')
    assert formats.detect(xml) == formats.OPENVINO_IR
    with pytest.raises(ModelFormatError, match="ir.bin"):
        bundle.read(xml, formats.OPENVINO_IR)


def test_presets_contract_new_runtimes_registered() -> None:
    from bench.compare.presets import PRESETS
    from bench.convert import edges
    from bench.runtimes import RUNTIMES

    assert {"ncnn", "ncnn-fp16", "openvino", "openvino-int8"} <= set(PRESETS)
    assert PRESETS["openvino-int8"].needs_representative_data and PRESETS["ncnn-fp16"].precision == "fp16"
    for fmt in (formats.ONNX, formats.TORCH_STATE_DICT, formats.KERAS, formats.SAVEDMODEL):
        for framework in ("ncnn", "openvino"):
            chain = edges.plan(fmt, edges.target_for(framework))
            assert chain[-1].target == {"ncnn": formats.NCNN, "openvino": formats.OPENVINO_IR}[framework]
            assert framework in RUNTIMES
    with pytest.raises(BenchError, match="int8"):
        edges.plan(formats.ONNX, formats.NCNN, "int8")


# ------------------------------------------------------------------------------------------------ real conversions


def test_openvino_fp32_matches_onnxruntime_and_records_its_settings(tmp_path: Path) -> None:
    require("openvino")
    x, y = _digits()
    conv = _convert(tmp_path, formats.OPENVINO_IR)
    assert formats.detect(conv.path) == formats.OPENVINO_IR and conv.fidelity["status"] == "checked"
    out, facts, versions = _run(conv.path, "openvino", x, threads=1)
    ref = _ort_outputs(x)
    assert np.max(np.abs(out.reshape(ref.shape) - ref)) < 1e-3
    assert np.mean(out.reshape(len(x), -1).argmax(1) == y) == np.mean(ref.argmax(1) == y)
    assert facts["inference_num_threads"] == 1 and facts["num_streams"] == 1
    assert facts["performance_hint"] == "LATENCY" and facts["inference_precision"] == "f32"
    assert facts["precision"] == "fp32" and versions["openvino"].startswith("2026.4")


def test_openvino_int8_is_quantized_by_nncf_and_agrees(tmp_path: Path) -> None:
    require("nncf")
    x, _ = _digits()
    conv = _convert(tmp_path, formats.OPENVINO_IR, "int8")
    xml = zipfile.ZipFile(conv.path).read("model.xml").decode()
    assert "FakeQuantize" in xml
    out, facts, _ = _run(conv.path, "openvino", x)
    ref = _ort_outputs(x)
    assert facts["precision"] == "int8"
    assert np.mean(out.reshape(len(x), -1).argmax(1) == ref.argmax(1)) >= 0.95


def test_ncnn_fp32_and_fp16_match_onnxruntime(tmp_path: Path) -> None:
    require("ncnn")
    require("pnnx")
    x, _ = _digits()
    ref = _ort_outputs(x)
    fp32 = _convert(tmp_path, formats.NCNN)
    out, facts, versions = _run(fp32.path, "ncnn", x, threads=2)
    assert np.max(np.abs(out.reshape(ref.shape) - ref)) < 1e-3
    assert facts["num_threads"] == 2 and not facts["use_fp16_storage"] and facts["precision"] == "fp32"
    fp16 = _convert(tmp_path, formats.NCNN, "fp16")
    assert json.loads(zipfile.ZipFile(fp16.path).read(bundle.META))["precision"] == "fp16"
    assert (
        zipfile.ZipFile(fp16.path).getinfo("model.ncnn.bin").file_size
        < 0.6 * zipfile.ZipFile(fp32.path).getinfo("model.ncnn.bin").file_size
    )  # fp16 weights: half the bytes
    out16, facts16, _ = _run(fp16.path, "ncnn", x)
    assert facts16["use_fp16_storage"] and facts16["storage"] == "fp16"
    assert np.mean(out16.reshape(len(x), -1).argmax(1) == ref.argmax(1)) >= 0.98
    assert versions["ncnn"] == "1.0.20261020"


def test_torchscript_reaches_ncnn_through_pnnx(tmp_path: Path) -> None:
    torch = require("torch")
    require("pnnx")
    from bench.models.digits import DigitsCNN

    model = DigitsCNN()
    model.load_state_dict(torch.load(REPO / "bench/models/assets/digits_cnn.pth", weights_only=True))
    ts = tmp_path / "digits.pt"
    torch.jit.trace(model.eval(), torch.zeros(1, 1, 32, 32)).save(str(ts))
    conv = _convert(tmp_path, formats.NCNN, source=ts)
    assert [s["from"] for s in conv.chain] == [formats.TORCHSCRIPT]
    assert conv.fidelity["status"] == "checked" and conv.fidelity["max_abs_diff"] < 1e-3


# ------------------------------------------------------------------------------------------------ bad input


def _det_model(path: Path, dims) -> Path:
    onnx = require("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Det", ["r"], ["y"])]
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(onnx.shape_inference.infer_shapes(m), str(path))
    return path


@pytest.mark.parametrize("target", [formats.OPENVINO_IR, formats.NCNN])
def test_an_operator_the_converter_lacks_is_named_in_one_line(tmp_path: Path, target: str) -> None:
    require("openvino")
    require("pnnx")
    model = _det_model(tmp_path / "det.onnx", [1, 3, 4, 4])
    root_level = logging.root.level
    with pytest.raises(BenchError) as err:
        _convert(tmp_path, target, source=model, data=False)
    text = str(err.value)
    assert "Det" in text and "\n" not in text and err.value.fix
    assert logging.root.level == root_level, "the converter left the root logger's level changed (warnings lost)"


@pytest.mark.parametrize("target", [formats.OPENVINO_IR, formats.NCNN])
def test_a_dynamic_shape_without_data_is_refused_with_the_fix(tmp_path: Path, target: str) -> None:
    require("openvino")
    require("pnnx")
    onnx = require("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "h", "w"])
    m = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "dyn.onnx"))
    with pytest.raises(BenchError) as err:
        _convert(tmp_path, target, source=tmp_path / "dyn.onnx", data=False)
    assert "dynamic" in str(err.value) or "fixed input shape" in str(err.value)
    assert "fixed input shape" in err.value.fix


def test_compare_records_the_refused_configs_and_goes_on(tmp_path: Path) -> None:
    """A compare of a model with Det: onnx runs (ONNX Runtime has Det), ncnn and openvino are error records."""
    require("openvino")
    require("pnnx")
    model = _det_model(tmp_path / "det.onnx", [1, 3, 3, 3])
    data = tmp_path / "d.npz"
    x = np.random.default_rng(0).random((4, 3, 3, 3), dtype=np.float32)
    np.savez(data, x_data=x, y_data=np.linalg.det(x[:, 0]).reshape(4, 1).repeat(3, 1))
    out = tmp_path / "r.jsonl"
    proc = run_cli(
        "compare", str(model), str(data), "--configs", "onnx,ncnn,openvino", "--rounds", "1",
        "--min-runs", "3", "--min-time-s", "0", "--warmup-runs", "1", "--output", str(out), "--model-type", "regression",
    )  # fmt: skip
    records = {json.loads(line)["compare"]["config"]: json.loads(line) for line in out.read_text().splitlines()}
    assert records["onnx"]["status"] == "ok", proc.stderr[-2000:]
    for name in ("ncnn", "openvino"):
        assert records[name]["status"] == "error" and "Det" in records[name]["error"], records[name]["error"]


def test_profile_openvino_counters_per_node_ncnn_says_not_available(tmp_path: Path) -> None:
    require("openvino")
    require("pnnx")
    records = {}
    for target, framework in ((formats.OPENVINO_IR, "openvino"), (formats.NCNN, "ncnn")):
        conv = _convert(tmp_path, target)
        out = tmp_path / f"{framework}.jsonl"
        proc = run_cli(
            "run", str(conv.path), str(DIGITS_DATA), "--framework", framework, "--profile", "--threads", "1",
            "--min-runs", "20", "--min-time-s", "0", "--warmup-runs", "2", "--output", str(out),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        records[framework] = json.loads(out.read_text().splitlines()[-1])
    prof = records["openvino"]["profile"]
    assert prof["profiled"] and prof["source"].startswith("OpenVINO performance counters")
    types = {op["type"] for op in prof["ops"]}
    assert "Convolution" in types and "MaxPool" in types, types  # the digits CNN: two conv + pool blocks, a dense layer
    invoke = records["openvino"]["latency"]["invoke"]
    per_run_ms = prof["total_ms"] / invoke["count"]  # one thread: node times add up to at most the invoke time
    assert 0 < per_run_ms <= 1.5 * invoke["mean_ms"], (per_run_ms, invoke["mean_ms"])
    assert "not available" in records["ncnn"]["profile"]["unavailable"]


@pytest.mark.parametrize("target", [formats.OPENVINO_IR, formats.NCNN])
def test_keras_and_pytorch_state_dict_reach_both_through_onnx(
    tmp_path: Path, target: str, keras_digits: tuple, digits_state_dict: tuple
) -> None:
    """The chains of the table: Keras -> tf2onnx -> target, state_dict -> torch.onnx.export -> target; fidelity held."""
    require("openvino")
    require("pnnx")
    from bench.convert.options import ConvertOptions
    from bench.convert.pipeline import convert
    from bench.runtimes.base import RuntimeOptions

    keras_model, keras_npz = keras_digits
    conv = convert(keras_model, formats.KERAS, target, ConvertOptions(cache_dir=tmp_path / "c"), data=keras_npz)
    assert [s["tool"] for s in conv.chain][0] == "tf2onnx" and conv.chain[-1]["to"] == target
    assert conv.fidelity["status"] == "checked" and conv.fidelity["max_abs_diff"] < 1e-3
    pth, cls_file, cls_name = digits_state_dict
    ro = RuntimeOptions(model_class_path=cls_file, model_class_name=cls_name)
    conv = convert(
        pth, formats.TORCH_STATE_DICT, target, ConvertOptions(cache_dir=tmp_path / "c"), runtime_options=ro,
        data=DIGITS_DATA,
    )  # fmt: skip
    assert [s["tool"] for s in conv.chain][0] == "torch.onnx.export"
    assert conv.fidelity["status"] == "checked" and conv.fidelity["max_abs_diff"] < 1e-3
