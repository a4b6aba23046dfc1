"""bench/runtimes/tflite.py's choice of backend, its delegate loading and its error texts, fast: where a backend or
delegate library is not on this machine (tflite-runtime, tensorflow, libarmnnDelegate, libedgetpu) a stand-in module
takes its place, built on the real LiteRT interpreter where one is needed. Expected texts are written out here."""

from __future__ import annotations

import importlib.metadata
import sys
import types
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest
from ai_edge_litert import interpreter as litert

from bench import models
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes import tflite
from bench.runtimes.base import RuntimeOptions

ARMNN_FLAGS = "--armnn-path (evaluate.py) or --delegate-path (edgebench run)"


def _fake_tflite_runtime(monkeypatch: pytest.MonkeyPatch, version: Any = "2.5.0", **attrs: Any) -> types.ModuleType:
    pkg = types.ModuleType("tflite_runtime")
    if version is not None:
        pkg.__version__ = version
    mod = types.ModuleType("tflite_runtime.interpreter")
    for k, v in attrs.items():
        setattr(mod, k, v)
    pkg.interpreter = mod
    monkeypatch.setitem(sys.modules, "tflite_runtime", pkg)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", mod)
    return mod


def _fake_tensorflow(monkeypatch: pytest.MonkeyPatch, resolver: Any) -> types.SimpleNamespace:
    experimental = types.SimpleNamespace(load_delegate=litert.load_delegate)
    if resolver is not None:
        experimental.OpResolverType = resolver
    tf = types.SimpleNamespace(__version__="2.99.1", lite=types.SimpleNamespace(Interpreter=litert.Interpreter,
                                                                                  experimental=experimental))  # fmt: skip
    monkeypatch.setitem(sys.modules, "tensorflow", tf)
    return tf


def test_litert_first_then_tflite_runtime_then_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tflite.interpreter_module()[:2] == ("ai-edge-litert", litert)
    fake = _fake_tflite_runtime(monkeypatch)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    assert tflite.interpreter_module() == ("tflite-runtime", fake, "2.5.0")
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    tf = _fake_tensorflow(monkeypatch, litert.OpResolverType)
    backend, shim, version = tflite.interpreter_module()
    assert (backend, version) == ("tensorflow", "2.99.1")
    assert shim.Interpreter is litert.Interpreter and shim.load_delegate is litert.load_delegate
    assert shim.OpResolverType is litert.OpResolverType
    assert tflite.interpreter_module("tensorflow")[0] == "tensorflow"
    _fake_tensorflow(monkeypatch, None)
    assert tflite.interpreter_module()[1].OpResolverType is None
    assert tf.lite.Interpreter is litert.Interpreter


