"""PyTorch / ONNX -> ExecuTorch ``.pte``, lowered to the XNNPACK delegate; fp32, or int8 through PT2E.

The flow (pytorch/executorch docs ``backends/xnnpack``; the wheel's ``executorch/exir/program/_program.py``
``to_edge_transform_and_lower`` and ``executorch/backends/xnnpack/quantizer/xnnpack_quantizer.py``):

1. the source as a ``torch.nn.Module`` in eval mode: a state_dict with its class (``bench.runtimes.pytorch``), or an
   ONNX graph through ``onnx2torch.convert`` (so Keras and SavedModel sources arrive through tf2onnx's ONNX);
2. ``torch.export.export(module, (x,))`` at batch 1 with static shapes;
3. int8 only: ``prepare_pt2e(exported.module(), XNNPACKQuantizer().set_global(get_symmetric_quantization_config()))``
   (``torchao.quantization.pt2e.quantize_pt2e``), the representative samples run through it one by one,
   ``convert_pt2e``, exported again;
4. ``to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()]).to_executorch()``; ``.buffer`` is the
   program. How many nodes went to XNNPACK is recorded (``executorch.devtools.backend_debug.get_delegation_info``).
   The program carries its precision as a constant method (``constant_methods``, as ExecuTorch's LLM exports carry
   their metadata), since an XNNPACK delegate blob does not show it to the runtime.

A TorchScript archive is not exported here: ``torch.export`` takes an ``nn.Module`` and a ``ScriptModule`` is not one
it can trace (its ``forward`` is compiled TorchScript, not Python). The conversion table routes TorchScript through
ONNX instead (``torch.onnx.export`` takes ScriptModules), then this edge; the fidelity check judges the chain.

Failures are one line naming the operator and the fix: an ONNX operator onnx2torch has no converter for, an operator
or a data-dependent branch ``torch.export`` refuses, an operator without an ExecuTorch kernel.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import replace
from typing import Any, Dict, Tuple

from bench.convert.edges import Step, StepResult
from bench.errors import BenchError, ConversionError

log = logging.getLogger(__name__)

#: a constant method of the program: 8 (int8 PT2E) or 32 (fp32), read by bench.runtimes.executorch for the record
PRECISION_METHOD = "edgebench_weight_bits"
#: representative samples run through the observers (calibration.MAX_SAMPLES caps what is loaded)
CALIBRATION_SAMPLES = 500


def _one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in traceback.format_exception_only(type(exc), exc)[-1].strip().splitlines()]
    text = " | ".join(ln for ln in lines if ln)[:400]
    return text or type(exc).__name__


def _source_module(step: Step) -> Tuple[Any, str]:
    """(nn.Module in eval mode, how it was obtained)."""
    from bench import formats

    fmt = formats.detect(step.source)
    if fmt == formats.ONNX:
        return _from_onnx(step), "onnx2torch"
    if fmt == formats.TORCH_STATE_DICT:
        from bench.runtimes.pytorch import load_module

        ro = step.runtime_options
        return load_module(step.source, fmt, ro.model_class_path, ro.model_class_name), "state_dict + class"
    raise ConversionError(
        f"{step.source.name} is a {fmt} model; torch.export takes a PyTorch module (state_dict + class) or ONNX",
        "give the state_dict with --model-class-path/--model-class-name, or the ONNX export",
    )


def _onnx2torch_convert() -> Any:
    """``onnx2torch.convert``. onnx2torch 1.5.15 imports torchvision when it is imported, for two converters
    (``node_converters/nms.py``: NonMaxSuppression, ``roialign.py``: RoiAlign). torchvision is not installed beside
    the pinned torch (its wheels pin another torch), so while onnx2torch is imported, a stand-in whose functions
    raise is in its place; a model with either operator then fails its export with that message."""
    import importlib.util
    import sys
    import types

    if "onnx2torch" in sys.modules or importlib.util.find_spec("torchvision") is not None:
        from onnx2torch import convert

        return convert

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ONNX NonMaxSuppression and RoiAlign need torchvision, which is not installed")

    tv, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
    ops.nms = ops.roi_align = ops.box_convert = missing  # type: ignore[attr-defined]
    tv.ops = ops  # type: ignore[attr-defined]
    sys.modules.update({"torchvision": tv, "torchvision.ops": ops})
    try:
        from onnx2torch import convert
    finally:
        del sys.modules["torchvision"], sys.modules["torchvision.ops"]
    return convert


def _from_onnx(step: Step) -> Any:
    import onnx

    convert = _onnx2torch_convert()

    model = onnx.load(str(step.source))
    try:
        return _static_reshapes(convert(model)).eval()
    except NotImplementedError as exc:  # onnx2torch: "Converter is not implemented (OperationDescription(...))"
        op = re.search(r"operation_type='?([\w.]+)'?", str(exc))
        raise ConversionError(
            f"onnx2torch cannot convert ONNX operator {op.group(1) if op else '?'} of {step.source.name} "
            f"for ExecuTorch ({_one_line(exc)})",
            "replace that operator in the model, or measure this model with onnx/tflite presets",
        ) from exc
    except Exception as exc:
        raise ConversionError(
            f"onnx2torch failed on {step.source.name}: {_one_line(exc)}",
            "simplify the ONNX model (onnxsim) or export the PyTorch model directly",
        ) from exc


def _static_reshapes(gm: Any) -> Any:
    """onnx2torch's Reshape module decides at run time whether its shape tensor holds a 0 (``torch.any(shape == 0)``,
    ``node_converters/reshape.py``), a branch on data torch.export refuses. A Reshape whose shape is a constant
    (an initializer or a Constant node, as tf2onnx writes them) without zeros becomes a plain ``torch.reshape``; the
    same for opset-13 Squeeze, whose axes are a tensor sorted and looped over at run time (``squeeze.py``)."""
    import torch
    from onnx2torch.node_converters.reshape import OnnxReshape
    from onnx2torch.node_converters.squeeze import OnnxSqueezeDynamicAxes

    changed = False
    for node in list(gm.graph.nodes):
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        if not isinstance(module, (OnnxReshape, OnnxSqueezeDynamicAxes)) or len(node.args) != 2:
            continue
        value = _constant(gm, node.args[1])
        if value is None or not value.numel() or (isinstance(module, OnnxReshape) and bool((value == 0).any())):
            continue
        node.op, node.target = "call_function", torch.reshape if isinstance(module, OnnxReshape) else torch.squeeze
        node.args = (node.args[0], tuple(int(v) for v in value.reshape(-1).tolist()))
        changed = True
    changed = _static_pads(gm) or changed
    if changed:
        gm.graph.eliminate_dead_code()
        gm.recompile()
    return gm


def _static_pads(gm: Any) -> bool:
    """onnx2torch's Pad reads its pads tensor with ``.tolist()`` at run time (``pad.py`` OnnxPadDynamic): data the
    lowering cannot plan memory for. Constant pads (and constant value) become one ``F.pad`` with fixed arguments,
    translated by onnx2torch's own helpers."""
    import torch
    from onnx2torch.node_converters import pad as o2t_pad

    changed = False
    for node in list(gm.graph.nodes):
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        if not isinstance(module, o2t_pad.OnnxPadDynamic) or len(node.args) not in (2, 3):
            continue
        pads = _constant(gm, node.args[1])
        fill = _constant(gm, node.args[2]) if len(node.args) == 3 and node.args[2] is not None else torch.tensor(0.0)
        if pads is None or fill is None:
            continue
        torch_pads = o2t_pad._torch_padding_to_mode_format(o2t_pad._onnx_padding_to_torch(pads.tolist()), module.mode)
        node.op, node.target = "call_function", torch.nn.functional.pad
        node.args = (node.args[0],)
        node.kwargs = {"pad": tuple(int(p) for p in torch_pads), "mode": module.mode, "value": float(fill)}
        changed = True
    return changed


