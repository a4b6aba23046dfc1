"""Models converted elsewhere, one per preset: `compare --artifact PRESET=FILE` and `compare --artifacts DIR`, and the
step that writes DIR: `compare ... --convert-only --convert-output DIR`.

Device images carry runtimes, not converters (no onnx2tf or TensorFlow on a Pi). So the workstation converts every
preset (launcher compare does it in the host image) and the device measures the files as they are:

* ``DIR/artifacts.json`` (:data:`MANIFEST`): the source model (path, sha256, format), where the conversion ran, and
  per preset its file, sha256, format, the conversion as recorded there (chain, precision, fidelity) and a fidelity
  reference: the source model's outputs on the first samples of the data, which the device checks its own outputs of
  the converted model against after the measurement (bench.convert.fidelity.check_reference). Presets that were not
  converted (nothing to convert, or the conversion is impossible there, e.g. coral without edgetpu_compiler) are
  listed under ``not_converted`` with the reason; the device converts or skips them as it would without DIR.
* A preset with an artifact runs that file, with no conversion; the compare id stays keyed on the source model's
  sha256 and adds each artifact's sha256 (bench.compare.ident), and each record's ``conversion`` names the artifact
  and where it was converted (:func:`conversion_section`).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench import envvars
from bench.compare.presets import NAMES, PRESETS
from bench.errors import BenchError, InputError
from bench.records import utc_now

log = logging.getLogger(__name__)

MANIFEST = "artifacts.json"
SCHEMA = 1


@dataclass(frozen=True)
class Artifact:
    """A preset's model file, run as it is. ``origin`` None: a built-in export (bench.compare.demo), not annotated."""

    path: Path
    reference: Optional[Path] = None  #: .npz of source outputs, checked on this device after the run
    conversion: Dict[str, Any] = field(default_factory=dict)  #: the conversion as recorded where it ran
    origin: Optional[str] = None  #: "--artifact" or the manifest's path
    model_class_path: Optional[Path] = None  #: a PyTorch state_dict's class (bench.compare.demo)
    model_class_name: Optional[str] = None


def of(value: Any) -> Artifact:
    """An Artifact, also from bench.compare.demo's (path, class file, class name) tuples."""
    if isinstance(value, Artifact):
        return value
    path, cls_path, cls_name = value
    return Artifact(Path(path), model_class_path=cls_path, model_class_name=cls_name)


def _bad(problem: str, fix: str) -> InputError:
    return InputError(problem, fix)


def check(name: str, artifact: Artifact) -> None:
    """Unknown preset, missing file, or a file of another format than the preset's runtime loads: InputError."""
    from bench import formats, runtimes

    if name not in PRESETS:
        raise _bad(f"--artifact {name}: unknown preset", f"name one of: {', '.join(NAMES)}")
    if not artifact.path.is_file():
        raise _bad(f"--artifact {name}={artifact.path}: file not found", "check the path")
    preset = PRESETS[name]
    fmt = formats.detect(artifact.path)
    wanted = runtimes.runtime_class(preset.framework).formats
    if fmt not in wanted:
        raise _bad(
            f"--artifact {name}={artifact.path} is a {fmt} model, but preset {name} runs {' or '.join(wanted)}",
            f"give the {' or '.join(wanted)} file converted for {name}",
        )
    if artifact.reference is not None and not artifact.reference.is_file():
        raise _bad(f"fidelity reference {artifact.reference} of {name} not found", "convert again into a new folder")


def parse(specs: Optional[Sequence[str]], folder: Optional[Path]) -> Dict[str, Artifact]:
    """preset -> Artifact from ``--artifacts DIR`` (its manifest) and ``--artifact PRESET=FILE`` (wins), checked."""
    found: Dict[str, Artifact] = read_dir(Path(folder)) if folder is not None else {}
    for spec in specs or ():
        name, sep, path = str(spec).partition("=")
        if not sep or not name.strip() or not path.strip():
            raise _bad(f"--artifact {spec!r} is not PRESET=FILE", "pass e.g. --artifact tflite-int8=model_int8.tflite")
        found[name.strip()] = _beside_manifest(name.strip(), Path(path.strip()))
    for name, artifact in found.items():
        check(name, artifact)
    return found


