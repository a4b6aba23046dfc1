"""Intel/AMD RAPL energy through the powercap sysfs interface (workstations).

Each top-level zone ``/sys/class/powercap/intel-rapl:N`` has ``name`` and ``energy_uj``, a counter in microjoules
that runs from 0 to ``max_energy_range_uj`` and then starts again at 0 (Linux
``Documentation/power/powercap/powercap.rst``). Power is the counter's difference over the time between two reads;
a counter that went down wrapped once: difference + ``max_energy_range_uj`` + 1. Sub-zones (``core``, ``uncore``,
``dram``, ``intel-rapl:N:M``) are inside a package and are not added again.

Top-level zones do not add up: ``package-N`` is one CPU package, but ``psys`` (laptops since Skylake) is the whole
platform as the firmware sees it, package included. So the ``package-*`` zones are summed (one per socket), and
``psys`` is used alone, labelled as the platform, only when there is no package zone (the zone name prefix
``package-`` is what powercap/raplcap ``powercap/raplcap-powercap.c`` matches too). The MMIO copy of the package
zone (``intel-rapl-mmio:N``, same name) is never globbed.

The reading is an ``estimate`` of the machine's draw: the CPU package (or platform), not the wall (no PSU, and for a
package no board, memory, disks). It is a counter: each reading is the mean power since the previous one
(``counter = True``), which the sampler reads again at every phase change. Since Linux 5.10 ``energy_uj`` is
readable by root only (CVE-2020-8694), and Docker masks ``/sys/devices/virtual/powercap``; the launcher's host
profile bind-mounts that folder read-only at ``/run/edgebench/powercap``, which is searched too.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from bench.boards import RAPL_MOUNT
from bench.power.base import ESTIMATE, PowerSource, Unavailable

#: top-level zones: the class folder on a host, the launcher's read-only mount in a container
ZONE_GLOBS = ("sys/class/powercap/intel-rapl:*", RAPL_MOUNT[1].lstrip("/") + "/intel-rapl/intel-rapl:*")
_TOP_LEVEL = re.compile(r"intel-rapl:\d+")
PACKAGE_PREFIX = "package-"
PLATFORM = "psys"


def zones(root: Path) -> List[Path]:
    """Top-level zone folders (``intel-rapl:N``, not ``intel-rapl:N:M``), from the first glob that finds any."""
    for pattern in ZONE_GLOBS:
        found = [z for z in sorted(root.glob(pattern)) if _TOP_LEVEL.fullmatch(z.name) and (z / "energy_uj").exists()]
        if found:
            return found
    return []


def zone_name(zone: Path) -> str:
    try:
        return (zone / "name").read_text().strip()
    except OSError:
        return zone.name


def choose(found: List[Path]) -> Tuple[List[Path], str]:
    """(zones to sum, scope): every ``package-*`` zone, else ``psys`` alone; never both (psys contains the package)."""
    named = [(z, zone_name(z)) for z in found]
    packages = [z for z, n in named if n.startswith(PACKAGE_PREFIX)]
    left_out = sorted(n for _, n in named if not n.startswith(PACKAGE_PREFIX))
    if packages:
        names = ", ".join(zone_name(z) for z in packages)
        rest = f"; {', '.join(left_out)} not added" if left_out else ""
        rest += " (psys contains the package)" if PLATFORM in left_out else ""
        return packages, f"RAPL {names}: CPU package energy, not the wall{rest}"
    platform = [z for z, n in named if n == PLATFORM]
    if platform:
        return platform[:1], "RAPL psys: platform energy as the firmware reports it (package included), not the wall"
    raise Unavailable(f"no package-* or psys RAPL zone (zones: {', '.join(n for _, n in named)})")


def delta_uj(before: int, after: int, max_range: int) -> int:
    """Energy between two counter reads; one wrap is undone (the counter goes 0..max_range then 0 again)."""
    return after - before if after >= before else after - before + max_range + 1


class Rapl(PowerSource):
    name = "rapl"
    label = ESTIMATE
    counter = True

    def __init__(self, zone_dirs: List[Path], clock: Callable[[], float] = time.monotonic, scope: str = "") -> None:
        self.zones: List[Tuple[Path, int]] = [
            (z / "energy_uj", int((z / "max_energy_range_uj").read_text())) for z in zone_dirs
        ]
        self.scope = scope or f"RAPL {', '.join(zone_name(z) for z in zone_dirs)}"
        self._clock = clock
        self._last: Optional[Tuple[float, List[int]]] = None

    def _counters(self) -> List[int]:
        return [int(path.read_text()) for path, _ in self.zones]

    def prime(self) -> None:
        """The first read, which only starts the counters; errors (a root-only file) are raised."""
        self._last = (self._clock(), self._counters())

    def read_span(self) -> Optional[Tuple[float, float]]:
        """(joules, seconds) since the previous read (None when there is no previous read or this one failed)."""
        try:
            now, values = self._clock(), self._counters()
        except (OSError, ValueError):
            return None
        last, self._last = self._last, (now, values)
        if last is None or now <= last[0]:
            return None
        uj = sum(delta_uj(b, a, m) for b, a, (_, m) in zip(last[1], values, self.zones))
        return uj / 1e6, now - last[0]

    def read_w(self) -> Optional[float]:
        """Mean watts since the previous read (None when there is no previous read)."""
        span = self.read_span()
        return None if span is None else span[0] / span[1]


def probe(root: Path, clock: Callable[[], float] = time.monotonic) -> PowerSource:
    found = zones(root)
    if not found:
        raise Unavailable("no /sys/class/powercap/intel-rapl:N/energy_uj (no RAPL, or masked in a container)")
    chosen, scope = choose(found)
    try:
        source = Rapl(chosen, clock, scope)
        source.prime()
    except PermissionError:
        raise Unavailable(
            "energy_uj is readable by root only (Linux >= 5.10, CVE-2020-8694); run as root or "
            "`sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj`"
        ) from None
    except (OSError, ValueError) as exc:
        raise Unavailable(f"RAPL zone unreadable: {exc}") from None
    return source
