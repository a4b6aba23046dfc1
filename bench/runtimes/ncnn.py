"""ncnn runtime (Tencent's ncnn Python binding): CPU, ``opt.num_threads`` from ``--threads``, batch 1.

Precision is the model's: an fp32 model runs with every fp16/bf16 option off (ncnn's defaults turn fp16 storage and
arithmetic on where the CPU has them, which would make an fp32 preset compute in fp16 on a Pi); a model converted for
``ncnn-fp16`` (its bundle says ``"precision": "fp16"``) runs with ``use_fp16_storage``, ``use_fp16_packed`` and
``use_fp16_arithmetic`` on. ncnn uses fp16 arithmetic only where the CPU has it (ARMv8.2 ``asimdhp``: a Pi 5's
Cortex-A76 has it, a Pi 4's Cortex-A72 does not); the record says whether this CPU has it.

Per-layer time: ncnn measures layers only when built with ``NCNN_BENCHMARK`` and then prints them to stderr; the Python
binding exposes no layer timing, so ``--profile`` says it is not available here.

Vendor API used here, read at the source (Tencent/ncnn master at a4d2ea1, 2026-07-22; the wheel is 20261020):
``python/src/main.cpp`` (``Net.opt``, ``Net.load_param_mem``, ``Net.load_model_mem`` (it reads the bytes through
``DataReaderFromMemoryCopy``, so the weights are copied into the net), ``Net.input_names``, ``Net.output_names``,
``Net.create_extractor``, ``Extractor.input``/``extract`` returning ``(ret, Mat)``, ``cpu_support_arm_asimdhp``,
``layer_to_index``) and ``src/option.cpp`` (defaults: ``use_fp16_packed``, ``use_fp16_storage``,
``use_fp16_arithmetic`` true; ``use_bf16_storage`` false).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from bench import bundle, formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

_FP16_OPTIONS = ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic")
_OFF_FOR_FP32 = _FP16_OPTIONS + ("use_bf16_storage", "use_bf16_packed", "use_vulkan_compute")


def _ncnn() -> Any:
    try:
        import ncnn
    except ImportError as exc:
        raise FrameworkUnavailable("ncnn is not installed", "pip install ncnn") from exc
    return ncnn


def probe() -> Dict[str, str]:
    ncnn = _ncnn()
    return {"ncnn": ncnn.__version__, "cpus": str(ncnn.get_cpu_count())}


def set_options(opt: Any, threads: Optional[int], fp16: bool) -> None:
    """ncnn Option fields of a measured run (set before load_param, as ncnn requires)."""
    for name in _OFF_FOR_FP32:
        setattr(opt, name, False)
    if fp16:
        for name in _FP16_OPTIONS:
            setattr(opt, name, True)
    if threads:
        opt.num_threads = int(threads)


def _input_shape(meta: Dict[str, Any], options: RuntimeOptions, path: Path) -> Tuple[int, ...]:
    shape = meta.get("input_shape") or options.input_shape
    if not shape or any(int(d) < 1 for d in shape):
        raise UnsupportedModelError(
            f"ncnn model {path.name} does not record its input shape ({shape})",
            "convert it with edgebench (the bundle records the source's shape) or pass the input shape",
        )
    return tuple(int(d) for d in shape)


class NcnnRuntime(Runtime):
    name = "ncnn"
    target = formats.NCNN
    default_for = (formats.NCNN,)
    model_suffix = "_ncnn.zip"  # bench.bundle: the .param and .bin in one stored zip
    threads_meaning = "opt.num_threads"
    reports_precision = True  # describe: fp16 only where the CPU has fp16 arithmetic
    formats = (formats.NCNN,)

    def setup(self) -> None:
        _ncnn()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        import numpy as np

        ncnn = _ncnn()
        param, weights, meta = bundle.read(model_path, formats.NCNN)
        self._fp16 = meta.get("precision") == "fp16"
        net = ncnn.Net()
        set_options(net.opt, options.threads, self._fp16)
        if net.load_param_mem(param.decode("utf-8")) != 0:
            raise ModelFormatError(
                f"ncnn could not parse {model_path} (a layer this ncnn build does not know?)",
                "convert the model again with the pnnx of the same release as this ncnn",
            )
        net.load_model_mem(weights)  # copied into the net (DataReaderFromMemoryCopy)
        ins, outs = list(net.input_names()), list(net.output_names())
        if len(ins) != 1 or len(outs) != 1:
            raise UnsupportedModelError(
                f"model has inputs {ins} and outputs {outs}; only single-input single-output models are measured",
                "export a model with one input and one output",
            )
        self._net, self._in_name, self._out_name = net, ins[0], outs[0]
        shape = _input_shape(meta, options, Path(model_path))
        self.input = TensorSpec(ins[0], shape, "float32")
        self._x: Any = np.zeros(shape[1:], dtype=np.float32)
        self._mat = ncnn.Mat(self._x)
        self._Mat = ncnn.Mat
        self.invoke()  # one inference tells the output shape (ncnn's .param does not); part of load_ms
        self.output = TensorSpec(outs[0], (1,) + tuple(np.array(self._y).shape), "float32")
        self._threads = net.opt.num_threads
        self._asimdhp = bool(ncnn.cpu_support_arm_asimdhp())

    def prepare(self, x: Any) -> None:
        self._x = x[0]  # batch 1: ncnn's Mat has no batch dimension; the array is held while the Mat uses it
        self._mat = self._Mat(self._x)

    def invoke(self) -> None:
        ex = self._net.create_extractor()
        ex.input(self._in_name, self._mat)
        ret, self._y = ex.extract(self._out_name)
        if ret != 0:
            raise ModelFormatError(f"ncnn failed to compute {self._out_name!r} (code {ret})", "convert the model again")

    def fetch(self) -> Any:
        import numpy as np

        return np.array(self._y).reshape(self.output.shape)

    def close(self) -> None:
        self._net = self._mat = self._y = None

    def versions(self) -> Dict[str, str]:
        return {"ncnn": _ncnn().__version__}

    def describe(self) -> Dict[str, Any]:
        opt = self._net.opt
        return {
            "num_threads": self._threads,
            # the arithmetic precision (bench.peak_share): fp16 only where the CPU computes in it
            "precision": "fp16" if self._fp16 and self._asimdhp else "fp32",
            "storage": "fp16" if self._fp16 else "fp32",
            **{name: bool(getattr(opt, name)) for name in _FP16_OPTIONS},
            "cpu_fp16_arithmetic": self._asimdhp,
            "vulkan": False,
        }
