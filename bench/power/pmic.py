"""Raspberry Pi 5 PMIC rails through ``vcgencmd pmic_read_adc``.

The firmware prints one line per ADC channel, currents then voltages, for example (captured on a Pi 5 Model B,
Raspberry Pi OS bookworm; verbatim in ml-energy/zeus ``tests/device/machine/test_rpi.py`` at 09de54d9, our fixture
``tests/fixtures/power/rpi5_pmic_read_adc.txt``)::

     VDD_CORE_A current(7)=6.22421000A
     VDD_CORE_V volt(15)=0.86173300V
        EXT5V_V volt(24)=5.09066000V

The channel numbers of a rail's current and voltage differ, so rails are paired by name (``<RAIL>_A`` with
``<RAIL>_V``) and power = sum of current x voltage over the paired rails. Voltage-only channels (``EXT5V_V``,
``BATT_V``) carry no current and are left out. The sum covers the PMIC's rails only: the 5 V taken by USB devices,
the fan and HATs and the PMIC's own losses are not in it, so the reading is an ``estimate``, not the wall.
``vcgencmd`` talks to the firmware through ``/dev/vcio`` (the launcher's rpi5 profile gives the container that node).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, Optional

from bench.power.base import ESTIMATE, PowerSource, Unavailable

COMMAND = ("vcgencmd", "pmic_read_adc")
#: a read must never stall the sampler; the firmware answers in milliseconds
TIMEOUT_S = 2.0
_LINE = re.compile(r"(\S+)_([AV])\s+(?:current|volt)\(\d+\)=([-+0-9.eE]+)[AV]")


def parse(text: str) -> Dict[str, float]:
    """Rail -> watts, for rails that have both a current and a voltage line (NUL separators accepted)."""
    amps: Dict[str, float] = {}
    volts: Dict[str, float] = {}
    for m in _LINE.finditer(text.replace("\x00", "\n")):
        rail, unit, value = m.groups()
        try:
            (amps if unit == "A" else volts)[rail] = float(value)
        except ValueError:
            continue
    return {rail: amps[rail] * volts[rail] for rail in sorted(amps) if rail in volts}


def run_vcgencmd() -> str:
    return subprocess.run(list(COMMAND), capture_output=True, text=True, timeout=TIMEOUT_S, check=True).stdout


class Pmic(PowerSource):
    name = "rpi5-pmic"
    label = ESTIMATE
    scope = "sum of the Raspberry Pi 5 PMIC rails (current x voltage); USB/HAT 5 V draw and PMIC losses excluded"

    def __init__(self, read: Callable[[], str] = run_vcgencmd) -> None:
        self._read = read

    def read_w(self) -> Optional[float]:
        try:
            rails = parse(self._read())
        except (OSError, subprocess.SubprocessError):
            return None
        return sum(rails.values()) if rails else None


def probe(root: Path, read: Optional[Callable[[], str]] = None) -> PowerSource:
    if read is None:
        if root != Path("/"):
            raise Unavailable("vcgencmd is only run on the real root")
        if shutil.which(COMMAND[0]) is None:
            raise Unavailable("vcgencmd not installed (Raspberry Pi 5 PMIC)")
        read = run_vcgencmd
    source = Pmic(read)
    try:
        text = read()
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(f"`{' '.join(COMMAND)}` failed: {exc}") from None
    if not parse(text):
        raise Unavailable(f"`{' '.join(COMMAND)}` printed no rail (not a Raspberry Pi 5, or old firmware)")
    return source
