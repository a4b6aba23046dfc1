"""The launcher's workflows behind its command line: a run or a print of the device's `docker run`, a conversion in
the host image, the chain (convert in host, measure on the device), the compare on a device (every preset converted
in the host image first, keyed by its inputs' hashes) and the `python -m bench` argv each of them runs."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench.convert import output as convert_output
from bench.convert.options import split_argv
from launcher import detect, devices, profiles
from launcher.container import PATH_OPTIONS, Job, Outcome, docker_run_for, run
from launcher.errors import LauncherError

log = logging.getLogger(__name__)

#: `launcher verify`: where bench verify writes its report in the container
VERIFY_IN_CONTAINER = "/work/verify"
#: the conversion cache inside the host container, copied out to `--out` after the conversion
CONVERTED_IN_CONTAINER = "/work/converted"
#: `launcher compare` on a device: the host image's conversions of each compare land in a folder below this
COMPARE_CONVERTED = Path("results/converted")
#: the workstation's engine, used for the host conversion when DOCKER_HOST points at a board
LOCAL_ENGINE = "unix:///var/run/docker.sock"


def device_profile(name: str) -> profiles.Profile:
    return profiles.get(detect.auto() if name == "auto" else name)


def _target_env(args: argparse.Namespace) -> Dict[str, str]:
    """For a conversion in the host image on behalf of a device: which device the files are for (the ONNX opset a
    TensorRT 8.2 Nano reads is chosen by it, bench/convert/onnx_export.py), not by what the host has installed."""
    from bench.convert.onnx_export import TARGET_DEVICE_ENV

    device = getattr(args, "device", None)
    return {TARGET_DEVICE_ENV: device_profile(device).name} if device and args.command != "convert" else {}


def bench_argv(
    model: Optional[Path], data: Optional[Path], framework: Optional[str], extra: Sequence[str]
) -> Tuple[List[str], List[Path], Optional[Path]]:
    """`python -m bench` argv, the local files it references, and an --output the caller gave (taken out)."""
    extra, results = take_output(extra)
    inputs: List[Path] = []
    for opt in PATH_OPTIONS:
        if opt in extra and extra.index(opt) + 1 < len(extra):
            inputs.append(Path(extra[extra.index(opt) + 1]))
    if model is None:
        return ["demo", *extra], inputs, results
    if data is None or not framework:
        raise LauncherError("MODEL needs DATA and FRAMEWORK too", "pass MODEL=... DATA=... FRAMEWORK=onnx")
    for p, what in ((model, "model"), (data, "data")):
        if not p.exists():
            raise LauncherError(f"{what} {p} does not exist", f"check the {what.upper()}= path")
    return ["run", str(model), str(data), "--framework", framework, *extra], [model, data, *inputs], results


def take_output(extra: Sequence[str]) -> Tuple[List[str], Optional[Path]]:
    """``extra`` without ``--output FILE``, and FILE (the launcher appends the container's records there)."""
    extra = list(extra)
    if "--output" not in extra:
        return extra, None
    i = extra.index("--output")
    if i + 1 >= len(extra):
        raise LauncherError("--output needs a file name", "pass --output FILE.jsonl")
    results = Path(extra[i + 1])
    del extra[i : i + 2]
    return extra, results


def compare_argv(
    model: Optional[Path], data: Optional[Path], extra: Sequence[str]
) -> Tuple[List[str], List[Path], Optional[Path]]:
    """`python -m bench compare` argv, the local files it references (MODEL, DATA, class file, representative data),
    and an --output the caller gave (taken out).

    No MODEL: the built-in digits model's ONNX export and its test set (device images carry runtimes, not the
    PyTorch exporter). Neither --configs nor --all given: --all (every preset the image can run; the others are
    listed as skipped, with the reason).
    """
    extra, results = take_output(extra)
    if model is None:
        from bench import models

        model, data = models.DIGITS_ONNX, data or models.DIGITS_TEST_DATA
    if data is None:
        raise LauncherError("MODEL needs DATA too", "pass MODEL=model.onnx DATA=data.npz")
    for p, what in ((model, "model"), (data, "data")):
        if not Path(p).exists():
            raise LauncherError(f"{what} {p} does not exist", f"check the {what.upper()}= path")
    inputs: List[Path] = [Path(model), Path(data)]
    for i, arg in enumerate(extra[:-1]):
        if arg in PATH_OPTIONS:
            path = Path(extra[i + 1])
            if not path.exists():
                raise LauncherError(f"{arg} {path} does not exist", f"check the {arg} path")
            extra[i + 1] = str(path)  # the spelling plan_inputs maps to the container path
            inputs.append(path)
    if not any(a == "--all" or a.split("=")[0] == "--configs" for a in extra):
        extra.append("--all")
    return ["compare", str(model), str(data), *extra], inputs, results


#: `verify` options naming local files or folders, copied into the container like MODEL and DATA
VERIFY_PATH_OPTIONS = ("--edgetpu-model", "--timing-models", "--edgetpu-timing-model")


def verify_inputs(extra: Sequence[str]) -> List[Path]:
    """The local files and folders `verify` options name (the figures' own models, the Coral's compiled models)."""
    return [Path(extra[i + 1]) for i, arg in enumerate(extra[:-1]) if arg in VERIFY_PATH_OPTIONS]


def run_or_print(args: argparse.Namespace, job: Job) -> int:
    """Run the job, or with --print only print its `docker run` line (for a board without a Python to spare)."""
    if args.print_only:
        print(devices.print_command(docker_run_for(job)))
        return 0
    return run(job).exit_code


def job_of(args: argparse.Namespace, profile: profiles.Profile, argv: List[str], inputs: List[Path], **kw) -> Job:
    return Job(
        profile=profile,
        bench_argv=tuple(argv),
        inputs=tuple(inputs),
        image=args.image,
        emulate=args.emulate,
        mount_mode=args.mount_mode,
        timeout_s=args.timeout,
        pull=not args.no_pull,
        accelerator=not args.no_accelerator,
        **kw,
    )


def convert(args: argparse.Namespace, extra: Sequence[str]) -> Tuple[Outcome, Optional[Path]]:
    """Run the conversion in the host image; return the outcome and the converted model for the framework."""
    outcome, conversion = _convert_in_host(args, extra)
    return outcome, Path(conversion["path"]) if conversion else None


def _convert_in_host(args: argparse.Namespace, extra: Sequence[str]) -> Tuple[Outcome, Optional[Dict[str, Any]]]:
    """Run the conversion in the host image; the outcome and the conversion record with its paths (model, fidelity
    reference) mapped to where they were copied out, or None when no conversion record came back."""
    argv, inputs, _ = bench_argv(args.model, args.data, args.framework, [*extra, "--convert-only"])
    argv += ["--cache-dir", CONVERTED_IN_CONTAINER]
    results = Path(args.results)
    seen = _record_count(results)
    job = job_of(
        args,
        profiles.get("host"),
        argv,
        inputs,
        results=results,
        collect=((CONVERTED_IN_CONTAINER, args.out),),
        extra_env=_target_env(args),
    )
    # the host image is the engine's own architecture: never emulated
    job = Job(**{**job.__dict__, "emulate": False, "image": None})
    outcome = run(job)
    return outcome, _conversion_record(results, seen, args.out)


def chain_argv(extra: Sequence[str]) -> Tuple[List[str], List[str], Optional[Path]]:
    """The arguments after `--` of `chain`: (for the host conversion, for the device run, --convert-output PATH).

    Conversion options (--precision int8, --representative-data-path, ...) go to the conversion only: the device
    receives the converted model and runs it as it is."""
    rest, copy_to = _take_convert_output(extra)
    to_convert, to_run = split_argv(rest)
    return to_convert, to_run, copy_to


def _take_convert_output(extra: Sequence[str]) -> Tuple[List[str], Optional[Path]]:
    """``extra`` without ``--convert-output PATH`` (a path on this machine: the launcher copies there), and PATH."""
    rest: List[str] = []
    copy_to: Optional[Path] = None
    items = list(extra)
    while items:
        arg = items.pop(0)
        if arg == "--convert-output" or arg.startswith("--convert-output="):
            value = arg.split("=", 1)[1] if "=" in arg else (items.pop(0) if items else "")
            if not value:
                raise LauncherError("--convert-output needs a path", "pass --convert-output FILE_OR_FOLDER")
            copy_to = Path(value)
            continue
        rest.append(arg)
    return rest, copy_to


def _chain_data(args: argparse.Namespace, to_convert: Sequence[str]) -> Path:
    """The device's data: the NHWC copy given with --transposed-data-path when the model was made NHWC."""
    if "--do-not-keep-shape" in to_convert and "--transposed-data-path" in to_convert:
        i = list(to_convert).index("--transposed-data-path")
        if i + 1 < len(to_convert):
            return Path(to_convert[i + 1])
    return args.data


def convert_then_bench(args: argparse.Namespace, extra: Sequence[str], suffix: str) -> int:
    """`convert`: convert in the host image, print the model and its fidelity. `chain`: then benchmark it on the
    device (with the stored source outputs when its fidelity could only be checked there). ``suffix``: what the
    framework's converted model is called (the runtime's model_suffix, bench.runtimes.model_suffixes), for the error when none came back."""
    if args.command == "chain":
        to_convert, to_run, copy_to = chain_argv(extra)
    else:
        (to_convert, copy_to), to_run = _take_convert_output(extra), []
    outcome, conversion = _convert_in_host(args, to_convert)
    if outcome.exit_code != 0 or conversion is None:
        if conversion is None and outcome.exit_code == 0:
            raise LauncherError(f"the conversion wrote no *{suffix} file", "see its log")
        return outcome.exit_code
    model = Path(conversion["path"])
    if copy_to is not None:
        conversion["output"] = str(convert_output.copy(model, copy_to))
    print(convert_output.summary(conversion))
    if args.command == "convert":
        return 0
    reference = (conversion.get("fidelity") or {}).get("reference")
    if reference and (conversion.get("fidelity") or {}).get("status") == "unchecked":
        to_run += ["--fidelity-reference", reference]
    bargv, inputs, results = bench_argv(model, _chain_data(args, to_convert), args.framework, to_run)
    return run(job_of(args, device_profile(args.device), bargv, inputs, results=results or args.results)).exit_code


def compare_on_device(args: argparse.Namespace, extra: Sequence[str]) -> int:
    """`launcher compare`: on a device (not host), every preset is first converted in the host image (the device
    images carry runtimes, not converters), then the device measures the converted files (`--artifacts DIR`, copied
    in read-only with their fidelity references). Presets the host cannot convert (coral without edgetpu_compiler;
    tensorrt, whose engines are built on the device from the ONNX file) stay as the device image handles them."""
    cargv, inputs, results = compare_argv(args.model, args.data, extra)
    profile = device_profile(args.device)
    given = any(a.split("=")[0] in ("--artifact", "--artifacts") for a in cargv)
    if profile.name != "host" and not args.no_host_convert and not given:
        folder, code = _convert_compare_in_host(args, cargv, inputs, results or args.results)
        if code != 0:
            return code
        cargv, inputs = [*cargv, "--artifacts", str(folder)], [*inputs, folder]
    # --resume reads the compare's earlier records: the container starts from a copy of the results file
    job = job_of(args, profile, cargv, inputs, results=results or args.results)
    job = dataclasses.replace(job, seed_results="--resume" in cargv)
    return run(job).exit_code


def conversion_key(cargv: Sequence[str], inputs: Sequence[Path]) -> str:
    """Names the host conversion of a compare: its arguments with each input file by its sha256, so the same
    compare started again (--resume) reuses the same converted files, and so keeps its compare id."""
    import hashlib
    import json

    from bench.hashing import sha256_path

    by_path = {str(p): sha256_path(p) for p in inputs}
    text = json.dumps([by_path.get(a, a) for a in cargv if a != "--resume"])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _convert_compare_in_host(
    args: argparse.Namespace, cargv: List[str], inputs: List[Path], results: Path
) -> Tuple[Path, int]:
    """`bench compare ... --convert-only --convert-output DIR` in the host image, DIR copied out; (folder, exit code).
    A folder already holding its manifest is reused as it is."""
    import shutil
    import tempfile

    from bench.compare.artifacts import MANIFEST

    target = _target_env(args)
    folder = Path(args.converted or COMPARE_CONVERTED / f"compare-{conversion_key([*cargv, *target.values()], inputs)}")
    if (folder / MANIFEST).is_file():
        log.info("reusing the host conversions in %s", folder)
        return folder, 0
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=str(folder.parent)))
    argv = [*cargv, "--convert-only", "--convert-output", CONVERTED_IN_CONTAINER]
    job = job_of(
        args,
        profiles.get("host"),
        argv,
        inputs,
        results=results,
        collect=((CONVERTED_IN_CONTAINER, staging),),
        extra_env=target,
    )
    # the host image is the engine's own architecture: never emulated
    job = Job(**{**job.__dict__, "emulate": False, "image": None, "accelerator": False})
    client = local_engine()
    if client is not None:  # DOCKER_HOST names the board: convert on this machine's engine, not the board's
        job = dataclasses.replace(job, engine_local=True)
    log.info("converting every preset in the host image first (device images have no converters)")
    try:
        code = run(job, client=client).exit_code
        if code == 0 and not (staging / MANIFEST).is_file():
            raise LauncherError(f"the host conversion wrote no {MANIFEST}", "see its log above")
        if code == 0:
            staging.rename(folder)  # complete or absent: a killed conversion is never taken for a finished one
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if code != 0:
        log.error("the conversion in the host image failed (exit %d); --no-host-convert skips it", code)
    return folder, code


