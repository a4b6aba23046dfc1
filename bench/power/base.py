"""The power-source interface, its options, and finding the source a machine has.

A source reads one number per call: the watts it sees now (``read_w``). Sources backed by an energy counter (RAPL,
``counter = True``) return the mean power since their previous read, and ``read_span`` gives the joules and seconds
of that interval, so a window's energy is exact when the counter is read at the window's edges. Every source reads plain files or runs a command, under a ``root``
prefix (default ``/``) so tests feed it fixture trees. ``label`` says what the number is: ``measured`` (the board's
or module's input) or ``estimate`` (a sum of rails that is not the whole board, or a CPU package counter that is not
the wall). Nothing here reads anything at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from bench.errors import InputError

log = logging.getLogger(__name__)

MEASURED = "measured"
ESTIMATE = "estimate"
UNAVAILABLE = "unavailable"

#: --power-hz default: 10 reads a second is fine enough for runs of seconds and sleeps 100 ms between reads
DEFAULT_HZ = 10.0
#: --idle-s default: the idle window read before the run, with the model loaded and nothing running
DEFAULT_IDLE_S = 2.0
#: reads faster than this would compete with the measurement for the CPU
MAX_HZ = 100.0


class Unavailable(Exception):
    """This source is not on this machine (or not readable); the message says why."""


class PowerSource:
    """One power sensor. Subclasses set ``name``, ``label``, ``scope`` and implement ``read_w``."""

    name = "base"
    label = ESTIMATE
    scope = ""
    #: an energy counter: each reading covers the interval since the previous one (see read_span)
    counter = False

    def read_w(self) -> Optional[float]:
        """Watts now (or since the previous read, for energy counters); None when this read gave no value."""
        raise NotImplementedError

    def read_span(self) -> Optional[Tuple[float, float]]:
        """Counters only: (joules, seconds) since the previous read, or None when this read gave no value."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds (a socket, a handle); reading after close is an error."""

    def describe(self) -> dict:
        return {"source": self.name, "label": self.label, "scope": self.scope}


@dataclass(frozen=True)
class PowerOptions:
    """--power-source, --power-cmd, --power-hz, --idle-s (recorded with the run's options)."""

    source: str = "auto"  #: "auto", "none", or one source name (see bench.power.SOURCES)
    cmd: Optional[str] = None  #: external meter command line, split with shlex (never a shell)
    hz: float = DEFAULT_HZ
    idle_s: float = DEFAULT_IDLE_S

    def validate(self, names: Tuple[str, ...]) -> PowerOptions:
        valid = ("auto", "none", *names)
        if self.source not in valid:
            raise InputError(f"--power-source {self.source!r} is unknown", f"use one of: {', '.join(valid)}")
        if not 0 < self.hz <= MAX_HZ:
            raise InputError(f"--power-hz {self.hz} is outside (0, {MAX_HZ:g}]", "pass e.g. --power-hz 10")
        if self.idle_s < 0:
            raise InputError(f"--idle-s {self.idle_s} is negative", "pass seconds >= 0 (0: no idle window)")
        if self.cmd is not None and not self.cmd.strip():
            raise InputError("--power-cmd is empty", "pass the meter's command, e.g. --power-cmd 'mymeter --watts'")
        if self.source == "cmd" and not self.cmd:
            raise InputError("--power-source cmd without --power-cmd", "pass the meter with --power-cmd 'CMD ARGS'")
        if self.cmd and self.source not in ("auto", "cmd"):
            raise InputError(f"--power-cmd with --power-source {self.source}", "leave --power-source out (or pass cmd)")
        return self


Probe = Callable[[Path], PowerSource]


def find(probes: List[Tuple[str, Probe]], root: Path) -> Tuple[Optional[PowerSource], str]:
    """The first source whose probe succeeds, or (None, why each one could not be used)."""
    reasons = []
    for name, probe in probes:
        try:
            source = probe(root)
        except Unavailable as exc:
            reasons.append(f"{name}: {exc}")
            continue
        log.info("power source: %s (%s, %s)", source.name, source.label, source.scope)
        return source, ""
    return None, "no power sensor found (" + "; ".join(reasons) + ")"


def read_number(path: Path) -> Optional[float]:
    """The first number in a sysfs file (``32760 ma`` style suffixes dropped), or None."""
    try:
        text = path.read_text().strip().split()
        return float(text[0]) if text else None
    except (OSError, ValueError, IndexError):
        return None
