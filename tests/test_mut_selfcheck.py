"""`bench selfcheck` (bench/selfcheck.py) by behaviour, fast: main's verdict, output lines and exit codes with the
probe table replaced by known probes (ok, missing, each error kind), the library probe on a file named by its
environment variable and on a library that is not installed here, and the one real run of the shipped digits ONNX
model through ONNX Runtime (its input is [1, 1, 28, 28] float32: the model's own graph, read with onnx here)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import onnx
import pytest

from bench import __version__, selfcheck
from bench.errors import ConversionError, FrameworkUnavailable
from bench.runtimes import probes as runtime_probes

ASSETS = Path(selfcheck.__file__).parent / "models" / "assets"


def _ok() -> dict:
    return {"lib": "1.2.3"}


def _raise(exc: BaseException):
    def probe() -> dict:
        raise exc

    return probe


@pytest.fixture()
def probes(monkeypatch: pytest.MonkeyPatch) -> dict:
    table = {
        "good": _ok,
        "gone": _raise(ImportError("No module named 'gone'\nsecond line")),
        "oserr": _raise(OSError("libx.so: cannot open")),
        "attr": _raise(AttributeError()),
        "rt": _raise(RuntimeError("driver too old")),
        "bench": _raise(ConversionError("the runtime failed", "fix it")),
    }
    monkeypatch.setattr(selfcheck, "checks", lambda: table)
    return table


def test_check_all_marks_each_failure_with_its_first_line_or_type(probes: dict) -> None:
    res = selfcheck.check_all()
    assert res["good"] == {"ok": "yes", "lib": "1.2.3"}
    assert res["gone"] == {"ok": "no", "why": "No module named 'gone'"}
    assert res["oserr"] == {"ok": "no", "why": "libx.so: cannot open"}
    assert res["attr"] == {"ok": "no", "why": "AttributeError"}
    assert res["rt"] == {"ok": "no", "why": "driver too old"}
    assert res["bench"]["ok"] == "no" and res["bench"]["why"].startswith("the runtime failed")


def test_other_exceptions_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selfcheck, "checks", lambda: {"bad": _raise(ValueError("a bug"))})
    with pytest.raises(ValueError, match="a bug"):
        selfcheck.check_all()


def test_main_prints_every_check_and_marks_the_required(probes: dict, capsys: pytest.CaptureFixture) -> None:
    assert selfcheck.main(["good"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"edgebench {__version__} on {platform.machine()} Python {platform.python_version()}"
    assert lines[1] == "  ok good        lib 1.2.3   (REQUIRED)"
    assert lines[2] == "  -- gone        why No module named 'gone'"
    assert len(lines) == 1 + len(probes) and err == ""


def test_main_fails_when_a_required_check_fails(probes: dict, capsys: pytest.CaptureFixture) -> None:
    assert selfcheck.main(["good", "gone", "rt"]) == FrameworkUnavailable.exit_code == 3
    out, err = capsys.readouterr()
    assert err.strip() == "edgebench: error: required runtimes missing: gone, rt. Fix: install them in this image"
    assert "  -- rt          why driver too old   (REQUIRED)" in out.splitlines()


def test_main_refuses_unknown_names_before_probing(probes: dict, capsys: pytest.CaptureFixture) -> None:
    assert selfcheck.main(["good", "madeup", "other"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        "edgebench: error: unknown selfcheck names ['madeup', 'other']. "
        "Fix: use names from ['attr', 'bench', 'gone', 'good', 'oserr', 'rt']"
    )


def test_nothing_required_passes_even_with_failures(probes: dict) -> None:
    assert selfcheck.main([]) == 0


def test_library_probe_takes_the_file_its_variable_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "libarmnnDelegate.so"
    lib.write_bytes(b"\x7fELF")
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", str(lib))
    assert selfcheck.CHECKS["armnn"]() == {"armnn-delegate": str(lib)}
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", str(tmp_path / "missing.so"))
    with pytest.raises(FileNotFoundError, match=r"^libarmnnDelegate\.so not found$"):
        selfcheck.CHECKS["armnn"]()  # no such library on this x86 machine either


def test_library_probe_finds_an_installed_library_and_misses_an_absent_one() -> None:
    import ctypes.util

    probe = runtime_probes.library("c-library", "c")
    assert probe() == {"c-library": ctypes.util.find_library("c")}
    with pytest.raises(FileNotFoundError, match="libedgetpu.so not found"):
        selfcheck.CHECKS["edgetpu"]()  # no Edge TPU runtime on this machine


def test_library_probe_looks_in_the_library_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    found = sorted(Path("/usr/lib/x86_64-linux-gnu").glob("libz.so*"))
    assert found, "zlib is installed on this machine"
    assert runtime_probes.library("zlib", "z")() == {"zlib": str(found[0])}


def test_import_version_probe() -> None:
    import numpy

    assert runtime_probes.import_version("numpy")() == {"numpy": numpy.__version__}
    assert runtime_probes.import_version("numpy", "numpy-dist")() == {"numpy-dist": numpy.__version__}
    assert runtime_probes.import_version("ctypes.util")() == {"ctypes.util": "present"}
    with pytest.raises(ImportError):
        runtime_probes.import_version("no_such_module_here")()
    with pytest.raises(ImportError):
        selfcheck.CHECKS["pycuda"]()


def test_onnx_runtime_probe_and_a_model_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import onnxruntime

    onnx_probe = selfcheck.CHECKS["onnx"]
    monkeypatch.setattr(selfcheck, "checks", lambda: {"onnx": onnx_probe})  # not every framework: fast

    assert selfcheck.CHECKS["onnx"]()["onnxruntime"] == onnxruntime.__version__
    model = ASSETS / "digits_cnn.onnx"
    dims = [d.dim_value for d in onnx.load(str(model)).graph.input[0].type.tensor_type.shape.dim]
    assert selfcheck.main(["onnx"], model=model) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"  ran digits_cnn.onnx on onnx: input {dims} float32"


def test_a_model_with_checks_that_are_no_runtime_is_run_on_none(monkeypatch, capsys) -> None:
    monkeypatch.setattr(selfcheck, "checks", lambda: {"edgetpu": _ok, "good": _ok})
    assert selfcheck.main(["edgetpu", "good"], model=ASSETS / "digits_cnn.onnx") == 0
    assert " ran " not in capsys.readouterr().out


def test_library_probe_made_with_a_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes made here run the factory itself (as an image's selfcheck would)."""
    lib = tmp_path / "libmine.so.1"
    lib.write_bytes(b"\x7fELF")
    monkeypatch.setenv("MY_LIB", str(lib))
    assert runtime_probes.library("mine", "nosuchlib", "MY_LIB")() == {"mine": str(lib)}
    monkeypatch.setenv("MY_LIB", str(tmp_path))  # a folder, not a library file: looked up as usual
    with pytest.raises(FileNotFoundError) as err:
        runtime_probes.library("mine", "nosuchlib", "MY_LIB")()
    assert str(err.value) == "libnosuchlib.so not found"
    monkeypatch.delenv("MY_LIB")
    with pytest.raises(FileNotFoundError):
        runtime_probes.library("mine", "nosuchlib", "MY_LIB")()


