"""Reading sysfs files and the selfcheck probes (mutation runs of bench/sysfs.py and bench/runtimes/probes.py), on
files written here the way the kernel and the device tree write them."""

from __future__ import annotations

import ctypes.util
import json
from pathlib import Path

import pytest

from bench import sysfs
from bench.runtimes import probes


def test_read_strips_whitespace_and_the_device_tree_nul(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")  # /proc/device-tree/model ends in a NUL
    assert sysfs.read(model) == "Raspberry Pi 5 Model B Rev 1.0"
    xavier = tmp_path / "xavier"
    xavier.write_bytes(b"NVIDIA Jetson Xavier NX\x00")  # a model string ending in X keeps it
    assert sysfs.read(xavier) == "NVIDIA Jetson Xavier NX"
    temp = tmp_path / "temp"
    temp.write_bytes(b"  48312\n")
    assert sysfs.read(temp) == "48312"
    bad = tmp_path / "bad"
    bad.write_bytes(b"a\xffb\n")
    assert sysfs.read(bad) == "a\ufffdb"
    assert sysfs.read(tmp_path / "missing") is None
    assert sysfs.read(tmp_path) is None  # a folder: IsADirectoryError is an OSError


def test_to_int() -> None:
    assert sysfs.to_int("48312") == 48312
    assert sysfs.to_int("0x50005", 16) == 0x50005
    assert sysfs.to_int("50005", 16) == 327685
    assert sysfs.to_int("0") == 0
    assert sysfs.to_int("") is None and sysfs.to_int(None) is None and sysfs.to_int("N/A") is None


def test_import_version_probe() -> None:
    assert probes.import_version("json")() == {"json": json.__version__}
    assert probes.import_version("json", "python-json")() == {"python-json": json.__version__}
    assert probes.import_version("bench.sysfs")() == {"bench.sysfs": "present"}
    with pytest.raises(ImportError):
        probes.import_version("no_such_module_here")()


def test_import_version_falls_back_to_VERSION(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    mod = types.ModuleType("fake_versioned")
    mod.VERSION = (1, 2)  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "fake_versioned", mod)
    assert probes.import_version("fake_versioned")() == {"fake_versioned": "(1, 2)"}


def test_library_probe_from_the_environment_then_the_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "libarmnnDelegate.so.29"
    lib.write_bytes(b"\x7fELF")
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", str(lib))
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(probes, "_LIB_DIRS", ())
    assert probes.library("armnn", "armnnDelegate", "EDGEBENCH_ARMNN_DELEGATE")() == {"armnn": str(lib)}
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", str(tmp_path / "absent.so"))
    with pytest.raises(FileNotFoundError, match=r"^libarmnnDelegate\.so not found$"):
        probes.library("armnn", "armnnDelegate", "EDGEBENCH_ARMNN_DELEGATE")()
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libedgetpu.so.1" if name == "edgetpu" else None)
    assert probes.library("edgetpu", "edgetpu")() == {"edgetpu": "libedgetpu.so.1"}
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", "")
    with pytest.raises(FileNotFoundError):
        probes.library("armnn", "armnnDelegate", "EDGEBENCH_ARMNN_DELEGATE")()


def test_library_probe_searches_the_library_folders_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    second.mkdir()
    for name in ("libedgetpu.so.1.0", "libedgetpu.so.1"):
        (second / name).write_bytes(b"")
    third = tmp_path / "c"
    third.mkdir()
    (third / "libedgetpu.so").write_bytes(b"")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(probes, "_LIB_DIRS", (str(first), str(second), str(third)))
    assert probes.library("edgetpu", "edgetpu")() == {"edgetpu": str(second / "libedgetpu.so.1")}
    monkeypatch.setattr(probes, "_LIB_DIRS", (str(first), str(third)))
    assert probes.library("edgetpu", "edgetpu")() == {"edgetpu": str(third / "libedgetpu.so")}
