"""The tar archives a device container's files go in and out as (``put_archive``, ``get_archive``): inputs
root-owned and read-only, results appended through bench.records, folders copied flat without path traversal."""

from __future__ import annotations

import io
import json
import logging
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Optional

from bench.records import append_jsonl

log = logging.getLogger(__name__)

RESULTS_IN_CONTAINER = PurePosixPath("/work/results/launcher.jsonl")


def inputs_tar(mapping: Dict[Path, PurePosixPath]) -> bytes:
    """A tar of the inputs under in/, root-owned, read-only (dirs 0555, files 0444)."""
    buf = io.BytesIO()

    def ro(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o555 if info.isdir() else 0o444
        return info

    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = {PurePosixPath(*c.parts[1:i]) for c in mapping.values() for i in range(2, len(c.parts))}
        for d in sorted(dirs, key=lambda p: len(p.parts)):
            info = tarfile.TarInfo(str(d))
            info.type = tarfile.DIRTYPE
            tar.addfile(ro(info))
        for local, target in mapping.items():
            tar.add(str(local), arcname=str(PurePosixPath(*target.parts[1:])), filter=ro)
    return buf.getvalue()


def _read_archive(container: Any, path: str) -> Optional[tarfile.TarFile]:
    import docker

    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    return tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r")


def collect_records(container: Any, results: Path, skip_bytes: int = 0) -> List[Dict[str, Any]]:
    """Copy the run's JSON lines out and append the complete ones to ``results``; return them. Appended through
    bench.records, the one writer: one O_APPEND write per record, never glued to a torn last line.

    ``skip_bytes``: the length of the seeded copy of ``results`` (:func:`seed_results`), never appended twice."""
    tar = _read_archive(container, str(RESULTS_IN_CONTAINER))
    if tar is None:
        return []
    member = tar.getmembers()[0]
    data = tar.extractfile(member).read()[skip_bytes:].decode() if member.isfile() else ""
    records = []
    for line in data.split("\n"):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("dropping an incomplete result line (the run was stopped while writing it)")
    for record in records:
        append_jsonl(results, record)
    if records:
        log.info("appended %d record(s) to %s", len(records), results)
    return records


def results_tar(content: bytes) -> bytes:
    """A tar holding ``content`` as the container's results file (writable by the image's non-root user)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(str(RESULTS_IN_CONTAINER.relative_to("/")))
        info.size, info.mode, info.uid, info.gid = len(content), 0o666, 1000, 1000
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def collect_dir(container: Any, path: str, dest: Path) -> List[Path]:
    """Copy a container folder's files into ``dest`` (flat names, no path traversal)."""
    tar = _read_archive(container, path)
    out = []
    if tar is None:
        return out
    dest.mkdir(parents=True, exist_ok=True)
    for m in tar.getmembers():
        if m.isfile():
            parts = PurePosixPath(m.name).parts[1:]
            if not parts or ".." in parts:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(m).read())
            out.append(target)
    return out
