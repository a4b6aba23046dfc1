"""What a compare will run, decided and checked before anything runs.

``--configs`` (or ``--all``) x ``--threads`` gives the jobs (the cartesian product, in the user's order); the compare
id names them, with the model, the data and the options, so a resumed compare finds its own records. Every bad
request (unknown or duplicated preset, empty list, int8 without representative data, unknown baseline) is one
InputError naming the valid presets, raised before a file is written.
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from bench.compare.presets import NAMES, PRESETS, Preset, checks_for
from bench.config import RunConfig, run_config
from bench.errors import BenchError, InputError
from bench.sustained import DEFAULT_COOLDOWN_MAX_S  # --cooldown-to-c's cap, shared with bench run

log = logging.getLogger(__name__)

DEFAULT_ROUNDS = 3
#: run flags a preset decides; given to compare they would be silently overridden, so they are refused
PRESET_FLAGS = {"delegate": "--delegate", "precision": "--precision", "quantization": "--quantization"}


@dataclass(frozen=True)
class Protocol:
    """How the jobs are run: rounds, shuffle seed (None: derived from the compare id), pauses, resume."""

    rounds: int = DEFAULT_ROUNDS
    seed: Optional[int] = None
    cooldown_s: float = 0.0
    cooldown_to_c: Optional[float] = None
    cooldown_max_s: float = DEFAULT_COOLDOWN_MAX_S
    resume: bool = False


@dataclass(frozen=True)
class Job:
    label: str  # "tflite-int8", or "tflite-int8 @4t" when several thread counts are swept
    config: str  # preset name
    threads: Optional[int]
    run: RunConfig  # what bench.runner runs (output None: bench.compare.rounds appends the record itself)
    artifact: Any = None  # bench.compare.artifacts.Artifact this preset runs as it is (converted elsewhere), or None


@dataclass(frozen=True)
class Plan:
    id: str
    jobs: Tuple[Job, ...]
    protocol: Protocol
    seed: int
    baseline: str
    output: Optional[Path]  # None: records are returned, not written (bench.compare.demo without a file)
    source_model: Dict[str, Any]
    skipped: Tuple[Tuple[str, str], ...] = ()  # (preset, reason) left out by --all
    done: FrozenSet[Tuple[str, int]] = field(default_factory=frozenset)  # (label, round) with an ok record

    @property
    def labels(self) -> List[str]:
        return [j.label for j in self.jobs]

    def order(self, round_index: int) -> List[Job]:
        """The jobs of one round in their shuffled order; a function of (seed, round) only, so a resume repeats it."""
        jobs = list(self.jobs)
        random.Random(f"{self.seed}:{round_index}").shuffle(jobs)
        return jobs

    def pending(self) -> List[Tuple[int, int, Job]]:
        """(round, position, job) still to run, in run order."""
        return [
            (r, pos, job)
            for r in range(self.protocol.rounds)
            for pos, job in enumerate(self.order(r))
            if (job.label, r) not in self.done
        ]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Compare's own flags. ``p`` must use conflict_handler="resolve": --threads becomes a list here."""
    g = p.add_argument_group("compare")
    g.add_argument("--configs", default=None, help=f"comma-separated presets: {', '.join(NAMES)}")
    g.add_argument("--all", action="store_true", help="every preset this machine can run (int8 ones need calibration)")
    g.add_argument("--threads", default=None, help="comma-separated thread counts, swept as well (e.g. 1,4)")
    g.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="each round runs every config once, shuffled")
    g.add_argument("--seed", type=int, default=None, help="shuffle seed (default: derived from the compare id)")
    g.add_argument("--baseline", default=None, help="label the speedups are against (default: the first)")
    g.add_argument("--cooldown-s", type=float, default=0.0, help="pause between runs, seconds")
    g.add_argument("--cooldown-to-c", type=float, default=None, help="also wait until the hottest zone is below this")
    g.add_argument("--cooldown-max-s", type=float, default=DEFAULT_COOLDOWN_MAX_S, help="cap of one thermal wait")
    g.add_argument("--resume", action="store_true", help="run only the (config, round) pairs without an ok record")
    g.add_argument(
        "--artifact",
        action="append",
        default=[],
        metavar="PRESET=FILE",
        help="run FILE for PRESET as it is, converted elsewhere (repeatable)",
    )
    g.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        metavar="DIR",
        help="the presets' files converted by `compare --convert-only --convert-output DIR` (e.g. on the workstation)",
    )


