"""Run a conversion in three steps: plan (bench.convert.planning: refuse impossible work, gather what the keys depend
on), run the chain of edges through the cache, then check the fidelity of the final artifact against the source on real
samples.

Every hash is taken once: the source model's sha256 (or the caller's), each step's cache key, the artifact's
sha256 (from its manifest).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bench import __version__, formats
from bench.convert import cache, edges, fidelity, tools
from bench.convert.options import DEFERRED_FIDELITY_SAMPLES, ConvertOptions
from bench.convert.planning import Plan, plan_chain, prepare, unconverted
from bench.convert.result import Converted
from bench.errors import DataError
from bench.runtimes.base import RuntimeOptions

log = logging.getLogger(__name__)

#: the file name ending of a format no runtime is converted for (a runtime's target's is its ``model_suffix``)
_OTHER_SUFFIX = {formats.SAVEDMODEL: "_saved_model"}
SYNTHETIC_SAMPLES = 32


def convert_for(
    model: Path,
    source_format: str,
    framework: str,
    options: ConvertOptions,
    *,
    runtime_options: RuntimeOptions,
    data: Optional[Path],
    model_type: str,
    source_sha256: Optional[str] = None,
) -> Converted:
    """Convert ``model`` (of ``source_format``) into the format ``framework`` loads, check fidelity on
    ``data`` (or the representative data, or synthetic inputs), cache the result and return it.

    ``source_sha256``, when the caller already hashed ``model``, saves hashing it again. When the target's
    accelerator is not on this machine the fidelity is recorded ``unchecked`` (see Converted).

    Raises ConversionError (unsupported edge, converter failure with its last lines), FidelityError (an
    fp32 conversion beyond the tolerance), InputError/DataError (bad representative data), FrameworkUnavailable.
    """
    target = edges.target_for(framework)
    return convert(
        Path(model),
        source_format,
        target,
        options,
        runtime_options=runtime_options,
        data=Path(data) if data is not None else None,
        model_type=model_type,
        source_sha256=source_sha256,
    )


def convert(
    model: Path,
    source_format: str,
    target_format: str,
    options: Optional[ConvertOptions] = None,
    *,
    runtime_options: Optional[RuntimeOptions] = None,
    data: Optional[Path] = None,
    model_type: str = "classification",
    source_sha256: Optional[str] = None,
) -> Converted:
    """Like :func:`convert_for`, but to a format name (bench.formats), e.g. ``savedmodel`` for ONNX -> TensorFlow: plan,
    run the chain through the cache, check fidelity."""
    model = Path(model)
    options = options or ConvertOptions()
    runtime_options = runtime_options or RuntimeOptions()
    chain = plan_chain(model, source_format, target_format, options, model_type)
    if not chain:
        return unconverted(model, source_format, target_format, options)
    plan = prepare(model, source_format, chain, options, runtime_options, data, model_type, source_sha256)
    entry, steps = run_chain(plan)
    entry.manifest["chain"] = steps
    fid = check_fidelity(plan, entry)
    entry.save()
    return Converted(
        path=entry.artifact,
        format=chain[-1].target,
        chain=steps,
        fidelity=fid,
        cached=all(s["cached"] for s in steps),
        manifest=entry.manifest_path,
        source=model,
        source_format=source_format,
        precision=options.precision,
        sha256=entry.manifest["artifact_sha256"],
    )


def _stem(path: Path) -> str:
    name = path.name
    for suffix in ("_saved_model", ".onnx", ".tflite", ".keras", ".h5", ".pth", ".pt"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or "model"
    return path.stem or "model"


# ------------------------------------------------------------------------------------------------ run the chain


def _key_options(edge: edges.Edge, precision: str, options: ConvertOptions, context: Dict[str, Any]) -> Dict[str, Any]:
    """What an edge's output depends on besides its input file and the converter versions."""
    k: Dict[str, Any] = {"precision": precision}
    if edge.tool == "onnx2tf":
        k["keep_shape"] = options.keep_shape
    if edge.tool in ("torch.onnx.export", "tf2onnx"):
        k["opset"] = options.opset
    if edge.tool in ("torch.onnx.export", edges.EXECUTORCH_TOOL):
        k["input_shape"] = list(context["input_shape"] or [])
        k["class"] = context.get("class")
    if precision == "int8":
        k["calibration_sha256"] = context.get("calibration_sha256")
    return k


def run_chain(plan: Plan) -> Tuple[cache.Entry, List[Dict[str, Any]]]:
    """Each edge from the cache, or run and published into it; the last entry and the record of every step."""
    root = cache.root_for(plan.options.cache_dir)
    cur, cur_fmt, cur_sha = plan.model, plan.source_format, plan.source_sha256
    steps: List[Dict[str, Any]] = []
    entry: Optional[cache.Entry] = None
    for edge in plan.chain:
        precision = edges.precision_for(edge, plan.options.precision)
        versions = tools.versions(edge.packages)
        key_options = _key_options(edge, precision, plan.options, plan.context)
        key = cache.make_key(
            {
                "source_sha256": cur_sha,
                "from": edge.source,
                "to": edge.target,
                "tool": edge.tool,
                "versions": versions,
                "edgebench": __version__,
                "options": key_options,
            }
        )
        entry = cache.lookup(root, key)
        if entry is None:
            source = {"path": str(cur), "sha256": cur_sha, "format": cur_fmt}
            entry = _build(plan, root, key, edge, precision, cur, source, versions, key_options)
        else:
            log.info("reusing cached %s (%s)", entry.artifact, edge.tool)
        steps.append(_step_record(edge, entry))
        cur, cur_fmt, cur_sha = entry.artifact, edge.target, entry.manifest["artifact_sha256"]
    assert entry is not None
    return entry, steps


