"""The compare's pure parts by behaviour, fast (bench/compare/): which selfchecks a preset needs, the compare id
(sha256 of the canonical JSON written out here by hand) and what a results file already holds of it, the repeat
counter and --resume, the shuffled order (a function of seed and round: Python's own random.Random shuffle of the
same seed string), the progress log lines, and the --configs / --threads parsing."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.compare import ident, plan, presets, progress
from bench.config import RunConfig
from bench.errors import InputError

ASSETS = Path(ident.__file__).parent.parent / "models" / "assets"


@pytest.mark.parametrize(
    "name,checks",
    [
        ("onnx", ("onnx",)),
        ("tflite-nodelegate", ("tflite",)),  # "none" needs nothing more
        ("tflite-armnn", ("tflite", "armnn")),
        ("armnn", ("pyarmnn",)),
        ("coral", ("coral",)),
        ("tensorrt-int8", ("tensorrt",)),
    ],
)
def test_checks_for_each_kind_of_preset(name: str, checks: tuple) -> None:
    assert presets.checks_for(presets.PRESETS[name]) == checks


def test_checks_for_a_delegate_preset_of_each_library() -> None:
    p = presets.Preset("tflite", "fp32", "edgetpu", False, "x")
    assert presets.checks_for(p) == ("tflite", "edgetpu")
    assert presets.checks_for(presets.Preset("tflite", "fp32", "xnnpack", False, "x")) == ("tflite", "xnnpack")


def test_compare_id_is_the_first_16_hex_of_the_canonical_json() -> None:
    payload = {"b": [1, 2], "a": {"y": None, "x": Path("/p")}}
    text = '{"a":{"x":"/p","y":null},"b":[1,2]}'  # sorted keys, no spaces, paths as text
    assert ident.compare_id(payload) == hashlib.sha256(text.encode()).hexdigest()[:16]


def _record(cid, label, rnd, status="ok") -> dict:
    return {"status": status, "compare": {"id": cid, "label": label, "round": rnd}}


def test_ok_pairs_of_a_results_file(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    lines = [
        _record("A", "onnx", 0),
        _record("A", "tflite", 0, status="error"),
        _record("A", "onnx", 1),
        _record("B", "onnx", 0, status="error"),
        {"status": "ok"},  # no compare section: a plain run
        {"status": "ok", "compare": {"label": "x", "round": 0}},  # no id
    ]
    out.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"torn": ')
    found = ident.ok_pairs(out)
    assert found == {"A": {("onnx", 0), ("onnx", 1)}, "B": set()}
    assert ident.ok_pairs(None) == {} and ident.ok_pairs(tmp_path / "none.jsonl") == {}


def _template(tmp_path: Path, output: Path) -> RunConfig:
    return RunConfig(model=ASSETS / "digits_cnn.onnx", data=ASSETS / "digits_test.npz", framework="onnx", output=output)


def test_identify_counts_repeats_and_resumes_the_latest(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    t = _template(tmp_path, out)
    fresh = SimpleNamespace(rounds=2, seed=None, resume=False)
    cid0, done, model_sha = ident.identify(t, ["onnx", "tflite"], [None], fresh, {})
    assert done == frozenset() and model_sha == hashlib.sha256((ASSETS / "digits_cnn.onnx").read_bytes()).hexdigest()
    assert ident.identify(t, ["onnx", "tflite"], [None], fresh, {})[0] == cid0  # nothing written yet: same id
    out.write_text(json.dumps(_record(cid0, "onnx", 0)) + "\n")
    cid1, done1, _ = ident.identify(t, ["onnx", "tflite"], [None], fresh, {})
    assert cid1 != cid0 and done1 == frozenset()  # the same command again: a new compare (repeat 1)
    resume = SimpleNamespace(rounds=2, seed=None, resume=True)
    assert ident.identify(t, ["onnx", "tflite"], [None], resume, {}) == (cid0, frozenset({("onnx", 0)}), model_sha)
    with out.open("a") as f:
        f.write(json.dumps(_record(cid1, "tflite", 1)) + "\n")
    assert ident.identify(t, ["onnx", "tflite"], [None], resume, {})[:2] == (cid1, frozenset({("tflite", 1)}))
    empty = _template(tmp_path, tmp_path / "new.jsonl")
    assert ident.identify(empty, ["onnx", "tflite"], [None], resume, {}) == (cid0, frozenset(), model_sha)


def test_identify_changes_with_what_is_measured(tmp_path: Path) -> None:
    t = _template(tmp_path, tmp_path / "r.jsonl")
    p = SimpleNamespace(rounds=2, seed=None, resume=False)
    base = ident.identify(t, ["onnx"], [None], p, {})[0]
    assert ident.identify(t, ["onnx", "tflite"], [None], p, {})[0] != base
    assert ident.identify(t, ["onnx"], [1], p, {})[0] != base
    assert ident.identify(t, ["onnx"], [None], SimpleNamespace(rounds=3, seed=None, resume=False), {})[0] != base
    assert ident.identify(t, ["onnx"], [None], SimpleNamespace(rounds=2, seed=0, resume=False), {})[0] != base
    other_data = RunConfig(model=t.model, data=ASSETS / "digits_cnn.pth", framework="onnx", output=t.output)
    assert ident.identify(other_data, ["onnx"], [None], p, {})[0] != base
    # per-job fields (framework, threads, output) are not options: the same id
    same = RunConfig(model=t.model, data=t.data, framework="tflite", threads=4, output=tmp_path / "other.jsonl")
    assert ident.identify(same, ["onnx"], [None], p, {})[0] == base


def test_options_of_hashes_the_files_it_names(tmp_path: Path) -> None:
    cls = tmp_path / "net.py"
    cls.write_text("class Net: pass\n")
    t = RunConfig(model=Path("m"), data=Path("d"), framework="pytorch", model_class_path=cls, label="x")
    opts = ident.options_of(t, 3, 7, {})
    assert opts["model_class_sha256"] == hashlib.sha256(b"class Net: pass\n").hexdigest()
    assert (opts["rounds"], opts["seed"], opts["label"]) == (3, 7, "x")
    for per_job in ("model", "data", "framework", "threads", "delegate", "output", "convert", "model_class_path"):
        assert per_job not in opts
    assert "artifacts" not in opts and "representative_data_sha256" not in opts
    assert (
        ident.options_of(RunConfig(model=Path("m"), data=Path("d"), framework="onnx"), 1, None, {})[
            "model_class_sha256"
        ]
        is None
    )


def test_options_of_with_conversion_options(tmp_path: Path) -> None:
    rep = tmp_path / "rep.npz"
    rep.write_bytes(b"calibration")
    conv = SimpleNamespace(
        to_dict=lambda: {"precision": "int8", "opset": 13, "cache_dir": "/c", "representative_data": str(rep)},
        representative_data=rep,
        transposed_data=tmp_path / "missing.npz",
    )
    t = RunConfig(model=Path("m"), data=Path("d"), framework="tflite", convert=conv)
    opts = ident.options_of(t, 1, None, {})
    assert opts["convert"] == {"opset": 13}
    assert opts["representative_data_sha256"] == hashlib.sha256(b"calibration").hexdigest()
    assert opts["transposed_data_sha256"] is None


def _plan(seed: int, labels=("a", "b", "c", "d"), rounds=2, done=frozenset()) -> plan.Plan:
    jobs = tuple(plan.Job(label=x, config="onnx", threads=None, run=None) for x in labels)
    return plan.Plan(
        id="x", jobs=jobs, protocol=plan.Protocol(rounds=rounds), seed=seed, baseline="a", output=None,
        source_model={}, done=done,
    )  # fmt: skip


def test_order_is_pythons_shuffle_of_seed_and_round() -> None:
    p = _plan(seed=42)
    for r in range(3):
        expected = ["a", "b", "c", "d"]
        random.Random(f"42:{r}").shuffle(expected)
        assert [j.label for j in p.order(r)] == expected
    assert p.labels == ["a", "b", "c", "d"]


def test_pending_skips_done_pairs_in_run_order() -> None:
    p = _plan(seed=5, done=frozenset({("b", 0), ("a", 1)}))
    pending = p.pending()
    assert [(r, j.label) for r, _, j in pending] == [(r, j.label) for r in (0, 1) for j in p.order(r) if
                                                     (j.label, r) not in {("b", 0), ("a", 1)}]  # fmt: skip
    assert len(pending) == 6
    positions = {(r, j.label): pos for r, pos, j in pending}
    assert all(p.order(r)[pos].label == label for (r, label), pos in positions.items())


@pytest.mark.parametrize(
    "text,names",
    [("onnx", ["onnx"]), (" onnx , tflite-int8,", ["onnx", "tflite-int8"]), ("coral,,onnx", ["coral", "onnx"])],
)
def test_parse_configs(text: str, names: list) -> None:
    assert plan.parse_configs(text) == names


@pytest.mark.parametrize(
    "text,message",
    [
        (None, "no configs to compare"),
        (" , ", "no configs to compare"),
        ("onnx,madeup,other", "unknown config madeup, other"),
        ("onnx,tflite,onnx,tflite,coral", "config onnx, tflite given twice"),
    ],
)
def test_parse_configs_refuses(text, message: str) -> None:
    with pytest.raises(InputError) as err:
        plan.parse_configs(text)
    assert err.value.problem == message and "onnx, tflite" in str(err.value.fix)


@pytest.mark.parametrize("text,values", [(None, [None]), ("  ", [None]), ("4", [4]), ("1, 4,", [1, 4])])
def test_parse_threads(text, values: list) -> None:
    assert plan.parse_threads(text) == values


@pytest.mark.parametrize("text", ["0", "1,0", "2,2", ",", "-1"])
def test_parse_threads_refuses_counts(text: str) -> None:
    with pytest.raises(InputError) as err:
        plan.parse_threads(text)
    assert err.value.problem == f"--threads {text!r} needs distinct counts >= 1"


def test_parse_threads_refuses_words() -> None:
    with pytest.raises(InputError) as err:
        plan.parse_threads("1,four")
    assert (
        err.value.problem == "--threads '1,four' is not a list of numbers"
        and err.value.fix == "pass e.g. --threads 1,4"
    )


# ---------- progress ----------


def test_progress_log_lines_without_a_terminal(caplog: pytest.LogCaptureFixture, monkeypatch) -> None:
    clock = iter([100.0, 100.0, 101.0, 103.5, 110.0, 110.3])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    with caplog.at_level(logging.INFO, logger="bench.compare.progress"):
        with progress.Progress(total=4, rounds=2, live=False) as p:
            p.converting(1, 2, "tflite-int8")
            p.starting(3, "onnx", 1)
            p.set_phase("measure")
            assert (p.index, p.label, p.round, p.phase) == (3, "onnx", 1, "measure")
            p.finished("ok", 1.23456)
            assert p.phase == "ok"
            p.starting(4, "coral", 1)
            p.finished("error", None)
    assert [r.getMessage() for r in caplog.records] == [
        "compare: converting for tflite-int8 (1/2)",
        "compare: run 3/4, round 2/2: onnx",
        "compare: run 3/4 onnx: p50 1.235 ms (2.5 s)",
        "compare: run 4/4, round 2/2: coral",
        "compare: run 4/4 coral: error (0.3 s)",
    ]


def test_progress_follows_the_harness_phases_and_detaches() -> None:
    from bench import harness

    before = harness.listeners()
    with progress.Progress(total=1, rounds=1, live=False) as p:
        assert harness.listeners()[-1] == p.set_phase
        for listener in harness.listeners():
            listener("warm-up")
        assert p.phase == "warm-up"
    assert harness.listeners() == before


def test_progress_display_cells(monkeypatch) -> None:
    from rich.console import Console

    monkeypatch.setattr(progress.time, "monotonic", lambda: 1000.0)
    p = progress.Progress(total=6, rounds=3, live=False)
    p.starting(2, "tflite-int8", 1)
    p.set_phase("measure")
    monkeypatch.setattr(progress.time, "monotonic", lambda: 1000.0 + 3725.25)
    console = Console(width=200, record=True, color_system=None)
    console.print(p.render())
    text = console.export_text()
    for cell in ("run 2/6", "round 2/3", "tflite-int8", "measure", "3725.2 s", "(total 1:02:05)"):
        assert cell in text, text


def test_identify_is_the_documented_hash(tmp_path: Path) -> None:
    """id = sha256 of the canonical JSON of {model sha256, data sha256, configs, threads, options (+ repeat)}."""
    t = _template(tmp_path, tmp_path / "r.jsonl")
    p = SimpleNamespace(rounds=2, seed=3, resume=False)
    sha = {k: hashlib.sha256(Path(v).read_bytes()).hexdigest() for k, v in (("m", t.model), ("d", t.data))}
    options = {**ident.options_of(t, 2, 3, {}), "repeat": 0}
    payload = {"model_sha256": sha["m"], "data_sha256": sha["d"], "configs": ["onnx"], "threads": [2],
               "options": options}  # fmt: skip
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    assert ident.identify(t, ["onnx"], [2], p, {})[0] == hashlib.sha256(text.encode()).hexdigest()[:16]
