"""The cache root has one name (EDGEBENCH_CACHE_DIR) and follows XDG; its earlier name still works, with a warning; the
conversion cache, the TensorRT engine cache and the measured CPU peak all live under it. One UTC timestamp format."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bench import envvars


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (envvars.CACHE_DIR, envvars.DEPRECATED_CACHE, envvars.ENGINE_CACHE, envvars.XDG_CACHE_HOME):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_cache_root_order(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("HOME", str(tmp_path / "home"))
    assert envvars.cache_root() == tmp_path / "home" / ".cache" / "edgebench"
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert envvars.cache_root() == tmp_path / "xdg" / "edgebench"
    clean_env.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "mine"))
    assert envvars.cache_root() == tmp_path / "mine"


def test_the_earlier_name_still_works_with_a_warning(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean_env.setenv("EDGEBENCH_CACHE", str(tmp_path / "old"))
    with caplog.at_level(logging.WARNING, logger="bench.envvars"):
        assert envvars.cache_root() == tmp_path / "old"
    assert "EDGEBENCH_CACHE is deprecated" in caplog.text and "EDGEBENCH_CACHE_DIR" in caplog.text
    caplog.clear()
    clean_env.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "new"))
    with caplog.at_level(logging.WARNING, logger="bench.envvars"):
        assert envvars.cache_root() == tmp_path / "new"
    assert not caplog.text, "the current name wins, silently"


def test_every_cache_lives_under_the_one_root(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bench import cpupeak
    from bench.convert import cache
    from bench.runtimes.trt_cache import engine_cache_dir

    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path))
    root = tmp_path / "edgebench"
    assert cache.default_root() == root
    assert engine_cache_dir() == root / "tensorrt"
    assert cpupeak.cache_file({"cpu_model": "x"}).parent == root / "peaks"
    clean_env.setenv("EDGEBENCH_ENGINE_CACHE", "/work/engine-cache")  # the launcher's volume on a Jetson
    assert engine_cache_dir() == Path("/work/engine-cache")


def test_one_timestamp_format() -> None:
    from bench.records import utc_now

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", utc_now())
