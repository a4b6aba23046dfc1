"""bench.compare.rounds by behaviour, fast and in process: what a failed run records (and that the compare goes on),
the conversion step's seconds and error records, the run order (Python's own random.Random shuffle of the seed
string, as bench.compare.plan documents), the cooldown between runs, the compare section of each record and the
file written. The runtime (bench.runner.run), the isolated child (bench.compare.isolate.run), the host facts and
the clock are stubs; everything else is the real module."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest

from bench import runner, sustained
from bench.compare import artifacts, isolate, rounds
from bench.compare.plan import Job, Plan, Protocol
from bench.compare.progress import Progress
from bench.config import RunConfig
from bench.convert.options import ConvertOptions
from bench.errors import BenchError, InputError
from bench.records import Latency, RunRecord

TOOL = {"version": "stub-tool"}
FACTS = {"board": "stub-board"}


@pytest.fixture(autouse=True)
def _host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stub host facts and tool info (external: /proc, git), and a stub clock for created_utc."""
    stamps = iter(f"2026-01-01T00:00:{i:02d}Z" for i in range(60))
    monkeypatch.setattr(runner, "tool_info", lambda: dict(TOOL))
    monkeypatch.setattr(rounds.machine, "facts", lambda: dict(FACTS))
    monkeypatch.setattr(rounds, "utc_now", lambda: next(stamps))


def _config(framework: str = "onnx") -> RunConfig:
    return RunConfig(model=Path("m.onnx"), data=Path("d.npz"), framework=framework, convert=ConvertOptions())


def _ok(config: RunConfig, p50: Optional[float] = None, conversion: Optional[dict] = None) -> RunRecord:
    lat = None
    if p50 is not None:
        lat = Latency({"p50_ms": p50}, {}, 1.0, 1.0, 1, 0.1, 1.0, False)
    return RunRecord(
        "2025-01-01T00:00:00Z", {}, config.framework, {}, {}, {}, latency=lat, conversion=dict(conversion or {})
    )


class StubRunner:
    """Stub of bench.runner.run (a real one loads a framework): records each call, answers by ``behave``."""

    def __init__(self, behave: Optional[Dict[str, Any]] = None) -> None:
        self.calls: List[tuple] = []
        self.behave = behave or {}

    def __call__(self, config: RunConfig, counts: Optional[Dict[str, Any]] = None) -> RunRecord:
        self.calls.append((config, counts))
        kind = "convert" if config.convert is not None and config.convert.convert_only else "run"
        what = self.behave.get((config.framework, kind))
        if isinstance(what, BaseException):
            raise what
        if isinstance(what, RunRecord):
            return what
        if counts is not None:
            counts.setdefault(config.framework, len(self.calls))
        return _ok(config, p50=2.5, conversion={"cached": True} if kind == "convert" else {})


def _plan(
    tmp_path: Optional[Path],
    rounds_n: int = 2,
    protocol: Optional[Protocol] = None,
    done: frozenset = frozenset(),
    jobs: Optional[tuple] = None,
) -> Plan:
    jobs = jobs or (Job("a", "onnx", None, _config("onnx")), Job("b", "tflite", 2, _config("tflite")))
    out = tmp_path / "r.jsonl" if tmp_path is not None else None
    proto = protocol or Protocol(rounds=rounds_n)
    return Plan("cid", jobs, proto, 7, "a", out, {"path": "m.onnx"}, (), done)


# ------------------------------------------------------------------------------------------- error records


def test_error_record_holds_the_config_and_the_error() -> None:
    cfg = _config("tflite")
    rec = rounds._error_record(cfg, "it broke")
    assert (rec.status, rec.error, rec.framework) == ("error", "it broke", "tflite")
    assert rec.options == cfg.to_dict() and rec.runtime == {}
    assert rec.tool == TOOL and rec.machine == FACTS
    assert rec.created_utc == "2026-01-01T00:00:00Z"


def test_attempt_returns_the_runners_record_and_hands_it_the_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    monkeypatch.setattr(runner, "run", stub)
    counts: Dict[str, Any] = {"x": 1}
    rec = rounds._attempt(_config(), counts)
    assert rec.status == "ok" and stub.calls[0][1] is counts
    rounds._attempt(_config())
    assert stub.calls[1][1] is None  # counts default: None


def test_attempt_keeps_a_bench_errors_record(monkeypatch: pytest.MonkeyPatch) -> None:
    own = _ok(_config(), conversion={"chain": "x"})
    own.status, own.error = "error", "own"
    exc = BenchError("failed")
    exc.record = own  # type: ignore[attr-defined]
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "run"): exc}))
    assert rounds._attempt(_config()) is own


