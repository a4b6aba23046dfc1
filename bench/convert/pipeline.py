"""Run a conversion in three steps: plan (refuse impossible work, gather what the keys depend on), run the chain
of edges through the cache, then check the fidelity of the final artifact against the source on real samples.

Every hash is taken once: the source model's sha256 (or the caller's), each step's cache key, the artifact's
sha256 (from its manifest).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bench import __version__, formats
from bench.convert import cache, calibration, edges, fidelity, tools
from bench.convert.options import DEFERRED_FIDELITY_SAMPLES, PRECISIONS, ConvertOptions
from bench.convert.result import Converted
from bench.errors import ConversionError, DataError, InputError
from bench.runtimes.base import RuntimeOptions

log = logging.getLogger(__name__)

_EXT = {
    formats.ONNX: ".onnx",
    formats.TFLITE: ".tflite",
    formats.EDGETPU_TFLITE: "_edgetpu.tflite",
    formats.SAVEDMODEL: "_saved_model",
    formats.TENSORRT_ENGINE: ".engine",
    formats.EXECUTORCH_PTE: ".pte",
    formats.OPENVINO_IR: "_openvino.zip",  # bench.bundle: the .xml and .bin in one stored zip
    formats.NCNN: "_ncnn.zip",  # bench.bundle: the .param and .bin in one stored zip
}
SYNTHETIC_SAMPLES = 32


@dataclass
class Plan:
    """Everything the chain and the fidelity check need, gathered before any slow step."""

    model: Path
    source_format: str
    source_sha256: str
    chain: List[edges.Edge]
    options: ConvertOptions
    runtime_options: RuntimeOptions
    model_type: str
    dataset: Any = None
    calibration: Optional[np.ndarray] = None
    input_shape: Optional[Tuple[int, ...]] = None
    #: what the cache keys depend on besides files and versions: input shape, model class, calibration data
    context: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)


def convert(
    model: Path,
    source_format: str,
    target_format: str,
    options: ConvertOptions,
    *,
    runtime_options: Optional[RuntimeOptions] = None,
    data: Optional[Path] = None,
    model_type: str = "classification",
    source_sha256: Optional[str] = None,
) -> Converted:
    """Plan, run the chain through the cache, check fidelity; see bench.convert.convert_for."""
    model = Path(model)
    runtime_options = runtime_options or RuntimeOptions()
    chain = plan_chain(model, source_format, target_format, options, model_type)
    if not chain:
        return _unconverted(model, source_format, target_format, options)
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


# ----------------------------------------------------------------------------------------------------------- plan


def plan_chain(
    model: Path, source_format: str, target_format: str, options: ConvertOptions, model_type: str
) -> List[edges.Edge]:
    """The edges to run; refuses bad options, impossible edges and missing tools before any work."""
    if not model.exists():
        raise InputError(f"model {model} not found", "check the path")
    if options.precision not in PRECISIONS:
        raise InputError(f"unknown precision {options.precision!r}", f"use one of: {', '.join(PRECISIONS)}")
    if model_type not in ("classification", "regression"):
        raise InputError(f"unknown model type {model_type!r}", "use classification or regression")
    chain = edges.plan(source_format, target_format, options.precision)
    for edge in chain:
        edges.precision_for(edge, options.precision)  # e.g. fp32 for the Edge TPU: refused before any work
    edges.preflight(chain)
    return chain


def _unconverted(model: Path, source_format: str, target_format: str, options: ConvertOptions) -> Converted:
    """No edge to run: the model itself, when it already is what was asked for; else a clear error."""
    if options.precision == "fp32" or (
        source_format == formats.TFLITE and options.precision == "int8" and _already_quantized_tflite(model)
    ):
        return Converted(path=model, format=source_format)
    if target_format != formats.TFLITE:
        raise ConversionError(
            f"precision {options.precision} is not produced for {target_format} models",
            "quantized and half-precision models are made for TFLite: use --framework tflite",
        )
    raise ConversionError(
        f"{model.name} is already a {source_format} model; {options.precision} needs a conversion from the original",
        "give the original ONNX, SavedModel, Keras or PyTorch model",
    )


def prepare(
    model: Path,
    source_format: str,
    chain: List[edges.Edge],
    options: ConvertOptions,
    runtime_options: RuntimeOptions,
    data: Optional[Path],
    model_type: str,
    source_sha256: Optional[str] = None,
) -> Plan:
    """Load the fidelity data and the calibration data, find the input shape, hash the source once."""
    from bench.data import load_npz

    dataset = load_npz(Path(data), require_y=False) if data is not None else None
    plan = Plan(
        model=model,
        source_format=source_format,
        source_sha256=source_sha256 or cache.sha256_path(model),
        chain=chain,
        options=options,
        runtime_options=runtime_options,
        model_type=model_type,
        dataset=dataset,
    )
    tf_source = source_format in (formats.SAVEDMODEL, formats.KERAS)
    if not tf_source or options.precision == "int8" or dataset is None:  # loading a TF model takes seconds
        x_data = dataset.x if dataset is not None else None
        plan.input_shape = _source_input_shape(model, source_format, runtime_options, x_data)
    if options.precision == "int8":
        calib, calib_sha, calib_warnings = calibration.load(
            options.representative_data, plan.input_shape, model_name=model.name
        )
        plan.calibration, plan.context["calibration_sha256"] = calib, calib_sha
        plan.warnings += calib_warnings
        if plan.input_shape is None:
            plan.input_shape = (1,) + tuple(calib.shape[1:])
    plan.context["input_shape"] = plan.input_shape
    if source_format == formats.TORCH_STATE_DICT:
        cls_path = runtime_options.model_class_path
        plan.context["class"] = {
            "name": runtime_options.model_class_name,
            "file_sha256": cache.sha256_path(cls_path) if cls_path and Path(cls_path).is_file() else None,
        }
    return plan


def _stem(path: Path) -> str:
    name = path.name
    for suffix in ("_saved_model", ".onnx", ".tflite", ".keras", ".h5", ".pth", ".pt"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or "model"
    return path.stem or "model"


def _source_input_shape(
    model: Path, fmt: str, runtime_options: RuntimeOptions, x: Optional[np.ndarray]
) -> Optional[Tuple[int, ...]]:
    """Input shape of the source model, batch 1 included, or None when the file does not say."""
    if fmt == formats.ONNX:
        import onnx

        try:
            proto = onnx.load(str(model), load_external_data=False)
        except Exception as exc:
            from bench.errors import ModelFormatError

            raise ModelFormatError(f"ONNX model {model} could not be parsed: {exc}", "re-export the model") from exc
        inits = {i.name for i in proto.graph.initializer}
        inputs = [i for i in proto.graph.input if i.name not in inits]
        if len(inputs) == 1:
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in inputs[0].type.tensor_type.shape.dim]
            return tuple([1] + [int(d) for d in dims[1:]])
        return None
    if fmt in (formats.SAVEDMODEL, formats.KERAS):
        from bench.convert.tf_model import TFModel

        return TFModel(model, fmt).input_shape
    if fmt in (formats.TORCH_STATE_DICT, formats.TORCHSCRIPT):
        if runtime_options.input_shape:
            return tuple(runtime_options.input_shape)
        if x is not None:
            return (1,) + tuple(x.shape[1:])
    return None


def _already_quantized_tflite(model: Path) -> bool:
    from bench import runtimes

    rt = runtimes.create("tflite")
    rt.load(model, RuntimeOptions())
    try:
        return rt.input.quantized or rt.output.quantized
    finally:
        rt.close()


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
    return cache.build(root, key, produce, manifest, f"{_stem(plan.model)}{suffix}{_EXT[edge.target]}")


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
