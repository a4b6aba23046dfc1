"""The one small interface every runtime implements: load, prepare, invoke, fetch, close.

The harness owns the clock. A runtime never times itself: the harness calls ``prepare`` (copy the
input in), ``invoke`` (the runtime call alone) and ``fetch`` (copy the output out) and times them.
Heavy framework imports happen only inside each runtime module.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

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

    #: registry name, e.g. "onnx"
    name: str = ""
    #: model formats (bench.formats names) this runtime loads directly
    formats: Tuple[str, ...] = ()
    #: values of --delegate this runtime applies; empty: it takes no delegate (see :meth:`validate`)
    delegates: Tuple[str, ...] = ()

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
