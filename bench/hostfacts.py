"""The board's identity as the host sees it, handed into the container: the launcher reads it, bench uses it.

Inside a Docker container ``/sys/firmware`` is masked (an empty read-only tmpfs), and ``/proc/device-tree`` is a link
to ``/sys/firmware/devicetree/base``: the device-tree model and compatible strings cannot be read in there. The
launcher therefore reads them on the host (:func:`read_host`, under a root prefix so tests point it at a fixture tree:
``EDGEBENCH_HOST_ROOT``) and hands them to the container in one environment variable (``EDGEBENCH_HOST_FACTS``, JSON;
the container cannot change what its launcher saw). Inside, :func:`handed` returns them, and bench.machine records
``source`` for every fact it takes from here.

Files read (raspberrypi/linux ``arch/arm64/boot/dts/broadcom/bcm2712-rpi-5-b.dts``: ``compatible =
"raspberrypi,5-model-b", "brcm,bcm2712"``, ``model = "Raspberry Pi 5"``, which the firmware replaces with the full
"Raspberry Pi 5 Model B Rev 1.0"; NVIDIA's ``/etc/nv_tegra_release`` first line
``# R36 (release), REVISION: 4.0, ...``, parsed as rbonghi/jetson_stats ``jtop/core/jetson_variables.py``
``get_nvidia_l4t`` does): ``proc/device-tree/model`` (NUL-terminated), ``proc/device-tree/compatible`` (a NUL-separated
list, most specific first; its last entry names the SoC) and ``etc/nv_tegra_release``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Dict, Optional

from bench import envvars

log = logging.getLogger(__name__)

#: the environment variable the launcher sets (JSON) and bench reads
ENV = envvars.HOST_FACTS
#: the launcher's root for its host reads; tests point it at a fixture tree (unset: "/")
ROOT_ENV = envvars.HOST_ROOT
MODEL = Path("proc/device-tree/model")
COMPATIBLE = Path("proc/device-tree/compatible")
NV_TEGRA_RELEASE = Path("etc/nv_tegra_release")
#: its first line, ``# R36 (release), REVISION: 4.0, ...`` (jtop/core/jetson_variables.py get_nvidia_l4t)
_L4T = re.compile(r"#\s*R(\d+)\s*\(release\)(,\s*REVISION:\s*([\d.]+))?")


def l4t_major(text: str) -> Optional[int]:
    """36 from the text of /etc/nv_tegra_release (its REVISION not needed), None when it is not one."""
    m = _L4T.match(text)
    return int(m.group(1)) if m else None


def l4t_release(text: str) -> Optional[str]:
    """ "36.4.0" from the text of /etc/nv_tegra_release, None without its REVISION."""
    m = _L4T.match(text)
    return f"{m.group(1)}.{m.group(3)}" if m and m.group(3) else None


def host_root() -> Path:
    """``$EDGEBENCH_HOST_ROOT`` (a fixture tree in tests), else ``/``."""
    return Path(envvars.read(ROOT_ENV) or "/")


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:
        return None


def read_host(root: Optional[Path] = None) -> Dict[str, Any]:
    """{"model", "compatible", "soc", "l4t", "root"} as read under ``root`` (default :func:`host_root`); a fact the
    host does not have is left out."""
    root = host_root() if root is None else root
    facts: Dict[str, Any] = {"root": str(root)}
    model = (_read(root / MODEL) or "").rstrip("\x00").strip()
    if model:
        facts["model"] = model
    compatible = [c for c in (_read(root / COMPATIBLE) or "").split("\x00") if c.strip()]
    if compatible:
        facts["compatible"] = compatible
        facts["soc"] = compatible[-1]
    l4t = l4t_release(_read(root / NV_TEGRA_RELEASE) or "")
    if l4t:
        facts["l4t"] = l4t
    return facts


def to_env(facts: Dict[str, Any]) -> Dict[str, str]:
    """The container environment entry carrying ``facts``."""
    return {ENV: json.dumps(facts, sort_keys=True)}


def handed() -> Dict[str, Any]:
    """The facts the launcher handed in (``$EDGEBENCH_HOST_FACTS``), or {} (not started by the launcher)."""
    text = envvars.read(ENV)
    if not text:
        return {}
    try:
        facts = json.loads(text)
    except json.JSONDecodeError:
        log.warning("%s is not JSON; the board's identity is unknown in here", ENV)
        return {}
    return facts if isinstance(facts, dict) else {}
