"""bench/machine.py's throttle sampler and state by hand, on a fixture root laid out as a Pi 5 container sees it.

The sampler's thread is given a 1000 s interval, so it never reads during a test: every read is one the test makes
(``_sample``) or the one ``__exit__`` makes after the run, and the expected figures are worked out by hand from the
fixture files (temperatures in millidegrees, the firmware's get_throttled flags in hex: raspberrypi/documentation,
``vcgencmd get_throttled`` bits 0-3 now, 16-19 occurred).
"""

from __future__ import annotations

import logging
import os
import resource
import threading
from pathlib import Path

import pytest

from bench import machine

THROTTLED = "sys/bus/platform/drivers/raspberrypi-firmware/soc:firmware/get_throttled"


def _zone(root: Path, n: int, temp_mc: int, kind: str = "", passive_mc: int = 0) -> None:
    zone = root / f"sys/class/thermal/thermal_zone{n}"
    zone.mkdir(parents=True)
    (zone / "temp").write_text(f"{temp_mc}\n")
    if kind:
        (zone / "type").write_text(kind + "\n")
    if passive_mc:
        (zone / "trip_point_0_type").write_text("passive\n")
        (zone / "trip_point_0_temp").write_text(f"{passive_mc}\n")


def _flags(root: Path, text: str) -> None:
    path = root / THROTTLED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def test_the_state_now(tmp_path: Path) -> None:
    _zone(tmp_path, 0, 51200, "cpu-thermal", passive_mc=60000)
    _zone(tmp_path, 1, 100000, "PMIC-Die")  # skipped: a fixed 100 C reading
    _zone(tmp_path, 2, 40000)  # no type file
    _flags(tmp_path, "50005")
    assert machine.state(tmp_path) == {
        "thermal": [
            {"zone": "thermal_zone0", "type": "cpu-thermal", "temp_c": 51.2, "passive_trip_c": 60.0},
            {"zone": "thermal_zone2", "type": "", "temp_c": 40.0, "passive_trip_c": None},
        ],
        "pi_throttled": "0x50005",
        "pi_throttle_flags": ["under-voltage", "throttled", "under-voltage-occurred", "throttled-occurred"],
    }


def test_a_run_throttled_by_the_firmware_and_the_hottest_zone(tmp_path: Path) -> None:
    """Before: bits 16 and 18 already stuck (not the run's). During: under-voltage and throttled now (bits 0, 2).
    After: clear. The hottest reading is zone 0's 70 C in the read during the run."""
    _zone(tmp_path, 0, 50000, "cpu-thermal", passive_mc=80000)
    _zone(tmp_path, 1, 45000, "gpu-thermal")
    _flags(tmp_path, "50000")
    with machine.Sampler(interval_s=1000, root=tmp_path) as s:
        named = [t for t in threading.enumerate() if t.name == "edgebench-sampler"]
        assert len(named) == 1 and named[0].daemon, "a daemon thread: a run that never exits is not held open"
        (tmp_path / "sys/class/thermal/thermal_zone0/temp").write_text("70000\n")
        _flags(tmp_path, "50005")
        s._sample()
        (tmp_path / "sys/class/thermal/thermal_zone0/temp").write_text("55000\n")
        _flags(tmp_path, "0")
    summary = s.summary()
    assert summary["before"]["pi_throttled"] == "0x50000" and summary["after"]["pi_throttled"] == "0x0"
    del summary["before"], summary["after"]
    assert summary == {
        "max_temp_c": 70.0,
        "samples": 2,
        "interval_s": 1000,
        "pi_flags_during_run": "0x5",
        "throttled": True,
        "throttle_reasons": ["raspberry-pi firmware: under-voltage,throttled"],
    }


def test_a_zone_at_its_passive_trip_point_throttles_the_run(tmp_path: Path) -> None:
    _zone(tmp_path, 0, 60000, "cpu-thermal", passive_mc=60000)  # exactly at the trip point
    with machine.Sampler(interval_s=1000, root=tmp_path) as s:
        pass
    summary = s.summary()
    assert summary["throttle_reasons"] == ["a thermal zone reached its passive trip point"] and summary["throttled"]
    assert (summary["samples"], summary["max_temp_c"], summary["pi_flags_during_run"]) == (1, 60.0, "0x0")


def test_sampling_every_2_s_or_slower_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bench.machine"):
        machine.Sampler(interval_s=1.9)
        assert caplog.messages == []
        machine.Sampler(interval_s=2.0)
    assert caplog.messages == ["sampling every 2.0 s can miss Pi throttling (sticky bits cleared every 2 s)"]
    assert machine.Sampler().interval_s == 1.0


def test_memtotal_is_found_on_any_line(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text("MemFree:         7000000 kB\nMemTotal:        4096000 kB\n")
    assert machine.memory_mb(tmp_path) == 4000.0


def test_peak_rss_on_macos_is_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without /proc (macOS), ru_maxrss is bytes there and kilobytes on Linux."""
    real_read = machine._read
    monkeypatch.setattr(machine, "_read", lambda p: None if str(p) == "/proc/self/status" else real_read(p))
    monkeypatch.setattr(machine.sys, "platform", "darwin")
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got = machine.peak_rss_mb()
    assert ru / 1048576 <= got <= ru / 1048576 + 1


def test_vcgencmd_flags_in_upper_case_hex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "vcgencmd").write_text('#!/bin/sh\necho "throttled=0x5000A"\n')
    (bindir / "vcgencmd").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert machine.pi_throttled() == 0x5000A
    assert machine.throttle_flags(0x5000A) == [
        "arm-frequency-capped",
        "soft-temperature-limit",
        "under-voltage-occurred",
        "throttled-occurred",
    ]
