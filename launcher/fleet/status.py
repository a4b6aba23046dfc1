"""`edgebench fleet status`: per board, is the engine reachable, is the image there (which build), what is the board.

"Detected as" runs one short container from the board's image that reads the board's device-tree model (the same
bench.machine.board the records use), so it says what the engine's machine is, not what the inventory claims.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from bench import envvars
from launcher import profiles
from launcher.fleet import engine
from launcher.fleet.inventory import Board

log = logging.getLogger(__name__)

#: python run in the board's image for "detected as" (the image's entrypoint is `python -m bench`)
DETECT = "import json; from bench.machine import board; print(json.dumps(board()))"


@dataclass
class BoardStatus:
    board: str
    profile: str
    engine: str
    reachable: bool = False
    identity: Dict[str, Any] = field(default_factory=dict)
    image: Optional[str] = None
    image_commit: str = ""
    detected: str = ""
    leftovers: int = 0  #: stopped edgebench containers left behind (a run that lost its connection)
    problems: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reachable and self.image is not None and not self.problems


def _image_commit(client: Any, tag: str) -> str:
    env = client.images.get(tag).attrs.get("Config", {}).get("Env") or []
    return next((e.split("=", 1)[1][:12] for e in env if e.startswith(f"{envvars.GIT_COMMIT}=")), "")


def _detect(client: Any, image: str, board: Board) -> str:
    out = client.containers.run(
        image,
        entrypoint=["python", "-c", DETECT],
        remove=True,
        network_mode="none",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        init=True,
        labels={"org.edgebench.fleet": "status"},
    )
    import json

    return json.loads(out.decode().strip().splitlines()[-1]).get("id", "?")


def check(board: Board, detect: bool = True) -> BoardStatus:
    """One board's status; never raises (every problem becomes a line). Emulated boards are not detected: the
    machine under qemu is the workstation."""
    from launcher.container import resolve_image

    st = BoardStatus(board.name, board.profile, board.engine)
    try:
        client = engine.connect(board)
        st.reachable = True
        st.identity = engine.identity(client)
    except Exception as exc:
        st.problems.append(str(exc))
        return st
    profile = profiles.get(board.profile)
    try:
        st.image = resolve_image(client, profile, st.identity["arch"], board.image, pull=False)
        st.image_commit = _image_commit(client, st.image)
    except Exception as exc:
        st.problems.append(str(exc))
    stopped = client.containers.list(all=True, filters={"label": "org.edgebench.launcher", "status": "exited"})
    st.leftovers = len(stopped)
    if st.image and detect and (not profile.arch or profile.arch == st.identity["arch"]):
        try:
            st.detected = _detect(client, st.image, board)
        except Exception as exc:
            st.problems.append(f"detection run failed: {str(exc).splitlines()[0][:200]}")
    want = profile.boards  # the board ids (bench.boards) the profile's image is for
    if st.detected and want and st.detected not in want:
        st.problems.append(f"profile {board.profile!r} but the board is detected as {st.detected!r}")
    return st


def check_all(boards: List[Board], detect: bool = True) -> List[BoardStatus]:
    with ThreadPoolExecutor(max_workers=min(len(boards), 16)) as pool:
        out = list(pool.map(lambda b: check(b, detect), boards))
    ids: Dict[str, List[str]] = {}
    for st in out:
        if st.identity.get("id"):
            ids.setdefault(st.identity["id"], []).append(st.board)
    for st in out:
        twins = [b for b in ids.get(st.identity.get("id", ""), []) if b != st.board]
        if twins:  # not a problem for edgebench (boards are keyed by name), worth knowing for the lab
            st.identity["shared_id_with"] = twins
    return out


def render(statuses: List[BoardStatus]) -> str:
    """Plain text, one block per board (fits 100 columns)."""
    lines = []
    for st in statuses:
        mark = "ok" if st.ok else "PROBLEM"
        lines.append(f"{st.board} [{st.profile}] {st.engine}: {mark}")
        if st.reachable:
            i = st.identity
            lines.append(f"  engine {i['version']} {i['arch']} kernel {i['kernel']} host {i['host']} id {i['id'][:14]}")
            if i.get("shared_id_with"):
                lines.append(f"  same engine ID as {', '.join(i['shared_id_with'])} (cloned /etc/docker/key.json?)")
        if st.image:
            lines.append(f"  image {st.image}" + (f" (commit {st.image_commit})" if st.image_commit else ""))
        if st.detected:
            lines.append(f"  detected as {st.detected}")
        if st.leftovers:
            lines.append(f"  {st.leftovers} stopped edgebench container(s) left: docker container prune on the board")
        lines += [f"  problem: {p}" for p in st.problems]
    return "\n".join(lines)
