"""docker-bake.hcl parses with python-hcl2, has one target per images/<folder> and a folder per target, and drives
the plain-build fallback (tags, platforms, build order, local-base substitution)."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import load_images_build

REPO = Path(__file__).resolve().parent.parent
IMAGE_DIRS = sorted(p.name for p in (REPO / "images").iterdir() if (p / "Dockerfile").is_file())


@pytest.fixture(scope="module")
def build() -> ModuleType:
    return load_images_build()


def test_every_image_folder_has_a_target_and_back(build: ModuleType) -> None:
    bake = build.load_bake()
    assert IMAGE_DIRS == ["host", "jetson-nano", "jetson-orin", "rpi", "rpi-armnn", "rpi-coral"]
    assert sorted(bake.targets) == IMAGE_DIRS
    assert sorted(bake.groups["default"]) == IMAGE_DIRS
    for name, t in bake.targets.items():
        assert t.dockerfile == f"images/{name}/Dockerfile"
        assert t.tags == (f"edgebench/edgebench-{name}:0.1.0",)
        assert "BASE_IMAGE" in t.args


def test_every_image_folder_has_the_same_shape() -> None:
    for name in IMAGE_DIRS:
        folder = REPO / "images" / name
        assert (folder / "README.md").is_file(), name
        assert (folder / "selfcheck.txt").read_text().strip(), name
        text = (folder / "Dockerfile").read_text()
        assert text.count("ARG BASE_IMAGE=") == 1 and "FROM ${BASE_IMAGE}" in text
        steps = instructions(text)
        users = [i for i, (op, _) in enumerate(steps) if op == "USER"]
        runs = [i for i, (op, _) in enumerate(steps) if op == "RUN"]
        # the implicit form (a user, no group): with `USER uid:gid` Docker gives the process no supplementary
        # groups (moby/sys user/user.go GetExecUser: "Supplementary group ids only make sense if in the implicit
        # form"), so `useradd --groups video|plugdev` would be lost
        assert users and steps[users[-1]] == ("USER", "bench"), f"{name}: the last USER must be the named user"
        assert runs[-1] > users[-1], f"{name}: the selfcheck runs as the non-root user"
        assert 'python -m bench selfcheck --require "$(cat /opt/edgebench/selfcheck.txt)"' in steps[runs[-1]][1], name


def instructions(text: str) -> list:
    """(INSTRUCTION, arguments) of a Dockerfile: comments dropped, continuation lines joined."""
    steps, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        op, _, args = current.strip().partition(" ")
        steps.append((op.upper(), " ".join(args.split())))
        current = ""
    return steps


def test_instructions_parser_ignores_comments_and_sees_a_later_root_user() -> None:
    text = "FROM x\n# RUN python -m bench selfcheck --require a\nUSER 1000:1000\nRUN a \\\n    b\nUSER 0\n"
    assert instructions(text) == [("FROM", "x"), ("USER", "1000:1000"), ("RUN", "a b"), ("USER", "0")]


def test_platforms_and_public_bases(build: ModuleType) -> None:
    t = build.load_bake().targets
    assert t["host"].platforms == ("linux/amd64", "linux/arm64")
    for name in ("rpi", "rpi-armnn", "rpi-coral", "jetson-nano", "jetson-orin"):
        assert t[name].platforms == ("linux/arm64",)
    assert t["rpi"].args["BASE_IMAGE"] == "debian:bookworm-slim"
    assert t["rpi-coral"].args["BASE_IMAGE"] == "debian:bullseye-slim"
    assert t["jetson-nano"].args["BASE_IMAGE"] == "nvcr.io/nvidia/l4t-base:r32.7.1"
    assert t["jetson-orin"].args["BASE_IMAGE"] == "nvcr.io/nvidia/l4t-jetpack:r36.4.0"
    assert t["rpi-armnn"].contexts == {"rpi": "target:rpi"}


def test_variables_from_overrides_and_environment(build: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERSION", "9.9")
    bake = build.load_bake(overrides={"REGISTRY": "ghcr.io/me", "WITH_EDGETPU": "0"})
    assert bake.targets["rpi"].tags == ("ghcr.io/me/edgebench-rpi:9.9",)
    assert bake.targets["rpi-coral"].args["WITH_EDGETPU"] == "0"


def test_plain_build_order_tags_and_base_substitution(build: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    bake = build.load_bake()
    assert build.build_order(bake, ["rpi-armnn"]) == ["rpi", "rpi-armnn"]
    host = bake.targets["host"]
    assert build.tags_for(host, "linux/arm64", "amd64") == ["edgebench/edgebench-host:0.1.0-arm64"]
    assert build.tags_for(host, "linux/amd64", "amd64") == [
        "edgebench/edgebench-host:0.1.0-amd64",
        "edgebench/edgebench-host:0.1.0",
    ]
    monkeypatch.setattr(build, "git_commit", lambda: "abc")
    args = build.plain_build_args(bake, bake.targets["rpi-armnn"], "linux/arm64", "no", None, None)
    assert args["BASE_IMAGE"] == "edgebench/edgebench-rpi:0.1.0-arm64"
    args = build.plain_build_args(bake, bake.targets["rpi-coral"], "linux/arm64", "yes", None, None)
    assert args["BASE_IMAGE"] == "edgebench-base:bullseye-arm64"
    assert args["EDGEBENCH_GIT_COMMIT"] == "abc"


def test_wheelhouse_without_a_wheel_for_the_arch_turns_torch_off(build: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    bake = build.load_bake()
    amd = build.plain_build_args(bake, bake.targets["host"], "linux/amd64", "no", tmp_path, "http://127.0.0.1:1/")
    assert amd["TORCH_PIP_ARGS"].startswith("--find-links http://127.0.0.1:1/") and amd["WITH_TORCH"] == "1"
    arm = build.plain_build_args(bake, bake.targets["host"], "linux/arm64", "no", tmp_path, "http://127.0.0.1:1/")
    assert arm["WITH_TORCH"] == "0"


def test_the_image_user_is_in_every_group_its_profiles_need() -> None:
    """Each profile's ``groups`` (launcher/profiles.py) are given to the image's user by its useradd line."""
    from launcher import profiles

    for p in profiles.PROFILES.values():
        steps = instructions((REPO / "images" / p.target / "Dockerfile").read_text())
        useradd = [arg for op, arg in steps if op == "RUN" and "useradd" in arg]
        if not useradd and not p.groups:
            continue  # the user comes from the image it builds on (rpi-armnn FROM rpi)
        assert len(useradd) == 1, p.target
        m = re.search(r"--groups\s+(\S+)", useradd[0])
        given = set(m.group(1).split(",")) if m else set()
        assert set(p.groups) <= given, f"{p.name}: the image's user lacks {set(p.groups) - given}"
