"""Running converter tools (mutation run of bench/convert/tools.py): installed versions read back from the packages
themselves, the converters' environment, log tails written out by hand, and `run` against a stand-in for
subprocess.run (no child process: mutmut's forked test process may not wait for one) that exits, fails or times out."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

import bench
from bench.convert import tools as T
from bench.errors import ConversionError

DEAD = "http://127.0.0.1:9"
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def test_package_versions() -> None:
    assert T.package_version("numpy") == np.__version__
    assert T.package_version("no-such-distribution-here") == "not-installed"
    assert T.versions(["numpy", "no-such-distribution-here"]) == {
        "numpy": np.__version__,
        "no-such-distribution-here": "not-installed",
    }
    assert T.versions([]) == {}
    assert T.NON_PYTHON_VERSIONS == {
        "edgetpu_compiler": "bench.convert.edgetpu_edge:installed_compiler_version",
        "cuda-gpu": "bench.runtimes.tensorrt:gpu_or_absent",
    }


def test_a_version_that_is_no_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(T.NON_PYTHON_VERSIONS, "numpy", "platform:python_version")
    assert T.package_version("numpy") == platform.python_version()  # the function's answer, not the metadata
    monkeypatch.setitem(T.NON_PYTHON_VERSIONS, "cores", "os:cpu_count")
    assert T.package_version("cores") == str(os.cpu_count())


def test_the_converters_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/a::/b")
    monkeypatch.setenv("PYTHONPATH", "/p1:")
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    monkeypatch.setenv("no_proxy", "localhost")
    here = str(Path(sys.executable).parent)  # the venv's bin, unresolved
    repo = str(Path(bench.__file__).resolve().parent.parent)  # the folder holding the bench package
    env = T.tool_env()
    assert T.venv_bin() == Path(here)
    assert env["PATH"] == f"{here}:/a:/b"
    assert env["PYTHONPATH"] == f"{repo}:/p1"
    assert (env["TF_CPP_MIN_LOG_LEVEL"], env["PYTHONUNBUFFERED"]) == ("2", "1")
    assert {k: env[k] for k in PROXIES} == {k: DEAD for k in PROXIES}
    assert "NO_PROXY" not in env and "no_proxy" not in env
    assert os.environ["HTTP_PROXY"] == "http://proxy:3128" and os.environ["NO_PROXY"] == "localhost"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.delenv("PATH")
    monkeypatch.delenv("PYTHONPATH")
    online = T.tool_env(offline=False)
    assert (online["PATH"], online["PYTHONPATH"], online["TF_CPP_MIN_LOG_LEVEL"]) == (here, repo, "0")
    assert online["HTTP_PROXY"] == "http://proxy:3128" and online["NO_PROXY"] == online["no_proxy"] == "localhost"


def test_tail_of_a_log() -> None:
    text = "I0000 start\n\n  one  \nWARNING: All log messages before absl\ntwo\nE0000 noise\n   \nthree\n"
    assert T.tail(text) == "one | two | three"
    assert T.tail(text, 2) == "two | three"
    assert T.tail("\n".join(str(i) for i in range(20))) == " | ".join(str(i) for i in range(8, 20))  # 12 lines
    assert T.TAIL_LINES == 12
    assert T.tail("") == ""
    assert T.tail("a I0000 b") == "a I0000 b"  # only lines that start with it


def test_python_module_argv() -> None:
    assert T.python_module("onnx2tf", ["-i", "m.onnx"]) == [sys.executable, "-m", "onnx2tf", "-i", "m.onnx"]
    assert T.python_module("x", []) == [sys.executable, "-m", "x"]


class FakeRun:
    """Stands in for subprocess.run: writes ``log`` to the given stdout, creates ``writes``, exits ``code``."""

    def __init__(self, code: int = 0, log: bytes = b"", writes: List[Path] = (), raises: Any = None) -> None:
        self.code, self.log, self.writes, self.raises = code, log, list(writes), raises
        self.calls: List[Dict[str, Any]] = []

    def __call__(self, argv: List[str], **kw: Any) -> Any:
        self.calls.append({"argv": argv, **kw})
        kw["stdout"].write(self.log)
        kw["stdout"].flush()
        if self.raises is not None:
            raise self.raises
        for p in self.writes:
            p.write_text("out")
        return subprocess.CompletedProcess(argv, self.code)


class Clock:
    def __init__(self) -> None:
        self.times = [100.0, 103.5]

    def perf_counter(self) -> float:
        return self.times.pop(0)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(run: FakeRun) -> FakeRun:
        monkeypatch.setattr(T.subprocess, "run", run)
        monkeypatch.setattr(T, "time", Clock())
        return run

    return install


def test_a_tool_that_succeeds(
    tmp_path: Path, fake: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run = fake(FakeRun(log=b"converted\n", writes=[tmp_path / "m.tflite"]))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    with caplog.at_level(logging.DEBUG, logger="bench.convert.tools"):
        seconds = T.run(
            ["onnx2tf", Path("m.onnx"), 3], tool="onnx2tf", cwd=tmp_path, log_file=tmp_path / "log",
            expect=[tmp_path / "m.tflite"],
        )  # fmt: skip
    assert seconds == 3.5
    assert caplog.messages == ["running onnx2tf m.onnx 3"]  # what --verbose shows
    (call,) = run.calls
    assert call["argv"] == ["onnx2tf", "m.onnx", "3"]
    assert (call["cwd"], call["stderr"], call["stdin"]) == (str(tmp_path), subprocess.STDOUT, subprocess.DEVNULL)
    assert (call["timeout"], call["check"]) == (1800.0, False)
    assert call["env"]["HTTPS_PROXY"] == DEAD and call["env"]["PYTHONUNBUFFERED"] == "1"  # offline by default
    assert set(call) == {"argv", "cwd", "stdout", "stderr", "stdin", "env", "timeout", "check"}
    assert (tmp_path / "log").read_bytes() == b"converted\n"


def test_given_env_and_timeout_are_used(tmp_path: Path, fake: Any) -> None:
    run = fake(FakeRun())
    T.run(["t"], tool="t", cwd=tmp_path, log_file=tmp_path / "log", timeout_s=7.5, env={"A": "1"})
    assert (run.calls[0]["env"], run.calls[0]["timeout"]) == ({"A": "1"}, 7.5)
    run = fake(FakeRun())
    T.run(["t"], tool="t", cwd=tmp_path, log_file=tmp_path / "log", timeout_s=0, env={})
    assert (run.calls[0]["env"], run.calls[0]["timeout"]) == ({}, 1800.0)  # an empty env is an env


def test_a_tool_that_fails(tmp_path: Path, fake: Any) -> None:
    fake(FakeRun(code=3, log=b"I0000 boot\nloading\nUnsupported op: Foo\n"))
    with pytest.raises(ConversionError) as err:
        T.run(["t"], tool="onnx2tf", cwd=tmp_path, log_file=tmp_path / "log")
    assert err.value.problem == "onnx2tf failed with exit code 3; last output: loading | Unsupported op: Foo"
    assert (
        err.value.fix == f"see the full log {tmp_path / 'log'}; the model may use an operator onnx2tf does not support"
    )


def test_a_tool_that_writes_nothing(tmp_path: Path, fake: Any) -> None:
    (tmp_path / "a.onnx").write_text("there")
    fake(FakeRun(log=b"done\n"))
    expect = [tmp_path / "a.onnx", tmp_path / "b.tflite", str(tmp_path / "c.bin")]
    with pytest.raises(ConversionError) as err:
        T.run(["t"], tool="tool", cwd=tmp_path, log_file=tmp_path / "log", expect=[Path(p) for p in expect])
    assert err.value.problem == "tool exited 0 but wrote no b.tflite, c.bin; last output: done"
    assert err.value.fix == f"see the full log {tmp_path / 'log'}"


def test_a_tool_that_times_out(tmp_path: Path, fake: Any) -> None:
    fake(FakeRun(log=b"step 1\nstep 2\n", raises=subprocess.TimeoutExpired(["t"], 59.6)))
    with pytest.raises(ConversionError) as err:
        T.run(["t"], tool="pnnx", cwd=tmp_path, log_file=tmp_path / "log", timeout_s=59.6)
    assert err.value.problem == "pnnx did not finish within 60 s; last output: step 1 | step 2"
    assert err.value.fix == "raise the timeout or convert a smaller model"
    assert isinstance(err.value.__cause__, subprocess.TimeoutExpired)


def test_a_tool_that_cannot_start(tmp_path: Path, fake: Any) -> None:
    fake(FakeRun(raises=FileNotFoundError(2, "No such file or directory", "pnnx")))
    with pytest.raises(ConversionError) as err:
        T.run(["pnnx"], tool="pnnx", cwd=tmp_path, log_file=tmp_path / "log")
    assert err.value.problem == "pnnx could not be started: [Errno 2] No such file or directory: 'pnnx'"
    assert err.value.fix == "install pnnx (see requirements/)"
    assert isinstance(err.value.__cause__, FileNotFoundError)


def test_reading_a_log(tmp_path: Path) -> None:
    (tmp_path / "log").write_bytes(b"ok \xff\n")
    assert T._read(tmp_path / "log") == "ok \ufffd\n"
    assert T._read(str(tmp_path / "missing")) == ""
