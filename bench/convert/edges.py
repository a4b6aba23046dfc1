"""The conversion table as a plain dict of edges, and the planner that chains them. No heavy imports.

Each edge is one tool turning one format into another. A conversion is the shortest chain of edges
from the source format to the format the chosen framework loads (PyTorch -> ONNX -> TFLite, ...).
"""

from __future__ import annotations

import importlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import bench.formats as F
from bench.convert.options import PRECISIONS, ConvertOptions
from bench.errors import ConversionError, FrameworkUnavailable
from bench.runtimes.base import RuntimeOptions


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    tool: str
    #: "module:function"; the function takes a Step and returns a StepResult
    func: str
    #: distributions whose versions enter the cache key and the record
    packages: Tuple[str, ...]
    #: precisions this edge can produce; fp32 only for intermediate formats
    precisions: Tuple[str, ...] = ("fp32",)

    def load(self) -> Callable[[Step], StepResult]:
        module, name = self.func.split(":")
        return getattr(importlib.import_module(module), name)


@dataclass
class Step:
    """One edge to run: convert ``source`` into a new file or folder inside ``out_dir``."""

    edge: Edge
    source: Path
    out_dir: Path
    work_dir: Path
    precision: str
    options: ConvertOptions
    runtime_options: RuntimeOptions
    #: float32 calibration samples in the *source model's* input layout (batch dimension excluded)
    calibration: Any = None
    #: input shape of the source model, batch 1 included, when known
    input_shape: Optional[Tuple[int, ...]] = None


@dataclass
class StepResult:
    path: Path
    options: Dict[str, Any] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


_TF_PKGS = ("tensorflow", "tf-keras", "keras")
_ONNX2TF_PKGS = ("onnx2tf", "onnx", "onnxsim", "tensorflow", "onnx-graphsurgeon", "sng4onnx")
_TF_PRECISIONS = PRECISIONS  # TFLite makes every precision
#: torch.export + XnnpackPartitioner (bench.convert.executorch_edge); int8 through PT2E with the XNNPACK quantizer
EXECUTORCH_TOOL = "torch.export+xnnpack"
_ET_PKGS = ("executorch", "torch", "torchao")
_ET_PRECISIONS = ("fp32", "int8")

EDGES: Dict[Tuple[str, str], Edge] = {
    (F.TORCH_STATE_DICT, F.ONNX): Edge(
        F.TORCH_STATE_DICT, F.ONNX, "torch.onnx.export", "bench.convert.onnx_export:export", ("torch", "onnx")
    ),
    (F.TORCHSCRIPT, F.ONNX): Edge(
        F.TORCHSCRIPT, F.ONNX, "torch.onnx.export", "bench.convert.onnx_export:export", ("torch", "onnx")
    ),
    (F.ONNX, F.TFLITE): Edge(
        F.ONNX, F.TFLITE, "onnx2tf", "bench.convert.onnx2tf_edge:to_tflite", _ONNX2TF_PKGS, _TF_PRECISIONS
    ),
    (F.ONNX, F.SAVEDMODEL): Edge(
        F.ONNX, F.SAVEDMODEL, "onnx2tf", "bench.convert.onnx2tf_edge:to_savedmodel", _ONNX2TF_PKGS
    ),
    (F.SAVEDMODEL, F.TFLITE): Edge(
        F.SAVEDMODEL, F.TFLITE, "TFLiteConverter", "bench.convert.tflite_converter:convert", _TF_PKGS, _TF_PRECISIONS
    ),
    (F.KERAS, F.TFLITE): Edge(
        F.KERAS, F.TFLITE, "TFLiteConverter", "bench.convert.tflite_converter:convert", _TF_PKGS, _TF_PRECISIONS
    ),
    (F.SAVEDMODEL, F.ONNX): Edge(
        F.SAVEDMODEL, F.ONNX, "tf2onnx", "bench.convert.tf2onnx_edge:convert", ("tf2onnx", "onnx") + _TF_PKGS
    ),
    (F.KERAS, F.ONNX): Edge(
        F.KERAS, F.ONNX, "tf2onnx", "bench.convert.tf2onnx_edge:convert", ("tf2onnx", "onnx") + _TF_PKGS
    ),
    (F.ONNX, F.TENSORRT_ENGINE): Edge(
        F.ONNX,
        F.TENSORRT_ENGINE,
        "tensorrt",
        "bench.convert.tensorrt_edge:build",
        ("tensorrt", "cuda-gpu"),  # an engine is valid for one TensorRT version on one GPU
        ("fp32", "fp16"),  # int8 needs a calibrator (not built here): tensorrt-int8 is skipped with the reason
    ),
    (F.TFLITE, F.EDGETPU_TFLITE): Edge(
        F.TFLITE,
        F.EDGETPU_TFLITE,
        "edgetpu_compiler",
        "bench.convert.edgetpu_edge:compile",
        ("edgetpu_compiler",),  # `edgetpu_compiler --version` (bench.convert.tools.NON_PYTHON_VERSIONS)
        ("int8",),
    ),
    # a TorchScript archive reaches ExecuTorch through ONNX: torch.export cannot trace a ScriptModule
    (F.TORCH_STATE_DICT, F.EXECUTORCH_PTE): Edge(
        F.TORCH_STATE_DICT,
        F.EXECUTORCH_PTE,
        EXECUTORCH_TOOL,
        "bench.convert.executorch_edge:to_pte",
        _ET_PKGS,
        _ET_PRECISIONS,
    ),
    (F.ONNX, F.EXECUTORCH_PTE): Edge(
        F.ONNX,
        F.EXECUTORCH_PTE,
        EXECUTORCH_TOOL,
        "bench.convert.executorch_edge:to_pte",
        _ET_PKGS + ("onnx2torch", "onnx"),
        _ET_PRECISIONS,
    ),
    (F.ONNX, F.OPENVINO_IR): Edge(
        F.ONNX, F.OPENVINO_IR, "openvino", "bench.convert.openvino_edge:to_ir", ("openvino", "nncf"), ("fp32", "int8")
    ),
    (F.ONNX, F.NCNN): Edge(
        F.ONNX, F.NCNN, "pnnx", "bench.convert.ncnn_edge:to_ncnn", ("pnnx", "ncnn"), ("fp32", "fp16")
    ),
    (F.TORCHSCRIPT, F.NCNN): Edge(
        F.TORCHSCRIPT, F.NCNN, "pnnx", "bench.convert.ncnn_edge:to_ncnn", ("pnnx", "ncnn", "torch"), ("fp32", "fp16")
    ),
}

