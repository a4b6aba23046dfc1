"""The peak of a CPU the table in :mod:`bench.peaks` does not know (this x86 machine, an unknown board).

Two figures, neither measured in a benchmark's own process:

* **measured** (what the share of peak is taken of): the best one-second window of dense float32 matrix products in
  this environment's numpy/BLAS, over ``MEASURE_S`` seconds, measured once per machine by ``edgebench peaks
  --measure`` (or by the first compare or demo that finds none) and cached in the cache root
  (``<cache>/peaks/cpu-<key>.json``, the key hashing CPU model, architecture, cores, numpy and BLAS) together with
  what it was measured on, when, and how busy the rest of the machine was meanwhile (from /proc/stat). A new numpy
  or BLAS, or another CPU, finds no entry and measures again.
* **derived** (theoretical, shown beside it): cores x clock x fp32 operations per cycle, for the x86 cores whose FMA
  pipes are known here (``X86_CORES``; LLVM's scheduling model named per entry). The clock is ``cpuinfo_max_freq``
  where cpufreq exists; otherwise /proc/cpuinfo's ``cpu MHz``, the current clock (a VM's hypervisor hides the
  maximum, and boost can exceed it), which the formula says.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import resource
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

log = logging.getLogger(__name__)

#: the measurement: matrices of up to MAX_N (grown until one product takes MIN_PRODUCT_S), WINDOW_S windows for
#: MEASURE_S seconds, the best window kept (a window another program interrupted is slower, never faster)
MEASURE_S = 20.0
WINDOW_S = 1.0
MAX_N = 2048
MIN_N = 256
MIN_PRODUCT_S = 0.05
#: a measurement during which other programs used more than this share of the CPUs is marked "not idle"
IDLE_OTHERS_MAX = 0.10
CACHE_SCHEMA = 1


@dataclass(frozen=True)
class X86Core:
    vendor: str
    family: int
    flag: str  # a /proc/cpuinfo flag that tells this core from its siblings of the same family
    name: str
    fp32_per_cycle: int
    source: str


#: x86 cores whose FMA throughput was read from LLVM's scheduling model (llvm/llvm-project llvm/lib/Target/X86)
X86_CORES: Tuple[X86Core, ...] = (
    X86Core(
        "AuthenticAMD",
        25,
        "avx512f",  # family 19h with AVX-512 is Zen 4 (Zen 3 has none)
        "AMD Zen 4",
        32,
        "llvm/llvm-project llvm/lib/Target/X86/X86ScheduleZnver4.td: WriteFMAY on Zn4FPFMul01 (FP0, FP1) "
        "ReleaseAtCycles [1], WriteFMAZ [2]: two 256-bit FMAs per cycle = 2 x 8 lanes x 2",
    ),
)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _cpuinfo_field(text: str, key: str) -> str:
    m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.M)
    return m.group(1).strip() if m else ""


def _blas(np: Any) -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # numpy >= 1.25
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older numpy prints instead of returning
        return "unknown"


def identity(root: Path = Path("/")) -> Dict[str, Any]:
    """What a measured peak holds for: CPU model, architecture, cores, numpy and its BLAS."""
    import numpy as np

    text = _read(root / "proc/cpuinfo")
    model = next((v for k in ("model name", "Model", "Hardware") if (v := _cpuinfo_field(text, k))), "")
    return {
        "cpu_model": model or platform.processor() or platform.machine(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "blas": _blas(np),
    }


def cache_file(ident: Dict[str, Any], cache_root: Optional[Path] = None) -> Path:
    from bench.convert.cache import default_root

    key = hashlib.sha256(json.dumps({"schema": CACHE_SCHEMA, **ident}, sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_root or default_root()) / "peaks" / f"cpu-{key}.json"


def cached(cache_root: Optional[Path] = None) -> Optional[Dict[str, Any]]:
    """This machine's measured peak from the cache, or None when it was never measured for this identity."""
    path = cache_file(identity(), cache_root)
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return {**entry, "cache_file": str(path)} if isinstance(entry, dict) and entry.get("gops") else None


