"""Helpers for the tests that use the real Docker engine (tests/test_docker_*.py).

* ``docker_client()``: a client, or a skip locally / a failure when CI=true (Docker missing in CI is a defect).
* ``ensure_bases()`` / ``ensure_image()``: build the offline bases and images the tests need, reusing what exists
  (images are rebuilt through the classic builder's layer cache, so an unchanged image costs seconds).
  Build times go to build/timings.jsonl.

torch inside the images: PyTorch's CPU index may be unreachable (it is on the project's build machine), so the
tests build with a local wheelhouse when one is found (WHEELHOUSE, else /opt/wheels) and otherwise WITH_TORCH=0;
the e2e tests use ONNX Runtime and TFLite only.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

import pytest

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
TIMINGS = REPO / "build" / "timings.jsonl"
BASES = ("bookworm-amd64", "bookworm-arm64", "bullseye-arm64")
VERSION = "0.1.0"
REGISTRY = "edgebench"


def unavailable(why: str) -> None:
    """Skip locally, fail under CI=true."""
    if IN_CI:
        pytest.fail(f"CI=true and {why}", pytrace=False)
    pytest.skip(why)


@functools.lru_cache(maxsize=1)
def _client() -> Any:
    import docker

    client = docker.from_env(timeout=300)
    client.ping()
    return client


def docker_client() -> Any:
    try:
        import docker  # noqa: F401
    except ImportError as exc:
        unavailable(f"the docker SDK is missing: {exc}")
    try:
        return _client()
    except Exception as exc:
        unavailable(f"no Docker engine: {exc}")


def image_arch(tag: str) -> Optional[str]:
    import docker

    try:
        return docker_client().images.get(tag).attrs.get("Architecture")
    except docker.errors.ImageNotFound:
        return None


def _timed(what: str, cmd: List[str], timeout: float) -> None:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, timeout=timeout, capture_output=True, text=True)
    took = time.monotonic() - start
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    with TIMINGS.open("a") as f:
        f.write(json.dumps({"what": what, "seconds": round(took, 1), "rc": proc.returncode, "t": time.time()}) + "\n")
    if proc.returncode != 0:
        tail = (proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]).strip()
        pytest.fail(f"{what} failed (rc {proc.returncode}) after {took:.0f} s:\n{tail}", pytrace=False)


@functools.cache
def ensure_bases() -> None:
    docker_client()
    missing = [b for b in BASES if image_arch(f"edgebench-base:{b}") != b.split("-")[1]]
    if not missing:
        return
    if os.geteuid() != 0:
        unavailable(f"bases {missing} are missing and debootstrap needs root (run `make base-images` as root)")
    _timed(f"base-images {','.join(missing)}", [sys.executable, "images/base/build.py", "--only", *missing], 2400)


def wheelhouse() -> Optional[Path]:
    for cand in (os.environ.get("WHEELHOUSE", ""), "/opt/wheels"):
        if cand and Path(cand).is_dir() and any(Path(cand).glob("torch-*.whl")):
            return Path(cand)
    return None


@functools.cache
def ensure_image(target: str, platform: str, *settings: str) -> str:
    """Build (or refresh through the layer cache) one image for one platform; return its per-arch tag."""
    ensure_bases()
    cmd = [sys.executable, "images/build.py", target, "--platform", platform, "--local-bases", "yes", "--no-buildx"]
    house = wheelhouse()
    if house:
        cmd += ["--wheelhouse", str(house)]
    else:
        cmd += ["--set", "WITH_TORCH=0"]
    for s in settings:
        cmd += ["--set", s]
    _timed(f"image {target} {platform}", cmd, 3000)
    tag = f"{REGISTRY}/edgebench-{target}:{VERSION}-{platform.split('/')[1]}"
    assert image_arch(tag) == platform.split("/")[1]
    return tag


def run_launcher(*args: str, timeout: float = 1200, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "launcher", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def make_bench(timeout: float = 1500, target: str = "bench", **variables: str) -> subprocess.CompletedProcess:
    """`make TARGET VAR=value ...` (`make bench` by default; values as separate arguments, never through a shell)."""
    return subprocess.run(
        ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_jsonl(path: Path) -> List[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def launcher_containers() -> List[Any]:
    return docker_client().containers.list(all=True, filters={"label": "org.edgebench.launcher"})