def _beside_manifest(name: str, path: Path) -> Artifact:
    """``--artifact NAME=PATH``; when PATH sits in a convert-only folder whose manifest names it for NAME, with its
    fidelity reference and conversion record."""
    if (path.parent / MANIFEST).is_file():
        entry = read_dir(path.parent).get(name)
        if entry is not None and entry.path.name == path.name:
            return replace(entry, path=path, origin="--artifact")
    return Artifact(path, origin="--artifact")


def read_dir(folder: Path) -> Dict[str, Artifact]:
    """The artifacts a convert-only compare wrote into ``folder`` (paths in the manifest are relative to it)."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        return {name: _entry(folder, manifest, entry, str(path)) for name, entry in manifest["presets"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # also a damaged entry: one line
        raise _bad(
            f"--artifacts {folder}: no readable {MANIFEST} ({type(exc).__name__})",
            "pass the folder written by `edgebench compare ... --convert-only --convert-output DIR`",
        ) from None


def _entry(folder: Path, manifest: Dict[str, Any], entry: Dict[str, Any], origin: str) -> Artifact:
    """One preset's Artifact from its manifest entry (KeyError, TypeError or AttributeError when it is damaged)."""
    conversion = dict(entry.get("conversion") or {})
    conversion["converted_on"] = manifest.get("converted_on")
    ref = entry.get("fidelity_reference")
    return Artifact(folder / entry["file"], folder / ref if ref else None, conversion, origin=origin)


