"""Jetson INA3221 power monitors, read from sysfs as jetson_stats does.

Source read: rbonghi/jetson_stats ``jtop/core/power.py`` (``find_driver_power_folders``, ``list_all_i2c_ports``,
``total_power``):

* JetPack 4 (L4T r32, Nano/TX/Xavier): the ``ina3221x`` IIO driver, folder
  ``/sys/bus/i2c/drivers/ina3221x/<bus-addr>/iio:deviceN/`` with ``rail_name_K`` (e.g. ``POM_5V_IN``) and
  ``in_powerK_input`` in mW.
* JetPack 5/6 (L4T r35/r36, Orin): the mainline ``ina3221`` hwmon driver, folder
  ``/sys/bus/i2c/drivers/ina3221/<bus-addr>/hwmon/hwmonN/`` with ``inK_label`` (e.g. ``VDD_IN``), ``inK_input`` in
  mV and ``currK_input`` in mA; power = mV x mA. Channels labelled ``NC`` (not connected) and channel 7 ("sum of
  shunt voltages") are skipped, as jtop does.
* The whole-module rail is ``POM_5V_IN`` or ``VDD_IN`` (jtop's ``total_power``): when present it is the reading
  (``measured``: the module's input, the carrier board's own draw excluded). Otherwise the rails are summed and the
  reading is an ``estimate`` (rails do not cover the whole board).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bench.boards import INA3221_HWMON, INA3221_IIO
from bench.power.base import ESTIMATE, MEASURED, PowerSource, Unavailable, read_number

#: jtop/core/power.py total_power: the rails that are the module's whole input
TOTAL_RAILS = ("POM_5V_IN", "VDD_IN")
#: under the driver folders of the Jetson records (bench.boards), as paths under the root
IIO_GLOB = INA3221_IIO.lstrip("/") + "/*/iio:device*"
HWMON_GLOB = INA3221_HWMON.lstrip("/") + "/*/hwmon/hwmon*"
#: hwmon channel 7 of the ina3221 driver is the sum of shunt voltages, not a rail (jtop skips it)
SUM_OF_SHUNTS_CHANNEL = 7

#: rail name -> files whose product (or single value) gives milliwatts
Rail = Tuple[Path, ...]


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def iio_rails(root: Path) -> Dict[str, Rail]:
    """JetPack 4: rail name -> (in_powerK_input,) in mW."""
    rails: Dict[str, Rail] = {}
    for dev in sorted(root.glob(IIO_GLOB)):
        for name_file in sorted(dev.glob("rail_name_*")):
            k = name_file.name[len("rail_name_") :]
            power = dev / f"in_power{k}_input"
            name = _read_text(name_file)
            if name and power.is_file():
                rails[name] = (power,)
    return rails


def hwmon_rails(root: Path) -> Dict[str, Rail]:
    """JetPack 5/6: rail label -> (inK_input mV, currK_input mA)."""
    rails: Dict[str, Rail] = {}
    for dev in sorted(root.glob(HWMON_GLOB)):
        for label_file in sorted(dev.glob("in*_label")):
            m = re.fullmatch(r"in(\d+)_label", label_file.name)
            label = _read_text(label_file)
            if not m or not label or "NC" in label.split() or int(m.group(1)) == SUM_OF_SHUNTS_CHANNEL:
                continue
            k = m.group(1)
            volt, curr = dev / f"in{k}_input", dev / f"curr{k}_input"
            if volt.is_file() and curr.is_file():
                rails[label] = (volt, curr)
    return rails


class Ina3221(PowerSource):
    """The module's input rail when there is one (measured), else the sum of all rails (estimate)."""

    def __init__(self, name: str, rails: Dict[str, Rail]) -> None:
        total = next((r for r in TOTAL_RAILS if r in rails), None)
        self.name = name
        self.rails: List[Rail] = [rails[total]] if total else list(rails.values())
        self.rail_names = [total] if total else sorted(rails)
        self.label = MEASURED if total else ESTIMATE
        self.scope = (
            f"{total} rail: the module's input (carrier board excluded)"
            if total
            else "sum of rails " + ", ".join(self.rail_names) + " (not the whole board)"
        )

    def read_w(self) -> Optional[float]:
        total_mw = 0.0
        for files in self.rails:
            values = [read_number(f) for f in files]
            if any(v is None for v in values):
                return None
            mw = values[0] if len(values) == 1 else values[0] * values[1] / 1000.0  # type: ignore[operator]
            total_mw += mw  # type: ignore[operator]
        return total_mw / 1000.0


def probe_iio(root: Path) -> PowerSource:
    rails = iio_rails(root)
    if not rails:
        raise Unavailable(f"no {IIO_GLOB} with rail_name_* (JetPack 4 INA3221)")
    return Ina3221("jetson-ina3221", rails)


def probe_hwmon(root: Path) -> PowerSource:
    rails = hwmon_rails(root)
    if not rails:
        raise Unavailable(f"no {HWMON_GLOB} with in*_label (JetPack 5/6 INA3221)")
    return Ina3221("jetson-hwmon", rails)
