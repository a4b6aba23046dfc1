"""Machine facts and state: board, CPU, governor, temperatures, throttling, peak memory.

All reads are of small sysfs/procfs files; ``root`` lets tests point at a fake tree. The sampler
thread sleeps between reads so it does not compete with the measurement for the CPU.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

log = logging.getLogger(__name__)

#: /proc/device-tree/model substring -> board id
BOARDS = (
    ("Jetson Nano", "jetson-nano"),
    ("Raspberry Pi 5", "rpi5"),
    ("Raspberry Pi 4", "rpi4"),
)

#: Raspberry Pi get_throttled bits: now (0-3) and since boot (16-19)
THROTTLE_NOW = {0: "under-voltage", 1: "arm-frequency-capped", 2: "throttled", 3: "soft-temperature-limit"}
THROTTLE_MASK_NOW = 0b1110  # frequency capped, throttled, soft limit (under-voltage is reported, not "throttled")
THROTTLE_MASK_EVER = THROTTLE_MASK_NOW << 16


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(errors="replace").strip().strip("\x00")
    except OSError:
        return None


def board(root: Path = Path("/")) -> Dict[str, str]:
    model = _read(root / "proc/device-tree/model") or ""
    board_id = next((bid for key, bid in BOARDS if key in model), "generic")
    return {"id": board_id, "model": model or platform.machine()}


def cpu(root: Path = Path("/")) -> Dict[str, Any]:
    text = _read(root / "proc/cpuinfo") or ""
    name = ""
    for key in ("model name", "Model", "Hardware", "CPU part"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.M)
        if m:
            name = m.group(1).strip()
            break
    governor = _read(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    return {
        "model": name,
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "governor": governor,
        "max_freq_mhz": _mhz(_read(root / "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")),
    }


def _mhz(khz: Optional[str]) -> Optional[float]:
    try:
        return int(khz) / 1000.0 if khz else None
    except ValueError:
        return None


def thermal(root: Path = Path("/")) -> List[Dict[str, Any]]:
    """Thermal zones: type, temperature in °C, and the lowest passive trip point (throttling starts)."""
    zones = []
    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*")):
        temp = _read(zone / "temp")
        if temp is None or not temp.lstrip("-").isdigit():
            continue
        passive = []
        for trip_type in zone.glob("trip_point_*_type"):
            if _read(trip_type) == "passive":
                t = _read(trip_type.with_name(trip_type.name.replace("_type", "_temp")))
                if t and t.lstrip("-").isdigit():
                    passive.append(int(t) / 1000.0)
        zones.append(
            {
                "zone": zone.name,
                "type": _read(zone / "type"),
                "temp_c": int(temp) / 1000.0,
                "passive_trip_c": min(passive) if passive else None,
            }
        )
    return zones


def pi_throttled(root: Path = Path("/")) -> Optional[int]:
    """Raspberry Pi throttle flags: the firmware's sysfs file, else `vcgencmd get_throttled`, else None."""
    value = _read(root / "sys/devices/platform/soc/soc:firmware/get_throttled")
    if value:
        try:
            return int(value, 16)
        except ValueError:
            pass
    if root == Path("/") and shutil.which("vcgencmd"):
        try:
            out = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=5).stdout
            m = re.search(r"0x([0-9a-fA-F]+)", out)
            return int(m.group(1), 16) if m else None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


def throttle_flags(value: Optional[int]) -> List[str]:
    if value is None:
        return []
    flags = [name for bit, name in THROTTLE_NOW.items() if value & (1 << bit)]
    flags += [f"{name}-occurred" for bit, name in THROTTLE_NOW.items() if value & (1 << (bit + 16))]
    return flags


def state(root: Path = Path("/")) -> Dict[str, Any]:
    """Temperatures and throttle state now."""
    value = pi_throttled(root)
    return {
        "thermal": thermal(root),
        "pi_throttled": None if value is None else hex(value),
        "pi_throttle_flags": throttle_flags(value),
    }


def peak_rss_mb() -> Optional[float]:
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0
    except (ImportError, OSError):
        return None


def facts(root: Path = Path("/")) -> Dict[str, Any]:
    """Static facts recorded with every run."""
    return {
        "board": board(root),
        "cpu": cpu(root),
        "kernel": platform.release(),
        "os": _os_release(root),
        "python": platform.python_version(),
        "hostname": platform.node(),
        "in_container": (root / ".dockerenv").exists() or bool(os.environ.get("EDGEBENCH_IMAGE")),
        "image": os.environ.get("EDGEBENCH_IMAGE"),
        # set by the launcher for foreign-architecture runs under qemu: such timings say nothing about a board
        "emulated": bool(os.environ.get("EDGEBENCH_EMULATED")),
    }


def _os_release(root: Path) -> Optional[str]:
    text = _read(root / "etc/os-release") or ""
    m = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', text, re.M)
    return m.group(1) if m else None


class Sampler:
    """Reads temperatures (and Pi throttle flags from sysfs) every ``interval_s`` in a thread that
    sleeps between reads. ``summary()`` says whether the board throttled during the run."""

    def __init__(self, interval_s: float = 1.0, root: Path = Path("/")) -> None:
        self.interval_s = interval_s
        self.root = root
        self.max_temp_c: Optional[float] = None
        self.passive_trip_hit = False
        self.pi_flags_seen = 0
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="edgebench-sampler", daemon=True)

    def _sample(self) -> None:
        for z in thermal(self.root):
            t = z["temp_c"]
            self.max_temp_c = t if self.max_temp_c is None else max(self.max_temp_c, t)
            if z["passive_trip_c"] is not None and t >= z["passive_trip_c"]:
                self.passive_trip_hit = True
        value = _read(self.root / "sys/devices/platform/soc/soc:firmware/get_throttled")
        if value:
            try:
                self.pi_flags_seen |= int(value, 16)
            except ValueError:
                pass
        self.reads += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> Sampler:
        self.before = state(self.root)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.after = state(self.root)

    def summary(self) -> Dict[str, Any]:
        before = int(self.before["pi_throttled"] or "0x0", 16)
        after = int(self.after["pi_throttled"] or "0x0", 16)
        new_ever = (after & ~before) & THROTTLE_MASK_EVER
        now = (after | self.pi_flags_seen) & THROTTLE_MASK_NOW
        reasons = []
        if new_ever or now:
            reasons.append(
                "raspberry-pi firmware: " + ",".join(throttle_flags((after | self.pi_flags_seen) & ~before | now))
            )
        if self.passive_trip_hit:
            reasons.append("a thermal zone reached its passive trip point")
        return {
            "before": self.before,
            "after": self.after,
            "max_temp_c": self.max_temp_c,
            "samples": self.reads,
            "interval_s": self.interval_s,
            "throttled": bool(reasons),
            "throttle_reasons": reasons,
        }
