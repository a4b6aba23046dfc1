"""Two-file model formats carried as one file. Standard library only.

An OpenVINO IR is an ``.xml`` graph and a ``.bin`` of weights; an ncnn model a ``.param`` and a ``.bin``. Every other
format edgebench converts to is one file, and the conversion cache, ``compare --artifacts``, the fidelity references
and the launcher move one file per model. So a converted IR or ncnn model is a *bundle*: an uncompressed (stored) zip
holding the vendor's two files under fixed names plus ``edgebench.json`` (what the conversion knows and the vendor
format does not say: the source's input shape and name, the precision the runtime must run). ``unzip`` gives back the
files the vendor's own tools read (benchmark_app, ncnn's benchncnn).

A user's own model is read as the vendor writes it: the ``.xml`` or ``.param`` file, with its ``.bin`` beside it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Dict, Tuple

from bench import formats
from bench.errors import ModelFormatError

META = "edgebench.json"
#: format -> (graph file, weights file) inside a bundle (declared with the formats, which detect bundles by them)
MEMBERS: Dict[str, Tuple[str, str]] = formats.BUNDLE_MEMBERS


def write(dest: Path, fmt: str, graph: Path, weights: Path, meta: Dict[str, Any]) -> Path:
    """A bundle at ``dest`` of ``graph`` and ``weights`` (stored, not compressed) and ``meta``."""
    first, second = MEMBERS[fmt]
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as z:
        z.write(graph, first)
        z.write(weights, second)
        z.writestr(META, json.dumps({"format": fmt, **meta}, indent=2, sort_keys=True, default=str))
    return dest


def read(path: Path, fmt: str) -> Tuple[bytes, bytes, Dict[str, Any]]:
    """(graph bytes, weights bytes, meta) of a bundle, or of the vendor's graph file with its ``.bin`` beside it."""
    path = Path(path)
    first, second = MEMBERS[fmt]
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                meta = json.loads(z.read(META)) if META in names else {}
                return z.read(first), z.read(second), meta
        except (KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ModelFormatError(
                f"{path} is not a complete {fmt} bundle ({first}, {second}): {exc}", "convert the model again"
            ) from exc
    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise ModelFormatError(
            f"{fmt} model {path} has no weights file {weights.name} beside it",
            f"put {weights.name} next to {path.name}",
        )
    return path.read_bytes(), weights.read_bytes(), {}


def extract(path: Path, fmt: str, folder: Path) -> Path:
    """The vendor's two files written into ``folder`` (for the vendor's own tools); the graph file's path."""
    graph, weights, _ = read(path, fmt)
    first, second = MEMBERS[fmt]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / first).write_bytes(graph)
    (folder / second).write_bytes(weights)
    return folder / first