def test_nothing_installed_names_what_was_tried_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = types.ModuleType("ai_edge_litert")  # the package is there, its interpreter does not import
    broken.__path__ = []  # a package whose folder lacks interpreter.py
    monkeypatch.setitem(sys.modules, "ai_edge_litert", broken)
    monkeypatch.delitem(sys.modules, "ai_edge_litert.interpreter")
    for name in ("tflite_runtime", "tensorflow"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(FrameworkUnavailable) as err:
        tflite.TFLiteRuntime().setup()
    assert err.value.problem == (
        "no TFLite interpreter is installed (tried ai_edge_litert, tflite_runtime, tensorflow: "
        "ai_edge_litert: cannot import name 'interpreter' from 'ai_edge_litert' (unknown location); "
        "tflite_runtime: import of tflite_runtime halted; None in sys.modules; "
        "tensorflow: import of tensorflow halted; None in sys.modules)"
    )
    assert err.value.fix == "pip install ai-edge-litert (or tflite-runtime on Python 3.9)"
    with pytest.raises(
        FrameworkUnavailable, match=r"\(tried tflite_runtime: tflite_runtime: import of tflite_runtime "
    ):
        tflite.interpreter_module("tflite_runtime")


def _distributions(monkeypatch: pytest.MonkeyPatch, **versions: str) -> None:
    """Stand-in installed distributions for importlib.metadata.version (names normalised as it does)."""

    def version(dist: str) -> str:
        key = dist.lower().replace("_", "-")
        if key not in versions:
            raise importlib.metadata.PackageNotFoundError(dist)
        return versions[key]

    monkeypatch.setattr(importlib.metadata, "version", version)


def test_a_package_without_version_is_read_from_its_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_tflite_runtime(monkeypatch, version=None)
    assert tflite.interpreter_module("tflite_runtime") == ("tflite-runtime", fake, "unknown")  # no such distribution
    _distributions(monkeypatch, **{"tflite-runtime": "2.5.0.post1", "ai-edge-litert": "2.3.1"})
    assert tflite.interpreter_module("tflite_runtime") == ("tflite-runtime", fake, "2.5.0.post1")
    bare = types.ModuleType("ai_edge_litert")
    bare.interpreter = litert
    monkeypatch.setitem(sys.modules, "ai_edge_litert", bare)
    assert tflite.interpreter_module() == ("ai-edge-litert", litert, "2.3.1")


def test_a_packages_own_version_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    _distributions(monkeypatch, **{"tflite-runtime": "2.5.0.post1", "ai-edge-litert": "2.3.1"})
    pkg = types.ModuleType("ai_edge_litert")
    pkg.interpreter, pkg.__version__ = litert, "7.7.7"
    monkeypatch.setitem(sys.modules, "ai_edge_litert", pkg)
    assert tflite.interpreter_module() == ("ai-edge-litert", litert, "7.7.7")
    _fake_tflite_runtime(monkeypatch, version="2.5.0")
    assert tflite.interpreter_module("tflite_runtime")[2] == "2.5.0"


def test_armnn_library_path_and_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEBENCH_ARMNN_DELEGATE", raising=False)
    assert tflite.armnn_delegate_path() == "libarmnnDelegate.so"
    default_fix = f"use the rpi-armnn image built with the ARM NN delegate, or give its path with {ARMNN_FLAGS}"
    assert tflite.armnn_delegate_fix(None) == default_fix
    given = f"give the path of libarmnnDelegate.so with {ARMNN_FLAGS}, or leave it out in the rpi-armnn image"
    assert tflite.armnn_delegate_fix("/x/lib.so") == given
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", "/opt/a.so")
    assert tflite.armnn_delegate_path() == "/opt/a.so"
    env_fix = f"point EDGEBENCH_ARMNN_DELEGATE at libarmnnDelegate.so, or give its path with {ARMNN_FLAGS}"
    assert tflite.armnn_delegate_fix(None) == env_fix and tflite.armnn_delegate_fix("/x/lib.so") == given
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", "")
    assert tflite.armnn_delegate_path() == "" and tflite.armnn_delegate_fix(None) == default_fix


def test_armnn_delegate_options() -> None:
    assert tflite.armnn_delegate_options(None) == {"backends": "CpuAcc,CpuRef", "logging-severity": "warning"}
    assert tflite.armnn_delegate_options(0) == {"backends": "CpuAcc,CpuRef", "logging-severity": "warning"}
    four = {"backends": "CpuAcc,CpuRef", "logging-severity": "warning", "number-of-threads": "4"}
    assert tflite.armnn_delegate_options(4) == four


class _Loads:
    """A stand-in ``load_delegate``: records (library, options), returns a token or raises what it is given."""

    def __init__(self, error: Any = None) -> None:
        self.calls: List[Tuple[Any, ...]] = []
        self.error = error

    def __call__(self, *args: Any) -> str:
        self.calls.append(args)
        if self.error:
            raise self.error
        return "delegate"


def test_named_delegates_load_their_library_with_their_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBENCH_ARMNN_DELEGATE", "/env/libarmnnDelegate.so")
    mod = types.SimpleNamespace(load_delegate=_Loads())
    assert tflite.load_named_delegate(mod, "edgetpu", 4) == "delegate"
    assert tflite.load_named_delegate(mod, "armnn", 2) == "delegate"
    assert tflite.load_named_delegate(mod, "armnn", None, "/given.so") == "delegate"
    opts = {"backends": "CpuAcc,CpuRef", "logging-severity": "warning"}
    assert mod.load_delegate.calls == [
        ("libedgetpu.so.1", {}),
        ("/env/libarmnnDelegate.so", {**opts, "number-of-threads": "2"}),
        ("/given.so", opts),
    ]
    with pytest.raises(FrameworkUnavailable) as err:
        tflite.load_named_delegate(mod, "gpu", 1)
    assert (
        err.value.problem == "unknown TFLite delegate 'gpu'" and err.value.fix == "use xnnpack, armnn, edgetpu or none"
    )


@pytest.mark.parametrize("error", [ValueError("bad\nsecond line"), OSError("bad"), RuntimeError(" bad "),
                                   AttributeError("bad")])  # fmt: skip
def test_a_failed_load_is_one_line(error: Exception) -> None:
    load = _Loads(error)
    with pytest.raises(FrameworkUnavailable) as err:
        tflite.load_delegate_quietly(load, "lib.so", {"k": "v"}, "Thing (lib.so)", "do this")
    assert err.value.problem == "Thing (lib.so) could not be loaded: bad" and err.value.fix == "do this"
    assert err.value.__cause__ is None and err.value.__context__ is None  # no frames kept holding the delegate
    assert load.calls == [("lib.so", {"k": "v"})]


def test_no_library_name_passes_the_options_alone_and_other_errors_pass_through() -> None:
    load = _Loads()
    assert tflite.load_delegate_quietly(load, "", {"device": "usb"}, "x", "y") == "delegate"
    assert load.calls == [({"device": "usb"},)]
    with pytest.raises(TypeError):
        tflite.load_delegate_quietly(_Loads(TypeError("t")), "lib", {}, "x", "y")


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_forget_traceback_keeps_the_first_line_and_drops_every_frame() -> None:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError("  outer\nmore  ") from inner
    except ValueError as exc:
        caught = exc
    assert caught.__traceback__ is not None and caught.__cause__.__traceback__ is not None
    assert tflite._forget_traceback(caught) == "outer"
    assert caught.__traceback__ is None and caught.__cause__.__traceback__ is None
    assert tflite._forget_traceback(_raised(OSError())) == "OSError"
    assert tflite._forget_traceback(_raised(OSError("   "))) == "OSError"


def test_forget_traceback_follows_a_cause_alone_and_a_context_alone() -> None:
    cause = _raised(KeyError("k"))
    outer = _raised(ValueError("v").with_traceback(None))
    outer.__cause__ = cause  # raised "from" an earlier error, outside its except block: no context
    assert outer.__context__ is None and cause.__traceback__ is not None
    tflite._forget_traceback(outer)
    assert cause.__traceback__ is None
    context = _raised(KeyError("c"))
    inner = _raised(OSError("o"))
    inner.__context__ = context  # raised while handling another: no cause
    tflite._forget_traceback(inner)
    assert context.__traceback__ is None and inner.__cause__ is None


def test_the_finalizer_filter_passes_every_other_report_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)

    def __del__() -> None: ...

    __del__.__qualname__ = "Delegate.__del__"
    other = types.SimpleNamespace(object=print, exc_type=ValueError)
    with tflite._quiet_delegate_finalizer():
        assert sys.unraisablehook != seen.append
        sys.unraisablehook(types.SimpleNamespace(object=__del__, exc_type=AttributeError))
        sys.unraisablehook(other)
        sys.unraisablehook(types.SimpleNamespace(exc_type=KeyError))  # no object at all
    assert sys.unraisablehook == seen.append and seen[0] is other and len(seen) == 2
    with pytest.raises(ZeroDivisionError), tflite._quiet_delegate_finalizer():
        raise ZeroDivisionError
    assert sys.unraisablehook == seen.append  # given back after an error too