def test_attempt_turns_a_bench_error_without_record_into_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "run"): InputError("bad model", "check it")}))
    rec = rounds._attempt(_config())
    assert (rec.status, rec.error) == ("error", "bad model. Fix: check it")


def test_attempt_records_a_frameworks_exception_by_its_first_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "run"): RuntimeError("first line\nsecond")}))
    with caplog.at_level(logging.WARNING, logger="bench.compare.rounds"):
        rec = rounds._attempt(_config())
    assert (rec.status, rec.error) == ("error", "RuntimeError: first line")
    warn = [r for r in caplog.records if r.name == "bench.compare.rounds"]
    assert [r.getMessage() for r in warn] == ["onnx: unexpected RuntimeError, recorded as the run's error"]
    assert warn[0].levelno == logging.WARNING and warn[0].exc_info[0] is RuntimeError  # the traceback


def test_attempt_records_an_exception_without_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "run"): ValueError()}))
    assert rounds._attempt(_config()).error == "ValueError: "


def test_attempt_lets_keyboard_interrupt_stop_the_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "run"): KeyboardInterrupt()}))
    with pytest.raises(KeyboardInterrupt):
        rounds._attempt(_config())


# ------------------------------------------------------------------------------------------- conversion step


def _clock(monkeypatch: pytest.MonkeyPatch, values: List[float]) -> None:
    """Stub perf_counter: returns ``values`` in turn."""
    it = iter(values)
    monkeypatch.setattr(rounds, "time", SimpleNamespace(perf_counter=lambda: next(it)))


def test_convert_all_converts_only_the_given_labels_convert_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stub = StubRunner()
    monkeypatch.setattr(runner, "run", stub)
    plan = _plan(None)
    with caplog.at_level(logging.INFO, logger="bench.compare.progress"):
        out = rounds.convert_all(plan, ["b"], Progress(2, 2, live=False))
    assert out == {"b": (0.0, None)}  # conversion {"cached": True}: no seconds
    cfg, counts = stub.calls[0]
    assert len(stub.calls) == 1 and counts is None
    assert cfg.framework == "tflite" and cfg.convert.convert_only is True and cfg.threads is None
    assert [r.getMessage() for r in caplog.records] == ["compare: converting for b (1/1)"]


def test_convert_all_numbers_the_jobs_from_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runner, "run", StubRunner())
    with caplog.at_level(logging.INFO, logger="bench.compare.progress"):
        out = rounds.convert_all(_plan(None), ["a", "b"], Progress(2, 2, live=False))
    assert out == {"a": (0.0, None), "b": (0.0, None)}
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["compare: converting for a (1/2)", "compare: converting for b (2/2)"]


@pytest.mark.parametrize(
    "conversion,seconds",
    [
        ({"cached": False, "chain": "x"}, 2.346),  # 12.34567 - 10.0 = 2.34567, rounded to 3 places
        ({"cached": True}, 0.0),
        ({}, 0.0),  # no conversion: nothing converted, no seconds
    ],
)
def test_convert_all_seconds_only_when_converted_now(
    monkeypatch: pytest.MonkeyPatch, conversion: dict, seconds: float
) -> None:
    cfg = _config()
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "convert"): _ok(cfg, conversion=conversion)}))
    _clock(monkeypatch, [10.0, 12.34567])
    jobs = (Job("a", "onnx", None, cfg),)
    assert rounds.convert_all(_plan(None, jobs=jobs), ["a"], Progress(1, 1, live=False)) == {"a": (seconds, None)}


@pytest.mark.parametrize("conversion,seconds", [({"chain": "x"}, 2.5), ({}, 0.0)])
def test_convert_all_failure_is_the_configs_error_record(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, conversion: dict, seconds: float
) -> None:
    cfg = _config()
    failed = _ok(cfg, conversion=conversion)
    failed.status, failed.error, failed.options = "error", "no converter", {"convert_only": True}
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "convert"): failed}))
    _clock(monkeypatch, [10.0, 12.5])  # 2.5 s, not rounded (a failure's seconds are as measured)
    jobs = (Job("a", "onnx", None, cfg),)
    with caplog.at_level(logging.ERROR, logger="bench.compare.rounds"):
        out = rounds.convert_all(_plan(None, jobs=jobs), ["a"], Progress(1, 1, live=False))
    assert out == {"a": (seconds, failed)}
    assert failed.options == cfg.to_dict()  # the run that could not happen, not the convert-only step
    assert failed.options["convert"]["convert_only"] is False
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == ["a: no converter"]


