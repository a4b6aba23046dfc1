"""What the runtime wrappers' fast tests (tests/test_mut_rt_*.py) do with every runtime: load a model into it as the
harness does (setup, then load), run one input through it (prepare, invoke, fetch), and check a float digits model
against ONNX Runtime and the labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench import models
from bench.runtimes.base import Runtime, RuntimeOptions


def loaded(cls: type, path: Path, **options: Any) -> Any:
    """A ``cls`` runtime with ``path`` loaded under RuntimeOptions(**options)."""
    rt = cls()
    rt.setup()
    rt.load(path, RuntimeOptions(**options))
    return rt


def run_once(rt: Runtime, x: Any) -> Any:
    """The output of one inference of ``x`` (batch dimension included)."""
    rt.prepare(x)
    rt.invoke()
    return rt.fetch()


def assert_digits_like_onnx_runtime(rt: Runtime, count: int = 100) -> None:
    """The first ``count`` test digits through ``rt`` (a float digits model): ONNX Runtime's logits on the shipped
    ONNX file (atol 1e-4), at least 90 % of the labels, and every class among the answers."""
    import onnxruntime

    digits = np.load(models.DIGITS_TEST_DATA)
    x, y = digits["x_data"][:count], digits["y_data"][:count]
    sess = onnxruntime.InferenceSession(str(models.DIGITS_ONNX), providers=["CPUExecutionProvider"])
    outs = [run_once(rt, x[i : i + 1]) for i in range(len(x))]
    assert {(o.shape, o.dtype.name) for o in outs} == {((1, 10), "float32")}
    ref = np.concatenate([sess.run(None, {"input": x[i : i + 1]})[0] for i in range(len(x))])
    np.testing.assert_allclose(np.concatenate(outs), ref, atol=1e-4)
    preds = np.concatenate(outs).argmax(axis=1)
    assert np.mean(preds == y) >= 0.9 and len(set(preds)) == 10
