"""`edgebench verify`: what a board owner runs once to learn which paths of this image work on this board.

For every compare preset (bench.compare.presets) it decides *skipped* (with the reason: runtime, delegate or device
not here, model not given), else runs a short benchmark through ``bench.runner`` and checks two things:

* **outputs** against a CPU reference (ONNX Runtime on the fp32 ONNX model, else TFLite's built-in kernels): fp32
  within ``FP32_TOL`` absolute, fp16 within ``FP16_REL`` of the reference's range, int8 by top-1 agreement at least
  ``INT8_TOP1`` (classification);
* **timing sanity** against a published figure for (board, preset) when one exists (``PUBLISHED``), with wide
  bounds (``BOUND`` x either way, wider where stated): it catches a run that fell back to the CPU or clocks stuck low,
  not a 10 % drift. The figure is for its own model (MobileNetV2 or ResNet-50 at 224x224), so that model is what is
  timed: the zoo's (``--timing-models DIR`` from ``edgebench zoo``; random weights do not change latency) and, on a
  Coral, the Edge TPU-compiled MobileNetV2 (``--edgetpu-timing-model``). Every path says which figure it was held
  against, or why none. Emulated runs skip it (emulated timings say nothing about a board).

One JSON report (``--report-dir``, a new file per run, never rewritten) and a summary that says pass, fail or skipped
per path, so results can be contributed to the reference table in the README.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench.errors import BenchError, InputError
from bench.records import utc_now
from bench.verify_models import (  # noqa: F401  (the model sets, also reachable from here)
    DEFAULT_SOURCE,
    VERIFY_TIMING,
    ModelSet,
    config_for,
    preset_source,
    preset_sources,
    shipped_digits,
    source_for,
)
from bench.verify_timing import (  # noqa: F401  (the published figures and their checks, also reachable from here)
    BOUND,
    PUBLISHED,
    Published,
    TimingModels,
    check_timing,
    figure_for,
    timing_run,
)

log = logging.getLogger(__name__)

FP32_TOL = 1e-3
FP16_REL = 1e-2
INT8_TOP1 = 0.9
REFERENCE_SAMPLES = 100


@dataclass
class PathResult:
    preset: str
    status: str  #: pass, fail or skipped
    reason: str = ""
    model: str = ""
    p50_ms: Optional[float] = None
    output_check: Dict[str, Any] = field(default_factory=dict)
    timing_check: Dict[str, Any] = field(default_factory=dict)


def why_skipped(preset: str, models_: ModelSet) -> Optional[str]:
    """Why ``preset`` cannot run here on this model set, or None."""
    from bench import formats
    from bench.compare.plan import why_not

    path, kind = source_for(preset, models_)
    if path is None:
        return kind
    try:
        source_format = formats.detect(path)
    except BenchError:
        return None  # a broken model is this path's failure, reported by the run itself
    return why_not(preset, source_format, models_.representative is not None)


def reference_outputs(models_: ModelSet, x: Any) -> Tuple[str, Any]:
    """(name, outputs) of the CPU reference: ONNX Runtime on the ONNX model, else TFLite without delegates."""
    from bench import formats, runtimes
    from bench.infer import infer_all
    from bench.runtimes.base import RuntimeOptions

    tried = []
    for kind, delegate in ((formats.ONNX, None), (formats.TFLITE, "none")):  # "none": the built-in kernels
        framework = runtimes.for_format(kind)
        if kind not in models_.files or framework is None:
            continue
        rt = runtimes.create(framework)
        try:
            rt.setup()
            rt.load(models_.files[kind], RuntimeOptions(delegate=delegate, input_shape=(1,) + tuple(x.shape[1:])))
            return f"{framework} ({kind})", infer_all(rt, x)
        except BenchError as exc:
            tried.append(f"{framework}: {exc.problem}")
        finally:
            rt.close()
    raise InputError("no CPU reference runtime works here (" + "; ".join(tried) + ")", "install onnxruntime or LiteRT")


def check_outputs(preset: str, got: Any, ref: Any) -> Dict[str, Any]:
    """Compare one path's outputs with the reference; ``ok`` says whether they agree within the preset's bound."""
    import numpy as np

    from bench.compare.presets import PRESETS

    got = np.asarray(got, dtype=np.float64).reshape(len(got), -1)
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    diff = float(np.max(np.abs(got - ref)))
    top1 = float(np.mean(got.argmax(1) == ref.argmax(1))) if ref.shape[1] > 1 else None
    precision = PRESETS[preset].precision
    if precision == "int8":
        ok, rule = top1 is not None and top1 >= INT8_TOP1, f"top-1 agreement >= {INT8_TOP1}"
    elif precision == "fp16":
        bound = FP16_REL * float(np.ptp(ref) or 1.0)
        ok, rule = diff <= bound, f"max abs diff <= {bound:.3g} ({FP16_REL} of the output range)"
    else:
        ok, rule = diff <= FP32_TOL, f"max abs diff <= {FP32_TOL}"
    return {"ok": bool(ok), "max_abs_diff": diff, "top1_agreement": top1, "rule": rule}


def verify_path(
    preset: str,
    models_: ModelSet,
    x: Any,
    ref: Any,
    board: str,
    emulated: bool,
    output: Optional[Path],
    threads: Optional[int],
    timing: TimingModels = TimingModels(),
) -> PathResult:
    """Skip, or run one preset and check its outputs on ``x`` against ``ref`` (the reference's), and its timing on the
    published figure's own model (:func:`timing_run`)."""
    reason = why_skipped(preset, models_)
    if reason:
        return PathResult(preset, "skipped", reason)
    from bench import runner

    path, kind = source_for(preset, models_)
    try:
        record = runner.run_and_record(config_for(preset, models_, path, output, threads))
        got = _outputs_of(record, preset, models_, x)
    except BenchError as exc:
        return PathResult(preset, "fail", str(exc), model=str(path))
    res = PathResult(preset, "pass", model=record.model.path, p50_ms=record.latency.invoke["p50_ms"])
    res.output_check = check_outputs(preset, got, ref)
    try:
        res.timing_check = (
            {"ok": True, "note": "emulated: timing not checked"}
            if emulated
            else timing_run(preset, board, timing, output, threads)
        )
    except BenchError as exc:
        res.timing_check = {"ok": False, "note": f"timing run failed: {exc}"}
    failed = [what for what, c in (("outputs", res.output_check), ("timing", res.timing_check)) if not c["ok"]]
    if failed:
        res.status, res.reason = "fail", " and ".join(failed) + " out of bounds"
    return res


def _outputs_of(record: Any, preset: str, models_: ModelSet, x: Any) -> Any:
    """Untimed outputs of the model the run measured, on the reference's samples ``x``."""
    from bench import runtimes
    from bench.compare.presets import PRESETS
    from bench.infer import infer_all
    from bench.runtimes.base import RuntimeOptions

    p = PRESETS[preset]
    rt = runtimes.create(p.framework)
    try:
        rt.setup()
        rt.load(
            Path(record.model.path),
            RuntimeOptions(
                threads=record.options.get("threads"),
                delegate=p.delegate,
                model_class_path=models_.class_path,
                model_class_name=models_.class_name,
                input_shape=(1,) + tuple(x.shape[1:]),
            ),
        )
        return infer_all(rt, x)
    finally:
        rt.close()


def run(
    models_: ModelSet,
    presets: Sequence[str],
    report_dir: Path,
    output: Optional[Path] = None,
    threads: Optional[int] = None,
    timing: TimingModels = TimingModels(),
) -> Tuple[Dict[str, Any], Path]:
    """Verify every preset; write the JSON report as a new file in ``report_dir``; return (report, its path)."""
    from bench import data as data_mod
    from bench import machine, runner

    facts = machine.facts()
    board = (facts.get("board") or {}).get("id", "generic")
    x = data_mod.load_npz(models_.data).x[:REFERENCE_SAMPLES]
    ref_name, ref = reference_outputs(models_, x)
    results = []
    for preset in presets:
        log.info("verify: %s", preset)
        emulated = bool(facts.get("emulated"))
        results.append(verify_path(preset, models_, x, ref, board, emulated, output, threads, timing))
    report = {
        "created_utc": utc_now(),
        "tool": runner.tool_info(),
        "machine": facts,
        "model": models_.name,
        "reference": ref_name,
        "paths": [asdict(r) for r in results],
        "summary": {s: sum(r.status == s for r in results) for s in ("pass", "fail", "skipped")},
    }
    return report, write_report(report, report_dir, board)


def write_report(report: Dict[str, Any], report_dir: Path, board: str) -> Path:
    """A new file ``verify-<board>-<utc>.json``; an existing file is never overwritten (exclusive create)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    stamp = report["created_utc"].replace(":", "").replace("-", "")
    for n in range(100):
        path = report_dir / f"verify-{board}-{stamp}{'' if n == 0 else f'-{n}'}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, sort_keys=True, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        return path
    raise InputError(f"{report_dir} holds 100 reports of this second", "pass another --report-dir")


def summary_rows(report: Dict[str, Any]) -> List[List[str]]:
    """One row per path: preset, status, p50, outputs, timing, reason."""
    rows = []
    for p in report["paths"]:
        oc, tc = p.get("output_check") or {}, p.get("timing_check") or {}
        outputs = "-" if not oc else f"{'ok' if oc['ok'] else 'BAD'} (diff {oc['max_abs_diff']:.2g})"
        timing = (
            "-"
            if not tc
            else ("ok" if tc["ok"] else "OUT")
            + (f" {tc['timed_model']} vs {tc['published_ms']} ms" if "published_ms" in tc else " (no figure)")
        )
        p50 = "-" if p.get("p50_ms") is None else f"{p['p50_ms']:.3f}"
        reason = (p.get("reason") or "").split(". Fix:")[0]  # the fix is in the JSON report
        rows.append([p["preset"], p["status"].upper(), p50, outputs, timing, reason])
    return rows


def add_arguments(p: Any) -> None:
    """Options of `edgebench verify`."""
    from bench.compare.presets import NAMES
    from bench.records import DEFAULT_RESULTS

    p.add_argument("--presets", default=",".join(NAMES), help="comma-separated presets to verify (default: all)")
    p.add_argument(
        "--edgetpu-model", type=Path, default=None, help="the digits int8 model compiled by edgetpu_compiler"
    )
    p.add_argument(
        "--timing-models",
        type=Path,
        default=None,
        help="a zoo folder (edgebench zoo --models mobilenetv2 resnet50): the published figures' own models, timed",
    )
    p.add_argument(
        "--edgetpu-timing-model",
        type=Path,
        default=None,
        help="MobileNetV2 224x224 compiled for the Edge TPU (Coral's published model), timed against Coral's figure",
    )
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--report-dir", type=Path, default=Path("results/verify"), help="a new JSON report per run")
    p.add_argument("--output", type=Path, default=DEFAULT_RESULTS, help="the runs' records are appended here")
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        metavar="FILE",
        help="also hold each path's latency and quality to this results file, as `edgebench check` does",
    )
    p.add_argument("--tolerance", default="5%", help="with --reference: the change that fails (default 5%%)")


def main(args: Any) -> int:
    """Run verify from parsed arguments, print the summary; 0 when no path failed, 1 otherwise."""
    from bench.compare.plan import parse_configs

    presets = parse_configs(args.presets)
    reference = getattr(args, "reference", None)
    if reference is not None:  # an unusable reference stops here, before any run
        from bench import check

        tolerance = check.parse_pct(args.tolerance)
        check.load(reference, "REFERENCE")
    from bench.verify_timing import default_edgetpu_model

    timing = TimingModels(args.timing_models, args.edgetpu_timing_model or default_edgetpu_model())
    started = utc_now()
    report, path = run(shipped_digits(args.edgetpu_model), presets, args.report_dir, args.output, args.threads, timing)
    print_summary(report)
    print(f"report: {path}")
    failed = bool(report["summary"]["fail"])
    if reference is not None:
        from bench import check_report

        held = check.hold_verify(args.output, started, reference, tolerance)
        print(check_report.render(held), end="")
        failed = failed or bool(held.regressed)
    return 1 if failed else 0


def print_summary(report: Dict[str, Any]) -> None:
    headers = ["path", "status", "p50 ms", "outputs", "timing", "reason"]
    board = (report.get("machine") or {}).get("board", {}).get("id", "?")
    title = f"edgebench verify on {board} (reference: {report['reference']})"
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        for row in [headers, *summary_rows(report)]:
            print("\t".join(row))
    else:
        table = Table(title=title)
        for h in headers:
            table.add_column(h, overflow="fold")
        for row in summary_rows(report):
            table.add_row(*row)
        Console(width=100).print(table)
    s = report["summary"]
    print(f"{s['pass']} passed, {s['fail']} failed, {s['skipped']} skipped")