def test_convert_all_goes_on_after_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "convert"): RuntimeError("x")}))
    out = rounds.convert_all(_plan(None), ["a", "b"], Progress(2, 2, live=False))
    assert out["a"][1].error == "RuntimeError: x" and out["b"] == (0.0, None)


# ------------------------------------------------------------------------------------------- compare fields, cooldown


def test_compare_fields_name_the_run() -> None:
    plan = _plan(None, rounds_n=3)
    got = rounds._compare_fields(plan, plan.jobs[1], 2, 1, 1.25)
    assert got == {
        "id": "cid",
        "config": "tflite",
        "threads": 2,
        "label": "b",
        "round": 2,
        "rounds": 3,
        "position": 1,
        "seed": 7,
        "baseline": "a",
        "labels": ["a", "b"],
        "conversion_s": 1.25,
        "source_model": {"path": "m.onnx"},
    }


class Sleeps:
    """Stub sleep: records the seconds instead of sleeping."""

    def __init__(self) -> None:
        self.seconds: List[float] = []

    def __call__(self, s: float) -> None:
        self.seconds.append(s)


@pytest.mark.parametrize("cooldown,calls", [(0.0, []), (0.5, [0.5]), (3.0, [3.0])])
def test_cool_down_sleeps_the_cooldown_seconds(cooldown: float, calls: list) -> None:
    sleep = Sleeps()
    rounds.cool_down(_plan(None, protocol=Protocol(cooldown_s=cooldown)), sleep, read=lambda: 99.0)
    assert sleep.seconds == calls  # no --cooldown-to-c: the temperature is never waited on


def test_cool_down_waits_until_below_the_limit() -> None:
    sleep, temps = Sleeps(), iter([70.0, 65.0, 50.0])
    proto = Protocol(cooldown_s=2.0, cooldown_to_c=60.0, cooldown_max_s=30.0)
    rounds.cool_down(_plan(None, protocol=proto), sleep, read=lambda: next(temps))
    poll = sustained.COOLDOWN_POLL_S
    assert sleep.seconds == [2.0, poll, poll]  # 70 and 65 are hot, 50 is below 60


def test_cool_down_stops_at_the_cap() -> None:
    sleep = Sleeps()
    proto = Protocol(cooldown_to_c=60.0, cooldown_max_s=2 * sustained.COOLDOWN_POLL_S)
    rounds.cool_down(_plan(None, protocol=proto), sleep, read=lambda: 80.0)
    assert sleep.seconds == [sustained.COOLDOWN_POLL_S] * 2


def test_cool_down_defaults_sleep_and_read_the_board() -> None:
    # a 1 ms real sleep; a limit of 1000 C no real board reaches (or no thermal zone): no wait
    rounds.cool_down(_plan(None, protocol=Protocol(cooldown_s=0.001, cooldown_to_c=1000.0)))


# ------------------------------------------------------------------------------------------- one run


def test_measure_in_process_passes_the_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    monkeypatch.setattr(runner, "run", stub)
    counts: Dict[str, Any] = {}
    job = _plan(None).jobs[0]
    rec = rounds._measure(job, Progress(1, 1, live=False), False, counts)
    assert rec.status == "ok" and stub.calls == [(job.run, counts)] and counts == {"onnx": 1}


class StubIsolate:
    """Stub of bench.compare.isolate.run (a real one forks a child): records its arguments, returns ``answer``."""

    def __init__(self, answer: tuple) -> None:
        self.answer, self.calls = answer, []

    def __call__(self, config: Any, on_phase: Any, counts: Any) -> tuple:
        self.calls.append((config, on_phase, counts))
        return self.answer


def test_measure_isolated_reads_the_childs_record(monkeypatch: pytest.MonkeyPatch) -> None:
    job = _plan(None).jobs[1]
    sent = _ok(job.run, p50=3.0).to_dict()
    stub = StubIsolate((sent, None))
    monkeypatch.setattr(isolate, "run", stub)
    progress, counts = Progress(1, 1, live=False), {"k": 1}
    rec = rounds._measure(job, progress, True, counts)
    assert rec.to_dict() == sent
    config, on_phase, got_counts = stub.calls[0]
    assert config is job.run and got_counts is counts
    on_phase("measure")
    assert progress.phase == "measure"  # the child's phases reach the display


@pytest.mark.parametrize("error,text", [("killed by SIGSEGV", "killed by SIGSEGV"), (None, "no record")])
def test_measure_isolated_without_record_is_an_error_record(
    monkeypatch: pytest.MonkeyPatch, error: Optional[str], text: str
) -> None:
    monkeypatch.setattr(isolate, "run", StubIsolate((None, error)))
    job = _plan(None).jobs[1]
    rec = rounds._measure(job, Progress(1, 1, live=False), True, {})
    assert (rec.status, rec.error, rec.framework) == ("error", text, "tflite")


