"""Content-addressed conversion cache with one manifest.json per artifact. Standard library only.

Layout: ``<root>/<key[:24]>/{<stem>.<ext>, manifest.json}``. The key hashes the source's sha256, the
conversion options that matter to the edge, and the versions of the converter packages, so a new
converter version or a different model with the same file name never reuses a stale artifact.
Artifacts are built in a temporary folder and moved into place with one rename; a folder without a
manifest is incomplete and rebuilt. Manifests are rewritten atomically (write + os.replace).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from bench import envvars
from bench.hashing import sha256_path
from bench.records import utc_now

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: bump when a change in bench.convert changes what an edge produces
CACHE_SCHEMA = 1


def default_root() -> Path:
    """The cache root when no --cache-dir is given (bench.envvars.cache_root: $EDGEBENCH_CACHE_DIR, else XDG's)."""
    return envvars.cache_root()


def root_for(cache_dir: Optional[Path]) -> Path:
    root = Path(cache_dir).expanduser() if cache_dir else default_root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def make_key(parts: Dict[str, Any]) -> str:
    blob = json.dumps({"cache_schema": CACHE_SCHEMA, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Entry:
    dir: Path
    manifest: Dict[str, Any]
    cached: bool

    @property
    def artifact(self) -> Path:
        return self.dir / self.manifest["artifact"]

    @property
    def manifest_path(self) -> Path:
        return self.dir / MANIFEST

    def save(self) -> None:
        write_manifest(self.dir, self.manifest)


def write_manifest(folder: Path, manifest: Dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=str(folder))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    os.replace(tmp, folder / MANIFEST)


def lookup(root: Path, key: str) -> Optional[Entry]:
    folder = root / key[:24]
    mf = folder / MANIFEST
    if not mf.is_file():
        return None
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        log.warning("cache entry %s has an unreadable manifest; rebuilding it", folder)
        return None
    if manifest.get("key") != key or not (folder / manifest.get("artifact", "\0")).exists():
        log.warning("cache entry %s is incomplete; rebuilding it", folder)
        return None
    return Entry(folder, manifest, cached=True)


def build(
    root: Path,
    key: str,
    producer: Callable[[Path, Path], Tuple[Path, Dict[str, Any]]],
    manifest: Dict[str, Any],
    artifact_name: str,
) -> Entry:
    """Run ``producer(out_dir, work_dir) -> (artifact path inside out_dir, step fields)`` and publish.

    The artifact is renamed to ``artifact_name`` and the folder moved to ``root/<key[:24]>`` atomically.
    """
    final = root / key[:24]
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=str(root)))
    work = Path(tempfile.mkdtemp(prefix="edgebench-convert-"))
    ok = False
    try:
        out = staging / "out"
        out.mkdir()
        t0 = time.perf_counter()
        produced, step_fields = producer(out, work)
        seconds = time.perf_counter() - t0
        dest = staging / artifact_name
        shutil.move(str(produced), dest)
        shutil.rmtree(out, ignore_errors=True)
        manifest = dict(manifest)
        manifest.update(step_fields)
        manifest.update(
            key=key,
            artifact=artifact_name,
            artifact_sha256=sha256_path(dest),
            created_utc=utc_now(),
            seconds=round(seconds, 3),
        )
        write_manifest(staging, manifest)
        if final.exists():
            existing = lookup(root, key)
            if existing is not None:  # another process published the same conversion meanwhile: keep theirs
                ok = True
                return Entry(existing.dir, existing.manifest, cached=False)
            shutil.rmtree(final, ignore_errors=True)  # an incomplete folder (a crash before its manifest)
        try:
            os.rename(staging, final)
        except OSError:  # another process published the same key first: keep theirs
            existing = lookup(root, key)
            if existing is None:
                raise
            ok = True
            return Entry(existing.dir, existing.manifest, cached=False)
        ok = True
        return Entry(final, manifest, cached=False)
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:  # the error message names the converter's log in here: keep it
            log.warning("conversion failed; its work folder (copy of the model, converter log) is kept: %s", work)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def update_fidelity(manifest_path: Path, samples_key: Optional[str], fidelity: Dict[str, Any]) -> None:
    """Store a fidelity checked later (on the device, after a run) into an entry's manifest; a read-only or vanished
    entry only logs (the record holds the result either way)."""
    if not samples_key:
        return
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        manifest.setdefault("fidelity", {})[samples_key] = fidelity
        write_manifest(Path(manifest_path).parent, manifest)
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("could not store the checked fidelity in %s: %s", manifest_path, exc)
