"""The compare id, and what a results file already holds of it (for --resume).

id = sha256 of the canonical JSON of {model sha256, data sha256, configs, threads, options}, first 16 hex digits.
``options`` is every run option that changes what is measured, plus a repeat counter: the same command run again
into the same file (``make bench`` twice) starts a new compare, while ``--resume`` continues the latest one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional, Sequence, Set, Tuple

from bench.config import RunConfig
from bench.hashing import sha256_path

#: RunConfig fields that are per job (set by the preset or the threads sweep) or not about the measurement
_PER_JOB = ("model", "data", "framework", "threads", "delegate", "output", "convert", "model_class_path")
#: ConvertOptions fields that are per preset, not about the result, or files (hashed instead)
_CONVERT_SKIP = ("precision", "representative_data", "transposed_data", "convert_only", "cache_dir")


def _sha(path: Optional[Path]) -> Optional[str]:
    return sha256_path(Path(path)) if path is not None and Path(path).exists() else None


def options_of(template: RunConfig, rounds: int, seed: Optional[int], artifacts: Dict[str, Tuple]) -> Dict[str, Any]:
    """The options part of the id: generic over RunConfig, so a run option added later enters it by itself."""
    opts: Dict[str, Any] = {k: v for k, v in template.to_dict().items() if k not in _PER_JOB}
    opts["model_class_sha256"] = _sha(template.model_class_path)
    conv = template.convert
    if conv is not None:
        # RunConfig.to_dict above has read conv.to_dict() already: every convert section has one
        opts["convert"] = {k: v for k, v in conv.to_dict().items() if k not in _CONVERT_SKIP}
        opts["representative_data_sha256"] = _sha(conv.representative_data)
        opts["transposed_data_sha256"] = _sha(conv.transposed_data)
    opts["rounds"], opts["seed"] = rounds, seed
    if artifacts:  # preset -> sha256 of the file it runs as it is (the model sha256 stays the source's)
        from bench.compare.artifacts import of

        opts["artifacts"] = {name: _sha(of(a).path) for name, a in sorted(artifacts.items())}
    return opts


def compare_id(payload: Dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def ok_pairs(output: Optional[Path]) -> Dict[str, Set[Tuple[str, int]]]:
    """compare id -> (label, round) pairs with an ok record, for every compare in ``output`` (torn lines skipped)."""
    from bench.records import read_records

    found: Dict[str, Set[Tuple[str, int]]] = {}
    if output is None or not Path(output).is_file():
        return found
    for r in read_records(Path(output)):
        c = r.get("compare") if isinstance(r, dict) else None
        if not c or not c.get("id"):
            continue
        pairs = found.setdefault(c["id"], set())
        if r.get("status") == "ok":
            pairs.add((c.get("label"), c.get("round")))
    return found


def identify(
    template: RunConfig,
    configs: Sequence[str],
    threads: Sequence[Optional[int]],
    protocol: Any,
    artifacts: Dict[str, Tuple],
) -> Tuple[str, FrozenSet[Tuple[str, int]], str]:
    """(compare id, pairs already done, model sha256). A fresh compare takes the first unused repeat number;
    --resume takes the latest one used in the output file."""
    model_sha = sha256_path(Path(template.model))
    base = {
        "model_sha256": model_sha,
        "data_sha256": sha256_path(Path(template.data)),
        "configs": list(configs),
        "threads": list(threads),
        "options": options_of(template, protocol.rounds, protocol.seed, artifacts),
    }
    existing = ok_pairs(template.output)
    used = []
    while True:
        base["options"]["repeat"] = len(used)
        cid = compare_id(base)
        if cid not in existing:
            break
        used.append(cid)
    if protocol.resume and used:
        return used[-1], frozenset(existing[used[-1]]), model_sha
    return cid, frozenset(), model_sha