def not_converted(folder: Path) -> Dict[str, str]:
    """preset -> why the conversion step did not convert it (read from the folder's manifest; {} when unreadable)."""
    try:
        return dict(json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("not_converted") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def conversion_section(artifact: Artifact, measured: Dict[str, Any]) -> Dict[str, Any]:
    """A record's ``conversion`` for a run of ``artifact``: the conversion as recorded where it ran, the artifact,
    and the fidelity checked here (``measured``, the run's own section) over the one checked there."""
    from bench.hashing import sha256_path

    section = dict(artifact.conversion)
    if measured.get("fidelity"):
        if section.get("fidelity"):
            section["fidelity_where_converted"] = section["fidelity"]
        section["fidelity"] = measured["fidelity"]
    section["artifact"] = {
        "path": str(artifact.path),
        "sha256": sha256_path(artifact.path),
        "given_by": artifact.origin,
    }
    section.setdefault("converted_on", {"where": "elsewhere (given with --artifact): not recorded"})
    return section


# ------------------------------------------------------------------------------ the convert-only step writing DIR


def _store(src: Path, out: Path, name: str, sha: str) -> str:
    """Copy ``src`` into ``out`` as ``<sha12>-<name>`` (one copy per distinct file); its name in ``out``."""
    target = out / f"{sha[:12]}-{name}"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(prefix=".artifact-", dir=str(out))
        os.close(fd)
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return target.name


def _reference(job: Any, fid: Dict[str, Any], artifact_sha: str, out: Path, cache: Dict[str, Any]) -> Optional[str]:
    """The fidelity reference for the device: the one the conversion stored (fidelity unchecked here), or the source
    model's outputs on the first samples of the data, written once per source and tagged with this artifact."""
    import numpy as np

    from bench import data as data_mod
    from bench import formats
    from bench.convert import fidelity
    from bench.convert.options import DEFERRED_FIDELITY_SAMPLES
    from bench.runtimes.base import RuntimeOptions

    if fid.get("reference") and Path(fid["reference"]).is_file():
        return _store(Path(fid["reference"]), out, "fidelity_reference.npz", artifact_sha)
    run = job.run
    if "outputs" not in cache:
        ds = data_mod.load_npz(run.data)
        x = ds.x[:DEFERRED_FIDELITY_SAMPLES]
        dtype = "float32" if np.issubdtype(x.dtype, np.floating) else "int64"
        ro = RuntimeOptions(
            model_class_path=run.model_class_path,
            model_class_name=run.model_class_name,
            input_shape=(1,) + tuple(x.shape[1:]),
            extra={"input_dtype": dtype},
        )
        cache.update(x=x, y=None if ds.y is None else ds.y[: len(x)])
        cache["outputs"] = fidelity.outputs(Path(run.model), formats.detect(Path(run.model)), x, ro)
    precision = fid.get("precision") or run.convert.precision
    meta = {
        "precision": precision,
        "tolerance": run.convert.fidelity_tolerance,
        "artifact_sha256": artifact_sha,
        "samples_key": f"data:{len(cache['x'])}:{run.model_type}",
        "model_type": run.model_type,
        "inputs": "data",
    }
    name = f"{artifact_sha[:12]}-fidelity_reference.npz"
    fidelity.write_reference(out / name, cache["x"], cache["outputs"], cache["y"], meta)
    return name


def _convert_one(job: Any, out: Path, cache: Dict[str, Any]) -> Dict[str, Any]:
    """Convert one preset (runner.run with --convert-only, cached); its manifest entry, or {"reason": ...}."""
    from bench import runner
    from bench.hashing import sha256_path

    run = replace(job.run, convert=replace(job.run.convert, convert_only=True, output=None))
    try:
        rec = runner.run(run)
    except BenchError as exc:
        return {"reason": str(exc).splitlines()[0]}
    conv = dict(rec.conversion or {})
    if not conv.get("chain") or not conv.get("path"):
        return {"reason": "nothing to convert: the device runs the source model (or converts it itself)"}
    path = Path(conv["path"])
    if not path.is_file():
        return {"reason": f"the conversion made a folder ({path.name}), not a file a device runtime loads"}
    sha = conv.get("sha256") or sha256_path(path)
    fid = dict(conv.get("fidelity") or {})
    entry = {"file": _store(path, out, path.name, sha), "sha256": sha, "format": conv.get("format")}
    entry["fidelity_reference"] = _reference(job, fid, sha, out, cache)
    fid.pop("reference", None)  # a path in this machine's cache; the device gets fidelity_reference
    conv.update(fidelity=fid, path_where_converted=conv.pop("path"))
    entry["conversion"] = conv
    return entry


def convert_presets(plan: Any, out: Path) -> Dict[str, Any]:
    """Convert every preset of ``plan`` (once per preset, whatever the threads), write the files, references and
    :data:`MANIFEST` into ``out``; return the manifest. A preset that cannot be converted here is listed, not fatal."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest: Dict[str, Any] = {
        "schema": SCHEMA,
        "source_model": plan.source_model,
        "converted_on": {
            "where": "host",
            "image": envvars.read(envvars.IMAGE) or None,
            "arch": platform.machine(),
            "hostname": platform.node(),
            "created_utc": utc_now(),
        },
        "presets": {},
        "not_converted": dict(plan.skipped),
    }
    cache: Dict[str, Any] = {}
    done: List[str] = []
    for job in plan.jobs:
        if job.config in done:
            continue
        done.append(job.config)
        log.info("converting for %s", job.config)
        entry = _convert_one(job, out, cache)
        if "reason" in entry:
            log.info("%s: not converted (%s)", job.config, entry["reason"])
            manifest["not_converted"][job.config] = entry["reason"]
        else:
            manifest["presets"][job.config] = entry
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=str(out))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=True, default=str)
    os.replace(tmp, out / MANIFEST)
    return manifest


def summary(manifest: Dict[str, Any], out: Path) -> str:
    """Lines for the terminal: each preset's file and fidelity, and what was not converted."""
    lines = [f"converted for the device into {out} ({MANIFEST}):"]
    for name, e in manifest["presets"].items():
        fid = e["conversion"].get("fidelity") or {}
        how = fid.get("status", "")
        if fid.get("max_abs_diff") is not None:
            how += f", max abs diff {fid['max_abs_diff']:.3g}"
        lines.append(f"  {name}: {e['file']} (fidelity {how or 'n/a'}; reference {e['fidelity_reference']})")
    for name, reason in manifest["not_converted"].items():
        lines.append(f"  {name}: not converted ({reason})")
    return "\n".join(lines)
