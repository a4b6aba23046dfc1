"""edgebench fleet, for real: two Docker engines on this machine stand in for two boards, one reached over SSH.

* ``ws``: the system engine (local socket).
* ``pi``: a second ``dockerd`` started here (own socket, data root, exec root, pidfile; no bridge, no iptables),
  reached as ``ssh://root@127.0.0.1:PORT`` through a throwaway ``sshd`` (Debian's openssh-server) on a loopback
  port. The sshd runs with its own sshd_config: a throwaway host key, one authorized throwaway client key, no
  passwords, ``PermitRootLogin prohibit-password`` (these tests run as root, as CI does; the key is the only way in),
  no PAM, and ``SetEnv DOCKER_HOST=unix://<second engine>``, so the session's ``docker system dial-stdio`` talks to
  the second engine, as a board's default engine would. The client side is the SDK's paramiko transport with a
  throwaway ``$HOME`` holding ``~/.ssh/config`` (the key) and ``~/.ssh/known_hosts`` (the host key, checked).
* ``empty``: a third ``dockerd`` without any image.

The second engine's data root persists in ``build/fleet-engines/`` so the 3.5 GB host image is loaded once per
machine (``docker save | docker load`` through the SDK, about 2 minutes here), not per run. Both boards run the amd64
host image (the rpi5-under-emulation board is for ``make fleet-demo``). Locally these tests skip without root, dockerd
or sshd; with CI=true they fail instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from bench.errors import InputError
from launcher.fleet import inventory
from tests.docker_helpers import REPO, docker_client, ensure_image, read_jsonl, unavailable

ASSETS = REPO / "bench" / "models" / "assets"
MODEL = ASSETS / "digits_cnn.onnx"
DATA = ASSETS / "digits_test.npz"
HOST_TAG = "edgebench/edgebench-host:0.1.0-amd64"
ENGINES = REPO / "build" / "fleet-engines"
QUICK = ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5", "--min-time-s", "0", "--max-time-s", "30"]
CONFIGS = "onnx,tflite"


# ---- inventory validation (no Docker) -------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "boards.toml"
    path.write_text(text)
    return path


BOARD = '[[boards]]\nname = "pi"\nprofile = "rpi5"\nengine = "ssh://pi@pi.lab"\n'


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "no boards"),
        ("[[boards]]\nprofile = 'rpi5'\nengine = 'local'\n", "board #1: field 'name': is missing"),
        ("[[boards]]\nname = 'pi'\nengine = 'local'\n", "board 'pi': field 'profile': is missing"),
        ("[[boards]]\nname = 'pi'\nprofile = 'rpi6'\nengine = 'local'\n", "board 'pi': field 'profile': unknown"),
        ("[[boards]]\nname = 'pi'\nprofile = 'rpi5'\nengine = 'http://pi'\n", "field 'engine': 'http://pi' is no"),
        ("[[boards]]\nname = 'pi'\nprofile = 'rpi5'\nengine = 'ssh://pi@x/y'\n", "is not ssh://user@host[:port]"),
        ("[[boards]]\nname = 'nx'\nprofile = 'host'\nengine = 'tcp://nx:2376'\n", "board 'nx': field 'tls': a tcp"),
        (BOARD + "tls = {ca = 'a', cert = 'b', key = 'c'}\n", "field 'tls': TLS files are only used with tcp"),
        (BOARD + "timeout_s = -1\n", "board 'pi': field 'timeout_s': -1.0 is not positive"),
        (BOARD + "timeout_s = 'long'\n", "field 'timeout_s': 'long' is not a number"),
        (BOARD + "emulate = true\n", "board 'pi': field 'emulate': emulation needs a local engine"),
        (BOARD + "colour = 'red'\n", "board 'pi': field 'colour': is not a board field"),
        (BOARD + BOARD, "board 'pi': field 'name': used twice"),
        (BOARD + BOARD.replace('"pi"', '"pi2"'), "board 'pi2': field 'engine': same engine as board 'pi'"),
        ("[[boards]]\nname = 'a b'\nprofile = 'host'\nengine = 'local'\n", "field 'name': 'a b' is not a board name"),
        ("boards = [", "not valid TOML"),
        ("[board]\nname = 'x'\n", "unknown top-level key 'board'"),
        # engine addresses are matched whole, not by prefix ("local" is one word, not the start of a host name)
        (BOARD.replace("ssh://pi@pi.lab", "localhost:2375"), "field 'engine': 'localhost:2375' is no engine address"),
        (BOARD.replace("ssh://pi@pi.lab", "local-pi5.lab"), "field 'engine': 'local-pi5.lab' is no engine address"),
        (BOARD.replace("ssh://pi@pi.lab", "local\\n"), "field 'engine': 'local\\n' is no engine address"),
        (
            BOARD.replace("ssh://pi@pi.lab", "unix://var/run/docker.sock"),
            "'unix://var/run/docker.sock' is not unix:///",
        ),
        (BOARD.replace("ssh://pi@pi.lab", "ssh://pi:secret@pi.lab"), "is not ssh://user@host[:port]"),
        (BOARD.replace("ssh://pi@pi.lab", "ssh://pi@pi.lab:99999"), "is not ssh://user@host[:port]"),
        (
            BOARD.replace("ssh://pi@pi.lab", "tcp://nx") + "tls = {ca = 'a', cert = 'b', key = 'c'}\n",
            "is not tcp://host:port",
        ),
        (BOARD.replace("ssh://pi@pi.lab", "context:my lab"), "field 'engine': 'context:my lab' is not context:NAME"),
    ],
)
def test_inventory_errors_name_the_board_and_the_field(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InputError) as err:
        inventory.load(_write(tmp_path, text))
    line = str(err.value)
    assert expected in line and "Fix:" in line and "\n" not in line


def test_every_engine_form_the_docs_name_is_accepted(tmp_path: Path) -> None:
    for engine in ("local", "unix:///run/user/1000/docker.sock", "ssh://pi5-a", "ssh://pi@10.0.0.7:2222",
                   "ssh://root@[::1]:22", "context:pi5-b"):  # fmt: skip
        assert inventory.load(_write(tmp_path, BOARD.replace("ssh://pi@pi.lab", engine))).boards[0].engine == engine


def test_a_wrong_engine_stops_fleet_run_before_anything_is_written(tmp_path: Path) -> None:
    inv = _write(tmp_path, BOARD.replace("ssh://pi@pi.lab", "localhost:2375"))
    results, work = tmp_path / "r.jsonl", tmp_path / "work"
    proc = _fleet("run", str(inv), str(MODEL), str(DATA), "--configs", "onnx", "--results", str(results),
                  "--work", str(work), "--plain")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"edgebench: error: {inv}: board 'pi': field 'engine': 'localhost:2375' is no engine address. Fix: write one "
        "of: local, unix:///path, ssh://user@host[:port], tcp://host:port, context:NAME (e.g. ssh://pi@pi5-a.lab)"
    ]
    assert not results.exists() and not work.exists(), "nothing converted, nothing written"


def test_a_board_that_stops_is_logged_once(tmp_path: Path) -> None:
    """Plain progress (not a terminal): the board's `stopped` line once, not once per logger."""
    # a port nobody listens on: the board is unreachable, no Docker engine is asked
    inv = _write(tmp_path, BOARD.replace("ssh://pi@pi.lab", f"ssh://root@127.0.0.1:{_free_port()}"))
    results = tmp_path / "r.jsonl"
    proc = _fleet("run", str(inv), str(MODEL), str(DATA), "--configs", "onnx", "--rounds", "1", "--results",
                  str(results), "--work", str(tmp_path / "work"), "--plain")  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    stopped = [line for line in proc.stderr.splitlines() if "[pi] stopped:" in line]
    assert len(stopped) == 1 and "unreachable" in stopped[0], proc.stderr
    assert [r["status"] for r in read_jsonl(results)] == ["error"], "the run not made is recorded, for --resume"


