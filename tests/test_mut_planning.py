"""Planning a conversion (mutation run of bench/convert/planning.py): refusals before any work, the source's input
shape from hand-built ONNX graphs and PyTorch options, what a plan gathers (hashes from hashlib)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bench.convert import edges, planning
from bench.convert.options import ConvertOptions
from bench.errors import ConversionError, InputError, ModelFormatError
from bench.runtimes.base import RuntimeOptions

ASSETS = Path(__file__).resolve().parent.parent / "bench" / "models" / "assets"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def model(tmp_path: Path) -> Path:
    p = tmp_path / "m.pth"
    p.write_bytes(b"state dict bytes")
    return p


def test_plan_chain_refusals(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError) as err:
        planning.plan_chain(tmp_path / "missing.pth", "pytorch-state-dict", "onnx", ConvertOptions(), "regression")
    assert err.value.problem == f"model {tmp_path / 'missing.pth'} not found"
    assert err.value.fix == "check the path"
    with pytest.raises(ConversionError, match="precision int8 is not produced on the way pytorch-state-dict -> onnx"):
        planning.plan_chain(model, "pytorch-state-dict", "onnx", ConvertOptions(precision="int8"), "regression")
    with pytest.raises(InputError) as err:
        planning.plan_chain(model, "pytorch-state-dict", "onnx", ConvertOptions(precision="int4"), "regression")
    assert err.value.problem == "unknown precision 'int4'"
    assert err.value.fix == "use one of: fp32, fp16, dynamic-range, int8"
    with pytest.raises(InputError) as err:
        planning.plan_chain(model, "pytorch-state-dict", "onnx", ConvertOptions(), "detection")
    assert (err.value.problem, err.value.fix) == ("unknown model type 'detection'", "use classification or regression")
    with pytest.raises(ConversionError, match="Edge TPU runs only full-integer int8"):
        planning.plan_chain(model, "onnx", "edgetpu-tflite", ConvertOptions(precision="fp16"), "classification")
    seen = []
    monkeypatch.setattr(edges, "preflight", lambda chain: seen.append([e.target for e in chain]))
    for kind in ("classification", "regression"):
        chain = planning.plan_chain(model, "pytorch-state-dict", "tflite", ConvertOptions(precision="int8"), kind)
        assert [e.target for e in chain] == ["onnx", "tflite"]
    assert seen == [["onnx", "tflite"], ["onnx", "tflite"]]


def test_unconverted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = tmp_path / "m.tflite"
    m.write_bytes(b"x")
    got = planning.unconverted(m, "tflite", "tflite", ConvertOptions())
    assert (got.path, got.format) == (m, "tflite")
    with pytest.raises(ConversionError) as err:
        planning.unconverted(m, "onnx", "onnx", ConvertOptions(precision="fp16"))
    assert err.value.problem == "precision fp16 is not produced for onnx models"
    assert err.value.fix == "quantized and half-precision models are made for TFLite: use --framework tflite"
    monkeypatch.setattr(planning, "_already_quantized_tflite", lambda p: p == m)
    got = planning.unconverted(m, "tflite", "tflite", ConvertOptions(precision="int8"))
    assert (got.path, got.format) == (m, "tflite")
    with pytest.raises(ConversionError) as err:  # only int8 is what a quantized TFLite already is
        planning.unconverted(m, "tflite", "tflite", ConvertOptions(precision="fp16"))
    assert err.value.problem == "m.tflite is already a tflite model; fp16 needs a conversion from the original"
    assert err.value.fix == "give the original ONNX, SavedModel, Keras or PyTorch model"
    with pytest.raises(ConversionError):  # a quantized model of another format is not taken as int8
        planning.unconverted(m, "onnx", "tflite", ConvertOptions(precision="int8"))
    monkeypatch.setattr(planning, "_already_quantized_tflite", lambda p: False)
    with pytest.raises(ConversionError, match="already a tflite model; int8 needs"):
        planning.unconverted(m, "tflite", "tflite", ConvertOptions(precision="int8"))


def test_a_shipped_tflite_is_or_is_not_quantized() -> None:
    assert planning._already_quantized_tflite(ASSETS / "digits_cnn_int8.tflite") is True
    assert planning._already_quantized_tflite(ASSETS / "digits_cnn.tflite") is False


def _onnx(path: Path, shapes: list, initializer_input: bool = False) -> Path:
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, s) for i, s in enumerate(shapes)]
    inits = []
    if initializer_input:
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [1]))
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0]))
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("Identity", ["x0"], ["y"])
    onnx.save(helper.make_model(helper.make_graph([node], "g", inputs, [out], inits)), str(path))
    return path


def test_onnx_input_shapes(tmp_path: Path) -> None:
    ro = RuntimeOptions()
    one = _onnx(tmp_path / "a.onnx", [["N", 3, 32, 16]], initializer_input=True)
    assert planning.source_input_shape(one, "onnx", ro, None) == (1, 3, 32, 16)
    dyn = _onnx(tmp_path / "b.onnx", [[4, 3, "H", 8]])
    assert planning.source_input_shape(dyn, "onnx", ro, None) == (1, 3, -1, 8)
    two = _onnx(tmp_path / "c.onnx", [[1, 2], [1, 2]])
    assert planning.source_input_shape(two, "onnx", ro, None) is None
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all \xff\xff")
    with pytest.raises(ModelFormatError) as err:
        planning.source_input_shape(bad, "onnx", ro, None)
    assert err.value.problem.startswith(f"ONNX model {bad} could not be parsed: ")
    assert err.value.fix == "re-export the model"


def test_pytorch_input_shapes(model: Path) -> None:
    x = np.zeros((5, 1, 8, 8), np.float32)
    for fmt in ("pytorch-state-dict", "torchscript"):
        assert planning.source_input_shape(model, fmt, RuntimeOptions(input_shape=(2, 3, 4)), x) == (2, 3, 4)
        assert planning.source_input_shape(model, fmt, RuntimeOptions(), x) == (1, 1, 8, 8)
        assert planning.source_input_shape(model, fmt, RuntimeOptions(), None) is None
    assert planning.source_input_shape(model, "tflite", RuntimeOptions(input_shape=(2, 3)), x) is None


def test_prepare_fp32_from_a_state_dict(model: Path, tmp_path: Path) -> None:
    cls = tmp_path / "net.py"
    cls.write_text("class Net: pass\n")
    data = tmp_path / "d.npz"
    np.savez(data, x_data=np.zeros((3, 1, 6, 6), np.float32))
    ro = RuntimeOptions(model_class_path=cls, model_class_name="Net")
    p = planning.prepare(model, "pytorch-state-dict", [], ConvertOptions(), ro, data, "regression")
    assert p.source_sha256 == _sha(model)
    assert p.input_shape == (1, 1, 6, 6) and p.context["input_shape"] == (1, 1, 6, 6)
    assert p.context["class"] == {"name": "Net", "file_sha256": _sha(cls)}
    assert p.calibration is None and p.warnings == [] and p.dataset.x.shape == (3, 1, 6, 6)
    assert (p.model, p.source_format, p.model_type, p.runtime_options) == (
        model,
        "pytorch-state-dict",
        "regression",
        ro,
    )
    p = planning.prepare(model, "pytorch-state-dict", [], ConvertOptions(), RuntimeOptions(), None, "regression", "abc")
    assert p.source_sha256 == "abc" and p.dataset is None and p.input_shape is None
    assert p.context == {"input_shape": None, "class": {"name": None, "file_sha256": None}}
    ro = RuntimeOptions(model_class_path=tmp_path / "absent.py", model_class_name="Net")
    p = planning.prepare(model, "pytorch-state-dict", [], ConvertOptions(), ro, None, "regression")
    assert p.context["class"] == {"name": "Net", "file_sha256": None}


def test_prepare_int8_calibrates_and_takes_the_shape_from_the_data(model: Path, tmp_path: Path) -> None:
    rep = tmp_path / "rep.npz"
    np.savez(rep, x_data=np.ones((4, 2, 5, 3), np.float32))  # NHWC samples of an NCHW (1, 3, 2, 5) model
    opts = ConvertOptions(precision="int8", representative_data=rep)
    ro = RuntimeOptions(input_shape=(1, 3, 2, 5))
    p = planning.prepare(model, "torchscript", [], opts, ro, None, "classification")
    assert p.calibration.shape == (4, 3, 2, 5) and p.context["calibration_sha256"] == _sha(rep)
    assert p.warnings == [
        "representative data is NHWC; transposed to the model's NCHW input",
        "only 4 representative samples (under 100): int8 ranges may not cover real inputs",
    ]
    assert "class" not in p.context and p.input_shape == (1, 3, 2, 5)
    p = planning.prepare(model, "tflite", [], opts, RuntimeOptions(), None, "classification")  # no shape from a tflite
    assert p.input_shape == (1, 2, 5, 3) and p.context["input_shape"] == (1, 2, 5, 3)


def test_a_tensorflow_source_with_data_is_not_loaded_for_fp32(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"not read")
    data = tmp_path / "d.npz"
    np.savez(data, x_data=np.zeros((2, 4), np.float32))
    for fmt in ("savedmodel", "keras"):
        p = planning.prepare(saved, fmt, [], ConvertOptions(), RuntimeOptions(), data, "regression", "s")
        assert p.input_shape is None and p.context == {"input_shape": None}


def test_a_tensorflow_source_is_asked_its_shape_only_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading a SavedModel takes seconds: its shape is asked for int8 (calibration) or without data only. The
    shape lookup is replaced by a recorder (contract test; the TensorFlow path runs in tests/test_convert.py)."""
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"not read")
    data = tmp_path / "d.npz"
    np.savez(data, x_data=np.zeros((2, 4), np.float32))
    rep = tmp_path / "rep.npz"
    np.savez(rep, x_data=np.ones((3, 4), np.float32))
    asked = []

    def shape(model: Path, fmt: str, ro: RuntimeOptions, x: object) -> tuple:
        asked.append((model, fmt, None if x is None else np.shape(x)))
        return (1, 4)

    monkeypatch.setattr(planning, "source_input_shape", shape)
    chain = edges.plan("savedmodel", "tflite", "int8")
    int8 = ConvertOptions(precision="int8", representative_data=rep)
    p = planning.prepare(saved, "savedmodel", chain, int8, RuntimeOptions(), data, "regression", "s")
    assert asked == [(saved, "savedmodel", (2, 4))] and p.input_shape == (1, 4)
    assert p.chain is chain and p.options is int8 and p.calibration.shape == (3, 4)
    planning.prepare(saved, "keras", chain, ConvertOptions(), RuntimeOptions(), data, "regression", "s")
    assert len(asked) == 1
    planning.prepare(saved, "keras", chain, ConvertOptions(), RuntimeOptions(), None, "regression", "s")
    assert asked[1] == (saved, "keras", None)


def test_int8_of_a_float_model_without_data_names_the_model(model: Path) -> None:
    with pytest.raises(InputError) as err:
        planning.prepare(
            model, "pytorch-state-dict", [], ConvertOptions(precision="int8"), RuntimeOptions(), None, "regression", "s"
        )
    assert err.value.problem.startswith("--quantization (int8) of the float model m.pth needs representative data")


def test_the_input_shape_is_read_without_the_external_weights(tmp_path: Path) -> None:
    """A model exported with external data (over 2 GB, or copied without its weights file): the graph alone says the
    input shape."""
    import onnx
    import onnx.numpy_helper
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    w = onnx.numpy_helper.from_array(np.arange(4, dtype=np.float32), "w")  # raw data: stored externally
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [w])
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph), str(path), save_as_external_data=True, location="w.data", size_threshold=0)
    (tmp_path / "w.data").unlink()
    assert planning.source_input_shape(path, "onnx", RuntimeOptions(), None) == (1, 4)
