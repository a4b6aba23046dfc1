"""DEVICE=auto: which board is this? Reads /proc/device-tree/model and the USB IDs in sysfs; no Docker, no guessing.

Detection runs on the machine the launcher runs on, so it answers for a local engine only; against a remote engine
(DOCKER_HOST=ssh://...) name the device explicitly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, List

from launcher.profiles import CORAL_USB_IDS

log = logging.getLogger(__name__)

DEVICE_TREE_MODEL = Path("/proc/device-tree/model")
USB_DEVICES = Path("/sys/bus/usb/devices")


def board_model(path: Path = DEVICE_TREE_MODEL) -> str:
    """The device-tree model string ("Raspberry Pi 5 Model B Rev 1.0"), or "" on machines without one (x86)."""
    try:
        return path.read_bytes().rstrip(b"\x00").decode(errors="replace").strip()
    except OSError:
        return ""


def usb_ids(root: Path = USB_DEVICES) -> List[str]:
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


def coral_present(ids: Iterable[str]) -> bool:
    return any(i in CORAL_USB_IDS for i in ids)


def detect(model: str, ids: Iterable[str]) -> str:
    """Profile name for a board model string and the USB IDs present."""
    m = model.lower()
    if "jetson nano" in m or ("nvidia" in m and "nano" in m):
        return "jetson-nano"
    if "raspberry pi" in m:
        if coral_present(ids):
            return "rpi-coral"
        return "rpi5" if "raspberry pi 5" in m else "rpi4"
    return "host"


def auto() -> str:
    model, ids = board_model(), usb_ids()
    name = detect(model, ids)
    log.info(
        "DEVICE=auto: board %r, Coral %s -> %s", model or "none", "present" if coral_present(ids) else "absent", name
    )
    return name
