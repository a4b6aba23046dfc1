"""Offline base images: debootstrap a minimal Debian root filesystem and load it into the local engine.

No image registry is needed, which is what this machine and air-gapped labs have. Each base stands in for the
public image a user would pull (``debian:bookworm-slim``, ``debian:bullseye-slim``) and is tagged per architecture::

    edgebench-base:bookworm-amd64   edgebench-base:bookworm-arm64   edgebench-base:bullseye-arm64

Foreign architectures (arm64 here) are bootstrapped through qemu-user-static binfmt, so no ``--foreign`` stage.

``docker import --platform linux/arm64`` on engine 20.10 records the image as amd64, so this script writes a
``docker save``-format archive instead (manifest.json, an image config with the right architecture and variant, one
layer tar) and ``docker load``s it.

An existing image with the right architecture is reused unless ``--force``; downloaded .debs are cached in
``.cache/debootstrap/<suite>-<arch>`` so a rebuild needs no mirror traffic for them.

Usage (as root, debootstrap needs it)::

    python3 images/base/build.py [--only bookworm-arm64 ...] [--force] [--mirror URL]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as _dt
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "debootstrap"
WORK = REPO / "build" / "base"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What every image needs from the base; the Dockerfiles install these too (for the public bases), so they
# must agree. Bootstrapping them here saves an emulated apt run per image.
INCLUDE = ("ca-certificates", "python3", "python3-venv")


@dataclass(frozen=True)
class Base:
    """One base image: Debian suite and architecture, and the public image it stands in for."""

    suite: str
    arch: str  # Debian/Docker architecture name: amd64, arm64
    stands_for: str

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.arch}"

    @property
    def tag(self) -> str:
        return f"edgebench-base:{self.name}"

    @property
    def variant(self) -> str:
        return "v8" if self.arch == "arm64" else ""


BASES = (
    Base("bookworm", "amd64", "debian:bookworm-slim"),
    Base("bookworm", "arm64", "debian:bookworm-slim"),
    Base("bullseye", "arm64", "debian:bullseye-slim"),
)


def run(cmd: Sequence[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run an argument list (never a shell string) with a timeout; raise on failure."""
    log.debug("run: %s", " ".join(cmd))
    return subprocess.run(list(cmd), check=True, timeout=timeout, **kwargs)


def image_arch(tag: str) -> Optional[str]:
    """The architecture the local engine records for ``tag``, or None if there is no such image."""
    proc = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Architecture}}", tag],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def debootstrap(base: Base, rootfs: Path, mirror: str) -> None:
    cache = CACHE / base.name
    cache.mkdir(parents=True, exist_ok=True)
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--arch={base.arch}",
            f"--include={','.join(INCLUDE)}",
            f"--cache-dir={cache}",
            base.suite,
            str(rootfs),
            mirror,
        ],
        timeout=1800,
        stdout=subprocess.DEVNULL,
    )
    # Trim what a slim image trims: apt lists and caches, docs stay (small). Plain http mirror for apt.
    for sub in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for p in (rootfs / sub).glob("*"):
            if p.is_file():
                p.unlink()
    (rootfs / "etc/apt/sources.list").write_text(f"deb {mirror} {base.suite} main\n")


def layer_tar(rootfs: Path, out: Path) -> str:
    """Tar the root filesystem (numeric owners, as a layer) and return its sha256 (the layer's diff_id)."""
    run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(out), "."], timeout=1800)
    h = hashlib.sha256()
    with out.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_archive(base: Base, layer: Path, diff_id: str, out: Path) -> None:
    """Write a `docker save` archive holding one image with the right architecture."""
    created = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {
        "architecture": base.arch,
        "os": "linux",
        "created": created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
            "Cmd": ["bash"],
            "Labels": {
                "org.opencontainers.image.title": base.tag,
                "org.opencontainers.image.description": (
                    f"debootstrap minbase {base.suite}, stands in for {base.stands_for}"
                ),
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": created, "created_by": f"images/base/build.py debootstrap {base.suite} {base.arch}"}],
    }
    if base.variant:
        config["variant"] = base.variant
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_id = hashlib.sha256(config_bytes).hexdigest()
    manifest = [{"Config": f"{config_id}.json", "RepoTags": [base.tag], "Layers": [f"{diff_id}/layer.tar"]}]
    with tarfile.open(out, "w") as tar:

        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, fileobj=io.BytesIO(data))

        add_bytes(f"{config_id}.json", config_bytes)
        add_bytes("manifest.json", json.dumps(manifest).encode())
        tar.add(str(layer), arcname=f"{diff_id}/layer.tar")


def build(base: Base, mirror: str, force: bool) -> float:
    """Build and load one base; return seconds spent (0 when reused)."""
    have = image_arch(base.tag)
    if have == base.arch and not force:
        log.info("%s: reusing existing image", base.tag)
        return 0.0
    start = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK, prefix=f"{base.name}-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log.info("%s: debootstrap %s %s (emulated: %s)", base.tag, base.suite, base.arch, base.arch != host_arch())
        debootstrap(base, rootfs, mirror)
        layer = Path(tmp) / "layer.tar"
        diff_id = layer_tar(rootfs, layer)
        shutil.rmtree(rootfs)
        archive = Path(tmp) / "image.tar"
        save_archive(base, layer, diff_id, archive)
        layer.unlink()
        run(["docker", "load", "-i", str(archive)], timeout=900, stdout=subprocess.DEVNULL)
    got = image_arch(base.tag)
    if got != base.arch:
        raise RuntimeError(f"{base.tag} loaded as {got!r}, expected {base.arch}")
    took = time.monotonic() - start
    log.info("%s: built in %.0f s", base.tag, took)
    return took


def host_arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help=f"bases to build: {', '.join(b.name for b in BASES)}")
    parser.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    parser.add_argument("--mirror", default=os.environ.get("DEBIAN_MIRROR", DEFAULT_MIRROR))
    parser.add_argument("--jobs", type=int, default=2, help="bases bootstrapped in parallel (dpkg is single-threaded)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="base-images: %(message)s")
    wanted = [b for b in BASES if args.only is None or b.name in args.only]
    if args.only and len(wanted) != len(args.only):
        parser.error(f"unknown base in {args.only}; known: {', '.join(b.name for b in BASES)}")
    missing = [b for b in wanted if image_arch(b.tag) != b.arch or args.force]
    if missing and shutil.which("debootstrap") is None:
        log.error("debootstrap is not installed. Fix: apt-get install debootstrap qemu-user-static binfmt-support")
        return 2
    if missing and os.geteuid() != 0:
        log.error("debootstrap needs root. Fix: run `make base-images` as root (or with sudo)")
        return 2
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(build, b, args.mirror, args.force) for b in wanted]
        for f in futures:
            f.result()  # re-raises the first failure
    log.info("bases ready in %.0f s", time.monotonic() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
