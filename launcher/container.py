"""Run `python -m bench ...` in a device image through the Docker SDK: resolve the image, give it the inputs read-only,
stream its logs, bring its results back, and hand on its exit code.

Inputs are copied into the created container with ``put_archive`` (the default; works against a remote engine such as
``DOCKER_HOST=ssh://pi@board``, where local paths do not exist) or bind-mounted read-only (``mount_mode="bind"``, local
engines only, avoids copying large data). Either way they are owned by root and not writable by the container user.
Results are always copied out with ``get_archive`` and *appended* to the caller's results file; only complete JSON
lines are appended, so a killed run never leaves half a record. The container runs without network, with all
capabilities dropped and ``no-new-privileges``; never ``--privileged``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Optional, Tuple

from bench import __version__, envvars
from bench.records import DEFAULT_RESULTS
from launcher import detect, devices
from launcher.archive import RESULTS_IN_CONTAINER, collect_dir, collect_records, inputs_tar, results_tar
from launcher.errors import LauncherError
from launcher.profiles import Emulation, Profile

log = logging.getLogger(__name__)

IN_DIR = PurePosixPath("/in")
CPUINFO_DIR = Path(__file__).resolve().parent / "cpuinfo"
#: registry of the images when EDGEBENCH_REGISTRY names none (read when an image is looked up, not at import)
DEFAULT_REGISTRY = "edgebench"
#: bench options whose value is a local file the container needs: copied in like MODEL and DATA
PATH_OPTIONS = ("--model-class-path", "--representative-data-path", "--transposed-data-path", "--fidelity-reference")
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130
#: engine architecture of a machine (platform.machine()), for a job planned without an engine
_DOCKER_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class Job:
    """One container run: the bench command line with local paths still local, and how to run it."""

    profile: Profile
    bench_argv: Tuple[str, ...]  #: argv for `python -m bench`, local paths as given
    inputs: Tuple[Path, ...] = ()  #: local files/folders referenced in bench_argv (copied or mounted)
    results: Path = DEFAULT_RESULTS  #: caller's file the records are appended to
    image: Optional[str] = None  #: explicit image; default from the profile
    emulate: bool = False
    mount_mode: str = "copy"  #: "copy" (put_archive) or "bind" (read-only bind mounts, local engine)
    timeout_s: float = 3600.0
    pull: bool = True
    collect: Tuple[Tuple[str, Path], ...] = ()  #: extra (container dir, local dir) to copy out, e.g. conversions
    extra_env: Dict[str, str] = field(default_factory=dict)
    #: False: run the image without its accelerator (no device check, no device mounts, no special runtime),
    #: e.g. the Coral image's CPU TFLite path on a machine without a Coral. Explicit, never automatic.
    accelerator: bool = True
    #: the engine runs on this machine (local paths, devices, emulation); None: judged from DOCKER_HOST. Set by
    #: callers that hold their own client for another engine (launcher.fleet).
    engine_local: Optional[bool] = None
    #: copy the caller's results file in as the container's results file first (``compare --resume`` reads the
    #: earlier records of its compare from it); only the lines the run adds are appended back
    seed_results: bool = False


@dataclass
class Outcome:
    exit_code: int
    records: List[Dict[str, Any]]
    image: str
    seconds_to_first_output: Optional[float] = None
    timed_out: bool = False
    interrupted: bool = False


def connect() -> Any:
    """A Docker client for DOCKER_HOST (or the local socket), or a clear error."""
    try:
        import docker
    except ImportError as exc:
        raise LauncherError("the Docker SDK for Python is not installed", "pip install docker==7.2.0") from exc
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # docker raises DockerException, requests errors, FileNotFoundError...
        raise LauncherError(
            f"no Docker engine reachable at {where} ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})",
            "start the engine (systemctl start docker, or dockerd) or set DOCKER_HOST=ssh://user@board",
        ) from exc
    return client


def engine_is_local() -> bool:
    host = os.environ.get("DOCKER_HOST", "")
    return host == "" or host.startswith("unix://")


def image_candidates(profile: Profile, registry: Optional[str] = None, version: str = __version__) -> List[str]:
    """Tags to look for: the bake tag, then the per-architecture tag a plain (non-buildx) build also writes.
    ``registry``: default EDGEBENCH_REGISTRY, else DEFAULT_REGISTRY."""
    registry = registry or envvars.read(envvars.REGISTRY) or DEFAULT_REGISTRY
    tag = f"{registry}/edgebench-{profile.target}:{version}"
    return [tag] + ([f"{tag}-{profile.arch}"] if profile.arch else [])


def resolve_image(client: Any, profile: Profile, engine_arch: str, explicit: Optional[str], pull: bool) -> str:
    """Local image of the profile's architecture, else a pulled one, else a clear "build it" error."""
    import docker

    want_arch = profile.arch or engine_arch
    candidates = [explicit] if explicit else image_candidates(profile)
    seen = []
    for tag in candidates:
        try:
            img = client.images.get(tag)
        except docker.errors.ImageNotFound:
            continue
        arch = img.attrs.get("Architecture")
        if arch == want_arch:
            return tag
        seen.append(f"{tag} is {arch}")
    if pull:
        tag = candidates[0]
        repo, _, ref = tag.rpartition(":")
        try:
            log.info("pulling %s for linux/%s", tag, want_arch)
            client.images.pull(repo, tag=ref, platform=f"linux/{want_arch}")
            return tag
        except Exception as exc:  # NotFound, APIError, connection errors
            seen.append(f"pull failed: {str(exc).splitlines()[0][:160]}")
    raise LauncherError(
        f"no image for device {profile.name!r} (linux/{want_arch}): looked for {', '.join(candidates)}"
        + (f" ({'; '.join(seen)})" if seen else ""),
        f"build it with `make images TARGET={profile.target}` (air-gapped: `make base-images` first)",
    )


