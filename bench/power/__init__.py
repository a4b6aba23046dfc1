"""Power sources (one module per real sensor) and the sampler that turns their readings into energy per inference.

Order of the automatic choice: the jtop service (when jetson-stats runs, it is the Jetson's source), the Jetson
INA3221 monitors (JetPack 4 IIO, JetPack 5/6 hwmon), the Raspberry Pi 5 PMIC, RAPL. ``--power-cmd`` (an external
meter) replaces the search. See each module for the files it reads and the vendor source it follows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Tuple

from bench.power import base
from bench.power.base import DEFAULT_HZ, DEFAULT_IDLE_S, PowerOptions, PowerSource, Unavailable

__all__ = ["DEFAULT_HZ", "DEFAULT_IDLE_S", "SOURCES", "PowerOptions", "PowerSource", "Unavailable", "open_source"]


def _probes(hz: float) -> List[Tuple[str, Callable[[Path], PowerSource]]]:
    from bench.power import jetson, jtop, pmic, rapl

    return [
        ("jtop", lambda root: jtop.probe(root, interval_s=max(1.0 / hz, 0.1))),
        ("jetson-ina3221", jetson.probe_iio),
        ("jetson-hwmon", jetson.probe_hwmon),
        ("rpi5-pmic", pmic.probe),
        ("rapl", rapl.probe),
    ]


SOURCES: Tuple[str, ...] = ("jtop", "jetson-ina3221", "jetson-hwmon", "rpi5-pmic", "rapl", "cmd")


def open_source(options: PowerOptions, root: Path = Path("/")) -> Tuple[Optional[PowerSource], str]:
    """(source, "") or (None, why there is none). A bad --power-cmd raises InputError."""
    options.validate(SOURCES)
    if options.source == "none":
        return None, "power sampling switched off (--power-source none)"
    if options.cmd:
        from bench.power import command

        return command.probe_cmd(options.cmd), ""
    probes = _probes(options.hz)
    if options.source != "auto":
        probes = [(n, p) for n, p in probes if n == options.source]
    return base.find(probes, root)