def test_delegate_none_needs_op_resolver_type_with_its_member() -> None:
    resolver = types.SimpleNamespace(BUILTIN_WITHOUT_DEFAULT_DELEGATES=3)
    kw = tflite.no_default_delegate_kwargs(types.SimpleNamespace(OpResolverType=resolver), "b", "1")
    assert kw == {"experimental_op_resolver_type": 3}
    for mod in (types.SimpleNamespace(), types.SimpleNamespace(OpResolverType=types.SimpleNamespace(AUTO=0))):
        with pytest.raises(FrameworkUnavailable) as err:
            tflite.no_default_delegate_kwargs(mod, "tflite-runtime", "2.5.0.post1")
        assert err.value.problem == (
            "--delegate none needs OpResolverType, which tflite-runtime 2.5.0.post1 does not have (added in TFLite "
            "2.5+ builds after March 2021)"
        )
        assert err.value.fix == (
            "drop --delegate none (the interpreter's default op resolver is used) or use a newer TFLite runtime"
        )


def _stand_in_interpreter(error: Exception) -> Any:
    def interpreter(**kwargs: Any) -> Any:
        raise error

    return interpreter


@pytest.mark.parametrize("error", [RuntimeError("Encountered unresolved custom op: edgetpu-custom-op.\nNode 0"),
                                   ValueError("x\nEncountered unresolved custom op: edgetpu-custom-op.")])  # fmt: skip
