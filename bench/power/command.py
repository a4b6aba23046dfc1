"""An external meter: ``--power-cmd CMD`` runs the user's command once per read; it prints watts.

The command line is split with ``shlex.split`` and run as an argument list, never through a shell. Its output's
first number is the reading in watts (``4.2``, ``4.2 W`` and ``watts=4.2`` all read as 4.2). What it measures is the
user's to say, so the label is ``measured`` (a wall meter is the usual case). Each read starts a process: at 10 Hz
that is ten process starts a second, which costs a board more CPU than reading a sysfs file (measured in
benchmarks/harness_overhead.py for the sysfs case only).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from typing import List, Optional

from bench.errors import InputError
from bench.power.base import MEASURED, PowerSource

TIMEOUT_S = 5.0
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def parse_watts(text: str) -> Optional[float]:
    m = _NUMBER.search(text)
    return float(m.group(0)) if m else None


class Command(PowerSource):
    name = "cmd"
    label = MEASURED

    def __init__(self, argv: List[str]) -> None:
        self.argv = argv
        self.scope = f"external meter: {shlex.join(argv)}"

    def read_w(self) -> Optional[float]:
        try:
            out = subprocess.run(self.argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return parse_watts(out)


def probe_cmd(cmd: str) -> PowerSource:
    """The meter, checked with one read; a command that cannot run or prints no number is bad input."""
    try:
        argv = shlex.split(cmd)
    except ValueError as exc:
        raise InputError(f"--power-cmd {cmd!r} cannot be split ({exc})", "quote it as a shell would") from None
    source = Command(argv)
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise InputError(
            f"--power-cmd {cmd!r} failed: {exc}", "run it by hand; it must print watts and exit 0"
        ) from None
    if parse_watts(out) is None:
        raise InputError(f"--power-cmd {cmd!r} printed no number: {out[:80]!r}", "make it print the watts, e.g. 4.2")
    return source