def parse_configs(text: Optional[str]) -> List[str]:
    names = [c.strip() for c in (text or "").split(",") if c.strip()]
    valid = ", ".join(NAMES)
    if not names:
        raise InputError("no configs to compare", f"pass --configs with presets from: {valid}, or --all")
    unknown = [c for c in names if c not in PRESETS]
    if unknown:
        raise InputError(f"unknown config {', '.join(unknown)}", f"use presets from: {valid}")
    dups = sorted({c for c in names if names.count(c) > 1})
    if dups:
        raise InputError(f"config {', '.join(dups)} given twice", f"name each preset once (valid: {valid})")
    return names


def parse_threads(text: Optional[str]) -> List[Optional[int]]:
    if text is None or not str(text).strip():
        return [None]
    try:
        values = [int(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        raise InputError(f"--threads {text!r} is not a list of numbers", "pass e.g. --threads 1,4") from None
    if not values or min(values) < 1 or len(set(values)) != len(values):
        raise InputError(f"--threads {text!r} needs distinct counts >= 1", "pass e.g. --threads 1,4")
    return list(values)


def _probe(name: str) -> Optional[str]:
    """None when the selfcheck ``name`` passes here, else why not (one line)."""
    from bench.selfcheck import CHECKS

    try:
        CHECKS[name]()
        return None
    except (BenchError, ImportError, OSError, AttributeError, RuntimeError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _failed_check(preset: Preset) -> Optional[str]:
    """``check: why`` of the first selfcheck of ``preset`` that fails here (each probed once), or None."""
    for check in checks_for(preset):
        problem = _probe(check)
        if problem:
            return f"{check}: {problem}"
    return None


def why_not(
    name: str, source_format: str, have_calibration: bool, artifact_format: Optional[str] = None
) -> Optional[str]:
    """Why preset ``name`` cannot run here on a ``source_format`` model (or on its converted ``artifact_format``
    file, run as it is), or None when it can."""
    from bench import runtimes
    from bench.convert import edges

    preset = PRESETS[name]
    if artifact_format is not None:  # converted elsewhere: only the runtime and delegate need to work here
        return _failed_check(preset)
    if preset.needs_representative_data and not have_calibration:
        return "int8 needs --representative-data-path"
    if preset.framework not in runtimes.RUNTIMES:
        return f"runtime {preset.framework} is not in this edgebench build"
    problem = _failed_check(preset)
    if problem:
        return problem
    native = source_format in runtimes.runtime_class(preset.framework).formats
    if native and preset.precision == "fp32":
        return None
    try:
        edges.preflight(edges.plan(source_format, edges.target_for(preset.framework), preset.precision))
    except BenchError as exc:
        return exc.problem
    return None


def select_all(
    source_format: str, have_calibration: bool, artifact_formats: Optional[Dict[str, str]] = None
) -> Tuple[List[str], List[Tuple[str, str]]]:
    """--all: (presets that can run here, [(preset, reason)] for the others)."""
    chosen, skipped = [], []
    for name in NAMES:
        reason = why_not(name, source_format, have_calibration, (artifact_formats or {}).get(name))
        if reason:
            skipped.append((name, reason))
        else:
            chosen.append(name)
    return chosen, skipped


def _jobs(template: RunConfig, configs: Sequence[str], threads: Sequence[Optional[int]], artifacts: Dict) -> List[Job]:
    from bench.compare.artifacts import of

    base = template.conversion

    jobs = []
    for name in configs:
        art = of(artifacts[name]) if name in artifacts else None
        model, cls_path, cls_name = (
            (art.path, art.model_class_path, art.model_class_name)
            if art is not None
            else (template.model, template.model_class_path, template.model_class_name)
        )
        as_is: Dict[str, Any] = {}
        if art is not None and not builds_on_device(name, art):
            # run as it is: nothing to convert (its precision is in its conversion section)
            as_is["convert"] = replace(
                base,
                precision="fp32",
                representative_data=None,
                convert_only=False,
                output=None,
                fidelity_reference=art.reference,
            )
        for t in threads:
            label = name if len(threads) == 1 else f"{name} @{t}t"
            run = run_config(
                template=template,
                preset=name,
                model=Path(model),
                model_class_path=cls_path,
                model_class_name=cls_name,
                threads=t,
                output=None,
                **as_is,
            )
            jobs.append(Job(label, name, t, run, art))
    return jobs


def _for_configs(artifacts: Dict[str, Any], configs: Sequence[str]) -> Dict[str, Any]:
    """The artifacts of ``configs``. bench.compare.demo's built-in exports ((path, class file, class name) tuples) are keyed
    by framework and serve every fp32 preset of that framework (tflite: tflite-nodelegate and tflite-armnn too)."""
    out = {}
    for name in configs:
        preset = PRESETS[name]
        if name in artifacts:
            out[name] = artifacts[name]
        elif preset.precision == "fp32" and isinstance(artifacts.get(preset.framework), tuple):
            out[name] = artifacts[preset.framework]
    return out


def builds_on_device(name: str, artifact: Any) -> bool:
    """A preset whose runtime builds its own format on the device (TensorRT) given an ONNX file: the engine is still
    built here, at the preset's precision (int8 calibrated on the representative data); every other artifact is run as
    it is."""
    from bench import formats, runtimes

    cls = runtimes.runtime_class(PRESETS[name].framework)
    return cls.builds_on_device and formats.detect(artifact.path) != cls.target


def make_plan(
    template: RunConfig,
    configs: Sequence[str],
    threads: Sequence[Optional[int]] = (None,),
    protocol: Protocol = Protocol(),
    *,
    baseline: Optional[str] = None,
    skipped: Sequence[Tuple[str, str]] = (),
    artifacts: Optional[Dict[str, Any]] = None,
) -> Plan:
    """Check everything and name the compare. ``template`` holds the source model, data, timing and output;
    ``artifacts`` gives a preset its own file of the same network, run as it is: converted elsewhere
    (bench.compare.artifacts.Artifact) or the demo's shipped exports ((path, class file, class name) tuples)."""
    from bench import formats
    from bench.compare import ident
    from bench.compare.artifacts import of

    configs = parse_configs(",".join(configs))
    if protocol.rounds < 1:
        raise InputError(f"--rounds {protocol.rounds} is below 1", "pass --rounds 1 or more")
    if min(protocol.cooldown_s, protocol.cooldown_max_s) < 0:
        raise InputError("cooldown seconds must not be negative", "pass --cooldown-s and --cooldown-max-s >= 0")
    rep = template.convert.representative_data if template.convert is not None else None
    artifacts = _for_configs(artifacts or {}, configs)
    need = [
        c
        for c in configs
        if PRESETS[c].needs_representative_data and (c not in artifacts or builds_on_device(c, of(artifacts[c])))
    ]
    if need and rep is None:
        raise InputError(
            f"{', '.join(need)} quantize to int8 and need calibration samples",
            "pass --representative-data-path CALIB.npz, or leave them out "
            f"(presets without calibration: {', '.join(n for n in NAMES if not PRESETS[n].needs_representative_data)})",
        )
    template.timing.validate()
    for path, what in ((template.model, "model"), (template.data, "data"), (rep, "representative data")):
        if path is not None and not Path(path).exists():
            raise InputError(f"{what} {path} not found", "check the path")
    jobs = _jobs(template, configs, threads, artifacts)
    labels = [j.label for j in jobs]
    baseline = baseline or labels[0]
    if baseline not in labels:
        raise InputError(
            f"--baseline {baseline!r} is not one of this compare's labels", f"use one of: {', '.join(labels)}"
        )
    source = {"path": str(template.model), "format": formats.detect(Path(template.model))}
    cid, done, source["sha256"] = ident.identify(template, configs, threads, protocol, artifacts)
    seed = protocol.seed if protocol.seed is not None else int(cid[:8], 16)
    output = Path(template.output) if template.output else None
    return Plan(cid, tuple(jobs), protocol, seed, baseline, output, source, tuple(skipped), done)


def from_args(args: argparse.Namespace, template: RunConfig) -> Plan:
    """The plan of `edgebench compare` (``template``: the run options, framework and threads left to the presets)."""
    from bench import formats

    for dest, flag in PRESET_FLAGS.items():
        if getattr(args, dest, None):
            raise InputError(
                f"{flag} is set by each preset in compare", f"pick presets instead (valid: {', '.join(NAMES)})"
            )
    convert_only = _check_convert_only(args)
    if args.all and args.configs:
        raise InputError("--all and --configs both given", "pass one of them")
    threads = parse_threads(args.threads)
    artifacts = _artifacts_of(args, convert_only)
    skipped: List[Tuple[str, str]] = []
    if args.all:
        if not Path(args.model).exists():
            raise InputError(f"model {args.model} not found", "check the path")
        have_calibration = args.representative_data_path is not None
        if convert_only:  # every preset a conversion could serve, whatever runs here; impossible ones are listed
            configs = [n for n in NAMES if have_calibration or not PRESETS[n].needs_representative_data]
            skipped = [(n, "int8 needs --representative-data-path") for n in NAMES if n not in configs]
        else:
            detect = formats.detect
            arts = {n: detect(a.path) for n, a in artifacts.items()}
            configs, skipped = select_all(detect(Path(args.model)), have_calibration, arts)
            skipped = _with_host_reasons(skipped, getattr(args, "artifacts", None))
        for name, reason in skipped:
            log.info("--all: skipping %s (%s)", name, reason)
        if not configs:
            raise InputError("no preset can run here", "; ".join(f"{n}: {r}" for n, r in skipped))
    else:
        configs = parse_configs(args.configs)
        given = [n for n, a in artifacts.items() if a.origin == "--artifact" and n not in configs]
        if given:
            raise InputError(
                f"--artifact {', '.join(given)}: not among --configs", "add it to --configs, or leave the artifact out"
            )
    protocol = Protocol(
        rounds=args.rounds,
        seed=args.seed,
        cooldown_s=args.cooldown_s,
        cooldown_to_c=args.cooldown_to_c,
        cooldown_max_s=args.cooldown_max_s,
        resume=args.resume,
    )
    return make_plan(template, configs, threads, protocol, baseline=args.baseline, skipped=skipped, artifacts=artifacts)


def _with_host_reasons(skipped: List[Tuple[str, str]], folder: Optional[Path]) -> List[Tuple[str, str]]:
    """Skipped presets that the conversion step (``--artifacts DIR``) could not convert either, with its reason."""
    from bench.compare.artifacts import not_converted

    there = not_converted(Path(folder)) if folder is not None else {}
    return [(n, f"{r}; not converted in the host either: {there[n]}" if n in there else r) for n, r in skipped]


def _check_convert_only(args: argparse.Namespace) -> bool:
    """compare --convert-only --convert-output DIR (the conversion step for a device); the flags that do not fit."""
    convert_only, output = getattr(args, "convert_only", False), getattr(args, "convert_output", None)
    if getattr(args, "no_raw", False):
        raise InputError("--no-raw does not fit compare (its intervals need the raw samples)", "leave it out")
    if bool(convert_only) != bool(output):
        raise InputError(
            "compare takes --convert-only and --convert-output DIR together (convert every preset into DIR)",
            "pass both, e.g. --convert-only --convert-output converted/; `edgebench run --convert-only` converts one",
        )
    if convert_only and (getattr(args, "artifact", None) or getattr(args, "artifacts", None)):
        raise InputError("--convert-only converts; --artifact/--artifacts give converted files", "pass one of them")
    return bool(convert_only)


def _artifacts_of(args: argparse.Namespace, convert_only: bool) -> Dict[str, Any]:
    from bench.compare import artifacts

    if convert_only:
        return {}
    return artifacts.parse(getattr(args, "artifact", None), getattr(args, "artifacts", None))
