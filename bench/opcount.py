"""Multiply-accumulates per inference at batch 1, counted from the model graph (ONNX or TFLite).

Only the operators that carry nearly all of a CNN's arithmetic are counted; everything else (activations, pooling,
additions, softmax) is left out, as in the published figures this is compared with (ResNet-50 at 224x224: about 4.1
GMACs, often printed as "4.1 GFLOPs"). One MAC is two operations: ``ops = 2 * macs``.

* ONNX (shapes from ``onnx.shape_inference``): Conv ``N*Cout*Hout*Wout*(Cin/group)*kH*kW`` (a depthwise convolution
  has ``group == Cin``, so ``Cin/group == 1``); ConvTranspose ``N*Cin*Hin*Win*(Cout/group)*kH*kW``; Gemm ``M*N*K``;
  MatMul ``prod(output) * K``.
* TFLite (shapes from the interpreter's tensor details): CONV_2D ``prod(output) * kH*kW*Cin`` (filter OHWI);
  DEPTHWISE_CONV_2D ``prod(output) * kH*kW`` (filter 1HWC); FULLY_CONNECTED ``prod(output) * Cin`` (filter OI);
  BATCH_MATMUL ``prod(output) * K``; TRANSPOSE_CONV ``prod(input) * kH*kW*Cout``.

Returns ``{"macs", "ops", "by_type", "source"}``; a model this cannot read raises ``UnsupportedModelError``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Dict, List, Sequence

from bench import formats
from bench.errors import UnsupportedModelError

log = logging.getLogger(__name__)


def _prod(shape: Sequence[int]) -> int:
    return int(math.prod(int(d) for d in shape))


def _result(by_type: Dict[str, int], source: str) -> Dict[str, Any]:
    macs = sum(by_type.values())
    return {"macs": macs, "ops": 2 * macs, "by_type": dict(sorted(by_type.items())), "source": source}


def count(model: Path, fmt: str = "") -> Dict[str, Any]:
    """MACs per inference of ``model`` (ONNX or TFLite; format detected when not given)."""
    fmt = fmt or formats.detect(Path(model))
    if fmt == formats.ONNX:
        return count_onnx(Path(model))
    if fmt in (formats.TFLITE, formats.EDGETPU_TFLITE):
        return count_tflite(Path(model))
    raise UnsupportedModelError(
        f"operation counts are read from ONNX and TFLite graphs, not {fmt}", "count the ONNX or TFLite export"
    )


# ---------------------------------------------------------------- ONNX


def _onnx_shapes(model: Any) -> Dict[str, List[int]]:
    """Static shape of every value (inputs, initializers, intermediates) at batch 1; unknown dims are skipped."""
    shapes: Dict[str, List[int]] = {}
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    for vi in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") or d.HasField("dim_param") for d in dims):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]  # symbolic batch -> 1
    return shapes


def _attr(node: Any, name: str, default: Any) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _onnx_node_macs(node: Any, shapes: Dict[str, List[int]]) -> int:
    ins = [shapes.get(i) for i in node.input]
    out = shapes.get(node.output[0]) if node.output else None
    if node.op_type == "Conv" and ins[1] and out:
        w = ins[1]  # (Cout, Cin/group, kH, kW)
        return _prod(out) * _prod(w[1:])
    if node.op_type == "ConvTranspose" and ins[0] and ins[1]:
        w = ins[1]  # (Cin, Cout/group, kH, kW)
        return _prod(ins[0]) * _prod(w[1:])
    if node.op_type == "Gemm" and ins[0] and out:
        k = ins[0][0] if _attr(node, "transA", 0) else ins[0][-1]
        return _prod(out) * int(k)
    if node.op_type == "MatMul" and ins[0] and out:
        return _prod(out) * int(ins[0][-1])
    return 0


def count_onnx(path: Path) -> Dict[str, Any]:
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    shapes = _onnx_shapes(model)
    by_type: Dict[str, int] = {}
    for node in model.graph.node:
        macs = _onnx_node_macs(node, shapes)
        if node.op_type == "Conv" and macs and _attr(node, "group", 1) > 1:
            kind = (
                "DepthwiseConv" if _attr(node, "group", 1) == (shapes.get(node.input[0]) or [0, 0])[1] else "GroupConv"
            )
        else:
            kind = node.op_type
        if macs:
            by_type[kind] = by_type.get(kind, 0) + macs
    return _result(by_type, "onnx graph")


# ---------------------------------------------------------------- TFLite


def _tflite_op_macs(op: str, ins: List[List[int]], out: List[int]) -> int:
    if op == "CONV_2D":
        return _prod(out) * _prod(ins[1][1:])  # filter (Cout, kH, kW, Cin)
    if op == "DEPTHWISE_CONV_2D":
        return _prod(out) * _prod(ins[1][1:3])  # filter (1, kH, kW, Cout)
    if op == "FULLY_CONNECTED":
        return _prod(out) * int(ins[1][-1])  # filter (Cout, Cin)
    if op == "BATCH_MATMUL":
        return _prod(out) * int(ins[0][-1])
    if op == "TRANSPOSE_CONV":
        return _prod(ins[2]) * _prod(ins[1][:3])  # inputs: output_shape, filter (Cout, kH, kW, Cin), input
    return 0


def count_tflite(path: Path) -> Dict[str, Any]:
    from bench.runtimes.tflite import interpreter_module

    _, mod, _ = interpreter_module()
    interp = mod.Interpreter(model_path=str(path))
    ops_details = getattr(interp, "_get_ops_details", None)
    if ops_details is None:  # old tflite_runtime builds (Coral's 2.5.0.post1) may not have it
        raise UnsupportedModelError("this TFLite build exposes no operator details", "count the ONNX export instead")
    shapes = {t["index"]: [int(d) for d in t["shape"]] for t in interp.get_tensor_details()}
    by_type: Dict[str, int] = {}
    for op in ops_details():
        ins = [shapes.get(int(i), []) if int(i) >= 0 else [] for i in op["inputs"]]
        out = shapes.get(int(op["outputs"][0]), []) if len(op["outputs"]) else []
        try:
            macs = _tflite_op_macs(op["op_name"], ins, out)
        except IndexError:
            log.debug("op %s with unexpected operands %s: not counted", op["op_name"], ins)
            macs = 0
        if macs:
            by_type[op["op_name"]] = by_type.get(op["op_name"], 0) + macs
    return _result(by_type, "tflite graph")
