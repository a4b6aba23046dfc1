"""bench/cpupeak.py's measurement run for real at a small size (fast): the operand size it settles on when every
product is quicker than MIN_PRODUCT_S (the cap), one window when the duration is 0, what the child reports, and the
share of the CPUs other programs used, which /proc/stat always gives on Linux."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import cpupeak


def test_one_core_grows_the_operands_to_the_cap_and_reports_its_run() -> None:
    # a 256x256 float32 product is about 34 MFLOP: far under MIN_PRODUCT_S (50 ms) of CPU time, so n doubles to the
    # cap; 512 is the last size with n * 2 > max_n
    res = cpupeak.one_core(0.0, 0.02, 512)
    assert res["n"] == 512 and res["numpy"] == np.__version__
    assert len(res["windows"]) == 1 and res["windows"][0] > 0  # duration 0: exactly one window
    assert 0.02 <= res["wall_s"] < 60  # a window is 0.02 s of this thread's CPU time, so at least that long
    assert res["cpu_s"] >= 0.02
    assert cpupeak.one_core(0.0, 0.01, 1024)["n"] == 1024
    assert cpupeak.one_core(0.0, 0.01, 300)["n"] == 256  # the cap is not a power of two: the last one below it


def test_measure_says_how_busy_the_machine_was() -> None:
    res = cpupeak.measure(duration_s=0.05, window_s=0.01, max_n=256)  # at or under MIN_N: n passed as a float once
    assert res["others_cpu_share"] is not None and 0.0 <= res["others_cpu_share"] <= 1.0
    assert res["idle"] == (res["others_cpu_share"] <= cpupeak.IDLE_OTHERS_MAX)
    assert res["windows"] >= 1 and res["gops"] == res["per_core_gops"] * cpupeak.physical_cores()
    assert res["method"].startswith(f"numpy {np.__version__} float32 matmul 256x256 on one BLAS thread, best 0.01-s")


def test_measure_from_a_child_and_proc_stat_written_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Contract test of how the child is started (the real child runs in the tests above): the child's report, two
    /proc/stat readings and the clock are given, every figure of the result follows by hand."""
    import os
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    stats = iter(["cpu  100 0 0 1000 0 0 0 0 0 0\ncpu0 1 2 3\n", "cpu  300 5 0 1500 100 5 0 0 7 7\n"])
    real_read = cpupeak._read
    monkeypatch.setattr(cpupeak, "_read", lambda p: next(stats) if p == Path("/proc/stat") else real_read(p))
    clock = iter([10.0, 14.0])
    monkeypatch.setattr(cpupeak.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(cpupeak, "physical_cores", lambda root=Path("/"): 4)
    monkeypatch.setattr(cpupeak.os, "cpu_count", lambda: 2)
    calls = []
    child = {"n": 256, "windows": [3.0, 1.0, 4.0, 2.0], "wall_s": 2.4, "cpu_s": 0.5, "numpy": "9.9"}

    def fake_run(argv: list, **kw: object) -> SimpleNamespace:
        calls.append((argv, kw))
        return SimpleNamespace(stdout="a warning\n" + json.dumps(child) + "\n")

    monkeypatch.setattr(cpupeak.subprocess, "run", fake_run)
    res = cpupeak.measure(duration_s=2.0, window_s=0.5, max_n=512)
    ((argv, kw),) = calls
    assert argv == [sys.executable, "-c", cpupeak._CHILD, "2.0", "0.5", "512"]
    assert all(kw["env"][k] == "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    assert kw["env"]["BLIS_NUM_THREADS"] == "1" and kw["env"]["PATH"] == os.environ["PATH"]
    assert (kw["capture_output"], kw["text"], kw["timeout"], kw["check"]) == (True, True, 2.0 * 20 + 120, True)
    assert (res["gops"], res["per_core_gops"], res["median_window_gops"], res["windows"]) == (16.0, 4.0, 12.0, 4)
    assert res["method"] == (
        "numpy 9.9 float32 matmul 256x256 on one BLAS thread, best 0.5-s CPU-time window of 2 s, x 4 cores"
    )
    # busy jiffies (all but idle and iowait of the first 8 fields): 310 - 100 = 210; 2 CPUs for 4 s; less the child's 0.5 s
    busy_s = ((300 + 5 + 1500 + 100 + 5) - 1500 - 100 - 100) / os.sysconf("SC_CLK_TCK")
    assert res["others_cpu_share"] == pytest.approx((busy_s - 0.5) / (4.0 * 2))
    assert res["idle"] is (res["others_cpu_share"] <= 0.10)
    assert res["loadavg_1min_before"] == pytest.approx(os.getloadavg()[0], abs=5.0)
    assert len(res["measured_utc"]) == 20 and res["measured_utc"].endswith("Z") and res["measured_utc"][10] == "T"
