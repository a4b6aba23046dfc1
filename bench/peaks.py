"""Peak arithmetic throughput of each known board, as plain frozen data with its source, plus the lookup.

A peak is in GOP/s (10^9 operations per second, one multiply-accumulate = 2 operations), for one device
(``cpu``, ``gpu``, ``tpu``) at one precision (``fp32``, ``fp16``, ``int8``). ``kind`` says where it comes from:

* ``published``: the vendor's own figure, quoted from the named document;
* ``derived``: units x clock x operations per cycle and unit, each factor from the named source (``formula``);
* ``measured``: not in this table; :mod:`bench.cpupeak` measures a CPU it does not know once per machine.

CPU operations per cycle come from LLVM's scheduling models (llvm/llvm-project, ``llvm/lib/Target/AArch64``; read at
commits 3fa6aafd (``AArch64SchedA57.td``), 001224ab (``AArch64Processors.td``), 2f206a08
(``AArch64SchedNeoverseN1.td``)):

* Cortex-A57 and Cortex-A72 (``AArch64Processors.td``: ``cortex-a72`` uses ``CortexA57Model``):
  ``AArch64SchedA57.td`` gives the Q-form FMLA (``FML[AS]v4f32``) ``A57WriteFPVMAQ = SchedWriteRes<[A57UnitV,
  A57UnitV]>``: it takes both FP/ASIMD units (``A57UnitV = [A57UnitX, A57UnitW]``), so one 128-bit FMLA issues per
  cycle: 4 lanes x 2 = **8** fp32 operations per cycle and core (a measured A72 gives the same 8).
* Cortex-A76: LLVM has no model of its own (``cortex-a76`` reuses ``CortexA57Model`` as a stand-in). Its pipes are
  those of the Neoverse N1, which Arm derived from the A76: ``AArch64SchedNeoverseN1.td`` gives ``FML[AS]v`` one
  ``N1UnitV`` (either of V0/V1, 128 bits each), so two FMLA.4S issue per cycle: **16** fp32 operations. It has no
  entry for SDOT, which then falls to ``WriteVq`` (``N1Write_2c_1V``, either pipe): two SDOT.4S per cycle, 4 lanes x
  4 int8 multiply-adds x 2 = **64** int8 operations per cycle.

A57 and A72 (Armv8.0) have no dot-product instruction; no single instruction mix defines their int8 peak, so the
table has none and a run says so rather than dividing by a wrong number. CPU peaks are for all cores at the clock
the board reports (``cpuinfo_max_freq``; the nominal clock when it cannot be read), Jetson GPU peaks at the GPU's
maximum clock under the active power mode (devfreq ``max_freq``, which nvpmodel sets); a run with fewer threads,
a lower clock (governor, throttling) or an emulated CPU cannot reach them, which is part of what the share shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

PUBLISHED, DERIVED, MEASURED = "published", "derived", "measured"
KINDS = (PUBLISHED, DERIVED, MEASURED)
DEVICES = ("cpu", "gpu", "tpu")
PRECISIONS = ("fp32", "fp16", "int8")

_LLVM = "llvm/llvm-project llvm/lib/Target/AArch64/"
_A57 = _LLVM + "AArch64SchedA57.td: FMLA v4f32 = A57WriteFPVMAQ on both A57UnitV pipes, 1 per cycle"
_A72 = _LLVM + "AArch64Processors.td (cortex-a72 uses CortexA57Model) + " + _A57
_A76_FP = _LLVM + "AArch64SchedNeoverseN1.td (the A76's pipes): FML[AS]v = N1Write_4c_1V, V0 or V1, 2 per cycle"
_A76_DOT = _LLVM + "AArch64SchedNeoverseN1.td: SDOT falls to WriteVq = N1Write_2c_1V, V0 or V1, 2 per cycle"
_NANO_DS = "NVIDIA Jetson Nano module data sheet (DA-09366-001): 128-core Maxwell GPU, 921.6 MHz; 472 GFLOPS fp16"
_ORIN_NANO_DS = (
    "NVIDIA Jetson Orin Nano series data sheet (DS-11105-001): 8GB module 1024 CUDA cores / 32 Tensor cores, "
    "4GB module 512 / 16; GPU max 625 MHz; 40 (8GB) and 20 (4GB) sparse INT8 TOPS, half of it dense"
)
_CORAL_DS = "Coral USB Accelerator datasheet v1.4 (coral.ai): Edge TPU 4 TOPS total peak performance (int8)"

#: Jetson power modes whose GPU clock is known when devfreq cannot be read: NVIDIA's Jetson Orin Nano "Super"
#: (JetPack 6.2) MAXN_SUPER mode runs the Orin Nano GPU at up to 1020 MHz
POWER_MODE_GPU_MHZ = {"MAXN_SUPER": 1020.0}
#: an Orin Nano with less memory than this (MemTotal, MB) is the 4 GB module; the 8 GB one reports about 7.4 GiB
ORIN_NANO_4GB_BELOW_MB = 6000.0


@dataclass(frozen=True)
class Peak:
    board: str  # bench.machine board id
    device: str  # cpu | gpu | tpu
    precision: str  # fp32 | fp16 | int8
    gops: float  # at ``mhz``: peak operations per second / 1e9 (1 MAC = 2 operations)
    kind: str  # published | derived
    source: str
    formula: str = ""  # how the value is computed; ``{clock}`` stands for the clock it is evaluated at
    #: substring of the board's model string (/proc/device-tree/model) this entry needs; "" = any model of the board
    model_contains: str = ""
    note: str = ""
    mhz: float = 0.0  # the clock ``gops`` is at (0: it does not scale)
    scales_with: str = ""  # "cpu" (cpuinfo_max_freq) or "gpu" (the Jetson GPU's max clock); "" = fixed
    memory: str = ""  # "4gb" | "8gb": which Orin Nano module (by MemTotal); "" = any


def _cpu(board: str, precision: str, cores: int, mhz: float, per_cycle: int, source: str, **kw: Any) -> Peak:
    gops = cores * mhz / 1000.0 * per_cycle
    formula = f"{cores} cores x {{clock}} x {per_cycle} {precision} ops/cycle"
    return Peak(board, "cpu", precision, gops, DERIVED, source, formula, mhz=mhz, scales_with="cpu", **kw)


_SPARSE_NOTE = (
    "dense figure; NVIDIA's headline (sparse) TOPS count 2:4 structured sparsity, which TensorRT uses only for "
    "sparse-weight engines"
)


def _orin(memory: str, dense_int8: float, cuda_cores: int) -> Tuple[Peak, ...]:
    """An Orin Nano module's GPU peaks at the data sheet's 625 MHz; each scales with the GPU's max clock."""
    kw: Dict[str, Any] = {"model_contains": "Orin Nano", "mhz": 625.0, "scales_with": "gpu", "memory": memory}
    d = f"{dense_int8:.0f}"
    return (
        Peak(
            "jetson-orin",
            "gpu",
            "int8",
            dense_int8,
            PUBLISHED,
            _ORIN_NANO_DS,
            f"{d} GOP/s at 625 MHz",
            note=_SPARSE_NOTE,
            **kw,
        ),
        Peak(
            "jetson-orin",
            "gpu",
            "fp16",
            dense_int8 / 2,
            DERIVED,
            _ORIN_NANO_DS,
            f"{d} dense INT8 GOP/s / 2 (Ampere Tensor cores: fp16 at half the int8 rate), at 625 MHz",
            **kw,
        ),
        Peak(
            "jetson-orin",
            "gpu",
            "fp32",
            cuda_cores * 0.625 * 2,
            DERIVED,
            _ORIN_NANO_DS,
            f"{cuda_cores} CUDA cores x {{clock}} x 2 (one FMA)",
            **kw,
        ),
    )


