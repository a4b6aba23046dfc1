"""One board's Docker engine: a client for its address and the engine's identity for the records.

SSH goes through the Docker SDK's paramiko transport (``docker[ssh]``, paramiko pinned in requirements/dev.txt) rather
than ``use_ssh_client=True``: paramiko reads ``~/.ssh/config`` and ``~/.ssh/known_hosts`` from ``$HOME`` (the ssh
binary ignores ``$HOME``), refuses unknown host keys (RejectPolicy), and needs no ssh binary on the workstation.
Either way the board runs ``docker system dial-stdio``, so its Docker CLI must be installed and its default engine
(``DOCKER_HOST`` of the SSH session, else ``/var/run/docker.sock``) is the one used.
"""

from __future__ import annotations

import logging
import socket
import urllib.parse
from typing import Any, Dict

from launcher.errors import LauncherError
from launcher.fleet.inventory import LOCAL_SOCKET, Board

log = logging.getLogger(__name__)

#: seconds to open the TCP connection to an ssh:// or tcp:// board before calling it unreachable
CONNECT_TIMEOUT_S = 10.0
#: API version spoken to tcp:// boards: given, because asking the engine happens before trust_env can be switched
#: off; 1.40 (Docker 19.03) has every call the launcher makes, and newer engines accept it
TLS_API_VERSION = "1.40"
#: seconds one Docker API call may take (image checks, archive copies of a few MB over a slow link)
API_TIMEOUT_S = 300


def _reachable(board: Board) -> None:
    """Fail fast on a host that does not answer: paramiko's connect has no timeout of its own."""
    url = urllib.parse.urlparse(board.engine)
    port = url.port or (22 if url.scheme == "ssh" else 2376)
    try:
        socket.create_connection((url.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise LauncherError(
            f"board {board.name!r}: {url.hostname}:{port} unreachable ({exc})",
            "is the board on and its SSH server or engine listening? (`edgebench fleet status`)",
        ) from exc


def connect(board: Board) -> Any:
    """A pinged DockerClient for the board's engine, or a LauncherError naming the board."""
    try:
        import docker
    except ImportError as exc:
        raise LauncherError("the Docker SDK for Python is not installed", "pip install 'docker[ssh]==7.2.0'") from exc
    kw: Dict[str, Any] = {"timeout": API_TIMEOUT_S}
    engine = board.engine
    if engine.startswith(("ssh://", "tcp://")):
        _reachable(board)
    try:
        if engine == "local":
            client = docker.DockerClient(base_url=LOCAL_SOCKET, **kw)
        elif engine.startswith("context:"):
            ctx = docker.ContextAPI.get_context(engine[len("context:") :])
            if ctx is None:
                raise LauncherError(
                    f"board {board.name!r}: no Docker context {engine[8:]!r}", "see `docker context ls`"
                )
            client = docker.DockerClient(base_url=ctx.Host, tls=ctx.TLSConfig or False, **kw)
        elif engine.startswith("tcp://"):
            tls = docker.tls.TLSConfig(
                client_cert=(str(board.tls.cert), str(board.tls.key)), ca_cert=str(board.tls.ca), verify=True
            )
            client = docker.DockerClient(base_url=engine, tls=tls, version=TLS_API_VERSION, **kw)
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's own CA (psf/requests#3829): on a
            # workstation that sets them (corporate proxy) the board would be checked against the wrong CA and
            # refused. Seen here. The board's CA file is the one to trust; proxies from the environment are not used.
            client.api.trust_env = False
        else:  # unix:// and ssh:// (paramiko)
            client = docker.DockerClient(base_url=engine, use_ssh_client=False, **kw)
        client.ping()
    except LauncherError:
        raise
    except Exception as exc:  # DockerException, paramiko's SSHException, requests errors, OSError...
        first = (str(exc).splitlines() or [""])[0][:200]
        raise LauncherError(
            f"board {board.name!r}: no Docker engine at {engine} ({type(exc).__name__}: {first})",
            "check the engine address, the SSH key in ~/.ssh/config and the host key in ~/.ssh/known_hosts",
        ) from exc
    return client


def identity(client: Any) -> Dict[str, Any]:
    """What tells two engines apart in a record: ID, architecture, kernel, engine version, host name.

    Engine 20.10 derives its ID from /etc/docker/key.json: boards cloned from one SD card image (and two engines on
    one host) share it, so reports key boards by their inventory name, and `fleet status` warns about duplicates.
    """
    info = client.info()
    return {
        "id": info.get("ID", ""),
        "arch": client.version().get("Arch", ""),  # Docker's platform name (amd64, arm64), as images have it
        "kernel": info.get("KernelVersion", ""),
        "version": info.get("ServerVersion", ""),
        "host": info.get("Name", ""),
    }


def is_local(client: Any) -> bool:
    """The client talks to an engine on this machine (a unix socket)."""
    return getattr(getattr(client, "api", None), "base_url", "") == "http+docker://localhost"
