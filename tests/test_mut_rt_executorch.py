"""bench/runtimes/executorch.py on real ExecuTorch, fast (no training, no bench.convert): programs exported in
tests/executorch_programs.py from the shipped digits weights (XNNPACK-delegated, or on the portable kernels) and two
small programs of two inputs or two outputs, loaded straight into ExecuTorchRuntime. Expected values come from ONNX
Runtime on the shipped ONNX file of the same weights, the test labels, the digits CNN's layers counted by hand,
executorch's own ScalarType numbering, importlib.metadata and the thread count asked. Real runs use one thread; what a
larger count does is read from a recording stand-in for the threadpool's reset."""

from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any, List

import executorch.extension.pybindings.portable_lib as portable_lib
import numpy as np
import pytest
from executorch.exir.scalar_type import ScalarType
from executorch.runtime import Runtime

from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes import executorch as et
from bench.runtimes.base import TensorSpec
from bench.runtimes.executorch import ExecuTorchRuntime
from tests.executorch_programs import program
from tests.runtime_helpers import assert_digits_like_onnx_runtime, loaded

POOL = "ExecuTorch's process-wide threadpool (XNNPACK delegate)"
ASSUMED = {"precision": "fp32", "precision_note": "assumed: the program does not state its precision"}


def _load(name: str, **kw: Any) -> ExecuTorchRuntime:
    return loaded(ExecuTorchRuntime, program(name), **{"threads": 1, **kw})


@pytest.mark.parametrize("name, count", [("xnnpack", 100), ("portable", 40)])
def test_digits_outputs_match_onnx_runtime_and_the_labels(name: str, count: int) -> None:
    rt = _load(name)
    assert rt.input == TensorSpec("input", (1, 1, 32, 32), "float32")
    assert rt.output == TensorSpec("output", (1, 10), "float32")
    assert_digits_like_onnx_runtime(rt, count=count)
    assert rt._y is None  # fetch let go of the outputs
    rt.close()
    assert rt._call is None and rt._program is None


def test_describe_of_the_delegated_digits() -> None:
    """The whole CNN in one XNNPACK delegate call: nothing runs outside it. No precision method: fp32 assumed."""
    assert _load("xnnpack").describe() == {
        "threads": 1,
        "threads_asked": 1,
        "threadpool": POOL,
        "delegate": "xnnpack",
        "delegate_backends": ["XnnpackBackend"],
        "delegate_calls": 1,
        "kernel_calls_outside_delegate": 0,
        "operators_outside_delegate": [],
        **ASSUMED,
    }


def test_describe_of_the_portable_digits_and_its_stated_precision() -> None:
    """Conv, ReLU and max pool twice each, then the flatten's permute and the linear layer's addmm: 8 kernel calls
    of 5 operators (the view is memory planning, no kernel). The program states 8 bits: int8."""
    rt = _load("portable")
    facts = rt.describe()
    assert facts == {
        "threads": 1,
        "threads_asked": 1,
        "threadpool": POOL,
        "delegate": "none",
        "delegate_backends": [],
        "delegate_calls": 0,
        "kernel_calls_outside_delegate": 8,
        "operators_outside_delegate": [
            "aten::addmm.out",
            "aten::convolution.out",
            "aten::max_pool2d_with_indices.out",
            "aten::permute_copy.out",
            "aten::relu.out",
        ],
        "precision": "int8",
    }
    rt._path = Path("/nonexistent.pte")  # read once: a second describe does not read the program again
    assert rt.describe() == facts


def test_a_program_stating_32_bits_is_fp32() -> None:
    assert et._precision(et._runtime().load_program(program("two-inputs"))) == {"precision": "fp32"}


def test_program_facts_of_a_file_that_is_no_program(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pte"
    bad.write_bytes(b"\0" * 64)
    facts = et.program_facts(bad)
    assert list(facts) == ["program"] and facts["program"].startswith("not read: ")
    assert len(facts["program"]) > len("not read: ") + 10  # the reader's exception and its message


def _op(name: str, overload: str) -> Any:
    return types.SimpleNamespace(name=name, overload=overload)


def _instr(kind: str, **args: int) -> Any:
    return types.SimpleNamespace(instr_args=type(kind, (), args)())


#: a program as executorch's serializer reads it (schema/program.fbs): one plan, two chains, two backends
PLAN = types.SimpleNamespace(
    operators=[_op("aten::add", "out"), _op("my::kernel", ""), _op("aten::mul", "Scalar_out")],
    delegates=[types.SimpleNamespace(id="XnnpackBackend"), types.SimpleNamespace(id="QnnBackend")],
    chains=[
        types.SimpleNamespace(instructions=[_instr("DelegateCall"), _instr("KernelCall", op_index=1)]),
        types.SimpleNamespace(
            instructions=[_instr("KernelCall", op_index=0), _instr("DelegateCall"), _instr("KernelCall", op_index=1)]
        ),
    ],
)


@pytest.mark.parametrize("older", [False, True])
def test_program_facts_read_the_plan(monkeypatch: pytest.MonkeyPatch, older: bool) -> None:
    """Contract test of the reader; an older executorch's deserializer gave the Program itself, not a PTEFile."""
    program_ = types.SimpleNamespace(execution_plan=[PLAN])
    pte = program_ if older else types.SimpleNamespace(program=program_)
    monkeypatch.setattr("executorch.exir._serialize._program.deserialize_pte_binary", lambda data: pte)
    assert et.program_facts(program("xnnpack")) == {
        "delegate": "QnnBackend,XnnpackBackend",
        "delegate_backends": ["QnnBackend", "XnnpackBackend"],
        "delegate_calls": 2,
        "kernel_calls_outside_delegate": 3,
        "operators_outside_delegate": ["aten::add.out", "my::kernel"],  # an operator without overload: its name
    }


def test_program_facts_name_the_readers_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: bytes) -> Any:
        raise ValueError("bad header")

    monkeypatch.setattr("executorch.exir._serialize._program.deserialize_pte_binary", refuse)
    assert et.program_facts(program("xnnpack")) == {"program": "not read: ValueError: bad header"}