def test_example_inventory_is_valid(tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "boards.toml", tmp_path / "boards.toml")
    for name in ("ca", "cert", "key"):  # the example's TLS files are the user's; stand-ins here
        (tmp_path / "certs" / "nano").mkdir(parents=True, exist_ok=True)
        (tmp_path / "certs" / "nano" / f"{name}.pem").write_text("stand-in\n")
    inv = inventory.load(tmp_path / "boards.toml")
    assert [b.name for b in inv.boards] == ["workstation", "pi5-a", "pi5-b", "pi4-coral", "nano"]
    assert {b.engine.split(":")[0] for b in inv.boards} == {"local", "ssh", "context", "tcp"}
    assert inv.boards[-1].timeout_s == 7200 and inv.boards[0].timeout_s == 3600
    assert inv.boards[-1].tls is not None and inv.boards[-1].tls.ca == tmp_path / "certs" / "nano" / "ca.pem"


def test_unknown_config_is_refused_before_anything_runs(tmp_path: Path) -> None:
    inv = _write(tmp_path, "[[boards]]\nname = 'ws'\nprofile = 'host'\nengine = 'unix:///nonexistent.sock'\n")
    proc = _fleet("run", str(inv), str(MODEL), str(DATA), "--configs", "onnx,tflite-int9", "--results",
                  str(tmp_path / "r.jsonl"))  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "unknown config 'tflite-int9'" in proc.stderr and "tflite-int8" in proc.stderr
    assert not (tmp_path / "r.jsonl").exists()


