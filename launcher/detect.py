"""DEVICE=auto: which board is this? Reads the device-tree model, /etc/nv_tegra_release and the USB IDs in sysfs;
no Docker, no guessing.

Every reader takes a root prefix (default ``/``) so tests feed it the fixture trees in ``tests/fixtures/sysfs/``.
Detection runs on the machine the launcher runs on, so it answers for a local engine only; against a remote engine
(DOCKER_HOST=ssh://...) name the device explicitly.

Jetson: "NVIDIA Jetson Orin Nano Developer Kit" contains "Nano", so the model string alone is not enough. The L4T
major release decides when the model is ambiguous: R32 is JetPack 4 (Nano, TX1/TX2), R35/R36 are JetPack 5/6 (Orin,
Xavier). Format ``# R36 (release), REVISION: 4.0, ...``, parsed as rbonghi/jetson_stats does
(``jtop/core/jetson_variables.py`` ``get_nvidia_l4t``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterable, List, Optional

from launcher.profiles import CORAL_USB_IDS

log = logging.getLogger(__name__)

ROOT = Path("/")
DEVICE_TREE_MODEL = Path("proc/device-tree/model")
USB_DEVICES = Path("sys/bus/usb/devices")
NV_TEGRA_RELEASE = Path("etc/nv_tegra_release")
#: the L4T major release the jetson-orin image is built on (images/jetson-orin: l4t-jetpack r36, JetPack 6)
ORIN_L4T_MAJOR = 36


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
        m = re.match(r"#\s*R(\d+)\s*\(release\)", path.read_text(errors="replace"))
    except OSError:
        return None
    return int(m.group(1)) if m else None


def coral_present(ids: Iterable[str]) -> bool:
    return any(i in CORAL_USB_IDS for i in ids)


def jetson_profile(model: str, l4t: Optional[int]) -> Optional[str]:
    """jetson-orin or jetson-nano for a Jetson model string (and L4T major), None for other boards."""
    m = model.lower()
    if "jetson" not in m and not ("nvidia" in m and "nano" in m):
        return None
    if "orin" in m or (l4t is not None and l4t >= 35):
        # the jetson-orin image is JetPack 6 (L4T R36, CUDA 12.6 userspace): a JetPack 5 board (R35) cannot run it
        return "jetson-orin" if l4t == ORIN_L4T_MAJOR else None
    if "nano" in m and (l4t is None or l4t == 32):
        return "jetson-nano"
    return None  # a Jetson without a profile here (TX2, Xavier): `host` would be wrong too, so say so


def detect(model: str, ids: Iterable[str], l4t: Optional[int] = None) -> str:
    """Profile name for a board model string, the USB IDs present and the L4T major release (Jetsons)."""
    jetson = jetson_profile(model, l4t)
    if jetson:
        return jetson
    m = model.lower()
    if "jetson" in m:
        from bench.errors import LauncherError

        raise LauncherError(
            f"no profile for {model!r} ({f'L4T R{l4t}' if l4t else 'L4T release unknown: no /etc/nv_tegra_release'})",
            f"the images here are jetson-nano (L4T R32, JetPack 4) and jetson-orin (L4T R{ORIN_L4T_MAJOR}, JetPack 6): "
            "flash a supported JetPack, or name the device: DEVICE=jetson-nano or DEVICE=jetson-orin",
        )
    if "raspberry pi" in m:
        if coral_present(ids):
            return "rpi-coral"
        return "rpi5" if "raspberry pi 5" in m else "rpi4"
    return "host"


def auto(root: Optional[Path] = None) -> str:
    """The profile for the machine under ``root`` (default: ``$EDGEBENCH_HOST_ROOT`` or ``/``, bench.hostfacts)."""
    from bench.hostfacts import host_root

    root = host_root() if root is None else root
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
