"""The registry of runtimes: every ``Runtime`` subclass with a ``name`` in a module of this package, found at first
use (its module imports no framework at import time: heavy imports live inside its methods). Every other module asks
here for a runtime's facts (the class attributes documented in :class:`bench.runtimes.base.Runtime`), never keeps its
own table keyed by runtime names.

Adding a runtime is its module here, its presets' lines (bench/compare/presets.py) and its image lines.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Dict, List, Optional, Tuple

from bench.errors import FrameworkUnavailable, InputError
from bench.runtimes.base import Delegate, Runtime

__all__ = ["RUNTIMES", "create", "runtime_class", "find", "classes"]  # noqa: F822  (RUNTIMES: module __getattr__)


_FOUND: List[Tuple[type, ...]] = []  # filled at first use (a list: no functools.cache on the Nano's Python 3.8)


def _discover() -> Tuple[type, ...]:
    if not _FOUND:
        _FOUND.append(_import_all())
    return _FOUND[0]


def _import_all() -> Tuple[type, ...]:
    found: Dict[str, type] = {}
    for info in pkgutil.iter_modules(__path__):
        module_name = f"{__name__}.{info.name}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # a runtime module imports its framework lazily; this is a bug guard
            raise FrameworkUnavailable(
                f"runtime module {module_name} could not be imported: {exc}", "see `python -m bench selfcheck`"
            ) from exc
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Runtime) and value.__module__ == module_name:
                if value.name:
                    found[value.name] = value
    return tuple(found[name] for name in sorted(found))


def classes() -> Tuple[type, ...]:
    """Every runtime class, by name."""
    return _discover()


def find(name: str) -> Optional[type]:
    """The runtime class named ``name``, or None (a record of an unknown or newer framework)."""
    return next((cls for cls in _discover() if cls.name == name), None)


def names() -> Tuple[str, ...]:
    return tuple(cls.name for cls in _discover())


def runtime_class(name: str) -> type:
    """The Runtime class registered as ``name`` (its framework is imported only when it is used)."""
    cls = find(name)
    if cls is None:
        raise InputError(f"unknown framework {name!r}", f"use one of: {', '.join(names())}")
    return cls


def create(name: str) -> Runtime:
    """A new, unloaded runtime instance."""
    return runtime_class(name)()


def __getattr__(attr: str) -> Any:
    if attr == "RUNTIMES":  # name -> "module:Class", read lazily (no discovery at import)
        return {cls.name: f"{cls.__module__}:{cls.__qualname__}" for cls in _discover()}
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


# ------------------------------------------------------------------------------------- facts, read across runtimes


def for_format(fmt: str) -> Optional[str]:
    """The runtime that runs a model of format ``fmt`` when no framework is named (its ``default_for``)."""
    return next((cls.name for cls in _discover() if fmt in cls.default_for), None)


def delegate(name: Optional[str]) -> Optional[Delegate]:
    """The facts of delegate ``name`` (from the runtime that applies it), or None."""
    if not name:
        return None
    return next((cls.delegate_facts[name] for cls in _discover() if name in cls.delegate_facts), None)


def delegate_names() -> Tuple[str, ...]:
    """Every value of ``--delegate``, in the order the runtimes declare them."""
    out: List[str] = []
    for cls in sorted(_discover(), key=lambda c: -len(c.delegates)):  # the runtime that declares them first
        out += [d for d in cls.delegates if d not in out]
    return tuple(out)


def device_of(framework: str, *delegates: Optional[str]) -> str:
    """Where the arithmetic runs: the first of a delegate's device or the runtime's that is not the CPU."""
    cls = find(framework)
    devices = [cls.device if cls else "cpu"] + [d.device for d in map(delegate, delegates) if d is not None]
    for device in ("gpu", "tpu", "npu"):
        if device in devices:
            return device
    return "cpu"


def is_accelerator(framework: str, delegate_name: Optional[str] = None) -> bool:
    """The runtime, or the delegate it is given, needs a vendor library or device a plain CPU machine lacks."""
    cls, d = find(framework), delegate(delegate_name)
    return bool(cls is not None and cls.accelerator) or bool(d is not None and d.accelerator)


def check_name(framework: str) -> str:
    """The selfcheck name of ``framework`` (its own name when no runtime of that name is known)."""
    cls = find(framework)
    return cls.check_name() if cls is not None else framework


def checks() -> Dict[str, Tuple[Callable[[], Dict[str, str]], Optional[str]]]:
    """selfcheck name -> (probe, runtime the check's ``--model`` run uses or None): each runtime's check and its
    extra checks, then each delegate's."""
    out: Dict[str, Tuple[Callable[[], Dict[str, str]], Optional[str]]] = {}
    for cls in _discover():
        out[cls.check_name()] = (cls.probe, cls.name)
        out.update({name: (probe, None) for name, probe in cls.extra_checks.items()})
    for cls in _discover():
        for d in cls.delegate_facts.values():
            if d.selfcheck and d.probe is not None:
                out.setdefault(d.selfcheck, (d.probe, None))
    return out


def model_suffixes() -> Dict[str, str]:
    """Runtime -> the file name ending of a model converted for it (runtimes a model is converted for)."""
    return {cls.name: cls.model_suffix for cls in _discover() if cls.model_suffix}


def format_suffixes() -> Dict[str, str]:
    """Target format -> the file name ending a conversion to it writes."""
    return {cls.target: cls.model_suffix for cls in _discover() if cls.target and cls.model_suffix}
