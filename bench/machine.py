"""Machine facts and state: board, CPU, governor, temperatures, throttling, accelerator clocks, peak memory.

Every reader takes ``root`` (default ``/``), the prefix all sysfs/procfs/etc paths are read under, so tests feed it
the fixture trees in ``tests/fixtures/sysfs/`` (fixture tests: they do not replace a board). Nothing is read at
import time. The sampler thread sleeps between reads so it does not compete with the measurement for the CPU.

Sources (vendor code read, not memory):

* Raspberry Pi ``get_throttled``: raspberrypi/linux ``drivers/firmware/raspberrypi.c`` (platform driver
  ``raspberrypi-firmware``, sysfs attribute ``get_throttled`` printed as ``%x``) and
  ``drivers/hwmon/raspberrypi-hwmon.c`` (polls the firmware every ``2 * HZ`` asking it to clear the sticky bits,
  value ``0xffff``). The firmware node is ``soc/soc:firmware`` on the Pi 4 but under ``soc@107c000000`` on the Pi 5
  (``arch/arm64/boot/dts/broadcom/bcm2712.dtsi`` + ``bcm2712-rpi.dtsi``), so the file is found through the driver's
  folder in ``/sys/bus/platform/drivers/raspberrypi-firmware/``.
* Jetson (rbonghi/jetson_stats): PMIC thermal zones skipped (``jtop/core/temperature.py``, the Nano's ``PMIC-Die``
  reads a fixed 100 C); L4T release from ``/etc/nv_tegra_release`` (``jtop/core/jetson_variables.py``
  ``get_nvidia_l4t``); GPU frequencies from ``/sys/class/devfreq/*`` whose ``device/of_node/name`` is a known GPU
  (``jtop/core/gpu.py``); EMC from debugfs (``jtop/core/memory.py`` ``read_emc``; root only, so usually absent in a
  container); "clocks locked" as jetson_clocks leaves them: GPU min == max, EMC current == max
  (``jtop/core/jetson_clocks.py`` ``jetson_clocks_alive``); the power mode from nvpmodel's status file
  ``/var/lib/nvpmodel/status`` (``pmode:0000``) and the names in ``/etc/nvpmodel.conf``
  (``< POWER_MODEL ID=0 NAME=MAXN >``, as ``jtop/core/nvpmodel.py`` parses ``nvpmodel -p``).
* Coral: the USB IDs and udev rule of google-coral/libedgetpu ``debian/edgetpu-accelerator.rules``; the link speed
  is the USB device's sysfs ``speed`` (Mb/s: 480 = USB 2, 5000 = USB 3); the libedgetpu flavour is the installed
  package (``libedgetpu1-std`` or ``libedgetpu1-max``) in dpkg's status file.
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

from bench import hostfacts

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("/")

#: /proc/device-tree/model substring -> board id, first match wins ("Jetson Orin Nano" before "Jetson Nano")
BOARDS = (
    ("Jetson Orin", "jetson-orin"),
    ("Jetson AGX Orin", "jetson-orin"),
    ("Jetson Nano", "jetson-nano"),
    ("Raspberry Pi 5", "rpi5"),
    ("Raspberry Pi 4", "rpi4"),
)

#: USB vendor:product of a Coral USB Accelerator before (Global Unichip) and after (Google) its firmware loads;
#: google-coral/libedgetpu debian/edgetpu-accelerator.rules
CORAL_USB_IDS: Tuple[str, ...] = ("1a6e:089a", "18d1:9302")

#: Raspberry Pi get_throttled bits: now (0-3) and "has occurred" (16-19, sticky until the hwmon poll clears them)
THROTTLE_NOW = {0: "under-voltage", 1: "arm-frequency-capped", 2: "throttled", 3: "soft-temperature-limit"}
THROTTLE_MASK_NOW = 0xF
THROTTLE_MASK_STICKY = 0xF << 16
#: where the firmware's sysfs file is: through the driver (Pi 4 and Pi 5), then the Pi 4's device path
THROTTLED_GLOBS = (
    "sys/bus/platform/drivers/raspberrypi-firmware/*/get_throttled",
    "sys/devices/platform/soc/soc:firmware/get_throttled",
)
#: the hwmon driver clears the sticky bits every 2 s; sampling slower would miss whole windows
HWMON_CLEAR_PERIOD_S = 2.0

#: devfreq device names of Jetson GPUs (jetson_stats jtop/core/gpu.py KNOWN_GPU_DEVICE_NAMES)
JETSON_GPU_NAMES = ("gv11b", "gp10b", "ga10b", "gb10b", "gpu")


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(errors="replace").strip().strip("\x00")
    except OSError:
        return None


def _int(text: Optional[str], base: int = 10) -> Optional[int]:
    try:
        return int(text, base) if text else None
    except ValueError:
        return None


def board(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
    """Board id, model string and where they came from: the device tree here, else the facts the launcher read on the
    host and handed in (bench.hostfacts: Docker masks /sys/firmware, where /proc/device-tree points), else nothing."""
    model = _read(root / "proc/device-tree/model") or ""
    source = "/proc/device-tree/model"
    handed = hostfacts.handed() if not model else {}
    if handed.get("model"):
        model, source = str(handed["model"]), f"launcher ({hostfacts.ENV}: host {handed.get('root', '/')})"
    board_id = next((bid for key, bid in BOARDS if key in model), "generic")
    out: Dict[str, Any] = {"id": board_id, "model": model or platform.machine(), "source": source if model else "none"}
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
        if temp is None or "PMIC" in zone_type.upper():
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
    for pattern in THROTTLED_GLOBS:
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
        "in_container": (root / ".dockerenv").exists() or bool(os.environ.get("EDGEBENCH_IMAGE")),
        "image": os.environ.get("EDGEBENCH_IMAGE"),
        # set by the launcher for foreign-architecture runs under qemu: such timings say nothing about a board
        "emulated": bool(os.environ.get("EDGEBENCH_EMULATED")),
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


# ---------- what decides accelerator numbers ----------


def accelerator(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
    """The machine facts that decide accelerator numbers, one section per accelerator found (empty elsewhere):
    ``jetson`` (L4T release, power mode, GPU/EMC clocks, whether jetson_clocks locked them), ``coral`` (USB link
    speed, libedgetpu flavour), ``armnn`` (installed ARM NN packages)."""
    out: Dict[str, Any] = {}
    jetson = jetson_facts(root)
    if jetson:
        out["jetson"] = jetson
    coral = coral_facts(root)
    if coral:
        out["coral"] = coral
    armnn = dpkg_packages(root, ("python3-pyarmnn", "libarmnn"))
    if armnn:
        out["armnn"] = {"packages": armnn}
    return out


def l4t_release(root: Path = DEFAULT_ROOT) -> Optional[str]:
    """ "32.7.1" from ``# R32 (release), REVISION: 7.1, GCID: ...`` in /etc/nv_tegra_release (mounted from the host
    by the launcher), else the release the launcher read on the host and handed in (bench.hostfacts)."""
    m = re.match(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", _read(root / "etc/nv_tegra_release") or "")
    return f"{m.group(1)}.{m.group(2)}" if m else hostfacts.handed().get("l4t")


def power_mode(root: Path = DEFAULT_ROOT) -> Optional[Dict[str, Any]]:
    """nvpmodel's active mode from its status file (``pmode:0002``) and its name from /etc/nvpmodel.conf."""
    m = re.search(r"pmode:(\d+)", _read(root / "var/lib/nvpmodel/status") or "")
    if not m:
        return None
    mode = int(m.group(1))
    names = dict(re.findall(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=([\w.-]+)", _read(root / "etc/nvpmodel.conf") or ""))
    return {"id": mode, "name": names.get(str(mode))}


def gpu_node_name(dev: Path) -> str:
    """The device-tree node name of a devfreq device, from what a container can read: ``device/uevent``'s
    ``OF_NAME`` (the kernel's of_device_uevent writes OF_NAME, OF_FULLNAME, OF_COMPATIBLE_N), else
    ``device/of_node/name`` (jtop's way; of_node links into /sys/firmware, which Docker masks), else the folder name
    after its unit address ("17000000.gpu" -> "gpu", "57000000.gpu", "17000000.ga10b")."""
    m = re.search(r"^OF_NAME=(.+)$", _read(dev / "device/uevent") or "", re.M)
    if m:
        return m.group(1).strip().lower()
    name = _read(dev / "device/of_node/name")
    if name:
        return name.lower()
    return dev.name.rsplit(".", 1)[-1].lower() if "." in dev.name else ""


def jetson_gpu(root: Path = DEFAULT_ROOT) -> Optional[Dict[str, Any]]:
    """GPU devfreq frequencies in MHz (cur/min/max) and governor; None when there is no Jetson GPU."""
    for dev in sorted((root / "sys/class/devfreq").glob("*")):
        if gpu_node_name(dev) not in JETSON_GPU_NAMES:
            continue
        hz = {k: _int(_read(dev / f"{k}_freq")) for k in ("cur", "min", "max")}
        return {
            "device": dev.name,
            **{f"{k}_mhz": None if v is None else v / 1e6 for k, v in hz.items()},
            "governor": _read(dev / "governor"),
        }
    return None


def jetson_emc(root: Path = DEFAULT_ROOT) -> Optional[Dict[str, Any]]:
    """EMC (memory clock) current and maximum in MHz from debugfs: Orin (bpmp) or Nano (tegra_bwmgr). Readable by
    root only, so None in a non-root container."""
    debug = root / "sys/kernel/debug"
    for cur_path, max_path in (
        (debug / "bpmp/debug/clk/emc/rate", debug / "bpmp/debug/clk/emc/max_rate"),
        (debug / "clk/override.emc/clk_rate", debug / "tegra_bwmgr/emc_max_rate"),
    ):
        cur, top = _int(_read(cur_path)), _int(_read(max_path))
        if cur is not None and top is not None:
            return {"cur_mhz": cur / 1e6, "max_mhz": top / 1e6}
    return None


def jetson_facts(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
    """L4T release, power mode, GPU and EMC clocks, and whether the clocks are locked (jetson_clocks)."""
    l4t, gpu = l4t_release(root), jetson_gpu(root)
    if l4t is None and gpu is None:
        return {}
    emc = jetson_emc(root)
    locked: Optional[bool] = None
    if gpu and gpu["min_mhz"] is not None and gpu["max_mhz"] is not None:
        locked = gpu["min_mhz"] == gpu["max_mhz"] and (emc is None or emc["cur_mhz"] == emc["max_mhz"])
    return {"l4t": l4t, "power_mode": power_mode(root), "gpu": gpu, "emc": emc, "clocks_locked": locked}


def coral_usb_devices(root: Path = DEFAULT_ROOT) -> List[Tuple[str, Path]]:
    """(``vendor:product`` as sysfs spells it, sysfs folder) of every Coral USB Accelerator under ``root``."""
    found = []
    for dev in sorted((root / "sys/bus/usb/devices").glob("*")):
        vid, pid = _read(dev / "idVendor"), _read(dev / "idProduct")
        if vid and pid and f"{vid.lower()}:{pid.lower()}" in CORAL_USB_IDS:
            found.append((f"{vid}:{pid}", dev))
    return found


def coral_facts(root: Path = DEFAULT_ROOT) -> Dict[str, Any]:
    """USB link speed of each Coral found in sysfs and the installed libedgetpu flavour; {} without a Coral."""
    devices = [
        {"usb_path": dev.name, "id": usb_id, "speed_mbps": _int((_read(dev / "speed") or "").split(".")[0])}
        for usb_id, dev in coral_usb_devices(root)
    ]
    packages = dpkg_packages(root, ("libedgetpu1-",))
    if not devices and not packages:
        return {}
    flavour = next((name.rsplit("-", 1)[1] for name in packages if name.startswith("libedgetpu1-")), None)
    return {"devices": devices, "libedgetpu": flavour, "packages": packages}


def dpkg_packages(root: Path, prefixes: Tuple[str, ...]) -> Dict[str, str]:
    """Installed Debian packages whose name starts with one of ``prefixes``: name -> version (dpkg status file)."""
    text = _read(root / "var/lib/dpkg/status") or ""
    found = {}
    for block in text.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", block, re.M))
        name = fields.get("Package", "")
        if name.startswith(prefixes) and fields.get("Status", "").endswith(" installed"):
            found[name] = fields.get("Version", "")
    return found


def accelerator_flags(record: Dict[str, Any]) -> List[str]:
    """Report flags for a result record: ``CLOCKS-UNLOCKED`` (a Jetson run without jetson_clocks: GPU/EMC clocks
    scale with load, so latency depends on the governor) and ``CORAL-USB2`` (a Coral on a USB 2 link, 480 Mb/s)."""
    acc = (record.get("machine") or {}).get("accelerator") or {}
    flags = []
    if (acc.get("jetson") or {}).get("clocks_locked") is False:
        flags.append("CLOCKS-UNLOCKED")
    coral = acc.get("coral") or {}
    if record.get("framework") == "coral" and any(d.get("speed_mbps") == 480 for d in coral.get("devices", [])):
        flags.append("CORAL-USB2")
    return flags


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
