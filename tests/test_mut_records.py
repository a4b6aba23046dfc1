"""Result records (mutation run of bench/records.py): the version-2 -> 3 compute upgrade on read with every value
worked out by hand, which records it leaves alone, the dataclass-to-dict copy checked against dataclasses.asdict,
the timestamp format, and appending after a torn line (one write, however short the file system's writes)."""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bench import records

PEAK_ERROR = (
    "above 100% of the peak ({pct}% of a {kind} peak) is impossible: recorded by an older edgebench whose peak was "
    "wrong (a measured peak from half a second in the run's own process, or Cortex-A57/A72 peaks twice too high)"
)
NOTE = "corrected on read: Cortex-A57/A72 issue one FMLA.4S per cycle (8 fp32 ops), not 16"


def _v2(board: Any, compute: Any, version: int = 2) -> Dict[str, Any]:
    return {"schema_version": version, "machine": {"board": {"id": board}}, "compute": compute}


def test_pi4_fmla_formula_peak_halved_share_doubled() -> None:
    old = {
        "device": "cpu",
        "peak_gops": 115.2,
        "peak_kind": "derived",
        "peak_formula": "4 cores x 1.8 GHz x 16 fp32 ops/cycle (2 FMLA.4S) = 115.2",
        "pct_of_peak": 30.0,
    }
    # 4 x 1.8 x 8 = 57.6 GOP/s; the share of a peak half as large is twice as large: 60 %
    assert records.upgrade(_v2("rpi4", old))["compute"] == {
        "device": "cpu",
        "peak_gops": 57.6,
        "peak_kind": "derived",
        "peak_formula": "4 cores x 1.8 GHz x 8 fp32 ops/cycle = 115.2",
        "pct_of_peak": 60.0,
        "peak_note": NOTE,
    }
    assert old["peak_gops"] == 115.2 and "peak_note" not in old, "the record read is not changed"


def test_jetson_nano_share_over_100_after_correction_becomes_error() -> None:
    old = {"device": "cpu", "peak_gops": 94.4, "peak_kind": "derived", "peak_formula": "4 x 1.475 x 16 fp32 ops/cycle"}
    old["pct_of_peak"] = 75.0  # doubled: 150 % > 100, so no share but an error naming it
    up = records.upgrade(_v2("jetson-nano", old))["compute"]
    assert up["peak_gops"] == 47.2 and up["peak_formula"] == "4 x 1.475 x 8 fp32 ops/cycle"
    assert up["pct_of_peak"] is None and up["peak_error"] == PEAK_ERROR.format(pct=150, kind="derived")


def test_pi4_without_share_keeps_none() -> None:
    old = {"device": "cpu", "peak_gops": 115.2, "peak_formula": "x 16 fp32 ops/cycle", "pct_of_peak": None}
    up = records.upgrade(_v2("rpi4", old))["compute"]
    assert up["peak_gops"] == 57.6 and up["pct_of_peak"] is None and "peak_error" not in up


def test_measured_peak_source_named_and_share_kept() -> None:
    old = {"device": "cpu", "peak_gops": 9.0, "peak_kind": "measured", "peak_source": "numpy", "pct_of_peak": 100.0}
    up = records.upgrade(_v2("generic", old))["compute"]
    assert up == {
        "device": "cpu",
        "peak_gops": 9.0,
        "peak_kind": "measured",
        "peak_source": "numpy (measured in the run's own process: not comparable between runs)",
        "pct_of_peak": 100.0,  # exactly 100 is possible, kept
    }


def test_share_above_100_names_kind_and_rounds() -> None:
    old = {"device": "gpu", "peak_gops": 472.0, "peak_kind": "datasheet", "pct_of_peak": 100.6}
    up = records.upgrade(_v2("jetson-nano", old))["compute"]  # a GPU peak: not halved
    assert up["peak_gops"] == 472.0 and up["pct_of_peak"] is None
    assert up["peak_error"] == PEAK_ERROR.format(pct=101, kind="datasheet")  # 100.6 shown as 101


