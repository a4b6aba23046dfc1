"""Representative data for full-integer quantization: loaded, validated and cast to float32.

Validation: the file is an ``.npz`` with ``x_data`` (``y_data`` optional), numeric, each sample shaped
like the source model's input (batch dimension excluded; an NHWC copy of NCHW data is transposed
back), at least one sample; fewer than 100 samples gives a warning because int8 scales calibrated on
few samples often clip real inputs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from bench.errors import DataError, InputError

log = logging.getLogger(__name__)

MIN_SAMPLES = 100
MAX_SAMPLES = 1000


def load(
    path: Optional[Path], input_shape: Optional[Tuple[int, ...]], *, model_name: str, is_float_model: bool = True
) -> Tuple[np.ndarray, str, List[str]]:
    """(samples as float32 in the source input layout, sha256 of the file, warnings)."""
    from bench.data import load_npz

    if path is None:
        if is_float_model:
            raise InputError(
                f"--quantization (int8) of the float model {model_name} needs representative data to calibrate on",
                "pass --representative-data-path FILE.npz with x_data shaped like the model input (100+ samples)",
            )
        return np.zeros((0,), np.float32), "", []
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"representative data {path} not found", "pass --representative-data-path FILE.npz with an x_data array"
        )
    ds = load_npz(path, require_y=False)
    x = ds.x
    warnings: List[str] = []
    if input_shape:
        want = tuple(input_shape[1:])
        got = tuple(x.shape[1:])
        if got != want:
            if len(got) == len(want) + 1 and got[0] == 1 and got[1:] == want:
                x = x.reshape((len(x),) + want)
            elif len(got) == 3 and len(want) == 3 and (got[2], got[0], got[1]) == want:
                x = np.moveaxis(x, -1, 1)
                warnings.append("representative data is NHWC; transposed to the model's NCHW input")
            elif len(got) == 3 and len(want) == 3 and (got[1], got[2], got[0]) == want:
                x = np.moveaxis(x, 1, -1)
                warnings.append("representative data is NCHW; transposed to the model's NHWC input")
            else:
                raise DataError(
                    f"representative data {path.name} has samples of shape {list(got)} but model {model_name} "
                    f"takes {list(want)} (batch dimension excluded)",
                    f"store x_data as (N, {', '.join(map(str, want))})",
                )
    if not np.issubdtype(x.dtype, np.floating):
        warnings.append(f"representative data is {x.dtype}; cast to float32 as given (no rescaling)")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise DataError(f"representative data {path.name} holds NaN or infinite values", "clean the data")
    if len(x) > MAX_SAMPLES:
        warnings.append(f"representative data has {len(x)} samples; the first {MAX_SAMPLES} calibrate")
        x = x[:MAX_SAMPLES]
    if len(x) < MIN_SAMPLES:
        warnings.append(
            f"only {len(x)} representative samples (under {MIN_SAMPLES}): int8 ranges may not cover real inputs"
        )
    for w in warnings:
        log.warning("%s", w)
    return x, ds.sha256, warnings
