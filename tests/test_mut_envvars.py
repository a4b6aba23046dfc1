"""The cache root's lookup order, each name's ``~`` expansion and empty values, by known environments (mutation run
of bench/envvars.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench import envvars

NAMES = ("EDGEBENCH_CACHE_DIR", "EDGEBENCH_CACHE", "XDG_CACHE_HOME")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def test_read_gives_the_value_an_empty_value_or_the_default(env: pytest.MonkeyPatch) -> None:
    env.delenv("EDGEBENCH_IMAGE", raising=False)
    assert envvars.read("EDGEBENCH_IMAGE") is None
    assert envvars.read("EDGEBENCH_IMAGE", "fallback") == "fallback"
    env.setenv("EDGEBENCH_IMAGE", "")
    assert envvars.read("EDGEBENCH_IMAGE", "fallback") == ""
    env.setenv("EDGEBENCH_IMAGE", "edgebench/edgebench-rpi4:0.1.0-arm64")
    assert envvars.read("EDGEBENCH_IMAGE", "fallback") == "edgebench/edgebench-rpi4:0.1.0-arm64"


@pytest.mark.parametrize("name", NAMES)
def test_each_name_expands_the_home_tilde(env: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    env.setenv(name, "~/c")
    expected = tmp_path / "home" / "c"
    assert envvars.cache_root() == (expected / "edgebench" if name == "XDG_CACHE_HOME" else expected)


def test_empty_values_fall_through_to_the_next_name(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        env.setenv(name, "")
    assert envvars.cache_root() == tmp_path / "home" / ".cache" / "edgebench"
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    env.setenv("EDGEBENCH_CACHE", "")
    assert envvars.cache_root() == tmp_path / "x" / "edgebench"


def test_the_deprecated_name_wins_over_xdg_and_says_the_new_name_once(
    env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    env.setenv("EDGEBENCH_CACHE", str(tmp_path / "old"))
    with caplog.at_level(logging.WARNING, logger="bench.envvars"):
        assert envvars.cache_root() == tmp_path / "old"
    assert [r.getMessage() for r in caplog.records] == [
        f"EDGEBENCH_CACHE is deprecated: set EDGEBENCH_CACHE_DIR={tmp_path / 'old'} instead (the same cache root)"
    ]
    assert caplog.records[0].levelno == logging.WARNING
