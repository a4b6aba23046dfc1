"""PyTorch (state_dict + class, or TorchScript) -> ONNX with torch.onnx.export.

One file (weights inside, ``external_data=False``) unless the weights pass protobuf's 2 GB limit; batch
size 1 and static shapes; the legacy TorchScript-based exporter (``dynamo=False``), which worked here
on every model tried; the opset is recorded.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Optional, Tuple

from bench import boards, envvars
from bench.convert.edges import Step, StepResult
from bench.convert.options import DEFAULT_OPSET
from bench.errors import BenchError, ConversionError

log = logging.getLogger(__name__)

_TWO_GB = 2**31 - 1
#: the highest opset TensorRT 8.2's ONNX parser reads (onnx/onnx-tensorrt docs/operators.md for 8.2: opsets 7 to 13);
#: a chain ending in a TensorRT 8.x engine is exported at it
TENSORRT8_OPSET = 13
#: RuntimeOptions.extra key the conversion pipeline may set to the chain's final format
CHAIN_TARGET_KEY = "convert_target"
#: the device profile the conversion is for, set by the launcher on a host-image conversion done for a device
TARGET_DEVICE_ENV = envvars.TARGET_DEVICE
INPUT_NAME = "input"
OUTPUT_NAME = "output"


def opset_for(chain_target: Optional[str], tensorrt_version: str, device: Optional[str] = None) -> Tuple[int, str]:
    """(opset, reason) of an export when --opset is not given.

    ``device``: the device profile the files are for (``$EDGEBENCH_TARGET_DEVICE``, the launcher's): a Nano gets the
    opset its TensorRT 8.2 reads, wherever the export runs (the workstation has no TensorRT).
    ``chain_target``: the format the chain ends in when the pipeline says so (None: unknown). Unknown counts as
    TensorRT when TensorRT 8.x is installed here: on such a machine (a Jetson Nano) an engine can only be 8.x.
    """
    from bench import formats

    board = boards.by_profile(device)  # a board whose TensorRT reads fewer opsets: this opset wherever it runs
    if board is not None and board.tensorrt_max_opset is not None:
        opset, trt = board.tensorrt_max_opset, board.tensorrt
        return opset, f"for {device}: its TensorRT {trt} parses ONNX opset {opset} at most"
    major = tensorrt_version.split(".")[0]
    if chain_target in (None, formats.TENSORRT_ENGINE) and major == "8":
        return TENSORRT8_OPSET, f"TensorRT {tensorrt_version} parses ONNX opset {TENSORRT8_OPSET} at most"
    return DEFAULT_OPSET, "default"


def _opset(step: Step) -> Tuple[int, str]:
    """(opset, why): ``--opset``, else the one the target device's (or this machine's) TensorRT parses."""
    from bench.convert.tools import package_version

    if step.options.opset:
        return step.options.opset, "--opset"
    device = envvars.read(TARGET_DEVICE_ENV)
    return opset_for(step.runtime_options.extra.get(CHAIN_TARGET_KEY), package_version("tensorrt"), device)


def _checked_opset(out: Path, opset: int) -> int:
    """The opset the exported file declares, after onnx.checker passed it; ConversionError otherwise."""
    import onnx

    if not out.is_file():
        raise ConversionError(f"torch.onnx.export wrote no {out.name}", "re-run with -v to see the exporter's output")
    try:
        onnx.checker.check_model(str(out))
    except Exception as exc:
        raise ConversionError(
            f"the exported ONNX model does not pass onnx.checker: {exc}", "try another --opset"
        ) from exc
    model_proto = onnx.load(str(out), load_external_data=False)
    return max((o.version for o in model_proto.opset_import if o.domain in ("", "ai.onnx")), default=opset)


def export(step: Step) -> StepResult:
    import numpy as np
    import torch

    from bench import formats
    from bench.runtimes.pytorch import load_module

    if step.input_shape is None:
        raise ConversionError(
            f"the input shape of PyTorch model {step.source.name} is unknown, so it cannot be exported to ONNX",
            "give a data file (its x_data fixes the input shape)",
        )
    fmt = formats.detect(step.source)
    ro = step.runtime_options
    model = load_module(step.source, fmt, ro.model_class_path, ro.model_class_name)
    opset, opset_reason = _opset(step)
    x = torch.from_numpy(np.zeros(step.input_shape, dtype=np.float32))
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters()) + sum(
        b.numel() * b.element_size() for b in model.buffers()
    )
    external = n_bytes >= _TWO_GB
    out = step.out_dir / "model.onnx"
    try:
        with torch.inference_mode():
            torch.onnx.export(
                model,
                (x,),
                str(out),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamo=False,
                external_data=external,
                do_constant_folding=True,
            )
    except BenchError:
        raise
    except Exception as exc:
        last = " | ".join(traceback.format_exception_only(type(exc), exc)[-1].strip().splitlines()[-3:])
        raise ConversionError(
            f"torch.onnx.export failed on {step.source.name}: {last}",
            "check the model runs on a tensor of the data's shape; try another --opset",
        ) from exc
    opset_seen = _checked_opset(out, opset)
    notes = []
    if external:
        notes.append(f"weights are {n_bytes / 2**30:.1f} GB, over protobuf's 2 GB limit: stored as external data")
    return StepResult(
        path=out,
        options={
            "opset": int(opset_seen),
            "opset_reason": opset_reason,
            "exporter": "torchscript (dynamo=False)",
            "external_data": external,
            "input_shape": list(step.input_shape),
            "input_names": [INPUT_NAME],
            "output_names": [OUTPUT_NAME],
        },
        notes=notes,
    )
