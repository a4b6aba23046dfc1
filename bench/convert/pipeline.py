"""Run a conversion: plan the chain of edges, run (or reuse) each step through the cache, then check
fidelity of the final artifact against the source on real samples."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bench import __version__, formats
from bench.convert import cache, calibration, edges, fidelity, tools
from bench.convert.options import PRECISIONS, ConvertOptions
from bench.errors import ConversionError, DataError, InputError
from bench.runtimes.base import RuntimeOptions

log = logging.getLogger(__name__)

_EXT = {
    formats.ONNX: ".onnx",
    formats.TFLITE: ".tflite",
    formats.EDGETPU_TFLITE: "_edgetpu.tflite",
    formats.SAVEDMODEL: "_saved_model",
    formats.TENSORRT_ENGINE: ".engine",
}
SYNTHETIC_SAMPLES = 32


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


def _key_options(edge: edges.Edge, precision: str, options: ConvertOptions, step_ctx: Dict[str, Any]) -> Dict[str, Any]:
    """What an edge's output depends on besides its input file and the converter versions."""
    k: Dict[str, Any] = {"precision": precision}
    if edge.tool == "onnx2tf":
        k["keep_shape"] = options.keep_shape
    if edge.tool in ("torch.onnx.export", "tf2onnx"):
        k["opset"] = options.opset
    if edge.tool == "torch.onnx.export":
        k["input_shape"] = list(step_ctx["input_shape"] or [])
        k["class"] = step_ctx.get("class")
    if precision == "int8":
        k["calibration_sha256"] = step_ctx.get("calibration_sha256")
    return k


def _already_quantized_tflite(model: Path) -> bool:
    from bench import runtimes

    rt = runtimes.create("tflite")
    rt.load(model, RuntimeOptions())
    try:
        return rt.input.quantized or rt.output.quantized
    finally:
        rt.close()


