"""What a profile's container gets beyond the image, and the checks before it starts, as plain functions (no Docker
calls): the Coral's USB node permissions, the TensorRT engine-cache volume, the edgebench cache volume (the CPU
peak measured once per board), read-only host facts, and the
``docker run`` command line a profile implies (``python -m launcher ... --print``).

Coral: a non-root container user (uid 1000, group plugdev) can open the Coral only if the host's udev rule gave its
USB node to group plugdev (gid 46). The rule is libedgetpu's ``debian/edgetpu-accelerator.rules``
(google-coral/libedgetpu; packaged as the ``libedgetpu1-std``/``-max`` udev rule), one line per USB ID: the Coral
re-enumerates from 1a6e:089a to 18d1:9302 when its firmware loads, so both need it.
"""

from __future__ import annotations

import logging
import shlex
import stat
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench import envvars, hostfacts
from bench.machine import coral_usb_devices
from launcher.profiles import BENCH_CACHE_DIR, CORAL_USB_IDS, Profile

log = logging.getLogger(__name__)

PLUGDEV_GID = 46
UDEV_RULES_FILE = "/etc/udev/rules.d/99-edgetpu-accelerator.rules"
#: google-coral/libedgetpu debian/edgetpu-accelerator.rules, verbatim
UDEV_RULES = tuple(
    f'SUBSYSTEM=="usb",ATTRS{{idVendor}}=="{vid}",ATTRS{{idProduct}}=="{pid}",GROUP="plugdev"'
    for vid, pid in (i.split(":") for i in CORAL_USB_IDS)
)


def coral_nodes(root: Path = Path("/")) -> List[Tuple[str, Path]]:
    """(USB ID, /dev/bus/usb/BBB/DDD node) of every Coral in sysfs under ``root``."""
    nodes = []
    for usb_id, dev in coral_usb_devices(root):
        try:
            bus, num = int((dev / "busnum").read_text()), int((dev / "devnum").read_text())
        except (OSError, ValueError):
            continue
        nodes.append((usb_id.lower(), root / f"dev/bus/usb/{bus:03d}/{num:03d}"))
    return nodes


def coral_access_problem(root: Path = Path("/")) -> Optional[str]:
    """Why uid 1000, given the node's group, cannot open the Coral's USB node, or None when it can (or no Coral)."""
    for usb_id, node in coral_nodes(root):
        try:
            st = node.stat()
        except OSError as exc:
            return f"the Coral ({usb_id}) has no readable device node {node} ({exc.strerror})"
        # the launcher adds the node's group to the container user's (device_group_ids); never root's group
        group_rw = st.st_gid != 0 and st.st_mode & 0o060 == 0o060
        other_rw = st.st_mode & 0o006 == 0o006
        if not (group_rw or other_rw):
            return (
                f"the Coral's device node {node} ({usb_id}) is group {st.st_gid}, mode {stat.filemode(st.st_mode)}: "
                f"the container user (uid 1000, given the node's group when it is not root's) cannot open it"
            )
    return None


def coral_fix() -> str:
    """The fix for :func:`coral_access_problem`: the udev rule, where it goes, and how to apply it."""
    return (
        f"install libedgetpu's udev rule on the host: put the lines {' and '.join(UDEV_RULES)} into "
        f"{UDEV_RULES_FILE} (or install Coral's libedgetpu1-std package there, which ships them), then run "
        "`sudo udevadm control --reload-rules && sudo udevadm trigger` and replug the Coral"
    )


def host_file_mounts(profile: Profile, local: bool) -> List[str]:
    """The profile's host files that can be bind-mounted: those that exist here, on a local engine only."""
    if not profile.host_files:
        return []
    if not local:
        log.info("remote engine: host facts (%s) not mounted", ", ".join(profile.host_files))
        return []
    present = [f for f in profile.host_files if Path(f).is_file()]
    missing = sorted(set(profile.host_files) - set(present))
    if missing:
        log.info("not on this machine, not mounted: %s", ", ".join(missing))
    return present


def sensor_mounts(profile: Profile, local: bool) -> List[Tuple[str, str]]:
    """The profile's power-sensor paths (host, container) present here, on a local engine only (bench/power)."""
    if not profile.sensors or not local:
        return []
    return [(src, dst) for src, dst in profile.sensors if Path(src).exists()]


