"""Load and validate the `.npz` data, and adapt it to a model's input tensor.

``x_data`` holds inputs without the batch dimension, ``y_data`` the targets. Float data given to an
int8/uint8 model is quantized with the input tensor's scale and zero point, rounded half away from
zero (as TFLite's own Quantize op) and clipped to the dtype's range, once per inference inside the
timed end-to-end region. Outputs of quantized models are dequantized before metrics.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from bench.errors import DataError
from bench.hashing import sha256_path
from bench.runtimes.base import TensorSpec

log = logging.getLogger(__name__)


@dataclass
class Dataset:
    x: np.ndarray
    y: Optional[np.ndarray]
    path: Path
    keys: List[str]
    sha256: str = ""


def load_npz(path: Path, require_y: bool = True) -> Dataset:
    """Read ``x_data``/``y_data`` by name with ``allow_pickle=False``; a file with exactly two other
    arrays is read in order, with a warning. Checks: same length, non-empty, numeric."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} not found", "give an .npz with x_data and y_data arrays")
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"data file {path} is not an .npz archive", "save it with numpy.savez(path, x_data=..., y_data=...)"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            if "x_data" in keys:
                x = npz["x_data"]
                y = npz["y_data"] if "y_data" in keys else None
            elif len(keys) == 2:
                log.warning("%s has no x_data/y_data; reading %s as inputs and %s as targets, in order", path, *keys)
                x, y = npz[keys[0]], npz[keys[1]]
            else:
                raise DataError(
                    f"data file {path} has arrays {keys}, not x_data and y_data",
                    "save it with numpy.savez(path, x_data=inputs, y_data=targets)",
                )
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                f"data file {path} holds pickled (object) arrays, which are not loaded for safety",
                "save plain numeric arrays (e.g. numpy.asarray(x, dtype=numpy.float32))",
            ) from exc
        raise DataError(f"data file {path} could not be read: {exc}", "re-save it with numpy.savez") from exc
    if y is None and require_y:
        raise DataError(f"data file {path} has x_data but no y_data", "add the targets as y_data")
    _check_numeric(x, "x_data", path)
    if x.ndim == 0 or len(x) == 0:
        raise DataError(f"x_data in {path} is empty", "store at least one sample")
    if y is not None:
        _check_numeric(y, "y_data", path)
        if y.ndim == 0 or len(y) != len(x):
            raise DataError(
                f"x_data has {len(x)} samples but y_data has {0 if y.ndim == 0 else len(y)} in {path}",
                "give one target per input sample",
            )
    return Dataset(x=x, y=y, path=path, keys=keys, sha256=sha256_path(path))


def _check_numeric(a: np.ndarray, name: str, path: Path) -> None:
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or np.issubdtype(a.dtype, np.complexfloating):
        raise DataError(
            f"{name} in {path} has dtype {a.dtype}, not a real number type", f"store {name} as float or int"
        )


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: str) -> np.ndarray:
    """Float -> integer with ``round(x / scale) + zero_point``, rounded half away from zero, clipped."""
    info = np.iinfo(dtype)
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    v = np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)) + zero_point
    return np.clip(v, info.min, info.max).astype(dtype)


def dequantize(y: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Integer output -> float32 with the tensor's scale and zero point; float outputs pass through."""
    if spec.quantized:
        return (y.astype(np.float32) - np.float32(spec.zero_point or 0)) * np.float32(spec.scale)
    return y


def _shape_matches(sample_shape: Tuple[int, ...], want: Tuple[int, ...]) -> bool:
    return len(sample_shape) == len(want) and all(w in (-1, None) or w == s for s, w in zip(sample_shape, want))


@dataclass
class Adapted:
    """Inputs ready for a model: ``x`` is (N, *input shape without batch) in the runtime's dtype, or
    float32 still to be quantized per sample when ``quantize`` is set."""

    x: np.ndarray
    spec: TensorSpec
    quantize: bool = False
    transposed: Optional[Tuple[int, ...]] = None
    notes: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, i: int) -> np.ndarray:
        """Input ``i`` with a batch dimension of 1, in the model's input dtype (quantized when needed)."""
        xi = self.x[i : i + 1]
        if self.quantize:
            return quantize(xi, self.spec.scale, self.spec.zero_point or 0, self.spec.dtype)
        return xi

    def batches(self) -> List[np.ndarray]:
        """Every sample as a batch-1 view (no copies); only valid when ``quantize`` is off."""
        return [self.x[i : i + 1] for i in range(len(self.x))]


def adapt(x: np.ndarray, spec: TensorSpec) -> Adapted:
    """Check ``x`` against the model input and cast it; transpose NCHW<->NHWC when only that fits."""
    want = tuple(spec.shape[1:]) if spec.shape else ()
    notes: List[str] = []
    transposed = None
    sample_shape = tuple(x.shape[1:])
    if spec.shape and not _shape_matches(sample_shape, want):
        if len(sample_shape) == len(spec.shape) and sample_shape[0] == 1 and _shape_matches(sample_shape[1:], want):
            x = x.reshape((len(x),) + sample_shape[1:])  # samples stored with a batch dimension of 1
            notes.append("x_data samples carried a batch dimension of 1; dropped")
        elif len(sample_shape) == 3 and _shape_matches(tuple(np.array(sample_shape)[[1, 2, 0]]), want):
            transposed = (0, 2, 3, 1)
        elif len(sample_shape) == 3 and _shape_matches(tuple(np.array(sample_shape)[[2, 0, 1]]), want):
            transposed = (0, 3, 1, 2)
        else:
            raise DataError(
                f"x_data samples have shape {list(sample_shape)} but model input {spec.name!r} expects "
                f"{list(spec.shape)} (batch first)",
                f"store x_data as (N, {', '.join(str(d) for d in want)}) without the batch dimension",
            )
    if transposed:
        x = np.ascontiguousarray(x.transpose(transposed))
        layout = "NCHW->NHWC" if transposed == (0, 2, 3, 1) else "NHWC->NCHW"
        notes.append(f"x_data transposed {layout} to fit the model input")
        log.info("x_data transposed %s to fit model input %s %s", layout, spec.name, list(spec.shape))
    dtype = np.dtype(spec.dtype)
    quantize_per_sample = False
    if np.issubdtype(dtype, np.floating):
        x = np.ascontiguousarray(x, dtype=dtype)
    elif spec.quantized and np.issubdtype(x.dtype, np.floating):
        x = np.ascontiguousarray(x, dtype=np.float32)
        quantize_per_sample = True
        notes.append(f"float x_data quantized per inference with scale {spec.scale:g} and zero point {spec.zero_point}")
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if np.issubdtype(x.dtype, np.floating):
            if not np.all(np.isfinite(x)) or np.any(x != np.round(x)):
                raise DataError(
                    f"model input {spec.name!r} is {spec.dtype} without quantization parameters but x_data is fractional",
                    "give integer x_data or a model with a quantized input",
                )
        if x.size and (x.min() < info.min or x.max() > info.max):
            raise DataError(
                f"x_data values span {x.min()}..{x.max()}, outside {spec.dtype} ({info.min}..{info.max})",
                f"rescale x_data into the {spec.dtype} range",
            )
        x = np.ascontiguousarray(x, dtype=dtype)
    else:
        x = np.ascontiguousarray(x, dtype=dtype)
    return Adapted(x=x, spec=spec, quantize=quantize_per_sample, transposed=transposed, notes=notes)
