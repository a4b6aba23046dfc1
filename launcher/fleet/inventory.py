"""``boards.toml``: the lab's boards as plain data, validated with one-line errors naming the board and the field.

Example (examples/boards.toml)::

    [defaults]
    timeout_s = 3600            # per run; the container is killed after it

    [[boards]]
    name = "pi5-a"              # the board's key in records and reports
    profile = "rpi5"            # a launcher device profile (`python -m launcher profiles`)
    engine = "ssh://pi@pi5-a.lab"

Engines: ``"local"`` (this machine's socket), ``"unix:///path/docker.sock"``, ``"ssh://user@host[:port]"`` (the SDK's
paramiko transport; keys, ports and users from ``~/.ssh/config``, host keys from ``~/.ssh/known_hosts``),
``"tcp://host:2376"`` with ``tls = {ca = ..., cert = ..., key = ...}`` (TLS is required: a plain TCP engine is root on
the board), or ``"context:NAME"`` (a ``docker context``).
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench.errors import InputError
from launcher import profiles

LOCAL_SOCKET = "unix:///var/run/docker.sock"
#: every engine address form, matched whole (a prefix match let "localhost:2375" pass as "local"): the form as the
#: docs write it, its pattern (fullmatch) and the example the fix shows. unix: an absolute socket path (docker-py reads
#: "unix://path" as "/path", which would escape the one-board-per-engine check); tcp: a port is required; ssh: no
#: path, no password (docker-py 7.2.0 docker/utils/utils.py parse_host); context names as the Docker CLI validates
#: them (docker/cli cli/context/store/store.go restrictedNamePattern)
_HOST = r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]"
ENGINE_FORMS = (
    ("local", re.compile("local"), "local"),
    ("unix:///path", re.compile(r"unix:///\S+"), "unix:///var/run/docker.sock"),
    ("ssh://user@host[:port]", re.compile(rf"ssh://([^@/:\s]+@)?({_HOST})(:\d+)?"), "ssh://pi@pi5-a.lab"),
    ("tcp://host:port", re.compile(rf"tcp://({_HOST}):\d+"), "tcp://nano.lab:2376"),
    ("context:NAME", re.compile(r"context:[A-Za-z0-9][A-Za-z0-9_.+-]+"), "context:pi5-b"),
)
BOARD_FIELDS = ("name", "profile", "engine", "tls", "emulate", "timeout_s", "image", "pull")
DEFAULT_FIELDS = ("timeout_s", "pull")
DEFAULT_TIMEOUT_S = 3600.0
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class Board:
    """One board: its name in records, its device profile, and where its Docker engine listens."""

    name: str
    profile: str
    engine: str
    tls: Optional[Tls] = None
    emulate: bool = False  #: run a foreign-architecture image under qemu (local engines only; demos, never timings)
    timeout_s: float = DEFAULT_TIMEOUT_S
    image: Optional[str] = None  #: explicit image instead of the profile's
    pull: bool = False  #: pull the image on the board when it is missing (needs a registry the board reaches)

    @property
    def is_local(self) -> bool:
        return self.engine == "local" or self.engine.startswith("unix://")


@dataclass(frozen=True)
class Inventory:
    path: Path
    boards: Tuple[Board, ...]

    def select(self, names: Optional[List[str]]) -> List[Board]:
        if not names:
            return list(self.boards)
        known = {b.name: b for b in self.boards}
        for n in names:
            if n not in known:
                raise InputError(f"{self.path}: no board named {n!r}", f"use one of: {', '.join(known)}")
        return [known[n] for n in names]


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli
    except ImportError as exc:  # Python < 3.11
        raise InputError("reading boards.toml on Python < 3.11 needs tomli", "pip install tomli") from exc
    return tomli


class _Check:
    """Builds the one-line errors: `FILE: board 'x': field 'y': problem`."""

    def __init__(self, path: Path, where: str) -> None:
        self.path, self.where = path, where

    def fail(self, field: str, problem: str, fix: str) -> None:
        raise InputError(f"{self.path}: {self.where}: field {field!r}: {problem}", fix)

    def typed(self, d: Dict[str, Any], field: str, kind: Any, what: str) -> Any:
        value = d[field]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            self.fail(field, f"{value!r} is not {what}", f"write {field} as {what}")
        return value


def _tls(c: _Check, raw: Any, base: Path) -> Tls:
    if not isinstance(raw, dict) or set(raw) != {"ca", "cert", "key"}:
        c.fail(
            "tls", "needs exactly ca, cert and key", 'write tls = {ca = "ca.pem", cert = "cert.pem", key = "key.pem"}'
        )
    paths = {}
    for k in ("ca", "cert", "key"):
        if not isinstance(raw[k], str):
            c.fail("tls", f"{k} is not a path", f'write {k} = "path/{k}.pem"')
        p = Path(raw[k]).expanduser()
        p = p if p.is_absolute() else base / p
        if not p.is_file():
            c.fail("tls", f"{k} file {p} does not exist", "give the engine's client certificate files (docs/fleet.md)")
        paths[k] = p
    return Tls(**paths)


def _port_ok(engine: str) -> bool:
    try:
        port = urllib.parse.urlparse(engine).port
    except ValueError:  # above 65535
        return False
    return port is None or port > 0


def _engine(c: _Check, d: Dict[str, Any], base: Path) -> Tuple[str, Optional[Tls]]:
    engine = c.typed(d, "engine", str, "a string")
    scheme = engine.split(":", 1)[0]
    form = next((f for f in ENGINE_FORMS if f[0].split(":", 1)[0] == scheme), None)
    if form is None:
        forms = ", ".join(f[0] for f in ENGINE_FORMS)
        c.fail("engine", f"{engine!r} is no engine address", f"write one of: {forms} (e.g. ssh://pi@pi5-a.lab)")
    elif not form[1].fullmatch(engine) or not _port_ok(engine):
        c.fail("engine", f"{engine!r} is not {form[0]}", f'write engine = "{form[2]}"')
    if "tls" in d and not engine.startswith("tcp://"):
        c.fail(
            "tls", f"TLS files are only used with tcp:// engines, not {engine!r}", "remove tls or use tcp://host:2376"
        )
    if engine.startswith("tcp://") and "tls" not in d:
        c.fail(
            "tls",
            "a tcp:// engine needs TLS client files",
            "add tls = {ca = ..., cert = ..., key = ...} (docs/fleet.md)",
        )
    tls = _tls(c, d["tls"], base) if "tls" in d else None
    return engine, tls


def _board(path: Path, index: int, d: Any, defaults: Dict[str, Any]) -> Board:
    c = _Check(path, f"board #{index + 1}")
    if not isinstance(d, dict):
        c.fail("boards", "is not a table", "write each board as a [[boards]] table")
    if "name" in d:
        name = c.typed(d, "name", str, "a string")
        if not NAME_RE.match(name):
            c.fail("name", f"{name!r} is not a board name", "use letters, digits, '.', '_' and '-' (at most 63)")
        c = _Check(path, f"board {name!r}")
    for field in BOARD_FIELDS[:3]:
        if field not in d:
            c.fail(field, "is missing", f"add {field} = ... (see examples/boards.toml)")
    unknown = sorted(set(d) - set(BOARD_FIELDS))
    if unknown:
        c.fail(unknown[0], "is not a board field", f"use only: {', '.join(BOARD_FIELDS)}")
    profile = c.typed(d, "profile", str, "a string")
    if profile not in profiles.PROFILES:
        c.fail("profile", f"unknown profile {profile!r}", f"use one of: {', '.join(profiles.PROFILES)}")
    engine, tls = _engine(c, d, path.parent)
    merged = {**defaults, **d}
    timeout = (
        float(c.typed(merged, "timeout_s", (int, float), "a number of seconds")) if "timeout_s" in merged else None
    )
    if timeout is not None and timeout <= 0:
        c.fail("timeout_s", f"{timeout} is not positive", "give the seconds one run may take, e.g. 3600")
    emulate = c.typed(d, "emulate", bool, "true or false") if "emulate" in d else False
    board = Board(
        name=d["name"],
        profile=profile,
        engine=engine,
        tls=tls,
        emulate=emulate,
        timeout_s=timeout or DEFAULT_TIMEOUT_S,
        image=c.typed(d, "image", str, "an image tag") if "image" in d else None,
        pull=c.typed(merged, "pull", bool, "true or false") if "pull" in merged else False,
    )
    if emulate and not board.is_local:
        c.fail("emulate", "emulation needs a local engine", 'run on the board itself, or use engine = "local"')
    return board


def parse(data: Dict[str, Any], path: Path) -> Inventory:
    """Validate the decoded TOML; the first problem raises an InputError naming the board and the field."""
    unknown = sorted(set(data) - {"boards", "defaults"})
    if unknown:
        raise InputError(f"{path}: unknown top-level key {unknown[0]!r}", "use [defaults] and [[boards]] tables only")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - set(DEFAULT_FIELDS):
        raise InputError(f"{path}: [defaults] may set only {', '.join(DEFAULT_FIELDS)}", "move other fields to boards")
    raw = data.get("boards")
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{path}: no boards", "add at least one [[boards]] table with name, profile and engine")
    boards = [_board(path, i, d, defaults) for i, d in enumerate(raw)]
    names: Dict[str, Board] = {}
    engines: Dict[str, Board] = {}
    for b in boards:
        if b.name in names:
            raise InputError(f"{path}: board {b.name!r}: field 'name': used twice", "give every board its own name")
        where = LOCAL_SOCKET if b.engine == "local" else b.engine
        if where in engines:  # one engine is one machine: two boards on it would measure side by side
            raise InputError(
                f"{path}: board {b.name!r}: field 'engine': same engine as board {engines[where].name!r}",
                "one board per engine: runs on one machine are strictly one at a time",
            )
        names[b.name], engines[where] = b, b
    return Inventory(path=path, boards=tuple(boards))


def load(path: Path) -> Inventory:
    """Read and validate an inventory file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"inventory {path} not found", "write one like examples/boards.toml")
    toml = _toml()
    try:
        data = toml.loads(path.read_text(encoding="utf-8"))
    except toml.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})", "fix the syntax at the line named") from exc
    return parse(data, path)
