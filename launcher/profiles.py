"""Device profiles: plain frozen data saying which image a board runs and what the container gets.

A profile names a bake target (the image ``<registry>/edgebench-<target>:<version>``), the platform the image is
built for, and the container options the board needs. The board's own files and nodes (host facts, power sensors,
device nodes and their groups; the Coral's USB bus and cgroup rule) come from its record in bench.boards; what is
only Docker's (image, platform, runtime, engine-cache volume, emulation) is declared here. Nothing here talks to
Docker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

from bench import boards

# the Coral's USB vendor:product IDs, under the name the launcher's callers import (bench.boards.CORAL)
CORAL_USB_IDS = boards.CORAL.usb_ids

__all__ = ["CORAL_USB_IDS", "ENGINE_CACHE_DIR", "JETSON_HOST_FILES", "PROFILES", "Emulation", "Profile", "get"]

#: where the TensorRT engine cache volume is mounted in the Jetson images (the image creates it owned by uid 1000,
#: so a new named volume starts with that owner); the container gets it as EDGEBENCH_ENGINE_CACHE
ENGINE_CACHE_DIR = "/work/engine-cache"
#: where every profile's edgebench cache volume (``edgebench-cache-<profile>``) is mounted: the CPU peak measured once
#: per board (bench/cpupeak.py) lives there between containers; the images create it owned by the image user, so a
#: new named volume starts with that owner; the container gets it as EDGEBENCH_CACHE_DIR
BENCH_CACHE_DIR = "/work/cache"

_BY_ID = {b.id: b for b in (*boards.BOARDS, boards.GENERIC)}
#: host files that say what decides Jetson numbers (L4T release, nvpmodel power mode and its names), read-only
JETSON_HOST_FILES = _BY_ID["jetson-nano"].host_files


def _pis() -> Tuple[str, ...]:
    return tuple(b.id for b in boards.in_family(boards.FAMILY_PI))


def _files_of(board: Union[boards.Board, boards.Accelerator]) -> Dict[str, Any]:
    """The Profile fields a board's (or accelerator's) record decides: its host files, power sensors and sensor
    nodes, device nodes and their groups; an accelerator's mounts, cgroup rules and groups, and the boards of its
    family."""
    if isinstance(board, boards.Accelerator):
        return {
            "boards": tuple(b.id for b in boards.in_family(board.family)),
            "device_mounts": board.device_mounts,
            "device_cgroup_rules": board.device_cgroup_rules,
            "needs_coral": board is boards.CORAL,
            "groups": board.device_groups,
        }
    return {
        "boards": (board.id,),
        "host_files": board.host_files,
        "sensors": board.power_sensors,
        "sensor_devices": board.sensor_devices,
        "group_nodes": board.device_nodes,
        "groups": board.device_groups,
    }


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
    #: the board ids (bench.boards; ``generic`` for a workstation) the image is for: `fleet status` checks them
    boards: Tuple[str, ...] = ()

    @property
    def cache_volume(self) -> Optional[str]:
        return f"edgebench-trt-cache-{self.name}" if self.engine_cache else None

    @property
    def bench_cache_volume(self) -> str:
        return f"edgebench-cache-{self.name}"

    @property
    def arch(self) -> Optional[str]:
        return self.platform.split("/")[1] if self.platform else None


PROFILES: Dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "host",
            "host",
            None,
            "this workstation: every runtime and the conversion toolchain",
            **_files_of(boards.GENERIC),
        ),
        Profile(
            "rpi4",
            "rpi",
            "linux/arm64",
            "Raspberry Pi 4 (Cortex-A72): LiteRT, ONNX Runtime, torch CPU",
            emulated_cpu="cortex-a72",
            **_files_of(_BY_ID["rpi4"]),
        ),
        Profile(
            "rpi5",
            "rpi",
            "linux/arm64",
            "Raspberry Pi 5 (Cortex-A76): LiteRT, ONNX Runtime, torch CPU",
            emulated_cpu="cortex-a72",  # qemu 7.2 has no cortex-a76 model; the A72 runs the same code paths
            **_files_of(_BY_ID["rpi5"]),
        ),
        Profile(
            "rpi-armnn",
            "rpi-armnn",
            "linux/arm64",
            "Raspberry Pi 4/5 with ARM NN (pyarmnn CpuAcc, TFLite delegate)",
            emulated_cpu="cortex-a72",
            boards=_pis(),
        ),
        Profile(
            "rpi-coral",
            "rpi-coral",
            "linux/arm64",
            "Coral USB Accelerator on a Raspberry Pi: Python 3.9, tflite-runtime, libedgetpu, pycoral",
            emulated_cpu="cortex-a72",
            **_files_of(boards.CORAL),
        ),
        Profile(
            "jetson-nano",
            "jetson-nano",
            "linux/arm64",
            "Jetson Nano: L4T r32.7.1, TensorRT 8.2, pycuda",
            runtime="nvidia",
            engine_cache=ENGINE_CACHE_DIR,
            **_files_of(_BY_ID["jetson-nano"]),
        ),
        Profile(
            "jetson-orin",
            "jetson-orin",
            "linux/arm64",
            "Jetson Orin (Orin Nano/NX/AGX): L4T r36 (JetPack 6), TensorRT 10, Python 3.10",
            runtime="nvidia",
            engine_cache=ENGINE_CACHE_DIR,
            **_files_of(_BY_ID["jetson-orin"]),
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
    from launcher.errors import LauncherError

    if name not in PROFILES:
        raise LauncherError(f"unknown device {name!r}", f"use one of: auto, {', '.join(PROFILES)}")
    return PROFILES[name]