#: targets of bench.convert.pipeline.convert_for that no benchmark runtime runs (each runtime's is its ``target``)
OTHER_TARGETS: Dict[str, str] = {"tensorflow": F.SAVEDMODEL}


def plan(source_format: str, target_format: str, precision: str = "fp32") -> List[Edge]:
    """Shortest chain of edges from ``source_format`` to ``target_format``; ConversionError if none.

    The precision is produced by the edge into TFLite (or TensorRT); every other edge stays fp32.
    """
    if source_format == target_format:
        return []
    prev: Dict[str, Optional[Edge]] = {source_format: None}
    queue = deque([source_format])
    while queue:
        fmt = queue.popleft()
        for (src, dst), edge in EDGES.items():
            if src == fmt and dst not in prev:
                prev[dst] = edge
                queue.append(dst)
    if target_format not in prev:
        raise ConversionError(
            f"no conversion from {source_format} to {target_format} "
            f"(supported: {', '.join(f'{a}->{b}' for a, b in EDGES)})",
            _unsupported_fix(source_format, target_format),
        )
    chain: List[Edge] = []
    fmt = target_format
    while fmt != source_format:
        edge = prev[fmt]
        assert edge is not None
        chain.append(edge)
        fmt = edge.source
    chain.reverse()
    if precision != "fp32" and not any(precision in e.precisions and e.precisions != ("fp32",) for e in chain):
        if target_format == F.TENSORRT_ENGINE:
            raise ConversionError(
                f"TensorRT {precision} engines are not built here (int8 needs a calibrator, not implemented)",
                "use the tensorrt-fp16 or tensorrt-fp32 preset (--precision fp16|fp32)",
            )
        raise ConversionError(
            f"precision {precision} is not produced on the way {source_format} -> {target_format}",
            "quantized and half-precision models are made for TFLite: use --framework tflite",
        )
    return chain


def _unsupported_fix(source_format: str, target_format: str) -> str:
    if target_format is None:
        return "nothing converts to PyTorch: give a PyTorch model (state_dict with its class, or TorchScript)"
    if source_format in (F.TFLITE, F.EDGETPU_TFLITE):
        return "a TFLite flatbuffer is an end format: convert from the original ONNX, SavedModel or Keras model"
    if source_format == F.TENSORRT_ENGINE:
        return "a TensorRT engine is an end format: convert from the original ONNX model"
    return "convert the model yourself to a format the framework loads"


def preflight(chain: List[Edge]) -> None:
    """Fail before any work when a tool the chain needs is missing (not after an hour of onnx2tf)."""
    import importlib.util
    import shutil

    from bench.convert import tools

    for edge in chain:
        if edge.tool == "tensorrt" and importlib.util.find_spec("tensorrt") is None:
            raise FrameworkUnavailable(
                "building a TensorRT engine needs the tensorrt Python package, which is not installed here",
                "run on a Jetson (JetPack ships TensorRT) or benchmark the ONNX model with --framework onnx",
            )
        if edge.tool == "edgetpu_compiler" and shutil.which("edgetpu_compiler") is None:
            raise FrameworkUnavailable(
                "compiling for the Edge TPU needs edgetpu_compiler, which is not installed here",
                "install Coral's edgetpu-compiler (x86-64 Debian/Ubuntu), or pass an already compiled model",
            )
        missing = [p for p in edge.packages[:1] if tools.package_version(p) == "not-installed"]
        if missing:
            raise FrameworkUnavailable(
                f"{edge.source} -> {edge.target} needs {missing[0]}, which is not installed",
                "install the host requirements (requirements/host.txt)",
            )


def target_for(framework: str) -> str:
    """The format a model is converted to for ``framework`` (the runtime's ``target``)."""
    from bench import runtimes

    cls = runtimes.find(framework)
    if cls is None and framework not in OTHER_TARGETS:
        known = [*runtimes.names(), *OTHER_TARGETS]
        raise ConversionError(f"unknown framework {framework!r}", f"use one of: {', '.join(known)}")
    target = cls.target if cls is not None else OTHER_TARGETS[framework]
    if target is None:
        raise ConversionError(
            f"nothing converts to {framework}", "give a PyTorch model (state_dict with its class, or TorchScript)"
        )
    return target


def precision_for(edge: Edge, precision: str) -> str:
    """The precision an edge is asked for inside a chain: the requested one where the edge makes it."""
    if edge.precisions == ("fp32",):
        return "fp32"
    if precision in edge.precisions:
        return precision
    if edge.target == F.EDGETPU_TFLITE:
        raise ConversionError("the Edge TPU runs only full-integer int8 models", "add --quantization")
    raise FrameworkUnavailable(f"{edge.tool} cannot make {precision} models", "use --precision fp32")