def _constant(gm: Any, node: Any) -> Any:
    """The tensor behind an fx node that is an initializer (``get_attr``) or an onnx2torch Constant, else None."""
    import torch

    if getattr(node, "op", None) == "get_attr":
        value: Any = gm
        for part in str(node.target).split("."):
            value = getattr(value, part)
        return value if isinstance(value, torch.Tensor) else None
    if getattr(node, "op", None) == "call_module" and not node.args:
        value = getattr(gm.get_submodule(node.target), "value", None)
        return value if isinstance(value, torch.Tensor) else None
    return None


def _export_problem(exc: BaseException) -> str:
    """torch.export's first line, and the model's line that raised it when torch names it."""
    text = str(exc)
    head = f"{type(exc).__name__}: {text.strip().splitlines()[0] if text.strip() else ''}"[:300]
    where = re.search(r'raised this error:\s*File "([^"]+)", line (\d+), in \w+\s*\n\s*(.+)', text)
    if where:
        head += f" at {where.group(1).rsplit('/', 1)[-1]}:{where.group(2)} `{where.group(3).split('  #')[0].strip()}`"
    return head


def _export(torch: Any, module: Any, x: Any, what: str) -> Any:
    try:
        return torch.export.export(module, (x,), strict=False)
    except BenchError:
        raise
    except Exception as exc:
        raise ConversionError(
            f"torch.export refused {what}: {_export_problem(exc)}",
            "make forward traceable at a fixed input shape (no data-dependent branches or shapes, no unsupported "
            "operator), or measure it with the onnx/pytorch presets",
        ) from exc