def _under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def device_group_ids(profile: Profile, local: bool, root: Optional[Path] = None) -> List[str]:
    """Group ids of the host device nodes the profile's container opens: the Jetson GPU nodes the nvidia runtime
    passes (group video on L4T) and the Coral's USB nodes (group plugdev under libedgetpu's udev rule), read under
    ``root`` (default ``$EDGEBENCH_HOST_ROOT`` or ``/``). Docker adds no supplementary group by itself for a device
    (moby/sys user/user.go GetExecUser: only the image's /etc/group entries of the user, and ``--group-add``)."""
    if not local:
        return []
    root = hostfacts.host_root() if root is None else root
    nodes = [_under(root, n) for n in profile.group_nodes]
    if profile.needs_coral:
        nodes += [node for _, node in coral_nodes(root)]
    gids = set()
    for node in nodes:
        try:
            gids.add(str(node.stat().st_gid))
        except OSError:
            continue
    return sorted(gids - {"0"}, key=int)


def sensor_options(profile: Profile, local: bool) -> Dict[str, Any]:
    """``devices`` (read-only ``PATH:PATH:r``) for the profile's sensor device nodes present here, and ``group_add``
    with the group owning each node and sensor socket and each device node the profile opens
    (:func:`device_group_ids`), so the non-root container user may open them."""
    if not local:
        return {}
    nodes = [d for d in profile.sensor_devices if Path(d).exists()]
    owned = nodes + [src for src, _ in sensor_mounts(profile, local) if Path(src).is_socket()]
    opts: Dict[str, Any] = {}
    if nodes:
        opts["devices"] = [f"{d}:{d}:r" for d in nodes]
    groups = {str(Path(p).stat().st_gid) for p in owned} - {"0"}
    groups |= set(device_group_ids(profile, local))
    if groups:
        opts["group_add"] = sorted(groups, key=int)
    return opts


def extra_mounts(profile: Profile, local: bool) -> List[Any]:
    """Mounts for ``containers.create``: the engine-cache volume, the read-only host facts and power sensors."""
    from docker.types import Mount

    mounts = [Mount(target=f, source=f, type="bind", read_only=True) for f in host_file_mounts(profile, local)]
    mounts += [Mount(target=dst, source=src, type="bind", read_only=True) for src, dst in sensor_mounts(profile, local)]
    if profile.engine_cache:
        mounts.append(Mount(target=profile.engine_cache, source=profile.cache_volume, type="volume"))
    mounts.append(Mount(target=BENCH_CACHE_DIR, source=profile.bench_cache_volume, type="volume"))  # the CPU peak
    return mounts


def extra_env(profile: Profile, local: bool = True) -> Dict[str, str]:
    """EDGEBENCH_ENGINE_CACHE: where the TensorRT runtime keeps built engines (the volume above); and the board's
    identity as the host sees it (bench.hostfacts: model, SoC, L4T release; Docker masks /sys/firmware in the
    container), read here on a local engine only."""
    env = {envvars.ENGINE_CACHE: profile.engine_cache} if profile.engine_cache else {}
    env[envvars.CACHE_DIR] = BENCH_CACHE_DIR  # the cache volume above: a CPU peak measured once is kept
    if local:
        env.update(hostfacts.to_env(hostfacts.read_host()))
    else:
        log.info("remote engine: the board's identity cannot be read from here; name the device and read the record")
    return env


def _mount_arg(m: Dict[str, Any]) -> str:
    text = f"type={m.get('Type', 'bind')},source={m['Source']},target={m['Target']}"
    return text + (",readonly" if m.get("ReadOnly") else "")


def docker_run_argv(opts: Dict[str, Any], image: str, command: Sequence[str]) -> List[str]:
    """The ``docker run`` argv equivalent to ``containers.create(image, command, **opts)`` + start + remove."""
    argv = ["docker", "run", "--rm"]
    if opts.get("init"):
        argv.append("--init")
    if opts.get("network_mode"):
        argv += ["--network", opts["network_mode"]]
    for cap in opts.get("cap_drop", []):
        argv += ["--cap-drop", cap]
    for sec in opts.get("security_opt", []):
        argv += ["--security-opt", sec]
    if opts.get("runtime"):
        argv += ["--runtime", opts["runtime"]]
    for rule in opts.get("device_cgroup_rules", []):
        argv += ["--device-cgroup-rule", rule]
    for dev in opts.get("devices", []):
        argv += ["--device", dev]
    for gid in opts.get("group_add", []):
        argv += ["--group-add", gid]
    for m in opts.get("mounts", []):
        argv += ["--mount", _mount_arg(m)]
    for key, value in sorted(opts.get("labels", {}).items()):
        argv += ["--label", f"{key}={value}"]
    for key, value in sorted(opts.get("environment", {}).items()):
        argv += ["--env", f"{key}={value}"]
    return [*argv, image, *command]


def print_command(argv: Sequence[str]) -> str:
    """One shell line (shlex-quoted), for a board without a Python to run the launcher."""
    return shlex.join(list(argv))
