"""What decides accelerator numbers, read under a root prefix (default ``/``; tests feed fixture trees): the Jetson's
L4T release, power mode, GPU/EMC clocks and whether jetson_clocks locked them, the Coral's USB link and libedgetpu
flavour, the installed ARM NN packages; and the report flags they raise. Nothing is read at import time.

Sources (vendor code read, not memory):

* Jetson (rbonghi/jetson_stats): L4T release from ``/etc/nv_tegra_release`` (``jtop/core/jetson_variables.py``
  ``get_nvidia_l4t``); GPU frequencies from ``/sys/class/devfreq/*`` whose ``device/of_node/name`` is a known GPU
  (``jtop/core/gpu.py``; the names are in bench.boards); EMC from debugfs (``jtop/core/memory.py`` ``read_emc``; root
  only, so usually absent in a container); "clocks locked" as jetson_clocks leaves them: GPU min == max, EMC current
  == max (``jtop/core/jetson_clocks.py`` ``jetson_clocks_alive``); the power mode from nvpmodel's status file
  ``/var/lib/nvpmodel/status`` (``pmode:0000``) and the names in ``/etc/nvpmodel.conf``
  (``< POWER_MODEL ID=0 NAME=MAXN >``, as ``jtop/core/nvpmodel.py`` parses ``nvpmodel -p``).
* Coral: the USB IDs of google-coral/libedgetpu ``debian/edgetpu-accelerator.rules`` (in bench.boards); the link speed
  is the USB device's sysfs ``speed`` (Mb/s: 480 = USB 2, 5000 = USB 3); the libedgetpu flavour is the installed
  package (``libedgetpu1-std`` or ``libedgetpu1-max``) in dpkg's status file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import boards, hostfacts
from bench.sysfs import read as _read
from bench.sysfs import to_int as _int

DEFAULT_ROOT = Path("/")


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
    here = hostfacts.l4t_release(_read(root / hostfacts.NV_TEGRA_RELEASE) or "")
    return here or hostfacts.handed().get("l4t")


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
        if gpu_node_name(dev) not in boards.JETSON_GPU_NAMES:
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
        if vid and pid and f"{vid.lower()}:{pid.lower()}" in boards.CORAL.usb_ids:
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
