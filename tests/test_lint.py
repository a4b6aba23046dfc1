"""ruff over the code: style, no shell=True, and Python 3.9 syntax (the Coral image's Python) in bench/."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO, require


def test_ruff_clean_with_python39_target() -> None:
    require("ruff")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--target-version",
            "py39",
            "bench",
            "launcher",
            "tests",
            "benchmarks",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