def check_device(client: Any, profile: Profile, local: Optional[bool] = None) -> None:
    """The runtime and hardware the profile needs are there, as far as can be told from here."""
    if profile.runtime:
        runtimes = (client.info().get("Runtimes") or {}).keys()
        if profile.runtime not in runtimes:
            raise LauncherError(
                f"device {profile.name!r} needs the {profile.runtime!r} container runtime, but the engine has only "
                f"{', '.join(sorted(runtimes)) or 'none'}",
                "install nvidia-container-runtime (JetPack's nvidia-docker2) and restart dockerd",
            )
    if profile.needs_coral:
        if not (engine_is_local() if local is None else local):
            log.warning("remote engine: cannot check for the Coral USB Accelerator from here")
            return
        if not detect.coral_present(detect.usb_ids()):
            raise LauncherError(
                "no Coral USB Accelerator found (USB IDs 1a6e:089a or 18d1:9302 in /sys/bus/usb/devices)",
                "plug the Coral into a USB 3 port (blue) and check `lsusb`",
            )
        for path in profile.device_mounts:
            if not Path(path).exists():
                raise LauncherError(f"{path} does not exist on this machine", "is this a Linux host with USB?")
        problem = devices.coral_access_problem()  # uid 1000 needs the host's udev rule (group plugdev)
        if problem:
            raise LauncherError(problem, devices.coral_fix())


def _container_path(local: Path, index: int) -> PurePosixPath:
    return IN_DIR / str(index) / local.name


def plan_inputs(job: Job) -> Tuple[List[str], Dict[Path, PurePosixPath]]:
    """The container argv (local input paths replaced by /in/<n>/<name>) and the mapping used."""
    mapping = {}
    for i, p in enumerate(job.inputs):
        if not p.exists():
            raise LauncherError(f"input {p} does not exist", "check the MODEL= / DATA= path")
        mapping[p] = _container_path(p, i)
    by_text = {str(p): str(c) for p, c in mapping.items()}
    return [by_text.get(a, a) for a in job.bench_argv], mapping


def seed_results(container: Any, job: Job) -> int:
    """Put the caller's results file into the container (``job.seed_results``); return its length in bytes."""
    if not job.seed_results or not job.results.is_file():
        return 0
    content = job.results.read_bytes()
    if not container.put_archive("/", results_tar(content)):
        raise LauncherError("copying the earlier results into the container failed", "check the engine's disk space")
    return len(content)


