"""The peak of a CPU the table in :mod:`bench.peaks` does not know (this x86 machine, an unknown board).

Two figures, neither measured in a benchmark's own process:

* **measured** (what the share of peak is taken of): dense float32 matrix products in this environment's numpy/BLAS
  on one thread, in a child process; the best one-second window of the thread's CPU time over ``MEASURE_S`` seconds,
  times the cores. Timed in CPU time, a window another program interrupts is not slowed, so the figure does not
  move with the machine's load (a core's single-thread clock can exceed its all-core one on machines with boost,
  which the figure then includes). Measured once per machine by ``edgebench peaks --measure`` (or by the first
  compare or demo that finds none) and cached in the cache root
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench.records import utc_now

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


#: x86 cores whose FMA throughput was read from LLVM's scheduling model (llvm/llvm-project llvm/lib/Target/X86;
#: X86ScheduleZnver4.td read at commit 02d554c5)
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


def physical_cores(root: Path = Path("/")) -> int:
    """Cores that do not share execution units: distinct (physical id, core id) pairs of /proc/cpuinfo (SMT siblings
    share a core's FMA pipes), else os.cpu_count()."""
    text = _read(root / "proc/cpuinfo")
    pairs = set()
    for block in text.split("\n\n"):
        core = _cpuinfo_field(block, "core id")
        if core:
            pairs.add((_cpuinfo_field(block, "physical id"), core))
    return len(pairs) or os.cpu_count() or 1


def _cpu_jiffies() -> Tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat (busy excludes idle and iowait); (0, 0) if unreadable."""
    fields = (_read(Path("/proc/stat")).splitlines() or [""])[0].split()
    if not fields or fields[0] != "cpu":
        return 0, 0
    values = [int(v) for v in fields[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def _operands(np: Any, max_n: int) -> Tuple[int, Any, Any, Any]:
    """Square float32 operands grown until one product takes MIN_PRODUCT_S of CPU (an emulated CPU stays small)."""
    rng = np.random.default_rng(0)
    n = int(min(max_n, MIN_N)) // 2  # the measuring child reads its arguments as floats
    while True:
        n *= 2
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        out = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=out)  # first call: page faults, not timed
        start = time.thread_time()
        np.matmul(a, b, out=out)
        if time.thread_time() - start >= MIN_PRODUCT_S or n * 2 > max_n:
            return n, a, b, out


def one_core(duration_s: float, window_s: float, max_n: int) -> Dict[str, Any]:
    """In a process whose BLAS runs one thread: the best window's GOP/s per second of this thread's CPU time.

    CPU time, not wall time: while another program has the core, this thread's CPU clock stops too, so a busy
    machine makes the measurement longer, not lower."""
    import numpy as np

    n, a, b, out = _operands(np, max_n)
    windows: List[float] = []
    wall0 = time.perf_counter()
    while not windows or time.perf_counter() - wall0 < duration_s:
        reps, start = 0, time.thread_time()
        while True:
            np.matmul(a, b, out=out)
            reps += 1
            cpu = time.thread_time() - start
            if cpu >= window_s:
                break
        windows.append(2.0 * n**3 * reps / cpu / 1e9)
    wall = time.perf_counter() - wall0
    return {"n": n, "windows": windows, "wall_s": wall, "cpu_s": time.thread_time(), "numpy": np.__version__}


#: what the measuring child process runs (its BLAS limited to one thread through the environment, before import)
_CHILD = "import json,sys; from bench.cpupeak import one_core; print(json.dumps(one_core(*map(float, sys.argv[1:]))))"
_ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")}


def measure(duration_s: float = MEASURE_S, window_s: float = WINDOW_S, max_n: int = MAX_N) -> Dict[str, Any]:
    """This CPU's achievable fp32 peak: one core's best window (CPU time, BLAS on one thread) x the cores, with what
    was measured and how busy the rest of the machine was meanwhile."""
    cores = physical_cores()
    load_before = os.getloadavg()[0]
    busy0, total0 = _cpu_jiffies()
    wall0 = time.perf_counter()
    argv = [sys.executable, "-c", _CHILD, str(duration_s), str(window_s), str(max_n)]
    env = {**os.environ, **_ONE_THREAD}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration_s * 20 + 120, check=True)
    child = json.loads(done.stdout.strip().splitlines()[-1])
    wall = time.perf_counter() - wall0
    busy1, total1 = _cpu_jiffies()
    others = None
    if total1 > total0:  # all CPUs' use beyond the measuring thread's: what else ran meanwhile
        busy_s = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
        others = max(0.0, busy_s - child["cpu_s"]) / (wall * (os.cpu_count() or 1))
    windows = child["windows"]
    best = max(windows)
    return {
        "gops": best * cores,
        "per_core_gops": best,
        "median_window_gops": sorted(windows)[len(windows) // 2] * cores,
        "windows": len(windows),
        "method": (
            f"numpy {child['numpy']} float32 matmul {child['n']}x{child['n']} on one BLAS thread, best "
            f"{window_s:g}-s CPU-time window of {child['wall_s']:.0f} s, x {cores} cores"
        ),
        "others_cpu_share": others,
        "loadavg_1min_before": load_before,
        "idle": others is not None and others <= IDLE_OTHERS_MAX,
        "measured_utc": utc_now(),
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
        f"{busy}{'' if entry.get('idle') else ' (not idle; timed in CPU time, so it moves little)'}"
    )


def ensure(machine: Dict[str, Any], cache_root: Optional[Path] = None) -> Optional[Dict[str, Any]]:
    """For a CPU the table does not know and that was never measured here: measure it once now and cache it.

    Called by compare and demo before their first run (never inside a measured run's process); not under emulation,
    and in an edgebench device image (EDGEBENCH_IMAGE) only when the cache root is a mount point: the launcher's cache
    volume (launcher/profiles.py BENCH_CACHE_DIR) keeps it beyond the container; without it the measurement is lost."""
    from bench import peaks
    from bench.convert.cache import default_root

    if peaks.board_knows_cpu(machine):
        return None
    found = cached(cache_root)
    if found is not None:
        return found
    kept = Path(cache_root or default_root()).is_mount()
    if machine.get("emulated") or (machine.get("image") and not kept):
        # an emulated CPU's peak means nothing, and an image's cache without the volume is gone with its container
        where = "emulated" if machine.get("emulated") else f"in image {machine.get('image')}, whose cache is not kept"
        log.info("no CPU peak measured here (%s): `edgebench peaks --measure` where the cache is kept", where)
        return None
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
    cores = physical_cores(root)
    if core is None:
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
    return {
        "gops": gops,
        "ghz": mhz / 1000.0,
        "core": core.name,
        "formula": f"{formula} = {gops:.1f}",
        "source": core.source,
    }
