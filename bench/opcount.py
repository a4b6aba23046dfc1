"""Multiply-accumulates per inference at batch 1, counted from the model graph (ONNX or TFLite).

Only the operators that carry nearly all of a CNN's arithmetic are counted; everything else (activations, pooling,
additions, softmax) is left out, as in the published figures this is compared with (ResNet-50 at 224x224: about 4.1
GMACs, often printed as "4.1 GFLOPs"). One MAC is two operations: ``ops = 2 * macs``.

* ONNX (shapes from ``onnx.shape_inference``): Conv ``N*Cout*Hout*Wout*(Cin/group)*kH*kW`` (a depthwise convolution
  has ``group == Cin``, so ``Cin/group == 1``); ConvTranspose ``N*Cin*Hin*Win*(Cout/group)*kH*kW``; Gemm ``M*N*K``;
  MatMul ``prod(output) * K``. The quantized operators count the same way and are labelled int8 (``by_precision``):
  QLinearConv (weight is input 3) and ConvInteger (input 1) as Conv, QLinearMatMul and MatMulInteger as MatMul. A
  float Conv, ConvTranspose, Gemm or MatMul whose activation and weight both come from a DequantizeLinear of an int8
  or uint8 tensor (the QDQ format, which ONNX Runtime runs as one integer kernel) is int8 too.
* TFLite (shapes from the interpreter's tensor details): CONV_2D ``prod(output) * kH*kW*Cin`` (filter OHWI);
  DEPTHWISE_CONV_2D ``prod(output) * kH*kW`` (filter 1HWC); FULLY_CONNECTED ``prod(output) * Cin`` (filter OI);
  BATCH_MATMUL ``prod(output) * K``; TRANSPOSE_CONV ``prod(input) * kH*kW*Cout``. For BATCH_MATMUL, ``K`` is the
  dimension of A's last two that is not M (``adj_x`` only chooses which, and the interpreter's operator details do not
  carry the options): ``K = A[-2] + A[-1] - out[-2]``, exact for either ``adj_x`` (with ``adj_y`` B's two are N and K
  in either order and do not enter).

Shapes are never guessed. A symbolic or unknown input dimension other than the batch (set to 1: counts are per
inference at batch 1) is taken from ``input_shape``, the shape of the data the model is run on (its NCHW/NHWC
transpose when only that fits the graph); without it, or when an operator's shape is still unknown after inference
(TFLite: a counted operator's tensor the interpreter does not list), the count raises ``UnsupportedModelError`` naming
the dimension or operator, and the caller records "unavailable".

Returns ``{"macs", "ops", "by_type", "by_precision", "precision", "source"}`` (plus ``input_shape`` when the data
fixed a dimension); a model this cannot read raises ``UnsupportedModelError``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from bench import formats
from bench.errors import FrameworkUnavailable, UnsupportedModelError

log = logging.getLogger(__name__)

#: ONNX operators whose arithmetic is integer (int8/uint8 operands)
ONNX_INT8_OPS = ("QLinearConv", "ConvInteger", "QLinearMatMul", "MatMulInteger")
#: ONNX operators counted, and the positions of (activation, weight) among their inputs
_ONNX_CONV_INPUTS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}
_ONNX_MATMUL = ("MatMul", "MatMulInteger", "QLinearMatMul")


def _prod(shape: Sequence[int]) -> int:
    return int(math.prod(int(d) for d in shape))


def _result(by_type: Dict[str, int], source: str, int8: int = 0) -> Dict[str, Any]:
    """The count; ``int8``: how many of the MACs are integer (quantized operators)."""
    macs = sum(by_type.values())
    by_precision = {k: v for k, v in (("int8", int8), ("fp32", macs - int8)) if v}
    return {
        "macs": macs,
        "ops": 2 * macs,
        "by_type": dict(sorted(by_type.items())),
        "by_precision": by_precision,
        "precision": "int8" if int8 * 2 > macs else "fp32",
        "source": source,
    }


def count(model: Path, fmt: str = "", input_shape: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """MACs per inference of ``model`` (ONNX or TFLite; format detected when not given).

    ``input_shape``: the shape the model is run with (batch first), for inputs with symbolic dimensions."""
    fmt = fmt or formats.detect(Path(model))
    if fmt == formats.ONNX:
        return count_onnx(Path(model), input_shape)
    if fmt in (formats.TFLITE, formats.EDGETPU_TFLITE):
        return count_tflite(Path(model), input_shape)
    raise UnsupportedModelError(
        f"operation counts are read from ONNX and TFLite graphs, not {fmt}", "count the ONNX or TFLite export"
    )


# ---------------------------------------------------------------- ONNX


def _onnx_shapes(model: Any) -> Dict[str, List[int]]:
    """Static shape of every value (inputs, initializers, intermediates); values with any unknown dim are left out."""
    shapes: Dict[str, List[int]] = {}
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    for vi in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        t = vi.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            shapes[vi.name] = [int(d.dim_value) for d in t.shape.dim]
    return shapes


def _attr(node: Any, name: str, default: Any) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _fits(shape: Sequence[int], dims: Sequence[Any]) -> bool:
    """Whether ``shape`` agrees with every static dimension of a graph input (the batch, dim 0, is free)."""
    return len(shape) == len(dims) and all(
        not d.HasField("dim_value") or int(d.dim_value) == int(s) for i, (s, d) in enumerate(zip(shape, dims)) if i
    )


def _candidates(shape: Sequence[int]) -> List[List[int]]:
    """The data's shape and, for images, its NCHW<->NHWC transposes (the data may be stored in the other layout)."""
    s = [1, *[int(v) for v in shape[1:]]]
    out = [s]
    if len(s) == 4:
        out += [[1, s[2], s[3], s[1]], [1, s[3], s[1], s[2]]]
    return out


