"""The board's identity as the launcher reads it on the host and hands it in (bench/hostfacts.py), by behaviour on the
fixture trees of tests/fixtures/sysfs (what the host of each board holds: see its README) and on small hand-made ones.
Expected values are the fixture files' own text, read here by hand. Fast: files only."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bench import hostfacts

SYSFS = Path(__file__).parent / "fixtures" / "sysfs"


def test_rpi5_host_model_compatible_and_soc(monkeypatch: pytest.MonkeyPatch) -> None:
    root = SYSFS / "rpi5" / "idle"
    monkeypatch.setenv(hostfacts.ROOT_ENV, str(root))
    facts = hostfacts.read_host()
    assert facts == {
        "root": str(root),
        "model": "Raspberry Pi 5 Model B Rev 1.0",
        "compatible": ["raspberrypi,5-model-b", "brcm,bcm2712"],
        "soc": "brcm,bcm2712",
    }


@pytest.mark.parametrize("board,l4t", [("jetson-nano", "32.7.1"), ("jetson-orin", "36.4.0")])
def test_jetson_l4t_release_from_nv_tegra_release(board: str, l4t: str) -> None:
    root = SYSFS / board / "idle"
    facts = hostfacts.read_host(root)
    assert facts["l4t"] == l4t and facts["root"] == str(root)
    assert facts["model"].startswith("NVIDIA Jetson") and not facts["model"].endswith("\x00")


def test_a_host_without_any_file_gives_only_its_root(tmp_path: Path) -> None:
    assert hostfacts.read_host(tmp_path) == {"root": str(tmp_path)}


def test_blank_model_and_empty_compatible_entries_are_left_out(tmp_path: Path) -> None:
    dt = tmp_path / "proc" / "device-tree"
    dt.mkdir(parents=True)
    (dt / "model").write_bytes(b"  \x00")
    (dt / "compatible").write_bytes(b"vendor,board\x00 \x00soc,chip\x00\x00")
    facts = hostfacts.read_host(tmp_path)
    assert "model" not in facts
    assert facts["compatible"] == ["vendor,board", "soc,chip"] and facts["soc"] == "soc,chip"


def test_model_padding_stripped_and_bad_bytes_replaced(tmp_path: Path) -> None:
    dt = tmp_path / "proc" / "device-tree"
    dt.mkdir(parents=True)
    (dt / "model").write_bytes(b" Board \xff X \x00\x00")
    assert hostfacts.read_host(tmp_path)["model"] == "Board \ufffd X"


@pytest.mark.parametrize(
    "line,l4t",
    [
        ("# R35 (release), REVISION: 5.0, GCID: 1", "35.5.0"),
        ("#R32(release),REVISION:6.1", "32.6.1"),
        ("# R32 (release), REVISION: 4.4.1, GCID", "32.4.4.1"),
        ("R32 (release), REVISION: 7.1", None),  # not the file's first-line format
        ("# R32 (release) REVISION: 7.1", None),
        ("", None),
    ],
)
def test_tegra_release_line_parsing(tmp_path: Path, line: str, l4t: object) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "nv_tegra_release").write_text(line + "\n")
    assert hostfacts.read_host(tmp_path).get("l4t") == l4t


def test_unreadable_file_is_a_missing_fact(tmp_path: Path) -> None:
    (tmp_path / "proc" / "device-tree" / "model").mkdir(parents=True)  # a folder: reading it fails with an OSError
    assert hostfacts.read_host(tmp_path) == {"root": str(tmp_path)}


def test_root_defaults_to_slash_and_empty_env_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hostfacts.ROOT_ENV, raising=False)
    assert hostfacts.host_root() == Path("/")
    monkeypatch.setenv(hostfacts.ROOT_ENV, "")
    assert hostfacts.host_root() == Path("/")
    monkeypatch.setenv(hostfacts.ROOT_ENV, "/x/y")
    assert hostfacts.host_root() == Path("/x/y")


def test_handed_round_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    facts = {"model": "Raspberry Pi 4 Model B Rev 1.4", "soc": "brcm,bcm2711", "root": "/"}
    env = hostfacts.to_env(facts)
    assert list(env) == ["EDGEBENCH_HOST_FACTS"]
    assert env["EDGEBENCH_HOST_FACTS"] == json.dumps(facts, sort_keys=True)
    assert env["EDGEBENCH_HOST_FACTS"].index('"model"') < env["EDGEBENCH_HOST_FACTS"].index('"root"')
    monkeypatch.setenv("EDGEBENCH_HOST_FACTS", env["EDGEBENCH_HOST_FACTS"])
    assert hostfacts.handed() == facts


def test_handed_without_launcher_or_with_bad_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("EDGEBENCH_HOST_FACTS", raising=False)
    assert hostfacts.handed() == {}
    monkeypatch.setenv("EDGEBENCH_HOST_FACTS", "")
    assert hostfacts.handed() == {}
    monkeypatch.setenv("EDGEBENCH_HOST_FACTS", "[1, 2]")
    assert hostfacts.handed() == {}
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bench.hostfacts"):
        monkeypatch.setenv("EDGEBENCH_HOST_FACTS", "{not json")
        assert hostfacts.handed() == {}
    assert [r.getMessage() for r in caplog.records] == [
        "EDGEBENCH_HOST_FACTS is not JSON; the board's identity is unknown in here"
    ]


def test_jetson_nano_compatible_list_names_the_soc_last(tmp_path: Path) -> None:
    """A Jetson Nano's compatible (NVIDIA L4T tegra210-p3448-0000-p3449-0000-b00.dts): board, module, SoC."""
    dt = tmp_path / "proc" / "device-tree"
    dt.mkdir(parents=True)
    (dt / "compatible").write_bytes(
        b"nvidia,p3449-0000-b00+p3448-0000-b00\x00nvidia,jetson-nano\x00nvidia,tegra210\x00"
    )
    (dt / "model").write_bytes(b"NVIDIA Jetson Xavier NX\x00")  # a model name ending in X keeps its X
    facts = hostfacts.read_host(tmp_path)
    assert facts["soc"] == "nvidia,tegra210" and len(facts["compatible"]) == 3
    assert facts["model"] == "NVIDIA Jetson Xavier NX"
