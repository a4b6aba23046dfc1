"""One run's three stages, as bench.runner.run calls them: prepare (detect the format, read the data, convert),
measure (load, then the harness's timed loops inside the power window, then the untimed profile, sustained run,
fidelity check and operation count) and interpret (latency, share of peak, warnings, energy, quality).

Each stage fills its part of the RunRecord it is given; a BenchError leaves the record as far as it got.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import early_stopping, formats, machine, peak_share, sustained
from bench import profile as profile_mod
from bench.config import RunConfig
from bench.hashing import sha256_path
from bench.power.session import PowerRun
from bench.records import DataInfo, Latency, ModelInfo, RunRecord
from bench.stats import noise_warning, summarize_ns

log = logging.getLogger(__name__)


def _model_info(path: Path, fmt: str, sha256: Optional[str] = None) -> ModelInfo:
    """``sha256`` when the caller knows it already (a conversion's manifest), else hashed here."""
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    return ModelInfo(path=str(path), sha256=sha256 or sha256_path(path), size_mb=round(size / 1e6, 6), format=fmt)


def _add_tensors(info: ModelInfo, rt: Any, out_shape: List[int]) -> ModelInfo:
    """The loaded model's input and output tensors; runtimes like PyTorch declare no output shape."""
    info.inputs = [rt.input.to_dict()]
    out = rt.output.to_dict()
    if not out["shape"]:
        out["shape"] = [1] + list(out_shape)
    info.outputs = [out]
    return info


def _data_info(dataset: Any) -> DataInfo:
    return DataInfo(
        path=str(dataset.path),
        sha256=dataset.sha256,
        samples=int(len(dataset.x)),
        x_shape=list(dataset.x.shape),
        x_dtype=str(dataset.x.dtype),
        y_shape=list(dataset.y.shape),
        keys=dataset.keys,
    )


def _builds_on_device(config: RunConfig) -> bool:
    from bench import runtimes

    return bool(runtimes.runtime_class(config.framework).builds_on_device)


def _needs_conversion(fmt: str, framework: str, config: RunConfig) -> bool:
    from bench import runtimes

    native = fmt in runtimes.runtime_class(framework).formats
    precision = config.conversion.precision
    return not native or (precision != "fp32" and fmt != formats.EDGETPU_TFLITE)


def counts_key(sha256: Optional[str], framework: str, input_shape: Any) -> Optional[str]:
    """What an operation count depends on: the measured model's bytes, the runtime, the input shape."""
    return f"{sha256}:{framework}:{list(input_shape)}" if sha256 else None


@dataclass
class Prepared:
    """What :func:`prepare` hands on: the model as given and the one to run (converted or not), the data it runs
    on and the runtime's options."""

    source: Path
    source_format: str
    path: Path
    format: str
    sha256: Optional[str]
    dataset: Any
    options: Any  # bench.runtimes.base.RuntimeOptions

    @property
    def converted(self) -> bool:
        return self.path != self.source


@dataclass
class Measured:
    """What :func:`measure` hands on: the closed runtime (its tensors), the harness's figures, the power run, the
    operation count."""

    rt: Any
    m: Any  # bench.harness.Measurement
    import_ns: int
    load_ns: int
    power: PowerRun
    counted: Dict[str, Any]


def run_into(config: RunConfig, record: RunRecord, counts: Dict[str, Any]) -> None:
    """The run as three stages: prepare (nothing timed), measure (the harness's timed loops), interpret (after the
    measurement, untimed)."""
    prepared = prepare(config, record)
    if config.conversion.convert_only:
        record.runtime = {"name": config.framework, "note": "convert only: not benchmarked"}
        return
    measured = measure(config, record, prepared, counts)
    interpret(config, record, prepared, measured)


def _runtime_options(config: RunConfig, dataset: Any) -> Any:
    import numpy as np

    from bench.runtimes.base import RuntimeOptions

    in_dtype = "float32" if np.issubdtype(dataset.x.dtype, np.floating) else "int64"
    return RuntimeOptions(
        threads=config.threads,
        delegate=config.delegate,
        model_class_path=config.model_class_path,
        model_class_name=config.model_class_name,
        input_shape=(1,) + tuple(dataset.x.shape[1:]),
        extra={
            "input_dtype": in_dtype,
            **({"delegate_path": str(config.delegate_path)} if config.delegate_path else {}),
            **({"edgetpu_device": config.edgetpu_device} if config.edgetpu_device else {}),
            **({"profile": True} if config.profile else {}),
            # the precision an engine is built in on the device (or was, by the conversion step): the record's is the engine's
            **({"precision": config.convert.precision} if _builds_on_device(config) and config.convert else {}),
        },
    )


def prepare(config: RunConfig, record: RunRecord) -> Prepared:
    """Detect the model's format, read the data, convert the model when the runtime needs it (cached), and pick the
    data the converted model runs on. Nothing here is timed."""
    from bench import data as data_mod

    model_path = Path(config.model)
    fmt = formats.detect(model_path)
    record.model = _model_info(model_path, fmt)
    dataset = data_mod.load_npz(config.data)
    record.data = _data_info(dataset)
    options = _runtime_options(config, dataset)
    p = Prepared(model_path, fmt, model_path, fmt, record.model.sha256, dataset, options)
    if _needs_conversion(fmt, config.framework, config):
        converted = _convert(config, record, model_path, fmt, options)
        unchanged = Path(converted.path) == model_path  # nothing to convert after all: the model's own hash
        p.path, p.format = Path(converted.path), converted.format
        p.sha256 = converted.sha256 or (p.sha256 if unchanged else None)
        transposed = config.conversion.transposed_data
        if transposed and not config.conversion.keep_shape:
            # compat with the original tool: the NHWC copy of the data is what the NHWC model is measured on
            p.dataset = data_mod.load_npz(transposed)
            record.data = _data_info(p.dataset)
    if config.conversion.output:
        from bench.convert import output as convert_output

        record.conversion["output"] = str(convert_output.copy(p.path, Path(config.conversion.output)))
    return p


def measure(config: RunConfig, record: RunRecord, p: Prepared, counts: Dict[str, Any]) -> Measured:
    """Load the model on its runtime, adapt the data to its input, then the harness's measurement inside the power
    window; after it, untimed: the profile, the sustained run, the fidelity check, the operation count."""
    from bench import data as data_mod
    from bench import harness, runtimes

    reference = _fidelity_reference(config, record, p.sha256)  # read (and matched) before any slow step
    rt = runtimes.create(config.framework)
    import_ns = harness.timed_setup(rt)
    _cool_down(config, record)
    with machine.Sampler() as sampler:
        try:
            load_ns = harness.timed_load(rt, p.path, p.options)
            # a TensorRT engine built during load is its own figure (record.runtime["build_ms"]), not load time
            load_ns -= int((rt.describe().get("build_ms") or 0.0) * 1e6)
            adapted = data_mod.adapt(p.dataset.x, rt.input)
            record.data.adaptation.extend(adapted.notes)
            m, power = _timed(config, rt, adapted)
            _after_measurement(config, record, rt, adapted, reference)
            shape = [1, *adapted.x.shape[1:]]  # the shape it ran with: symbolic graph dims are never guessed
            counted = _count(config, record, p, rt, shape, counts)
        finally:
            rt.close()
    record.machine["state"] = sampler.summary()
    record.machine["peak_rss_mb"] = machine.peak_rss_mb()
    return Measured(rt, m, import_ns, load_ns, power, counted)


def _timed(config: RunConfig, rt: Any, adapted: Any) -> Tuple[Any, PowerRun]:
    """The harness's measurement in the power window (idle first, then readings tagged by the harness's phases)."""
    from bench import harness

    listener = profile_mod.phase_listener(rt) if config.profile else None
    with PowerRun(config.power) as power:
        with harness.listening(listener) if listener is not None else contextlib.nullcontext():
            m = harness.measure(rt, adapted, config.timing)
        power.done()
    return m, power


def _after_measurement(config: RunConfig, record: RunRecord, rt: Any, adapted: Any, reference: Any) -> None:
    """Untimed, after the measurement and before anything else runs on the model: the profile, the sustained run
    (never mixed into the measurement's statistics), the runtime's facts, the deferred fidelity check."""
    from bench import harness

    if config.profile:
        record.profile = profile_mod.collect(rt)
    if config.sustained is not None:
        harness.phase("sustained")  # e.g. compare's progress display
        record.sustained = sustained.run(harness.step_fn(rt, adapted), len(adapted), config.sustained)
    record.runtime = {"name": rt.name, "versions": rt.versions(), **rt.describe()}
    if reference is not None:
        _check_deferred_fidelity(rt, reference, record)


def _count(
    config: RunConfig, record: RunRecord, p: Prepared, rt: Any, shape: List[int], counts: Dict[str, Any]
) -> Dict[str, Any]:
    """The model's operation count: once per model in a compare (``counts``), made now if not made before."""
    key = counts_key(p.sha256, config.framework, shape)
    counted = counts.get(key) if key else None
    if counted is None:
        source = {"source_model": {"path": str(p.source), "format": p.source_format}} if p.converted else {}
        # record.conversion carries the chain: a count made at conversion (ExecuTorch) is read from it
        counted = peak_share.count_ops(rt, p.path, p.format, {**record.conversion, **source}, shape)
        if key:
            counts[key] = counted
    return counted


def interpret(config: RunConfig, record: RunRecord, p: Prepared, measured: Measured) -> None:
    """What the measurement means, after it: the measured model's facts, latency, the share of peak, warnings,
    energy and quality."""
    from bench import metrics

    m = measured.m
    if p.converted:  # the record's model is what was measured; a converted artifact names its source
        record.model = _model_info(p.path, p.format, p.sha256)
        record.conversion.setdefault("source_model", {"path": str(p.source), "format": p.source_format})
    _add_tensors(record.model, measured.rt, list(m.outputs.shape[1:]))
    invoke = summarize_ns(m.invoke_ns)
    record.compute = _compute_section(config, record, measured.counted, invoke["p50_ms"], p.path, p.format)
    high_variance = _warn_about(record, invoke)
    record.latency = _latency(config, measured, invoke, high_variance)
    record.energy = measured.power.summary(len(m.invoke_ns), m.measured_ns / 1e9)
    record.quality = metrics.compute(config.model_type, p.dataset.y, m.outputs, config.use_softmax)
    if config.random_weights:
        record.quality["not_meaningful"] = "random weights"


def _warn_about(record: RunRecord, invoke: Dict[str, Any]) -> bool:
    """The record's warnings (profiler overhead, noise, throttling), each logged; whether the latency is noisy."""
    noisy = noise_warning(invoke)  # robust figures (median interval, Tukey outliers), not the CV
    state = record.machine["state"]
    messages = [profile_mod.WARNING] if record.profile.get("profiled") else []
    if noisy:
        messages.append(noisy)
    if state["throttled"]:
        messages.append("the board throttled during the run: " + "; ".join(state["throttle_reasons"]))
    for msg in messages:
        log.warning(msg)
        record.warnings.append(msg)
    return noisy is not None


def _latency(config: RunConfig, measured: Measured, invoke: Dict[str, Any], high_variance: bool) -> Latency:
    m = measured.m
    return Latency(
        invoke=invoke,
        e2e=summarize_ns(m.e2e_ns),
        load_ms=measured.load_ns / 1e6,
        first_inference_ms=m.first_inference_ns / 1e6,
        warmup_runs=m.warmup_runs,
        warmup_s=m.warmup_ns / 1e9,
        measured_s=m.measured_ns / 1e9,
        high_variance=high_variance,
        raw_invoke_ns=list(m.invoke_ns) if config.keep_raw else [],
        raw_e2e_ns=list(m.e2e_ns) if config.keep_raw else [],
        import_ms=measured.import_ns / 1e6,
        early_stopping=early_stopping.estimate(m.invoke_ns),  # untimed, after the measurement
        stopping=m.stopping,
    )


def _compute_section(
    config: RunConfig, record: RunRecord, counts: Dict[str, Any], p50_ms: float, path: Path, fmt: str
) -> Dict[str, Any]:
    """record["compute"]: GOP/s and the share of the device's peak (bench.peak_share); a failure is recorded, not raised."""
    try:
        device = peak_share.device_of(config.framework, config.delegate, record.runtime)
        counted = str(counts.get("precision") or "")
        precision = peak_share.precision_of(config.framework, device, record.runtime, path, fmt, counted)
        return peak_share.section(counts, p50_ms, record.machine, device, precision)
    except Exception as exc:  # the measurement stands; only its interpretation is missing
        log.warning("GOP/s not computed: %s", exc)
        return {"unavailable": f"{type(exc).__name__}: {exc}"}


def _cool_down(config: RunConfig, record: RunRecord) -> None:
    """--cooldown-to-c (bench run): the capped thermal wait; every run records its start temperature."""
    if config.cooldown is not None:
        record.machine["cooldown"] = sustained.wait_until_cool(config.cooldown.to_c, config.cooldown.max_s)
    record.machine["start_temp_c"] = sustained.hottest_c()


def _convert(config: RunConfig, record: RunRecord, model_path: Path, fmt: str, options: Any) -> Any:
    """Convert for the framework (cached); the record gets the conversion and its fidelity warnings."""
    from bench.convert.pipeline import convert_for

    converted = convert_for(
        model_path,
        fmt,
        config.framework,
        config.conversion,
        runtime_options=options,
        data=Path(config.data),
        model_type=config.model_type,
        source_sha256=record.model.sha256 if record.model else None,
    )
    record.conversion = converted.to_dict()
    record.warnings.extend(converted.fidelity.get("warnings", []))
    return converted


def _fidelity_reference(config: RunConfig, record: RunRecord, run_sha: Optional[str]) -> Any:
    """The stored source outputs to check the model against after this run: given with --fidelity-reference, or
    named by a conversion whose fidelity could not be checked where it was made. Read (and matched to the model)
    before any slow step."""
    from bench.convert import fidelity

    path = config.conversion.fidelity_reference
    fid = record.conversion.get("fidelity") or {}
    if path is None and fid.get("status") == fidelity.UNCHECKED and fid.get("reference"):
        path = fid["reference"]
    return fidelity.load_reference(Path(path), run_sha) if path else None


def _check_deferred_fidelity(rt: Any, reference: Any, record: RunRecord) -> None:
    """The conversion's fidelity, checked on this device's runtime; stored back into the conversion cache."""
    from bench.convert import cache, fidelity

    fid = fidelity.check_reference(rt, reference)
    log.info("fidelity checked on this device: max abs diff %.3g", fid["max_abs_diff"])
    record.conversion["fidelity"] = fid
    record.warnings.extend(w for w in fid["warnings"] if w not in record.warnings)
    manifest = record.conversion.get("manifest")
    if manifest:
        cache.update_fidelity(Path(manifest), reference.meta.get("samples_key"), fidelity.to_manifest(fid))
