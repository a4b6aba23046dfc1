"""The types of the board table (bench/boards.py): a board, an accelerator, a peak and a published latency, and the
names their fields take. Frozen dataclasses, no I/O; the records themselves live in bench/boards.py."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple

PUBLISHED, DERIVED, MEASURED = "published", "derived", "measured"
KINDS = (PUBLISHED, DERIVED, MEASURED)
DEVICES = ("cpu", "gpu", "tpu")
PRECISIONS = ("fp32", "fp16", "int8")

#: a peak's ``board`` inside a board's record: the record fills in its own id
THIS_BOARD = ""
#: a peak's ``board`` for an accelerator that applies on any host board (the Coral USB Accelerator)
ANY_BOARD = "*"
#: a published latency holds a run within this factor either way (``edgebench verify``): wide on purpose, it catches a
#: path that fell back to the CPU or clocks stuck low, not a 10 % drift
LATENCY_BOUND = 3.0


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


@dataclass(frozen=True)
class Latency:
    """A vendor's published batch-1 latency of a preset on a board, for its own model (``edgebench verify``)."""

    board: str  # board id (THIS_BOARD inside a board's record); "*": any board, a fallback (bench.verify_timing)
    preset: str
    model: str  # the figure's own model (bench.models.zoo name)
    ms: float
    source: str
    bound: float = LATENCY_BOUND  #: p50 within [ms / bound, ms * bound]


@dataclass(frozen=True)
class Board:
    """One kind of board. Paths are absolute on the host; readers in bench prefix them with their root."""

    id: str  #: recorded as ``machine.board.id``; the key of its peaks
    name: str
    #: substrings of /proc/device-tree/model that name it (bench.machine; case as the firmware writes it)
    model_contains: Tuple[str, ...] = ()
    #: the launcher profile DEVICE=auto gives it (launcher.detect); None: no profile of its own
    profile: Optional[str] = None
    #: DEVICE=auto: the vendor family it belongs to (``FAMILY_*``) and lower-case model substrings naming it there
    family: str = ""
    auto_contains: Tuple[str, ...] = ()
    #: Jetson: the L4T major release its image is built on, and the JetPack that ships it
    l4t_major: Optional[int] = None
    jetpack: str = ""
    #: Jetson: the TensorRT its JetPack ships, and the highest ONNX opset that TensorRT's parser reads when it is below
    #: the exporter's default (a conversion made on the workstation for this board exports at it)
    tensorrt: str = ""
    tensorrt_max_opset: Optional[int] = None
    #: Jetson: an L4T major release from this one on is this board's generation, whatever the model string says
    l4t_from: Optional[int] = None
    #: Jetson: DEVICE=auto still takes the model string when no /etc/nv_tegra_release is readable
    l4t_unknown_ok: bool = False
    #: host files that say what decides its numbers (firmware/L4T facts), mounted read-only at the same path
    host_files: Tuple[str, ...] = ()
    #: throttle flag files (globs, under the root), searched in this order
    throttle_files: Tuple[str, ...] = ()
    #: power-sensor paths (host, container), bind-mounted read-only where present (bench/power reads them)
    power_sensors: Tuple[Tuple[str, str], ...] = ()
    #: device nodes a power sensor's tool opens, given read-only where present
    sensor_devices: Tuple[str, ...] = ()
    #: device nodes its accelerator is opened through, whose host groups the container user is given
    device_nodes: Tuple[str, ...] = ()
    #: the image groups those nodes belong to
    device_groups: Tuple[str, ...] = ()
    peaks: Tuple[Peak, ...] = ()
    #: published latencies of presets on it (verify's timing check)
    latencies: Tuple[Latency, ...] = ()
    #: power modes whose GPU clock (MHz) is known when devfreq cannot be read
    power_mode_gpu_mhz: Tuple[Tuple[str, float], ...] = ()
    #: a board with less memory than this (MemTotal, MB) is the 4 GB module, else the 8 GB one; None: one module
    memory_4gb_below_mb: Optional[float] = None

    def __post_init__(self) -> None:
        for field in ("peaks", "latencies"):
            own = getattr(self, field)
            stamped = tuple(dataclasses.replace(x, board=self.id) if x.board == THIS_BOARD else x for x in own)
            object.__setattr__(self, field, stamped)


@dataclass(frozen=True)
class Accelerator:
    """An accelerator plugged into a board (not a board of its own): how it shows in sysfs and what it needs."""

    id: str
    name: str
    #: USB vendor:product as sysfs spells it (lower case)
    usb_ids: Tuple[str, ...]
    #: DEVICE=auto gives this profile to a board of ``family`` with the accelerator plugged in
    profile: str
    family: str
    #: host folders bind-mounted read-write at the same path (a device that re-enumerates), and device cgroup rules
    device_mounts: Tuple[str, ...] = ()
    device_cgroup_rules: Tuple[str, ...] = ()
    #: the image groups its nodes belong to under its udev rule
    device_groups: Tuple[str, ...] = ()
    peaks: Tuple[Peak, ...] = ()
