"""Detect a model's format from its content, not only its name. Standard library only."""

from __future__ import annotations

import zipfile
from pathlib import Path

from bench.errors import ModelFormatError

ONNX = "onnx"
TFLITE = "tflite"
EDGETPU_TFLITE = "edgetpu-tflite"
SAVEDMODEL = "savedmodel"
KERAS = "keras"
TORCHSCRIPT = "torchscript"
TORCH_STATE_DICT = "pytorch-state-dict"
TENSORRT_ENGINE = "tensorrt-engine"
EXECUTORCH_PTE = "executorch-pte"
#: two-file formats (bench.bundle): a stored zip of the vendor's files, or the vendor's first file with its .bin beside it
OPENVINO_IR = "openvino-ir"
NCNN = "ncnn"

ALL = (
    ONNX,
    TFLITE,
    EDGETPU_TFLITE,
    SAVEDMODEL,
    KERAS,
    TORCHSCRIPT,
    TORCH_STATE_DICT,
    TENSORRT_ENGINE,
    EXECUTORCH_PTE,
    OPENVINO_IR,
    NCNN,
)

#: two-file formats carried as one stored zip (bench.bundle): format -> (graph file, weights file) inside it
BUNDLE_MEMBERS = {
    OPENVINO_IR: ("model.xml", "model.bin"),
    NCNN: ("model.ncnn.param", "model.ncnn.bin"),
}

#: the first line of every ncnn .param file (ncnn src/net.cpp: load_param checks it)
NCNN_MAGIC = b"7767517"

EDGETPU_OP = b"edgetpu-custom-op"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def detect(path: Path) -> str:
    """The format name of the model at ``path``; raises ModelFormatError with a fix when unknown."""
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"model {path} not found", "check the path (relative paths are from the current folder)")
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return SAVEDMODEL
        raise ModelFormatError(
            f"model folder {path} holds no saved_model.pb", "give a TensorFlow SavedModel folder or a model file"
        )
    with open(path, "rb") as f:
        head = f.read(64)
    if len(head) < 8:
        raise ModelFormatError(f"model {path} is empty or truncated ({len(head)} bytes)", "re-export the model")
    if head[4:8] == b"TFL3":
        data = path.read_bytes()
        return EDGETPU_TFLITE if EDGETPU_OP in data else TFLITE
    if head[4:6] == b"ET" and head[6:8].isdigit():  # ExecuTorch program flatbuffer, file identifier "ET12"
        return EXECUTORCH_PTE
    if head.startswith(_HDF5_MAGIC):
        return KERAS
    if zipfile.is_zipfile(path):
        return _detect_zip(path)
    if head[:2] in _PICKLE_PROTOCOLS:
        return TORCH_STATE_DICT  # legacy (non-zip) torch.save
    if _looks_like_onnx(head):
        return ONNX
    if head.startswith(NCNN_MAGIC):
        return NCNN
    if head.lstrip().startswith((b"<?xml", b"<net")) and b"<net" in path.read_bytes()[:4096]:
        return OPENVINO_IR
    if path.suffix.lower() in (".engine", ".plan", ".trt"):
        return TENSORRT_ENGINE  # serialized TensorRT engines have no stable public magic number
    raise ModelFormatError(
        f"model {path} is of no known format (ONNX, TFLite, SavedModel, Keras, TorchScript, PyTorch state_dict, "
        "TensorRT engine, ExecuTorch .pte, OpenVINO IR, ncnn)",
        "export the model to one of these formats",
    )


def _detect_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except zipfile.BadZipFile as exc:
        raise ModelFormatError(f"model {path} is a corrupt zip archive: {exc}", "re-export the model") from exc
    if "config.json" in names and any(n.endswith(".weights.h5") or n == "model.weights.h5" for n in names):
        return KERAS
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
        return TORCHSCRIPT
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        return TORCH_STATE_DICT
    for fmt, (first, _) in BUNDLE_MEMBERS.items():
        if first in names:
            return fmt
    raise ModelFormatError(
        f"model {path} is a zip archive of no known model format", "give a TorchScript, PyTorch or Keras file"
    )


def _read_varint(buf: bytes, pos: int) -> tuple:
    value = shift = 0
    while pos < len(buf):
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    return None, pos


def _looks_like_onnx(head: bytes) -> bool:
    """An ONNX ModelProto serialized by onnx starts with field 1 (ir_version, varint) = 3..20."""
    if head[0] != 0x08:
        return False
    ir_version, pos = _read_varint(head, 1)
    if ir_version is None or not 3 <= ir_version <= 20:
        return False
    # next field must be a length-delimited or varint field of ModelProto (opset_import=8, producer=2, ...)
    return pos < len(head) and (head[pos] & 0x07) in (0, 2)
