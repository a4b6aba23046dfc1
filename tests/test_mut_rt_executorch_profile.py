"""bench/runtimes/executorch.py's per-layer profile (ETDump) on real ExecuTorch, fast: the digits programs of
tests/executorch_programs.py run with profiling, rows checked against the digits CNN's layers counted by hand and the
wall time of the same runs; and the ETDump reader on an ETDump written here (a contract test of its run and event
rules: the load's block, a constant method's run, the delegate's call, an OPERATOR_CALL around its kernel's event)."""

from __future__ import annotations

import tempfile
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any, List, Optional

import numpy as np
import pytest

from bench import models
from bench.runtimes import executorch as et
from bench.runtimes.executorch import ExecuTorchRuntime
from tests.executorch_programs import program
from tests.runtime_helpers import loaded
from tests.runtime_helpers import run_once as _run

X = np.load(models.DIGITS_TEST_DATA)["x_data"][:1]


def _profiled(name: str, warm: int, measured: int, start: bool = True) -> Any:
    """(rows, wall ms of the measured runs) of the digits program ``name`` run warm + measured times."""
    rt = loaded(ExecuTorchRuntime, program(name), threads=1, extra={"profile": True})
    for _ in range(warm):
        _run(rt, X)
    if start:
        rt.profile_start()
    t0 = time.perf_counter()
    for _ in range(measured):
        _run(rt, X)
    wall_ms = (time.perf_counter() - t0) * 1e3
    return rt.profile_rows(), wall_ms


#: the XNNPACK operators of one digits run: NCHW -> NHWC, conv (ReLU fused) and max pool twice, back to NCHW for the
#: flatten, its reshape, the linear layer
XNNPACK_RUN = ["Transpose", "Convolution", "Max Pooling", "Convolution", "Max Pooling", "Transpose", "Static Reshape",
               "Fully Connected"]  # fmt: skip


@pytest.mark.parametrize("warm, measured, start", [(2, 3, True), (0, 2, True), (1, 2, False)])
def test_xnnpack_rows_are_the_measured_runs_operators(warm: int, measured: int, start: bool) -> None:
    rows, wall_ms = _profiled("xnnpack", warm, measured, start)
    runs = measured if start else warm + measured  # without profile_start every run is counted
    assert [r["type"].split(" (")[0] for r in rows] == XNNPACK_RUN * runs
    assert all(r["name"].rsplit(" #", 1)[0] == r["type"] and r["name"][-1].isdigit() for r in rows)
    assert all(r["calls"] == 1 and r["total_ms"] >= 0 for r in rows) and sorted(rows[0]) == [
        "calls", "name", "total_ms", "type"]  # fmt: skip
    measured_ms = sum(r["total_ms"] for r in rows[-len(XNNPACK_RUN) * measured :])
    assert wall_ms / 200 < measured_ms < wall_ms  # nanoseconds read as such: inside the runs' own wall time


def test_portable_rows_are_each_kernel_once() -> None:
    """Each instruction once, named by its kernel (its OPERATOR_CALL around it is not a second row)."""
    rows, wall_ms = _profiled("portable", 1, 2)
    kinds = [r["type"] for r in rows]
    one_run = ["convolution.out", "relu.out", "max_pool2d_with_indices.out"] * 2 + ["permute_copy.out", "addmm.out"]
    assert kinds == [f"native_call_{k}" for k in one_run] * 2
    assert [r["name"] for r in rows[:2]] == ["native_call_convolution.out #0", "native_call_relu.out #1"]
    assert wall_ms / 10 < sum(r["total_ms"] for r in rows) < wall_ms


def test_invoke_is_counted_only_when_profiling() -> None:
    plain = loaded(ExecuTorchRuntime, program("xnnpack"), threads=1)
    assert plain.invoke.__func__ is ExecuTorchRuntime.invoke
    _run(plain, X)
    plain.profile_start()
    assert plain._runs == 0 and plain._profile_from == 0
    with pytest.raises(RuntimeError, match="^the program was not loaded with ETDump enabled$"):
        plain.profile_rows()
    prof = loaded(ExecuTorchRuntime, program("xnnpack"), threads=1, extra={"profile": True})
    for _ in range(3):
        _run(prof, X)
    prof.profile_start()
    assert prof._runs == 3 and prof._profile_from == 3


def test_the_etdump_is_written_nowhere_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _profiled("portable", 0, 1)[0] and list(tmp_path.iterdir()) == []


def test_the_etdump_folder_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    made: List[str] = []
    real = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **kw: made.append(real(*a, **kw)) or made[-1])
    rows, _ = _profiled("xnnpack", 0, 1)
    assert rows and Path(made[0]).name.startswith("edgebench-etdump-")  # the first: executorch's reader makes more
    assert Path(made[0]).parent == Path(tempfile.gettempdir()) and not Path(made[0]).exists()


def _event(name: str, start: int = 0, end: int = 0, iid: int = 0, debug: Optional[str] = None) -> Any:
    profile = types.SimpleNamespace(
        name=name, start_time=start, end_time=end, instruction_id=iid, delegate_debug_id_str=debug
    )
    return types.SimpleNamespace(profile_event=profile)


def _etdump(*runs: Any) -> Any:
    return types.SimpleNamespace(run_data=[types.SimpleNamespace(events=r) for r in runs])


def _forward(conv_ns: int) -> List[Any]:
    """One forward run: the delegate's XNNPACK convolution, then an operator outside it with its kernel's event."""
    return [
        _event("Method::execute", 0, 9_000_000),
        _event("DELEGATE_CALL", 0, 5_000_000, iid=0),
        _event("Fused", 0, conv_ns, debug="Convolution (NHWC, F32) IGEMM #1"),
        _event("Other", 0, 10_000, debug="another backend's op"),  # no " #<n>": all of it is the type
        _event("OPERATOR_CALL", 5_000_000, 8_000_000, iid=1),
        _event("native_call_relu.out", 5_500_000, 7_500_000, iid=1),
        _event("OPERATOR_CALL", 8_000_000, 8_250_000, iid=2),  # a kernel without its own event: the call is its row
        types.SimpleNamespace(profile_event=None),  # an event of another kind (a debug event)
    ]


def test_etdump_rows_skip_the_load_constant_methods_and_the_first_runs() -> None:
    etdump = _etdump(
        [_event("Method::init", 0, 5), _event("Program::load_method", 0, 5)],  # the load's block
        [_event("Method::execute", 0, 3)],  # a constant method's run: no instruction
        None,  # a block without events
        _forward(1_000_000),  # a warm-up run
        _forward(2_500_000),
    )
    assert et.rows_of(etdump, 1) == [
        {"name": "Convolution (NHWC, F32) IGEMM #1", "type": "Convolution (NHWC, F32) IGEMM", "calls": 1,
         "total_ms": 2.5},
        {"name": "another backend's op", "type": "another backend's op", "calls": 1, "total_ms": 0.01},
        {"name": "native_call_relu.out #1", "type": "native_call_relu.out", "calls": 1, "total_ms": 2.0},
        {"name": "OPERATOR_CALL #2", "type": "OPERATOR_CALL", "calls": 1, "total_ms": 0.25},
    ]  # fmt: skip
    assert Counter(r["name"] for r in et.rows_of(etdump, 0))["Convolution (NHWC, F32) IGEMM #1"] == 2
    assert et.rows_of(etdump, 2) == []