@pytest.mark.parametrize("threads, calls", [(None, []), (0, []), (4, [4])])
def test_threads_option_resets_the_threadpool(monkeypatch: pytest.MonkeyPatch, threads: Any, calls: List[int]) -> None:
    seen: List[int] = []
    monkeypatch.setattr(portable_lib, "_unsafe_reset_threadpool", seen.append)  # records, never starts threads
    rt = _load("xnnpack", threads=threads)
    assert seen == calls and all(type(n) is int for n in seen)
    assert rt.describe()["threads_asked"] == threads


def test_one_thread_is_what_the_pool_reports() -> None:
    rt = _load("xnnpack", threads=1)
    assert rt.describe()["threads"] == portable_lib._threadpool_get_thread_count() == 1


def test_versions_and_probe_name_the_installed_packages() -> None:
    assert _load("xnnpack").versions() == {
        "executorch": metadata.version("executorch"),
        "torch": metadata.version("torch"),
    }
    probed = et.probe()
    assert set(probed) == {"executorch", "backends"} and probed["executorch"] == metadata.version("executorch")
    assert "XnnpackBackend" in probed["backends"].split(",")
    assert et._version("edgebench-no-such-distribution") == "not-installed"


def test_a_build_without_xnnpack_is_framework_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = types.SimpleNamespace(is_available=lambda name: name != "XnnpackBackend", registered_backend_names=[])
    monkeypatch.setattr(et, "_runtime", lambda: types.SimpleNamespace(backend_registry=registry))
    with pytest.raises(FrameworkUnavailable) as err:
        et.probe()
    assert err.value.problem == "this ExecuTorch build has no XnnpackBackend"
    assert err.value.fix == "install the executorch wheel from PyPI (it registers XNNPACK)"


def test_missing_executorch_is_framework_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "executorch.extension.pybindings.portable_lib", None)
    with pytest.raises(FrameworkUnavailable) as err:
        ExecuTorchRuntime().setup()
    assert err.value.problem.startswith("ExecuTorch is not installed (") and err.value.problem.endswith(")")
    assert "portable_lib" in err.value.problem  # the import error says what was missing
    assert err.value.fix == "pip install executorch==1.5.1 torchao==0.18.0"
    assert isinstance(err.value.__cause__, ImportError)


FIX = "convert the model again with this executorch version (a .pte holds a forward method)"


def test_damaged_program_is_one_line_naming_problem_and_fix(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pte"
    cut.write_bytes(program("xnnpack").read_bytes()[:400])
    with pytest.raises(ModelFormatError) as err:
        loaded(ExecuTorchRuntime, cut, threads=1)
    with pytest.raises(Exception) as direct:  # ExecuTorch's own reason, as its Runtime gives it
        Runtime.get().load_program(cut)
    assert err.value.problem == f"ExecuTorch could not load {cut}: {str(direct.value).splitlines()[0]}"
    assert err.value.fix == FIX and "\n" not in str(err.value)


class _Refusing:
    """An ExecuTorch Runtime whose load_program raises ``exc``."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def load_program(self, path: Path, enable_etdump: bool = False) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    "exc, reason",
    [
        (RuntimeError("x" * 400 + "\nsecond line"), "x" * 300),  # the first line, its first 300 characters
        (RuntimeError(), "RuntimeError()"),  # no message: the exception itself
    ],
)
def test_load_errors_keep_one_short_line(monkeypatch: pytest.MonkeyPatch, exc: Exception, reason: str) -> None:
    monkeypatch.setattr(et, "_runtime", lambda: _Refusing(exc))
    with pytest.raises(ModelFormatError) as err:
        loaded(ExecuTorchRuntime, Path("m.pte"))
    assert err.value.problem == f"ExecuTorch could not load m.pte: {reason}" and err.value.__cause__ is exc


@pytest.mark.parametrize("name, ins, outs", [("two-inputs", 2, 1), ("two-outputs", 1, 2)])
def test_several_inputs_or_outputs_are_refused(name: str, ins: int, outs: int) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        _load(name)
    assert err.value.problem == (
        f"the program's forward takes {ins} inputs and returns {outs} outputs; "
        "only single-input single-output models are measured"
    )
    assert err.value.fix == "export a model with one input and one output"


#: executorch's ScalarType numbering (executorch.exir.scalar_type) and the numpy name each is recorded under
DTYPES = [
    (ScalarType.BYTE, "uint8"),
    (ScalarType.CHAR, "int8"),
    (ScalarType.SHORT, "int16"),
    (ScalarType.INT, "int32"),
    (ScalarType.LONG, "int64"),
    (ScalarType.HALF, "float16"),
    (ScalarType.FLOAT, "float32"),
    (ScalarType.BOOL, "bool"),
    (ScalarType.DOUBLE, "unknown"),  # none of the exported models here has one
]


@pytest.mark.parametrize("code, name", DTYPES)
def test_tensor_specs_name_each_scalar_type(code: ScalarType, name: str) -> None:
    """Contract test: a tensor's metadata as the pybindings give it (sizes() and dtype() as an int)."""
    info = types.SimpleNamespace(sizes=lambda: [1, np.int64(3)], dtype=lambda: np.int32(int(code)))
    spec = et._spec("x", info)
    assert spec == TensorSpec("x", (1, 3), name) and all(type(d) is int for d in spec.shape)
