"""The image-publishing workflow (.github/workflows/images.yml): actionlint and zizmor clean, every bake target built by
exactly one job, Jetson targets through the classic builder, actions pinned by commit.

These check the workflow file; they do not run GitHub Actions (no runner, no registry here).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.conftest import IN_CI, load_images_build, require

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "images.yml"
JETSON = {"jetson-nano", "jetson-orin"}


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.is_file() else shutil.which(name)
    if not found:
        if IN_CI:
            pytest.fail(f"CI=true and {name} is missing (requirements/dev.txt)", pytrace=False)
        pytest.skip(f"{name} not installed")
    return found


@pytest.fixture(scope="module")
def workflow() -> Dict[str, Any]:
    yaml = require("yaml")
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def bake_targets() -> set:
    """The images (the default group); each builds its `<target>-stack` through its context in the same job."""
    bake = load_images_build().load_bake()
    stacks = {ctx.split(":", 1)[1] for t in bake.targets.values() for ctx in t.contexts.values()}
    assert set(bake.targets) == set(bake.groups["default"]) | stacks
    return set(bake.groups["default"])


def test_actionlint_is_clean() -> None:
    proc = subprocess.run([_tool("actionlint"), str(WORKFLOW)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_is_clean_even_pedantic() -> None:
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--persona=pedantic", "--no-progress", str(WORKFLOW)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


def test_every_bake_target_is_built_by_exactly_one_job(workflow: Dict[str, Any], bake_targets: set) -> None:
    buildx = set(workflow["jobs"]["buildx"]["strategy"]["matrix"]["target"])
    jetson = set(workflow["jobs"]["jetson"]["strategy"]["matrix"]["target"])
    assert not buildx & jetson
    assert buildx | jetson == bake_targets
    assert jetson == bake_targets & JETSON, "Jetson targets go to the self-hosted classic-builder job"


def test_jetson_builds_use_the_classic_builder(workflow: Dict[str, Any]) -> None:
    job = workflow["jobs"]["jetson"]
    assert "self-hosted" in job["runs-on"]
    build = [s for s in job["steps"] if "images/build.py" in s.get("run", "")]
    assert len(build) == 1 and build[0]["env"]["DOCKER_BUILDKIT"] == "0" and "--no-buildx" in build[0]["run"]


def test_actions_are_pinned_by_commit_and_push_only_on_tags(workflow: Dict[str, Any]) -> None:
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), (name, step["uses"])
            if step.get("name") == "Push" or "login-action" in step.get("uses", ""):
                assert step["if"] == "github.ref_type == 'tag'", (name, step)
    assert workflow["permissions"] == {"contents": "read"}


def test_the_build_driver_runs_on_the_jetpack4_runners_python_3_6() -> None:
    """The Jetson Nano runner has Ubuntu 18.04's Python 3.6: no postponed annotations, dataclasses,
    ThreadingHTTPServer, capture_output/text in images/build.py (vermin, the minimum-version checker)."""
    proc = subprocess.run(
        [_tool("vermin"), "--no-tips", "--violations", "--eval-annotations", "--target=3.6-", "images/build.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_board_runners_run_only_for_pushes_to_the_default_branch_and_tags(workflow: Dict[str, Any]) -> None:
    job = workflow["jobs"]["jetson"]
    cond = job["if"].replace(" ", "")
    assert cond.startswith("github.event_name=='push'&&"), cond
    assert "github.ref_type=='tag'" in cond and "github.ref_name==github.event.repository.default_branch" in cond
    install = [s for s in job["steps"] if "pip install" in s.get("run", "")]
    build = next(i for i, s in enumerate(job["steps"]) if "images/build.py" in s.get("run", ""))
    assert install and job["steps"].index(install[0]) < build
    assert '"python-hcl2==3.0.5"' in install[0]["run"]  # python_requires >= 3.6 (its setup.py); 4.x needs 3.7


def test_arm64_buildx_builds_defer_the_selfcheck_as_build_py_does(workflow: Dict[str, Any]) -> None:
    steps = workflow["jobs"]["buildx"]["steps"]
    plat = next(s for s in steps if s.get("id") == "plat")
    assert 'if [ "$arch" = amd64 ]; then echo "selfcheck=1"' in plat["run"] and 'echo "selfcheck=0"' in plat["run"]
    bake = next(s for s in steps if "bake-action" in s.get("uses", ""))
    assert "*.args.SELFCHECK=${{ steps.plat.outputs.selfcheck }}" in bake["with"]["set"]
    deferred = next(s for s in steps if "--selfcheck-only" in s.get("run", ""))
    assert deferred["if"] == "steps.plat.outputs.selfcheck == '0'"
