"""The boards edgebench knows, one frozen record each: how a model string names it, its L4T/firmware facts, the
launcher profile it gets, its peaks with their sources, the vendors' published latencies on it, its sensor files and
device nodes. Plain data, no I/O; the types are in bench/board_types.py.

``bench.machine`` names the board from its model string and reads its sensor files, ``bench.peaks`` holds a run to
its peaks, ``launcher.detect`` picks its profile and ``launcher.profiles`` gives the container its files and nodes:
all from this table. A new board is one record here (and its image and profile lines).

Peaks are in GOP/s (10^9 operations per second, one multiply-accumulate = 2 operations), for one device (``cpu``,
``gpu``, ``tpu``) at one precision (``fp32``, ``fp16``, ``int8``). ``kind`` says where a figure comes from:

* ``published``: the vendor's own figure, quoted from the named document;
* ``derived``: units x clock x operations per cycle and unit, each factor from the named source (``formula``);
* ``measured``: never in this table; :mod:`bench.cpupeak` measures a CPU it does not know once per machine.

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

Other sources (vendor code read, not memory): the Raspberry Pi ``get_throttled`` file (raspberrypi/linux
``drivers/firmware/raspberrypi.c``, ``arch/arm64/boot/dts/broadcom/bcm2712.dtsi``), the Jetson GPU devfreq names,
L4T release and PMIC zone (rbonghi/jetson_stats ``jtop/core/gpu.py``, ``jtop/core/jetson_variables.py``,
``jtop/core/temperature.py``), the Pi 5 mailbox nodes (raspberrypi/utils ``vcgencmd/vcgencmd.c``) and the Coral's USB
IDs (google-coral/libedgetpu ``debian/edgetpu-accelerator.rules``); each is named again where its value stands.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from bench.board_types import (
    ANY_BOARD,
    DERIVED,
    PUBLISHED,
    THIS_BOARD,
    Accelerator,
    Board,
    Latency,
    Peak,
)

# ---------- sources of the peaks ----------

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
#: Coral, "Edge TPU performance benchmarks" (coral.ai/docs/edgetpu/benchmarks), table 1: MobileNet v2 224x224, desktop
#: CPU (x86-64) + USB Accelerator on USB 3.0, 2.6 ms (C++ benchmark). On USB 2 expect several times more.
_CORAL_BENCH = "coral.ai Edge TPU benchmarks, MobileNet v2 224x224, desktop host, USB 3.0"
#: the Pi as the Coral's host: Coral's figure is a desktop CPU driving the Accelerator over USB 3 from C++; a Pi's
#: slower CPU and USB stack and the Python invoke add host time per inference, which that figure does not contain,
#: so on a Pi the same figure is held with a wider bound (stated in the report), not the desktop's
PI_HOST_CORAL_BOUND = 6.0
_CORAL_ON_A_PI = Latency(
    THIS_BOARD,
    "coral",
    "mobilenetv2",
    2.6,
    "coral.ai Edge TPU benchmarks (desktop host, USB 3.0), held with a wider bound for a Pi host",
    PI_HOST_CORAL_BOUND,
)
_SPARSE_NOTE = (
    "dense figure; NVIDIA's headline (sparse) TOPS count 2:4 structured sparsity, which TensorRT uses only for "
    "sparse-weight engines"
)


def _cpu(precision: str, cores: int, mhz: float, per_cycle: int, source: str, **kw: Any) -> Peak:
    gops = cores * mhz / 1000.0 * per_cycle
    formula = f"{cores} cores x {{clock}} x {per_cycle} {precision} ops/cycle"
    return Peak(THIS_BOARD, "cpu", precision, gops, DERIVED, source, formula, mhz=mhz, scales_with="cpu", **kw)


def _orin(memory: str, dense_int8: float, cuda_cores: int) -> Tuple[Peak, ...]:
    """An Orin Nano module's GPU peaks at the data sheet's 625 MHz; each scales with the GPU's max clock."""
    kw: Dict[str, Any] = {"model_contains": "Orin Nano", "mhz": 625.0, "scales_with": "gpu", "memory": memory}
    d = f"{dense_int8:.0f}"
    int8 = f"{d} GOP/s at 625 MHz"
    fp16 = f"{d} dense INT8 GOP/s / 2 (Ampere Tensor cores: fp16 at half the int8 rate), at 625 MHz"
    fp32 = f"{cuda_cores} CUDA cores x {{clock}} x 2 (one FMA)"
    return (
        Peak(THIS_BOARD, "gpu", "int8", dense_int8, PUBLISHED, _ORIN_NANO_DS, int8, note=_SPARSE_NOTE, **kw),
        Peak(THIS_BOARD, "gpu", "fp16", dense_int8 / 2, DERIVED, _ORIN_NANO_DS, fp16, **kw),
        Peak(THIS_BOARD, "gpu", "fp32", cuda_cores * 0.625 * 2, DERIVED, _ORIN_NANO_DS, fp32, **kw),
    )