def test_runtime_probe_made_here_imports_the_runtime_module() -> None:
    import onnxruntime

    from bench import runtimes

    assert runtimes.runtime_class("onnx").probe()["onnxruntime"] == onnxruntime.__version__


def test_import_version_falls_back_to_version_then_present(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    monkeypatch.setitem(sys.modules, "fake_versioned", types.SimpleNamespace(VERSION=(1, 2)))
    assert runtime_probes.import_version("fake_versioned")() == {"fake_versioned": "(1, 2)"}


def test_xnnpack_check_names_the_interpreter_it_is_built_into() -> None:
    from bench.runtimes.tflite import interpreter_module

    backend, _, version = interpreter_module()
    assert selfcheck.CHECKS["xnnpack"]() == {"xnnpack": f"built into {backend} {version}"}


def test_every_fact_of_a_check_is_listed_and_a_delegate_before_a_runtime_is_passed_over(monkeypatch, capsys) -> None:
    """A delegate's check (xnnpack) has no runtime to run the model on; the runtime required after it still runs it."""
    monkeypatch.setattr(selfcheck, "checks", lambda: {"xnnpack": lambda: {"lib": "1", "in": "litert"}, "onnx": _ok})
    assert selfcheck.main(["xnnpack", "onnx"], model=ASSETS / "digits_cnn.onnx") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "  ok xnnpack     lib 1, in litert   (REQUIRED)"
    assert lines[-1].startswith("  ran digits_cnn.onnx on onnx: input [1, 1, 32, 32]")


def test_an_unknown_module_attribute_names_itself() -> None:
    with pytest.raises(AttributeError, match="^module 'bench.selfcheck' has no attribute 'nothing'$"):
        selfcheck.nothing  # noqa: B018
