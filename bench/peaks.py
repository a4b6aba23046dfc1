"""Peak arithmetic throughput of each known board, as plain frozen data with its source, plus the lookup.

A peak is in GOP/s (10^9 operations per second, one multiply-accumulate = 2 operations), for one device
(``cpu``, ``gpu``, ``tpu``) at one precision (``fp32``, ``fp16``, ``int8``). ``kind`` says where it comes from:

* ``published``: the vendor's own figure, quoted from the named document;
* ``derived``: cores x clock x operations per cycle, each factor from the named documents (``formula`` shows it);
* ``measured``: not in this table; :mod:`bench.compute` measures it on the spot (CPUs only).

CPU operations per cycle are read from Arm's Software Optimization Guides (instruction tables, "ASIMD" rows):
Cortex-A57 (UAN 0015B) and Cortex-A72 (UAN 0016A) issue the Q-form FMLA (4 fp32 lanes, 2 operations each) on
both FP/ASIMD pipes F0 and F1 (throughput 2 per cycle): 2 x 4 x 2 = 16 fp32 operations per cycle and core.
Cortex-A76 (PJDOC-466751330-7215) has two 128-bit pipes V0/V1 with the same FMLA throughput (16 per cycle) and the
Armv8.2 dot product SDOT (4 lanes x 4 int8 multiply-adds = 32 operations) at throughput 2: 64 int8 ops per cycle.
A57 and A72 (Armv8.0) have no dot-product instruction: their int8 kernels widen to 16 bits (SMLAL on one pipe), and
no single instruction mix defines a peak, so the table has no int8 CPU entry for them and a run says so rather than
dividing by a wrong number. Peaks are for all cores at the nominal clock; a run with fewer threads, a lower clock
(governor, power mode, throttling) or an emulated CPU cannot reach them, which is part of what the share shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

PUBLISHED, DERIVED, MEASURED = "published", "derived", "measured"
KINDS = (PUBLISHED, DERIVED, MEASURED)
DEVICES = ("cpu", "gpu", "tpu")
PRECISIONS = ("fp32", "fp16", "int8")

_A57_SOG = "Arm Cortex-A57 Software Optimization Guide (UAN 0015B), ASIMD FP multiply-accumulate Q-form: F0/F1"
_A72_SOG = "Arm Cortex-A72 Software Optimization Guide (UAN 0016A), ASIMD FP multiply-accumulate Q-form: F0/F1"
_A76_SOG = "Arm Cortex-A76 Software Optimization Guide (PJDOC-466751330-7215 v8.0), ASIMD FMLA and SDOT: V0/V1"
_NANO_DS = "NVIDIA Jetson Nano module data sheet (DA-09366-001): 128-core Maxwell GPU, 921.6 MHz; 472 GFLOPS fp16"
_ORIN_NANO_DS = (
    "NVIDIA Jetson Orin Nano series data sheet (DS-11105-001): 8GB module 1024 CUDA cores / 32 Tensor cores, "
    "GPU max 625 MHz, 40 sparse / 20 dense INT8 TOPS"
)
_CORAL_DS = "Coral USB Accelerator datasheet v1.4 (coral.ai): Edge TPU 4 TOPS total peak performance (int8)"


@dataclass(frozen=True)
class Peak:
    board: str  # bench.machine board id
    device: str  # cpu | gpu | tpu
    precision: str  # fp32 | fp16 | int8
    gops: float  # peak operations per second / 1e9 (1 MAC = 2 operations)
    kind: str  # published | derived
    source: str
    formula: str = ""  # how a derived value is computed
    #: substring of the board's model string (/proc/device-tree/model) this entry needs; "" = any model of the board
    model_contains: str = ""
    note: str = ""


#: the table; one entry per (board, model, device, precision). Odd values are explained where they stand.
PEAKS: Tuple[Peak, ...] = (
    # Raspberry Pi 4: BCM2711, 4x Cortex-A72 at 1.5 GHz (boards from 2020 on, and firmware since, run 1.8 GHz: the
    # record's max_freq_mhz decides; the 1.8 GHz figure is the same formula)
    Peak(
        "rpi4",
        "cpu",
        "fp32",
        96.0,
        DERIVED,
        _A72_SOG,
        "4 cores x 1.5 GHz x 16 fp32 ops/cycle (2 FMLA.4S)",
        note="115.2 at 1.8 GHz; scaled by the record's max_freq_mhz when it is known",
    ),
    # Raspberry Pi 5: BCM2712, 4x Cortex-A76 at 2.4 GHz
    Peak("rpi5", "cpu", "fp32", 153.6, DERIVED, _A76_SOG, "4 cores x 2.4 GHz x 16 fp32 ops/cycle (2 FMLA.4S)"),
    Peak(
        "rpi5",
        "cpu",
        "int8",
        614.4,
        DERIVED,
        _A76_SOG,
        "4 cores x 2.4 GHz x 64 int8 ops/cycle (2 SDOT.4S)",
        note="reached only by kernels that use SDOT (XNNPACK and ONNX Runtime's QGEMM do on Armv8.2)",
    ),
    # Jetson Nano: 4x Cortex-A57 at 1.43 GHz; GPU 128 Maxwell cores at 921.6 MHz, fp16 at twice the fp32 rate
    Peak("jetson-nano", "cpu", "fp32", 91.52, DERIVED, _A57_SOG, "4 cores x 1.43 GHz x 16 fp32 ops/cycle"),
    Peak(
        "jetson-nano",
        "gpu",
        "fp32",
        235.93,
        DERIVED,
        _NANO_DS,
        "128 cores x 0.9216 GHz x 2 (one FMA)",
        note="half of NVIDIA's fp16 figure: Maxwell (sm_53) runs fp16 as paired half2 FMAs",
    ),
    Peak("jetson-nano", "gpu", "fp16", 472.0, PUBLISHED, _NANO_DS, "128 cores x 0.9216 GHz x 2 x 2 (half2) = 471.9"),
    # Jetson Orin Nano 8GB (the developer kit's module) at the data sheet's 625 MHz GPU clock. JetPack 6.1's
    # "Super" power mode raises the GPU to 1020 MHz: the record's power mode says which applies.
    Peak(
        "jetson-orin",
        "gpu",
        "int8",
        20000.0,
        PUBLISHED,
        _ORIN_NANO_DS,
        "",
        "Orin Nano",
        note="dense figure; NVIDIA's headline 40 TOPS counts 2:4 structured sparsity, which TensorRT uses only "
        "for sparse-weight engines",
    ),
    Peak(
        "jetson-orin",
        "gpu",
        "fp16",
        10000.0,
        DERIVED,
        _ORIN_NANO_DS,
        "20 dense INT8 TOPS / 2 (Ampere Tensor cores: fp16 at half the int8 rate)",
        "Orin Nano",
    ),
    Peak(
        "jetson-orin",
        "gpu",
        "fp32",
        1280.0,
        DERIVED,
        _ORIN_NANO_DS,
        "1024 cores x 0.625 GHz x 2 (one FMA)",
        "Orin Nano",
    ),
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


def lookup(board: str, model: str, device: str, precision: str) -> Optional[Peak]:
    """The table's peak for this board (and model string), device and precision; None when it has none.

    The Edge TPU entry (board ``*``) applies on any host board."""
    for p in PEAKS:
        if p.board not in (board, "*") or p.device != device or p.precision != precision:
            continue
        if p.model_contains and p.model_contains not in (model or ""):
            continue
        return p
    return None


def scaled_to_clock(peak: Peak, max_freq_mhz: Optional[float]) -> Tuple[float, str]:
    """A Pi 4 CPU peak at the clock the board reports (1.5 or 1.8 GHz); other entries unchanged."""
    if peak.board == "rpi4" and peak.device == "cpu" and max_freq_mhz and abs(max_freq_mhz - 1500.0) > 1.0:
        gops = peak.gops * max_freq_mhz / 1500.0
        return gops, f"{peak.formula}, scaled to the reported {max_freq_mhz:.0f} MHz"
    return peak.gops, peak.formula
