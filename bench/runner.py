"""One benchmark run: detect, (convert), load, measure, score, record.

Every run produces one RunRecord. A run that fails with a BenchError is recorded with status
``error`` (when an output file is given) and the error is raised again for the command line.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import __version__, compute, early_stopping, formats, machine, sustained
from bench import profile as profile_mod
from bench.config import DEMO_MAX_TIME_S, DEMO_STABLE_PCT, RunConfig, Timing
from bench.errors import BenchError
from bench.hashing import sha256_path
from bench.power.run import PowerRun
from bench.records import DataInfo, Latency, ModelInfo, RunRecord, append_jsonl
from bench.stats import noise_warning, summarize_ns

log = logging.getLogger(__name__)


def tool_info() -> Dict[str, str]:
    """edgebench version and git commit (EDGEBENCH_GIT_COMMIT in images, else the checkout's HEAD)."""
    commit = os.environ.get("EDGEBENCH_GIT_COMMIT", "")
    if not commit:
        repo = Path(__file__).resolve().parent.parent
        if (repo / ".git").exists():
            try:
                commit = subprocess.run(
                    ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
                ).stdout.strip()
                dirty = subprocess.run(
                    ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout.strip()
                if commit and dirty:
                    commit += "-dirty"
            except (OSError, subprocess.SubprocessError):
                commit = ""
    return {"name": "edgebench", "version": __version__, "git_commit": commit or "unknown"}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


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


def _needs_conversion(fmt: str, framework: str, config: RunConfig) -> bool:
    from bench import runtimes

    native = fmt in runtimes.runtime_class(framework).formats
    precision = getattr(config.convert, "precision", "fp32")
    return not native or (precision != "fp32" and fmt != formats.EDGETPU_TFLITE)


def validate(config: RunConfig) -> None:
    """Settings the chosen runtime would ignore are refused before any work, and nothing is recorded (each runtime
    validates its own settings, e.g. the delegates it accepts)."""
    from bench import runtimes
    from bench.runtimes.base import RuntimeOptions

    runtimes.runtime_class(config.framework).validate(RuntimeOptions(threads=config.threads, delegate=config.delegate))


def run(config: RunConfig, counts: Optional[Dict[str, Any]] = None) -> RunRecord:
    """Run one benchmark and return its record (status ok); raise BenchError after recording an error.

    Invalid settings (see :func:`validate`) raise before a record exists. ``counts``: operation counts already made
    in this compare, by :func:`counts_key`; a model counted before is not counted again (the count depends on the
    model file, the framework and the input shape only), and a new count is added to it."""
    validate(config)
    record = RunRecord(
        created_utc=_now(),
        tool=tool_info(),
        framework=config.framework,
        runtime={},
        options=config.to_dict(),
        machine=machine.facts(),
    )
    try:
        _run_into(config, record, {} if counts is None else counts)
    except BenchError as exc:
        record.status, record.error = "error", str(exc)
        record.machine["peak_rss_mb"] = machine.peak_rss_mb()
        exc.record = record  # type: ignore[attr-defined]
        raise
    return record


def counts_key(sha256: Optional[str], framework: str, input_shape: Any) -> Optional[str]:
    """What an operation count depends on: the measured model's bytes, the runtime, the input shape."""
    return f"{sha256}:{framework}:{list(input_shape)}" if sha256 else None


def _run_into(config: RunConfig, record: RunRecord, counts: Dict[str, Any]) -> None:
    import numpy as np

    from bench import data as data_mod
    from bench import harness, metrics, runtimes
    from bench.runtimes.base import RuntimeOptions

    model_path = Path(config.model)
    fmt = formats.detect(model_path)
    record.model = _model_info(model_path, fmt)
    dataset = data_mod.load_npz(config.data)
    record.data = _data_info(dataset)
    in_dtype = "float32" if np.issubdtype(dataset.x.dtype, np.floating) else "int64"
    options = RuntimeOptions(
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
            # the precision a TensorRT engine is built in (or was, by the conversion step): the record's is the engine's
            **({"precision": config.convert.precision} if config.framework == "tensorrt" and config.convert else {}),
        },
    )
    run_path, run_fmt, run_sha = model_path, fmt, record.model.sha256
    if _needs_conversion(fmt, config.framework, config):
        converted = _convert(config, record, model_path, fmt, options)
        unchanged = Path(converted.path) == model_path  # nothing to convert after all: the model's own hash
        run_path, run_fmt = Path(converted.path), converted.format
        run_sha = converted.sha256 or (run_sha if unchanged else None)
        transposed = getattr(config.convert, "transposed_data", None)
        if transposed and not config.convert.keep_shape:
            # compat with the original tool: the NHWC copy of the data is what the NHWC model is measured on
            dataset = data_mod.load_npz(transposed)
            record.data = _data_info(dataset)
    if getattr(config.convert, "output", None):
        from bench.convert import output as convert_output

        record.conversion["output"] = str(convert_output.copy(run_path, Path(config.convert.output)))
    if config.convert is not None and getattr(config.convert, "convert_only", False):
        record.runtime = {"name": config.framework, "note": "convert only: not benchmarked"}
        return
    reference = _fidelity_reference(config, record, run_sha)

    rt = runtimes.create(config.framework)
    import_ns = harness.timed_setup(rt)
    _cool_down(config, record)
    with machine.Sampler() as sampler:
        try:
            load_ns = harness.timed_load(rt, run_path, options)
            # a TensorRT engine built during load is its own figure (record.runtime["build_ms"]), not load time
            load_ns -= int((rt.describe().get("build_ms") or 0.0) * 1e6)
            adapted = data_mod.adapt(dataset.x, rt.input)
            record.data.adaptation.extend(adapted.notes)
            listener = profile_mod.phase_listener(rt) if config.profile else None
            with PowerRun(config.power) as power:  # idle window, then readings tagged by the harness's phases
                if listener is not None:
                    harness.PHASE_LISTENERS.append(listener)
                try:
                    m = harness.measure(rt, adapted, config.timing)
                finally:
                    if listener is not None:
                        harness.PHASE_LISTENERS.remove(listener)
                power.done()
            if config.profile:  # untimed: read after the measurement, before anything else runs on the model
                record.profile = profile_mod.collect(rt)
            if config.sustained is not None:  # after the measurement, never mixed into its statistics
                for listener in harness.PHASE_LISTENERS:  # e.g. compare's progress display: "sustained"
                    listener("sustained")
                record.sustained = sustained.run(harness.step_fn(rt, adapted), len(adapted), config.sustained)
            record.runtime = {"name": rt.name, "versions": rt.versions(), **rt.describe()}
            if reference is not None:  # untimed, after the measurement
                _check_deferred_fidelity(rt, reference, record)
            source = {"source_model": {"path": str(model_path), "format": fmt}} if run_path != model_path else {}
            shape = [1, *adapted.x.shape[1:]]  # the shape it ran with: symbolic graph dims are never guessed
            key = counts_key(run_sha, config.framework, shape)
            counted = counts.get(key) if key else None
            if counted is None:  # untimed, after the measurement; once per model in a compare
                # record.conversion carries the chain: a count made at conversion (ExecuTorch) is read from it
                counted = compute.count_ops(rt, run_path, run_fmt, {**record.conversion, **source}, shape)
                if key:
                    counts[key] = counted
        finally:
            rt.close()
    record.machine["state"] = sampler.summary()
    record.machine["peak_rss_mb"] = machine.peak_rss_mb()
    # the record's model is what was measured; a converted artifact names its source
    if run_path != model_path:
        record.model = _model_info(run_path, run_fmt, run_sha)
        record.conversion.setdefault("source_model", {"path": str(model_path), "format": fmt})
    _add_tensors(record.model, rt, list(m.outputs.shape[1:]))

    invoke, e2e = summarize_ns(m.invoke_ns), summarize_ns(m.e2e_ns)
    record.compute = _compute_section(config, record, counted, invoke["p50_ms"], run_path, run_fmt)
    if record.profile.get("profiled"):
        log.warning(profile_mod.WARNING)
        record.warnings.append(profile_mod.WARNING)
    noisy = noise_warning(invoke)  # robust figures (median interval, Tukey outliers), not the CV
    high_variance = noisy is not None
    if noisy:
        log.warning(noisy)
        record.warnings.append(noisy)
    if record.machine["state"]["throttled"]:
        msg = "the board throttled during the run: " + "; ".join(record.machine["state"]["throttle_reasons"])
        log.warning(msg)
        record.warnings.append(msg)
    record.latency = Latency(
        invoke=invoke,
        e2e=e2e,
        load_ms=load_ns / 1e6,
        first_inference_ms=m.first_inference_ns / 1e6,
        warmup_runs=m.warmup_runs,
        warmup_s=m.warmup_ns / 1e9,
        measured_s=m.measured_ns / 1e9,
        high_variance=high_variance,
        raw_invoke_ns=list(m.invoke_ns) if config.keep_raw else [],
        raw_e2e_ns=list(m.e2e_ns) if config.keep_raw else [],
        import_ms=import_ns / 1e6,
        early_stopping=early_stopping.estimate(m.invoke_ns),  # untimed, after the measurement
        stopping=m.stopping,
    )
    record.energy = power.summary(len(m.invoke_ns), m.measured_ns / 1e9)
    record.quality = metrics.compute(config.model_type, dataset.y, m.outputs, config.use_softmax)
    if config.random_weights:
        record.quality["not_meaningful"] = "random weights"


def _compute_section(
    config: RunConfig, record: RunRecord, counts: Dict[str, Any], p50_ms: float, path: Path, fmt: str
) -> Dict[str, Any]:
    """record["compute"]: GOP/s and the share of the device's peak (bench.compute); a failure is recorded, not raised."""
    try:
        device = compute.device_of(config.framework, config.delegate, record.runtime)
        counted = str(counts.get("precision") or "")
        precision = compute.precision_of(config.framework, device, record.runtime, path, fmt, counted)
        return compute.section(counts, p50_ms, record.machine, device, precision)
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
    from bench import convert
    from bench.convert.options import ConvertOptions

    converted = convert.convert_for(
        model_path,
        fmt,
        config.framework,
        config.convert or ConvertOptions(),
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

    path = getattr(config.convert, "fidelity_reference", None)
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


def run_and_record(config: RunConfig) -> RunRecord:
    """Run, then append the record (ok or error) to ``config.output``."""
    try:
        record = run(config)
    except BenchError as exc:
        rec = getattr(exc, "record", None)
        if config.output and rec is not None:
            append_jsonl(Path(config.output), rec)
        raise
    if config.output:
        append_jsonl(Path(config.output), record)
        log.info("record appended to %s", config.output)
    return record


def demo(
    frameworks: List[str],
    threads: Optional[int] = None,
    output: Optional[Path] = None,
    timing: Optional[Timing] = None,
    rounds: int = 1,
    live: Optional[bool] = None,
) -> List[RunRecord]:
    """A compare of the built-in digits CNN and its test set on each preset (``frameworks``); errors are recorded.

    The source is the PyTorch state_dict; ONNX Runtime and TFLite load its shipped exports (made from the same weights
    by bench.models.make_default), so the demo needs no converter and runs in every device image."""
    from bench import models
    from bench.compare import plan as compare_plan
    from bench.compare import run as compare_run

    artifacts = {
        "pytorch": (models.DIGITS_STATE_DICT, models.DIGITS_CLASS_FILE, models.DIGITS_CLASS_NAME),
        "onnx": (models.DIGITS_ONNX, None, None),
        "tflite": (models.DIGITS_TFLITE, None, None),
    }
    template = RunConfig(
        model=models.DIGITS_STATE_DICT,
        data=models.DIGITS_TEST_DATA,
        framework="",
        model_class_path=models.DIGITS_CLASS_FILE,
        model_class_name=models.DIGITS_CLASS_NAME,
        output=output,
        timing=timing or Timing(until_stable_pct=DEMO_STABLE_PCT, max_time_s=DEMO_MAX_TIME_S),
        label="demo",
    )
    protocol = compare_plan.Protocol(rounds=rounds)
    plan = compare_plan.make_plan(template, frameworks, [threads], protocol, artifacts=artifacts)
    return compare_run.execute(plan, live=live)