#: the table; one entry per (board, model, memory, device, precision). Values are at the nominal clock (``mhz``).
PEAKS: Tuple[Peak, ...] = (
    # Raspberry Pi 4: BCM2711, 4x Cortex-A72 at 1.5 GHz (boards from 2020 on, and firmware since, run 1.8 GHz)
    _cpu("rpi4", "fp32", 4, 1500.0, 8, _A72, note="1 FMLA.4S per cycle; 57.6 at 1.8 GHz"),
    # Raspberry Pi 5: BCM2712, 4x Cortex-A76 at 2.4 GHz
    _cpu("rpi5", "fp32", 4, 2400.0, 16, _A76_FP, note="2 FMLA.4S per cycle"),
    _cpu(
        "rpi5",
        "int8",
        4,
        2400.0,
        64,
        _A76_DOT,
        note="2 SDOT.4S per cycle; reached only by kernels that use SDOT (XNNPACK and ONNX Runtime's QGEMM do)",
    ),
    # Jetson Nano: 4x Cortex-A57 at 1.43 GHz; GPU 128 Maxwell cores at 921.6 MHz, fp16 at twice the fp32 rate
    _cpu("jetson-nano", "fp32", 4, 1430.0, 8, _A57, note="1 FMLA.4S per cycle"),
    Peak(
        "jetson-nano",
        "gpu",
        "fp32",
        128 * 0.9216 * 2,
        DERIVED,
        _NANO_DS,
        "128 CUDA cores x {clock} x 2 (one FMA)",
        note="half of NVIDIA's fp16 figure: Maxwell (sm_53) runs fp16 as paired half2 FMAs",
        mhz=921.6,
        scales_with="gpu",
    ),
    Peak(
        "jetson-nano",
        "gpu",
        "fp16",
        472.0,
        PUBLISHED,
        _NANO_DS,
        "472 GOP/s at 921.6 MHz (128 CUDA cores x 2 x 2, half2)",
        mhz=921.6,
        scales_with="gpu",
    ),
    # Jetson Orin Nano 8GB (the developer kit's module) and 4GB at the data sheet's 625 MHz GPU clock; the power mode
    # sets the real one (MAXN_SUPER: 1020 MHz), so every Orin figure scales with the GPU's max clock.
    *_orin("8gb", 20000.0, 1024),
    *_orin("4gb", 10000.0, 512),
    # Coral USB Accelerator: the Edge TPU's peak at libedgetpu1-max's clock; libedgetpu1-std runs it at a reduced
    # clock (datasheet "Performance settings"), so with -std the share is of a peak the device was not allowed
    Peak(
        "*",
        "tpu",
        "int8",
        4000.0,
        PUBLISHED,
        _CORAL_DS,
        "",
        note="at the maximum clock (libedgetpu1-max); libedgetpu1-std runs the Edge TPU slower",
    ),
)
#: Orin NX and AGX Orin are not in the table: no data sheet was read for them here; a run names the gap.


