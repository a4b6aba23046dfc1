"""The compare presets: a name a user reads on a chart -> what is run. Plain frozen data, no I/O, no imports of
frameworks. ``bench.compare.plan`` validates names against this table and ``bench.compare.rounds`` turns each preset
into a RunConfig (framework, delegate, conversion precision).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Preset:
    #: runtime name (bench.runtimes)
    framework: str
    #: precision of the measured model; anything but fp32 is made by a conversion from the source model
    precision: str
    #: TFLite delegate given to the run (--delegate); None = the runtime's own default
    delegate: Optional[str]
    #: full-integer int8 needs calibration samples (--representative-data-path)
    needs_representative_data: bool
    #: what the preset is, for --help and the skipped list
    note: str


PRESETS: Dict[str, Preset] = {
    "pytorch": Preset(
        "pytorch", "fp32", None, False, "PyTorch eager; needs a PyTorch source (nothing converts to PyTorch)"
    ),
    "onnx": Preset("onnx", "fp32", None, False, "ONNX Runtime, CPU execution provider"),
    # delegate None, not "xnnpack": LiteRT applies XNNPACK to float models by itself; naming it would load nothing more
    "tflite": Preset("tflite", "fp32", None, False, "TFLite/LiteRT with the interpreter's default (XNNPACK in LiteRT)"),
    "tflite-fp16": Preset("tflite", "fp16", None, False, "float16 weights (computed in fp32 on CPUs without fp16)"),
    "tflite-int8": Preset("tflite", "int8", None, True, "full-integer int8, calibrated on representative data"),
    # "none" disables the default delegate (OpResolverType BUILTIN_WITHOUT_DEFAULT_DELEGATES): TFLite's reference
    # kernels, the baseline XNNPACK is measured against
    "tflite-nodelegate": Preset("tflite", "fp32", "none", False, "TFLite built-in kernels, no default delegate"),
    "tflite-armnn": Preset("tflite", "fp32", "armnn", False, "TFLite with the ARM NN delegate (CpuAcc, then CpuRef)"),
    # runtime "armnn" (bench/runtimes/armnn.py): Debian's PyArmNN 20.08, whose API has no thread setting
    "armnn": Preset("armnn", "fp32", None, False, "PyArmNN parsing the TFLite model, CpuAcc backend"),
    # delegate None: the coral runtime always loads the Edge TPU delegate; int8 because the Edge TPU runs nothing else
    "coral": Preset("coral", "int8", None, True, "Edge TPU (int8 TFLite compiled by edgetpu_compiler)"),
    "tensorrt-fp32": Preset("tensorrt", "fp32", None, False, "TensorRT engine, fp32"),
    "tensorrt-fp16": Preset("tensorrt", "fp16", None, False, "TensorRT engine, fp16 kernels allowed"),
    "tensorrt-int8": Preset("tensorrt", "int8", None, True, "TensorRT engine, int8 calibrated on representative data"),
    # the XNNPACK delegate is chosen at conversion (XnnpackPartitioner), so it is in the .pte, not a run flag
    "executorch": Preset("executorch", "fp32", None, False, "ExecuTorch .pte lowered to the XNNPACK delegate"),
    "executorch-int8": Preset(
        "executorch", "int8", None, True, "ExecuTorch XNNPACK, int8 by PT2E (XNNPACKQuantizer), calibrated"
    ),
    # ncnn int8 is absent: its ncnn2table/ncnn2int8 tools are on no package registry (bench/convert/ncnn_edge.py)
    "ncnn": Preset("ncnn", "fp32", None, False, "ncnn (pnnx conversion), fp32 storage and arithmetic"),
    "ncnn-fp16": Preset("ncnn", "fp16", None, False, "ncnn, fp16 weights; fp16 arithmetic where the CPU has it"),
    "openvino": Preset("openvino", "fp32", None, False, "OpenVINO IR on the CPU plugin, latency hint, fp32"),
    "openvino-int8": Preset("openvino", "int8", None, True, "OpenVINO IR, NNCF int8 calibrated on representative data"),
}

NAMES: Tuple[str, ...] = tuple(PRESETS)


def checks_for(preset: Preset) -> Tuple[str, ...]:
    """The selfcheck names that must pass for ``preset`` to run here: its runtime's, its delegate's (both declared
    by the runtime: ``Runtime.selfcheck``, ``Delegate.selfcheck``)."""
    from bench import runtimes

    delegate = runtimes.delegate(preset.delegate)
    return (runtimes.check_name(preset.framework),) + ((delegate.selfcheck,) if delegate and delegate.selfcheck else ())
