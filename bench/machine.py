"""Machine facts and state: board, CPU, governor, temperatures, throttling, peak memory; the accelerator facts are
in bench.accelerators (its names are re-exported here for callers of ``machine.accelerator`` and friends).

Every reader takes ``root`` (default ``/``), the prefix all sysfs/procfs/etc paths are read under, so tests feed it
the fixture trees in ``tests/fixtures/sysfs/`` (fixture tests: they do not replace a board). Nothing is read at
import time. The sampler thread sleeps between reads so it does not compete with the measurement for the CPU. Which
board a model string names, where its throttle flags and which thermal zones to skip are in the board table
(bench.boards).

Sources (vendor code read, not memory):

* Raspberry Pi ``get_throttled``: raspberrypi/linux ``drivers/firmware/raspberrypi.c`` (platform driver
  ``raspberrypi-firmware``, sysfs attribute ``get_throttled`` printed as ``%x``) and
  ``drivers/hwmon/raspberrypi-hwmon.c`` (polls the firmware every ``2 * HZ`` asking it to clear the sticky bits,
  value ``0xffff``). Where the file is on the Pi 4 and the Pi 5 is in each board's record.
* Jetson thermal zones: PMIC zones skipped (rbonghi/jetson_stats ``jtop/core/temperature.py``; in bench.boards).
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
from typing import Any, Dict, List, Optional, Tuple

from bench import boards, envvars, hostfacts
from bench.accelerators import (  # noqa: F401  re-exported: callers read them as machine.<name>
    accelerator,
    accelerator_flags,
    coral_facts,
    coral_usb_devices,
    dpkg_packages,
    gpu_node_name,
    jetson_emc,
    jetson_facts,
    jetson_gpu,
    l4t_release,
    power_mode,
)
from bench.sysfs import read as _read
from bench.sysfs import to_int as _int

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("/")

#: USB vendor:product of a Coral USB Accelerator (bench.boards.CORAL), under the name its callers import
CORAL_USB_IDS: Tuple[str, ...] = boards.CORAL.usb_ids

#: Raspberry Pi get_throttled bits: now (0-3) and "has occurred" (16-19, sticky until the hwmon poll clears them)
THROTTLE_NOW = {0: "under-voltage", 1: "arm-frequency-capped", 2: "throttled", 3: "soft-temperature-limit"}
THROTTLE_MASK_NOW = 0xF
THROTTLE_MASK_STICKY = 0xF << 16
#: the hwmon driver clears the sticky bits every 2 s; sampling slower would miss whole windows
HWMON_CLEAR_PERIOD_S = 2.0


def board(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
    """Board id, model string and where they came from: the device tree here, else the facts the launcher read on the
    host and handed in (bench.hostfacts: Docker masks /sys/firmware, where /proc/device-tree points), else nothing."""
    model = _read(root / "proc/device-tree/model") or ""
    source = "/proc/device-tree/model"
    handed = hostfacts.handed() if not model else {}
    if handed.get("model"):
        model, source = str(handed["model"]), f"launcher ({hostfacts.ENV}: host {handed.get('root', '/')})"
    out: Dict[str, Any] = {
        "id": boards.from_model(model).id,
        "model": model or platform.machine(),
        "source": source if model else "none",
    }
    if handed.get("soc"):
        out["soc"] = handed["soc"]
    return out


def cpu(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
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
    value = _int(khz)
    return None if value is None else value / 1000.0


def thermal(root: Path = DEFAULT_ROOT) -> List[Dict[str, Any]]:
    """Thermal zones: type, temperature in °C, and the lowest passive trip point (throttling starts).

    PMIC zones are skipped, as jtop does: the Nano's ``PMIC-Die`` reads a fixed 100 C, which would set the maximum
    and mark every run throttled."""
    zones = []
    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*")):
        temp = _int(_read(zone / "temp"))
        zone_type = _read(zone / "type") or ""
        if temp is None or any(skip in zone_type.upper() for skip in boards.SKIPPED_ZONE_TYPES):
            continue
        passive = []
        for trip_type in zone.glob("trip_point_*_type"):
            if _read(trip_type) == "passive":
                t = _int(_read(trip_type.with_name(trip_type.name.replace("_type", "_temp"))))
                if t is not None:
                    passive.append(t / 1000.0)
        zones.append(
            {
                "zone": zone.name,
                "type": zone_type,
                "temp_c": temp / 1000.0,
                "passive_trip_c": min(passive) if passive else None,
            }
        )
    return zones


def throttled_file(root: Path = DEFAULT_ROOT) -> Optional[Path]:
    """The Raspberry Pi firmware's ``get_throttled`` file (Pi 4 and Pi 5), or None."""
    for pattern in boards.throttle_globs():
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
    return None


def read_throttled(path: Optional[Path]) -> Optional[int]:
    """The flags in a ``get_throttled`` file (the driver prints ``%x``, no ``0x``; both are accepted)."""
    return None if path is None else _int(_read(path), 16)


def pi_throttled(root: Path = DEFAULT_ROOT) -> Optional[int]:
    """Raspberry Pi throttle flags: the firmware's sysfs file, else `vcgencmd get_throttled`, else None."""
    value = read_throttled(throttled_file(root))
    if value is not None:
        return value
    if root == DEFAULT_ROOT and shutil.which("vcgencmd"):
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