def orin_memory(machine: Dict[str, Any]) -> str:
    """ "4gb" or "8gb" for an Orin Nano (MemTotal; the developer kit's module is the 8 GB one), "" when unknown."""
    model = ((machine.get("board") or {}).get("model")) or ""
    mb = machine.get("memory_mb")
    if mb:
        return "4gb" if float(mb) < ORIN_NANO_4GB_BELOW_MB else "8gb"
    return "8gb" if "Developer Kit" in model else ""


def lookup(board: str, model: str, device: str, precision: str, memory: str = "") -> Optional[Peak]:
    """The table's peak for this board (model string and Orin Nano module), device and precision; None when none.

    The Edge TPU entry (board ``*``) applies on any host board."""
    for p in PEAKS:
        if p.board not in (board, "*") or p.device != device or p.precision != precision:
            continue
        if p.model_contains and p.model_contains not in (model or ""):
            continue
        if p.memory and p.memory != memory:
            continue
        return p
    return None


def clock_of(peak: Peak, machine: Dict[str, Any]) -> Tuple[float, str]:
    """(MHz, where it comes from) the peak is evaluated at: the board's maximum clock, else the table's nominal."""
    if peak.scales_with == "cpu":
        mhz = (machine.get("cpu") or {}).get("max_freq_mhz")
        if mhz:
            return float(mhz), "cpuinfo_max_freq"
        return peak.mhz, "nominal clock (cpuinfo_max_freq not readable)"
    if peak.scales_with == "gpu":
        jetson = (machine.get("accelerator") or {}).get("jetson") or {}
        mhz = (jetson.get("gpu") or {}).get("max_mhz")
        if mhz:
            return float(mhz), "GPU devfreq max_freq (set by the power mode)"
        mode = (jetson.get("power_mode") or {}).get("name") or ""
        if mode in POWER_MODE_GPU_MHZ:
            return POWER_MODE_GPU_MHZ[mode], f"power mode {mode}"
        return peak.mhz, "data sheet clock (GPU max clock and power mode not readable)"
    return peak.mhz, ""


@dataclass(frozen=True)
class Applied:
    """A table peak evaluated for one machine: at its clock, with the formula filled in."""

    gops: float
    kind: str
    source: str
    formula: str
    note: str
    clock_mhz: float
    clock_source: str


def applied(peak: Peak, machine: Dict[str, Any]) -> Applied:
    """``peak`` at this machine's clock (see :func:`clock_of`); a scaled published figure becomes derived."""
    mhz, where = clock_of(peak, machine)
    gops, kind, formula = peak.gops, peak.kind, peak.formula
    if peak.scales_with:
        gops = peak.gops * mhz / peak.mhz
        clock = f"{mhz / 1000.0:g} GHz ({where})"
        if "{clock}" in formula:
            formula = formula.replace("{clock}", clock)
        elif abs(mhz - peak.mhz) > 0.5:
            formula, kind = f"{formula}, x {mhz:g}/{peak.mhz:g} MHz ({where})", DERIVED
        formula = f"{formula} = {gops:.2f}"
    return Applied(gops, kind, peak.source, formula, peak.note, mhz, where)


def for_machine(machine: Dict[str, Any], device: str, precision: str) -> Optional[Applied]:
    """The table's peak for the board in ``machine`` (a record's machine section), at its clock; None if none."""
    board = machine.get("board") or {}
    bid, model = board.get("id", ""), board.get("model", "")
    p = lookup(bid, model, device, precision, orin_memory(machine) if bid == "jetson-orin" else "")
    return None if p is None else applied(p, machine)


def board_knows_cpu(machine: Dict[str, Any]) -> bool:
    """True when the table has some CPU peak for this board (then no measured peak is used)."""
    board = machine.get("board") or {}
    return any(lookup(board.get("id", ""), board.get("model", ""), "cpu", p) for p in PRECISIONS)
