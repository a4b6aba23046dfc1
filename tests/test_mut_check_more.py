"""bench/check.py's parts in process, on records and summaries small enough to work out by hand: the verdict at the
tolerance's edge, the change without raw samples, the quality line, the model identity, the environment facts and
the messages a user reads. Constant samples make every bootstrap resample equal, so an interval is known exactly."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest

from bench import check
from bench.errors import InputError
from tests.test_check import write
from tests.test_report import CID, make_record


def raw(ms: float, n: int = 3) -> List[Dict[str, Any]]:
    """One ok record of ``n`` equal raw samples of ``ms`` (what pooled_raw_ms reads)."""
    return [{"status": "ok", "latency": {"raw_invoke_ns": [round(ms * 1e6)] * n}}]


def latency_row(new: List[Dict[str, Any]], ref: List[Dict[str, Any]], tol: float, medians: tuple = ()) -> check.Row:
    row = check.Row("pi5", "m", "onnx", "")
    if medians:
        row.new_median_ms, row.reference_median_ms = medians
    check._latency(row, new, ref, tol)
    return row


# --- _latency ------------------------------------------------------------------------------------------------


def test_an_interval_exactly_at_the_tolerance_is_not_beyond_it() -> None:
    # 1.5 ms vs 1.0 ms, every resample equal: change = low = high = 100 * (1.5 / 1.0 - 1) = +50 % exactly
    row = latency_row(raw(1.5), raw(1.0), tol=50.0)
    assert (row.change_pct, row.ci_low_pct, row.ci_high_pct) == (50.0, 50.0, 50.0)
    assert row.verdict == "unchanged" and not row.regressed
    # 0.5 ms vs 1.0 ms: 100 * (0.5 - 1) = -50 % exactly, not below -50 %
    row = latency_row(raw(0.5), raw(1.0), tol=50.0)
    assert (row.change_pct, row.ci_low_pct, row.ci_high_pct) == (-50.0, -50.0, -50.0)
    assert row.verdict == "unchanged" and not row.regressed
    # identical constant runs with a 0 % tolerance: the interval is the single point 0 %, neither side of it
    row = latency_row(raw(2.0), raw(2.0), tol=0.0)
    assert (row.ci_low_pct, row.ci_high_pct, row.verdict, row.regressed) == (0.0, 0.0, "unchanged", False)


def test_just_beyond_the_tolerance_either_way() -> None:
    row = latency_row(raw(1.5), raw(1.0), tol=49.0)  # +50 % > 49 %
    assert (row.verdict, row.regressed) == ("REGRESSION", True)
    row = latency_row(raw(0.5), raw(1.0), tol=49.0)  # -50 % < -49 %
    assert (row.verdict, row.regressed) == ("improvement", False)


NO_RAW_NOTE = "no raw samples (--no-raw) in one file: no interval, no verdict"


def test_without_raw_samples_in_one_file_the_change_of_the_medians_and_no_verdict() -> None:
    no_raw = [{"status": "ok", "latency": {"raw_invoke_ns": []}}]
    # medians 3.0 and 2.0 ms: 100 * (3.0 / 2.0 - 1) = +50 %; no interval
    for new, ref in ((no_raw, raw(2.0)), (raw(3.0), no_raw), (no_raw, no_raw)):
        row = latency_row(new, ref, tol=5.0, medians=(3.0, 2.0))
        assert (row.change_pct, row.ci_low_pct, row.ci_high_pct) == (50.0, None, None)
        assert (row.verdict, row.regressed, row.notes) == ("no interval", False, [NO_RAW_NOTE])
    # medians 1.0 and 4.0 ms: 100 * (1.0 / 4.0 - 1) = -75 %
    row = latency_row(no_raw, raw(2.0), tol=5.0, medians=(1.0, 4.0))
    assert row.change_pct == -75.0


def test_a_zero_reference_median_gives_no_change_rather_than_a_division_by_zero() -> None:
    no_raw = [{"status": "ok", "latency": {"raw_invoke_ns": []}}]
    row = latency_row(no_raw, no_raw, tol=5.0, medians=(2.0, 0.0))
    assert (row.change_pct, row.verdict, row.notes) == (None, "no interval", [NO_RAW_NOTE])


def test_a_file_written_with_no_raw_gives_no_interval_through_check(tmp_path: Path) -> None:
    # constant samples: the records' p50 is 3.0 ms (NEW, no raw kept) and 2.0 ms: change 100 * (1.5 - 1) = +50 %
    new = write(tmp_path / "new.jsonl", [make_record("onnx", [3.0] * 5, keep_raw=False, model_sha="x")])
    ref = write(tmp_path / "ref.jsonl", [make_record("onnx", [2.0] * 5, model_sha="x")])
    (row,) = check.check(new, ref).rows
    assert (row.new_median_ms, row.reference_median_ms, row.change_pct) == (3.0, 2.0, 50.0)
    assert (row.verdict, row.regressed, row.notes) == ("no interval", False, [NO_RAW_NOTE])


# --- _quality ------------------------------------------------------------------------------------------------


def summary(quality: Optional[float], metric: str = "accuracy", note: str = "") -> SimpleNamespace:
    """The three fields of a bench.config_summary.ConfigSummary that _quality reads."""
    return SimpleNamespace(quality=quality, quality_metric=metric, quality_note=note)


def quality_row(new: SimpleNamespace, ref: SimpleNamespace, qtol: float = 0.5) -> check.Row:
    row = check.Row("pi5", "m", "onnx", "unchanged")
    check._quality(row, new, ref, qtol)
    return row


def test_no_comparable_quality_shows_a_note_or_a_dash() -> None:
    cases = [
        (summary(None, "", ""), summary(None, "", ""), "-"),
        (summary(None, "", "not meaningful (random weights)"), summary(0.9), "not meaningful (random weights)"),
        (summary(0.9), summary(None, "", "not meaningful (r)"), "not meaningful (r)"),
        (summary(0.9, note="n"), summary(None, "", "r"), "n"),  # NEW's note first
        (summary(0.9), summary(0.002, "mse"), "-"),  # different metrics
    ]
    for new, ref, want in cases:
        row = quality_row(new, ref)
        assert (row.quality, row.quality_regressed, row.regressed) == (want, False, False)


def test_a_metric_without_a_value_on_one_side_is_not_compared() -> None:
    """Records of a classification task whose accuracy is null: metric "accuracy", median None."""
    for new, ref in ((summary(0.9), summary(None)), (summary(None), summary(0.9))):
        row = quality_row(new, ref)
        assert (row.quality, row.quality_regressed, row.regressed) == ("-", False, False)


def test_accuracy_line_and_the_tolerance_edge() -> None:
    row = quality_row(summary(0.8), summary(0.9), qtol=20.0)  # 100 * (0.8 - 0.9) = -10.00 points, inside 20
    assert (row.quality, row.quality_regressed, row.regressed) == ("acc 90.00% -> 80.00% (-10.00 pt)", False, False)
    # 100 * (0.5 - 0.75) = -25 points exactly (binary fractions): a drop of exactly the tolerance does not fail
    row = quality_row(summary(0.5), summary(0.75), qtol=25.0)
    assert (row.quality, row.quality_regressed, row.regressed) == ("acc 75.00% -> 50.00% (-25.00 pt)", False, False)
    row = quality_row(summary(0.5), summary(0.75), qtol=24.0)
    assert row.quality == "acc 75.00% -> 50.00% (-25.00 pt) QUALITY REGRESSION"
    assert row.quality_regressed is True and row.regressed is True


def test_mse_line_and_the_tolerance_edge() -> None:
    # 100 * (3.0 / 2.0 - 1) = +50 % exactly: a rise of exactly the tolerance does not fail
    row = quality_row(summary(3.0, "mse"), summary(2.0, "mse"), qtol=50.0)
    assert (row.quality, row.quality_regressed, row.regressed) == ("MSE 2 -> 3 (+50.00%)", False, False)
    row = quality_row(summary(3.0, "mse"), summary(2.0, "mse"), qtol=49.0)
    assert (row.quality, row.quality_regressed, row.regressed) == (
        "MSE 2 -> 3 (+50.00%) QUALITY REGRESSION",
        True,
        True,
    )
    # 100 * (1.0 / 4.0 - 1) = -75 %: better
    row = quality_row(summary(1.0, "mse"), summary(4.0, "mse"))
    assert (row.quality, row.quality_regressed, row.regressed) == ("MSE 4 -> 1 (-75.00%)", False, False)


def test_mse_against_a_zero_reference() -> None:
    row = quality_row(summary(0.0, "mse"), summary(0.0, "mse"))  # 0 -> 0: no change
    assert (row.quality, row.quality_regressed, row.regressed) == ("MSE 0 -> 0 (+0.00%)", False, False)
    for new, text in ((0.5, "0.5"), (1.0, "1")):  # anything above a zero MSE: an unbounded rise
        row = quality_row(summary(new, "mse"), summary(0.0, "mse"))
        assert row.quality == f"MSE 0 -> {text} (+inf%) QUALITY REGRESSION"
        assert row.quality_regressed is True and row.regressed is True


# --- identity and same_model ---------------------------------------------------------------------------------


def identity_records() -> List[Dict[str, Any]]:
    return [
        {"compare": {"source_model": {"path": "/m/a.pth"}}, "model": {"path": "/m/a.onnx"}},  # no sha256s at all
        {"compare": {"source_model": {"path": "/m/a.pth", "sha256": "src1"}}, "model": {"sha256": "f1"}},
        {"compare": {"source_model": {"sha256": "src2"}}, "model": {"sha256": "f2"}},
        {"compare": {"id": "c"}},  # a failed run: no model section
        {"model": {"sha256": "f1"}},
    ]


def test_identity_is_the_first_source_sha256_and_the_measured_ones() -> None:
    assert check.identity(identity_records()) == ("src1", frozenset({"f1", "f2"}))
    assert check.identity(iter(identity_records()[3:])) == (None, frozenset({"f1"}))
    assert check.identity([]) == (None, frozenset())


def rec(src: Optional[str], *files: str) -> List[Dict[str, Any]]:
    return [
        {"compare": {"source_model": {"sha256": src} if src else {}}, **({"model": {"sha256": f}} if f else {})}
        for f in files or ("",)
    ]


A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_same_model_by_source_sha256_first() -> None:
    assert check.same_model(rec(A, B), rec(A, C)) is None  # one source; converted files may differ
    assert check.same_model(rec(A, B), rec(C, B)) == "source sha256 aaaaaaaaaaaa vs cccccccccccc"
    assert check.same_model(rec(C, B), rec(A, B)) == "source sha256 cccccccccccc vs aaaaaaaaaaaa"


def test_same_model_by_the_files_measured_without_a_source_on_both_sides() -> None:
    assert check.same_model(rec(None, C, A), rec(None, B)) == "sha256 aaaaaaaaaaaa vs bbbbbbbbbbbb"  # min of each
    assert check.same_model(rec(A, B), rec(None, C, A)) == "sha256 bbbbbbbbbbbb vs aaaaaaaaaaaa"
    assert check.same_model(rec(None, A, B), rec(None, B)) is None  # a file in common
    assert check.same_model(rec(None), rec(None, B)) is None  # nothing to tell them apart
    assert check.same_model(rec(None, A), rec(None)) is None
    assert check.same_model(rec(None), rec(None)) is None


# --- compare_groups ------------------------------------------------------------------------------------------


def on_pi5(r: Dict[str, Any], src: str = "src") -> Dict[str, Any]:
    r["fleet"] = {"board": "pi5"}
    r["compare"]["source_model"]["sha256"] = src
    return r


def test_a_different_model_is_refused_with_its_full_message(tmp_path: Path) -> None:
    new = write(tmp_path / "new.jsonl", [on_pi5(make_record("onnx", [1.0] * 3, model_sha="x"), A)])
    ref = write(tmp_path / "ref.jsonl", [on_pi5(make_record("onnx", [1.0] * 3, model_sha="x"), B)])
    with pytest.raises(InputError) as err:
        check.check(new, ref)
    assert err.value.problem == (
        "digits_cnn (onnx) on pi5 is a different model in NEW and REFERENCE (source sha256 aaaaaaaaaaaa vs bbbbbbbbbbbb)"
    )
    assert err.value.fix == "check results of the same model file; a changed model needs new reference results"


def groups(*records: Dict[str, Any]) -> Dict[check.Key, List[Dict[str, Any]]]:
    return check.groups_of([on_pi5(r) for r in records])


def test_a_failed_config_keeps_its_first_error_and_a_reference_without_ok_run_gives_no_verdict() -> None:
    failed = groups(*(make_record("onnx", [], status="error", error=e) for e in ("boom 1", "boom 2")))
    ok = groups(make_record("onnx", [1.0] * 3, model_sha="x"))
    (row,) = check.compare_groups(failed, ok)
    assert (row.verdict, row.regressed, row.notes) == ("FAILED", True, ["boom 1"])
    (row,) = check.compare_groups(ok, failed)
    assert (row.verdict, row.regressed, row.notes) == (
        "no reference",
        False,
        ["REFERENCE has no ok run of this config"],
    )
    assert (row.new_median_ms, row.reference_median_ms, row.change_pct) == (1.0, None, None)


# --- environment ---------------------------------------------------------------------------------------------


def env_record(status: str = "ok", governor: str = "performance", **machine: Any) -> Dict[str, Any]:
    return {
        "status": status,
        "framework": "onnx",
        "fleet": {"board": "pi5"},
        "machine": {"cpu": {"governor": governor}, **machine},
        "runtime": {"versions": {"onnxruntime": "1.17", "numpy": "1.26"}},
    }


def test_environment_reads_the_ok_records_only() -> None:
    env = check.environment([env_record("error", "powersave"), env_record(governor="ondemand")])
    assert env[("pi5", "CPU governor")] == "ondemand"
    assert env[("pi5", "onnx versions")] == "numpy 1.26, onnxruntime 1.17"  # sorted by package name


def test_environment_joins_the_values_of_several_runs() -> None:
    env = check.environment([env_record(governor="powersave"), env_record(), env_record()])
    assert env[("pi5", "CPU governor")] == "performance | powersave"  # sorted, each once


def test_coral_devices_are_shown_by_their_usb_speeds() -> None:
    devices = [{"speed_mbps": 5000, "path": "/dev/a"}, {"speed_mbps": 480, "path": "/dev/b"}]
    env = check.environment([env_record(accelerator={"coral": {"devices": devices}}), env_record()])
    assert env[("pi5", "Coral USB speed (Mb/s)")] == "None | [480, 5000]"


def test_environment_changes_of_one_board_and_framework() -> None:
    new = {("pi4", "CPU governor"): "powersave", ("pi5", "CPU governor"): "powersave", ("pi5", "image"): "b"}
    new |= {("pi5", "emulated"): "False", ("pi5", "onnx versions"): "ort 2", ("pi5", "tflite versions"): "tfl 2"}
    ref = {("pi4", "CPU governor"): "ondemand", ("pi5", "CPU governor"): "ondemand", ("pi5", "emulated"): "False"}
    ref |= {("pi5", "onnx versions"): "ort 1", ("pi5", "tflite versions"): "tfl 1"}
    # pi4 is another board, "image" is not in REFERENCE, "emulated" did not change, tflite is another framework
    assert check.environment_changes(new, ref, "pi5", "onnx") == [
        "CPU governor: ondemand -> powersave",
        "onnx versions: ort 1 -> ort 2",
    ]


# --- latest, load, check -------------------------------------------------------------------------------------


def test_a_run_whose_compare_has_no_id_counts_as_outside_any_compare() -> None:
    in_compare = {"compare": {"id": "c1"}, "fleet": {"board": "pi5"}, "model": {"path": "/m/x.onnx"}}
    no_id = {"compare": {"label": "onnx"}, "fleet": {"board": "pi5"}, "model": {"path": "/m/x.onnx"}}
    kept, ids = check.latest([in_compare, no_id])
    assert kept == [in_compare, no_id] and ids == ["c1"]


def test_check_names_the_files_the_side_that_is_wrong_and_the_method(tmp_path: Path) -> None:
    ref = write(tmp_path / "ref.jsonl", [make_record("onnx", [1.0] * 3, model_sha="x")])
    notes = tmp_path / "notes.txt"
    notes.write_text("{}\n")
    with pytest.raises(InputError) as err:
        check.check(ref, notes)
    assert err.value.problem == f"REFERENCE {notes} is not an edgebench results file (no run records)"
    assert err.value.fix == "pass the results .jsonl that `edgebench compare` or `run --output` wrote"
    new = write(tmp_path / "new.jsonl", [make_record("onnx", [1.0] * 3, model_sha="x", compare_id="n")])
    res = check.check(new, ref)
    assert (res.new, res.reference, res.compares) == (str(new), str(ref), {"NEW": ["n"], "REFERENCE": [CID]})
    assert res.interval_method == (
        "change = median(NEW raw invoke samples) / median(REFERENCE) - 1, rounds pooled; 95% percentile bootstrap "
        "interval, B=10000, seed=20240601"
    )
