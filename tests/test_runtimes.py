"""Real frameworks on real data: PyTorch, ONNX Runtime and TFLite agree; the harness obeys its contract."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench import harness, runner
from bench.compare import demo
from bench.config import RunConfig, Timing
from bench.data import adapt
from bench.errors import FrameworkUnavailable, InputError, UnsupportedModelError
from bench.infer import infer_all
from bench.runtimes import create
from bench.runtimes.base import RuntimeOptions

from .conftest import REPO, require

QUICK = Timing(warmup_runs=2, warmup_min_s=0.0, min_runs=5, min_time_s=0.0, max_time_s=60)


def _run(model: Path, data: Path, framework: str, **kw: object) -> dict:
    config = RunConfig(model=model, data=data, framework=framework, timing=kw.pop("timing", QUICK), **kw)
    return runner.run(config).to_dict()


@pytest.fixture(scope="module")
def digits_records(
    digits_state_dict: tuple, digits_torchscript: Path, digits_onnx: Path, digits_tflite: Path, digits_npz: Path
) -> dict:
    require("onnxruntime")
    require("ai_edge_litert")
    sd, cls, name = digits_state_dict
    return {
        "pytorch": _run(sd, digits_npz, "pytorch", model_class_path=cls, model_class_name=name, threads=2),
        "torchscript": _run(digits_torchscript, digits_npz, "pytorch", threads=2),
        "onnx": _run(digits_onnx, digits_npz, "onnx", threads=2),
        "tflite": _run(digits_tflite, digits_npz, "tflite", threads=2),
    }


def test_three_runtimes_agree_on_digits_accuracy(digits_records: dict, digits_trained: tuple) -> None:
    torch = require("torch")
    model, x_te, y_te = digits_trained
    with torch.inference_mode():
        reference = float((model(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean())
    accs = {k: r["quality"]["accuracy"] for k, r in digits_records.items()}
    assert reference > 0.9, "the digits CNN trained in the fixture should be good"
    for name, acc in accs.items():
        assert acc == pytest.approx(reference, abs=1e-9), f"{name}: {acc} vs torch batch inference {reference}"
    cms = {k: r["quality"]["confusion_matrix"] for k, r in digits_records.items()}
    assert cms["onnx"] == cms["pytorch"] == cms["tflite"]


def test_record_is_complete(digits_records: dict, digits_npz: Path) -> None:
    r = digits_records["onnx"]
    assert r["schema_version"] == 3 and r["status"] == "ok"
    assert r["model"]["format"] == "onnx" and len(r["model"]["sha256"]) == 64 and r["model"]["size_mb"] > 0
    assert r["model"]["inputs"][0]["shape"] == [1, 1, 32, 32] and r["model"]["outputs"][0]["shape"] == [1, 10]
    assert r["data"]["samples"] == 360 and r["data"]["path"] == str(digits_npz)
    assert r["runtime"]["versions"]["onnxruntime"] and r["runtime"]["intra_op_threads"] == 2
    assert r["options"]["threads"] == 2
    lat = r["latency"]
    assert lat["invoke"]["count"] == len(lat["raw_invoke_ns"]) == len(lat["raw_e2e_ns"]) == 360
    assert lat["load_ms"] > 0 and lat["first_inference_ms"] > 0
    # end to end includes the runtime call, sample by sample
    assert all(e >= i for i, e in zip(lat["raw_invoke_ns"], lat["raw_e2e_ns"]))
    # each statistic comes from its own raw samples (numpy's percentile, independently)
    for name, raw in (("invoke", lat["raw_invoke_ns"]), ("e2e", lat["raw_e2e_ns"])):
        ms = np.asarray(raw) / 1e6
        for q in (50, 90, 99):
            assert lat[name][f"p{q}_ms"] == pytest.approx(np.percentile(ms, q), rel=1e-12), (name, q)
        assert lat[name]["mean_ms"] == pytest.approx(ms.mean(), rel=1e-12) and lat[name]["count"] == len(raw)
    assert lat["invoke"]["p50_ms"] < lat["e2e"]["p50_ms"]
    # versions are the installed packages', not a placeholder
    from importlib.metadata import version

    assert r["runtime"]["versions"] == {"onnxruntime": version("onnxruntime")}
    assert digits_records["tflite"]["runtime"]["versions"] == {"ai-edge-litert": version("ai-edge-litert")}
    assert digits_records["pytorch"]["runtime"]["versions"]["torch"] == version("torch")
    # the machine: this one has no device tree, so the board is "generic" and its model the CPU architecture
    machine_facts = r["machine"]
    if not Path("/proc/device-tree/model").exists():
        assert machine_facts["board"] == {"id": "generic", "model": platform.machine(), "source": "none"}
    assert machine_facts["cpu"]["cores"] == os.cpu_count() and machine_facts["peak_rss_mb"] > 0
    state = machine_facts["state"]
    assert state["throttled"] is bool(state["throttle_reasons"])
    if not list(Path("/sys/class/thermal").glob("thermal_zone*")):  # no sensor: nothing can report a throttle
        assert state["throttled"] is False and state["max_temp_c"] is None
    # the tool: its version and the checkout's commit (HEAD, "-dirty" when tracked files are modified)
    from bench import __version__

    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert r["tool"]["version"] == __version__
    if "EDGEBENCH_GIT_COMMIT" in os.environ:
        assert r["tool"]["git_commit"] == os.environ["EDGEBENCH_GIT_COMMIT"]
    else:
        assert len(head) == 40 and r["tool"]["git_commit"] in (head, head + "-dirty"), (r["tool"], head)
    assert r["quality"]["averaging"].startswith("macro")
    assert digits_records["pytorch"]["model"]["outputs"][0]["shape"] == [1, 10]


def test_diabetes_regression_agrees_across_runtimes(
    diabetes_state_dict: tuple, diabetes_onnx: Path, diabetes_tflite: Path, diabetes_npz: Path, diabetes_trained: tuple
) -> None:
    torch = require("torch")
    sk = require("sklearn.metrics")
    model, x_te, y_te = diabetes_trained
    with torch.inference_mode():
        ref = model(torch.from_numpy(x_te)).numpy()[:, 0]
    sd, cls, name = diabetes_state_dict
    recs = {
        "pytorch": _run(
            sd, diabetes_npz, "pytorch", model_type="regression", model_class_path=cls, model_class_name=name
        ),
        "onnx": _run(diabetes_onnx, diabetes_npz, "onnx", model_type="regression"),
        "tflite": _run(diabetes_tflite, diabetes_npz, "tflite", model_type="regression"),
    }
    for fw, r in recs.items():
        q = r["quality"]
        assert q["mse"] == pytest.approx(sk.mean_squared_error(y_te, ref), rel=1e-4), fw
        assert q["r2"] == pytest.approx(sk.r2_score(y_te, ref), rel=1e-4), fw
        assert q["mape_pct"] == pytest.approx(100 * sk.mean_absolute_percentage_error(y_te, ref), rel=1e-4), fw
    assert recs["onnx"]["quality"]["r2"] > 0.3, "a trained regressor explains some variance"


def test_run_length_by_count_and_time_with_a_cap(digits_onnx: Path, digits_npz: Path) -> None:
    require("onnxruntime")
    by_count = _run(digits_onnx, digits_npz, "onnx", timing=Timing(0, 0.0, 1000, 0.0, 60))
    assert by_count["latency"]["invoke"]["count"] == 1000  # cycles past the 360 samples for latency only
    assert by_count["quality"]["samples"] == 360  # quality still on every sample exactly once
    by_time = _run(digits_onnx, digits_npz, "onnx", timing=Timing(0, 0.0, 1, 0.5, 60))
    assert by_time["latency"]["measured_s"] >= 0.5
    warm = _run(digits_onnx, digits_npz, "onnx", timing=Timing(7, 0.2, 1, 0.0, 60))
    assert warm["latency"]["warmup_runs"] >= 7 and warm["latency"]["warmup_s"] >= 0.2
    capped = _run(digits_onnx, digits_npz, "onnx", timing=Timing(0, 0.0, 10**9, 0.0, 0.3))
    assert capped["latency"]["measured_s"] < 5 and capped["quality"]["samples"] == 360


def test_int8_tflite_quantizes_float_data_and_dequantizes_outputs(tmp_path: Path, digits_npz: Path) -> None:
    """A real full-integer model (int8 input and output) made with TFLiteConverter from a Keras MLP."""
    tf = require("tensorflow")
    with np.load(digits_npz) as d:
        x, y = d["x_data"], d["y_data"]
    x_flat = x.reshape(len(x), -1)[:, ::16]  # 64 features: the original 8x8 digits
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [tf.keras.Input((64,)), tf.keras.layers.Dense(32, activation="relu"), tf.keras.layers.Dense(10)]
    )
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_flat, y, epochs=40, verbose=0)
    float_acc = float((model.predict(x_flat, verbose=0).argmax(1) == y).mean())

    def rep():
        for i in range(100):
            yield [x_flat[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path = tmp_path / "mlp_int8.tflite"
    path.write_bytes(conv.convert())
    data = tmp_path / "flat.npz"
    np.savez(data, x_data=x_flat, y_data=y)

    r = _run(path, data, "tflite")
    assert r["model"]["inputs"][0]["dtype"] == "int8" and r["model"]["inputs"][0]["scale"] > 0
    assert r["model"]["outputs"][0]["dtype"] == "int8"
    assert any("quantized per inference" in n for n in r["data"]["adaptation"])
    assert abs(r["quality"]["accuracy"] - float_acc) <= 0.03, (r["quality"]["accuracy"], float_acc)

    # the outputs the harness scores are (raw - zero_point) * scale of the interpreter's own int8 outputs
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    (inp,), (outp,) = interp.get_input_details(), interp.get_output_details()
    (in_scale, in_zp), (out_scale, out_zp) = inp["quantization"], outp["quantization"]
    expected = []
    for xi in x_flat[:20]:
        q = np.clip(np.round(xi / in_scale) + in_zp, -128, 127).astype(np.int8)[None]
        interp.set_tensor(inp["index"], q)
        interp.invoke()
        raw = interp.get_tensor(outp["index"])[0]
        expected.append((raw.astype(np.float32) - out_zp) * out_scale)
    expected = np.stack(expected)
    assert out_scale > 0 and np.abs(expected).max() > 10 * out_scale, "outputs span many quantization steps"

    rt = create("tflite")
    rt.load(path, RuntimeOptions())
    out = infer_all(rt, x_flat[:20])
    assert out.dtype == np.float32 and out.shape == (20, 10)  # dequantized, batch dimension dropped
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    measured = harness.measure(rt, adapt(x_flat[:20], rt.input), QUICK).outputs
    np.testing.assert_allclose(measured, expected, rtol=0, atol=1e-6)
    # and close to the float model's logits: within a few quantization steps
    logits = model.predict(x_flat[:20], verbose=0)
    err = np.abs(measured - logits).max()
    assert err <= 4 * out_scale + 0.05 * np.abs(logits).max(), (err, out_scale)


def test_multi_input_model_is_refused_with_its_names(tmp_path: Path, digits_npz: Path) -> None:
    onnx = require("onnx")
    require("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"])],
        "two_inputs",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 4]),
        ],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "two.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(UnsupportedModelError, match=r"\['a', 'b'\]"):
        _run(path, digits_npz, "onnx")


def test_state_dict_without_class_and_unavailable_frameworks(
    digits_state_dict: tuple, digits_onnx: Path, digits_npz: Path
) -> None:
    with pytest.raises(InputError, match="--model-class-path"):
        _run(digits_state_dict[0], digits_npz, "pytorch")
    with pytest.raises(FrameworkUnavailable, match="TensorRT"):
        _run(digits_onnx, digits_npz, "tensorrt")


def test_pickled_full_model_is_not_loaded(tmp_path: Path, digits_trained: tuple, digits_npz: Path) -> None:
    torch = require("torch")
    from bench import models
    from bench.errors import ModelFormatError

    path = tmp_path / "full_model.pth"
    torch.save(digits_trained[0], path)  # the whole pickled module, not a state_dict
    with pytest.raises(ModelFormatError, match="weights only"):
        _run(
            path,
            digits_npz,
            "pytorch",
            model_class_path=models.DIGITS_CLASS_FILE,
            model_class_name=models.DIGITS_CLASS_NAME,
        )


def test_shipped_default_model_agrees_on_three_runtimes() -> None:
    require("onnxruntime")
    require("ai_edge_litert")
    records = demo.demo(["pytorch", "onnx", "tflite"], threads=1, timing=QUICK)
    assert [r.status for r in records] == ["ok", "ok", "ok"], [r.error for r in records]
    accs = [r.quality["accuracy"] for r in records]
    assert accs[0] == accs[1] == accs[2] and accs[0] > 0.95


def test_loading_pyarmnn_keeps_the_callers_logging_disable_level() -> None:
    """armnn.py silences pyarmnn's import warnings, then restores the caller's level (not NOTSET)."""
    import logging

    from bench.errors import FrameworkUnavailable
    from bench.runtimes import armnn

    logging.disable(logging.INFO)
    try:
        try:
            armnn._pyarmnn()
        except FrameworkUnavailable:
            pass  # not installed here: the level must be restored all the same
        assert logging.root.manager.disable == logging.INFO
    finally:
        logging.disable(logging.NOTSET)
