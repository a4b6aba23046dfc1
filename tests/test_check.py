"""`edgebench check NEW --against REFERENCE` (bench/check.py) on synthetic results files with known raw samples.

Expected changes come from numpy (medians) and an independent numpy bootstrap of the ratio of medians; exit codes
and the one-line errors through the command line, the way CI runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import check
from bench.records import append_jsonl
from tests.conftest import run_cli
from tests.test_report import make_record, samples


def write(path: Path, records: List[Dict[str, Any]]) -> Path:
    for r in records:
        append_jsonl(path, r)
    return path


def compare(path: Path, scale: Dict[str, float], cid: str = "c1", seed: int = 0, **kw: Any) -> Path:
    """A 3-round compare of onnx and tflite; ``scale`` multiplies a config's latencies."""
    recs = []
    for rnd in range(3):
        for i, label in enumerate(("onnx", "tflite")):
            raw = samples(seed + 10 * rnd + i, 400, (1.0 + i) * scale.get(label, 1.0))
            recs.append(make_record(label, raw, rnd=rnd, compare_id=cid, baseline="onnx", model_sha=label, **kw))
    return write(path, recs)


def numpy_interval(new: np.ndarray, ref: np.ndarray, b: int = 4000) -> tuple:
    rng = np.random.default_rng(5)
    ratios = [
        np.median(rng.choice(new, new.size)) / np.median(rng.choice(ref, ref.size)) for _ in range(b)
    ]  # brute force, not bench.stats' order-statistic shortcut
    return tuple(100 * (np.percentile(ratios, q) - 1) for q in (2.5, 97.5))


def pooled(path: Path, label: str) -> np.ndarray:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return np.array([v / 1e6 for r in rows if r["compare"]["label"] == label for v in r["latency"]["raw_invoke_ns"]])


