"""OpenVINO runtime: an IR compiled for the CPU plugin, one synchronous infer request, batch 1.

Settings, all recorded: ``PERFORMANCE_HINT`` LATENCY with ``NUM_STREAMS`` 1 (one request at a time, as every
runtime here is measured), ``INFERENCE_NUM_THREADS`` from ``--threads`` (the plugin's own choice when not given) and
``INFERENCE_PRECISION_HINT`` f32: the CPU plugin otherwise runs float models in f16 on ARM64 and bf16 on x86 CPUs
with AMX, and an fp32 preset must compute in fp32 (an NNCF int8 IR still runs its quantized layers in int8).

Vendor API used here, read in the vendor's Python sources and stubs as shipped in the openvino 2026.4.1 wheel:
``openvino/_ov_api.py`` (``Core.read_model(model, weights)``: a ``Tensor`` of weights with the XML as a string,
``Core.compile_model``), ``openvino/_pyopenvino/properties/__init__.pyi`` and ``openvino/properties/hint``
(``enable_profiling``, ``inference_num_threads``, ``num_streams``, ``hint.performance_mode``,
``hint.inference_precision``), ``openvino/_pyopenvino/__init__.pyi`` (``InferRequest.get_profiling_info``;
``ProfilingInfo.node_name``, ``node_type``, ``exec_type``, ``real_time``, ``status``); openvinotoolkit/openvino
``src/bindings/python/src/pyopenvino/core/profiling_info.cpp`` (the same fields bound from ``ov::ProfilingInfo``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

from bench import bundle, formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

DEVICE = "CPU"
_QUANT_OPS = ("FakeQuantize", "FakeConvert")


def _ov() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise FrameworkUnavailable("openvino is not installed", "pip install openvino") from exc
    return openvino


def probe() -> Dict[str, str]:
    ov = _ov()
    return {"openvino": ov.get_version(), "devices": ",".join(ov.Core().available_devices)}


def _spec(port: Any) -> TensorSpec:
    shape = port.get_partial_shape()
    if shape.is_dynamic:
        raise UnsupportedModelError(
            f"OpenVINO model input/output {port.get_any_name()!r} has a dynamic shape {shape}",
            "convert it from a model with a fixed input shape (edgebench converts with the data's shape)",
        )
    dtype = port.get_element_type().to_dtype().name
    return TensorSpec(port.get_any_name(), tuple(int(d) for d in shape.to_shape()), dtype)


def _reason(exc: BaseException) -> str:
    """OpenVINO's own message, first 300 characters: the last line of its text, as its first lines name only the
    C++ source places ("Exception from src/inference/src/cpp/core.cpp:105:", "Check '...' failed at ...:")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def _type_name(value: Any) -> str:
    """ "f32" for an ov.Type (its str() is "<Type: 'float32'>")."""
    return str(value.to_string()) if hasattr(value, "to_string") else str(value)


def compile_config(ov: Any, threads: Any, profile: bool) -> Dict[Any, Any]:
    """The compile_model properties of a measured run (the module docstring says why each)."""
    props = ov.properties
    config: Dict[Any, Any] = {
        props.hint.performance_mode: props.hint.PerformanceMode.LATENCY,
        props.num_streams: 1,
        props.hint.inference_precision: ov.Type.f32,
    }
    if threads:
        config[props.inference_num_threads] = int(threads)
    if profile:
        config[props.enable_profiling] = True
    return config


class OpenVINORuntime(Runtime):
    name = "openvino"
    target = formats.OPENVINO_IR
    default_for = (formats.OPENVINO_IR,)
    model_suffix = "_openvino.zip"  # bench.bundle: the .xml and .bin in one stored zip
    threads_meaning = "the CPU plugin's INFERENCE_NUM_THREADS (latency hint, one stream)"
    reports_precision = True  # describe: int8 when the IR has FakeQuantize
    formats = (formats.OPENVINO_IR,)

    def setup(self) -> None:
        _ov()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        import numpy as np

        ov = _ov()
        xml, weights, self._meta = bundle.read(model_path, formats.OPENVINO_IR)
        core = ov.Core()
        try:
            model = core.read_model(xml.decode("utf-8"), ov.Tensor(np.frombuffer(weights, dtype=np.uint8)))
        except Exception as exc:
            raise ModelFormatError(
                f"OpenVINO could not read {model_path}: {_reason(exc)}",
                "check the .xml and .bin belong together (convert the model again)",
            ) from exc
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise UnsupportedModelError(
                f"model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                "only single-input single-output models are measured",
                "export a model with one input and one output",
            )
        self.input, self.output = _spec(model.inputs[0]), _spec(model.outputs[0])
        self._profiling = bool(options.extra.get("profile"))
        self._compiled = core.compile_model(model, DEVICE, compile_config(ov, options.threads, self._profiling))
        self._req = self._compiled.create_infer_request()
        self._in = self._req.get_input_tensor(0).data  # numpy view of the request's own input buffer
        self._out_tensor = self._req.get_output_tensor(0)
        self._infer = self._req.infer
        self._quantized = any(op.get_type_name() in _QUANT_OPS for op in model.get_ops())
        self._cpu = str(core.get_property(DEVICE, "FULL_DEVICE_NAME"))
        self._rows: List[Dict[str, Any]] = []
        self._collect = False

    def prepare(self, x: Any) -> None:
        self._in[...] = x

    def invoke(self) -> None:
        self._infer()

    def fetch(self) -> Any:
        if self._collect:  # profiled runs only (flagged in the record): the last inference's counters
            self._take_counters()
        return self._out_tensor.data.copy()

    def close(self) -> None:
        self._req = self._compiled = self._infer = self._in = self._out_tensor = None

    def versions(self) -> Dict[str, str]:
        return {"openvino": _ov().get_version()}

    def describe(self) -> Dict[str, Any]:
        c = self._compiled
        return {
            "device": DEVICE,
            "cpu": self._cpu,
            "performance_hint": str(c.get_property("PERFORMANCE_HINT")),
            "num_streams": int(c.get_property("NUM_STREAMS")),
            "inference_num_threads": int(c.get_property("INFERENCE_NUM_THREADS")),
            "inference_precision": _type_name(c.get_property("INFERENCE_PRECISION_HINT")),
            "precision": "int8" if self._quantized else "fp32",
            "quantized_ir": self._quantized,
        }

    profile_source = "OpenVINO performance counters (properties.enable_profiling, InferRequest.get_profiling_info)"

    def profile_start(self) -> None:
        self._rows, self._collect = [], True

    def _take_counters(self) -> None:
        for info in self._req.get_profiling_info():
            if info.status.name != "EXECUTED":
                continue
            ms = info.real_time.total_seconds() * 1e3
            self._rows.append({"name": info.node_name, "type": info.node_type, "calls": 1, "total_ms": ms})

    def profile_rows(self) -> List[Dict[str, Any]]:
        """One row per executed node per measured inference (real time, µs resolution)."""
        if not self._profiling:
            raise RuntimeError("the model was not compiled with profiling enabled")
        return list(self._rows)