def _fix_onnx_inputs(model: Any, input_shape: Optional[Sequence[int]]) -> Optional[List[int]]:
    """Make every graph input static: batch 1, other symbolic dims from ``input_shape``; the shape it used, if any."""
    inits = {i.name for i in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in inits]
    used = None
    for vi in inputs:
        dims = vi.type.tensor_type.shape.dim
        open_dims = [i for i, d in enumerate(dims) if i and not d.HasField("dim_value")]
        if not open_dims:
            if dims and not dims[0].HasField("dim_value"):
                dims[0].dim_value = 1  # the batch: counts are per inference at batch 1
            continue
        fits = [c for c in _candidates(input_shape) if _fits(c, dims)] if input_shape and len(inputs) == 1 else []
        if not fits:
            names = [dims[i].dim_param or f"dim {i}" for i in open_dims]
            why = "no input shape given" if not input_shape else f"the data's shape {list(input_shape)} does not fit"
            raise UnsupportedModelError(
                f"input {vi.name!r} has symbolic dimensions {names} ({why}): its operation count would be a guess",
                "count it with the data it runs on, or export the model with static input shapes",
            )
        used = fits[0]
        for i, d in enumerate(dims):
            d.dim_value = used[i]
    return used


def _onnx_node_macs(node: Any, shapes: Dict[str, List[int]]) -> Optional[int]:
    """MACs of one node; 0 for operators not counted; None when a counted operator's shapes are unknown."""
    op = node.op_type
    if op not in _ONNX_CONV_INPUTS and op not in ("ConvTranspose", "Gemm", *_ONNX_MATMUL):
        return 0
    ins = [shapes.get(i) if i else None for i in node.input]
    out = shapes.get(node.output[0]) if node.output else None
    if op in _ONNX_CONV_INPUTS:
        w = ins[_ONNX_CONV_INPUTS[op][1]]  # (Cout, Cin/group, kH, kW)
        return _prod(out) * _prod(w[1:]) if w and out else None
    if op == "ConvTranspose":
        return _prod(ins[0]) * _prod(ins[1][1:]) if ins[0] and ins[1] else None  # w: (Cin, Cout/group, kH, kW)
    if op == "Gemm":
        return _prod(out) * int(ins[0][0] if _attr(node, "transA", 0) else ins[0][-1]) if ins[0] and out else None
    return _prod(out) * int(ins[0][-1]) if ins[0] and out else None  # MatMul family: A is input 0


