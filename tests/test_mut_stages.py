"""The run stages' small pieces (mutation run of bench/stages.py): cache keys, when a model is converted, the model
and data facts of a record (sizes and hashes from the file system and hashlib), the run's warnings and the runtime
options; the whole stages are run by tests/test_mut_cli.py."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

from bench import stages
from bench.config import RunConfig
from bench.convert.options import ConvertOptions
from bench.data import load_npz
from bench.records import ModelInfo, RunRecord


def test_counts_key() -> None:
    assert stages.counts_key("abc", "onnx", (1, 3, 8)) == "abc:onnx:[1, 3, 8]"
    assert stages.counts_key(None, "onnx", (1,)) is None and stages.counts_key("", "onnx", (1,)) is None


def _config(framework: str, precision: str = "fp32", **kw: Any) -> RunConfig:
    convert = ConvertOptions(precision=precision) if precision != "fp32" else None
    return RunConfig(model=Path("m"), data=Path("d"), framework=framework, convert=convert, **kw)


@pytest.mark.parametrize(
    "fmt, framework, precision, expected",
    [
        ("onnx", "onnx", "fp32", False),
        ("onnx", "tflite", "fp32", True),
        ("tflite", "tflite", "fp32", False),
        ("tflite", "tflite", "int8", True),  # a precision asked for is a conversion, even of a native format
        ("edgetpu-tflite", "coral", "int8", False),  # a compiled Edge TPU model is int8 already
        ("pytorch-state-dict", "pytorch", "fp32", False),
        ("torchscript", "pytorch", "fp32", False),
        ("onnx", "tensorrt", "fp16", True),
    ],
)
def test_needs_conversion(fmt: str, framework: str, precision: str, expected: bool) -> None:
    assert stages._needs_conversion(fmt, framework, _config(framework, precision)) is expected


def test_only_tensorrt_builds_on_the_device() -> None:
    assert stages._builds_on_device(_config("tensorrt")) is True
    assert stages._builds_on_device(_config("onnx")) is False


def test_model_info_of_a_file_and_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "m.onnx"
    f.write_bytes(b"x" * 1500)
    info = stages._model_info(f, "onnx")
    assert (info.path, info.format, info.size_mb) == (str(f), "onnx", 0.0015)
    assert info.sha256 == hashlib.sha256(b"x" * 1500).hexdigest()
    assert stages._model_info(f, "onnx", "given").sha256 == "given"
    d = tmp_path / "saved"
    (d / "variables").mkdir(parents=True)
    (d / "saved_model.pb").write_bytes(b"a" * 2_000_000)
    (d / "variables" / "v.data").write_bytes(b"b" * 500_000)
    assert stages._model_info(d, "savedmodel", "s").size_mb == 2.5


class _Tensor:
    def __init__(self, shape: list) -> None:
        self.shape = shape

    def to_dict(self) -> Dict[str, Any]:
        return {"name": "t", "shape": list(self.shape)}


class _Loaded:
    """Stands for a loaded runtime's tensor descriptions (bench.runtimes.base.TensorSpec.to_dict)."""

    def __init__(self, inp: list, out: list) -> None:
        self.input, self.output = _Tensor(inp), _Tensor(out)


def test_add_tensors_fills_an_undeclared_output_shape() -> None:
    info = ModelInfo(path="p", sha256="s", size_mb=1.0, format="onnx")
    stages._add_tensors(info, _Loaded([1, 1, 8, 8], [1, 10]), [99])
    assert info.inputs == [{"name": "t", "shape": [1, 1, 8, 8]}]
    assert info.outputs == [{"name": "t", "shape": [1, 10]}]
    stages._add_tensors(info, _Loaded([1, 4], []), [10])  # PyTorch declares no output shape
    assert info.outputs == [{"name": "t", "shape": [1, 10]}]


def test_data_info(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, x_data=np.zeros((7, 2, 3), np.float32), y_data=np.arange(7))
    info = stages._data_info(load_npz(p))
    assert (info.path, info.samples, info.x_shape, info.x_dtype, info.y_shape) == (str(p), 7, [7, 2, 3], "float32", [7])
    assert info.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    assert sorted(info.keys) == ["x_data", "y_data"]


def _record(throttled: bool = False, profiled: bool = False) -> RunRecord:
    state = {"throttled": throttled, "throttle_reasons": ["under-voltage now", "arm frequency capped"]}
    return RunRecord(
        created_utc="t",
        tool={},
        framework="onnx",
        runtime={},
        options={},
        machine={"state": state},
        profile={"profiled": True} if profiled else {},
    )


QUIET = {"p50_ms": 10.0, "median_ci_low_ms": 9.99, "median_ci_high_ms": 10.01, "outlier_share": 0.0}
NOISY = {"p50_ms": 10.0, "median_ci_low_ms": 5.0, "median_ci_high_ms": 15.0, "outlier_share": 0.0}


def test_warnings_of_a_run(caplog: pytest.LogCaptureFixture) -> None:
    r = _record()
    assert stages._warn_about(r, QUIET) is False and r.warnings == []
    r = _record(throttled=True)
    with caplog.at_level(logging.WARNING, logger="bench.stages"):
        assert stages._warn_about(r, QUIET) is False
    assert r.warnings == ["the board throttled during the run: under-voltage now; arm frequency capped"]
    assert [rec.getMessage() for rec in caplog.records] == r.warnings
    r = _record(profiled=True)
    assert stages._warn_about(r, NOISY) is True
    assert len(r.warnings) == 2 and r.warnings[1].startswith("latency is noisy: the median's 95% interval spans 100.0%")
    assert "profil" in r.warnings[0]


def test_runtime_options_of_a_run(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, x_data=np.zeros((4, 3, 5), np.float32), y_data=np.arange(4))
    ds = load_npz(p)
    cfg = _config("onnx", threads=2, delegate="none", model_class_name="Net")
    o = stages._runtime_options(cfg, ds)
    assert (o.threads, o.delegate, o.model_class_name, o.input_shape) == (2, "none", "Net", (1, 3, 5))
    assert o.extra == {"input_dtype": "float32"}
    np.savez(p, x_data=np.zeros((4, 6), np.int32), y_data=np.arange(4))
    cfg = _config("tensorrt", "fp16", delegate_path=Path("/l.so"), edgetpu_device="usb:1", profile=True)
    o = stages._runtime_options(cfg, load_npz(p))
    assert o.input_shape == (1, 6)
    assert o.extra == {
        "input_dtype": "int64",
        "delegate_path": "/l.so",
        "edgetpu_device": "usb:1",
        "profile": True,
        "precision": "fp16",
    }
    assert "precision" not in stages._runtime_options(_config("onnx", "fp16"), load_npz(p)).extra
    assert "precision" not in stages._runtime_options(_config("tensorrt"), load_npz(p)).extra