@pytest.mark.parametrize(
    "board, compute",
    [
        ("rpi5", {"device": "cpu", "peak_gops": 153.6, "peak_formula": "x 16 fp32 ops/cycle", "pct_of_peak": 50.0}),
        ("rpi4", {"device": "gpu", "peak_gops": 32.0, "peak_formula": "x 16 fp32 ops/cycle", "pct_of_peak": 50.0}),
        ("rpi4", {"device": "cpu", "peak_gops": 57.6, "peak_formula": "x 8 fp32 ops/cycle", "pct_of_peak": 50.0}),
        ("rpi4", {"device": "cpu", "peak_gops": 57.6, "peak_formula": None, "pct_of_peak": 50.0}),
        ("rpi4", {"device": "cpu", "peak_gops": 0, "peak_formula": "x 16 fp32 ops/cycle", "pct_of_peak": 500.0}),
        ("rpi4", {"device": "cpu", "peak_formula": "x 16 fp32 ops/cycle", "pct_of_peak": 500.0}),
    ],
)
def test_sections_left_alone(board: str, compute: Dict[str, Any]) -> None:
    # not a Cortex-A57/A72 board, not the CPU, already 8 ops, no formula, no peak: nothing to correct
    assert records.upgrade(_v2(board, compute))["compute"] == compute


def test_record_without_machine_or_compute_dict() -> None:
    old = {"device": "cpu", "peak_gops": 9.0, "peak_kind": "derived", "pct_of_peak": 50.0}
    assert records.upgrade({"schema_version": 2, "compute": old})["compute"] == old
    assert records.upgrade({"schema_version": 2, "machine": None, "compute": old})["compute"] == old
    assert records.upgrade({"schema_version": 2, "machine": {"board": None}, "compute": old})["compute"] == old
    assert records.upgrade(_v2("rpi4", ["x 16 fp32 ops/cycle"]))["compute"] == ["x 16 fp32 ops/cycle"]


def test_version_3_record_not_upgraded_again() -> None:
    measured = {"device": "cpu", "peak_gops": 9.0, "peak_kind": "measured", "peak_source": "cache", "pct_of_peak": 5}
    record = _v2("rpi4", measured, version=3)
    assert records.upgrade(record) == record


def test_version_2_record_gets_no_version_2_sections() -> None:
    assert records.upgrade({"schema_version": 2}) == {"schema_version": 3}


@dataclasses.dataclass
class Holder:
    rows: List[Any]
    pair: Any
    other: Any


def test_plain_equals_asdict() -> None:
    point = collections.namedtuple("point", "x y")
    model = records.ModelInfo("m", "h", 1.0, "onnx", inputs=[{"shape": [1, 2]}])
    holder = Holder(rows=[{"a": [1]}, model], pair=(model, point(1, [2])), other=collections.deque([[3]]))
    plain = records._plain(holder)
    assert plain == dataclasses.asdict(holder)  # the reference: what it stands in for
    assert type(plain["pair"]) is tuple and type(plain["pair"][1]) is point
    plain["rows"][0]["a"].append(9)
    plain["other"][0].append(9)
    assert holder.rows[0] == {"a": [1]} and holder.other == collections.deque([[3]]), "copies, not shared"


def test_utc_now_is_utc_to_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30: local time would differ
    time.tzset()
    try:
        before = datetime.now(timezone.utc).replace(microsecond=0)
        stamp = records.utc_now()
        after = datetime.now(timezone.utc)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= parsed <= after


def test_append_after_torn_line_starts_fresh_and_reader_skips_it(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":')  # a writer died mid-line
    records.append_jsonl(path, {"c": "\u00e9"})
    assert path.read_bytes() == b'{"a":1}\n{"b":\n{"c":"\\u00e9"}\n'
    with caplog.at_level(logging.WARNING, logger="bench.records"):
        assert list(records.read_jsonl(path)) == [{"a": 1}, {"c": "\u00e9"}]
    assert caplog.messages == [f"{path}:2 is not a complete JSON record (interrupted write?); skipped"]


def test_append_completes_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write, sizes = os.write, []

    def short_write(fd: int, data: bytes) -> int:  # a file system that takes at most 4 bytes a call
        sizes.append(len(data))
        assert len(sizes) <= 3, "a 9-byte line needs three 4-byte writes"  # no endless loop on a miscount
        return real_write(fd, data[:4])

    path = tmp_path / "r.jsonl"
    monkeypatch.setattr(os, "write", short_write)
    records.append_jsonl(path, {"k": 12})
    monkeypatch.undo()
    # '{"k":12}\n' is 9 bytes: calls with 9, 5 and 1 bytes left
    assert path.read_bytes() == b'{"k":12}\n' and sizes == [9, 5, 1]
    assert json.loads(path.read_text()) == {"k": 12}
