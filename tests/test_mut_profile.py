"""--profile's normalization, record and report lines (bench/profile.py) on profiler rows written by hand; expected
merges, shares and text computed by hand. The runtime objects here are stand-ins for the interface the runtimes
implement (``name``, ``profile_rows()``, ``profile_start()``): contract tests; tests/test_profile.py runs the real
ONNX Runtime and PyTorch profilers. Fast."""

from __future__ import annotations

import logging
from typing import List

import pytest

from bench import profile

ROWS = [
    {"name": "conv1", "type": "Conv", "calls": 10, "total_ms": 3.0},
    {"name": "relu", "type": "Relu", "calls": 10, "total_ms": 0.5},
    {"name": "conv1", "type": "Conv", "calls": 5, "total_ms": 1.5},  # merged with the first
    {"name": "conv1", "type": "Gemm", "total_ms": 0.25},  # same name, other type: its own row; calls default 1
    {"name": 7, "type": None, "total_ms": "4.75"},  # numbers as text, no type
]


def test_normalize_merges_sorts_and_shares() -> None:
    ops = profile.normalize(ROWS)
    total = 3.0 + 0.5 + 1.5 + 0.25 + 4.75  # 10.0
    assert ops == [
        {"name": "7", "type": "", "calls": 1, "total_ms": 4.75, "share": 4.75 / total},
        {"name": "conv1", "type": "Conv", "calls": 15, "total_ms": 4.5, "share": 4.5 / total},
        {"name": "relu", "type": "Relu", "calls": 10, "total_ms": 0.5, "share": 0.5 / total},
        {"name": "conv1", "type": "Gemm", "calls": 1, "total_ms": 0.25, "share": 0.25 / total},
    ]


def test_normalize_keeps_the_top_rows_and_a_zero_total() -> None:
    rows = [{"name": f"op{i}", "total_ms": float(i)} for i in range(60)]
    ops = profile.normalize(rows)
    assert len(ops) == 50 == profile.MAX_ROWS and ops[0]["name"] == "op59" and ops[-1]["name"] == "op10"
    assert [o["name"] for o in profile.normalize(rows, max_rows=2)] == ["op59", "op58"]
    zero = profile.normalize([{"name": "a", "total_ms": 0.0}, {"name": "b", "total_ms": 0}])
    assert [o["share"] for o in zero] == [0.0, 0.0]
    assert profile.normalize([]) == []


class Runtime:
    """A runtime with a profiler (the interface bench.harness calls)."""

    name = "fake"

    def __init__(self, rows: List[dict] | None = None, fail: Exception | None = None) -> None:
        self.rows, self.fail, self.started = rows or [], fail, 0

    def profile_rows(self) -> List[dict]:
        if self.fail:
            raise self.fail
        return self.rows

    def profile_start(self) -> None:
        self.started += 1


class NoProfiler:
    name = "tflite"
    profile_rows = None  # present but not callable: not supported


def test_collect_builds_the_record() -> None:
    rt = Runtime(ROWS)
    rec = profile.collect(rt)
    assert rec["profiled"] is True and rec["runtime"] == "fake" and rec["source"] == "fake"
    assert rec["rows_total"] == 4 and rec["total_ms"] == pytest.approx(10.0)
    assert rec["ops"] == profile.normalize(ROWS)
    rt.profile_source = "onnxruntime end_profiling"
    assert profile.collect(rt)["source"] == "onnxruntime end_profiling"


def test_collect_without_a_profiler_says_so() -> None:
    expected = {
        "profiled": False,
        "requested": True,
        "unavailable": "per-operator profiling is not available for this runtime (tflite)",
    }
    assert profile.collect(NoProfiler()) == expected == profile.not_available("tflite")
    assert profile.supported(Runtime()) and not profile.supported(NoProfiler()) and not profile.supported(object())


def test_collect_when_the_profile_cannot_be_read(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bench.profile"):
        rec = profile.collect(Runtime(fail=KeyError("dur")))
    assert rec == {"profiled": True, "unavailable": "profile could not be read: KeyError: 'dur'"}
    assert [r.getMessage() for r in caplog.records] == ["profile could not be read: 'dur'"]


def test_phase_listener_starts_the_profiler_at_the_measured_runs_only() -> None:
    rt = Runtime()
    listen = profile.phase_listener(rt)
    for phase in ("load", "warmup", "measure", "done"):
        listen(phase)
    assert rt.started == 1
    profile.phase_listener(NoProfiler())("measure")  # no profile_start: nothing to call, no error


def test_top_text_lines() -> None:
    rec = profile.collect(Runtime(ROWS))
    lines = profile.top_text(rec)
    assert lines == [
        "top op: 7: 4.750 ms total, 47.5%, 1 calls",
        "top op: conv1 (Conv): 4.500 ms total, 45.0%, 15 calls",
        "top op: relu (Relu): 0.500 ms total, 5.0%, 10 calls",
        "top op: conv1 (Gemm): 0.250 ms total, 2.5%, 1 calls",
    ]
    assert profile.top_text(rec, n=1) == lines[:1]
    many = profile.collect(Runtime([{"name": f"op{i}", "total_ms": float(i + 1)} for i in range(8)]))
    assert len(profile.top_text(many)) == 5 == profile.TOP_N


def test_top_text_without_a_profile() -> None:
    assert profile.top_text({}) == []
    assert profile.top_text(profile.not_available("coral")) == [
        "profile: per-operator profiling is not available for this runtime (coral)"
    ]
    assert profile.top_text({"profiled": True, "ops": None}) == []


def test_warning_text() -> None:
    assert profile.WARNING.startswith("profiled run: latencies include the profiler's overhead")
    assert "never pooled with unprofiled ones" in profile.WARNING


def test_shares_of_a_sub_millisecond_profile() -> None:
    ops = profile.normalize([{"name": "a", "total_ms": 0.3}, {"name": "b", "total_ms": 0.2}])
    assert [o["share"] for o in ops] == [pytest.approx(0.6), pytest.approx(0.4)]