def convert(
    model: Path,
    source_format: str,
    target_format: str,
    options: ConvertOptions,
    *,
    runtime_options: Optional[RuntimeOptions] = None,
    data: Optional[Path] = None,
    model_type: str = "classification",
) -> Any:
    from bench.convert import Converted
    from bench.data import load_npz

    model = Path(model)
    runtime_options = runtime_options or RuntimeOptions()
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
    if not chain:
        if options.precision == "fp32" or (
            source_format == formats.TFLITE and options.precision == "int8" and _already_quantized_tflite(model)
        ):
            return Converted(path=model, format=source_format, chain=[], fidelity={}, cached=False, manifest=None)
        if target_format != formats.TFLITE:
            raise ConversionError(
                f"precision {options.precision} is not produced for {target_format} models",
                "quantized and half-precision models are made for TFLite: use --framework tflite",
            )
        raise ConversionError(
            f"{model.name} is already a {source_format} model; {options.precision} needs a conversion from the original",
            "give the original ONNX, SavedModel, Keras or PyTorch model",
        )

    dataset = load_npz(data, require_y=False) if data is not None else None
    x_data = dataset.x if dataset is not None else None
    input_shape = None
    tf_source = source_format in (formats.SAVEDMODEL, formats.KERAS)
    if not tf_source or options.precision == "int8" or dataset is None:  # loading a TF model takes seconds
        input_shape = _source_input_shape(model, source_format, runtime_options, x_data)

    warnings: List[str] = []
    calib = None
    ctx: Dict[str, Any] = {"input_shape": input_shape}
    if options.precision == "int8":
        calib, calib_sha, calib_warnings = calibration.load(
            options.representative_data, input_shape, model_name=model.name
        )
        warnings += calib_warnings
        ctx["calibration_sha256"] = calib_sha
        if input_shape is None:
            input_shape = (1,) + tuple(calib.shape[1:])
            ctx["input_shape"] = input_shape
    if source_format == formats.TORCH_STATE_DICT:
        cls_path = runtime_options.model_class_path
        ctx["class"] = {
            "name": runtime_options.model_class_name,
            "file_sha256": cache.sha256_path(cls_path) if cls_path and Path(cls_path).is_file() else None,
        }

    root = cache.root_for(options.cache_dir)
    source_sha = cache.sha256_path(model)
    cur, cur_fmt, cur_sha = model, source_format, source_sha
    stem = _stem(model)
    steps: List[Dict[str, Any]] = []
    entry: Optional[cache.Entry] = None
    for edge in chain:
        precision = edges.precision_for(edge, options.precision)
        versions = tools.versions(edge.packages)
        key = cache.make_key(
            {
                "source_sha256": cur_sha,
                "from": edge.source,
                "to": edge.target,
                "tool": edge.tool,
                "versions": versions,
                "edgebench": __version__,
                "options": _key_options(edge, precision, options, ctx),
            }
        )
        entry = cache.lookup(root, key)
        if entry is None:
            step = edges.Step(
                edge=edge,
                source=cur,
                out_dir=Path("."),
                work_dir=Path("."),
                precision=precision,
                options=options,
                runtime_options=runtime_options,
                calibration=calib if precision == "int8" else None,
                input_shape=input_shape,
            )
            func = edge.load()

            def produce(out_dir: Path, work_dir: Path, step: edges.Step = step, func: Any = func) -> Any:
                res = func(replace(step, out_dir=out_dir, work_dir=work_dir))
                return res.path, {"step_options": res.options, "notes": res.notes}

            log.info("converting %s: %s -> %s with %s (%s)", model.name, edge.source, edge.target, edge.tool, precision)
            suffix = "" if precision == "fp32" else f"_{precision.replace('-', '_')}"
            entry = cache.build(
                root,
                key,
                produce,
                {
                    "schema_version": 1,
                    "source": {"path": str(cur), "sha256": cur_sha, "format": cur_fmt},
                    "format": edge.target,
                    "precision": precision,
                    "tool": edge.tool,
                    "tool_versions": versions,
                    "options": _key_options(edge, precision, options, ctx),
                    "fidelity": {},
                },
                f"{stem}{suffix}{_EXT[edge.target]}",
            )
        else:
            log.info("reusing cached %s (%s)", entry.artifact, edge.tool)
        m = entry.manifest
        steps.append(
            {
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
        )
        cur, cur_fmt, cur_sha = entry.artifact, edge.target, m["artifact_sha256"]
    assert entry is not None

    fid = _fidelity(
        model, source_format, entry, options, runtime_options, dataset, calib, model_type, input_shape, chain
    )
    fid["warnings"] = warnings + [w for w in fid.get("warnings", []) if w not in warnings]
    entry.manifest["chain"] = steps
    entry.save()
    return Converted(
        path=entry.artifact,
        format=cur_fmt,
        chain=steps,
        fidelity=fid,
        cached=all(s["cached"] for s in steps),
        manifest=entry.manifest_path,
        source=model,
        source_format=source_format,
        precision=options.precision,
    )


def _fidelity(
    model: Path,
    source_format: str,
    entry: cache.Entry,
    options: ConvertOptions,
    runtime_options: RuntimeOptions,
    dataset: Any,
    calib: Optional[np.ndarray],
    model_type: str,
    input_shape: Optional[Tuple[int, ...]],
    chain: List[edges.Edge],
) -> Dict[str, Any]:
    """Fidelity of the final artifact against the source, computed once per data file and cached."""
    n_max = max(1, int(options.fidelity_samples))
    y = None
    if dataset is not None:
        x, y, inputs, data_id = dataset.x[:n_max], dataset.y, "data", dataset.sha256
        if y is not None:
            y = y[: len(x)]
    elif calib is not None and len(calib):
        x, inputs, data_id = calib[:n_max], "representative data", "representative"
    elif input_shape is not None and all(d > 0 for d in input_shape):
        rng = np.random.default_rng(0)
        x = rng.random((min(SYNTHETIC_SAMPLES, n_max),) + tuple(input_shape[1:]), dtype=np.float32)
        inputs, data_id = "synthetic uniform [0, 1) (no data file given)", "synthetic"
    else:
        raise DataError(
            f"the fidelity of converting {model.name} cannot be checked without samples",
            "give a data file (x_data) so source and converted model can be compared",
        )
    precision = options.precision
    fid_key = f"{data_id}:{len(x)}:{model_type}"
    stored = entry.manifest.setdefault("fidelity", {})
    if fid_key in stored:
        fid = dict(stored[fid_key])
        fid["warnings"] = list(fid.get("warnings", []))
        fid["reused"] = True
    else:
        if "tensorrt" in [e.tool for e in chain] or "edgetpu_compiler" in [e.tool for e in chain]:
            log.warning("fidelity of %s needs its accelerator; not checked here", entry.artifact.name)
        ro = replace(runtime_options, input_shape=runtime_options.input_shape or input_shape)
        fid = fidelity.measure(model, source_format, entry.artifact, chain[-1].target, x, y, model_type, ro, inputs)
        fid["precision"] = precision
        fid["tolerance"] = options.fidelity_tolerance if precision == "fp32" else None
        fid["reused"] = False
        stored[fid_key] = {k: v for k, v in fid.items() if k != "reused"}
        entry.save()  # recorded before any error is raised
    tool = chain[-1].tool if chain else ""
    cause = fidelity.likely_cause(precision, len(calib) if calib is not None else None, tool)
    fidelity.check(fid, precision, tolerance=options.fidelity_tolerance, likely_cause=cause)
    return fid