def _plan(tmp_path: Path, **kw: object) -> object:
    from dataclasses import replace

    from launcher.fleet.convert import resolve
    from launcher.fleet.plan import Plan

    base = Plan(
        model=MODEL, data=DATA, model_sha256="m" * 64, model_format="onnx", data_sha256="d" * 64,
        configs=tuple(resolve(["onnx", "tflite", "tflite-fp16"], None)), rounds=3, seed=11, threads=None,
        options=("--min-runs", "5"), results=tmp_path / "fleet.jsonl",
    )  # fmt: skip
    return replace(base, **kw)


def test_plan_order_id_and_what_resume_skips(tmp_path: Path) -> None:
    from bench.records import append_jsonl
    from launcher.fleet.plan import done_units, seed_from_results

    plan = _plan(tmp_path)
    assert plan.order(1) == _plan(tmp_path).order(1), "the shuffle is seeded"
    assert [sorted(c.name for c in plan.order(r)) for r in range(3)] == [["onnx", "tflite", "tflite-fp16"]] * 3
    assert len({tuple(c.name for c in _plan(tmp_path, seed=s).order(0)) for s in range(20)}) > 1
    # rounds and seed are not part of the id (--resume --rounds 5 extends); options and configs are
    assert plan.id == _plan(tmp_path, rounds=5, seed=3).id != _plan(tmp_path, options=("--min-runs", "6")).id
    assert len(plan.units(set())) == 9 and len(plan.units({("onnx", 0), ("tflite", 2)})) == 7
    rec = {
        "status": "ok",
        "fleet": {"board": "pi", "id": plan.id},
        "compare": {"config": "onnx", "round": 1, "seed": 11},
    }
    append_jsonl(plan.results, rec)
    append_jsonl(plan.results, {**rec, "status": "error", "compare": {"config": "tflite", "round": 0}})
    append_jsonl(plan.results, {**rec, "fleet": {"board": "pi", "id": "another-run"}})
    assert done_units(plan.results, plan.id) == {"pi": {("onnx", 1)}}
    assert seed_from_results(_plan(tmp_path, seed=99)).seed == 11


def test_summary_names_the_boards_that_completed(tmp_path: Path) -> None:
    from launcher.fleet.boards import BoardResult
    from launcher.fleet.summary import render

    text = render(
        _plan(tmp_path),
        [BoardResult("ws", planned=9, ok=9), BoardResult("pi", planned=9, ok=2, failed=1, error="board lost: x")],
    )
    assert re.search(r"ws +complete +9/9 ok", text) and re.search(r"pi +INCOMPLETE +2/9 ok, 1 failed", text)
    assert "board lost: x" in text
    assert "completed: ws\n" in text and "not completed: pi; finish them with the same command and --resume" in text


# ---- real engines -------------------------------------------------------------------------------------------------