# ---------- files and nodes shared by a family ----------

#: DEVICE=auto families: a lower-case model string with every substring of one group belongs to it
FAMILY_JETSON, FAMILY_PI = "jetson", "raspberry pi"
FAMILIES: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    # "NVIDIA Jetson Nano Developer Kit", and a Nano whose model string lost the word "Jetson"
    FAMILY_JETSON: (("jetson",), ("nvidia", "nano")),
    FAMILY_PI: (("raspberry pi",),),
}
#: the Pi family's catch-all: any Pi no record names gets the Pi 4's profile (a Pi 3 included: noticed, left as is)
PI_FALLBACK = "rpi4"

#: Raspberry Pi firmware's ``get_throttled`` (raspberrypi/linux drivers/firmware/raspberrypi.c, printed as ``%x``):
#: found through the driver's folder (the firmware node is ``soc/soc:firmware`` on the Pi 4 but under
#: ``soc@107c000000`` on the Pi 5: arch/arm64/boot/dts/broadcom/bcm2712.dtsi + bcm2712-rpi.dtsi), then the Pi 4's path
_PI_THROTTLED_DRIVER = "sys/bus/platform/drivers/raspberrypi-firmware/*/get_throttled"
_PI4_THROTTLED = "sys/devices/platform/soc/soc:firmware/get_throttled"

#: L4T release and the nvpmodel power mode with its names (read by bench.accelerators; jetson_stats
#: jtop/core/jetson_variables.py get_nvidia_l4t, jtop/core/nvpmodel.py)
_JETSON_HOST_FILES = ("/etc/nv_tegra_release", "/var/lib/nvpmodel/status", "/etc/nvpmodel.conf")
#: INA3221 driver trees (JetPack 4 IIO ``ina3221x``, JetPack 5/6 hwmon ``ina3221``; Docker's read-only /sys shows
#: them already, the explicit mount keeps them under a runtime that masks more of /sys) and the jtop service's socket
INA3221_IIO = "/sys/bus/i2c/drivers/ina3221x"
INA3221_HWMON = "/sys/bus/i2c/drivers/ina3221"
JTOP_SOCKET = "/run/jtop.sock"
_JETSON_POWER = ((INA3221_IIO, INA3221_IIO), (INA3221_HWMON, INA3221_HWMON), (JTOP_SOCKET, JTOP_SOCKET))
#: GPU nodes the nvidia runtime passes in (JetPack 4: /dev/nvhost-*, /dev/nvmap; JetPack 6: /dev/nvgpu/igpu0/*),
#: group video on L4T
_JETSON_GPU_NODES = (
    "/dev/nvhost-ctrl",
    "/dev/nvhost-ctrl-gpu",
    "/dev/nvhost-gpu",
    "/dev/nvmap",
    "/dev/nvgpu/igpu0/ctrl",
)
#: devfreq device names of Jetson GPUs (jetson_stats jtop/core/gpu.py KNOWN_GPU_DEVICE_NAMES)
JETSON_GPU_NAMES = ("gv11b", "gp10b", "ga10b", "gb10b", "gpu")
#: thermal zones whose type contains one of these are skipped, as jtop does (jtop/core/temperature.py): the Nano's
#: ``PMIC-Die`` reads a fixed 100 C, which would set the maximum and mark every run throttled
SKIPPED_ZONE_TYPES = ("PMIC",)

#: RAPL on a workstation: Docker masks /sys/devices/virtual/powercap (CVE-2020-8694), where /sys/class/powercap's
#: links point, so the real folder is mounted where bench/power/rapl.py also looks
RAPL_MOUNT = ("/sys/devices/virtual/powercap", "/run/edgebench/powercap")

# ---------- the table ----------

GENERIC = Board(
    "generic",
    "any machine without a known device-tree model (a workstation)",
    profile="host",
    power_sensors=(RAPL_MOUNT,),
    latencies=(Latency(THIS_BOARD, "coral", "mobilenetv2", 2.6, _CORAL_BENCH),),  # the Coral on a desktop host
)

