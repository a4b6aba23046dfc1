"""`python -m bench selfcheck`: what runtimes and delegates work here. Images end their build with it."""

from __future__ import annotations

import logging
import platform
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bench import __version__
from bench.errors import BenchError, FrameworkUnavailable
from bench.runtimes import probes

log = logging.getLogger(__name__)


#: converter tools of the host image (no runtime runs them); each runtime's and delegate's check is its own
TOOL_CHECKS: Dict[str, Callable[[], Dict[str, str]]] = {
    "tensorflow": probes.import_version("tensorflow"),
    "onnx2tf": probes.import_version("onnx2tf"),
}


def checks() -> Dict[str, Callable[[], Dict[str, str]]]:
    """name -> probe (a probe returns versions or raises): every runtime's (and its extra ones), every delegate's, the
    tools'."""
    from bench import runtimes

    return {**{name: probe for name, (probe, _) in runtimes.checks().items()}, **TOOL_CHECKS}


def __getattr__(attr: str) -> Any:
    if attr == "CHECKS":  # read lazily: the runtimes are found at first use, not at import
        return checks()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def check_all() -> Dict[str, Dict[str, str]]:
    results: Dict[str, Dict[str, str]] = {}
    for name, probe in checks().items():
        try:
            results[name] = {"ok": "yes", **probe()}
        except (BenchError, ImportError, OSError, AttributeError, RuntimeError) as exc:
            results[name] = {"ok": "no", "why": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
    return results


def main(required: List[str], model: Optional[Path] = None) -> int:
    known = checks()
    unknown = [r for r in required if r not in known]
    if unknown:
        print(
            f"edgebench: error: unknown selfcheck names {unknown}. Fix: use names from {sorted(known)}",
            file=sys.stderr,
        )
        return 2
    results = check_all()
    print(f"edgebench {__version__} on {platform.machine()} Python {platform.python_version()}")
    for name, res in results.items():
        mark = "ok " if res["ok"] == "yes" else "-- "
        detail = ", ".join(f"{k} {v}" for k, v in res.items() if k not in ("ok",))
        print(f"  {mark}{name:<11} {detail}{'   (REQUIRED)' if name in required else ''}")
    missing = [r for r in required if results[r]["ok"] != "yes"]
    if missing:
        print(
            f"edgebench: error: required runtimes missing: {', '.join(missing)}. Fix: install them in this image",
            file=sys.stderr,
        )
        return FrameworkUnavailable.exit_code
    if model is not None:
        from bench.runtimes import checks as runtime_checks
        from bench.runtimes import create
        from bench.runtimes.base import RuntimeOptions

        runtime_of = {check: name for check, (_, name) in runtime_checks().items() if name}
        for check in required:
            name = runtime_of.get(check)
            if name is None:  # a delegate or a tool: nothing to run the model on
                continue
            with create(name) as rt:
                rt.load(model, RuntimeOptions())
                print(f"  ran {model.name} on {name}: input {list(rt.input.shape)} {rt.input.dtype}")
    return 0
