"""A second Docker engine on this machine, standing in for a board: for `make fleet-demo` and tests/test_fleet.py.

``dockerd`` with its own socket, data root, exec root and pidfile, no bridge and no iptables (containers run with
``network_mode=none`` anyway), its own managed containerd under the exec root. Needs root, like any dockerd. The data
root may persist between runs (``build/fleet-engines/<name>``) so a 3.5 GB image is loaded once, not every time.
Images come from the system engine through ``docker save | docker load`` (the SDK, streamed): the way a lab without a
registry gets an image onto a board. Engine 20.10 reads its engine ID from /etc/docker/key.json, so this engine
reports the same ID as the system one, exactly like boards cloned from one SD card image.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0


class LocalEngine:
    def __init__(self, name: str, data_root: Path) -> None:
        self.name = name
        self.data_root = Path(data_root)
        # short path: unix socket paths are limited to 108 bytes, containerd nests its own under the exec root
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"ebf-{name}-", dir="/tmp"))
        self.socket = self.run_dir / "docker.sock"
        self.proc: Optional[subprocess.Popen] = None
        self._lock: Optional[Any] = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, extra_args: Sequence[str] = ()) -> LocalEngine:
        """Start the daemon; ``extra_args`` e.g. a TLS ``--host tcp://...`` with ``--tlsverify`` and its files."""
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not installed (apt-get install docker.io)")
        self.data_root.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        cmd = [
            dockerd, "--host", self.url, "--data-root", str(self.data_root), "--exec-root", str(self.run_dir / "exec"),
            "--pidfile", str(self.run_dir / "docker.pid"), "--iptables=false", "--ip-masq=false", "--bridge=none",
            "--config-file", str(self._config()), *extra_args,
        ]  # fmt: skip
        log.info("starting %s", " ".join(cmd))
        logf = open(self.run_dir / "dockerd.log", "wb")  # noqa: SIM115 - kept open for the daemon's lifetime
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd {self.name} exited: {self.log_tail()}")
            try:
                self.client().ping()
                return self
            except Exception:
                time.sleep(0.5)
        raise RuntimeError(f"dockerd {self.name} did not answer in {START_TIMEOUT_S:.0f} s: {self.log_tail()}")

    def _take_lock(self) -> None:
        """One daemon per data root: a second one (a demo while the tests run) waits for the first to stop."""
        self._lock = open(self.data_root.with_name(self.data_root.name + ".lock"), "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for the other engine using %s to stop", self.data_root)
            fcntl.flock(self._lock, fcntl.LOCK_EX)

    def _config(self) -> Path:
        path = self.run_dir / "daemon.json"
        path.write_text("{}\n")  # not /etc/docker/daemon.json: nothing of the system engine's settings
        return path

    def log_tail(self, n: int = 3000) -> str:
        p = self.run_dir / "dockerd.log"
        return p.read_text(errors="replace")[-n:] if p.exists() else ""

    def client(self) -> Any:
        import docker

        return docker.DockerClient(base_url=self.url, timeout=600)

    def load_from(self, source: Any, tag: str) -> str:
        """Copy ``tag`` (and its other tags) from the ``source`` engine unless this engine has the same image ID."""
        import docker

        image = source.images.get(tag)
        target = self.client()
        try:
            if target.images.get(image.id).id == image.id:
                self._tag_all(target, image)
                return image.id
        except docker.errors.ImageNotFound:
            pass
        start = time.monotonic()
        target.images.load(image.save(named=tag, chunk_size=4 << 20))
        self._tag_all(target, image)
        log.info("loaded %s into %s in %.0f s", tag, self.name, time.monotonic() - start)
        return image.id

    @staticmethod
    def _tag_all(target: Any, image: Any) -> None:
        loaded = target.images.get(image.id)
        for t in image.tags:
            if t not in loaded.tags:
                repo, _, ref = t.rpartition(":")
                loaded.tag(repo, ref)

    def stop(self) -> None:
        """Remove this engine's containers, stop the daemon (and its containerd), remove the run folder."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                for c in self.client().containers.list(all=True):
                    c.remove(force=True)
            except Exception as exc:
                log.warning("cleaning containers of %s: %s", self.name, exc)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None
