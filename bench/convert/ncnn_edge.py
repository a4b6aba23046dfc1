"""ONNX or TorchScript -> ncnn ``.param`` + ``.bin`` with the ``pnnx`` converter, run as a subprocess.

The ``pnnx`` wheel ships the converter binary (``pnnx/pnnx``); it is run directly on a copy of the model with the
source's batch-1 input shape (``inputshape=[1,C,H,W]``). ``pnnx.export``/``pnnx.convert`` in Python would also import
the Python file pnnx generates, which fails on an ``nn.Sequential`` (an attribute named ``0``); the binary writes only
files. ``fp16=0`` for fp32 (pnnx stores fp16 weights by default); ``fp16=1`` for ``ncnn-fp16``, whose bundle tells the
runtime to turn ncnn's fp16 storage and arithmetic on.

int8 is not made: ncnn quantizes with its ``ncnn2table`` and ``ncnn2int8`` tools, which neither the ``ncnn`` nor the
``pnnx`` wheel ships (their files list only the Python module and the pnnx binary) and no other PyPI package provides;
they come with ncnn's source build or GitHub release archives, which this workstation cannot download.

A model pnnx cannot lower to ncnn keeps the unknown operator as a layer of that name in the ``.param``; every layer
type is checked against the installed ncnn (``ncnn.layer_to_index``) so such a model fails here, naming the operator.

Vendor source read: Tencent/ncnn master at a4d2ea1 (2026-07-22) ``tools/pnnx/README.md`` (command-line parameters ``inputshape``,
``fp16``, ``ncnnparam``, ``ncnnbin``, ``ncnnpy``, ``pnnxparam``, ``pnnxbin``, ``pnnxpy``, ``pnnxonnx``),
``tools/pnnx/python/pnnx/__init__.py`` (``EXEC_PATH``), ``python/src/main.cpp`` (``layer_to_index``).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import bundle, formats
from bench.convert import tools
from bench.convert.edges import Step, StepResult
from bench.errors import ConversionError, FrameworkUnavailable, UnsupportedModelError

log = logging.getLogger(__name__)

INT8_ABSENT = (
    "ncnn int8 needs ncnn2table and ncnn2int8, which no PyPI package ships (ncnn and pnnx wheels: Python module and "
    "the pnnx binary only)"
)


def pnnx_binary() -> Path:
    """The converter binary inside the pnnx wheel (found without importing pnnx, which imports torch)."""
    import importlib.util

    spec = importlib.util.find_spec("pnnx")
    if spec is None or not spec.submodule_search_locations:
        raise FrameworkUnavailable("pnnx is not installed", "pip install pnnx (requirements/host.txt)")
    exe = Path(list(spec.submodule_search_locations)[0]) / "pnnx"
    if not exe.is_file():
        raise FrameworkUnavailable(f"the pnnx wheel has no converter binary at {exe}", "reinstall pnnx")
    return exe


#: the newest ONNX IR version the onnxruntime inside pnnx 20261020 reads (its own error: "Unsupported model IR version:
#: 14, max supported IR version: 13"); onnx 1.23 writes 14 by default, so a newer file is relabelled 13 in the copy
PNNX_MAX_IR_VERSION = 13


def _copy_source(step: Step) -> Tuple[Path, List[str]]:
    """The model copied into the work folder (pnnx writes its intermediate files next to its input), and notes."""
    src = Path(step.source)
    if step.edge.source != formats.ONNX:
        copy = step.work_dir / "model.pt"
        shutil.copy2(src, copy)
        return copy, []
    import onnx

    copy, notes = step.work_dir / "model.onnx", []
    proto = onnx.load(str(src), load_external_data=False)
    for t in proto.graph.initializer:  # external weights travel with the copy
        if t.data_location == onnx.TensorProto.EXTERNAL:
            loc = next((e.value for e in t.external_data if e.key == "location"), None)
            if loc and not (step.work_dir / loc).exists():
                shutil.copy2(src.parent / loc, step.work_dir / loc)
    if proto.ir_version > PNNX_MAX_IR_VERSION:
        notes.append(f"ONNX IR version {proto.ir_version} relabelled {PNNX_MAX_IR_VERSION} for pnnx's onnxruntime")
        proto.ir_version = PNNX_MAX_IR_VERSION
        onnx.save(proto, str(copy))
    else:
        shutil.copy2(src, copy)
    return copy, notes


def unknown_layers(param_text: str) -> List[str]:
    """Layer types in an ncnn .param that the installed ncnn does not implement."""
    import ncnn

    types = []
    for line in param_text.splitlines()[2:]:
        parts = line.split()
        if parts and parts[0] not in types:
            types.append(parts[0])
    return [t for t in types if ncnn.layer_to_index(t) < 0]


def _onnx_input_shape(step: Step) -> Optional[Tuple[int, ...]]:
    """The ONNX input's shape, batch 1 (a TF source's shape is not loaded before the chain runs)."""
    if step.edge.source != formats.ONNX:
        return None
    import onnx

    proto = onnx.load(str(step.source), load_external_data=False)
    inits = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in inits]
    if len(inputs) != 1:
        return None
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in inputs[0].type.tensor_type.shape.dim]
    return tuple([1] + [int(d) for d in dims[1:]]) if dims else None


def _argv(copy: Path, shape: Tuple[int, ...], fp16: bool) -> List[str]:
    return [
        str(pnnx_binary()),
        copy.name,
        "inputshape=[" + ",".join(str(int(d)) for d in shape) + "]",
        f"fp16={1 if fp16 else 0}",
        "ncnnparam=model.ncnn.param",
        "ncnnbin=model.ncnn.bin",
        "ncnnpy=model_ncnn.py",
        "pnnxparam=model.pnnx.param",
        "pnnxbin=model.pnnx.bin",
        "pnnxpy=model_pnnx.py",
        "pnnxonnx=model.pnnx.onnx",
    ]


def to_ncnn(step: Step) -> StepResult:
    if step.precision == "int8":
        raise FrameworkUnavailable(INT8_ABSENT, "use ncnn or ncnn-fp16, or openvino-int8 / tflite-int8 for int8")
    if step.precision not in ("fp32", "fp16"):
        raise ConversionError(f"ncnn models are made in fp32 or fp16, not {step.precision}", "use ncnn-fp16")
    shape = step.input_shape or _onnx_input_shape(step)
    if not shape or any(int(d) < 1 for d in shape):
        raise UnsupportedModelError(
            f"pnnx needs a fixed input shape and {step.source.name} gives {list(shape) if shape else 'none'}",
            "pass the data file (x_data fixes the shape) or export the model with a fixed input shape",
        )
    work = step.work_dir
    copy, notes = _copy_source(step)
    param, weights = work / "model.ncnn.param", work / "model.ncnn.bin"
    argv = _argv(copy, tuple(shape), step.precision == "fp16")
    seconds = tools.run(
        argv,
        tool="pnnx",
        cwd=work,
        log_file=work / "pnnx.log",
        expect=[param, weights],
        timeout_s=step.options.timeout_s,
    )
    missing = unknown_layers(param.read_text(encoding="utf-8"))
    if missing:
        raise UnsupportedModelError(
            f"ncnn has no layer for operator(s) {', '.join(missing)} of {step.source.name} (pnnx left them unconverted)",
            "replace the operator(s) in the model before export, or benchmark it with --configs onnx",
        )
    meta: Dict[str, Any] = {"precision": step.precision, "input_shape": [int(d) for d in shape], "tool": "pnnx"}
    dest = bundle.write(step.out_dir / "model_ncnn.zip", formats.NCNN, param, weights, meta)
    opts = {"argv": ["pnnx"] + argv[1:], "precision": step.precision, "pnnx_seconds": round(seconds, 3)}
    return StepResult(path=dest, options=opts, notes=notes)
