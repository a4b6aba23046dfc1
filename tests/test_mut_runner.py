"""bench.runner: the record's ``tool`` section, the run's record on success and on error, and the appended file.

Git facts come from a throwaway repository made here with ``git`` (or from a stand-in ``git`` script on PATH); the
version from the installed distribution's metadata.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bench import machine, runner, runtimes, stages
from bench.config import RunConfig
from bench.errors import InputError
from bench.records import RunRecord

VERSION = importlib.metadata.version("edgebench")
ENV = "EDGEBENCH_GIT_COMMIT"
SLEEP = shutil.which("sleep")  # by full path: the stand-in git runs with only its own folder on PATH


def _git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def _checkout(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one committed file, ``bench/runner.py`` pointing into it, no commit in the environment."""
    root.mkdir()
    _git(root, "init", "-q")
    (root / "f.txt").write_text("one\n")
    _git(root, "add", "f.txt")
    _git(root, "commit", "-q", "-m", "first")
    monkeypatch.setattr(runner, "__file__", str(root / "bench" / "runner.py"))
    monkeypatch.delenv(ENV, raising=False)
    return root


def _fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rev_parse: str, status: str) -> None:
    """A checkout whose ``git`` is a script: ``rev_parse``/``status`` are its shell lines for those subcommands."""
    root = tmp_path / "co"
    (root / ".git").mkdir(parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "git"
    script.write_text(f'#!/bin/sh\ncase "$*" in\n*rev-parse*) {rev_parse} ;;\n*status*) {status} ;;\nesac\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setattr(runner, "__file__", str(root / "bench" / "runner.py"))
    monkeypatch.delenv(ENV, raising=False)


def test_tool_info_takes_the_commit_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "0123abc")
    monkeypatch.setattr(runner, "__file__", str(tmp_path / "bench" / "runner.py"))
    assert runner.tool_info() == {"name": "edgebench", "version": VERSION, "git_commit": "0123abc"}


def test_tool_info_outside_a_checkout_says_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(runner, "__file__", str(tmp_path / "bench" / "runner.py"))
    assert runner.tool_info() == {"name": "edgebench", "version": VERSION, "git_commit": "unknown"}


def test_tool_info_clean_checkout_gives_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _checkout(tmp_path / "co", monkeypatch)
    head = _git(root, "rev-parse", "HEAD")
    assert len(head) == 40
    (root / "untracked.txt").write_text("not part of the commit\n")  # untracked files do not make it dirty
    assert runner.tool_info() == {"name": "edgebench", "version": VERSION, "git_commit": head}


def test_tool_info_modified_checkout_is_dirty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _checkout(tmp_path / "co", monkeypatch)
    head = _git(root, "rev-parse", "HEAD")
    (root / "f.txt").write_text("two\n")
    assert runner.tool_info()["git_commit"] == head + "-dirty"


def test_tool_info_checkout_without_a_commit_says_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "co"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "f.txt").write_text("one\n")
    _git(root, "add", "f.txt")  # staged, never committed: `git rev-parse HEAD` fails (and prints "HEAD")
    monkeypatch.setattr(runner, "__file__", str(root / "bench" / "runner.py"))
    monkeypatch.delenv(ENV, raising=False)
    assert runner.tool_info()["git_commit"] == "unknown"


def test_tool_info_without_git_says_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _checkout(tmp_path / "co", monkeypatch)
    empty = tmp_path / "nobin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no git to run: OSError
    assert runner.tool_info()["git_commit"] == "unknown"


def test_tool_info_no_head_but_changes_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_git(tmp_path, monkeypatch, rev_parse=":", status="echo ' M f.txt'")
    assert runner.tool_info()["git_commit"] == "unknown"


def _config(tmp_path: Path, **kw: Any) -> RunConfig:
    return RunConfig(model=tmp_path / "m.onnx", data=tmp_path / "d", framework="onnx", **kw)


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """Stages that do nothing (their calls are listed), fixed machine facts and peak RSS, commit from the env."""
    calls: List[Dict[str, Any]] = []

    def run_into(config: RunConfig, record: RunRecord, counts: Dict[str, Any]) -> None:
        calls.append({"config": config, "record": record, "counts": counts})

    monkeypatch.setattr(stages, "run_into", run_into)
    monkeypatch.setattr(machine, "facts", lambda: {"cpu": "test-cpu"})
    monkeypatch.setattr(machine, "peak_rss_mb", lambda: 123.0)
    monkeypatch.setenv(ENV, "0123abc")
    return calls


