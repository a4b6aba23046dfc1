"""Running converter tools: subprocesses with argument lists, a timeout, a clean PATH, and the tool's
own last output lines kept on failure. Standard library only."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from bench.convert.options import TIMEOUT_S
from bench.errors import ConversionError

log = logging.getLogger(__name__)

TAIL_LINES = 12
#: an address nothing listens on: any download attempt by a converter fails fast instead of fetching
_DEAD_PROXY = "http://127.0.0.1:9"


#: versions that enter conversion cache keys but are no Python distribution: name -> "module:function" returning the
#: version or "not-installed" (the Edge TPU compiler is a Debian package; a TensorRT engine is valid for one GPU only)
NON_PYTHON_VERSIONS = {
    "edgetpu_compiler": "bench.convert.edgetpu_edge:installed_compiler_version",
    "cuda-gpu": "bench.runtimes.tensorrt:gpu_or_absent",
}


def package_version(name: str) -> str:
    """Installed version of a distribution, or "not-installed"; no import of the package itself."""
    from importlib import metadata

    if name in NON_PYTHON_VERSIONS:
        import importlib

        module, func = NON_PYTHON_VERSIONS[name].split(":")
        return str(getattr(importlib.import_module(module), func)())
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not-installed"


def versions(names: Iterable[str]) -> Dict[str, str]:
    return {n: package_version(n) for n in names}


def venv_bin() -> Path:
    """The folder of the running interpreter (the venv's bin), not resolved through symlinks."""
    return Path(sys.executable).parent


def tool_env(offline: bool = True) -> Dict[str, str]:
    """Environment for converter subprocesses: the venv's bin first on PATH (onnx2tf runs onnxsim from
    PATH), quiet TensorFlow logs, and, when ``offline``, every HTTP(S) request routed to a dead proxy so a
    converter can never download anything behind the user's back."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(venv_bin())] + [p for p in env.get("PATH", "").split(os.pathsep) if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2])] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    if offline:
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            env[k] = _DEAD_PROXY
        env.pop("NO_PROXY", None)
        env.pop("no_proxy", None)
    return env


def tail(text: str, n: int = TAIL_LINES) -> str:
    """The last ``n`` non-empty lines of ``text``, joined with " | " so an error stays one line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # TensorFlow's start-up chatter says nothing about the failure
    lines = [ln for ln in lines if not ln.startswith(("I0000", "WARNING: All log messages", "E0000"))]
    return " | ".join(lines[-n:])


def run(
    argv: Sequence[str],
    *,
    tool: str,
    cwd: Path,
    log_file: Path,
    timeout_s: Optional[float] = None,
    expect: Sequence[Path] = (),
    env: Optional[Dict[str, str]] = None,
) -> float:
    """Run ``argv`` (never through a shell) in ``cwd``; stdout+stderr go to ``log_file``.

    Returns the wall time in seconds. Raises ConversionError keeping the tool's last lines when it exits
    non-zero, times out, or leaves an expected output missing.
    """
    argv = [str(a) for a in argv]
    timeout_s = timeout_s or TIMEOUT_S
    log.debug("running %s", " ".join(argv))
    t0 = time.perf_counter()
    with open(log_file, "wb") as out:
        try:
            proc = subprocess.run(  # noqa: S603 - argument list, no shell
                argv,
                cwd=str(cwd),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env if env is not None else tool_env(),
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ConversionError(
                f"{tool} did not finish within {timeout_s:.0f} s; last output: {tail(_read(log_file))}",
                "raise the timeout or convert a smaller model",
            ) from exc
        except OSError as exc:
            raise ConversionError(f"{tool} could not be started: {exc}", f"install {tool} (see requirements/)") from exc
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise ConversionError(
            f"{tool} failed with exit code {proc.returncode}; last output: {tail(_read(log_file))}",
            f"see the full log {log_file}; the model may use an operator {tool} does not support",
        )
    missing = [p for p in expect if not Path(p).exists()]
    if missing:
        raise ConversionError(
            f"{tool} exited 0 but wrote no {', '.join(p.name for p in missing)}; last output: {tail(_read(log_file))}",
            f"see the full log {log_file}",
        )
    return seconds


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def python_module(module: str, args: List[str]) -> List[str]:
    """argv running ``python -m module args`` with the current interpreter."""
    return [sys.executable, "-m", module] + list(args)