BOARDS: Tuple[Board, ...] = (
    Board(
        "rpi4",
        "Raspberry Pi 4: BCM2711, 4x Cortex-A72 at 1.5 GHz (boards from 2020 on, and firmware since, run 1.8 GHz)",
        model_contains=("Raspberry Pi 4",),
        profile="rpi4",
        family=FAMILY_PI,
        throttle_files=(_PI_THROTTLED_DRIVER, _PI4_THROTTLED),
        peaks=(_cpu("fp32", 4, 1500.0, 8, _A72, note="1 FMLA.4S per cycle; 57.6 at 1.8 GHz"),),
        latencies=(_CORAL_ON_A_PI,),
    ),
    Board(
        "rpi5",
        "Raspberry Pi 5: BCM2712, 4x Cortex-A76 at 2.4 GHz",
        model_contains=("Raspberry Pi 5",),
        profile="rpi5",
        family=FAMILY_PI,
        auto_contains=("raspberry pi 5",),
        throttle_files=(_PI_THROTTLED_DRIVER,),
        # PMIC rails through `vcgencmd pmic_read_adc` (the host's binary: the Debian-based image has no raspi-utils),
        # which asks the firmware through a mailbox node, opened O_RDONLY then ioctl (raspberrypi/utils
        # vcgencmd/vcgencmd.c mbox_open; it links only libc): newer vcgencmd opens /dev/vcio_gencmd first and falls
        # back to /dev/vcio, so both are given, read-only, where present
        power_sensors=(("/usr/bin/vcgencmd", "/usr/bin/vcgencmd"),),
        sensor_devices=("/dev/vcio_gencmd", "/dev/vcio"),
        latencies=(_CORAL_ON_A_PI,),
        peaks=(
            _cpu("fp32", 4, 2400.0, 16, _A76_FP, note="2 FMLA.4S per cycle"),
            _cpu(
                "int8",
                4,
                2400.0,
                64,
                _A76_DOT,
                note="2 SDOT.4S per cycle; reached only by kernels that use SDOT (XNNPACK and ONNX Runtime's QGEMM do)",
            ),
        ),
    ),
    Board(
        "jetson-nano",
        "Jetson Nano: 4x Cortex-A57 at 1.43 GHz; GPU 128 Maxwell cores at 921.6 MHz, fp16 at twice the fp32 rate",
        model_contains=("Jetson Nano",),
        profile="jetson-nano",
        family=FAMILY_JETSON,
        auto_contains=("nano",),
        l4t_major=32,
        jetpack="4",
        tensorrt="8.2",  # JetPack 4.6.1 (L4T r32.7.1, the image's base; 4.6 had 8.0.1): TensorRT 8.2.1
        # whose ONNX parser reads opsets 7 to 13 (onnx/onnx-tensorrt docs/operators.md at release/8.2-GA)
        tensorrt_max_opset=13,
        l4t_unknown_ok=True,  # a Nano without /etc/nv_tegra_release readable is still a Nano: only JetPack 4 runs on it
        host_files=_JETSON_HOST_FILES,
        power_sensors=_JETSON_POWER,
        device_nodes=_JETSON_GPU_NODES,
        device_groups=("video",),
        # NVIDIA, "Jetson Nano: deep learning inference benchmarks": ResNet-50 224x224 with TensorRT FP16 at 36 FPS
        # (about 28 ms), nvpmodel MAXN with jetson_clocks
        latencies=(
            Latency(THIS_BOARD, "tensorrt-fp16", "resnet50", 28.0, "NVIDIA Jetson Nano inference benchmarks, MAXN"),
        ),
        peaks=(
            _cpu("fp32", 4, 1430.0, 8, _A57, note="1 FMLA.4S per cycle"),
            Peak(
                THIS_BOARD,
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
                THIS_BOARD,
                "gpu",
                "fp16",
                472.0,
                PUBLISHED,
                _NANO_DS,
                "472 GOP/s at 921.6 MHz (128 CUDA cores x 2 x 2, half2)",
                mhz=921.6,
                scales_with="gpu",
            ),
        ),
    ),
    Board(
        "jetson-orin",
        "Jetson Orin (Orin Nano/NX/AGX); peaks for the Orin Nano 8GB (the developer kit's module) and 4GB only: no data "
        "sheet was read here for Orin NX and AGX Orin, so a run there names the gap",
        # "NVIDIA Jetson Orin Nano Developer Kit" contains "Nano" but not "Jetson Nano"
        model_contains=("Jetson Orin", "Jetson AGX Orin"),
        profile="jetson-orin",
        family=FAMILY_JETSON,
        auto_contains=("orin",),
        l4t_major=36,  # images/jetson-orin: l4t-jetpack r36 (CUDA 12.6 userspace); a JetPack 5 board cannot run it
        jetpack="6",
        # l4t-jetpack r36.4 = JetPack 6.1/6.2: TensorRT 10.3 (pytorch/TensorRT docsrc "Torch-TensorRT in JetPack 6.1")
        tensorrt="10.3",
        l4t_from=35,  # R35/R36 are JetPack 5/6 (Orin, Xavier): R32 is JetPack 4 (Nano, TX1/TX2)
        host_files=_JETSON_HOST_FILES,
        power_sensors=_JETSON_POWER,
        device_nodes=_JETSON_GPU_NODES,
        device_groups=("video",),
        # at the data sheet's 625 MHz GPU clock; the power mode sets the real one, so every figure scales with the
        # GPU's max clock
        peaks=(*_orin("8gb", 20000.0, 1024), *_orin("4gb", 10000.0, 512)),
        # NVIDIA's Jetson Orin Nano "Super" (JetPack 6.2) MAXN_SUPER mode runs the Orin Nano GPU at up to 1020 MHz
        power_mode_gpu_mhz=(("MAXN_SUPER", 1020.0),),
        memory_4gb_below_mb=6000.0,  # the 8 GB module reports about 7.4 GiB
    ),
)