def _failing(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_into(config: RunConfig, record: RunRecord, counts: Dict[str, Any]) -> None:
        raise InputError("model m.onnx not found", "give an existing file")

    monkeypatch.setattr(stages, "run_into", run_into)


def test_run_builds_the_record(tmp_path: Path, stubbed: List[Dict[str, Any]]) -> None:
    config = _config(tmp_path, threads=2)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    record = runner.run(config)
    after = datetime.now(timezone.utc)
    created = datetime.strptime(record.created_utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= created <= after
    assert record.tool == {"name": "edgebench", "version": VERSION, "git_commit": "0123abc"}
    assert (record.framework, record.runtime, record.machine) == ("onnx", {}, {"cpu": "test-cpu"})
    assert (record.status, record.error, record.options["threads"]) == ("ok", None, 2)
    assert stubbed[0]["record"] is record and stubbed[0]["config"] is config


def test_run_hands_the_callers_counts_on(tmp_path: Path, stubbed: List[Dict[str, Any]]) -> None:
    counts: Dict[str, Any] = {"known": 1}
    runner.run(_config(tmp_path), counts)
    runner.run(_config(tmp_path))
    assert stubbed[0]["counts"] is counts
    assert stubbed[1]["counts"] == {}


def test_run_error_is_recorded_on_the_exception(
    tmp_path: Path, stubbed: List[Dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing(monkeypatch)
    with pytest.raises(InputError) as info:
        runner.run(_config(tmp_path))
    record = info.value.record  # type: ignore[attr-defined]
    assert record.status == "error"
    assert record.error == "model m.onnx not found. Fix: give an existing file"
    assert record.machine == {"cpu": "test-cpu", "peak_rss_mb": 123.0}


def test_run_and_record_appends_the_error_record(
    tmp_path: Path, stubbed: List[Dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing(monkeypatch)
    out = tmp_path / "r.jsonl"
    with pytest.raises(InputError):
        runner.run_and_record(_config(tmp_path, output=out))
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert (row["status"], row["error"]) == ("error", "model m.onnx not found. Fix: give an existing file")


def test_run_and_record_without_output_raises_the_error(
    tmp_path: Path, stubbed: List[Dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing(monkeypatch)
    with pytest.raises(InputError, match="^model m.onnx not found. Fix: give an existing file$"):
        runner.run_and_record(_config(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_run_and_record_appends_and_logs(
    tmp_path: Path, stubbed: List[Dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "r.jsonl"
    with caplog.at_level(logging.INFO, logger="bench.runner"):
        record = runner.run_and_record(_config(tmp_path, output=out))
    assert [json.loads(x)["status"] for x in out.read_text().splitlines()] == ["ok"]
    assert record.status == "ok"
    mine = [r.getMessage() for r in caplog.records if r.name == "bench.runner"]
    assert mine == [f"record appended to {out}"]


def test_run_refuses_a_delegate_the_runtime_ignores(tmp_path: Path, stubbed: List[Dict[str, Any]]) -> None:
    out = tmp_path / "r.jsonl"
    with pytest.raises(InputError) as info:
        runner.run_and_record(_config(tmp_path, delegate="xnnpack", output=out))
    assert str(info.value) == (
        "--delegate xnnpack does not apply to onnx, which takes no delegate. "
        "Fix: drop --delegate, or use --framework tflite for TFLite delegates"
    )
    assert stubbed == [] and not out.exists()


def test_validate_hands_threads_and_delegate_to_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: List[Any] = []

    class Probe:
        @classmethod
        def validate(cls, options: Any) -> None:
            seen.append((options.threads, options.delegate))

    monkeypatch.setattr(runtimes, "runtime_class", lambda name: Probe if name == "onnx" else None)
    runner.validate(_config(tmp_path, threads=3, delegate="cpu"))
    assert seen == [(3, "cpu")]


def test_tool_info_gives_up_on_rev_parse_after_5_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_git(tmp_path, monkeypatch, rev_parse=f"{SLEEP} 5.5; echo abc", status=":")
    assert runner.tool_info()["git_commit"] == "unknown"


def test_tool_info_gives_up_on_status_after_5_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_git(tmp_path, monkeypatch, rev_parse="echo abc", status=f"{SLEEP} 5.5; echo ' M f.txt'")
    assert runner.tool_info()["git_commit"] == "unknown"
