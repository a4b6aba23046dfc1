"""The one small interface every runtime implements: load, prepare, invoke, fetch, close; and the facts it declares.

A runtime's facts are plain class attributes (what it loads, what it is converted to, where its arithmetic runs, its
selfcheck, its delegates, what ``--threads`` means for it): every other module reads them through the registry
(:mod:`bench.runtimes`), so a runtime's name is a key only in its own module, its presets and its image.

The harness owns the clock. A runtime never times itself: the harness calls ``prepare`` (copy the
input in), ``invoke`` (the runtime call alone) and ``fetch`` (copy the output out) and times them.
Heavy framework imports happen only inside each runtime module.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from bench.errors import InputError


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape (batch dimension included, ``-1`` for dynamic), numpy dtype name and quantization."""

    name: str
    shape: Tuple[int, ...]
    dtype: str
    scale: Optional[float] = None
    zero_point: Optional[int] = None

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.scale > 0 and self.dtype in ("int8", "uint8", "int16")

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "scale": self.scale,
            "zero_point": self.zero_point,
        }


#: where a runtime's (or a delegate's) arithmetic runs
DEVICES = ("cpu", "gpu", "tpu", "npu")


@dataclass(frozen=True)
class Delegate:
    """A value of ``--delegate`` a runtime applies, and what it changes."""

    name: str
    #: where the arithmetic runs with it (cpu, gpu, tpu, npu)
    device: str = "cpu"
    #: needs a vendor library or device a plain CPU machine lacks (set apart in compare charts)
    accelerator: bool = False
    #: its name in `bench selfcheck`, or None when it needs nothing beyond its runtime
    selfcheck: Optional[str] = None
    #: the selfcheck probe: returns versions or raises
    probe: Optional[Callable[[], Dict[str, str]]] = None


@dataclass(frozen=True)
class RuntimeOptions:
    """What the user asked of a runtime. Plain frozen data."""

    threads: Optional[int] = None
    delegate: Optional[str] = None  # tflite: xnnpack, armnn, edgetpu, none
    model_class_path: Optional[Path] = None  # pytorch state_dict
    model_class_name: Optional[str] = None
    input_shape: Optional[Tuple[int, ...]] = None  # batch included; for runtimes that cannot tell (pytorch)
    extra: Dict[str, Any] = field(default_factory=dict)


class Runtime(abc.ABC):
    """A loaded model in one framework, ready to run single inferences at batch size 1."""

    #: registry name (``--framework``, a preset's framework), e.g. "onnx"
    name: str = ""
    #: model formats (bench.formats names) this runtime loads directly
    formats: Tuple[str, ...] = ()
    #: the format a model is converted to for it; None: nothing converts to it
    target: Optional[str] = None
    #: formats it is the runtime of when no framework is named (a conversion's fidelity check runs them on it)
    default_for: Tuple[str, ...] = ()
    #: the file name ending of a model converted for it (conversion cache, ``launcher chain``); None: not converted
    model_suffix: Optional[str] = None
    #: where its arithmetic runs: cpu, gpu, tpu or npu (a delegate may move it: :attr:`Delegate.device`)
    device: str = "cpu"
    #: it needs a vendor library or device a plain CPU machine lacks (set apart in compare charts)
    accelerator: bool = False
    #: its name in `bench selfcheck` (and the images' selfcheck.txt); "" = :attr:`name`. The probe: :meth:`probe`
    selfcheck: str = ""
    #: more selfcheck probes it needs, name -> probe (e.g. TensorRT's pycuda)
    extra_checks: Dict[str, Callable[[], Dict[str, str]]] = {}
    #: values of --delegate this runtime applies; empty: it takes no delegate (see :meth:`validate`)
    delegates: Tuple[str, ...] = ()
    #: each delegate's facts (device, accelerator, selfcheck), by name
    delegate_facts: Dict[str, Delegate] = {}
    #: what ``--threads N`` sets in it
    threads_meaning: str = ""
    #: ``describe()["precision"]`` is the precision its arithmetic runs in (bench.peak_share takes it as it is)
    reports_precision: bool = False
    #: an ONNX model is built into its own format on the device, at load, in the conversion's precision
    builds_on_device: bool = False
    #: `edgebench verify`: precision -> kind of its shipped model it runs without a conversion (else the ONNX model)
    verify_files: Dict[str, str] = {}
    #: its place among the original evaluate.py's framework choices (bench.legacy); None: not one of them
    original_cli_rank: Optional[int] = None

    input: TensorSpec
    output: TensorSpec

    @classmethod
    def validate(cls, options: RuntimeOptions) -> None:
        """Refuse settings this runtime would ignore, before any work (optimum-benchmark style: each backend
        validates its own settings). Raises InputError (exit 2) naming the problem and the fix."""
        if options.delegate is None or options.delegate in cls.delegates:
            return
        if cls.delegates:
            raise InputError(
                f"--delegate {options.delegate} does not apply to {cls.name}",
                f"use one of: {', '.join(cls.delegates)}",
            )
        raise InputError(
            f"--delegate {options.delegate} does not apply to {cls.name}, which takes no delegate",
            "drop --delegate, or use --framework tflite for TFLite delegates",
        )

    @classmethod
    def probe(cls) -> Dict[str, str]:
        """`bench selfcheck`'s probe: the versions of what it needs, imported; raises when it is missing.
        Default: the ``probe()`` function of the runtime's own module."""
        import importlib

        return importlib.import_module(cls.__module__).probe()

    @classmethod
    def check_name(cls) -> str:
        return cls.selfcheck or cls.name

    def setup(self) -> None:
        """Import the framework. Timed on its own (``import_ms``), so ``load_ms`` is the model alone."""

    @abc.abstractmethod
    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        """Load the model; set ``self.input`` and ``self.output``. Raise a BenchError on failure."""

    @abc.abstractmethod
    def prepare(self, x: Any) -> None:
        """Copy one input (numpy array, batch dimension included, already in the input dtype) in."""

    @abc.abstractmethod
    def invoke(self) -> None:
        """Run the model once on the prepared input. This call alone is the ``invoke`` latency."""

    @abc.abstractmethod
    def fetch(self) -> Any:
        """Return the output of the last ``invoke`` as a numpy array (raw dtype, not dequantized)."""

    def close(self) -> None:
        """Release the model. Default: nothing to do."""

    @abc.abstractmethod
    def versions(self) -> Dict[str, str]:
        """Versions of the framework and libraries this runtime uses, e.g. {"onnxruntime": "1.32.0"}."""

    def describe(self) -> Dict[str, Any]:
        """Runtime facts for the record (provider, delegate, threads actually used)."""
        return {}

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