# ------------------------------------------------------------------------------------------- the whole compare


def _order(seed: int, r: int, labels: List[str]) -> List[str]:
    """The documented shuffle: random.Random seeded with "seed:round"."""
    out = list(labels)
    random.Random(f"{seed}:{r}").shuffle(out)
    return out


def _expected_runs(rounds_n: int, labels: List[str]) -> List[tuple]:
    return [(lab, r, pos) for r in range(rounds_n) for pos, lab in enumerate(_order(7, r, labels))]


def _runs(recs: List[RunRecord]) -> List[tuple]:
    return [(r.compare["label"], r.compare["round"], r.compare["position"]) for r in recs]


def test_execute_runs_every_job_each_round_in_the_shuffled_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stub = StubRunner()
    monkeypatch.setattr(runner, "run", stub)
    sleep = Sleeps()
    plan = _plan(tmp_path, protocol=Protocol(rounds=3, cooldown_s=1.5))
    with caplog.at_level(logging.INFO):
        written = rounds.execute(plan, live=False, sleep=sleep, isolated=False)
    assert _runs(written) == _expected_runs(3, ["a", "b"])
    assert sleep.seconds == [1.5] * 5  # between 6 runs, not before the first
    lines = plan.output.read_text().splitlines()
    assert [json.loads(x) for x in lines] == [r.to_dict() for r in written]
    first = written[0]
    assert first.compare["rounds"] == 3 and first.compare["conversion_s"] == 0.0 and first.compare["id"] == "cid"
    msgs = [r.getMessage() for r in caplog.records]
    assert f"compare: run 1/6, round 1/3: {_order(7, 0, ['a', 'b'])[0]}" in msgs
    assert sum("p50 2.5 ms" in m for m in msgs) == 6
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


class SpyProgress(Progress):
    """Progress that keeps its instances, so a stub sleep can read the phase shown while it waits."""

    made: List[Progress] = []
    live: List[Any] = []

    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        SpyProgress.made.append(self)
        SpyProgress.live.append(k.get("live", "not given"))


def test_execute_shows_the_cooldown_phase_while_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner())
    monkeypatch.setattr(rounds, "Progress", SpyProgress)
    phases: List[str] = []
    plan = _plan(None, protocol=Protocol(rounds=1, cooldown_s=1.0))
    rounds.execute(plan, live=False, sleep=lambda s: phases.append(SpyProgress.made[-1].phase), isolated=False)
    assert phases == ["cooldown"]  # one pause, between the 2 runs
    assert SpyProgress.live[-1] is False  # the caller's choice of display reaches it


def test_execute_shares_the_operation_counts_between_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubRunner()
    monkeypatch.setattr(runner, "run", stub)
    rounds.execute(_plan(None), live=False, sleep=Sleeps(), isolated=False)
    measured = [c for cfg, c in stub.calls if not cfg.convert.convert_only]
    assert len(measured) == 4 and all(c is measured[0] for c in measured)
    # convert-only calls: 2 (no counts); the first measured run counted its framework as call 3
    first = {"a": "onnx", "b": "tflite"}[_order(7, 0, ["a", "b"])[0]]
    second = ({"onnx", "tflite"} - {first}).pop()
    assert measured[0] == {first: 3, second: 4}


def test_execute_isolated_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", StubRunner())
    stub = StubIsolate((None, "child died"))
    monkeypatch.setattr(isolate, "run", stub)
    written = rounds.execute(_plan(None, rounds_n=1), live=False, sleep=Sleeps())
    assert [r.error for r in written] == ["child died", "child died"] and len(stub.calls) == 2


def test_execute_records_a_failed_conversion_every_round_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stub = StubRunner({("tflite", "convert"): InputError("no onnx2tf here")})
    monkeypatch.setattr(runner, "run", stub)
    with caplog.at_level(logging.ERROR, logger="bench.compare.rounds"):
        written = rounds.execute(_plan(None), live=False, sleep=Sleeps(), isolated=False)
    assert _runs(written) == _expected_runs(2, ["a", "b"])
    b = [r for r in written if r.compare["label"] == "b"]
    assert [r.error for r in b] == ["no onnx2tf here"] * 2 and b[0] is not b[1]
    assert [r.compare["round"] for r in b] == [0, 1]
    assert b[0].created_utc != b[1].created_utc  # each copy stamped when it stands for its run
    assert [r.status for r in written if r.compare["label"] == "a"] == ["ok", "ok"]
    assert [cfg.framework for cfg, _ in stub.calls if not cfg.convert.convert_only] == ["onnx", "onnx"]
    errors = [r.getMessage() for r in caplog.records]
    assert errors == ["b: no onnx2tf here", "b (round 1): no onnx2tf here", "b (round 2): no onnx2tf here"]


