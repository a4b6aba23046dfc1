"""bench/runtimes/trt_cache.py by hand: the engine cache's folder and file names, the libnvinfer version read from a
/proc/self/maps fixture (a symlinked library as JetPack 4.6 installs it: libnvinfer.so.8 -> libnvinfer.so.8.2.1), the
GPU's compute capability and the deserialize check through stand-ins of pycuda's ``Device(0).compute_capability()``
(inducer/pycuda v2022.1 src/wrapper/wrap_cudadrv.cpp) and TensorRT's ``Runtime(logger).deserialize_cuda_engine``
(NVIDIA/TensorRT 8.2.1 python/src/infer/pyCore.cpp): contract tests, no GPU here."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.runtimes import trt_cache


def test_the_cache_folder_is_the_named_volume_else_under_the_cache_root(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGEBENCH_ENGINE_CACHE", str(tmp_path / "engines"))
    assert trt_cache.engine_cache_dir() == tmp_path / "engines"
    monkeypatch.delenv("EDGEBENCH_ENGINE_CACHE")
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    assert trt_cache.engine_cache_dir() == tmp_path / "cache" / "tensorrt"


@pytest.mark.parametrize(
    "gpu,slug",
    [
        ("sm87", "sm87"),
        ("NVIDIA Tegra X1", "NVIDIA_Tegra_X1"),
        ("Xavier NX", "Xavier_NX"),  # its leading X is kept
        (" /Orin (nvgpu)/ ", "Orin_nvgpu"),
        ("", "gpu"),
        ("//", "gpu"),
    ],
)
def test_an_engine_file_name_holds_model_precision_library_and_gpu(gpu: str, slug: str) -> None:
    key = trt_cache.engine_cache_key("0123456789abcdef" + "f" * 48, "fp16", "8.2.1", gpu)
    assert key == f"0123456789abcdef-fp16-trt8.2.1-{slug}.engine"


def _maps(tmp_path: Path, *paths: str) -> Path:
    lines = ["7f0000000000-7f0000001000 r--p 00000000 00:00 0 "]  # an anonymous mapping: no path
    lines += [f"7f0000001000-7f0000002000 r-xp 00000000 b3:02 12 {p}" for p in paths]
    maps = tmp_path / "maps"
    maps.write_text("\n".join(lines) + "\n\n")
    return maps


def test_the_mapped_libnvinfer_is_read_through_its_symlink(tmp_path: Path) -> None:
    real = tmp_path / "libnvinfer.so.8.2.1"
    real.write_bytes(b"")
    link = tmp_path / "libnvinfer.so.8"
    os.symlink(real.name, link)
    assert trt_cache.loaded_libnvinfer(_maps(tmp_path, "/usr/lib/libc.so.6", str(link))) == "8.2.1"


def test_a_path_that_is_not_utf8_does_not_hide_the_library(tmp_path: Path) -> None:
    real = tmp_path / "libnvinfer.so.10.3.0"
    real.write_bytes(b"")
    maps = tmp_path / "maps"
    maps.write_bytes(b"7f00-7f01 r-xp 0 0:0 1 /opt/caf\xe9/libx.so\n7f01-7f02 r-xp 0 0:0 2 " + bytes(real) + b"\n")
    assert trt_cache.loaded_libnvinfer(maps) == "10.3.0"


def test_no_libnvinfer_mapped_or_no_maps_file(tmp_path: Path) -> None:
    assert trt_cache.loaded_libnvinfer(_maps(tmp_path, "/usr/lib/libc.so.6", "/usr/lib/libnvinfer_plugin.so")) is None
    assert trt_cache.loaded_libnvinfer(_maps(tmp_path, "/nowhere/libnvinfer.so")) is None  # no version in its name
    assert trt_cache.loaded_libnvinfer(tmp_path / "absent") is None


class _Cuda:
    def __init__(self, cc: object) -> None:
        self.cc, self.asked = cc, []

    def Device(self, n: int) -> SimpleNamespace:  # noqa: N802 (pycuda's name)
        self.asked.append(n)
        if isinstance(self.cc, Exception):
            raise self.cc
        return SimpleNamespace(compute_capability=lambda: self.cc)


def test_compute_capability_of_the_first_gpu() -> None:
    nano = _Cuda((5, 3))
    assert trt_cache.compute_capability(nano) == "sm53" and nano.asked == [0]
    assert trt_cache.compute_capability(_Cuda(("8", "7"))) == "sm87"
    assert trt_cache.compute_capability(_Cuda(RuntimeError("cuInit failed: no CUDA-capable device"))) is None


def test_publish_writes_the_whole_engine_in_one_rename(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "m.engine"
    trt_cache.publish(target, b"engine one")
    trt_cache.publish(target, b"engine two")
    assert target.read_bytes() == b"engine two" and os.listdir(target.parent) == ["m.engine"]


class _Trt:
    def __init__(self, result: object) -> None:
        self.result, self.loggers, self.blobs = result, [], []

    def Runtime(self, logger: object) -> SimpleNamespace:  # noqa: N802 (TensorRT's name)
        self.loggers.append(logger)

        def deserialize_cuda_engine(blob: bytes) -> object:
            self.blobs.append(blob)
            if isinstance(self.result, Exception):
                raise self.result
            return self.result

        return SimpleNamespace(deserialize_cuda_engine=deserialize_cuda_engine)


def test_an_engine_deserializes_or_not() -> None:
    logger = object()
    good = _Trt(object())
    assert trt_cache.deserializes(good, b"blob", logger) is True
    assert good.loggers == [logger] and good.blobs == [b"blob"]
    assert trt_cache.deserializes(_Trt(None), b"blob", logger) is False
    assert trt_cache.deserializes(_Trt(RuntimeError("truncated")), b"bl", logger) is False