def container_options(job: Job, engine_arch: str, mapping: Dict[Path, PurePosixPath]) -> Dict[str, Any]:
    """Keyword arguments for ``containers.create`` (security and device options from the profile)."""
    from docker.types import Mount

    p = job.profile
    local = engine_is_local() if job.engine_local is None else job.engine_local
    if not job.accelerator:
        p = dataclasses.replace(p, runtime=None, device_mounts=(), device_cgroup_rules=(), needs_coral=False)
    mounts = [Mount(target=d, source=d, type="bind", read_only=False) for d in p.device_mounts]
    # the TensorRT engine-cache volume and read-only host facts (launcher/devices.py)
    on_host = engine_is_local() if getattr(job, "engine_local", None) is None else job.engine_local
    mounts += devices.extra_mounts(p, on_host)
    # the caller's terminal width, so bench's rich tables are laid out for where they are shown
    env = {**dict(p.env), "PYTHONUNBUFFERED": "1", "COLUMNS": str(shutil.get_terminal_size().columns), **job.extra_env}
    env = {**devices.extra_env(p, on_host), **env}  # the engine-cache volume's path; the host's board facts
    opts: Dict[str, Any] = {
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "labels": {"org.edgebench.launcher": __version__, "org.edgebench.device": p.name},
        "init": True,
    }
    if job.mount_mode == "bind":
        if not local:
            raise LauncherError("bind mounts need a local engine", "use the default copy mode with DOCKER_HOST")
        mounts += [
            Mount(target=str(c), source=str(loc.resolve()), type="bind", read_only=True) for loc, c in mapping.items()
        ]
    arch = p.arch or engine_arch
    if arch != engine_arch:
        if not job.emulate:
            raise LauncherError(
                f"device {p.name!r} runs linux/{arch} images, but this Docker engine is {engine_arch}",
                "run on the board (DOCKER_HOST=ssh://user@board), or emulate explicitly with --emulate "
                "(make: EMULATE=1; needs qemu-user-static binfmt; timings then say nothing about the board)",
            )
        if not local:
            raise LauncherError(
                "--emulate needs a local engine (it bind-mounts an ARM /proc/cpuinfo)", "unset DOCKER_HOST"
            )
        emu = Emulation(p.emulated_cpu or "cortex-a72")
        mounts.append(
            Mount(target="/proc/cpuinfo", source=str(CPUINFO_DIR / emu.cpuinfo_file), type="bind", read_only=True)
        )
        env["QEMU_CPU"] = emu.cpu
        env[envvars.EMULATED] = f"qemu-user {emu.cpu}"  # for the record: timings say nothing about the board
    opts.update(devices.sensor_options(p, on_host))  # power sensors' device nodes, read-only (launcher/devices.py)
    if p.device_cgroup_rules:
        opts["device_cgroup_rules"] = list(p.device_cgroup_rules)
    if p.runtime:
        opts["runtime"] = p.runtime
    opts["mounts"] = mounts
    opts["environment"] = env
    return opts


def create(client: Any, job: Job, argv: List[str], mapping: Dict[Path, PurePosixPath]) -> Tuple[Any, str]:
    """The created (not started) container of the job and its image: device checked, image resolved, options set."""
    engine_arch = client.version().get("Arch", "")
    if job.accelerator:
        check_device(client, job.profile, job.engine_local)
    image = resolve_image(client, job.profile, engine_arch, job.image, job.pull)
    opts = container_options(job, engine_arch, mapping)
    opts["environment"][envvars.IMAGE] = image  # recorded in every result (machine.image)
    command = [*argv]
    if command and command[0] in ("run", "demo", "compare", "verify"):
        command += ["--output", str(RESULTS_IN_CONTAINER)]
    log.info("device %s, image %s, command: python -m bench %s", job.profile.name, image, " ".join(command))
    import docker

    try:
        return client.containers.create(image, command=command, detach=True, **opts), image
    except docker.errors.APIError as exc:
        raise LauncherError(
            f"the engine refused to create the container: {exc.explanation or exc}", "see the engine's message"
        ) from exc