def _quantize(torch: Any, exported: Any, step: Step, x: Any) -> Tuple[Any, Dict[str, Any]]:
    import numpy as np
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    calib = np.asarray(step.calibration, dtype=np.float32)[:CALIBRATION_SAMPLES]
    if not len(calib):
        raise ConversionError("int8 needs representative samples to calibrate on", "pass --representative-data-path")
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    prepared = prepare_pt2e(exported.module(), quantizer)
    with torch.no_grad():
        for sample in calib:
            prepared(torch.from_numpy(np.ascontiguousarray(sample[None])))
    converted = convert_pt2e(prepared)
    options = {
        "quantizer": "XNNPACKQuantizer, symmetric, per-channel weights, static activations",
        "calibration_samples": int(len(calib)),
    }
    return _export(torch, converted, x, "the quantized model"), options


def to_pte(step: Step) -> StepResult:
    import numpy as np
    import torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.devtools.backend_debug import get_delegation_info
    from executorch.exir import to_edge_transform_and_lower

    from bench import formats

    if step.input_shape is None and step.edge.source == formats.ONNX:  # e.g. tf2onnx's output inside a chain
        from bench.convert.planning import source_input_shape

        step = replace(step, input_shape=source_input_shape(step.source, formats.ONNX, step.runtime_options, None))
    if step.input_shape is None or any(int(d) <= 0 for d in step.input_shape):
        raise ConversionError(
            f"the input shape of {step.source.name} is not fixed ({step.input_shape}), and torch.export for "
            "ExecuTorch needs a static one",
            "give a data file (its x_data fixes the input shape) or export the model with a fixed input shape",
        )
    module, origin = _source_module(step)
    x = torch.from_numpy(np.zeros(step.input_shape, dtype=np.float32))
    options: Dict[str, Any] = {"source_module": origin, "input_shape": [int(d) for d in step.input_shape]}
    options["macs"] = _count_macs(torch, module, x)
    with torch.no_grad():
        exported = _export(torch, module, x, step.source.name)
        if step.precision == "int8":
            exported, q_options = _quantize(torch, exported, step, x)
            options.update(q_options)
        try:
            edge = to_edge_transform_and_lower(
                exported,
                partitioner=[XnnpackPartitioner()],
                constant_methods={PRECISION_METHOD: 8 if step.precision == "int8" else 32},
            )
            info = get_delegation_info(edge.exported_program().graph_module)
            program = edge.to_executorch()
        except BenchError:
            raise
        except Exception as exc:  # e.g. "Missing out variants: {'aten::...'}": an operator without a kernel
            raise ConversionError(
                f"ExecuTorch could not lower {step.source.name}: {_export_problem(exc)}",
                "replace the operator named there, or measure this model with the onnx/pytorch presets",
            ) from exc
    out = step.out_dir / "model.pte"
    out.write_bytes(program.buffer)
    options.update(
        delegate="XnnpackPartitioner",
        delegated_subgraphs=int(info.num_delegated_subgraphs),
        delegated_nodes=int(info.num_delegated_nodes),
        non_delegated_nodes=int(info.num_non_delegated_nodes),
    )
    notes = []
    if info.num_non_delegated_nodes:
        notes.append(f"{info.num_non_delegated_nodes} nodes run outside XNNPACK on ExecuTorch's portable kernels")
    return StepResult(path=out, options=options, notes=notes)


def _count_macs(torch: Any, module: Any, x: Any) -> Dict[str, Any]:
    """MACs of one batch-1 forward of the source module (torch FlopCounterMode, as bench.runtimes.pytorch counts),
    kept in the step's record so bench.peak_share has a count for a .pte whose source graph is not ONNX or TFLite."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            module(x)
    except Exception as exc:  # a count is a nicety; the export below says what is wrong with the model
        return {"unavailable": f"{type(exc).__name__}: {exc}"}
    flops = counter.get_flop_counts().get("Global", {})
    by_type = {str(op).rsplit(".", 1)[-1]: int(n) // 2 for op, n in flops.items()}
    macs = sum(by_type.values())
    return {"macs": macs, "ops": 2 * macs, "by_type": by_type, "source": "torch FlopCounterMode on the source module"}
