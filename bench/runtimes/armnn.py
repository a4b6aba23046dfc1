"""ARM NN runtime without the TFLite delegate: PyArmNN's TFLite parser, CpuAcc (NEON) with CpuRef as fallback.

Written against Debian bookworm's ``python3-pyarmnn`` (ARM NN 20.08), the API of ARM-software/armnn tag v20.08
``python/pyarmnn`` (``src/pyarmnn/swig/armnn_tfliteparser.i``, ``swig/modules/armnn_runtime.i``,
``swig/modules/armnn_network.i``, ``src/pyarmnn/_tensor/workload_tensors.py``: ``make_input_tensors``,
``make_output_tensors``, ``workload_tensors_to_ndarray``), checked against the installed package in the rpi-armnn
image (tests/test_armnn_e2e.py):

    parser = ann.ITfLiteParser(); network = parser.CreateNetworkFromBinaryFile(path)
    info = parser.GetNetworkInputBindingInfo(0, parser.GetSubgraphInputTensorNames(0)[0])
    runtime = ann.IRuntime(ann.CreationOptions())
    opt, messages = ann.Optimize(network, [ann.BackendId("CpuAcc"), ann.BackendId("CpuRef")],
                                 runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(opt); runtime.EnqueueWorkload(net_id, inputs, outputs)

Threads: ARM NN 20.08 has no way to set them. ``OptimizerOptions`` there has only ``m_Debug``, ``m_ImportEnabled``,
``m_ReduceFp32ToBf16``, ``m_ReduceFp32ToFp16`` (seen in the rpi-armnn image), no ``m_ModelOptions`` (the CpuAcc
``NumberOfThreads`` backend option came with 21.05): CpuAcc runs on Arm Compute Library's scheduler, one thread per
core. A requested thread count is recorded as not applied, with a warning.

The parser of 20.08 refuses a FULLY_CONNECTED layer without a bias (tests/test_armnn_e2e.py shows it): a clear error
says so. Run for real under emulation in the rpi-armnn image on the digits model (tests/test_armnn_e2e.py).
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

#: preferred backends, in order: NEON (Arm Compute Library), then the reference C++ kernels for what CpuAcc lacks
BACKENDS = ("CpuAcc", "CpuRef")
_NUMPY_DTYPES = {
    "Float32": "float32",
    "Float16": "float16",
    "QAsymmU8": "uint8",
    "QAsymmS8": "int8",
    "Signed32": "int32",
}


def _pyarmnn() -> Any:
    # pyarmnn's import warns once per parser this build lacks (Caffe, ONNX, TF): noise for a TFLite-only run. The
    # caller's own logging.disable level is put back afterwards, not reset to NOTSET.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        import pyarmnn as ann
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"PyArmNN is not installed: {exc}",
            "use the rpi-armnn image (Debian's python3-pyarmnn with libarmnn-cpuacc-backend22)",
        ) from exc
    finally:
        logging.disable(previous)
    return ann


def armnn_version(ann: Any) -> str:
    """ARM NN's library API version as it reports it (ARMNN_VERSION; Debian's 20.08 release says "22.0.0")."""
    return str(getattr(ann, "ARMNN_VERSION", "") or "unknown")


def probe() -> Dict[str, str]:
    ann = _pyarmnn()
    return {"armnn": armnn_version(ann), "pyarmnn": str(getattr(ann, "__version__", "present"))}


def supported_backends(runtime: Any) -> List[str]:
    """Backends this ARM NN build has on this machine (IDeviceSpec.GetSupportedBackends)."""
    try:
        return sorted(str(b) for b in runtime.GetDeviceSpec().GetSupportedBackends())
    except (AttributeError, RuntimeError, TypeError):
        return []


def _operator(model_path: Path, index: int) -> Optional[Tuple[str, List[int]]]:
    """(op name, input tensor indices) of operator ``index``, read with the TFLite interpreter when one is here."""
    try:
        from bench.runtimes.tflite import interpreter_module

        _, mod, _ = interpreter_module()
        op = mod.Interpreter(model_path=str(model_path))._get_ops_details()[index]
        return str(op["op_name"]), [int(i) for i in op["inputs"]]
    except Exception as exc:  # no interpreter, or one without _get_ops_details: the generic message stands
        log.debug("could not read operator %d of %s: %s", index, model_path, exc)
        return None


def _parser_error(model_path: Path, exc: Exception) -> Exception:
    """The parser's exception as a BenchError; names the dense layer without a bias that ARM NN 20.08 refuses.

    20.08 says "Failed to parse operator #N within subgraph #0 error: 'operatorPtr->inputs[i]' must be non-negative,
    received: -1" for an omitted optional input (seen in tests/test_armnn_e2e.py): a FULLY_CONNECTED without a bias.
    """
    text = str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    omitted = re.search(r"operator #(\d+).*received: -1", text, re.S)
    op = _operator(model_path, int(omitted.group(1))) if omitted else None
    no_bias = op is not None and op[0] == "FULLY_CONNECTED" and len(op[1]) == 3 and op[1][2] < 0
    if no_bias or (re.search(r"fully.?connected", text, re.I) and re.search(r"bias", text, re.I)):
        return UnsupportedModelError(
            f"ARM NN 20.08's TFLite parser refuses a FULLY_CONNECTED layer without a bias in {model_path.name}: {first}",
            "give the dense layers a bias (use_bias=True / bias=True) and convert again, or use --framework tflite "
            "(optionally --delegate armnn)",
        )
    if omitted:
        return UnsupportedModelError(
            f"ARM NN 20.08's TFLite parser cannot read operator #{omitted.group(1)}"
            f"{' (' + op[0] + ')' if op else ''} of {model_path.name}: it has an omitted optional input: {first}",
            "convert the model so every operator input is present, or use --framework tflite",
        )
    return ModelFormatError(
        f"ARM NN's TFLite parser could not read {model_path.name}: {first}",
        "check the model's operators are supported by ARM NN 20.08, or use --framework tflite",
    )


def _spec(ann: Any, name: str, info: Any) -> TensorSpec:
    shape = info.GetShape()
    dims = tuple(int(shape[i]) for i in range(shape.GetNumDimensions()))
    dtype_name = _dtype_name(ann, info.GetDataType())
    quant = dtype_name in ("uint8", "int8")
    return TensorSpec(
        name,
        dims,
        dtype_name,
        float(info.GetQuantizationScale()) if quant else None,
        int(info.GetQuantizationOffset()) if quant else None,
    )


def _dtype_name(ann: Any, dtype: Any) -> str:
    for armnn_name, np_name in _NUMPY_DTYPES.items():
        if getattr(ann, f"DataType_{armnn_name}", object()) == dtype:
            return np_name
    raise UnsupportedModelError(f"ARM NN tensor data type {dtype} is not measured here", "use a float32 or int8 model")


def backends_used(opt_network: Any) -> Dict[str, int]:
    """Layers per backend after optimization, from the optimized graph's dot dump (empty when unavailable)."""
    dump = getattr(opt_network, "SerializeToDot", None)
    if dump is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.dot"
        try:
            dump(str(path))
            text = path.read_text(errors="replace")
        except (RuntimeError, OSError, TypeError) as exc:
            log.debug("SerializeToDot failed: %s", exc)
            return {}
    counts: Dict[str, int] = {}
    for backend in re.findall(r"BackendID\W+(\w+)", text):
        counts[backend] = counts.get(backend, 0) + 1
    return counts


