"""Device profiles: plain frozen data saying which image a board runs and what the container gets.

A profile names a bake target (the image ``<registry>/edgebench-<target>:<version>``), the platform the image is
built for, and the container options the board needs. Nothing here talks to Docker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

# USB vendor:product IDs of a Coral USB Accelerator, before (Global Unichip) and after (Google) its firmware loads:
# defined once, in the machine module the images carry too.
from bench.machine import CORAL_USB_IDS

__all__ = ["CORAL_USB_IDS", "ENGINE_CACHE_DIR", "JETSON_HOST_FILES", "PROFILES", "Emulation", "Profile", "get"]

#: where the TensorRT engine cache volume is mounted in the Jetson images (the image creates it owned by uid 1000,
#: so a new named volume starts with that owner); the container gets it as EDGEBENCH_ENGINE_CACHE
ENGINE_CACHE_DIR = "/work/engine-cache"

#: host files that say what decides Jetson numbers (L4T release, nvpmodel power mode and its names), read-only;
#: bench/machine.py reads them (sources named there)
JETSON_HOST_FILES = ("/etc/nv_tegra_release", "/var/lib/nvpmodel/status", "/etc/nvpmodel.conf")

#: power sensors (bench/power), (host path, container path), bind-mounted read-only when present on a local engine.
#: Jetson: the INA3221 driver trees (JetPack 4 IIO, JetPack 5/6 hwmon; Docker's read-only /sys shows them already,
#: the explicit mount keeps them under a runtime that masks more of /sys) and the jtop service's socket.
JETSON_SENSORS = (
    ("/sys/bus/i2c/drivers/ina3221x", "/sys/bus/i2c/drivers/ina3221x"),
    ("/sys/bus/i2c/drivers/ina3221", "/sys/bus/i2c/drivers/ina3221"),
    ("/run/jtop.sock", "/run/jtop.sock"),
)
#: RAPL on a workstation: Docker masks /sys/devices/virtual/powercap (CVE-2020-8694), where /sys/class/powercap's
#: links point, so the real folder is mounted where bench/power/rapl.py also looks
HOST_SENSORS = (("/sys/devices/virtual/powercap", "/run/edgebench/powercap"),)
#: Raspberry Pi 5 PMIC: `vcgencmd pmic_read_adc` (the host's binary: the Debian-based image has no raspi-utils) ...
RPI5_SENSORS = (("/usr/bin/vcgencmd", "/usr/bin/vcgencmd"),)
#: ... which asks the firmware through a mailbox device, opened O_RDONLY then ioctl (raspberrypi/utils
#: vcgencmd/vcgencmd.c mbox_open; it links only libc): newer vcgencmd opens /dev/vcio_gencmd first and falls back to
#: /dev/vcio, so both are given, read-only, where present
RPI5_SENSOR_DEVICES = ("/dev/vcio_gencmd", "/dev/vcio")
#: Jetson GPU device nodes the nvidia runtime passes in (JetPack 4: /dev/nvhost-*, /dev/nvmap; JetPack 6:
#: /dev/nvgpu/igpu0/*), group video on L4T: their host group ids are added to the container user's groups
JETSON_GPU_NODES = (
    "/dev/nvhost-ctrl",
    "/dev/nvhost-ctrl-gpu",
    "/dev/nvhost-gpu",
    "/dev/nvmap",
    "/dev/nvgpu/igpu0/ctrl",
)


@dataclass(frozen=True)
class Profile:
    """How to run edgebench on one kind of device."""

    name: str
    target: str  #: bake target / images/<target> folder
    platform: Optional[str]  #: "linux/arm64"; None: the engine's own architecture
    description: str
    runtime: Optional[str] = None  #: container runtime, e.g. "nvidia"
    #: host paths bind-mounted read-write into the container at the same path (device trees, not files)
    device_mounts: Tuple[str, ...] = ()
    #: device cgroup rules, e.g. "c 189:* rmw" for USB devices that re-enumerate (Coral)
    device_cgroup_rules: Tuple[str, ...] = ()
    needs_coral: bool = False
    #: CPU model an emulated run pretends to be (ARM /proc/cpuinfo file and QEMU_CPU); see Emulation
    emulated_cpu: Optional[str] = None
    env: Tuple[Tuple[str, str], ...] = ()
    #: container path of a named volume ``edgebench-trt-cache-<profile>`` that keeps built TensorRT engines
    #: between runs (an engine build takes minutes on a Nano); None: no cache volume
    engine_cache: Optional[str] = None
    #: host files bind-mounted read-only at the same path when they exist on a local engine (facts for the record)
    host_files: Tuple[str, ...] = ()
    #: power-sensor paths (host, container), bind-mounted read-only when present on a local engine (bench/power)
    sensors: Tuple[Tuple[str, str], ...] = ()
    #: power-sensor device nodes given read-only (``--device PATH:PATH:r``) when present on a local engine
    sensor_devices: Tuple[str, ...] = ()
    #: the image's groups the container user needs for the profile's devices (checked with `id -G` in the images);
    #: the launcher also adds the host device nodes' own group ids (``group_add``), which may differ from the image's
    groups: Tuple[str, ...] = ()
    #: host device nodes (the runtime's or the device mounts') whose group ids the launcher adds, where present
    group_nodes: Tuple[str, ...] = ()

    @property
    def cache_volume(self) -> Optional[str]:
        return f"edgebench-trt-cache-{self.name}" if self.engine_cache else None

    @property
    def arch(self) -> Optional[str]:
        return self.platform.split("/")[1] if self.platform else None


PROFILES: Dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "host", "host", None, "this workstation: every runtime and the conversion toolchain", sensors=HOST_SENSORS
        ),
        Profile(
            "rpi4",
            "rpi",
            "linux/arm64",
            "Raspberry Pi 4 (Cortex-A72): LiteRT, ONNX Runtime, torch CPU",
            emulated_cpu="cortex-a72",
        ),
        Profile(
            "rpi5",
            "rpi",
            "linux/arm64",
            "Raspberry Pi 5 (Cortex-A76): LiteRT, ONNX Runtime, torch CPU",
            emulated_cpu="cortex-a72",  # qemu 7.2 has no cortex-a76 model; the A72 runs the same code paths
            sensors=RPI5_SENSORS,
            sensor_devices=RPI5_SENSOR_DEVICES,
        ),
        Profile(
            "rpi-armnn",
            "rpi-armnn",
            "linux/arm64",
            "Raspberry Pi 4/5 with ARM NN (pyarmnn CpuAcc, TFLite delegate)",
            emulated_cpu="cortex-a72",
        ),
        Profile(
            "rpi-coral",
            "rpi-coral",
            "linux/arm64",
            "Coral USB Accelerator on a Raspberry Pi: Python 3.9, tflite-runtime, libedgetpu, pycoral",
            # The Coral re-enumerates (1a6e:089a -> 18d1:9302) when libedgetpu loads its firmware, so a single
            # --device node would go stale: the USB bus is bind-mounted and USB (major 189) allowed by cgroup rule.
            device_mounts=("/dev/bus/usb",),
            device_cgroup_rules=("c 189:* rmw",),
            needs_coral=True,
            groups=("plugdev",),  # libedgetpu's udev rule gives the Coral's node to plugdev
            emulated_cpu="cortex-a72",
        ),
        Profile(
            "jetson-nano",
            "jetson-nano",
            "linux/arm64",
            "Jetson Nano: L4T r32.7.1, TensorRT 8.2, pycuda",
            runtime="nvidia",
            engine_cache=ENGINE_CACHE_DIR,
            host_files=JETSON_HOST_FILES,
            sensors=JETSON_SENSORS,
            groups=("video",),
            group_nodes=JETSON_GPU_NODES,
        ),
        Profile(
            "jetson-orin",
            "jetson-orin",
            "linux/arm64",
            "Jetson Orin (Orin Nano/NX/AGX): L4T r36 (JetPack 6), TensorRT 10, Python 3.10",
            runtime="nvidia",
            engine_cache=ENGINE_CACHE_DIR,
            host_files=JETSON_HOST_FILES,
            sensors=JETSON_SENSORS,
            groups=("video",),
            group_nodes=JETSON_GPU_NODES,
        ),
    )
}


@dataclass(frozen=True)
class Emulation:
    """Running an arm64 image on an x86 engine through qemu-user binfmt. Chosen explicitly, never guessed.

    * ``--init``: a process that crashes as PID 1 under qemu hangs the container forever; tini reaps and exits.
    * an ARM ``/proc/cpuinfo`` bind-mounted read-only: onnxruntime >= 1.28 and XNNPACK read the host's x86 cpuinfo
      under qemu-user 7.2 and crash.
    * ``QEMU_CPU``: the A72 model ran about 2.7x faster than qemu's default.

    Timings under emulation say nothing about the real board.
    """

    cpu: str

    @property
    def cpuinfo_file(self) -> str:
        return f"{self.cpu}.txt"


def get(name: str) -> Profile:
    from bench.errors import LauncherError

    if name not in PROFILES:
        raise LauncherError(f"unknown device {name!r}", f"use one of: auto, {', '.join(PROFILES)}")
    return PROFILES[name]