#: the Coral USB Accelerator. It re-enumerates (1a6e:089a Global Unichip -> 18d1:9302 Google) when libedgetpu loads
#: its firmware (google-coral/libedgetpu debian/edgetpu-accelerator.rules), so a single --device node would go stale:
#: the USB bus is bind-mounted and USB (major 189) allowed by cgroup rule; the udev rule gives its node to plugdev.
CORAL = Accelerator(
    "coral-usb",
    "Coral USB Accelerator",
    usb_ids=("1a6e:089a", "18d1:9302"),
    profile="rpi-coral",
    family=FAMILY_PI,
    device_mounts=("/dev/bus/usb",),
    device_cgroup_rules=("c 189:* rmw",),
    device_groups=("plugdev",),
    # the Edge TPU's peak at libedgetpu1-max's clock; libedgetpu1-std runs it at a reduced clock (datasheet
    # "Performance settings"), so with -std the share is of a peak the device was not allowed
    peaks=(
        Peak(
            ANY_BOARD,
            "tpu",
            "int8",
            4000.0,
            PUBLISHED,
            _CORAL_DS,
            "",
            note="at the maximum clock (libedgetpu1-max); libedgetpu1-std runs the Edge TPU slower",
        ),
    ),
)


def by_id(board_id: str) -> Optional[Board]:
    """The record of ``board_id`` (``generic`` included), None for an id the table does not know."""
    return next((b for b in (*BOARDS, GENERIC) if b.id == board_id), None)


def by_profile(profile: Optional[str]) -> Optional[Board]:
    """The board whose launcher profile is ``profile``, None for a profile of no single board (host, rpi-coral)."""
    return next((b for b in BOARDS if profile and b.profile == profile), None)


def from_model(model: str) -> Board:
    """The board a device-tree model string names, else GENERIC. Records are tried last first (Orin, Nano, Pi 5,
    Pi 4), the order the ids were matched in before this table; no record's substring contains another's, so only a
    string naming two boards would see the order."""
    return next((b for b in reversed(BOARDS) for key in b.model_contains if key in model), GENERIC)


def all_peaks() -> Tuple[Peak, ...]:
    """Every board's peaks in the table's order, then the accelerators'."""
    return tuple(p for b in (*BOARDS, CORAL) for p in b.peaks)


def all_latencies() -> Tuple[Latency, ...]:
    """Every published latency: the workstation's first, then the boards' in the table's order."""
    return tuple(x for b in (GENERIC, *BOARDS) for x in b.latencies)


def throttle_globs() -> Tuple[str, ...]:
    """Every board's throttle flag files in the table's order, each once: a container may not know its board."""
    return tuple(dict.fromkeys(g for b in BOARDS for g in b.throttle_files))


def in_family(family: str) -> Tuple[Board, ...]:
    return tuple(b for b in BOARDS if b.family == family)