def test_copy_is_a_new_record_with_a_new_time() -> None:
    rec = rounds._error_record(_config(), "x")  # stamped ...:00
    copy = rounds._copy(rec)
    assert copy is not rec and copy.created_utc == "2026-01-01T00:00:01Z"
    assert {**copy.to_dict(), "created_utc": rec.created_utc} == rec.to_dict()


def test_execute_skips_what_is_done_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runner, "run", StubRunner())
    plan = _plan(None, done=frozenset({("a", 0), ("b", 1)}))
    with caplog.at_level(logging.INFO, logger="bench.compare.rounds"):
        written = rounds.execute(plan, live=False, sleep=Sleeps(), isolated=False)
    assert sorted((r.compare["label"], r.compare["round"]) for r in written) == [("a", 1), ("b", 0)]
    assert [r.getMessage() for r in caplog.records] == ["compare cid: resuming, 2 of 4 runs left"]


def test_execute_with_nothing_left(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    stub = StubRunner()
    monkeypatch.setattr(runner, "run", stub)
    plan = _plan(None, rounds_n=1, done=frozenset({("a", 0), ("b", 0)}))
    with caplog.at_level(logging.INFO, logger="bench.compare.rounds"):
        assert rounds.execute(plan, live=False, sleep=Sleeps(), isolated=False) == []
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["compare cid: resuming, 0 of 2 runs left", "compare cid: nothing left to run"]
    assert stub.calls == []


def test_execute_resume_without_done_warns_and_runs_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runner, "run", StubRunner())
    plan = _plan(tmp_path, protocol=Protocol(rounds=1, resume=True))
    with caplog.at_level(logging.INFO, logger="bench.compare.rounds"):
        written = rounds.execute(plan, live=False, sleep=Sleeps(), isolated=False)
    assert len(written) == 2
    warn = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warn == [
        f"--resume: {tmp_path / 'r.jsonl'} holds no ok run of this compare (other arguments?); running it whole"
    ]


def test_execute_resume_with_done_does_not_warn(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runner, "run", StubRunner())
    plan = _plan(None, protocol=Protocol(rounds=1, resume=True), done=frozenset({("a", 0)}))
    with caplog.at_level(logging.WARNING, logger="bench.compare.rounds"):
        assert len(rounds.execute(plan, live=False, sleep=Sleeps(), isolated=False)) == 1
    assert caplog.records == []


def test_execute_names_an_artifact_given_elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = _config("onnx")
    measured = _ok(cfg, conversion={"fidelity": {"status": "ok"}})  # the fidelity checked on this device
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "run"): measured}))
    model = tmp_path / "m.tflite"
    model.write_bytes(b"tfl3")
    conv = {"chain": "onnx>tflite", "fidelity": {"status": "deferred"}}
    given = artifacts.Artifact(model, conversion=conv, origin="--artifact")
    built_in = artifacts.Artifact(model)  # origin None: a built-in export, not annotated
    jobs = (Job("a", "onnx", None, _config("onnx"), given), Job("b", "tflite", None, _config("tflite"), built_in))
    written = rounds.execute(_plan(None, rounds_n=1, jobs=jobs), live=False, sleep=Sleeps(), isolated=False)
    by = {r.compare["label"]: r.conversion for r in written}
    assert by["b"] == {}
    assert by["a"]["artifact"] == {
        "path": str(model),
        "sha256": hashlib.sha256(b"tfl3").hexdigest(),
        "given_by": "--artifact",
    }
    assert by["a"]["chain"] == "onnx>tflite"
    assert by["a"]["fidelity"] == {"status": "ok"} and by["a"]["fidelity_where_converted"] == {"status": "deferred"}


def test_execute_logs_each_failed_run_with_its_round(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runner, "run", StubRunner({("onnx", "run"): RuntimeError("segv")}))
    with caplog.at_level(logging.INFO):
        written = rounds.execute(_plan(None, rounds_n=2), live=False, sleep=Sleeps(), isolated=False)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["a (round 1): RuntimeError: segv", "a (round 2): RuntimeError: segv"]
    assert sorted(r.status for r in written) == ["error", "error", "ok", "ok"]
    done = [r.getMessage() for r in caplog.records if r.getMessage().startswith("compare: run ")]
    assert sum(m.startswith("compare: run ") and " a: error (" in m for m in done) == 2
