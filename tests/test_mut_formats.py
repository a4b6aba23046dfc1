"""Format detection from content (bench/formats.py) and two-file bundles (bench/bundle.py) by behaviour: the shipped
digits models, and headers written here by hand from each format's definition (ONNX protobuf field 1 varint
``ir_version``; TFLite's "TFL3" identifier at byte 4; ExecuTorch's "ET12"; HDF5's signature; pickle protocol bytes;
ncnn's "7767517" first line, ncnn src/net.cpp; OpenVINO's ``<net>`` XML). Fast: small files only."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bench import bundle, formats
from bench.errors import ModelFormatError

ASSETS = Path(formats.__file__).parent / "models" / "assets"


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    "asset,fmt",
    [
        ("digits_cnn.onnx", formats.ONNX),
        ("digits_cnn.pth", formats.TORCH_STATE_DICT),
        ("digits_cnn.tflite", formats.TFLITE),
        ("digits_cnn_int8.tflite", formats.TFLITE),
    ],
)
def test_shipped_models_detected_under_any_name(tmp_path: Path, asset: str, fmt: str) -> None:
    assert formats.detect(_file(tmp_path, "model.data", (ASSETS / asset).read_bytes())) == fmt


@pytest.mark.parametrize(
    "head,fmt",
    [
        (b"\x1c\x00\x00\x00ET12" + b"\x00" * 8, formats.EXECUTORCH_PTE),
        (b"\x80\x02" + b"\x00" * 10, formats.TORCH_STATE_DICT),
        (b"\x80\x03" + b"\x00" * 10, formats.TORCH_STATE_DICT),
        (b"\x80\x04" + b"\x00" * 10, formats.TORCH_STATE_DICT),
        (b"\x80\x05" + b"\x00" * 10, formats.TORCH_STATE_DICT),
        (b"7767517\n3 3\nInput data 0 1 data\n", formats.NCNN),
        (b'<?xml version="1.0"?>\n<net name="m" version="11">\n</net>\n', formats.OPENVINO_IR),
        (b'  <net name="m" version="11"><layers/></net>\n', formats.OPENVINO_IR),
        (b"\x08\x03\x12\x07pytorch", formats.ONNX),  # ir_version 3, then field 2 (producer_name, length-delimited)
        (b"\x08\x14\x3a\x02\x08\x0d", formats.ONNX + "!"),  # ir_version 20 then field 7 (graph): too short, see below
    ],
)
def test_headers_by_hand(tmp_path: Path, head: bytes, fmt: str) -> None:
    if fmt.endswith("!"):  # 6 bytes: refused as truncated before any magic is looked at
        with pytest.raises(ModelFormatError, match=r"empty or truncated \(6 bytes\)"):
            formats.detect(_file(tmp_path, "m", head))
        return
    assert formats.detect(_file(tmp_path, "m.unknown", head)) == fmt


@pytest.mark.parametrize(
    "head,ok",
    [
        (b"\x08\x03\x3a\x00" + b"\x00" * 8, True),  # ir_version 3, graph (field 7, length-delimited)
        (b"\x08\x14\x40\x00" + b"\x00" * 8, True),  # ir_version 20, field 8 varint
        (b"\x08\x02\x3a\x00" + b"\x00" * 8, False),  # ir_version 2: below onnx's range
        (b"\x08\x15\x3a\x00" + b"\x00" * 8, False),  # ir_version 21
        (b"\x08\x83\x00\x3a" + b"\x00" * 8, True),  # ir_version 3 in a two-byte varint (0x83 0x00)
        (b"\x08\x87\x01\x3a" + b"\x00" * 8, False),  # two-byte varint 135
        (b"\x08\x07\x3b\x00" + b"\x00" * 8, False),  # next field of wire type 3 (start group): not a ModelProto
        (b"\x08\x07\x3d\x00" + b"\x00" * 8, False),  # wire type 5 (fixed32)
        (b"\x10\x07\x3a\x00" + b"\x00" * 8, False),  # first field is not field 1
    ],
)
def test_onnx_header_rule(tmp_path: Path, head: bytes, ok: bool) -> None:
    p = _file(tmp_path, "m.onnx", head)
    if ok:
        assert formats.detect(p) == formats.ONNX
    else:
        with pytest.raises(ModelFormatError, match="no known format"):
            formats.detect(p)


def test_onnx_varint_running_off_the_header_is_not_onnx(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="no known format"):
        formats.detect(_file(tmp_path, "m.onnx", b"\x08" + b"\x83" * 63))  # varint never ends in 64 bytes
    with pytest.raises(ModelFormatError, match="no known format"):
        formats.detect(_file(tmp_path, "m.onnx", b"\x08\x80\x80\x80\x80\x80\x80\x03"))  # ends at the last byte


@pytest.mark.parametrize("suffix", [".engine", ".plan", ".trt", ".ENGINE"])
def test_tensorrt_engine_by_suffix_only(tmp_path: Path, suffix: str) -> None:
    assert formats.detect(_file(tmp_path, "m" + suffix, b"\x01\x02\x03\x04" * 8)) == formats.TENSORRT_ENGINE


def test_tflite_with_the_edgetpu_op_past_the_header(tmp_path: Path) -> None:
    data = b"\x1c\x00\x00\x00TFL3" + b"\x00" * 5000 + b"edgetpu-custom-op" + b"\x00" * 4
    assert formats.detect(_file(tmp_path, "m", data)) == formats.EDGETPU_TFLITE
    assert formats.detect(_file(tmp_path, "n", data.replace(b"edgetpu-custom-op", b"edgetpu-custom-oq"))) == "tflite"


def test_xml_that_is_not_an_openvino_net_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="no known format") as err:
        formats.detect(_file(tmp_path, "m.xml", b'<?xml version="1.0"?>\n<graph></graph>\n'))
    assert "export the model to one of these formats" in str(err.value.fix)
    late = b'<?xml version="1.0"?>' + b" " * 4200 + b"<net>"  # <net> beyond the first 4 KiB
    with pytest.raises(ModelFormatError):
        formats.detect(_file(tmp_path, "late.xml", late))


def test_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "saved_model.pbtxt").write_text("x")
    assert formats.detect(tmp_path / "a") == formats.SAVEDMODEL
    (tmp_path / "b").mkdir()
    with pytest.raises(ModelFormatError, match="holds no saved_model.pb"):
        formats.detect(tmp_path / "b")
    with pytest.raises(ModelFormatError, match="not found") as err:
        formats.detect(tmp_path / "missing.onnx")
    assert "relative paths" in str(err.value.fix)


@pytest.mark.parametrize("n", [0, 7])
def test_short_files_refused(tmp_path: Path, n: int) -> None:
    with pytest.raises(ModelFormatError, match=rf"empty or truncated \({n} bytes\)") as err:
        formats.detect(_file(tmp_path, "m.tflite", b"\x01" * n))
    assert "re-export" in str(err.value.fix)


def _zip(path: Path, names: list) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, "x")
    return path


@pytest.mark.parametrize(
    "names,fmt",
    [
        (["config.json", "model.weights.h5", "metadata.json"], formats.KERAS),
        (["config.json", "sub/x.weights.h5"], formats.KERAS),
        (["m/constants.pkl", "m/data.pkl"], formats.TORCHSCRIPT),
        (["m/code/__torch__/m.py", "m/data.pkl"], formats.TORCHSCRIPT),
        (["data.pkl"], formats.TORCH_STATE_DICT),
        (["w/data.pkl", "w/byteorder"], formats.TORCH_STATE_DICT),
        (["model.xml", "model.bin", "edgebench.json"], formats.OPENVINO_IR),
        (["model.ncnn.param", "model.ncnn.bin"], formats.NCNN),
    ],
)
def test_zip_members_decide_the_format(tmp_path: Path, names: list, fmt: str) -> None:
    assert formats.detect(_zip(tmp_path / "m.zip", names)) == fmt


@pytest.mark.parametrize("names", [["config.json"], ["model.weights.h5"], ["x/data.pklx"], ["readme.txt"]])
def test_zip_of_no_model(tmp_path: Path, names: list) -> None:
    with pytest.raises(ModelFormatError, match="zip archive of no known model format"):
        formats.detect(_zip(tmp_path / "m.zip", names))


def test_native_runtime_of_each_format() -> None:
    from bench import runtimes

    assert runtimes.for_format(formats.EDGETPU_TFLITE) == "coral"
    assert runtimes.for_format(formats.TORCH_STATE_DICT) == "pytorch"
    assert runtimes.for_format(formats.SAVEDMODEL) is None and runtimes.for_format(formats.KERAS) is None
    assert len(set(formats.ALL)) == len(formats.ALL) == 11


# ---------- bundles ----------


@pytest.mark.parametrize(
    "fmt,first,second", [("openvino-ir", "model.xml", "model.bin"), ("ncnn", "model.ncnn.param", "model.ncnn.bin")]
)
def test_bundle_round_trip(tmp_path: Path, fmt: str, first: str, second: str) -> None:
    graph = _file(tmp_path, "g", b"<net>graph</net>" if fmt == "openvino-ir" else b"7767517\n1 1\n")
    weights = _file(tmp_path, "w", bytes(range(256)) * 4)
    dest = bundle.write(tmp_path / "b.zip", fmt, graph, weights, {"input_shape": [1, 3, 8, 8], "where": tmp_path})
    assert dest == tmp_path / "b.zip"
    with zipfile.ZipFile(dest) as z:
        assert sorted(z.namelist()) == sorted([first, second, "edgebench.json"])
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        meta_text = z.read("edgebench.json").decode()
    assert json.loads(meta_text) == {"format": fmt, "input_shape": [1, 3, 8, 8], "where": str(tmp_path)}
    assert meta_text.index('"format"') < meta_text.index('"input_shape"') and '\n  "format": ' in meta_text
    assert '\n   "' not in meta_text  # two spaces of indent
    g, w, meta = bundle.read(dest, fmt)
    assert (g, w) == (graph.read_bytes(), weights.read_bytes()) and meta["input_shape"] == [1, 3, 8, 8]
    assert formats.detect(dest) == fmt
    out = bundle.extract(dest, fmt, tmp_path / "x" / "y")
    assert out == tmp_path / "x" / "y" / first
    assert (
        out.read_bytes() == graph.read_bytes() and (tmp_path / "x" / "y" / second).read_bytes() == weights.read_bytes()
    )


def test_bundle_without_meta_and_incomplete_bundles(tmp_path: Path) -> None:
    z = tmp_path / "nometa.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("model.xml", "<net/>")
        f.writestr("model.bin", "w")
    assert bundle.read(z, "openvino-ir") == (b"<net/>", b"w", {})
    half = _zip(tmp_path / "half.zip", ["model.xml"])
    with pytest.raises(
        ModelFormatError, match=r"half\.zip is not a complete openvino-ir bundle \(model\.xml, model\.bin\)"
    ) as err:
        bundle.read(half, "openvino-ir")
    assert err.value.fix == "convert the model again"
    bad = tmp_path / "badmeta.zip"
    with zipfile.ZipFile(bad, "w") as f:
        f.writestr("model.ncnn.param", "p")
        f.writestr("model.ncnn.bin", "b")
        f.writestr("edgebench.json", "{not json")
    with pytest.raises(ModelFormatError, match="not a complete ncnn bundle"):
        bundle.read(bad, "ncnn")


def test_vendor_files_side_by_side(tmp_path: Path) -> None:
    xml = _file(tmp_path, "net.xml", b"<net/>")
    with pytest.raises(
        ModelFormatError, match="openvino-ir model .*net.xml has no weights file net.bin beside it"
    ) as err:
        bundle.read(xml, "openvino-ir")
    assert "put net.bin next to net.xml" in str(err.value.fix)
    _file(tmp_path, "net.bin", b"\x00\x01")
    assert bundle.read(xml, "openvino-ir") == (b"<net/>", b"\x00\x01", {})
    out = bundle.extract(xml, "openvino-ir", tmp_path / "o")
    assert out.name == "model.xml" and (tmp_path / "o" / "model.bin").read_bytes() == b"\x00\x01"


def test_zip_with_a_broken_central_directory(tmp_path: Path) -> None:
    good = _zip(tmp_path / "good.zip", ["data.pkl"])
    raw = bytearray(good.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd : cd + 4] = b"PK\x01\x03"  # the central directory's signature broken; the end record intact
    bad = _file(tmp_path, "bad.pt", bytes(raw))
    assert zipfile.is_zipfile(bad)
    with pytest.raises(ModelFormatError) as err:
        formats.detect(bad)
    assert err.value.problem.startswith(f"model {bad} is a corrupt zip archive: ")
    assert err.value.fix == "re-export the model"


def test_unknown_zip_fix_text(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError) as err:
        formats.detect(_zip(tmp_path / "m.zip", ["readme.txt"]))
    assert err.value.problem == f"model {tmp_path / 'm.zip'} is a zip archive of no known model format"
    assert err.value.fix == "give a TorchScript, PyTorch or Keras file"


def test_onnx_varint_ending_at_the_last_header_byte(tmp_path: Path) -> None:
    head = b"\x08\x83" + b"\x80" * 61 + b"\x00"  # ir_version 3 in a 63-byte varint: nothing follows in the header
    assert len(head) == 64
    with pytest.raises(ModelFormatError, match="no known format"):
        formats.detect(_file(tmp_path, "m.onnx", head))


def test_bundle_meta_keys_sorted_and_extract_twice(tmp_path: Path) -> None:
    graph, weights = _file(tmp_path, "g", b"7767517\n"), _file(tmp_path, "w", b"\x01")
    dest = bundle.write(tmp_path / "b.zip", "ncnn", graph, weights, {"a_first": 1, "z_last": 2})
    with zipfile.ZipFile(dest) as z:
        text = z.read("edgebench.json").decode()
    assert text.index('"a_first"') < text.index('"format"') < text.index('"z_last"')
    folder = tmp_path / "out"
    bundle.extract(dest, "ncnn", folder)
    assert bundle.extract(dest, "ncnn", folder) == folder / "model.ncnn.param"  # into an existing folder again


def test_the_header_window_is_64_bytes(tmp_path: Path) -> None:
    # ir_version 3 in a varint that fills the 64-byte header; byte 64 would be a valid next field: not looked at
    data = b"\x08\x83" + b"\x80" * 61 + b"\x00" + b"\x12" + b"\x00" * 15
    with pytest.raises(ModelFormatError, match="no known format"):
        formats.detect(_file(tmp_path, "m.onnx", data))


@pytest.mark.parametrize("head", [b"ABCDEF12" + b"\x00" * 8, b"\x1c\x00\x00\x00ETX1" + b"\x00" * 8])
def test_executorch_needs_et_and_two_digits(tmp_path: Path, head: bytes) -> None:
    with pytest.raises(ModelFormatError, match="no known format"):
        formats.detect(_file(tmp_path, "m.bin", head))


def test_openvino_net_tag_must_start_in_the_first_4096_bytes(tmp_path: Path) -> None:
    prefix = b'<?xml version="1.0"?>'
    inside = prefix + b" " * (4092 - len(prefix)) + b"<net>"  # "<net" at bytes 4092..4095
    assert formats.detect(_file(tmp_path, "a.xml", inside)) == formats.OPENVINO_IR
    across = prefix + b" " * (4093 - len(prefix)) + b"<net>"  # "<net" at 4093..4096: cut at 4096
    with pytest.raises(ModelFormatError, match="no known format"):
        formats.detect(_file(tmp_path, "b.xml", across))


def test_every_refusal_word_for_word(tmp_path: Path) -> None:
    cases = [
        (tmp_path / "missing.onnx", f"model {tmp_path / 'missing.onnx'} not found",
         "check the path (relative paths are from the current folder)"),
        (tmp_path, f"model folder {tmp_path} holds no saved_model.pb",
         "give a TensorFlow SavedModel folder or a model file"),
        (_file(tmp_path, "t.onnx", b"\x08\x07"), f"model {tmp_path / 't.onnx'} is empty or truncated (2 bytes)",
         "re-export the model"),
        (_file(tmp_path, "u.onnx", b"plain text, no model"),
         f"model {tmp_path / 'u.onnx'} is of no known format (ONNX, TFLite, SavedModel, Keras, TorchScript, "
         "PyTorch state_dict, TensorRT engine, ExecuTorch .pte, OpenVINO IR, ncnn)",
         "export the model to one of these formats"),
    ]  # fmt: skip
    for path, problem, fix in cases:
        with pytest.raises(ModelFormatError) as err:
            formats.detect(path)
        assert (err.value.problem, err.value.fix) == (problem, fix)