def local_engine() -> Any:
    """This machine's Docker engine when DOCKER_HOST names another one (a board), else None (run's default)."""
    from launcher.container import engine_is_local

    if engine_is_local():
        return None
    try:
        import docker

        client = docker.DockerClient(base_url=LOCAL_ENGINE, timeout=120)
        client.ping()
        return client
    except Exception as exc:  # no local engine: the board's engine converts, in its own host image
        log.warning("no Docker engine here (%s): converting in the host image on DOCKER_HOST", type(exc).__name__)
        return None


def _record_count(results: Path) -> int:
    from bench.records import read_jsonl

    return sum(1 for _ in read_jsonl(results)) if results.is_file() else 0


def _local(path: Optional[str], out: Path) -> Optional[Path]:
    """A file of the container's conversion cache, where it was copied out; None when it was not."""
    if not path or not path.startswith(CONVERTED_IN_CONTAINER + "/"):
        return None
    local = out / Path(path).relative_to(CONVERTED_IN_CONTAINER)
    return local if local.exists() else None


def _conversion_record(results: Path, seen: int, out: Path) -> Optional[Dict[str, Any]]:
    """The conversion this run appended (``conversion`` of its record, paths in the container's cache) with the
    model and the fidelity reference mapped to where they were copied out. None when there is none."""
    from bench.records import read_jsonl

    if not results.is_file():
        return None
    new = list(read_jsonl(results))[seen:]
    for record in reversed(new):
        conversion = dict(record.get("conversion") or {})
        local = _local(conversion.get("path"), out)
        if record.get("status") == "ok" and local is not None and local.is_file():
            conversion["path"] = str(local)
            fidelity = dict(conversion.get("fidelity") or {})
            if fidelity.get("reference"):
                fidelity["reference"] = str(_local(fidelity["reference"], out) or fidelity["reference"])
            conversion["fidelity"] = fidelity
            return conversion
    return None
