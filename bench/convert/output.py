"""What `--convert-only` shows and where `--convert-output` puts the converted model. Standard library only."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict

from bench.errors import InputError
from bench.hashing import sha256_path


def copy(artifact: Path, dest: Path) -> Path:
    """Copy the converted model (file or SavedModel folder) to ``dest``, or into ``dest`` when it is a folder.

    Atomic (a temporary copy, then one rename). A different file already at the destination is never replaced.
    """
    artifact, dest = Path(artifact), Path(dest)
    if dest.is_dir() and not (artifact.is_dir() and dest.name == artifact.name):
        dest = dest / artifact.name
    if dest.exists():
        if artifact.is_file() and dest.is_file() and sha256_path(dest) == sha256_path(artifact):
            return dest
        raise InputError(f"--convert-output {dest} already exists", "choose a new path or remove the old file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".edgebench-copy-", dir=str(dest.parent)))
    try:
        staged = tmp / artifact.name
        if artifact.is_dir():
            shutil.copytree(artifact, staged)
        else:
            shutil.copy2(artifact, staged)
        os.rename(staged, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def summary(conversion: Dict[str, Any], model: str = "") -> str:
    """Lines for the terminal: where the converted model is (``model`` when nothing was converted), where it was
    copied, and its fidelity."""
    lines = [f"converted model: {conversion.get('path') or model}"]
    if conversion.get("output"):
        lines.append(f"copied to: {conversion['output']}")
    fid = conversion.get("fidelity") or {}
    if not conversion.get("chain"):
        lines.append("fidelity: no conversion was needed (the model is already in the framework's format)")
    elif fid.get("status") == "unchecked":
        lines.append(f"fidelity: unchecked: {fid.get('reason')}")
        if fid.get("reference"):
            lines.append(f"fidelity reference (for the device): {fid['reference']}")
    elif fid:
        parts = [f"max abs diff {fid.get('max_abs_diff', 0):.3g}", f"cosine {fid.get('cosine_similarity', 0):.6f}"]
        if fid.get("top1_agreement") is not None:
            parts.append(f"top-1 agreement {fid['top1_agreement']:.1%}")
        if fid.get("accuracy_change") is not None:
            parts.append(f"accuracy {fid['accuracy_source']:.4f} -> {fid['accuracy_converted']:.4f}")
        if fid.get("mse_converted") is not None:
            parts.append(f"MSE {fid['mse_source']:.4g} -> {fid['mse_converted']:.4g}")
        lines.append(
            f"fidelity ({fid.get('precision', '')}, {fid.get('samples')} samples, {fid.get('inputs')}): "
            + ", ".join(parts)
        )
    return "\n".join(lines)