def _copy_in(container: Any, job: Job, mapping: Dict[Path, PurePosixPath]) -> int:
    """The inputs (copy mode) and the seeded results file into the container; the seeded file's length."""
    if job.mount_mode == "copy" and mapping:
        if not container.put_archive("/", inputs_tar(mapping)):
            raise LauncherError("copying the inputs into the container failed", "check the engine's disk space")
    return seed_results(container, job)


def stream(container: Any, job: Job, outcome: Outcome, out: Any, err: Any) -> None:
    """Start the container and copy its output to ``out``/``err`` until it exits or ``job.timeout_s`` kills it;
    the exit code goes into ``outcome``."""
    import docker

    start = time.monotonic()

    def on_timeout() -> None:
        outcome.timed_out = True
        log.error("timeout after %.0f s: killing the container", job.timeout_s)
        try:
            container.kill()
        except Exception as exc:  # already gone
            log.debug("kill after timeout: %s", exc)

    timer = threading.Timer(job.timeout_s, on_timeout)
    timer.daemon = True
    try:
        try:
            container.start()
        except docker.errors.APIError as exc:
            raise LauncherError(
                f"the engine could not start the container: {exc.explanation or exc}",
                "check the device paths and runtime of this profile (`python -m launcher profiles`)",
            ) from exc
        timer.start()
        # stdout to stdout, stderr to stderr (bench's one-line errors stay on stderr); logs=True replays what the
        # container wrote before the attach
        for chunk_out, chunk_err in container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True):
            if outcome.seconds_to_first_output is None:
                outcome.seconds_to_first_output = time.monotonic() - start
            for where, chunk in ((out, chunk_out), (err, chunk_err)):
                if chunk:
                    where.write(chunk)
                    where.flush()
        status = container.wait(timeout=job.timeout_s + 60)
        outcome.exit_code = EXIT_TIMEOUT if outcome.timed_out else int(status.get("StatusCode", 1))
    finally:
        timer.cancel()


def collect(container: Any, job: Job, outcome: Outcome, seeded: int) -> None:
    """The run's records appended to ``job.results`` (past the ``seeded`` bytes), ``job.collect``'s folders copied
    out; the container is removed whatever happens."""
    try:
        outcome.records = collect_records(container, job.results, seeded)
        for cdir, local in job.collect:
            collect_dir(container, cdir, local)
    finally:
        container.remove(force=True)


def run(job: Job, client: Any = None, out: Any = None, err: Any = None) -> Outcome:
    """Run the job; always removes the container; results already finished are kept on failure or Ctrl-C."""
    out = out or sys.stdout.buffer
    err = err or sys.stderr.buffer
    argv, mapping = plan_inputs(job)  # checks inputs before touching Docker
    container, image = create(client or connect(), job, argv, mapping)
    outcome = Outcome(exit_code=1, records=[], image=image)
    seeded = 0
    try:
        seeded = _copy_in(container, job, mapping)
        stream(container, job, outcome, out, err)
    except KeyboardInterrupt:
        outcome.interrupted = True
        outcome.exit_code = EXIT_INTERRUPTED
        log.warning("interrupted: stopping the container; finished results are kept")
        try:
            container.stop(timeout=5)
        except Exception as exc:
            log.debug("stop: %s", exc)
    finally:
        collect(container, job, outcome, seeded)
    return outcome


def docker_run_for(job: Job) -> List[str]:
    """The ``docker run`` argv a launcher job implies on the board's own engine, without contacting any engine:
    the profile's image tag (or ``job.image``), inputs bind-mounted read-only at their absolute paths, and the
    results file's folder mounted at /work/results so bench appends to it directly."""
    job = dataclasses.replace(job, mount_mode="bind", engine_local=True)  # planned for the engine on the board itself
    argv, mapping = plan_inputs(job)
    image = job.image or image_candidates(job.profile)[0]
    engine_arch = job.profile.arch or _DOCKER_ARCH.get(platform.machine(), platform.machine())
    opts = container_options(job, engine_arch, mapping)
    opts["environment"][envvars.IMAGE] = image
    if argv and argv[0] in ("run", "demo"):
        results = job.results.resolve()
        opts["mounts"].append({"Type": "bind", "Source": str(results.parent), "Target": "/work/results"})
        argv += ["--output", f"/work/results/{results.name}"]
    return devices.docker_run_argv(opts, image, argv)