class ArmNNRuntime(Runtime):
    name = "armnn"
    target = formats.TFLITE  # PyArmNN's TFLite parser; model_suffix None: `launcher chain` does not offer it
    accelerator = True
    selfcheck = "pyarmnn"  # the selfcheck "armnn" is the TFLite runtime's ARM NN delegate library
    threads_meaning = "nothing: not settable in ARM NN 20.08 (CpuAcc uses one thread per core; recorded as asked)"
    verify_files = {"fp32": "tflite"}
    formats = (formats.TFLITE,)

    def setup(self) -> None:
        _pyarmnn()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        ann = _pyarmnn()
        import numpy as np

        self._ann, self._np = ann, np
        parser = ann.ITfLiteParser()
        try:
            network = parser.CreateNetworkFromBinaryFile(str(model_path))
        except Exception as exc:  # pyarmnn raises RuntimeError (armnn::Exception through SWIG)
            raise _parser_error(Path(model_path), exc) from exc
        in_names: List[str] = list(parser.GetSubgraphInputTensorNames(0))
        out_names: List[str] = list(parser.GetSubgraphOutputTensorNames(0))
        if len(in_names) != 1 or len(out_names) != 1:
            raise UnsupportedModelError(
                f"model has inputs {in_names} and outputs {out_names}; only single-input single-output models are measured",
                "convert a model with one input and one output",
            )
        self._in_info = parser.GetNetworkInputBindingInfo(0, in_names[0])
        out_info = parser.GetNetworkOutputBindingInfo(0, out_names[0])
        self.input = _spec(ann, in_names[0], self._in_info[1])
        self.output = _spec(ann, out_names[0], out_info[1])
        self._runtime = ann.IRuntime(ann.CreationOptions())
        preferred = [ann.BackendId(b) for b in BACKENDS]
        opt_network, messages = ann.Optimize(network, preferred, self._runtime.GetDeviceSpec(), ann.OptimizerOptions())
        for m in messages or []:
            log.info("ARM NN optimizer: %s", m)
        self._backends_used = backends_used(opt_network)
        self._supported = supported_backends(self._runtime)
        self._net_id, load_messages = self._runtime.LoadNetwork(opt_network)  # the runtime takes ownership
        if load_messages:
            log.info("ARM NN LoadNetwork: %s", load_messages)
        self._outputs = ann.make_output_tensors([out_info])
        self._enqueue = self._runtime.EnqueueWorkload  # hoisted out of the timed call
        self._to_ndarray = ann.workload_tensors_to_ndarray
        self._threads_asked = options.threads
        if options.threads:
            log.warning(
                "ARM NN 20.08 cannot set a thread count (no backend model options before 21.05): "
                "CpuAcc uses one thread per core; --threads %d is recorded as not applied",
                options.threads,
            )
        self._inputs: Optional[Any] = None
        self._versions = probe()

    def prepare(self, x: Any) -> None:
        # make_input_tensors wraps the array's memory in a ConstTensor: keep the array alive until the next prepare
        self._x = self._np.ascontiguousarray(x)
        self._inputs = self._ann.make_input_tensors([self._in_info], [self._x])

    def invoke(self) -> None:
        self._enqueue(self._net_id, self._inputs, self._outputs)

    def fetch(self) -> Any:
        return self._np.array(self._to_ndarray(self._outputs)[0]).reshape(self.output.shape)

    def close(self) -> None:
        runtime = getattr(self, "_runtime", None)
        if runtime is not None and getattr(self, "_net_id", None) is not None:
            runtime.UnloadNetwork(self._net_id)
        self._runtime = self._inputs = self._outputs = None

    def versions(self) -> Dict[str, str]:
        return dict(self._versions)

    def describe(self) -> Dict[str, Any]:
        return {
            "backends_preferred": list(BACKENDS),
            "backends_supported": self._supported,
            "backends_used": self._backends_used or "not reported by this ARM NN",
            "threads": None,
            "threads_requested": self._threads_asked,
            "threads_note": "not settable in ARM NN 20.08 (CpuAcc: one thread per core)",
        }
