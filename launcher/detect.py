"""DEVICE=auto: which board is this? Reads the device-tree model, /etc/nv_tegra_release and the USB IDs in sysfs;
no Docker, no guessing.

Every reader takes a root prefix (default ``/``) so tests feed it the fixture trees in ``tests/fixtures/sysfs/``.
Detection runs on the machine the launcher runs on, so it answers for a local engine only; against a remote engine
(DOCKER_HOST=ssh://...) name the device explicitly.

Which words name which board, and which L4T release each Jetson image needs, are in the board table (bench.boards).
Jetson: "NVIDIA Jetson Orin Nano Developer Kit" contains "Nano", so the model string alone is not enough: the Jetson
boards are tried newest L4T first, and the L4T major release decides when the model is ambiguous. Format
``# R36 (release), REVISION: 4.0, ...``, parsed as rbonghi/jetson_stats does (``jtop/core/jetson_variables.py``
``get_nvidia_l4t``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, List, Optional

from bench import boards, hostfacts

log = logging.getLogger(__name__)

ROOT = Path("/")
DEVICE_TREE_MODEL = hostfacts.MODEL
USB_DEVICES = Path("sys/bus/usb/devices")
NV_TEGRA_RELEASE = hostfacts.NV_TEGRA_RELEASE


def board_model(path: Path = ROOT / DEVICE_TREE_MODEL) -> str:
    """The device-tree model string ("Raspberry Pi 5 Model B Rev 1.0"), or "" on machines without one (x86)."""
    try:
        return path.read_bytes().rstrip(b"\x00").decode(errors="replace").strip()
    except OSError:
        return ""


def usb_ids(root: Path = ROOT / USB_DEVICES) -> List[str]:
    """vendor:product of every USB device in sysfs, lower case."""
    ids = []
    for dev in sorted(root.glob("*")) if root.is_dir() else []:
        try:
            vendor = (dev / "idVendor").read_text().strip().lower()
            product = (dev / "idProduct").read_text().strip().lower()
        except OSError:
            continue
        ids.append(f"{vendor}:{product}")
    return ids


def l4t_major(path: Path = ROOT / NV_TEGRA_RELEASE) -> Optional[int]:
    """32 from ``# R32 (release), REVISION: 7.1, ...``; None without the file (not a Jetson, or not readable)."""
    try:
        return hostfacts.l4t_major(path.read_text(errors="replace"))
    except OSError:
        return None


def coral_present(ids: Iterable[str]) -> bool:
    return any(i in boards.CORAL.usb_ids for i in ids)


def _in_family(lower_model: str, family: str) -> bool:
    return any(all(word in lower_model for word in words) for words in boards.FAMILIES[family])


def _names(lower_model: str, board: boards.Board) -> bool:
    return any(word in lower_model for word in board.auto_contains)


def jetson_profile(model: str, l4t: Optional[int]) -> Optional[str]:
    """jetson-orin or jetson-nano for a Jetson model string (and L4T major), None for other boards.

    The first Jetson record, newest L4T first, whose words the model contains or whose generation the L4T release is
    (``l4t_from``) takes it; its profile only when the release is its image's (or unknown, where it allows that)."""
    m = model.lower()
    if not _in_family(m, boards.FAMILY_JETSON):
        return None
    for b in sorted(boards.in_family(boards.FAMILY_JETSON), key=lambda b: -(b.l4t_major or 0)):
        if _names(m, b) or (b.l4t_from is not None and l4t is not None and l4t >= b.l4t_from):
            ok = l4t == b.l4t_major or (l4t is None and b.l4t_unknown_ok)
            return b.profile if ok else None  # e.g. a JetPack 5 Orin (R35) cannot run the JetPack 6 image
    return None  # a Jetson without a profile here (TX2, Xavier): `host` would be wrong too, so say so


def _no_jetson_profile(model: str, l4t: Optional[int]) -> Exception:
    from launcher.errors import LauncherError

    jetsons = boards.in_family(boards.FAMILY_JETSON)
    images = " and ".join(f"{b.profile} (L4T R{b.l4t_major}, JetPack {b.jetpack})" for b in jetsons)
    return LauncherError(
        f"no profile for {model!r} ({f'L4T R{l4t}' if l4t else 'L4T release unknown: no /etc/nv_tegra_release'})",
        f"the images here are {images}: flash a supported JetPack, or name the device: "
        + " or ".join(f"DEVICE={b.profile}" for b in jetsons),
    )


def detect(model: str, ids: Iterable[str], l4t: Optional[int] = None) -> str:
    """Profile name for a board model string, the USB IDs present and the L4T major release (Jetsons)."""
    jetson = jetson_profile(model, l4t)
    if jetson:
        return jetson
    m = model.lower()
    if boards.FAMILY_JETSON in m:
        raise _no_jetson_profile(model, l4t)
    if _in_family(m, boards.FAMILY_PI):
        if coral_present(ids) and boards.CORAL.family == boards.FAMILY_PI:
            return boards.CORAL.profile
        named = [b for b in boards.in_family(boards.FAMILY_PI) if _names(m, b)]
        return str((named[0] if named else boards.by_id(boards.PI_FALLBACK)).profile)
    return str(boards.GENERIC.profile)


def auto(root: Optional[Path] = None) -> str:
    """The profile for the machine under ``root`` (default: ``$EDGEBENCH_HOST_ROOT`` or ``/``, bench.hostfacts)."""
    root = hostfacts.host_root() if root is None else root
    model, ids, l4t = (
        board_model(root / DEVICE_TREE_MODEL),
        usb_ids(root / USB_DEVICES),
        l4t_major(root / NV_TEGRA_RELEASE),
    )
    name = detect(model, ids, l4t)
    log.info(
        "DEVICE=auto: board %r%s, Coral %s -> %s",
        model or "none",
        f" (L4T R{l4t})" if l4t else "",
        "present" if coral_present(ids) else "absent",
        name,
    )
    return name
