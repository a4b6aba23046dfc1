"""ExecuTorch programs for the fast tests of bench/runtimes/executorch.py, exported here with executorch's own API
(torch.export, then ``to_edge_transform_and_lower``), not with bench.convert: the shipped digits weights with the
XNNPACK delegate or on the portable kernels alone, and two small programs of two inputs or two outputs.

Each is exported once a process (the digits with XNNPACK in about 12 s) into a folder of its own, removed at exit:
mutmut's forked children inherit the paths its first (clean) run exported."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict

from bench import models
from bench.convert.executorch_edge import PRECISION_METHOD

_PATHS: Dict[str, Path] = {}


def _digits() -> Any:
    import torch

    from bench.models.digits import DigitsCNN

    model = DigitsCNN()
    model.load_state_dict(torch.load(str(models.DIGITS_STATE_DICT), weights_only=True))
    return model.eval(), (torch.zeros(1, 1, 32, 32),)


def _two_inputs() -> Any:
    import torch

    class Add(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a + b

    return Add(), (torch.zeros(2), torch.zeros(2))


def _two_outputs() -> Any:
    import torch

    class Pair(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> Any:
            return x + 1, x - 1

    return Pair(), (torch.zeros(2),)


#: name: (model and example inputs, XNNPACK delegate, the precision method's value or None for no such method)
PROGRAMS = {
    "xnnpack": (_digits, True, None),  # as executorch_edge writes it, less the stated precision
    "portable": (_digits, False, 8),  # no delegate: every operator on the portable kernels; states int8
    "two-inputs": (_two_inputs, False, 32),
    "two-outputs": (_two_outputs, False, None),
}


def program(name: str) -> Path:
    """The .pte file of PROGRAMS[name]."""
    path = _PATHS.get(name)
    if path is None or not path.exists():
        import torch
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

        make, xnnpack, bits = PROGRAMS[name]
        model, inputs = make()
        edge = to_edge_transform_and_lower(
            torch.export.export(model, inputs),
            partitioner=[XnnpackPartitioner()] if xnnpack else [],
            constant_methods=None if bits is None else {PRECISION_METHOD: bits},
        )
        folder = tempfile.mkdtemp(prefix="edgebench-test-pte-")
        atexit.register(shutil.rmtree, folder, True)
        path = Path(folder) / f"{name}.pte"
        path.write_bytes(edge.to_executorch().buffer)
        _PATHS[name] = path
    return path
