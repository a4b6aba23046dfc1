"""`make bench`: turn Make's exported variables into an argument list and run it. No shell strings.

DEVICE, MODEL, DATA, FRAMEWORK, ARGS, EMULATE come from the environment (the Makefile exports them). ARGS is split
with shlex.split, never given to a shell.

* DEVICE and MODEL empty: the built-in default natively: ``python -m bench demo``.
* MODEL without DEVICE: natively: ``python -m bench run MODEL DATA --framework FRAMEWORK ARGS...``.
* DEVICE set (``auto``, ``rpi5``, ...): in that device's container through the launcher (MODEL empty: the demo);
  EMULATE=1 runs a foreign-architecture image under qemu on purpose.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from typing import List, Mapping, Optional

log = logging.getLogger(__name__)

NATIVE_TIMEOUT_S = float(os.environ.get("BENCH_TIMEOUT_S", "14400"))


def build_argv(env: Mapping[str, str], python: str = sys.executable) -> List[str]:
    """The command `make bench` runs for these variables."""
    get = lambda k: env.get(k, "").strip()  # noqa: E731
    device, model, data, framework = get("DEVICE"), get("MODEL"), get("DATA"), get("FRAMEWORK")
    args = shlex.split(env.get("ARGS", ""))
    if device:
        argv = [python, "-m", "launcher", "bench", "--device", device]
        if get("EMULATE") in ("1", "yes", "true"):
            argv.append("--emulate")
        if model:
            argv += [model, data]
            if framework:
                argv += ["--framework", framework]
        return argv + (["--", *args] if args else [])
    if not model:
        return [python, "-m", "bench", "demo", *args]
    argv = [python, "-m", "bench", "run", model, data]
    if framework:
        argv += ["--framework", framework]
    return argv + args


def check(env: Mapping[str, str]) -> Optional[str]:
    """A usage problem with the variables, as an error line, or None."""
    if env.get("MODEL", "").strip():
        missing = [k for k in ("DATA", "FRAMEWORK") if not env.get(k, "").strip()]
        if missing:
            return (
                f"edgebench: error: MODEL= needs {' and '.join(m + '=' for m in missing)} too. "
                "Fix: make bench MODEL=model.onnx DATA=data.npz FRAMEWORK=onnx"
            )
    return None


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="make bench: %(message)s", stream=sys.stderr)
    problem = check(os.environ)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    argv = build_argv(os.environ)
    log.info("%s", shlex.join(argv))
    try:
        return subprocess.run(argv, timeout=NATIVE_TIMEOUT_S).returncode
    except KeyboardInterrupt:
        return 130
    except subprocess.TimeoutExpired:
        print(
            f"edgebench: error: no result after {NATIVE_TIMEOUT_S:.0f} s. Fix: raise BENCH_TIMEOUT_S", file=sys.stderr
        )
        return 124


if __name__ == "__main__":
    sys.exit(main())
