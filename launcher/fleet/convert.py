"""Configs of a fleet run and their conversions, made once on the workstation with the local toolchain.

A config is a compare preset (bench.compare.presets: framework, precision, delegate). Each config's model is converted once, through `python -m bench run --convert-only`
(the same conversion cache and fidelity check as everywhere else), before any board starts; the boards only get the
converted file. Conversion time is recorded beside the measurement, never in its latency.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bench.errors import InputError

log = logging.getLogger(__name__)

#: seconds one conversion may take on the workstation (ResNet-50 to TFLite took about 3.5 minutes here)
CONVERT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Config:
    name: str
    framework: str
    precision: str = "fp32"
    delegate: Optional[str] = None
    needs_representative_data: bool = False


@dataclass
class Conversion:
    """The model file a config runs on every board, or the error that stops the config everywhere."""

    config: Config
    model: Optional[Path] = None
    seconds: float = 0.0
    record: Dict = field(default_factory=dict)
    error: Optional[str] = None


def _table() -> Dict[str, Config]:
    from bench.compare.presets import PRESETS  # the compare presets: one table for every command

    return {
        name: Config(name, p.framework, p.precision, p.delegate, p.needs_representative_data)
        for name, p in PRESETS.items()
    }


def resolve(names: Sequence[str], representative_data: Optional[Path]) -> List[Config]:
    """Configs by name, in the user's order; unknown, duplicated or empty lists are one clear error."""
    table = _table()
    if not names:
        raise InputError("no configs given", f"pass --configs with some of: {', '.join(table)}")
    out = []
    for n in names:
        if n not in table:
            raise InputError(f"unknown config {n!r}", f"use some of: {', '.join(table)}")
        if n in [c.name for c in out]:
            raise InputError(f"config {n!r} given twice", "list each config once")
        if table[n].needs_representative_data and representative_data is None:
            raise InputError(f"config {n!r} needs representative data", "pass --representative-data-path calib.npz")
        out.append(table[n])
    return out


def _argv(model: Path, data: Path, config: Config, out: Path, cache: Optional[Path], extra: Sequence[str]) -> List[str]:
    argv = [sys.executable, "-m", "bench", "run", str(model), str(data), "--framework", config.framework]
    argv += ["--convert-only", "--output", str(out), *extra] + (["--cache-dir", str(cache)] if cache else [])
    if config.precision != "fp32":
        argv += ["--precision", config.precision]
    return argv


def convert_one(
    model: Path, data: Path, config: Config, work: Path, cache: Optional[Path], extra: Sequence[str]
) -> Conversion:
    """Convert (or find in the cache) the model for one config; errors are returned, not raised."""
    from bench.records import read_jsonl

    out = work / f"convert-{config.name}.jsonl"
    out.unlink(missing_ok=True)
    start = time.monotonic()
    try:
        proc = subprocess.run(
            _argv(model, data, config, out, cache, extra), capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return Conversion(config, error=f"conversion for {config.name} took over {CONVERT_TIMEOUT_S:.0f} s")
    seconds = time.monotonic() - start
    records = list(read_jsonl(out)) if out.is_file() else []
    if proc.returncode != 0 or not records or records[-1].get("status") != "ok":
        lines = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()] or proc.stderr.splitlines() or ["?"]
        return Conversion(config, seconds=seconds, error=f"conversion for {config.name} failed: {lines[-1][:300]}")
    rec = records[-1]
    conv = rec.get("conversion") or {}
    converted = Path(conv["path"]) if conv.get("path") else model  # no conversion: already the framework's format
    return Conversion(config, model=converted, seconds=0.0 if conv.get("cached") else seconds, record=rec)


def convert_all(
    model: Path, data: Path, configs: Sequence[Config], work: Path, cache: Optional[Path], extra: Sequence[str] = ()
) -> Dict[str, Conversion]:
    """Every config's conversion, one after the other (the converters use every core themselves)."""
    work.mkdir(parents=True, exist_ok=True)
    done = {}
    for config in configs:
        log.info("converting %s for %s on this workstation", model.name, config.name)
        done[config.name] = convert_one(model, data, config, work, cache, extra)
        if done[config.name].error:
            log.error("%s", done[config.name].error)
    return done
