"""Build the edgebench images from docker-bake.hcl: `docker buildx bake` where buildx exists, plain builds otherwise.

Without buildx (Docker engine 20.10 from Debian, this build machine) the bake file is read with python-hcl2 and every
target/platform pair becomes one classic ``docker build --platform``. Each image is two targets: ``<target>-stack``
(images/<target>/Dockerfile, the runtime stack) and ``<target>`` (images/edgebench/Dockerfile, the edgebench layer)
whose named context ``runtime-stack`` is ``target:<target>-stack``; the classic builder has no named contexts, so
the stack is built first and its ``<tag>-<arch>`` goes in as the build argument that names the context (``BASE``). A classic image store keeps one architecture per
tag, so each build is tagged ``<tag>-<arch>`` and, when the target has a single platform or the platform is the
engine's own, also ``<tag>``. The launcher looks for both.

Options for machines without the public registries (air-gapped labs, this build machine):

* ``--local-bases {auto,yes,no}``: use the debootstrap bases from ``make base-images``
  (``edgebench-base:<suite>-<arch>``) instead of ``debian:<suite>-slim``. ``auto`` (default) does so only when the
  public base is not in the local engine and the local one is, and says so.
* ``--wheelhouse DIR``: serve DIR over http on 127.0.0.1 during the build and install torch from it
  (``--find-links``); platforms without a torch wheel there get ``WITH_TORCH=0`` and a warning.
* Foreign platforms (arm64 on this x86 machine, through qemu-user binfmt): the build-time selfcheck is deferred
  (``SELFCHECK=0``) because onnxruntime crashes under qemu-user 7.2 on the host's x86 /proc/cpuinfo and a classic
  build step cannot mount an ARM one; right after the build the same check runs in a container with an ARM
  cpuinfo bind-mounted read-only and ``--init``, and fails the build the same way. Said in the log, never silent.
* Jetson targets (``jetson-*``) always build with the classic builder (``DOCKER_BUILDKIT=0``), also where buildx
  exists (they are left out of ``buildx bake``): BuildKit, which buildx and plain ``docker build`` use since Docker 23,
  ignores ``"default-runtime": "nvidia"`` in ``RUN`` steps, so CUDA and TensorRT would be missing during the build
  (dusty-nv/jetson-containers docs/build.md). Build them on the Jetson.
* ``--set VAR=VALUE``: override a bake variable (``WITH_EDGETPU=0``, ``WITH_ARMNN_DELEGATE=0``, ...); environment
  variables of the same name do the same, as with buildx.

Extra CA certificates in /usr/local/share/ca-certificates are copied into build/ca-certificates (git-ignored) so that
pip inside the build trusts the same proxies the host does.

Usage::

    python images/build.py [TARGET ...] [--platform linux/arm64] [--local-bases] [--wheelhouse DIR] [--set K=V]
"""

# ruff: noqa: FA100, UP021, UP022 - Python 3.6 (JetPack 4's runner): no postponed annotations, no capture_output/text
import argparse
import contextlib
import functools
import http.server
import json
import logging
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
BAKE_FILE = REPO / "docker-bake.hcl"
CA_SOURCE = Path("/usr/local/share/ca-certificates")
CA_DIR = REPO / "build" / "ca-certificates"
BUILD_TIMEOUT_S = 3600
#: the edgebench layer every image ends with (user, bench/, selfcheck, entrypoint), on top of a runtime stack
EDGEBENCH_LAYER = "images/edgebench/Dockerfile"
# Public base -> Debian suite of the local debootstrap base standing in for it.
LOCAL_BASE_SUITES = {"debian:bookworm-slim": "bookworm", "debian:bullseye-slim": "bullseye"}