def _cpu_jiffies() -> Tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat (busy excludes idle and iowait); (0, 0) if unreadable."""
    fields = (_read(Path("/proc/stat")).splitlines() or [""])[0].split()
    if not fields or fields[0] != "cpu":
        return 0, 0
    values = [int(v) for v in fields[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def _own_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _operands(np: Any, max_n: int) -> Tuple[int, Any, Any, Any]:
    """Square float32 operands grown until one product takes MIN_PRODUCT_S (an emulated CPU stays small)."""
    rng = np.random.default_rng(0)
    n = min(max_n, MIN_N) // 2
    while True:
        n *= 2
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        out = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=out)  # first call: thread pool and page faults, not timed
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        if time.perf_counter() - start >= MIN_PRODUCT_S or n * 2 > max_n:
            return n, a, b, out


def measure(duration_s: float = MEASURE_S, window_s: float = WINDOW_S, max_n: int = MAX_N) -> Dict[str, Any]:
    """The best window's fp32 GOP/s of numpy matrix products, with what was measured and how busy the machine was."""
    import numpy as np

    n, a, b, out = _operands(np, max_n)
    load_before = os.getloadavg()[0]
    busy0, total0 = _cpu_jiffies()
    own0, wall0 = _own_cpu_s(), time.perf_counter()
    windows: List[float] = []
    while not windows or time.perf_counter() - wall0 < duration_s:
        reps, start = 0, time.perf_counter()
        while True:
            np.matmul(a, b, out=out)
            reps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= window_s:
                break
        windows.append(2.0 * n**3 * reps / elapsed / 1e9)
    wall = time.perf_counter() - wall0
    busy1, total1 = _cpu_jiffies()
    cpus = os.cpu_count() or 1
    others = None
    if total1 > total0:
        busy_s = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
        others = max(0.0, busy_s - (_own_cpu_s() - own0)) / (wall * cpus)
    return {
        "gops": max(windows),
        "median_window_gops": sorted(windows)[len(windows) // 2],
        "windows": len(windows),
        "method": f"numpy {np.__version__} float32 matmul {n}x{n}, best {window_s:g}-s window of {wall:.0f} s",
        "others_cpu_share": others,
        "loadavg_1min_before": load_before,
        "idle": others is not None and others <= IDLE_OTHERS_MAX,
        "measured_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def measure_and_store(cache_root: Optional[Path] = None, duration_s: float = MEASURE_S) -> Dict[str, Any]:
    """Measure this machine's CPU peak now and write it (atomically) to the cache; the entry written."""
    ident = identity()
    entry = {**ident, **measure(duration_s), "cache_schema": CACHE_SCHEMA}
    path = cache_file(ident, cache_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cpu-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(entry, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return {**entry, "cache_file": str(path)}


def describe(entry: Dict[str, Any]) -> str:
    """One line: how and when a measured peak was taken, and on what."""
    others = entry.get("others_cpu_share")
    busy = "unknown" if others is None else f"{100 * others:.0f}%"
    return (
        f"{entry['method']}, BLAS {entry.get('blas', '?')}, on {entry.get('cpu_model', '?')} "
        f"({entry.get('cores', '?')} cores), {entry.get('measured_utc', '?')}; other programs' CPU use meanwhile "
        f"{busy}{'' if entry.get('idle') else ' (not idle: the figure may be low)'}"
    )


def ensure(machine: Dict[str, Any], cache_root: Optional[Path] = None) -> Optional[Dict[str, Any]]:
    """For a CPU the table does not know and that was never measured here: measure it once now and cache it.

    Called by compare and demo before their first run (never inside a measured run's process)."""
    from bench import peaks

    if peaks.board_knows_cpu(machine):
        return None
    found = cached(cache_root)
    if found is not None:
        return found
    log.info(
        "no measured peak for this CPU yet: measuring it once (%.0f s); `edgebench peaks --measure` redoes it "
        "on an idle machine",
        MEASURE_S,
    )
    entry = measure_and_store(cache_root)
    log.info("CPU peak: %.1f GOP/s fp32, cached in %s", entry["gops"], entry["cache_file"])
    return entry


def derived_x86(root: Path = Path("/")) -> Optional[Dict[str, Any]]:
    """The theoretical fp32 peak of this x86 CPU where its core is in ``X86_CORES``; None otherwise."""
    text = _read(root / "proc/cpuinfo")
    vendor, family = _cpuinfo_field(text, "vendor_id"), _cpuinfo_field(text, "cpu family")
    flags = set(_cpuinfo_field(text, "flags").split())
    core = next((c for c in X86_CORES if c.vendor == vendor and str(c.family) == family and c.flag in flags), None)
    cores = os.cpu_count() or 0
    if core is None or not cores:
        return None
    khz = _read(root / "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").strip()
    if khz.isdigit():
        mhz, where = int(khz) / 1000.0, "cpuinfo_max_freq"
    else:
        mhz_text = _cpuinfo_field(text, "cpu MHz")
        if not mhz_text:
            return None
        mhz = float(mhz_text)
        where = "cpu MHz in /proc/cpuinfo: the current clock, no cpufreq to give the maximum; boost can exceed it"
    gops = cores * mhz / 1000.0 * core.fp32_per_cycle
    formula = f"{cores} cores x {mhz / 1000.0:.3f} GHz ({where}) x {core.fp32_per_cycle} fp32 ops/cycle"
    return {"gops": gops, "core": core.name, "formula": f"{formula} = {gops:.1f}", "source": core.source}
