"""bench/check.py in process, where tests/test_check.py goes through a subprocess (which the mutation run cannot see):
the tolerance parser, the one-line errors of unusable files, and `verify --reference` (hold_verify) on verify runs
written by hand; expected changes from numpy medians."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import check
from bench.errors import InputError
from bench.records import append_jsonl
from tests.test_check import compare, write
from tests.test_report import make_record, samples


@pytest.mark.parametrize(
    "text, value", [("5%", 5.0), ("5", 5.0), (" 7.5 % ", 7.5), ("0", 0.0), ("0%", 0.0), ("99.9%", 99.9)]
)
def test_tolerance_accepts_a_percentage(text: str, value: float) -> None:
    assert check.parse_pct(text) == value


@pytest.mark.parametrize(
    "text, why", [("five", "is not a percentage"), ("", "is not a percentage"), ("5X", "is not a percentage")]
)
def test_tolerance_that_is_no_number(text: str, why: str) -> None:
    with pytest.raises(InputError) as err:
        check.parse_pct(text)
    assert err.value.problem == f"tolerance {text!r} {why}" and err.value.fix == "pass e.g. --tolerance 5%"


@pytest.mark.parametrize("text", ["100", "100%", "-0.5", "250%"])
def test_tolerance_outside_0_to_100(text: str) -> None:
    with pytest.raises(InputError) as err:
        check.parse_pct(text)
    assert err.value.problem == f"tolerance {text!r} is outside 0-100 %" and err.value.fix == "pass e.g. --tolerance 5%"


def test_a_file_of_other_lines_is_no_results_file_and_says_how_many(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\nworld\n{}\n")
    with pytest.raises(InputError) as err:
        check.load(text, "NEW")
    assert err.value.problem == f"NEW {text} is not an edgebench results file (no run records; 2 lines are not JSON)"
    assert "`edgebench compare` or `run --output`" in err.value.fix
    only = write(tmp_path / "other.jsonl", [{"kind": "header"}, {"framework": "onnx"}])  # JSON, but no run
    with pytest.raises(InputError) as err:
        check.load(only, "REFERENCE")
    assert err.value.problem == f"REFERENCE {only} is not an edgebench results file (no run records)"
    with pytest.raises(InputError):
        check.load(tmp_path, "NEW")  # a directory
    with pytest.raises(InputError) as err:
        check.check(text, only)  # the command names the side that is wrong
    assert err.value.problem.startswith(f"NEW {text} is not an edgebench results file")


def test_broken_lines_beside_records_are_skipped_with_one_warning(tmp_path: Path, caplog: Any) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    with ref.open("a") as f:
        f.write("not json\n{broken\n")
    with caplog.at_level(logging.WARNING):
        recs = check.load(ref, "NEW")
    assert len(recs) == 6 and all(check.is_run(r) for r in recs)
    mine = [r.getMessage() for r in caplog.records if r.name == "bench.check"]
    assert mine == [f"{ref}: 2 broken lines skipped"]
    assert not [r for r in caplog.records if r.name == "bench.records"], "one line, not one per broken line"
    assert not logging.getLogger("bench.records").filters, "the filter is removed again"


def test_is_run_needs_framework_and_status() -> None:
    assert check.is_run({"framework": "onnx", "status": "ok"})
    assert not check.is_run({"framework": "onnx"}) and not check.is_run({"status": "ok"})
    assert not check.is_run(["framework", "status"]) and not check.is_run(None)


def test_nothing_in_common_names_both_sides(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    lonely = write(tmp_path / "lonely.jsonl", [make_record("pytorch", samples(1, 50), compare_id="p")])
    with pytest.raises(InputError) as err:
        check.check(lonely, ref)
    assert err.value.problem == (
        "NEW and REFERENCE have no (board, model, config) in common: NEW has digits_cnn on generic: pytorch; "
        "REFERENCE has digits_cnn on generic: onnx, tflite"
    )
    assert err.value.fix == "check results of the same model on the same board with the same --configs"
    two = write(
        tmp_path / "two.jsonl",
        [make_record("pytorch", samples(1, 50), compare_id="p"), {**make_record("onnx", samples(2, 50), compare_id="q"),
         "fleet": {"board": "pi-a"}}],
    )  # fmt: skip
    with pytest.raises(InputError) as err:
        check.check(two, ref)
    assert "NEW has digits_cnn on generic: pytorch; digits_cnn on pi-a: onnx; REFERENCE has" in err.value.problem
    with pytest.raises(InputError) as err:
        check.compare_groups({}, check.groups_of(check.load(ref, "REFERENCE")))
    assert err.value.problem.startswith("NEW and REFERENCE have no (board, model, config) in common: NEW has nothing;")


def test_to_dict_says_whether_it_passed(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    d = check.check(ref, ref).to_dict()
    assert d["passed"] is True and [r["verdict"] for r in d["rows"]] == ["unchanged", "unchanged"]
    slow = compare(tmp_path / "slow.jsonl", {"onnx": 1.5}, seed=7)
    d = check.check(slow, ref).to_dict()
    assert (
        d["passed"] is False
        and d["rows"][0]["regressed"] is True
        and d["compares"] == {"NEW": ["c1"], "REFERENCE": ["c1"]}
    )


def verify_run(raw_ms: List[float], created: str, label: str = "verify onnx") -> Dict[str, Any]:
    """A run as `edgebench verify` appends it: no compare section, its preset in options.label; accuracy 0.96."""
    rec = make_record("onnx", raw_ms, model_sha="onnx", accuracy=0.96)
    rec.pop("compare")
    rec["options"]["label"] = label
    if created:
        rec["created_utc"] = created
    else:
        rec.pop("created_utc")
    rec["model"]["path"] = "/m/digits_cnn.onnx"
    return rec


def test_hold_verify_uses_only_this_verify_runs(tmp_path: Path) -> None:
    ref = write(
        tmp_path / "ref.jsonl",
        [make_record("onnx", samples(r, 200), rnd=r, compare_id="r1", model_sha="onnx") for r in range(2)],
    )
    output = tmp_path / "runs.jsonl"
    old = samples(50, 200, 0.5)  # an earlier verify, twice as fast: not this one
    new = samples(60, 200, 1.3)
    for rec in (
        verify_run(old, "2026-01-01T00:00:00Z"),
        verify_run(samples(70, 200, 0.2), "2026-01-03T00:00:00Z", label="demo"),
        verify_run(new, "2026-01-02T00:00:00Z"),
        verify_run(samples(80, 200, 0.2), ""),  # no creation time: not this verify's
        {"kind": "note", "created_utc": "2026-01-02T00:00:00Z", "options": {"label": "verify onnx"}},
    ):
        append_jsonl(output, rec)
    groups = check.verify_groups(output, "2026-01-02T00:00:00Z")
    assert list(groups) == [("generic", "digits_cnn", "onnx")] and len(groups[("generic", "digits_cnn", "onnx")]) == 1
    assert len(check.verify_groups(output, "2026-01-01T00:00:00Z")[("generic", "digits_cnn", "onnx")]) == 2

    res = check.hold_verify(output, "2026-01-02T00:00:00Z", ref, tol=5.0, qtol=0.5)
    (row,) = res.rows
    ref_ms = [v for r in range(2) for v in samples(r, 200)]
    want = 100 * (np.median(new) / np.median(ref_ms) - 1)
    assert row.change_pct == pytest.approx(want, rel=1e-5) and row.verdict == "REGRESSION" and row.regressed
    assert (res.new, res.reference) == (f"verify runs in {output}", str(ref))
    assert (res.tolerance_pct, res.quality_tolerance, res.compares) == (5.0, 0.5, {"REFERENCE": ["r1"]})
    assert res.interval_method == check.METHOD
    (row,) = check.hold_verify(output, "2026-01-02T00:00:00Z", ref, tol=60.0, qtol=2.0).rows
    assert row.verdict == "unchanged" and not row.regressed  # +30 % inside 60 %, accuracy -1 point inside 2
    (row,) = check.hold_verify(output, "2026-01-02T00:00:00Z", ref, tol=60.0, qtol=0.5).rows
    assert row.verdict == "unchanged" and row.quality_regressed and row.regressed  # -1 point beyond 0.5
    notes = tmp_path / "notes.txt"
    notes.write_text("not results\n")
    with pytest.raises(InputError) as err:
        check.hold_verify(output, "2026-01-02T00:00:00Z", notes)
    assert (
        err.value.problem
        == f"REFERENCE {notes} is not an edgebench results file (no run records; 1 lines are not JSON)"
    )


def test_json_of_a_check_round_trips(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    text = json.dumps(check.check(ref, ref).to_dict())
    assert json.loads(text)["tolerance_pct"] == check.DEFAULT_TOLERANCE_PCT == 5.0
    assert json.loads(text)["quality_tolerance"] == check.DEFAULT_QUALITY_TOLERANCE == 0.5