def _unquote(value: Any) -> Any:
    """python-hcl2 8.x keeps the quotes of strings and keys; strip them recursively."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def _blocks(raw: Dict[str, Any], kind: str) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for entry in raw.get(kind, []):
        for name, body in _unquote(entry).items():
            out[name] = body
    return out


_INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _interpolate(value: Any, variables: Dict[str, str]) -> Any:
    if isinstance(value, str):
        return _INTERP.sub(lambda m: variables[m.group(1)], value)
    if isinstance(value, list):
        return [_interpolate(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate(v, variables) for k, v in value.items()}
    return value


class Target(NamedTuple):
    """One bake target after `inherits` and variable interpolation."""

    name: str
    dockerfile: str
    context: str
    platforms: Tuple[str, ...]
    tags: Tuple[str, ...]
    args: Dict[str, str]
    labels: Dict[str, str]
    contexts: Dict[str, str]


class Bake(NamedTuple):
    variables: Dict[str, str]
    groups: Dict[str, List[str]]
    targets: Dict[str, Target]


def load_bake(path: Path = BAKE_FILE, overrides: Optional[Dict[str, str]] = None) -> Bake:
    """Parse the bake file: variables (defaults, then environment, then ``overrides``), groups, resolved targets."""
    import hcl2  # dev dependency (requirements/dev.txt); only this build driver and the tests need it

    with path.open() as f:
        raw = hcl2.load(f)
    variables = {name: str(body.get("default", "")) for name, body in _blocks(raw, "variable").items()}
    for name in variables:
        if name in os.environ:
            variables[name] = os.environ[name]
    variables.update(overrides or {})
    groups = {name: list(body.get("targets", [])) for name, body in _blocks(raw, "group").items()}
    bodies = _blocks(raw, "target")

    def resolved(name: str) -> Dict[str, Any]:
        body = dict(bodies[name])
        merged: Dict[str, Any] = {}
        for parent in body.pop("inherits", []):
            merged.update(resolved(parent))
        for key, val in body.items():
            if isinstance(val, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **val}
            else:
                merged[key] = val
        return merged

    targets = {}
    for name in bodies:
        if name.startswith("_"):
            continue
        body = _interpolate(resolved(name), variables)
        targets[name] = Target(
            name=name,
            dockerfile=body["dockerfile"],
            context=body.get("context", "."),
            platforms=tuple(body.get("platforms", [])),
            tags=tuple(body.get("tags", [])),
            args={k: str(v) for k, v in body.get("args", {}).items()},
            labels={k: str(v) for k, v in body.get("labels", {}).items()},
            contexts=dict(body.get("contexts", {})),
        )
    return Bake(variables, groups, targets)


#: targets that need the classic builder: see the module docstring (BuildKit and the nvidia default runtime)
CLASSIC_BUILDER_PREFIX = "jetson-"


def needs_classic_builder(name: str) -> bool:
    return name.startswith(CLASSIC_BUILDER_PREFIX)


def build_env(target_name: str) -> Optional[Dict[str, str]]:
    """Environment of a plain build: DOCKER_BUILDKIT=0 for Jetson targets, the caller's otherwise."""
    if needs_classic_builder(target_name):
        return {**os.environ, "DOCKER_BUILDKIT": "0"}
    return None


def has_selfcheck(target: Target) -> bool:
    """The edgebench layer ends with the selfcheck; a runtime stack has none (nothing of bench is in it)."""
    return target.dockerfile == EDGEBENCH_LAYER


def arch_of(platform: str) -> str:
    """linux/arm64 -> arm64."""
    return platform.split("/")[1]


