"""docker-bake.hcl parses with python-hcl2, has one image target and one runtime-stack target per images/<folder> and a
folder per target, puts the one edgebench layer (images/edgebench/Dockerfile) on every stack, and drives the plain-build
fallback (tags, platforms, build order, stack and local-base substitution)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import load_images_build

REPO = Path(__file__).resolve().parent.parent
#: the device folders: a runtime stack's Dockerfile and the selfcheck list of what it installs
IMAGE_DIRS = sorted(p.name for p in (REPO / "images").iterdir() if (p / "selfcheck.txt").is_file())
LAYER = "images/edgebench/Dockerfile"


@pytest.fixture(scope="module")
def build() -> ModuleType:
    return load_images_build()


def test_every_image_folder_has_a_stack_and_an_image_target_and_back(build: ModuleType) -> None:
    bake = build.load_bake()
    assert IMAGE_DIRS == ["host", "jetson-nano", "jetson-orin", "rpi", "rpi-armnn", "rpi-coral"]
    assert sorted(bake.targets) == sorted(IMAGE_DIRS + [f"{n}-stack" for n in IMAGE_DIRS])
    assert sorted(bake.groups["default"]) == IMAGE_DIRS
    for name in IMAGE_DIRS:
        stack, image = bake.targets[f"{name}-stack"], bake.targets[name]
        assert stack.dockerfile == f"images/{name}/Dockerfile" and "BASE_IMAGE" in stack.args
        assert stack.tags == (f"edgebench/edgebench-{name}-stack:0.1.0",)
        assert image.dockerfile == LAYER and image.tags == (f"edgebench/edgebench-{name}:0.1.0",)
        # the layer's FROM names the context, and the context is this folder's stack, built for the same platforms
        assert image.args["BASE"] == "runtime-stack" and image.contexts == {"runtime-stack": f"target:{name}-stack"}
        assert image.platforms == stack.platforms
        assert build.has_selfcheck(image) and not build.has_selfcheck(stack)


def test_every_stack_folder_has_the_same_shape_and_nothing_of_edgebench() -> None:
    for name in IMAGE_DIRS:
        folder = REPO / "images" / name
        assert (folder / "README.md").is_file(), name
        assert (folder / "selfcheck.txt").read_text().strip(), name
        text = (folder / "Dockerfile").read_text()
        assert text.count("ARG BASE_IMAGE=") == 1 and "FROM ${BASE_IMAGE}" in text
        steps = instructions(text)
        # the stack writes the list the layer's selfcheck reads, from its own folder's selfcheck.txt
        assert ("COPY", f"images/{name}/selfcheck.txt /opt/edgebench/selfcheck.in") in steps, name
        assert any(op == "RUN" and "> /opt/edgebench/selfcheck.txt" in arg for op, arg in steps), name
        # nothing of the edgebench layer: a change to bench/ must not reach a stack's layers
        for op, arg in steps:
            assert op not in ("USER", "ENTRYPOINT", "CMD"), f"{name}: {op} belongs to {LAYER}"
            assert not (op == "COPY" and "bench/" in arg.split()), f"{name}: bench/ is copied by {LAYER}"
            assert "useradd" not in arg and "selfcheck --require" not in arg, f"{name}: belongs to {LAYER}"


def test_the_edgebench_layer_ends_as_the_named_user_with_the_selfcheck() -> None:
    steps = instructions((REPO / LAYER).read_text())
    assert steps[:2] == [("ARG", "BASE=runtime-stack"), ("FROM", "${BASE}")]
    users = [i for i, (op, _) in enumerate(steps) if op == "USER"]
    runs = [i for i, (op, _) in enumerate(steps) if op == "RUN"]
    # the implicit form (a user, no group): with `USER uid:gid` Docker gives the process no supplementary
    # groups (moby/sys user/user.go GetExecUser: "Supplementary group ids only make sense if in the implicit
    # form"), so `useradd --groups video|plugdev` would be lost
    assert users and steps[users[-1]] == ("USER", "bench"), "the last USER must be the named user"
    assert runs[-1] > users[-1], "the selfcheck runs as the non-root user"
    assert 'python -m bench selfcheck --require "$(cat /opt/edgebench/selfcheck.txt)"' in steps[runs[-1]][1]
    # bench/ comes after the user and the apt/pip-free steps: a change to it rebuilds only what follows the COPY
    copy = steps.index(("COPY", "--chown=root:root bench/ /opt/edgebench/bench/"))
    assert all(op != "RUN" or "selfcheck" in arg for op, arg in steps[copy:])
    assert steps[-2:] == [("ENTRYPOINT", '["python", "-m", "bench"]'), ("CMD", '["selfcheck"]')]


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
    assert t["rpi-stack"].args["BASE_IMAGE"] == "debian:bookworm-slim"
    assert t["rpi-coral-stack"].args["BASE_IMAGE"] == "debian:bullseye-slim"
    assert t["jetson-nano-stack"].args["BASE_IMAGE"] == "nvcr.io/nvidia/l4t-base:r32.7.1"
    assert t["jetson-orin-stack"].args["BASE_IMAGE"] == "nvcr.io/nvidia/l4t-jetpack:r36.4.0"
    assert t["rpi-armnn-stack"].contexts == {"rpi-stack": "target:rpi-stack"}
    assert t["rpi-armnn-stack"].args["BASE_IMAGE"] == "rpi-stack"


def test_variables_from_overrides_and_environment(build: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERSION", "9.9")
    bake = build.load_bake(overrides={"REGISTRY": "ghcr.io/me", "WITH_EDGETPU": "0"})
    assert bake.targets["rpi"].tags == ("ghcr.io/me/edgebench-rpi:9.9",)
    assert bake.targets["rpi-coral-stack"].args["WITH_EDGETPU"] == "0"


def test_plain_build_order_tags_and_base_substitution(build: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    bake = build.load_bake()
    # rpi-armnn's stack builds on rpi's stack, never on the rpi image (whose bench/ layer would rebuild its apt layer)
    assert build.build_order(bake, ["rpi-armnn"]) == ["rpi-stack", "rpi-armnn-stack", "rpi-armnn"]
    assert build.build_order(bake, ["rpi", "host"]) == ["rpi-stack", "rpi", "host-stack", "host"]
    host = bake.targets["host"]
    assert build.tags_for(host, "linux/arm64", "amd64") == ["edgebench/edgebench-host:0.1.0-arm64"]
    assert build.tags_for(host, "linux/amd64", "amd64") == [
        "edgebench/edgebench-host:0.1.0-amd64",
        "edgebench/edgebench-host:0.1.0",
    ]
    monkeypatch.setattr(build, "git_commit", lambda: "abc")
    args = build.plain_build_args(bake, bake.targets["rpi-armnn-stack"], "linux/arm64", "no", None, None)
    assert args["BASE_IMAGE"] == "edgebench/edgebench-rpi-stack:0.1.0-arm64" and "EDGEBENCH_GIT_COMMIT" not in args
    args = build.plain_build_args(bake, bake.targets["rpi-coral-stack"], "linux/arm64", "yes", None, None)
    assert args["BASE_IMAGE"] == "edgebench-base:bullseye-arm64"
    args = build.plain_build_args(bake, bake.targets["rpi-coral"], "linux/arm64", "yes", None, None)
    assert args == {"BASE": "edgebench/edgebench-rpi-coral-stack:0.1.0-arm64", "USER_GROUPS": "plugdev",
                    "EDGEBENCH_GIT_COMMIT": "abc"}  # fmt: skip


def test_wheelhouse_without_a_wheel_for_the_arch_turns_torch_off(build: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    bake = build.load_bake()
    host = bake.targets["host-stack"]
    amd = build.plain_build_args(bake, host, "linux/amd64", "no", tmp_path, "http://127.0.0.1:1/")
    assert amd["TORCH_PIP_ARGS"].startswith("--find-links http://127.0.0.1:1/") and amd["WITH_TORCH"] == "1"
    arm = build.plain_build_args(bake, host, "linux/arm64", "no", tmp_path, "http://127.0.0.1:1/")
    assert arm["WITH_TORCH"] == "0"


def test_the_image_user_is_in_every_group_its_profiles_need(build: ModuleType) -> None:
    """Each profile's ``groups`` (launcher/profiles.py) are given to the image's user: the layer's one useradd line
    takes the target's USER_GROUPS (docker-bake.hcl)."""
    from launcher import profiles

    useradd = [arg for op, arg in instructions((REPO / LAYER).read_text()) if op == "RUN" and "useradd" in arg]
    assert len(useradd) == 1 and '${USER_GROUPS:+--groups "${USER_GROUPS}"}' in useradd[0]
    targets = build.load_bake().targets
    for p in profiles.PROFILES.values():
        given = set(filter(None, targets[p.target].args.get("USER_GROUPS", "").split(",")))
        assert set(p.groups) <= given, f"{p.name}: the image's user lacks {set(p.groups) - given}"


def test_the_layers_useradd_gives_exactly_the_target_groups() -> None:
    """The useradd command of the layer, run by bash with useradd standing in as printf: USER_GROUPS empty gives no
    --groups option (useradd would refuse an empty one), a list gives it as one argument."""
    useradd = [arg for op, arg in instructions((REPO / LAYER).read_text()) if op == "RUN" and "useradd" in arg]
    command = useradd[0].split(" && ")[0]
    for groups, expected in (
        ("", []),
        ("plugdev", ["--groups", "plugdev"]),
        ("video,plugdev", ["--groups", "video,plugdev"]),
    ):
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", 'useradd() { printf "%s\\n" "$@"; }; ' + command],
            env={"USER_GROUPS": groups}, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        argv = proc.stdout.split("\n")[:-1]
        assert argv == ["--create-home", "--uid", "1000", *expected, "--shell", "/bin/bash", "bench"], groups
