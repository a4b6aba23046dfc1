"""A device container keeps edgebench's cache in a named volume per profile, so a CPU peak measured once on a board
(bench/cpupeak.py) is there for the next container; without a kept cache an image measures nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import cpupeak
from launcher import devices, profiles
from tests.conftest import require


@pytest.mark.parametrize("name", sorted(profiles.PROFILES))
def test_every_profile_mounts_its_cache_volume_where_edgebench_looks(name: str) -> None:
    require("docker")
    profile = profiles.PROFILES[name]
    volumes = [m for m in devices.extra_mounts(profile, local=False) if m["Type"] == "volume"]
    assert {"Target": "/work/cache", "Source": f"edgebench-cache-{name}", "Type": "volume", "ReadOnly": False} in [
        dict(v) for v in volumes
    ]
    assert devices.extra_env(profile, local=False)["EDGEBENCH_CACHE_DIR"] == "/work/cache"


def _fake_measure(calls: list) -> object:
    def fake(duration_s: float = 0.0, *a: object) -> dict:
        calls.append(duration_s)
        return {"gops": 77.0, "method": "fake", "measured_utc": "2026-01-01T00:00:00Z", "idle": True}

    return fake


def test_an_image_measures_once_when_its_cache_is_a_mounted_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    """/dev/shm stands for the volume: a real mount point, as the launcher's volume is in the container."""
    root = Path("/dev/shm")
    assert root.is_mount(), "this test needs /dev/shm mounted (it is on Linux and in Docker)"
    calls: list = []
    monkeypatch.setattr(cpupeak, "measure", _fake_measure(calls))
    image = {"board": {"id": "generic"}, "in_container": True, "image": "edgebench/edgebench-host:0.1.0-amd64"}
    stored = cpupeak.cache_file(cpupeak.identity(), root)
    assert not stored.exists(), f"{stored} left from elsewhere"
    try:
        assert cpupeak.ensure(image, root)["gops"] == 77.0 and calls == [cpupeak.MEASURE_S]
        assert cpupeak.ensure(image, root)["gops"] == 77.0 and len(calls) == 1, "once per board"
    finally:
        shutil.rmtree(root / "peaks", ignore_errors=True)


def test_an_image_without_the_volume_measures_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list = []
    monkeypatch.setattr(cpupeak, "measure", _fake_measure(calls))
    image = {"board": {"id": "generic"}, "in_container": True, "image": "edgebench/edgebench-host:0.1.0-amd64"}
    assert cpupeak.ensure(image, tmp_path) is None and calls == []
