"""bench/cpupeak.py without a real measurement (fast): the one-line description of a measured peak, the identity a
peak is cached under, the BLAS name, the cache file's name and contents, when ``ensure`` measures (and what it
logs), the physical-core count's fallbacks and the derived x86 peak with its formula, all against values written by
hand."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import cpupeak, peaks

IDENT = {"cpu_model": "AMD EPYC", "arch": "x86_64", "cores": 2, "numpy": "2.4.6", "blas": "openblas 0.3.27"}


def test_describe_pins_the_whole_line_of_an_idle_measurement() -> None:
    entry = {
        "method": "M",
        "blas": "openblas 0.3.27",
        "cpu_model": "AMD EPYC",
        "cores": 4,
        "measured_utc": "2026-01-01T00:00:00Z",
        "others_cpu_share": 0.034,  # 3.4 % rounds to "3%"
        "idle": True,
    }
    assert cpupeak.describe(entry) == (
        "M, BLAS openblas 0.3.27, on AMD EPYC (4 cores), 2026-01-01T00:00:00Z; other programs' CPU use meanwhile 3%"
    )


def test_describe_of_a_sparse_entry_says_unknown_and_not_idle() -> None:
    assert cpupeak.describe({"method": "M"}) == (
        "M, BLAS ?, on ? (? cores), ?; other programs' CPU use meanwhile unknown"
        " (not idle; timed in CPU time, so it moves little)"
    )
    # 0.9 -> 90 % -> "90%"; idle False: the note follows
    assert cpupeak.describe({"method": "M", "others_cpu_share": 0.9, "idle": False}).endswith(
        "meanwhile 90% (not idle; timed in CPU time, so it moves little)"
    )


def _fake_np(blas: Dict[str, str]) -> SimpleNamespace:
    def show_config(*, mode: str) -> Dict[str, Any]:
        assert mode == "dicts"
        return {"Build Dependencies": {"blas": blas}}

    return SimpleNamespace(show_config=show_config, __version__="9.9")


def test_blas_names_the_library_and_its_version() -> None:
    assert cpupeak._blas(_fake_np({"name": "openblas", "version": "0.3.27"})) == "openblas 0.3.27"
    assert cpupeak._blas(_fake_np({"version": "0.3"})) == "? 0.3"  # no name: a question mark
    assert cpupeak._blas(_fake_np({"name": "mkl"})) == "mkl"  # no version: no trailing space


def test_blas_of_a_numpy_that_prints_its_config_is_unknown() -> None:
    def show_config(*a: object, **k: object) -> None:
        raise TypeError("unexpected keyword argument 'mode'")

    assert cpupeak._blas(SimpleNamespace(show_config=show_config)) == "unknown"


def _root(tmp_path: Path, cpuinfo: str) -> Path:
    (tmp_path / "proc").mkdir(parents=True)
    (tmp_path / "proc/cpuinfo").write_text(cpuinfo)
    return tmp_path


def test_identity_takes_the_model_from_cpuinfo_and_cores_numpy_from_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpupeak.os, "cpu_count", lambda: 7)
    monkeypatch.setattr(cpupeak.platform, "machine", lambda: "riscv64")
    monkeypatch.setattr(cpupeak, "_blas", lambda np_: "fakeblas 1")
    ident = cpupeak.identity(_root(tmp_path / "x86", "processor\t: 0\nmodel name\t: AMD EPYC 9V74\n"))
    assert ident == {"cpu_model": "AMD EPYC 9V74", "arch": "riscv64", "cores": 7, "numpy": np.__version__,
                     "blas": "fakeblas 1"}  # fmt: skip
    # an arm board: no "model name", "Model" (the board) before "Hardware" (the SoC)
    arm = _root(tmp_path / "arm", "processor\t: 0\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B\n")
    assert cpupeak.identity(arm)["cpu_model"] == "Raspberry Pi 4 Model B"
    soc = _root(tmp_path / "soc", "processor\t: 0\nHardware\t: BCM2835\n")
    assert cpupeak.identity(soc)["cpu_model"] == "BCM2835"


def test_identity_names_this_numpys_blas(tmp_path: Path) -> None:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # numpy's own report, read independently
    assert cpupeak.identity(tmp_path)["blas"] == f"{blas['name']} {blas['version']}"


def test_identity_without_cpuinfo_falls_back_to_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpupeak.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(cpupeak.platform, "processor", lambda: "ARMv8 Processor")
    assert cpupeak.identity(tmp_path)["cpu_model"] == "ARMv8 Processor"  # no proc/cpuinfo under tmp_path
    monkeypatch.setattr(cpupeak.platform, "processor", lambda: "")
    assert cpupeak.identity(tmp_path)["cpu_model"] == "aarch64"


def test_cache_file_is_a_hashed_json_name_under_peaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = cpupeak.cache_file(IDENT, tmp_path)
    assert path.parent == tmp_path / "peaks" and re.fullmatch(r"cpu-[0-9a-f]{16}\.json", path.name)
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "env"))
    assert cpupeak.cache_file(IDENT) == tmp_path / "env" / "peaks" / path.name  # no root: $EDGEBENCH_CACHE_DIR
    monkeypatch.setattr(cpupeak, "CACHE_SCHEMA", 2)
    assert cpupeak.cache_file(IDENT, tmp_path) != path, "a new cache schema finds no old entry"


def test_cached_reads_only_an_entry_with_a_peak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpupeak, "identity", lambda: dict(IDENT))
    path = cpupeak.cache_file(IDENT, tmp_path)
    assert cpupeak.cached(tmp_path) is None  # no file
    path.parent.mkdir(parents=True)
    for text in ("{not json", "[1, 2]", '{"gops": 0}', '{"method": "m"}'):
        path.write_text(text)
        assert cpupeak.cached(tmp_path) is None, text
    path.write_text('{"gops": 12.5, "method": "m"}')
    assert cpupeak.cached(tmp_path) == {"gops": 12.5, "method": "m", "cache_file": str(path)}


def _fake_measure(calls: List[float]) -> Any:
    def fake(duration_s: float = 0.0, *a: object) -> Dict[str, Any]:
        calls.append(duration_s)
        return {"gops": 40.0, "method": "fake", "measured_utc": "2026-01-01T00:00:00Z", "idle": True}

    return fake


def test_measure_and_store_writes_the_entry_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[float] = []
    monkeypatch.setattr(cpupeak, "identity", lambda: dict(IDENT))
    monkeypatch.setattr(cpupeak, "measure", _fake_measure(calls))
    entry = cpupeak.measure_and_store(tmp_path / "new", duration_s=3.0)  # the root does not exist yet
    path = cpupeak.cache_file(IDENT, tmp_path / "new")
    assert calls == [3.0] and entry["cache_file"] == str(path)
    want = {**IDENT, "gops": 40.0, "method": "fake", "measured_utc": "2026-01-01T00:00:00Z", "idle": True}
    want["cache_schema"] = 1
    assert json.loads(path.read_text()) == want and entry == {**want, "cache_file": str(path)}
    assert path.read_text().startswith('{\n "arch": "x86_64",\n "blas"'), "indent 1, keys sorted"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "no temporary file left"
    assert cpupeak.measure_and_store(tmp_path / "new", duration_s=1.0)["gops"] == 40.0  # an existing dir is fine


def _no_board(monkeypatch: pytest.MonkeyPatch, calls: List[float]) -> None:
    monkeypatch.setattr(cpupeak, "identity", lambda: dict(IDENT))
    monkeypatch.setattr(cpupeak, "measure", _fake_measure(calls))
    monkeypatch.setattr(peaks, "board_knows_cpu", lambda machine: False)


def test_ensure_never_measures_a_cpu_the_table_knows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[float] = []
    _no_board(monkeypatch, calls)
    monkeypatch.setattr(peaks, "board_knows_cpu", lambda machine: True)
    assert cpupeak.ensure({"board": {"id": "rpi5"}}, tmp_path) is None and calls == []
    assert not (tmp_path / "peaks").exists()


def test_ensure_returns_the_entry_cached_in_the_given_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[float] = []
    _no_board(monkeypatch, calls)
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "elsewhere"))
    path = cpupeak.cache_file(IDENT, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"gops": 7.5}')
    assert cpupeak.ensure({}, tmp_path) == {"gops": 7.5, "cache_file": str(path)} and calls == []


def test_ensure_measures_in_an_image_whose_cache_is_a_mount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: List[float] = []
    _no_board(monkeypatch, calls)
    monkeypatch.setattr(Path, "is_mount", lambda self: self == tmp_path)
    caplog.set_level(logging.INFO, logger="bench.cpupeak")
    entry = cpupeak.ensure({"image": "edgebench/x:1", "emulated": False}, tmp_path)
    path = cpupeak.cache_file(IDENT, tmp_path)
    assert calls == [20.0] and entry["gops"] == 40.0 and entry["cache_file"] == str(path)
    assert caplog.messages == [
        "no measured peak for this CPU yet: measuring it once (20 s); `edgebench peaks --measure` redoes it "
        "on an idle machine",
        f"CPU peak: 40.0 GOP/s fp32, cached in {path}",
    ]


def test_ensure_says_why_it_does_not_measure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: List[float] = []
    _no_board(monkeypatch, calls)
    monkeypatch.setattr(Path, "is_mount", lambda self: False)
    caplog.set_level(logging.INFO, logger="bench.cpupeak")
    assert cpupeak.ensure({"emulated": True, "image": "edgebench/x:1"}, tmp_path) is None
    assert cpupeak.ensure({"image": "edgebench/x:1"}, tmp_path) is None
    tail = "`edgebench peaks --measure` where the cache is kept"
    assert caplog.messages == [
        f"no CPU peak measured here (emulated): {tail}",
        f"no CPU peak measured here (in image edgebench/x:1, whose cache is not kept): {tail}",
    ]
    assert calls == []


def test_ensure_without_a_root_uses_the_default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[float] = []
    _no_board(monkeypatch, calls)
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "env"))
    mounts: List[Path] = []
    monkeypatch.setattr(Path, "is_mount", lambda self: mounts.append(self) or True)
    entry = cpupeak.ensure({"image": "edgebench/x:1"})
    assert mounts == [tmp_path / "env"] and calls == [20.0]
    assert entry["cache_file"] == str(cpupeak.cache_file(IDENT, tmp_path / "env"))


def test_physical_cores_falls_back_to_the_logical_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _root(tmp_path, "processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n")  # no core ids
    monkeypatch.setattr(cpupeak.os, "cpu_count", lambda: 3)
    assert cpupeak.physical_cores(root) == 3
    monkeypatch.setattr(cpupeak.os, "cpu_count", lambda: None)
    assert cpupeak.physical_cores(root) == 1


def test_physical_cores_counts_cores_of_each_socket(tmp_path: Path) -> None:
    # two sockets, each with core ids 0 and 1, plus one SMT sibling: 4 distinct (socket, core) pairs
    blocks = [f"processor\t: {i}\nphysical id\t: {s}\ncore id\t\t: {c}\n" for i, (s, c) in
              enumerate(((0, 0), (0, 1), (1, 0), (1, 1), (1, 1)))]  # fmt: skip
    assert cpupeak.physical_cores(_root(tmp_path, "\n".join(blocks))) == 4


def _zen4(tmp_path: Path, mhz_line: str) -> Path:
    block = f"vendor_id\t: AuthenticAMD\ncpu family\t: 25\n{mhz_line}flags\t\t: fpu avx2 fma avx512f\n"
    cpus = [f"processor\t: {i}\n{block}physical id\t: 0\ncore id\t\t: {i}\n" for i in range(4)]
    return _root(tmp_path, "\n".join(cpus))


def test_derived_x86_formula_from_the_max_clock(tmp_path: Path) -> None:
    root = _zen4(tmp_path, "cpu MHz\t\t: 1500.000\n")
    freq = root / "sys/devices/system/cpu/cpu0/cpufreq"
    freq.mkdir(parents=True)
    (freq / "cpuinfo_max_freq").write_text("3250000\n")  # kHz: 3.25 GHz
    # 4 cores x 3.25 GHz x 32 fp32 ops/cycle = 416.0 GOP/s
    assert cpupeak.derived_x86(root) == {
        "gops": pytest.approx(416.0),
        "ghz": pytest.approx(3.25),
        "core": "AMD Zen 4",
        "formula": "4 cores x 3.250 GHz (cpuinfo_max_freq) x 32 fp32 ops/cycle = 416.0",
        "source": cpupeak.X86_CORES[0].source,
    }


def test_derived_x86_from_the_current_clock_or_none(tmp_path: Path) -> None:
    d = cpupeak.derived_x86(_zen4(tmp_path / "a", "cpu MHz\t\t: 2000.5\n"))
    # 4 x 2.0005 GHz x 32 = 256.064 GOP/s
    assert d["gops"] == pytest.approx(256.064) and d["formula"] == (
        "4 cores x 2.001 GHz (cpu MHz in /proc/cpuinfo: the current clock, no cpufreq to give the maximum; boost "
        "can exceed it) x 32 fp32 ops/cycle = 256.1"
    )
    assert cpupeak.derived_x86(_zen4(tmp_path / "b", "")) is None, "no clock at all: no figure"


def test_read_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert cpupeak._read(tmp_path / "nothing") == ""
    (tmp_path / "bad").write_bytes(b"a\xffb")
    assert cpupeak._read(tmp_path / "bad") == "a\ufffdb"  # undecodable bytes replaced, not an error
    assert os.path.exists(tmp_path / "bad")


def test_cache_file_does_not_depend_on_the_order_of_the_identity(tmp_path: Path) -> None:
    backwards = dict(reversed(list(IDENT.items())))  # the same identity, keys in the opposite order
    assert cpupeak.cache_file(backwards, tmp_path) == cpupeak.cache_file(IDENT, tmp_path)
