"""The installed package: the `edgebench` console script and `python -m bench` work from a folder outside the checkout
(the README's setup installs the package into .venv, editable)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO

QUICK = ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5", "--min-time-s", "0"]


def _edgebench() -> str:
    script = Path(sys.executable).parent / "edgebench"
    if not script.is_file():
        if IN_CI:
            pytest.fail("CI=true and the edgebench console script is not installed (make venv: pip install -e .)")
        pytest.skip("edgebench console script not installed")
    return str(script)


def test_a_venv_symlink_is_ignored_like_a_venv_folder(tmp_path: Path) -> None:
    """`.gitignore` in a fresh repository (no global or system git config): `.venv` and `.venv-launcher` as folders
    and as symbolic links to an environment elsewhere (a shared one) stay out of `git status`."""
    git = shutil.which("git")
    if git is None:
        if IN_CI:
            pytest.fail("CI=true and git is not installed")
        pytest.skip("git not installed")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    repo, shared = tmp_path / "checkout", tmp_path / "shared-env"
    (shared / "bin").mkdir(parents=True)
    subprocess.run([git, "init", "-q", str(repo)], check=True, env=env)
    shutil.copy(REPO / ".gitignore", repo / ".gitignore")
    (repo / ".venv").symlink_to(shared)
    (repo / ".venv-launcher").symlink_to(shared)
    (repo / "sub" / ".venv" / "bin").mkdir(parents=True)  # a folder, as `python -m venv` makes it
    names = [".venv", ".venv-launcher", "sub/.venv", "sub/.venv/bin"]
    proc = subprocess.run([git, "check-ignore", *names], cwd=repo, capture_output=True, text=True, env=env)
    assert proc.stdout.split() == names, proc.stdout + proc.stderr
    status = subprocess.run([git, "status", "--porcelain", "--untracked-files=all"], cwd=repo, capture_output=True,
                            text=True, env=env, check=True)  # fmt: skip
    assert status.stdout.splitlines() == ["?? .gitignore"]


def test_help_from_outside_the_checkout(tmp_path: Path) -> None:
    for cmd in ([_edgebench(), "--help"], [sys.executable, "-m", "bench", "--help"]):
        proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        for sub in ("compare", "report", "run", "verify", "zoo", "fleet", "evaluate"):
            assert sub in proc.stdout, (cmd, sub)


def test_the_package_imported_outside_is_this_checkout(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import bench, launcher; print(bench.__file__); print(launcher.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.split():
        assert Path(line).resolve().is_relative_to(REPO.resolve()), line


def test_compare_and_report_run_from_outside(tmp_path: Path) -> None:
    from bench import models

    out = tmp_path / "r.jsonl"
    cmd = [_edgebench(), "compare", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--configs", "onnx"]
    proc = subprocess.run(
        [*cmd, "--rounds", "1", *QUICK, "--output", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert rec["status"] == "ok" and rec["compare"]["config"] == "onnx"
    proc = subprocess.run(
        [_edgebench(), "report", str(out), "--format", "csv"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "onnx" in proc.stdout.splitlines()[1], proc.stdout + proc.stderr