def engine_arch() -> str:
    out = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Arch}}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def have_buildx() -> bool:
    proc = subprocess.run(["docker", "buildx", "version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return proc.returncode == 0


def tags_for(target: Target, platform: str, native: str) -> List[str]:
    """Tags of a plain build for ``platform``: always ``<tag>-<arch>``, plus ``<tag>`` when unambiguous."""
    arch = arch_of(platform)
    out = [f"{t}-{arch}" for t in target.tags]
    if len(target.platforms) == 1 or arch == native:
        out += list(target.tags)
    return out


def build_order(bake: Bake, names: Sequence[str]) -> List[str]:
    """Targets in dependency order (a ``target:X`` context builds X first)."""
    order: List[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for ctx in bake.targets[name].contexts.values():
            if ctx.startswith("target:"):
                visit(ctx.split(":", 1)[1])
        order.append(name)

    for n in names:
        visit(n)
    return order


def copy_ca_certificates() -> None:
    """Put the host's extra CA files into the build context (git-ignored); keep the folder non-empty."""
    CA_DIR.mkdir(parents=True, exist_ok=True)
    for old in CA_DIR.glob("*.crt"):
        old.unlink()
    for crt in sorted(CA_SOURCE.glob("**/*.crt")) if CA_SOURCE.is_dir() else []:
        shutil.copy2(crt, CA_DIR / crt.name)
    (CA_DIR / "README").write_text("Extra CA certificates copied by images/build.py at build time; never committed.\n")
    (REPO / "build" / "wheelhouse").mkdir(parents=True, exist_ok=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        log.debug("wheelhouse: " + format, *args)


class _ThreadingHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """http.server.ThreadingHTTPServer (3.7+) spelled out: this script also runs on JetPack 4's Python 3.6."""

    daemon_threads = True


def _handler_for(directory: Path) -> Any:
    """A quiet handler serving ``directory`` (SimpleHTTPRequestHandler's ``directory=`` is 3.7+; 3.6 serves the
    working directory, so the path it maps there is moved under ``directory``)."""

    class Handler(_QuietHandler):
        def translate_path(self, path: str) -> str:
            in_cwd = super().translate_path(path)
            return str(directory / os.path.relpath(in_cwd, getattr(self, "directory", os.getcwd())))

    return Handler


def _serves_same_wheels(port: int, directory: Path) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:  # noqa: S310 - fixed local URL
            listing = resp.read().decode(errors="replace")
    except OSError:
        return False
    wheels = [p.name for p in directory.glob("*.whl")]
    return bool(wheels) and all(urllib.parse.quote(w) in listing or w in listing for w in wheels)


@contextlib.contextmanager
def serve_wheelhouse(directory: Optional[Path]) -> Iterator[Optional[str]]:
    """Serve ``directory`` on 127.0.0.1 (builds run with --network host) and yield its URL, or None."""
    if directory is None:
        yield None
        return
    handler = _handler_for(directory)
    # A fixed port keeps the TORCH_PIP_ARGS build argument, and so the layer cache, stable between builds.
    port = int(os.environ.get("EDGEBENCH_WHEELHOUSE_PORT", "38765"))
    for candidate in range(port, port + 20):
        try:
            server = _ThreadingHTTPServer(("127.0.0.1", candidate), handler)
            break
        except OSError:
            if _serves_same_wheels(candidate, directory):  # a concurrent build serves the same folder: share it
                log.info("wheelhouse already served on port %d by another build; using it", candidate)
                yield f"http://127.0.0.1:{candidate}/"
                return
            log.warning("port %d busy for the wheelhouse; trying the next (the torch layer will rebuild)", candidate)
    else:
        raise RuntimeError(f"no free port in {port}..{port + 19} for the wheelhouse")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def torch_wheel_for(wheelhouse: Path, arch: str) -> Optional[Path]:
    machine = {"amd64": "x86_64", "arm64": "aarch64"}[arch]
    found = sorted(wheelhouse.glob(f"torch-*{machine}.whl"))
    return found[-1] if found else None


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """HEAD of this checkout (recorded in every result the image produces), "-dirty" when files changed."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=30,
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "bench"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def image_arch_of(tag: str) -> Optional[str]:
    """Architecture of a local image, or None when the engine does not have it."""
    proc = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Architecture}}", tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def plain_build_args(
    bake: Bake, target: Target, platform: str, local_bases: str, wheelhouse: Optional[Path], wheel_url: Optional[str]
) -> Dict[str, str]:
    """Build arguments for one classic build, with the air-gapped substitutions applied."""
    arch = arch_of(platform)
    args = dict(target.args)
    if has_selfcheck(target):  # the edgebench layer records it; a stack has no use for it
        args["EDGEBENCH_GIT_COMMIT"] = git_commit()
    for key, value in list(args.items()):  # an argument naming a `target:` context: that target's image, built first
        ctx = target.contexts.get(value, "")
        if ctx.startswith("target:"):
            args[key] = f"{bake.targets[ctx.split(':', 1)[1]].tags[0]}-{arch}"
    base = args.get("BASE_IMAGE")
    if local_bases != "no" and base in LOCAL_BASE_SUITES:
        local = f"edgebench-base:{LOCAL_BASE_SUITES[base]}-{arch}"
        if local_bases == "yes" or (image_arch_of(local) == arch and image_arch_of(base) != arch):
            log.info("%s %s: FROM %s (local debootstrap base standing in for %s)", target.name, platform, local, base)
            args["BASE_IMAGE"] = local
    if wheelhouse is not None and "TORCH_PIP_ARGS" in args and args.get("WITH_TORCH") == "1":
        if torch_wheel_for(wheelhouse, arch):
            args["TORCH_PIP_ARGS"] = f"--find-links {wheel_url} --trusted-host 127.0.0.1"
        else:
            log.warning("%s %s: no torch wheel for %s in %s: WITH_TORCH=0", target.name, platform, arch, wheelhouse)
            args["WITH_TORCH"] = "0"
    return args


def plain_build(bake: Bake, target: Target, platform: str, native: str, args: Dict[str, str], timeout: float) -> float:
    """One classic `docker build --platform`; returns seconds taken."""
    cmd = ["docker", "build", "--force-rm", "--network", "host", "--platform", platform, "-f", target.dockerfile]
    for key, val in sorted(args.items()):
        cmd += ["--build-arg", f"{key}={val}"]
    for key, val in sorted(target.labels.items()):
        cmd += ["--label", f"{key}={val}"]
    for tag in tags_for(target, platform, native):
        cmd += ["-t", tag]
    cmd.append(str(REPO / target.context))
    env = build_env(target.name)
    log.info("build %s for %s%s: %s", target.name, platform, " (DOCKER_BUILDKIT=0)" if env else "", " ".join(cmd))
    start = time.monotonic()
    subprocess.run(cmd, check=True, timeout=timeout, cwd=REPO, env=env)
    return time.monotonic() - start


CPUINFO = REPO / "launcher" / "cpuinfo" / "cortex-a72.txt"
#: constant (no user input): reads the requirement list the image wrote at build time
SELFCHECK_SCRIPT = 'exec python -m bench selfcheck --require "$(cat /opt/edgebench/selfcheck.txt)"'


def selfcheck_after_build(tag: str, platform: str, timeout: float = 900) -> None:
    """The image's selfcheck in an emulated container (ARM cpuinfo, --init, outer timeout + kill)."""
    name = f"edgebench-selfcheck-{os.getpid()}-{int(time.time())}"
    cmd = [
        "docker", "run", "--rm", "--name", name, "--init", "--network", "none", "--platform", platform,
        "-v", f"{CPUINFO}:/proc/cpuinfo:ro", "-e", "QEMU_CPU=cortex-a72", "--entrypoint", "sh", tag,
        "-c", SELFCHECK_SCRIPT,
    ]  # fmt: skip
    log.info("selfcheck of %s under emulation: %s", tag, " ".join(cmd))
    try:
        subprocess.run(cmd, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        subprocess.run(["docker", "kill", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        raise


def buildx_bake(bake: Bake, names: List[str], sets: List[str], overrides: Dict[str, str], timeout: float) -> int:
    """`docker buildx bake` of ``names`` (``--set`` of a variable the bake file does not declare goes to every
    target's build args); its exit code."""
    cmd = ["docker", "buildx", "bake", "-f", str(BAKE_FILE), *names]
    for kv in sets:
        var, val = kv.split("=", 1)
        cmd += ["--set", f"*.args.{var}={val}"] if var not in bake.variables else []
    env = {**os.environ, **overrides}
    log.info("buildx: %s", " ".join(cmd))
    return subprocess.run(cmd, cwd=REPO, env=env, timeout=timeout * len(names)).returncode


def record_build(
    name: str, platform: str, tag: str, took: float, build_args: Dict[str, str], timings: Optional[Path]
) -> None:
    """Log one finished build with its image size; with ``timings``, append it there as one JSON line."""
    size = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    row = {
        "target": name,
        "platform": platform,
        "tag": tag,
        "seconds": round(took, 1),
        "size_mb": round(int(size) / 1e6),
        "args": build_args,
    }
    log.info("built %s for %s in %.0f s, %s MB", name, platform, took, row["size_mb"])
    if timings:
        timings.parent.mkdir(parents=True, exist_ok=True)
        with timings.open("a") as f:
            f.write(json.dumps(row) + "\n")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="bake targets or groups (default: the default group)")
    parser.add_argument("--platform", action="append", default=None, help="only these platforms (linux/arm64, ...)")
    parser.add_argument(
        "--local-bases", choices=("auto", "yes", "no"), default="auto", help="bases of make base-images"
    )
    parser.add_argument(
        "--wheelhouse",
        type=Path,
        default=Path(os.environ["WHEELHOUSE"]) if os.environ.get("WHEELHOUSE") else None,
        help="serve torch wheels from this folder (env WHEELHOUSE)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="VAR=VALUE", help="override a bake variable")
    parser.add_argument("--no-buildx", action="store_true", help="plain docker build even if buildx exists")
    parser.add_argument("--timings", type=Path, default=None, help="append one JSON line per build here")
    parser.add_argument("--timeout", type=float, default=BUILD_TIMEOUT_S, help="seconds per build")
    parser.add_argument(
        "--selfcheck-only",
        metavar="TAG",
        default=None,
        help="only run the deferred selfcheck of an arm64 image built with SELFCHECK=0 (the workflow's buildx jobs)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="images: %(message)s")
    if args.selfcheck_only:
        selfcheck_after_build(args.selfcheck_only, (args.platform or ["linux/arm64"])[0])
        return 0

    overrides = dict(kv.split("=", 1) for kv in args.set)
    bake = load_bake(overrides=overrides)
    names: List[str] = []
    requested = args.targets or re.split(r"[,\s]+", os.environ.get("TARGET", "").strip()) or []
    for name in [n for n in requested if n] or ["default"]:
        if name in bake.groups:
            names += bake.groups[name]
        elif name in bake.targets:
            names.append(name)
        else:
            parser.error(f"unknown target {name!r}; known: {', '.join(sorted(bake.targets))}")
    copy_ca_certificates()

    if have_buildx() and not args.no_buildx and args.local_bases != "yes" and args.wheelhouse is None:
        baked = [n for n in names if not needs_classic_builder(n)]
        if baked:
            rc = buildx_bake(bake, baked, args.set, overrides, args.timeout)
            if rc != 0 or len(baked) == len(names):
                return rc
        names = [n for n in names if needs_classic_builder(n)]
        log.info("classic builder (DOCKER_BUILDKIT=0) for %s: BuildKit ignores the nvidia default runtime", names)

    native = engine_arch()
    with serve_wheelhouse(args.wheelhouse) as wheel_url:
        for name in build_order(bake, names):
            target = bake.targets[name]
            for platform in target.platforms:
                if args.platform and platform not in args.platform:
                    continue
                build_args = plain_build_args(bake, target, platform, args.local_bases, args.wheelhouse, wheel_url)
                foreign = arch_of(platform) != native and has_selfcheck(target)
                if foreign:
                    log.info("%s: foreign platform %s under qemu: selfcheck runs after the build", name, platform)
                    build_args["SELFCHECK"] = "0"
                start = time.monotonic()
                plain_build(bake, target, platform, native, build_args, args.timeout)
                tag = tags_for(target, platform, native)[0]
                if foreign:
                    selfcheck_after_build(tag, platform)
                record_build(name, platform, tag, time.monotonic() - start, build_args, args.timings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