def state(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
    """Temperatures and throttle state now."""
    value = pi_throttled(root)
    return {
        "thermal": thermal(root),
        "pi_throttled": None if value is None else hex(value),
        "pi_throttle_flags": throttle_flags(value),
    }


def peak_rss_mb() -> Optional[float]:
    """Peak resident memory of this process in MB: VmHWM of /proc/self/status (Linux), else ru_maxrss.

    VmHWM first: ru_maxrss also keeps the peak of the image an exec replaced (Linux folds the old memory's high-water
    mark into it), so a run started by a big parent (compare's spawned runs) would report the parent's peak."""
    m = re.search(r"^VmHWM:\s+(\d+) kB", _read(Path("/proc/self/status")) or "", re.M)
    if m:
        return int(m.group(1)) / 1024.0
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0
    except (ImportError, OSError):
        return None


def facts(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
    """Static facts recorded with every run."""
    return {
        "board": board(root),
        "cpu": cpu(root),
        "kernel": platform.release(),
        "os": _os_release(root),
        "python": platform.python_version(),
        "hostname": platform.node(),
        "in_container": (root / ".dockerenv").exists() or bool(envvars.read(envvars.IMAGE)),
        "image": envvars.read(envvars.IMAGE),
        # set by the launcher for foreign-architecture runs under qemu: such timings say nothing about a board
        "emulated": bool(envvars.read(envvars.EMULATED)),
        "accelerator": accelerator(root),
        "memory_mb": memory_mb(root),  # tells the 4 GB Orin Nano from the 8 GB one (bench.peaks)
    }


def memory_mb(root: Path = DEFAULT_ROOT) -> Optional[float]:
    """MemTotal of /proc/meminfo in MB (the board's memory: a container sees the host's), None if unreadable."""
    m = re.search(r"^MemTotal:\s+(\d+) kB", _read(root / "proc/meminfo") or "", re.M)
    return int(m.group(1)) / 1024.0 if m else None


def _os_release(root: Path) -> Optional[str]:
    text = _read(root / "etc/os-release") or ""
    m = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', text, re.M)
    return m.group(1) if m else None


# ---------- the sampler ----------


class Sampler:
    """Reads temperatures and the Pi's throttle flags every ``interval_s`` in a thread that sleeps between reads.
    ``summary()`` says whether the board throttled during the run.

    Throttled (Raspberry Pi) means: some sample during the run saw a "now" bit (0-3), or a sticky "has occurred"
    bit (16-19) that was not already set in the reading before it. The kernel's hwmon poll clears the sticky bits
    every 2 s, so ``after & ~before`` alone misses throttling that ended before the last read, and a sticky bit
    from before the run that is never cleared (no hwmon driver) is not blamed on the run.
    """

    def __init__(self, interval_s: float = 1.0, root: Path = DEFAULT_ROOT) -> None:
        if interval_s >= HWMON_CLEAR_PERIOD_S:
            log.warning("sampling every %.1f s can miss Pi throttling (sticky bits cleared every 2 s)", interval_s)
        self.interval_s = interval_s
        self.root = root
        self.max_temp_c: Optional[float] = None
        self.passive_trip_hit = False
        self.pi_flags_seen = 0  #: bits counted as during the run
        self.reads = 0
        self._throttled_path: Optional[Path] = None
        self._last_flags: Optional[int] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="edgebench-sampler", daemon=True)

    def _see_flags(self, value: Optional[int]) -> None:
        if value is None:
            return
        previous = self._last_flags or 0
        self.pi_flags_seen |= value & THROTTLE_MASK_NOW
        self.pi_flags_seen |= value & ~previous & THROTTLE_MASK_STICKY
        self._last_flags = value

    def _sample(self) -> None:
        for z in thermal(self.root):
            t = z["temp_c"]
            self.max_temp_c = t if self.max_temp_c is None else max(self.max_temp_c, t)
            if z["passive_trip_c"] is not None and t >= z["passive_trip_c"]:
                self.passive_trip_hit = True
        self._see_flags(read_throttled(self._throttled_path))
        self.reads += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> Sampler:
        self._throttled_path = throttled_file(self.root)  # found once: the glob is not repeated in the loop
        self.before = state(self.root)
        before = self.before["pi_throttled"]
        self._last_flags = None if before is None else int(before, 16)
        # throttling going on as the run starts is the run's too: a sticky bit already set before the run would
        # otherwise hide it (only a *new* sticky bit counts), so the live bits of this reading count as well
        self.pi_flags_seen |= (self._last_flags or 0) & THROTTLE_MASK_NOW
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()  # the last window, read after the run
        self.after = state(self.root)

    def summary(self) -> Dict[str, Any]:
        reasons = []
        if self.pi_flags_seen:
            reasons.append("raspberry-pi firmware: " + ",".join(throttle_flags(self.pi_flags_seen)))
        if self.passive_trip_hit:
            reasons.append("a thermal zone reached its passive trip point")
        return {
            "before": self.before,
            "after": self.after,
            "max_temp_c": self.max_temp_c,
            "samples": self.reads,
            "interval_s": self.interval_s,
            "pi_flags_during_run": hex(self.pi_flags_seen),
            "throttled": bool(reasons),
            "throttle_reasons": reasons,
        }