def test_an_edge_tpu_model_is_sent_to_the_coral_runtime(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    _fake_tflite_runtime(monkeypatch, Interpreter=_stand_in_interpreter(error))
    with pytest.raises(FrameworkUnavailable) as err:
        tflite.TFLiteRuntime().load(Path("m.tflite"), RuntimeOptions(extra={"tflite_backend": "tflite_runtime"}))
    assert err.value.problem == "m.tflite is compiled for the Edge TPU and needs its delegate"
    assert err.value.fix == "use --framework coral" and err.value.__cause__ is error


def test_other_errors_are_model_errors_and_type_errors_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tflite_runtime(monkeypatch, Interpreter=_stand_in_interpreter(RuntimeError("broken op\nline two")))
    opts = RuntimeOptions(extra={"tflite_backend": "tflite_runtime"})
    with pytest.raises(ModelFormatError) as err:
        tflite.TFLiteRuntime().load(Path("m.tflite"), opts)
    assert err.value.problem == "TFLite could not load m.tflite: broken op"
    _fake_tflite_runtime(monkeypatch, Interpreter=_stand_in_interpreter(TypeError("t")))
    with pytest.raises(TypeError):
        tflite.TFLiteRuntime().load(Path("m.tflite"), opts)


class _Interp:
    """An interpreter with n_in inputs and n_out outputs (details as LiteRT gives them), nothing else."""

    def __init__(self, n_in: int, n_out: int, **detail: Any) -> None:
        base = {"shape": np.array([1, 4], dtype=np.int32), "dtype": np.float32, "quantization": (0.0, 0), **detail}
        self.ins = [{**base, "name": f"in{i}", "index": i} for i in range(n_in)]
        self.outs = [{**base, "name": f"out{i}", "index": 10 + i} for i in range(n_out)]
        self.set_tensor = self.invoke = self.get_tensor = None

    def get_input_details(self) -> List[Dict[str, Any]]:
        return self.ins

    def get_output_details(self) -> List[Dict[str, Any]]:
        return self.outs


@pytest.mark.parametrize("n_in, n_out", [(2, 1), (1, 2), (0, 1)])
def test_several_inputs_or_outputs_are_refused(n_in: int, n_out: int) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        tflite.TFLiteRuntime()._adopt(_Interp(n_in, n_out), None)
    ins, outs = [f"in{i}" for i in range(n_in)], [f"out{i}" for i in range(n_out)]
    assert err.value.problem == (
        f"model has inputs {ins} and outputs {outs}; only single-input single-output models are measured"
    )
    assert err.value.fix == "convert a model with one input and one output"


def test_tensor_details_become_specs() -> None:
    rt = tflite.TFLiteRuntime()
    rt._adopt(_Interp(1, 1, dtype=np.dtype("uint8"), quantization=(0.5, 7)), 5)
    assert rt.input.to_dict() == {"name": "in0", "shape": [1, 4], "dtype": "uint8", "scale": 0.5, "zero_point": 7}
    assert type(rt.input.shape[0]) is int and rt._threads == 5 and (rt._in_idx, rt._out_idx) == (0, 10)
    detail = {"name": "t", "shape": [2], "dtype": np.int8, "index": 0}
    assert tflite._spec(detail).to_dict() == {"name": "t", "shape": [2], "dtype": "int8", "scale": None,
                                              "zero_point": None}  # fmt: skip
    assert tflite._spec({**detail, "quantization": (0.25, 0)}).zero_point == 0


def test_backend_option_picks_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tflite_runtime(monkeypatch, version="9.9", Interpreter=litert.Interpreter)
    rt = tflite.TFLiteRuntime()
    rt.load(models.DIGITS_TFLITE, RuntimeOptions(extra={"tflite_backend": "tflite_runtime"}))
    assert rt.versions() == {"tflite-runtime": "9.9"} and rt.describe()["backend"] == "tflite-runtime"


def test_delegate_none_names_the_backend_and_version_that_lack_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tflite_runtime(monkeypatch, version="2.5.0.post1", Interpreter=litert.Interpreter)
    with pytest.raises(FrameworkUnavailable, match="^--delegate none needs OpResolverType, which tflite-runtime "
                                                   "2.5.0.post1 does not have "):  # fmt: skip
        tflite.TFLiteRuntime().load(
            models.DIGITS_TFLITE, RuntimeOptions(delegate="none", extra={"tflite_backend": "tflite_runtime"})
        )


def test_a_loaded_delegate_reaches_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ARM NN delegate as a stand-in (no library here): its library, options and object reach LiteRT."""
    seen: List[Dict[str, Any]] = []
    real = litert.Interpreter

    def interpreter(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(model_path=kwargs["model_path"], num_threads=kwargs["num_threads"])  # the stand-in left out

    loads = _Loads()
    monkeypatch.setattr(litert, "Interpreter", interpreter)
    monkeypatch.setattr(litert, "load_delegate", loads)
    rt = tflite.TFLiteRuntime()
    rt.load(models.DIGITS_TFLITE, RuntimeOptions(threads=2, delegate="armnn", extra={"delegate_path": "/d/a.so"}))
    assert seen == [{"model_path": str(models.DIGITS_TFLITE), "num_threads": 2, "experimental_delegates": ["delegate"]}]
    opts = {"backends": "CpuAcc,CpuRef", "logging-severity": "warning", "number-of-threads": "2"}
    assert loads.calls == [("/d/a.so", opts)]
    assert rt.describe() == {"backend": "ai-edge-litert", "delegate": "armnn", "threads": 2}
