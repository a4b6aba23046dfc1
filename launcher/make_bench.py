"""`make bench`, `make compare`, `make experiments`: turn Make's exported variables into argument lists and run
them. No shell strings.

DEVICE, MODEL, DATA, FRAMEWORK, ARGS, EMULATE come from the environment (the Makefile exports them). ARGS is split
with shlex.split, never given to a shell.

* DEVICE and MODEL empty: the built-in default natively: ``python -m bench demo``.
* MODEL without DEVICE: natively: ``python -m bench run MODEL DATA --framework FRAMEWORK ARGS...``.
* DEVICE set (``auto``, ``rpi5``, ...): in that device's container through the launcher (MODEL empty: the demo);
  EMULATE=1 runs a foreign-architecture image under qemu on purpose.

`make compare` (``python -m launcher.make_bench compare``): ``bench compare MODEL DATA ARGS...`` natively, or
``launcher compare --device DEVICE MODEL DATA -- ARGS...`` in the device's image. No MODEL: the built-in digits
model (natively its state_dict and class file, so every preset converts from it; in an image its ONNX export).
Neither --configs nor --all in ARGS: --all.

`make experiments` (``python -m launcher.make_bench experiments``): the original tool's experiments. Writes the zoo
(once; kept for later resumes) to results/experiments/zoo, runs ``compare --all --random-weights --resume`` on each
model (the PyTorch-origin and the Keras-origin variant), natively or on DEVICE, appending to
results/experiments/results.jsonl, then writes results/experiments/report.md and plots/. On a DEVICE, each compare
converts every preset in the host image first and measures the converted files in the device image (launcher
compare; the device images have no converters), the files kept in results/converted/ for resumes. Started again, it
runs only what is missing. Several hours on a Raspberry Pi are possible (ResNet-50 on every preset, 3 rounds).
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

log = logging.getLogger(__name__)

#: outer timeout of a native run, seconds, unless BENCH_TIMEOUT_S says otherwise (read per run, not at import)
NATIVE_TIMEOUT_S = 14400.0


def native_timeout_s() -> float:
    return float(os.environ.get("BENCH_TIMEOUT_S", NATIVE_TIMEOUT_S))


def build_argv(env: Mapping[str, str], python: str = sys.executable) -> List[str]:
    """The command `make bench` runs for these variables."""
    get = lambda k: env.get(k, "").strip()  # noqa: E731
    device, model, data, framework = get("DEVICE"), get("MODEL"), get("DATA"), get("FRAMEWORK")
    args = shlex.split(env.get("ARGS", ""))
    if device:
        argv = [python, "-m", "launcher", "bench", "--device", device]
        if get("EMULATE") in ("1", "yes", "true"):
            argv.append("--emulate")
        if model:
            argv += [model, data]
            if framework:
                argv += ["--framework", framework]
        return argv + (["--", *args] if args else [])
    if not model:
        return [python, "-m", "bench", "demo", *args]
    argv = [python, "-m", "bench", "run", model, data]
    if framework:
        argv += ["--framework", framework]
    return argv + args


def _emulate(env: Mapping[str, str]) -> List[str]:
    return ["--emulate"] if env.get("EMULATE", "").strip() in ("1", "yes", "true") else []


def _with_presets(args: Sequence[str]) -> List[str]:
    """``args`` plus --all when they name no presets (--configs) and no --all."""
    args = list(args)
    return args if any(a == "--all" or a.split("=")[0] == "--configs" for a in args) else [*args, "--all"]


def compare_argv(env: Mapping[str, str], python: str = sys.executable) -> List[str]:
    """The command `make compare` runs for these variables."""
    from bench import models

    device, model, data = (env.get(k, "").strip() for k in ("DEVICE", "MODEL", "DATA"))
    args = shlex.split(env.get("ARGS", ""))
    if device:
        argv = [python, "-m", "launcher", "compare", "--device", device, *_emulate(env)]
        argv += [model, data] if model else []
        return argv + ["--", *_with_presets(args)]
    if not model:
        model, data = str(models.DIGITS_STATE_DICT), str(models.DIGITS_TEST_DATA)
        args = [
            "--model-class-path",
            str(models.DIGITS_CLASS_FILE),
            "--model-class-name",
            models.DIGITS_CLASS_NAME,
            *args,
        ]
    return [python, "-m", "bench", "compare", model, data, *_with_presets(args)]


def check_compare(env: Mapping[str, str]) -> Optional[str]:
    """A usage problem with the `make compare` variables, as an error line, or None."""
    if env.get("FRAMEWORK", "").strip():
        return (
            "edgebench: error: make compare takes presets, not FRAMEWORK=. "
            "Fix: make compare MODEL=... DATA=... ARGS='--configs onnx,tflite' (or ARGS=--all)"
        )
    if env.get("MODEL", "").strip() and not env.get("DATA", "").strip():
        return "edgebench: error: MODEL= needs DATA= too. Fix: make compare MODEL=model.onnx DATA=data.npz"
    return None


def check(env: Mapping[str, str]) -> Optional[str]:
    """A usage problem with the variables, as an error line, or None."""
    if env.get("MODEL", "").strip():
        missing = [k for k in ("DATA", "FRAMEWORK") if not env.get(k, "").strip()]
        if missing:
            return (
                f"edgebench: error: MODEL= needs {' and '.join(m + '=' for m in missing)} too. "
                "Fix: make bench MODEL=model.onnx DATA=data.npz FRAMEWORK=onnx"
            )
    return None


EXPERIMENTS = Path("results/experiments")


def experiment_steps(
    env: Mapping[str, str], manifest: Dict[str, Any], out: Path = EXPERIMENTS, python: str = sys.executable
) -> List[Tuple[str, List[str]]]:
    """(title, argv) of each compare of `make experiments`: every zoo model, PyTorch- and Keras-origin, --all."""
    device = env.get("DEVICE", "").strip()
    user = shlex.split(env.get("ARGS", ""))
    results = str(out / "results.jsonl")
    steps = []
    for entry in manifest["models"].values():
        for variant in ("pytorch", "keras"):
            files = entry.get(variant)
            if not files:
                continue
            model = files["state_dict"] if variant == "pytorch" else files["model"]
            args = ["--all", "--random-weights", "--resume", "--representative-data-path", files["representative_data"]]
            if variant == "pytorch":
                args += ["--model-class-path", files["class_file"], "--model-class-name", files["class_name"]]
            args += ["--output", results, *user]
            if device:
                argv = [python, "-m", "launcher", "compare", "--device", device, *_emulate(env)]
                argv += [model, files["data"], "--", *args]
            else:
                argv = [python, "-m", "bench", "compare", model, files["data"], *args]
            steps.append((f"{entry['title']} ({variant})", argv))
    return steps


def zoo_argv(out: Path = EXPERIMENTS, python: str = sys.executable) -> List[str]:
    return [python, "-m", "bench", "zoo", "--out", str(out / "zoo")]


def report_argv(out: Path = EXPERIMENTS, python: str = sys.executable) -> List[str]:
    return [
        python, "-m", "bench", "report", str(out / "results.jsonl"), "--format", "markdown", "--plot", str(out / "plots"),
    ]  # fmt: skip


def _run(argv: List[str], stdout: Any = None) -> int:
    log.info("%s", shlex.join(argv))
    timeout = native_timeout_s()
    try:
        return subprocess.run(argv, timeout=timeout, stdout=stdout).returncode
    except subprocess.TimeoutExpired:
        print(f"edgebench: error: no result after {timeout:.0f} s. Fix: raise BENCH_TIMEOUT_S", file=sys.stderr)
        return 124


def experiments(env: Mapping[str, str], out: Path = EXPERIMENTS) -> int:
    """Zoo (once), one compare per model and variant (failures noted, the rest go on), then the report."""
    from bench.models import zoo

    if (out / "zoo" / zoo.MANIFEST).is_file():
        log.info("reusing the zoo in %s (same files, so --resume finds the earlier records)", out / "zoo")
    elif _run(zoo_argv(out)) != 0:
        return 1
    outcomes: Dict[str, List[str]] = {"ok": [], "failed": [], "not run": []}
    for title, argv in experiment_steps(env, zoo.read_manifest(out / "zoo"), out):
        log.info("experiment: %s", title)
        rc = _run(argv)
        if rc == 130:
            return rc
        # 2: refused before running, here "no preset can run here" (e.g. a Keras model in an image without
        # TensorFlow); 1: some config failed, the others ran
        outcomes["ok" if rc == 0 else "not run" if rc == 2 else "failed"].append(title)
    report = out / "report.md"
    with report.open("w", encoding="utf-8") as f:
        rc = _run(report_argv(out), stdout=f)
    log.info("report: %s, plots: %s", report, out / "plots")
    if outcomes["not run"]:
        log.warning("not run on this device (see the reasons above): %s", ", ".join(outcomes["not run"]))
    if outcomes["failed"] or rc != 0 or not (outcomes["ok"] or outcomes["failed"]):
        print(
            f"edgebench: error: compares with failed configs: {', '.join(outcomes['failed']) or 'none'}; "
            f"not run: {', '.join(outcomes['not run']) or 'none'}{'; the report failed' if rc else ''}. "
            f"Fix: read the errors above and in {report}; `make experiments` again resumes",
            file=sys.stderr,
        )
        return 1
    return 0


def verify_argv(env: Mapping[str, str], python: str = sys.executable) -> List[str]:
    """`make verify-device`: ``bench verify`` here, or ``launcher verify --device DEVICE`` in the device's image."""
    args = shlex.split(env.get("ARGS", ""))
    device = env.get("DEVICE", "").strip()
    if device:
        return [
            python,
            "-m",
            "launcher",
            "verify",
            "--device",
            device,
            *_emulate(env),
            *(["--", *args] if args else []),
        ]
    return [python, "-m", "bench", "verify", *args]


def main(argv: Optional[List[str]] = None) -> int:
    target = (sys.argv[1:] if argv is None else argv) or ["bench"]
    logging.basicConfig(level=logging.INFO, format=f"make {target[0]}: %(message)s", stream=sys.stderr)
    problem = check_compare(os.environ) if target[0] in ("compare", "experiments") else check(os.environ)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        if target[0] == "experiments":
            return experiments(os.environ)
        if target[0] == "verify":
            return _run(verify_argv(os.environ))
        return _run(compare_argv(os.environ) if target[0] == "compare" else build_argv(os.environ))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
