"""Intel/AMD RAPL package energy through the powercap sysfs interface (workstations).

Each top-level zone ``/sys/class/powercap/intel-rapl:N`` (a CPU package; AMD Zen CPUs use the same driver) has
``energy_uj``, a counter in microjoules that runs from 0 to ``max_energy_range_uj`` and then starts again at 0
(Linux ``Documentation/power/powercap/powercap.rst``). Power is the counter's difference over the time between two
reads; a counter that went down wrapped once: difference + ``max_energy_range_uj`` + 1. Sub-zones (``core``,
``uncore``, ``dram``, ``intel-rapl:N:M``) are inside the package and are not added again.

The reading is an ``estimate`` of the machine's draw: the CPU package, not the wall (no board, memory, disks, PSU).
Since Linux 5.10 ``energy_uj`` is readable by root only (CVE-2020-8694), and Docker masks
``/sys/devices/virtual/powercap``; the launcher's host profile bind-mounts that folder read-only at
``/run/edgebench/powercap``, which is searched too.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from bench.power.base import ESTIMATE, PowerSource, Unavailable

#: package zones: the class folder on a host, the launcher's read-only mount in a container
ZONE_GLOBS = ("sys/class/powercap/intel-rapl:*", "run/edgebench/powercap/intel-rapl/intel-rapl:*")
_PACKAGE = re.compile(r"intel-rapl:\d+")


def zones(root: Path) -> List[Path]:
    """Package zone folders (``intel-rapl:N``, not ``intel-rapl:N:M``), first glob that finds any."""
    for pattern in ZONE_GLOBS:
        found = [z for z in sorted(root.glob(pattern)) if _PACKAGE.fullmatch(z.name) and (z / "energy_uj").exists()]
        if found:
            return found
    return []


def delta_uj(before: int, after: int, max_range: int) -> int:
    """Energy between two counter reads; one wrap is undone (the counter goes 0..max_range then 0 again)."""
    return after - before if after >= before else after - before + max_range + 1


class Rapl(PowerSource):
    name = "rapl"
    label = ESTIMATE

    def __init__(self, zone_dirs: List[Path], clock: Callable[[], float] = time.monotonic) -> None:
        self.zones: List[Tuple[Path, int]] = [
            (z / "energy_uj", int((z / "max_energy_range_uj").read_text())) for z in zone_dirs
        ]
        names = [(z / "name").read_text().strip() if (z / "name").exists() else z.name for z in zone_dirs]
        self.scope = f"RAPL {', '.join(names)}: CPU package energy, not the wall"
        self._clock = clock
        self._last: Optional[Tuple[float, List[int]]] = None

    def _counters(self) -> List[int]:
        return [int(path.read_text()) for path, _ in self.zones]

    def prime(self) -> None:
        """The first read, which only starts the counters; errors (a root-only file) are raised."""
        self._last = (self._clock(), self._counters())

    def read_w(self) -> Optional[float]:
        """Mean watts since the previous read (None when there is no previous read)."""
        try:
            now, values = self._clock(), self._counters()
        except (OSError, ValueError):
            return None
        last, self._last = self._last, (now, values)
        if last is None or now <= last[0]:
            return None
        uj = sum(delta_uj(b, a, m) for b, a, (_, m) in zip(last[1], values, self.zones))
        return uj / 1e6 / (now - last[0])


def probe(root: Path, clock: Callable[[], float] = time.monotonic) -> PowerSource:
    found = zones(root)
    if not found:
        raise Unavailable("no /sys/class/powercap/intel-rapl:N/energy_uj (no RAPL, or masked in a container)")
    try:
        source = Rapl(found, clock)
        source.prime()
    except PermissionError:
        raise Unavailable(
            "energy_uj is readable by root only (Linux >= 5.10, CVE-2020-8694); run as root or "
            "`sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj`"
        ) from None
    except (OSError, ValueError) as exc:
        raise Unavailable(f"RAPL zone unreadable: {exc}") from None
    return source
