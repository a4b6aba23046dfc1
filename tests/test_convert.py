"""Conversion with real converters on real trained models. No converter is mocked.

Models: the digits CNN and the diabetes MLP from conftest (PyTorch, trained there), a Keras CNN trained
here on the same digits (NHWC), and tiny hand-built ONNX graphs for the layout and failure cases.
One conversion cache per session, so later tests also prove reuse.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Tuple

import numpy as np
import pytest

from bench import formats
from bench.convert import fidelity
from bench.convert.options import ConvertOptions
from bench.convert.pipeline import convert, convert_for
from bench.errors import (
    BenchError,
    ConversionError,
    DataError,
    FidelityError,
    InputError,
    ModelFormatError,
)
from bench.runtimes.base import RuntimeOptions
from tests.conftest import REPO, require

FP32_TOL = 1e-3


@pytest.fixture(scope="session", autouse=True)
def _frameworks() -> None:
    for name in ("torch", "onnx", "onnxruntime", "tensorflow", "onnx2tf", "ai_edge_litert"):
        require(name)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("convert-cache")


def opts(cache_dir: Path, **kw: Any) -> ConvertOptions:
    return ConvertOptions(cache_dir=cache_dir, **kw)


def sha(path: Path) -> str:
    from bench.convert.cache import sha256_path

    return sha256_path(path)


def float16_weights(path: Path) -> list:
    """Names of the float16 tensors in a .tflite file, read from the interpreter (not from the tool's own record)."""
    from ai_edge_litert.interpreter import Interpreter

    return [t["name"] for t in Interpreter(model_path=str(path)).get_tensor_details() if t["dtype"] == np.float16]


def load_runtime(path: Path, framework: str) -> Any:
    from bench import runtimes

    rt = runtimes.create(framework)
    rt.load(path, RuntimeOptions(threads=2))
    return rt


def one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert "\n" not in msg and msg, msg
    return msg


# ---------------------------------------------------------------- PyTorch / ONNX origin (onnx2tf)


@pytest.fixture(scope="session")
def digits_ro(digits_state_dict: Tuple[Path, Path, str]) -> RuntimeOptions:
    _, cls, name = digits_state_dict
    return RuntimeOptions(threads=2, model_class_path=cls, model_class_name=name)


@pytest.fixture(scope="session")
def digits_tflite_fp32(digits_state_dict, digits_npz, digits_ro, cache_dir):
    pth = digits_state_dict[0]
    before = sha(pth)
    c = convert_for(
        pth,
        formats.TORCH_STATE_DICT,
        "tflite",
        opts(cache_dir),
        runtime_options=digits_ro,
        data=digits_npz,
        model_type="classification",
    )
    assert sha(pth) == before
    return c


def test_pytorch_to_tflite_fp32_keeps_outputs_and_nchw(digits_tflite_fp32, digits_npz):
    c = digits_tflite_fp32
    assert c.format == formats.TFLITE and formats.detect(c.path) == formats.TFLITE
    assert [(s["from"], s["to"], s["tool"]) for s in c.chain] == [
        (formats.TORCH_STATE_DICT, formats.ONNX, "torch.onnx.export"),
        (formats.ONNX, formats.TFLITE, "onnx2tf"),
    ]
    export = c.chain[0]["options"]
    assert export["opset"] == 17 and export["external_data"] is False
    # one ONNX file, no external .data next to it
    onnx_dir = Path(c.chain[0]["artifact"]).parent
    assert not list(onnx_dir.glob("*.data"))
    f = c.fidelity
    assert f["samples"] == 360 and f["inputs"] == "data"
    assert f["max_abs_diff"] <= FP32_TOL
    assert f["top1_agreement"] == 1.0
    assert f["accuracy_converted"] == f["accuracy_source"] > 0.9
    assert f["cosine_similarity"] > 0.99999
    rt = load_runtime(c.path, "tflite")
    assert tuple(rt.input.shape) == (1, 1, 32, 32)  # NCHW input kept: the same .npz works
    rt.close()
    manifest = json.loads(Path(c.manifest).read_text())
    assert manifest["source"]["format"] == formats.ONNX
    assert manifest["tool_versions"]["onnx2tf"] and manifest["chain"] == c.chain
    assert any(v["max_abs_diff"] == f["max_abs_diff"] for v in manifest["fidelity"].values())
    d = c.to_dict()
    assert json.dumps(d) and d["fidelity"]["samples"] == 360


def test_cache_is_reused(digits_tflite_fp32, digits_state_dict, digits_npz, digits_ro, cache_dir):
    again = convert_for(
        digits_state_dict[0],
        formats.TORCH_STATE_DICT,
        "tflite",
        opts(cache_dir),
        runtime_options=digits_ro,
        data=digits_npz,
        model_type="classification",
    )
    assert again.cached and all(s["cached"] for s in again.chain)
    assert again.path == digits_tflite_fp32.path and sha(again.path) == sha(digits_tflite_fp32.path)
    assert again.fidelity["max_abs_diff"] == digits_tflite_fp32.fidelity["max_abs_diff"]
    assert not digits_tflite_fp32.cached


def test_pytorch_to_tflite_int8_keeps_accuracy(digits_state_dict, digits_npz, digits_ro, cache_dir, digits_tflite_fp32):
    c = convert_for(
        digits_state_dict[0],
        formats.TORCH_STATE_DICT,
        "tflite",
        opts(cache_dir, precision="int8", representative_data=digits_npz),
        runtime_options=digits_ro,
        data=digits_npz,
        model_type="classification",
    )
    assert c.chain[0]["cached"]  # the ONNX export is shared with the fp32 conversion
    assert not c.chain[1]["cached"] and "-oiqt" in c.chain[1]["options"]["argv"]
    assert c.path != digits_tflite_fp32.path
    rt = load_runtime(c.path, "tflite")
    assert rt.input.dtype == "int8" and rt.output.dtype == "int8" and rt.input.quantized
    rt.close()
    f = c.fidelity
    assert f["accuracy_change"] >= -0.01, f
    assert f["top1_agreement"] >= 0.98 and not f["warnings"], f


def test_onnx_to_tflite_nhwc_runs_on_the_same_npz(digits_onnx, digits_npz, cache_dir):
    before = sha(digits_onnx)
    c = convert_for(
        digits_onnx,
        formats.ONNX,
        "tflite",
        opts(cache_dir, keep_shape=False),
        runtime_options=RuntimeOptions(threads=2),
        data=digits_npz,
        model_type="classification",
    )
    assert sha(digits_onnx) == before  # onnx2tf rewrites its input: only a copy was given to it
    rt = load_runtime(c.path, "tflite")
    assert tuple(rt.input.shape) == (1, 32, 32, 1)  # NHWC; the NCHW .npz is transposed by bench.data
    from bench.infer import infer_all

    y = np.load(digits_npz)["y_data"]
    acc = float((infer_all(rt, np.load(digits_npz)["x_data"]).argmax(1) == y).mean())
    rt.close()
    assert c.fidelity["max_abs_diff"] <= FP32_TOL
    assert acc == c.fidelity["accuracy_source"] > 0.9


def test_transposed_data_path_is_the_data_of_an_nhwc_model(digits_onnx, digits_npz, cache_dir, tmp_path):
    """Compat with the original tool: --do-not-keep-shape --transposed-data-path NHWC.npz benchmarks on that file."""
    from bench import runner
    from bench.config import RunConfig, Timing

    with np.load(digits_npz) as d:
        x, y = d["x_data"], d["y_data"]
    nhwc = tmp_path / "digits_nhwc.npz"
    np.savez(nhwc, x_data=x.transpose(0, 2, 3, 1)[:100], y_data=y[:100])
    config = RunConfig(
        model=digits_onnx,
        data=digits_npz,
        framework="tflite",
        timing=Timing(warmup_runs=1, warmup_min_s=0, min_runs=1, min_time_s=0),
        convert=opts(cache_dir, keep_shape=False, transposed_data=nhwc),
    )
    rec = runner.run(config).to_dict()
    assert rec["data"]["path"] == str(nhwc) and rec["data"]["samples"] == 100
    assert rec["data"]["adaptation"] == []  # already NHWC: nothing transposed by bench
    assert rec["model"]["inputs"][0]["shape"] == [1, 32, 32, 1] and rec["quality"]["accuracy"] > 0.9


def test_onnx_to_tensorflow_savedmodel(digits_onnx, digits_npz, cache_dir):
    c = convert(digits_onnx, formats.ONNX, formats.SAVEDMODEL, opts(cache_dir), data=digits_npz)
    assert formats.detect(c.path) == formats.SAVEDMODEL
    assert c.fidelity["max_abs_diff"] <= FP32_TOL and c.fidelity["top1_agreement"] == 1.0


@pytest.fixture(scope="session")
def diabetes_ro(diabetes_state_dict) -> RuntimeOptions:
    _, cls, name = diabetes_state_dict
    return RuntimeOptions(threads=2, model_class_path=cls, model_class_name=name)


def test_diabetes_regression_fp32_and_int8(diabetes_state_dict, diabetes_npz, diabetes_ro, cache_dir):
    fp32 = convert_for(
        diabetes_state_dict[0],
        formats.TORCH_STATE_DICT,
        "tflite",
        opts(cache_dir),
        runtime_options=diabetes_ro,
        data=diabetes_npz,
        model_type="regression",
    )
    assert fp32.fidelity["max_abs_diff"] <= FP32_TOL
    assert fp32.fidelity["top1_agreement"] is None
    assert fp32.fidelity["mse_converted"] == pytest.approx(fp32.fidelity["mse_source"], rel=1e-5)
    int8 = convert_for(
        diabetes_state_dict[0],
        formats.TORCH_STATE_DICT,
        "tflite",
        opts(cache_dir, precision="int8", representative_data=diabetes_npz),
        runtime_options=diabetes_ro,
        data=diabetes_npz,
        model_type="regression",
    )
    rt = load_runtime(int8.path, "tflite")
    assert rt.input.dtype == "int8" and rt.output.dtype == "int8"
    rt.close()
    f = int8.fidelity
    # int8 regression: outputs dequantized; MSE within 10% of the source's (warned otherwise)
    assert f["mse_converted"] <= f["mse_source"] * 1.10, f
    assert not [w for w in f["warnings"] if "likely cause" in w], f
    assert 0 < f["max_abs_diff"] < 0.05 * np.abs(np.load(diabetes_npz)["y_data"]).max()


def test_onnx_to_tflite_fp16_regression(diabetes_onnx, diabetes_npz, cache_dir):
    c = convert_for(
        diabetes_onnx,
        formats.ONNX,
        "tflite",
        opts(cache_dir, precision="fp16"),
        runtime_options=RuntimeOptions(threads=2),
        data=diabetes_npz,
        model_type="regression",
    )
    assert c.chain[0]["tool"] == "onnx2tf" and c.chain[0]["options"]["precision"] == "fp16"
    assert float16_weights(c.path), "an fp16 model stores its weights as float16 (not only the tool saying so)"
    f = c.fidelity
    assert f["tolerance"] is None  # reduced precision: warned about, never an fp32-style error
    assert f["mse_converted"] <= f["mse_source"] * 1.01 and f["max_abs_diff"] < 1.0, f


def test_pytorch_to_onnx_same_stem_never_collides(tmp_path, digits_state_dict, cache_dir):
    """Two different models both called model.pth get two cache entries."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = tmp_path / "a" / "model.pth"
    b = tmp_path / "b" / "model.pth"
    torch = require("torch")
    state = torch.load(digits_state_dict[0], weights_only=True)
    state["classifier.bias"] = state["classifier.bias"] + 0.25  # never in the cache yet
    torch.save(state, a)
    state["classifier.bias"] = state["classifier.bias"] + 0.5  # a different model, same class, same file name
    torch.save(state, b)
    ro = RuntimeOptions(
        model_class_path=digits_state_dict[1], model_class_name=digits_state_dict[2], input_shape=(1, 1, 32, 32)
    )
    ca, cb = (
        convert_for(
            path,
            formats.TORCH_STATE_DICT,
            "onnx",
            opts(cache_dir),
            runtime_options=ro,
            data=None,
            model_type="classification",
        )
        for path in (a, b)
    )
    assert ca.path != cb.path and ca.path.name == cb.path.name == "model.onnx"
    assert sha(ca.path) != sha(cb.path)
    assert ca.path.exists() and cb.path.exists()
    assert not ca.cached and not cb.cached
    assert cb.fidelity["inputs"].startswith("synthetic") and cb.fidelity["max_abs_diff"] <= FP32_TOL


def test_torchscript_to_onnx(digits_torchscript, digits_npz, cache_dir):
    assert formats.detect(digits_torchscript) == formats.TORCHSCRIPT
    c = convert_for(
        digits_torchscript,
        formats.TORCHSCRIPT,
        "onnx",
        opts(cache_dir, opset=13),
        runtime_options=RuntimeOptions(threads=2),
        data=digits_npz,
        model_type="classification",
    )
    assert c.chain[0]["options"]["opset"] == 13 and formats.detect(c.path) == formats.ONNX
    assert c.fidelity["max_abs_diff"] <= FP32_TOL and c.fidelity["accuracy_change"] == 0.0


def test_three_channel_nhwc_int8_stays_offline(tmp_path, cache_dir):
    """onnx2tf downloads sample images for 3-channel NHWC inputs; bench supplies them (the converter runs
    behind a dead proxy, so a download attempt would fail the conversion)."""
    torch = require("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 16 * 16, 5)
    ).eval()
    path = tmp_path / "rgb.onnx"
    torch.onnx.export(
        net, (torch.zeros(1, 3, 16, 16),), str(path), input_names=["x:0"], dynamo=False, external_data=False
    )
    rng = np.random.default_rng(0)
    rep = tmp_path / "rep.npz"
    np.savez(rep, x_data=rng.random((120, 3, 16, 16), dtype=np.float32))
    c = convert(
        path, formats.ONNX, formats.TFLITE, opts(cache_dir, precision="int8", keep_shape=False, representative_data=rep)
    )
    assert c.fidelity["inputs"] == "representative data" and c.fidelity["samples"] == 120
    assert c.fidelity["cosine_similarity"] > 0.99
    rt = load_runtime(c.path, "tflite")
    assert tuple(rt.input.shape) == (1, 16, 16, 3) and rt.input.dtype == "int8"
    rt.close()


# ---------------------------------------------------------------- TF origin (TFLiteConverter, tf2onnx)


def test_keras_to_tflite_fp32_and_int8(keras_digits, cache_dir):
    model, npz = keras_digits
    assert formats.detect(model) == formats.KERAS
    fp32 = convert_for(
        model,
        formats.KERAS,
        "tflite",
        opts(cache_dir),
        runtime_options=RuntimeOptions(),
        data=npz,
        model_type="classification",
    )
    assert fp32.chain[0]["tool"] == "TFLiteConverter"
    assert fp32.fidelity["max_abs_diff"] <= FP32_TOL and fp32.fidelity["accuracy_source"] > 0.9
    assert fp32.fidelity["accuracy_converted"] == fp32.fidelity["accuracy_source"]
    int8 = convert_for(
        model,
        formats.KERAS,
        "tflite",
        opts(cache_dir, precision="int8", representative_data=npz),
        runtime_options=RuntimeOptions(),
        data=npz,
        model_type="classification",
    )
    rt = load_runtime(int8.path, "tflite")
    assert rt.input.dtype == "int8" and rt.output.dtype == "int8" and tuple(rt.input.shape) == (1, 32, 32, 1)
    rt.close()
    assert int8.fidelity["accuracy_change"] >= -0.01, int8.fidelity
    assert int8.fidelity["top1_agreement"] >= 0.98 and not int8.fidelity["warnings"]


def test_keras_to_onnx_with_tf2onnx(keras_digits, cache_dir):
    require("tf2onnx")
    model, npz = keras_digits
    c = convert_for(
        model,
        formats.KERAS,
        "onnx",
        opts(cache_dir),
        runtime_options=RuntimeOptions(),
        data=npz,
        model_type="classification",
    )
    assert c.chain[0]["tool"] == "tf2onnx" and formats.detect(c.path) == formats.ONNX
    assert c.fidelity["max_abs_diff"] <= FP32_TOL and c.fidelity["top1_agreement"] == 1.0


def test_savedmodel_to_tflite_fp16_and_dynamic_range(keras_savedmodel, keras_digits, cache_dir):
    npz = keras_digits[1]
    assert formats.detect(keras_savedmodel) == formats.SAVEDMODEL
    sizes = {}
    for precision in ("fp16", "dynamic-range"):
        c = convert_for(
            keras_savedmodel,
            formats.SAVEDMODEL,
            "tflite",
            opts(cache_dir, precision=precision),
            runtime_options=RuntimeOptions(),
            data=npz,
            model_type="classification",
        )
        assert c.fidelity["precision"] == precision
        assert c.fidelity["accuracy_change"] >= -0.01 and c.fidelity["top1_agreement"] >= 0.98
        assert bool(float16_weights(c.path)) is (precision == "fp16"), precision
        sizes[precision] = c.path.stat().st_size
    assert sizes["dynamic-range"] < sizes["fp16"]


def test_int8_with_unrepresentative_data_warns_loudly(keras_digits, cache_dir, tmp_path, caplog):
    """Calibrating on inputs 20x smaller than the real ones clips real inputs: a loud warning, with the cause."""
    model, npz = keras_digits
    bad = tmp_path / "bad_rep.npz"
    np.savez(bad, x_data=np.load(npz)["x_data"][:50] * 0.05)
    with caplog.at_level("WARNING"):
        c = convert_for(
            model,
            formats.KERAS,
            "tflite",
            opts(cache_dir, precision="int8", representative_data=bad),
            runtime_options=RuntimeOptions(),
            data=npz,
            model_type="classification",
        )
    f = c.fidelity
    assert f["top1_agreement"] < 0.98
    joined = " ".join(f["warnings"])
    assert "only 50 representative samples" in joined and "likely cause" in joined
    assert "FIDELITY" in caplog.text


# ---------------------------------------------------------------- bad inputs: clear one-line errors


def test_quantization_without_representative_data(digits_onnx, cache_dir):
    with pytest.raises(InputError, match="representative-data-path") as e:
        convert(digits_onnx, formats.ONNX, formats.TFLITE, opts(cache_dir, precision="int8"))
    one_line(e.value)


def test_missing_representative_file(digits_onnx, cache_dir, tmp_path):
    with pytest.raises(DataError, match="not found") as e:
        convert(
            digits_onnx,
            formats.ONNX,
            formats.TFLITE,
            opts(cache_dir, precision="int8", representative_data=tmp_path / "nope.npz"),
        )
    one_line(e.value)


def test_misshaped_representative_data(digits_onnx, cache_dir, tmp_path):
    rep = tmp_path / "rep.npz"
    np.savez(rep, x_data=np.zeros((10, 1, 16, 16), np.float32))
    with pytest.raises(DataError, match=r"shape \[1, 16, 16\].*takes \[1, 32, 32\]") as e:
        convert(digits_onnx, formats.ONNX, formats.TFLITE, opts(cache_dir, precision="int8", representative_data=rep))
    one_line(e.value)


def test_representative_data_is_validated_and_cast(tmp_path):
    from bench.convert import calibration

    rep = tmp_path / "rep.npz"
    np.savez(rep, x_data=np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3))  # NHWC, uint8, 2 samples
    x, digest, warnings = calibration.load(rep, (1, 3, 4, 4), model_name="m")
    assert x.dtype == np.float32 and x.shape == (2, 3, 4, 4) and len(digest) == 64
    assert x[1, 2, 3, 1] == 1 * 48 + (3 * 4 + 1) * 3 + 2  # NHWC element (n=1, h=3, w=1, c=2)
    text = " ".join(warnings)
    assert "NHWC; transposed" in text and "cast to float32" in text and "only 2 representative samples" in text
    np.savez(rep, x_data=np.full((3, 3, 4, 4), np.nan, np.float32))
    with pytest.raises(DataError, match="NaN"):
        calibration.load(rep, (1, 3, 4, 4), model_name="m")
    np.savez(rep, x_data=np.array(["a", "b"]))
    with pytest.raises(DataError, match="dtype"):
        calibration.load(rep, (1, 3, 4, 4), model_name="m")


def test_corrupt_model(tmp_path, cache_dir):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07\x12\x07pytorch" + b"\xff" * 40)
    with pytest.raises(ModelFormatError) as e:
        convert(bad, formats.ONNX, formats.TFLITE, opts(cache_dir))
    one_line(e.value)


@pytest.mark.parametrize(
    "source,framework",
    [(formats.TFLITE, "onnx"), (formats.ONNX, "pytorch"), (formats.TFLITE, "tensorrt")],
)
def test_unsupported_edges(source, framework, digits_onnx, cache_dir):
    with pytest.raises(ConversionError) as e:
        convert_for(
            digits_onnx,
            source,
            framework,
            opts(cache_dir),
            runtime_options=RuntimeOptions(),
            data=None,
            model_type="classification",
        )
    assert "Fix:" in one_line(e.value)


def test_reduced_precision_for_onnx_runtime_is_refused(digits_onnx, cache_dir):
    with pytest.raises(ConversionError, match="framework tflite"):
        convert_for(
            digits_onnx,
            formats.ONNX,
            "onnx",
            opts(cache_dir, precision="fp16"),
            runtime_options=RuntimeOptions(),
            data=None,
            model_type="classification",
        )


def test_tensorrt_without_tensorrt_is_a_clear_error(digits_onnx, cache_dir):
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    with pytest.raises(BenchError, match="tensorrt") as e:
        convert_for(
            digits_onnx,
            formats.ONNX,
            "tensorrt",
            opts(cache_dir),
            runtime_options=RuntimeOptions(),
            data=None,
            model_type="classification",
        )
    one_line(e.value)


def test_coral_needs_int8_and_the_compiler(digits_onnx, digits_npz, cache_dir):
    with pytest.raises(ConversionError, match="only full-integer int8") as e:
        convert_for(
            digits_onnx,
            formats.ONNX,
            "coral",
            opts(cache_dir),
            runtime_options=RuntimeOptions(),
            data=None,
            model_type="classification",
        )
    one_line(e.value)
    import shutil

    if shutil.which("edgetpu_compiler"):
        pytest.skip("edgetpu_compiler is installed here")
    with pytest.raises(BenchError, match="edgetpu_compiler"):  # refused before the int8 onnx2tf run
        convert_for(
            digits_onnx,
            formats.ONNX,
            "coral",
            opts(cache_dir, precision="int8", representative_data=digits_npz),
            runtime_options=RuntimeOptions(),
            data=None,
            model_type="classification",
        )


def test_converter_failure_keeps_its_last_lines(tmp_path, cache_dir):
    onnx = require("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("FancyOp", ["input"], ["output"], domain="com.example")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    path = tmp_path / "fancy.onnx"
    onnx.save(model, str(path))
    before = path.read_bytes()
    with pytest.raises(ConversionError) as e:
        convert(path, formats.ONNX, formats.TFLITE, opts(cache_dir))
    msg = one_line(e.value)
    assert "onnx2tf failed with exit code" in msg and "FancyOp" in msg
    import re

    log_file = Path(re.search(r"see the full log (\S+?);", msg).group(1))
    assert log_file.is_file() and "FancyOp" in log_file.read_text()
    import shutil

    shutil.rmtree(log_file.parent)  # kept for the user on failure; the test cleans up after itself
    assert path.read_bytes() == before  # the user's file is untouched even when the converter fails


def test_fp32_fidelity_beyond_tolerance_is_an_error():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(20, 10))
    fid = fidelity.compare(ref, ref + 2e-3, np.arange(20) % 10, "classification", "data")
    assert fid["max_abs_diff"] == pytest.approx(2e-3)
    with pytest.raises(FidelityError, match="tolerance 0.001") as e:
        fidelity.check(fid, "fp32", tolerance=1e-3, likely_cause="")
    one_line(e.value)
    fidelity.check(
        fidelity.compare(ref, ref + 5e-4, None, "classification", "data"), "fp32", tolerance=1e-3, likely_cause=""
    )


# ---------------------------------------------------------------- through the command line


def test_cli_convert_only(digits_state_dict, digits_npz, digits_tflite_fp32, cache_dir, tmp_path):
    pth, cls, name = digits_state_dict
    out = tmp_path / "r.jsonl"
    argv = [
        sys.executable, "-m", "bench", "run", str(pth), str(digits_npz), "--framework", "tflite",
        "--model-class-path", str(cls), "--model-class-name", name, "--cache-dir", str(cache_dir),
        "--output", str(out), "--convert-only",
    ]  # fmt: skip
    p = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["status"] == "ok" and rec["latency"] is None
    assert rec["conversion"]["cached"] is True  # made by the fixture above, reused
    assert rec["conversion"]["path"] == str(digits_tflite_fp32.path)
    assert rec["conversion"]["fidelity"]["max_abs_diff"] <= FP32_TOL


CLI_CASES = {
    # name: (model fixture, data fixture, framework, extra args, expected tools)
    "pytorch-int8": (
        "digits_state_dict",
        "digits_npz",
        "tflite",
        ["--quantization", "REP"],
        ["torch.onnx.export", "onnx2tf"],
    ),
    "onnx-nhwc": ("digits_onnx", "digits_npz", "tflite", ["--do-not-keep-shape"], ["onnx2tf"]),
    "torchscript-onnx": ("digits_torchscript", "digits_npz", "onnx", ["--opset", "13"], ["torch.onnx.export"]),
    "diabetes-int8": (
        "diabetes_state_dict",
        "diabetes_npz",
        "tflite",
        ["--quantization", "REP", "--model-type", "regression"],
        ["torch.onnx.export", "onnx2tf"],
    ),
    "keras-onnx": ("keras_digits", "keras_digits", "onnx", [], ["tf2onnx"]),
    "keras-int8": ("keras_digits", "keras_digits", "tflite", ["--quantization", "REP"], ["TFLiteConverter"]),
    "savedmodel-fp16": ("keras_savedmodel", "keras_digits", "tflite", ["--precision", "fp16"], ["TFLiteConverter"]),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_every_edge_through_bench_run(case, request, cache_dir, tmp_path):
    """`python -m bench run ... --framework X` converts (from the session cache when an earlier test made the
    same conversion) and benchmarks; the record carries the chain and the fidelity."""
    model_fx, data_fx, framework, extra, tools_expected = CLI_CASES[case]
    model = request.getfixturevalue(model_fx)
    data = request.getfixturevalue(data_fx)
    args = []
    if isinstance(model, tuple) and model_fx.endswith("state_dict"):
        model, cls, name = model
        args += ["--model-class-path", str(cls), "--model-class-name", name]
    elif isinstance(model, tuple):
        model = model[0]
    if isinstance(data, tuple):
        data = data[1]
    extra = [str(data) if a == "REP" else a for a in extra]
    if "--quantization" in extra:
        extra.insert(extra.index("--quantization") + 1, "--representative-data-path")
    out = tmp_path / "r.jsonl"
    argv = [sys.executable, "-m", "bench", "run", str(model), str(data), "--framework", framework]
    argv += args + extra + ["--cache-dir", str(cache_dir), "--output", str(out), "--threads", "2"]
    argv += ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "3", "--min-time-s", "0"]
    p = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["status"] == "ok" and rec["latency"]["invoke"]["count"] >= 3
    conv = rec["conversion"]
    assert [s["tool"] for s in conv["chain"]] == tools_expected
    fid = conv["fidelity"]
    if "--model-type" in extra:
        assert fid["mse_converted"] <= fid["mse_source"] * 1.1
        assert rec["quality"]["mse"] == pytest.approx(fid["mse_converted"], rel=1e-4)
    else:
        assert fid["accuracy_change"] >= -0.01 and fid["top1_agreement"] >= 0.98
        assert rec["quality"]["accuracy"] == pytest.approx(fid["accuracy_converted"])


def test_cache_publishes_atomically_and_repairs_incomplete_entries(tmp_path):
    from bench.convert import cache

    root = cache.root_for(tmp_path / "c")
    key = cache.make_key({"source_sha256": "x", "options": {"precision": "fp32"}})
    assert key != cache.make_key({"source_sha256": "x", "options": {"precision": "int8"}})
    (root / key[:24]).mkdir()  # a crash left a folder without manifest
    (root / key[:24] / "junk").write_text("half")

    def produce(out_dir, work_dir):
        (out_dir / "m.bin").write_bytes(b"artifact")
        return out_dir / "m.bin", {"step_options": {"a": 1}}

    assert cache.lookup(root, key) is None
    e = cache.build(root, key, produce, {"source": {"path": "s"}, "tool_versions": {}}, "model.bin")
    assert not e.cached and e.artifact.read_bytes() == b"artifact" and not (e.dir / "junk").exists()
    again = cache.lookup(root, key)
    assert again.cached and again.manifest["artifact_sha256"] == cache.sha256_path(e.artifact)
    assert not [p for p in root.iterdir() if p.name.startswith(".build-")]

    def fail(out_dir, work_dir):
        raise ConversionError("tool broke", "")

    other = cache.make_key({"other": 1})
    with pytest.raises(ConversionError):
        cache.build(root, other, fail, {}, "x.bin")
    assert cache.lookup(root, other) is None and not (root / other[:24]).exists()
    e.artifact.unlink()  # an artifact deleted by hand: the entry is rebuilt, never half-used
    assert cache.lookup(root, key) is None