def _build(
    plan: Plan,
    root: Path,
    key: str,
    edge: edges.Edge,
    precision: str,
    cur: Path,
    source: Dict[str, Any],
    versions: Dict[str, str],
    key_options: Dict[str, Any],
) -> cache.Entry:
    step = edges.Step(
        edge=edge,
        source=cur,
        out_dir=Path("."),
        work_dir=Path("."),
        precision=precision,
        options=plan.options,
        runtime_options=plan.runtime_options,
        calibration=plan.calibration if precision == "int8" else None,
        input_shape=plan.input_shape,
    )
    func = edge.load()

    def produce(out_dir: Path, work_dir: Path) -> Any:
        res = func(replace(step, out_dir=out_dir, work_dir=work_dir))
        return res.path, {"step_options": res.options, "notes": res.notes}

    log.info("converting %s: %s -> %s with %s (%s)", plan.model.name, edge.source, edge.target, edge.tool, precision)
    suffix = "" if precision == "fp32" else f"_{precision.replace('-', '_')}"
    manifest = {
        "schema_version": 1,
        "source": source,
        "format": edge.target,
        "precision": precision,
        "tool": edge.tool,
        "tool_versions": versions,
        "options": key_options,
        "fidelity": {},
    }
    return cache.build(root, key, produce, manifest, f"{_stem(plan.model)}{suffix}{_suffix(edge.target)}")


def _suffix(fmt: str) -> str:
    from bench import runtimes

    return {**runtimes.format_suffixes(), **_OTHER_SUFFIX}[fmt]


def _step_record(edge: edges.Edge, entry: cache.Entry) -> Dict[str, Any]:
    m = entry.manifest
    return {
        "from": edge.source,
        "to": edge.target,
        "tool": edge.tool,
        "tool_version": m["tool_versions"].get(edge.packages[0], "") if edge.packages else "",
        "tool_versions": m["tool_versions"],
        "options": {**m.get("options", {}), **m.get("step_options", {})},
        "seconds": m.get("seconds"),
        "cached": entry.cached,
        "artifact": str(entry.artifact),
        "notes": m.get("notes", []),
    }


# ------------------------------------------------------------------------------------------------ check fidelity


def _samples(plan: Plan) -> Tuple[np.ndarray, Optional[np.ndarray], str, str]:
    """(inputs, labels or None, what the inputs are, an id of them) for the fidelity check."""
    n_max = max(1, int(plan.options.fidelity_samples))
    dataset, calib, input_shape = plan.dataset, plan.calibration, plan.input_shape
    if dataset is not None:
        x = dataset.x[:n_max]
        y = dataset.y[: len(x)] if dataset.y is not None else None
        return x, y, "data", dataset.sha256
    if calib is not None and len(calib):
        return calib[:n_max], None, "representative data", "representative"
    if input_shape is not None and all(d > 0 for d in input_shape):
        rng = np.random.default_rng(0)
        x = rng.random((min(SYNTHETIC_SAMPLES, n_max),) + tuple(input_shape[1:]), dtype=np.float32)
        return x, None, "synthetic uniform [0, 1) (no data file given)", "synthetic"
    raise DataError(
        f"the fidelity of converting {plan.model.name} cannot be checked without samples",
        "give a data file (x_data) so source and converted model can be compared",
    )


def check_fidelity(plan: Plan, entry: cache.Entry) -> Dict[str, Any]:
    """Fidelity of the final artifact against the source, computed once per data file and cached in the entry.

    When the target's runtime or accelerator is not on this machine, the fidelity is ``unchecked`` with its reason
    and the source outputs are stored in the entry for the device to check at its first run.
    """
    x, y, inputs, data_id = _samples(plan)
    options, precision = plan.options, plan.options.precision
    fid_key = f"{data_id}:{len(x)}:{plan.model_type}"
    stored = entry.manifest.setdefault("fidelity", {})
    fid = fidelity.from_manifest(stored.get(fid_key), entry.dir)
    if fid is not None:
        fid["reused"] = True
    else:
        ro = replace(plan.runtime_options, input_shape=plan.runtime_options.input_shape or plan.input_shape)
        fid = fidelity.measure_or_defer(
            fidelity.Subject(plan.model, plan.source_format, entry.artifact, plan.chain[-1].target, ro),
            x,
            y,
            plan.model_type,
            inputs,
            reference_dir=entry.dir,
            meta={
                "precision": precision,
                "tolerance": options.fidelity_tolerance,
                "artifact_sha256": entry.manifest["artifact_sha256"],
                "samples_key": fid_key,
                "likely_cause": _likely_cause(plan),
            },
            keep=DEFERRED_FIDELITY_SAMPLES,
        )
        fid["precision"] = precision
        fid["tolerance"] = options.fidelity_tolerance if precision == "fp32" else None
        fid["reused"] = False
        stored[fid_key] = fidelity.to_manifest(fid)
        entry.save()  # recorded before any error is raised
    fid["warnings"] = plan.warnings + [w for w in fid.get("warnings", []) if w not in plan.warnings]
    if fid.get("status") == fidelity.UNCHECKED:
        log.warning("fidelity of %s not checked here: %s", entry.artifact.name, fid["reason"])
        return fid
    fidelity.check(fid, precision, tolerance=options.fidelity_tolerance, likely_cause=_likely_cause(plan))
    return fid


def _likely_cause(plan: Plan) -> str:
    tool = plan.chain[-1].tool if plan.chain else ""
    n_calib = len(plan.calibration) if plan.calibration is not None else None
    return fidelity.likely_cause(plan.options.precision, n_calib, tool)
