"""Power from the jtop service (the ``jetson-stats`` package) when it runs on the board.

jtop's service reads the INA3221 rails as root and publishes them on its socket ``/run/jtop.sock``
(rbonghi/jetson_stats ``jtop/service.py`` ``JTOP_PIPE``); its client, ``jtop.jtop(interval=...)``, is a thread
that receives the service's stats every ``interval`` seconds. ``jtop().power`` (jetson-stats 4.x,
``jtop/core/power.py`` ``PowerService.get_status``) is ``{"rail": {...}, "tot": {"power": mW, "name": rail?}}``:
``tot`` carries ``name`` when it is the module's input rail (``VDD_IN``/``POM_5V_IN``), else it is the sum of the
rails. When the socket is there and the package imports, jtop is the source (it is what the user's ``jtop``
shows); the socket is given to the container read-only by the launcher's Jetson profiles.

The interval asked for is not necessarily the one in force: the service runs at the interval of the client that
started it, and another running jtop keeps its own (``jtop.__init__``: "if there is another jtop running this speed
will be not used"). After ``start()``, ``jtop.interval`` is the service's interval (``self._server_interval =
init['interval']``) and ``interval_user`` the one asked for (rbonghi/jetson_stats ``jtop/jtop.py``, tags 4.2.0 and
7.2.0; the service sends ``'interval': self.interval.value`` in ``jtop/service.py``). The record keeps the real one
(``update_interval_s``): a reading is up to that old.

This module is tested at the contract level only (a fake ``jtop`` module; no Jetson here).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Optional

from bench.boards import JTOP_SOCKET
from bench.power.base import ESTIMATE, MEASURED, PowerSource, Unavailable
from bench.power.jetson import TOTAL_RAILS

SOCKET = JTOP_SOCKET.lstrip("/")  # the Jetson records' socket (bench.boards), under the root


class Jtop(PowerSource):
    name = "jtop"

    def __init__(self, client: Any, interval_s: float) -> None:
        self.client = client
        self.requested_interval_s = interval_s
        served = getattr(client, "interval", None)  # the service's interval, read after start()
        self.update_interval_s: Optional[float] = float(served) if isinstance(served, (int, float)) else None
        every = (
            f"updated every {self.update_interval_s:g} s (the service's interval; asked {interval_s:g} s)"
            if self.update_interval_s is not None
            else f"the service's interval unknown (asked {interval_s:g} s)"
        )
        # {} without sensors, else "tot" is a dict (rbonghi/jetson_stats jtop/core/power.py get_status, total_power)
        tot = (client.power or {}).get("tot") or {}
        total = tot.get("name")
        self.label = MEASURED if total in TOTAL_RAILS else ESTIMATE
        self.scope = (
            f"jtop service, {total} rail: the module's input, {every}"
            if total in TOTAL_RAILS
            else f"jtop service, sum of rails (not the whole board), {every}"
        )

    def describe(self) -> dict:
        return {
            **super().describe(),
            "update_interval_s": self.update_interval_s,
            "requested_interval_s": self.requested_interval_s,
        }

    def read_w(self) -> Optional[float]:
        if not self.client.ok():
            return None
        mw = ((self.client.power or {}).get("tot") or {}).get("power")
        return None if mw is None else float(mw) / 1000.0

    def close(self) -> None:
        self.client.close()


def probe(root: Path, interval_s: float = 0.5) -> PowerSource:
    if not (root / SOCKET).exists():
        raise Unavailable(f"no jtop service socket /{SOCKET}")
    try:
        module = importlib.import_module("jtop")
    except ImportError:
        raise Unavailable(f"/{SOCKET} exists but the jetson-stats package is not installed here") from None
    client = module.jtop(interval=interval_s)
    try:
        client.start()
    except Exception as exc:  # jtop raises JtopException (service down, permissions, version mismatch)
        raise Unavailable(f"jtop service: {exc}") from None
    return Jtop(client, interval_s)
