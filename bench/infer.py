"""Untimed inference: every sample through a loaded runtime at batch size 1, for fidelity checks and references.

Nothing here is measured; the timing contract lives in ``bench.harness``. Inputs are adapted (cast, transposed,
quantized) and outputs dequantized exactly as in a measured run, so outputs of a source model and of its
conversion compare one to one.
"""

from __future__ import annotations

import numpy as np

from bench.data import adapt, dequantize
from bench.runtimes.base import Runtime


def unbatch(y: np.ndarray) -> np.ndarray:
    """``y`` without its batch dimension when that dimension is 1."""
    return y[0] if getattr(y, "ndim", 0) >= 1 and y.shape[0] == 1 else y


def infer_all(runtime: Runtime, x: np.ndarray) -> np.ndarray:
    """Every sample of ``x`` (no batch dimension) through a loaded runtime at batch size 1; one output per sample."""
    data = adapt(x, runtime.input)
    out_spec = runtime.output
    outs = []
    for i in range(len(data)):
        runtime.prepare(data.sample(i))
        runtime.invoke()
        outs.append(unbatch(dequantize(runtime.fetch(), out_spec)))
    return np.stack([np.asarray(o) for o in outs])