def _fleet(*args: str, env: Dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`edgebench fleet ARGS` the way a user runs it (the console script's module, from the repository)."""
    return subprocess.run(
        [sys.executable, "-m", "launcher.console", "fleet", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _prerequisites() -> None:
    if os.geteuid() != 0:
        unavailable("the fleet tests start dockerd and sshd and need root")
    for tool in ("dockerd", "ssh-keygen"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    if not Path("/usr/sbin/sshd").exists():
        unavailable("openssh-server is not installed (apt-get install openssh-server)")
    try:
        import paramiko  # noqa: F401
    except ImportError:
        unavailable("paramiko is not installed (requirements/dev.txt)")


@pytest.fixture(scope="module")
def host_image() -> str:
    _prerequisites()
    docker_client()
    return ensure_image("host", "linux/amd64")


def _cert(name: str, issuer: object, key: object, public: object, *, ca: bool, usage: object, san: object = None):
    """An X.509 certificate (cryptography, installed with paramiko) valid for a day."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(key, hashes.SHA256())


def make_tls(folder: Path) -> Dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and localhost and a client certificate, as PEM files (like
    docs.docker.com's "Protect the Docker daemon socket" recipe does with openssl)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    folder.mkdir(parents=True, exist_ok=True)
    files: Dict[str, Path] = {}

    def save(name: str, data: bytes) -> None:
        files[name] = folder / f"{name}.pem"
        files[name].write_bytes(data)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("edgebench test CA", None, ca_key, ca_key.public_key(), ca=True, usage=None)
    save("ca", ca.public_bytes(serialization.Encoding.PEM))
    for role, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH), ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        key = ec.generate_private_key(ec.SECP256R1())
        san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        san = san if role == "server" else None
        cert = _cert(role, ca.subject, ca_key, key.public_key(), ca=False, usage=usage, san=san)
        save(f"{role}-cert", cert.public_bytes(serialization.Encoding.PEM))
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        save(f"{role}-key", pem)
    return files


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def second_engine(host_image: str, tls_files: Dict[str, Path]) -> Iterator[object]:
    from launcher.fleet.localengine import LocalEngine

    port = _free_port()
    tls = [
        "--host", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", str(tls_files["ca"]),
        "--tlscert", str(tls_files["server-cert"]), "--tlskey", str(tls_files["server-key"]),
    ]  # fmt: skip
    engine = LocalEngine("second", ENGINES / "second").start(tls)
    engine.tcp_url = f"tcp://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        engine.load_from(docker_client(), host_image)
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def empty_engine(host_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from launcher.fleet.localengine import LocalEngine

    engine = LocalEngine("empty", tmp_path_factory.mktemp("empty-engine") / "data").start()
    try:
        yield engine
    finally:
        engine.stop()


class Sshd:
    """A throwaway sshd on a loopback port whose sessions use the second engine as their default engine."""

    def __init__(self, root: Path, docker_host: str) -> None:
        self.root = root
        self.port = _free_port()
        self.home = root / "home"  # the client's $HOME: ~/.ssh/config and ~/.ssh/known_hosts
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True)
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / key)], check=True)
        (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
        host_pub = (root / "host_key.pub").read_text().split()
        (ssh / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        (ssh / "config").write_text(f"Host 127.0.0.1\n  IdentityFile {root / 'client_key'}\n")
        (root / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\nPidFile {root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {root / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            f"SetEnv DOCKER_HOST={docker_host}\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    @property
    def env(self) -> Dict[str, str]:
        return {"HOME": str(self.home)}

    def start(self) -> Sshd:
        cmd = ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.root / "sshd_config")]
        self.proc = subprocess.Popen(cmd, stderr=open(self.root / "sshd.log", "ab"), start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"sshd did not start: {(self.root / 'sshd.log').read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the server and every session it serves, as `systemctl stop ssh` does: SIGTERM to all, SIGKILL to
        what is left after 5 s. (SIGKILL first left root's shell start-up, pyenv's rehash here, holding its lock
        file, and every later SSH session as root waited on it.)"""
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return
        parent = psutil.Process(self.proc.pid)
        procs = [*parent.children(recursive=True), parent]
        for p in procs:
            try:
                p.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            p.kill()
        self.proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(second_engine: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    server = Sshd(tmp_path_factory.mktemp("sshd"), second_engine.url).start()  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One conversion cache for the module: the ONNX -> TFLite conversion runs once (about a minute here)."""
    return tmp_path_factory.mktemp("convert-cache")


def _inventory(tmp_path: Path, boards: List[Dict[str, object]]) -> Path:
    lines = []
    for b in boards:
        lines.append("[[boards]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in b.items()]
    return _write(tmp_path, "\n".join(lines) + "\n")


def _run(
    inv: Path, results: Path, cache: Path, sshd: Sshd, *extra: str, rounds: int = 2, configs: str = CONFIGS
) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "launcher.console", "fleet", "run", str(inv), str(MODEL), str(DATA), "--configs", configs,
        "--rounds", str(rounds), "--seed", "7", "--results", str(results), "--work", str(results.parent / "work"),
        "--cache-dir", str(cache), *extra, "--", *QUICK,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **sshd.env}
    )


def _finish(proc: subprocess.Popen, timeout: float = 600) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _ok_units(records: List[dict], board: str) -> List[tuple]:
    return sorted(
        (r["compare"]["config"], r["compare"]["round"])
        for r in records
        if r["fleet"]["board"] == board and r["status"] == "ok"
    )


ALL_UNITS = sorted((c, r) for c in CONFIGS.split(",") for r in range(2))


@pytest.mark.docker
def test_two_engines_one_over_ssh(sshd: Sshd, cache_dir: Path, tmp_path: Path) -> None:
    """The same compare on the system engine and, over a real SSH connection, on the second engine."""
    inv = _inventory(
        tmp_path,
        [{"name": "ws", "profile": "host", "engine": "local"}, {"name": "pi", "profile": "host", "engine": sshd.url}],
    )
    status = _fleet("status", str(inv), env=sshd.env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "ws [host] local: ok" in status.stdout and f"pi [host] {sshd.url}: ok" in status.stdout
    assert status.stdout.count(f"image {HOST_TAG.rsplit('-', 1)[0]}") == 2 and "detected as generic" in status.stdout

    results = tmp_path / "fleet.jsonl"
    results.write_text('{"earlier": "line"}\n')
    proc = _finish(_run(inv, results, cache_dir, sshd))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "completed: ws, pi" in proc.stdout
    earlier, *records = read_jsonl(results)
    assert earlier == {"earlier": "line"}
    assert len(records) == 8 and all(r["status"] == "ok" for r in records)
    for board in ("ws", "pi"):
        assert _ok_units(records, board) == ALL_UNITS
    ids = {r["compare"]["id"] for r in records} | {r["fleet"]["id"] for r in records}
    assert len(ids) == 1, "one fleet run, one id"
    pi = next(r for r in records if r["fleet"]["board"] == "pi")
    assert pi["fleet"]["profile"] == "host" and pi["fleet"]["engine"]["arch"] == "amd64"
    assert set(pi["fleet"]["engine"]) == {"id", "arch", "kernel", "version", "host"}
    assert pi["machine"]["in_container"] is True and pi["machine"]["image"].startswith("edgebench/edgebench-host")
    # conversions happened once, on the workstation: both boards ran the very same TFLite file
    tfl = {r["model"]["sha256"] for r in records if r["framework"] == "tflite"}
    assert len(tfl) == 1 and all(r["model"]["format"] == "tflite" for r in records if r["framework"] == "tflite")
    # the shuffled order of a round is the same on both boards, recorded with its seed
    order = {(r["fleet"]["board"], r["compare"]["round"], r["compare"]["position"]): r["compare"]["config"]
             for r in records}  # fmt: skip
    assert all(order[("ws", k[1], k[2])] == v for k, v in order.items() if k[0] == "pi")
    assert {r["compare"]["seed"] for r in records} == {7}


@pytest.mark.docker
def test_faults_then_resume(
    sshd: Sshd, empty_engine: object, second_engine: object, cache_dir: Path, tmp_path: Path
) -> None:
    """sshd stopped mid-run and an engine without the image: recorded, the other board finishes; --resume completes."""
    inv = _inventory(
        tmp_path,
        [
            {"name": "ws", "profile": "host", "engine": "local"},
            {"name": "pi", "profile": "host", "engine": sshd.url},
            {"name": "empty", "profile": "host", "engine": empty_engine.url},  # type: ignore[attr-defined]
        ],
    )
    results = tmp_path / "fleet.jsonl"
    proc = _run(inv, results, cache_dir, sshd)
    try:
        deadline = time.monotonic() + 300
        while not any(r["fleet"]["board"] == "pi" and r["status"] == "ok" for r in read_jsonl(results)):
            assert proc.poll() is None and time.monotonic() < deadline, "no pi record before the deadline"
            time.sleep(0.2)
        sshd.stop()  # the board's SSH server goes away in the middle of the run
        first = _finish(proc)
    finally:
        proc.kill()
        sshd.start()
    assert first.returncode == 1, first.stderr[-4000:]
    assert "completed: ws" in first.stdout and "not completed: pi, empty" in first.stdout
    records = read_jsonl(results)
    assert _ok_units(records, "ws") == ALL_UNITS, "the other board's results are intact"
    pi_ok = _ok_units(records, "pi")
    assert 1 <= len(pi_ok) < 4
    pi_errors = [r for r in records if r["fleet"]["board"] == "pi" and r["status"] == "error"]
    assert pi_errors and len(pi_ok) + len(pi_errors) == 4
    empty = [r for r in records if r["fleet"]["board"] == "empty"]
    assert len(empty) == 4 and all(r["status"] == "error" and "no image for device 'host'" in r["error"] for r in empty)
    assert all("make images TARGET=host" in r["error"] for r in empty)

    before = results.read_bytes()
    second = _finish(_run(inv, results, cache_dir, sshd, "--resume", "--boards", "ws,pi"))
    assert second.returncode == 0, second.stderr[-4000:]
    assert "completed: ws, pi" in second.stdout
    assert results.read_bytes().startswith(before), "earlier records are never rewritten"
    records = read_jsonl(results)
    for board in ("ws", "pi"):
        assert _ok_units(records, board) == ALL_UNITS, f"{board}: each (config, round) exactly once ok"
    new = records[len(read_jsonl_bytes(before)) :]
    assert {r["fleet"]["board"] for r in new} == {"pi"}, "--resume ran only what was missing"
    assert len({r["compare"]["id"] for r in records}) == 1


def read_jsonl_bytes(data: bytes) -> List[dict]:
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


@pytest.mark.docker
def test_board_that_times_out(sshd: Sshd, empty_engine: object, cache_dir: Path, tmp_path: Path) -> None:
    """A board whose run exceeds its timeout (the container is killed), a board nobody answers for and a board whose
    engine is not of its profile's architecture: all recorded, the other board is fine."""
    inv = _inventory(
        tmp_path,
        [
            # 0.05 s: less than the container's Python start-up, so the run can never finish in time (with 1 s, a
            # warm onnx run on an idle machine did)
            {"name": "slow", "profile": "host", "engine": "local", "timeout_s": 0.05},
            {"name": "pi", "profile": "host", "engine": sshd.url},
            {"name": "gone", "profile": "rpi5", "engine": f"ssh://root@127.0.0.1:{_free_port()}"},  # nobody there
            {"name": "x86-as-pi", "profile": "rpi5", "engine": empty_engine.url},  # type: ignore[attr-defined]
        ],
    )
    results = tmp_path / "fleet.jsonl"
    proc = _finish(_run(inv, results, cache_dir, sshd, rounds=1))
    assert proc.returncode == 1, proc.stderr[-4000:]
    assert "completed: pi" in proc.stdout and "not completed: slow, gone, x86-as-pi" in proc.stdout
    gone = [r for r in read_jsonl(results) if r["fleet"]["board"] == "gone"]
    assert len(gone) == 2 and all("unreachable" in r["error"] and "Fix:" in r["error"] for r in gone)
    wrong = [r for r in read_jsonl(results) if r["fleet"]["board"] == "x86-as-pi"]
    assert len(wrong) == 2 and all("runs linux/arm64 images, but the engine" in r["error"] for r in wrong)
    records = read_jsonl(results)
    slow = [r for r in records if r["fleet"]["board"] == "slow"]
    assert len(slow) == 2 and all(r["status"] == "error" and "timed out after 0.05 s" in r["error"] for r in slow)
    assert _ok_units(records, "pi") == [("onnx", 0), ("tflite", 0)]
    left = docker_client().containers.list(all=True, filters={"label": "org.edgebench.launcher", "status": "exited"})
    assert not left, "the killed container is removed"


@pytest.mark.docker
def test_tls_and_context_engines(second_engine: object, sshd: Sshd, tls_files: Dict[str, Path], tmp_path: Path) -> None:
    """tcp:// with TLS client files (a wrong CA is refused) and a Docker context name reach the second engine."""
    other = make_tls(tmp_path / "other-ca")  # a CA the engine does not know
    docker_dir = sshd.home / ".docker"  # a context as `docker context create second-ctx --docker host=...` writes it
    meta = docker_dir / "contexts" / "meta" / hashlib.sha256(b"second-ctx").hexdigest()
    meta.mkdir(parents=True, exist_ok=True)
    (docker_dir / "config.json").write_text("{}\n")  # docker-py finds contexts beside config.json
    endpoint = {"Host": second_engine.url, "SkipTLSVerify": False}  # type: ignore[attr-defined]
    (meta / "meta.json").write_text(
        json.dumps({"Name": "second-ctx", "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )
    tcp = second_engine.tcp_url  # type: ignore[attr-defined]
    f, o = tls_files, other
    inv = _write(
        tmp_path,
        f'[[boards]]\nname = "nx"\nprofile = "host"\nengine = "{tcp}"\n'
        f'tls = {{ca = "{f["ca"]}", cert = "{f["client-cert"]}", key = "{f["client-key"]}"}}\n'
        f'[[boards]]\nname = "nx-wrong-ca"\nprofile = "host"\nengine = "{tcp.replace("127.0.0.1", "localhost")}"\n'
        f'tls = {{ca = "{o["ca"]}", cert = "{o["client-cert"]}", key = "{o["client-key"]}"}}\n'
        '[[boards]]\nname = "ctx"\nprofile = "host"\nengine = "context:second-ctx"\n',
    )
    proc = _fleet("status", str(inv), "--no-detect", env=sshd.env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"nx [host] {tcp}: ok" in proc.stdout, proc.stdout
    assert "ctx [host] context:second-ctx: ok" in proc.stdout, proc.stdout
    wrong = proc.stdout.split("nx-wrong-ca", 1)[1].split("\nctx ", 1)[0]
    assert "PROBLEM" in wrong and "board 'nx-wrong-ca': no Docker engine at tcp://localhost" in wrong
    assert proc.stdout.count("image edgebench/edgebench-host") == 2


@pytest.mark.docker
def test_failing_configs_are_recorded(sshd: Sshd, cache_dir: Path, tmp_path: Path) -> None:
    """A config the workstation cannot convert for (PyTorch from ONNX) and one the board's image cannot run (the
    ARM NN delegate is not in the host image): each recorded with its own error, the board goes on."""
    inv = _inventory(tmp_path, [{"name": "ws", "profile": "host", "engine": "local"}])
    results = tmp_path / "fleet.jsonl"
    proc = _finish(_run(inv, results, cache_dir, sshd, rounds=1, configs="onnx,pytorch,tflite-armnn"))
    assert proc.returncode == 1, proc.stderr[-4000:]
    by_config = {r["compare"]["config"]: r for r in read_jsonl(results)}
    assert by_config["onnx"]["status"] == "ok"
    assert (
        by_config["pytorch"]["status"] == "error" and "conversion for pytorch failed" in by_config["pytorch"]["error"]
    )
    armnn = by_config["tflite-armnn"]
    assert armnn["status"] == "error" and armnn["fleet"]["board"] == "ws" and "armnn" in armnn["error"].lower()