def _qdq_int8(model: Any) -> set:
    """Outputs of DequantizeLinear nodes whose quantized input is int8 or uint8 (elem types from the initializers and
    the inferred value_info)."""
    int8_types = (2, 3)  # onnx.TensorProto.UINT8, INT8
    types = {i.name: i.data_type for i in model.graph.initializer}
    for vi in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        types[vi.name] = vi.type.tensor_type.elem_type
    return {
        n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear" and types.get(n.input[0]) in int8_types
    }


def _is_int8(node: Any, dequantized: set) -> bool:
    """A quantized operator, or a float one between int8 DequantizeLinear nodes (activation and weight)."""
    if node.op_type in ONNX_INT8_OPS:
        return True
    act, weight = _ONNX_CONV_INPUTS.get(node.op_type, (0, 1))
    return len(node.input) > weight and node.input[act] in dequantized and node.input[weight] in dequantized


def _onnx_kind(node: Any, shapes: Dict[str, List[int]]) -> str:
    group = _attr(node, "group", 1) if node.op_type in _ONNX_CONV_INPUTS else 1
    if group > 1 and node.op_type == "Conv":
        return "DepthwiseConv" if group == (shapes.get(node.input[0]) or [0, 0])[1] else "GroupConv"
    return node.op_type


def count_onnx(path: Path, input_shape: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    import onnx

    model = onnx.load(str(path))
    used = _fix_onnx_inputs(model, input_shape)
    del model.graph.value_info[:]  # shapes recorded at export may carry the symbolic dims: infer them afresh
    for vi in model.graph.output:
        vi.type.tensor_type.ClearField("shape")
    model = onnx.shape_inference.infer_shapes(model)
    shapes = _onnx_shapes(model)
    dequantized = _qdq_int8(model)
    by_type: Dict[str, int] = {}
    int8 = 0
    for node in model.graph.node:
        macs = _onnx_node_macs(node, shapes)
        if macs is None:
            raise UnsupportedModelError(
                f"the shapes of {node.op_type} {node.name or node.output[0]!r} are unknown after shape inference: "
                "its operation count would be a guess",
                "export the model with static shapes (or simplify it with onnxsim)",
            )
        if macs:
            kind = _onnx_kind(node, shapes)
            by_type[kind] = by_type.get(kind, 0) + macs
            int8 += macs if _is_int8(node, dequantized) else 0
    res = _result(by_type, "onnx graph", int8)
    return {**res, "input_shape": used} if used else res


# ---------------------------------------------------------------- TFLite


#: the TFLite operators counted: name -> MACs from (input shapes, output shape)
_TFLITE_MACS: Dict[str, Callable[[List[List[int]], List[int]], int]] = {
    "CONV_2D": lambda ins, out: _prod(out) * _prod(ins[1][1:]),  # filter (Cout, kH, kW, Cin)
    "DEPTHWISE_CONV_2D": lambda ins, out: _prod(out) * _prod(ins[1][1:3]),  # filter (1, kH, kW, Cout)
    "FULLY_CONNECTED": lambda ins, out: _prod(out) * int(ins[1][-1]),  # filter (Cout, Cin)
    # A (..., M, K), or (..., K, M) with adj_x; out (..., M, N)
    "BATCH_MATMUL": lambda ins, out: _prod(out) * (int(ins[0][-2]) + int(ins[0][-1]) - int(out[-2])),
    # inputs: output_shape, filter (Cout, kH, kW, Cin), input
    "TRANSPOSE_CONV": lambda ins, out: _prod(ins[2]) * _prod(ins[1][:3]),
}


def _tflite_op_macs(op: str, ins: List[List[int]], out: List[int]) -> int:
    macs = _TFLITE_MACS.get(op)
    return macs(ins, out) if macs else 0


def _fix_tflite_inputs(interp: Any, input_shape: Optional[Sequence[int]]) -> Optional[List[int]]:
    """Resize inputs with unknown (-1) dimensions other than the batch to the data's shape; the shape used, if any."""
    inputs = interp.get_input_details()
    used = None
    for d in inputs:
        sig = [int(v) for v in d.get("shape_signature", d["shape"])]
        open_dims = [i for i, v in enumerate(sig) if i and v < 0]
        if not open_dims:
            continue
        fits = (
            [
                c
                for c in _candidates(input_shape)
                if len(c) == len(sig) and all(v < 0 or v == c[i] for i, v in enumerate(sig) if i)
            ]
            if input_shape and len(inputs) == 1
            else []
        )
        if not fits:
            why = "no input shape given" if not input_shape else f"the data's shape {list(input_shape)} does not fit"
            raise UnsupportedModelError(
                f"input {d['name']!r} has unknown dimensions {open_dims} ({why}): its operation count would be a guess",
                "count it with the data it runs on, or convert the model with static input shapes",
            )
        used = fits[0]
        interp.resize_tensor_input(d["index"], used)
    if used:
        interp.allocate_tensors()
    return used


def count_tflite(path: Path, input_shape: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    from bench.runtimes.tflite import interpreter_module, no_default_delegate_kwargs

    backend, mod, version = interpreter_module()
    try:  # reading the graph needs no XNNPACK delegate, nor the thread pool it starts
        builtin = no_default_delegate_kwargs(mod, backend, version)
    except FrameworkUnavailable:  # a runtime from before OpResolverType: its default resolver then
        builtin = {}
    interp = mod.Interpreter(model_path=str(path), **builtin)
    ops_details = getattr(interp, "_get_ops_details", None)
    if ops_details is None:  # old tflite_runtime builds (Coral's 2.5.0.post1) may not have it
        raise UnsupportedModelError("this TFLite build exposes no operator details", "count the ONNX export instead")
    used = _fix_tflite_inputs(interp, input_shape)
    details = interp.get_tensor_details()
    shapes = {t["index"]: [int(d) for d in t["shape"]] for t in details}
    dtypes = {t["index"]: getattr(t["dtype"], "__name__", str(t["dtype"])) for t in details}
    by_type: Dict[str, int] = {}
    int8 = 0
    for op in ops_details():
        unlisted = [int(i) for i in [*op["inputs"], *op["outputs"][:1]] if int(i) >= 0 and int(i) not in shapes]
        if unlisted and op["op_name"] in _TFLITE_MACS:  # the interpreter leaves out tensors it cannot describe
            raise UnsupportedModelError(
                f"the shapes of {op['op_name']} (tensors {unlisted}) are not in the interpreter's tensor list: its "
                "operation count would be a guess",
                "count the ONNX export instead",
            )
        ins = [shapes.get(int(i), []) if int(i) >= 0 else [] for i in op["inputs"]]
        out = shapes.get(int(op["outputs"][0]), []) if len(op["outputs"]) else []
        try:
            macs = _tflite_op_macs(op["op_name"], ins, out)
        except IndexError:
            log.debug("op %s with unexpected operands %s: not counted", op["op_name"], ins)
            macs = 0
        if macs:
            by_type[op["op_name"]] = by_type.get(op["op_name"], 0) + macs
            weight = int(op["inputs"][1]) if len(op["inputs"]) > 1 else -1
            int8 += macs if dtypes.get(weight) in ("int8", "uint8") else 0
    res = _result(by_type, "tflite graph", int8)
    return {**res, "input_shape": used} if used else res