def test_identical_runs_pass_and_a_slower_config_is_a_regression_with_its_interval(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    same = compare(tmp_path / "same.jsonl", {})
    result = check.check(same, ref)
    assert [r.verdict for r in result.rows] == ["unchanged", "unchanged"] and not result.regressed
    assert all(r.change_pct == 0.0 for r in result.rows)

    slow = compare(tmp_path / "slow.jsonl", {"tflite": 1.12}, seed=100)
    result = check.check(slow, ref)
    rows = {r.config: r for r in result.rows}
    assert rows["tflite"].verdict == "REGRESSION" and rows["onnx"].verdict == "unchanged"
    new, old = pooled(slow, "tflite"), pooled(ref, "tflite")
    assert rows["tflite"].change_pct == pytest.approx(100 * (np.median(new) / np.median(old) - 1), rel=1e-9)
    low, high = numpy_interval(new, old)
    assert rows["tflite"].ci_low_pct == pytest.approx(low, abs=1.0) and rows["tflite"].ci_high_pct == pytest.approx(
        high, abs=1.0
    )
    assert rows["tflite"].ci_low_pct > 5.0


def test_the_interval_must_lie_wholly_beyond_the_tolerance(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    faster = compare(tmp_path / "fast.jsonl", {"onnx": 0.8}, seed=50)
    slightly = compare(tmp_path / "slight.jsonl", {"onnx": 1.03}, seed=60)
    rows = {r.config: r for r in check.check(faster, ref).rows}
    assert rows["onnx"].verdict == "improvement" and rows["onnx"].ci_high_pct < -5
    rows = {r.config: r for r in check.check(slightly, ref).rows}
    assert rows["onnx"].verdict == "unchanged"  # +3 %, inside the 5 % tolerance
    rows = {r.config: r for r in check.check(slightly, ref, tol=1.0).rows}
    # with 1 % tolerance: a regression only if the interval is wholly above +1 %
    assert (rows["onnx"].verdict == "REGRESSION") == (rows["onnx"].ci_low_pct > 1.0)


def test_quality_drop_beyond_its_tolerance_fails(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {}, accuracy=0.97)
    worse = compare(tmp_path / "worse.jsonl", {}, accuracy=0.955)
    result = check.check(worse, ref)
    assert all(r.quality_regressed and r.regressed for r in result.rows)
    assert "-1.50 pt" in result.rows[0].quality
    assert not check.check(worse, ref, qtol=2.0).regressed


def test_configs_in_one_file_only_and_failed_configs(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    new = write(
        tmp_path / "new.jsonl",
        [
            make_record("onnx", samples(1, 300), compare_id="n", model_sha="onnx"),
            make_record("pytorch", samples(2, 300), compare_id="n", model_sha="pytorch"),
        ],
    )
    verdicts = {r.config: r.verdict for r in check.check(new, ref).rows}
    assert verdicts == {"onnx": "unchanged", "tflite": "only in REFERENCE", "pytorch": "only in NEW"}
    failed = write(
        tmp_path / "failed.jsonl",
        [make_record("onnx", [], compare_id="f", status="error", error="boom")]
        + [make_record("tflite", samples(3, 300, 2.0), compare_id="f", model_sha="tflite")],
    )
    rows = {r.config: r for r in check.check(failed, ref).rows}
    assert rows["onnx"].verdict == "FAILED" and rows["onnx"].regressed and "boom" in rows["onnx"].notes[0]


def test_the_latest_compare_of_a_file_is_checked(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    new = compare(tmp_path / "new.jsonl", {"onnx": 1.5}, cid="old", seed=7)
    compare(new, {}, cid="latest", seed=9)  # appended after the slow one
    result = check.check(new, ref)
    assert result.compares["NEW"] == ["latest"] and not result.regressed


def test_environment_differences_are_shown_beside_the_verdict(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    new = tmp_path / "new.jsonl"
    for line in ref.read_text().splitlines():
        r = json.loads(line)
        r["machine"]["cpu"] = {"governor": "powersave"}
        r["runtime"]["versions"] = {"onnxruntime": "1.99"} if r["framework"] == "onnx" else {}
        append_jsonl(new, r)
    rows = {r.config: r for r in check.check(new, ref).rows}
    assert "CPU governor: None -> powersave" in rows["onnx"].environment
    assert "onnx versions: None -> onnxruntime 1.99" in rows["onnx"].environment
    assert not any("onnx versions" in e for e in rows["tflite"].environment)


def test_cli_exit_codes_and_formats(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    slow = compare(tmp_path / "slow.jsonl", {"tflite": 1.2}, seed=3)
    ok = run_cli("check", str(ref), "--against", str(ref))
    assert ok.returncode == 0 and "edgebench check: PASS" in ok.stdout
    bad = run_cli("check", str(slow), "--against", str(ref), "--format", "markdown", "--tolerance", "5%")
    assert bad.returncode == 1 and bad.stdout.startswith("### edgebench check: FAIL")
    assert "| generic | digits_cnn | tflite |" in bad.stdout and "**REGRESSION**" in bad.stdout
    js = run_cli("check", str(slow), "--against", str(ref), "--format", "json")
    data = json.loads(js.stdout)
    assert js.returncode == 1 and data["passed"] is False
    assert [r["verdict"] for r in data["rows"]] == ["unchanged", "REGRESSION"]


def _one_line_exit_2(*args: str) -> str:
    proc = run_cli("check", *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgebench: error: ") and "Fix: " in lines[0]
    return lines[0]


def test_unusable_pairs_exit_2_with_one_line(tmp_path: Path) -> None:
    ref = compare(tmp_path / "ref.jsonl", {})
    other = write(
        tmp_path / "other.jsonl",
        [make_record(label, samples(1, 100), compare_id="o", model_sha="x") for label in ("onnx", "tflite")],
    )
    for line in [json.loads(x) for x in other.read_text().splitlines()]:
        line["compare"]["source_model"]["sha256"] = "another-model"
        append_jsonl(tmp_path / "different.jsonl", line)
    assert "different model" in _one_line_exit_2(str(tmp_path / "different.jsonl"), "--against", str(ref))
    lonely = write(tmp_path / "lonely.jsonl", [make_record("pytorch", samples(1, 100), compare_id="p")])
    assert "no (board, model, config) in common" in _one_line_exit_2(str(lonely), "--against", str(ref))
    text = tmp_path / "notes.txt"
    text.write_text("hello\nworld\n")
    assert "not an edgebench results file" in _one_line_exit_2(str(text), "--against", str(ref))
    report = tmp_path / "verify.json"
    report.write_text(json.dumps({"paths": []}, indent=1))
    assert "not an edgebench results file" in _one_line_exit_2(str(ref), "--against", str(report))
    binary = tmp_path / "plot.png"
    binary.write_bytes(bytes(range(256)) * 4)
    assert "not an edgebench results file" in _one_line_exit_2(str(binary), "--against", str(ref))
    assert "not found" in _one_line_exit_2(str(tmp_path / "missing.jsonl"), "--against", str(ref))
    assert "tolerance" in _one_line_exit_2(str(ref), "--against", str(ref), "--tolerance", "five")


def test_verify_holds_the_board_to_a_reference_file(tmp_path: Path) -> None:
    """verify --reference: the shipped digits ONNX model run here against a reference 5x faster (a regression,
    exit 1) and 5x slower (an improvement, exit 0); an unusable reference stops verify before any run (exit 2)."""
    from tests.conftest import require

    require("onnxruntime")
    from bench import machine, models
    from bench.hashing import sha256_path

    facts = machine.facts()
    board = facts["board"]["id"]
    sha = sha256_path(models.DIGITS_ONNX)
    for name, scale, code, verdict in (("fast", 0.005, 1, "REGRESSION"), ("slow", 5.0, 0, "improvement")):
        ref = write(
            tmp_path / f"{name}.jsonl",
            [
                make_record("onnx", samples(r, 300, scale), board=board, rnd=r, model_sha=sha, cpu=facts["cpu"])
                for r in range(2)
            ],
        )
        proc = run_cli(
            "verify", "--presets", "onnx", "--reference", str(ref), "--output", str(tmp_path / "runs.jsonl"),
            "--report-dir", str(tmp_path / "reports"),
        )  # fmt: skip
        assert proc.returncode == code, proc.stderr
        assert "digits_cnn  onnx" in proc.stdout and verdict in proc.stdout
    text = tmp_path / "notes.txt"
    text.write_text("not results\n")
    proc = run_cli("verify", "--presets", "onnx", "--reference", str(text), "--output", str(tmp_path / "x.jsonl"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "not an edgebench results file" in proc.stderr and not (tmp_path / "x.jsonl").exists()


def test_a_change_beyond_the_tolerance_whose_interval_is_not_wholly_beyond_is_unchanged(tmp_path: Path) -> None:
    """41 noisy samples a side: the medians differ by +12.5 % (numpy), but the interval reaches down to +0.5 %,
    so a 5 % gate does not fail; with a 0.1 % tolerance the interval lies wholly beyond it."""
    ref = write(tmp_path / "ref.jsonl", [make_record("onnx", samples(0, 41), compare_id="a", model_sha="onnx")])
    new = write(tmp_path / "new.jsonl", [make_record("onnx", samples(100, 41, 1.08), compare_id="b", model_sha="onnx")])
    (row,) = check.check(new, ref).rows
    want = 100 * (np.median(samples(100, 41, 1.08)) / np.median(samples(0, 41)) - 1)
    assert row.change_pct == pytest.approx(want, rel=1e-5) and row.change_pct > 10  # samples rounded to ns
    assert row.ci_low_pct < 5 < row.change_pct and row.verdict == "unchanged" and not row.regressed
    (row,) = check.check(new, ref, tol=0.1).rows
    assert row.ci_low_pct > 0.1 and row.verdict == "REGRESSION"
