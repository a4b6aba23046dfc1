"""ExecuTorch runtime: a ``.pte`` program (XNNPACK-delegated by bench.convert.executorch_edge) run through
``executorch.runtime``.

Vendor API, checked against the source (pytorch/executorch, main at cff6f4dd32, 2026-08-22, the newest stored
snapshot; the 1.5.1 wheel's ``extension/pybindings/pybindings.pyi`` and ``runtime/__init__.py`` agree):

* load: ``Runtime.get().load_program(path, enable_etdump=..., debug_buffer_size=0)`` then ``load_method("forward")``
  (``runtime/__init__.py``); invoke: the loaded ``ExecuTorchMethod.__call__(inputs)``, which copies the outputs out
  (``clone_outputs=True``), as ``Method.execute`` does.
* threads: the XNNPACK delegate runs on ExecuTorch's one process-wide threadpool (``extension/threadpool``);
  ``portable_lib._unsafe_reset_threadpool(n)`` resizes it and ``_threadpool_get_thread_count()`` reads it
  (``extension/pybindings/pybindings.cpp``: both call ``threadpool::get_threadpool()``). Without ``--threads`` the
  pool keeps ExecuTorch's default (cpuinfo's count of cores), which the record states.
* per-layer time: ETDump (``enable_etdump=True``; ``Program.write_etdump_result_to_file``), parsed with
  ``executorch.devtools.etdump.serialize.deserialize_from_etdump_flatcc``. The XNNPACK delegate logs one event per
  XNNPACK operator of each run (``backends/xnnpack/runtime/profiling/XNNProfiler.cpp``: XNNPACK's microsecond timings,
  named ``"<operator> #<n>"``); operators left outside the delegate log ``OPERATOR_CALL`` events
  (``runtime/executor/method.cpp``), and inside each the kernel's own ``native_call_<operator>`` event (the 1.5.1
  wheel's portable kernels): one row per instruction, the kernel's where there is one. ETDump can be read once
  (``ETDumpGen::get_etdump_data`` ends the buffer).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List

from bench import formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)

#: executorch/runtime/core/portable_type/scalar_type.h
_SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32", 11: "bool"}
METHOD = "forward"
BACKEND = "XnnpackBackend"
#: ETDump event names that are not a layer: the method's own scopes and the delegate call around the XNNPACK operators
_NOT_LAYERS = ("Method::execute", "Method::init", "Program::load_method", "DELEGATE_CALL")
#: the event the portable kernels log inside their instruction's OPERATOR_CALL: "native_call_convolution.out"
_KERNEL_PREFIX = "native_call_"


def _portable_lib() -> Any:
    try:
        import executorch.extension.pybindings.portable_lib as lib
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"ExecuTorch is not installed ({exc})", "pip install executorch==1.5.1 torchao==0.18.0"
        ) from exc
    return lib


def _runtime() -> Any:
    _portable_lib()
    from executorch.runtime import Runtime as EtRuntime

    return EtRuntime.get()


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not-installed"


def probe() -> Dict[str, str]:
    """Versions and whether the XNNPACK backend is registered; raises FrameworkUnavailable."""
    rt = _runtime()
    if not rt.backend_registry.is_available(BACKEND):
        raise FrameworkUnavailable(
            f"this ExecuTorch build has no {BACKEND}", "install the executorch wheel from PyPI (it registers XNNPACK)"
        )
    return {"executorch": _version("executorch"), "backends": ",".join(rt.backend_registry.registered_backend_names)}


def _spec(name: str, info: Any) -> TensorSpec:
    return TensorSpec(name, tuple(int(d) for d in info.sizes()), _SCALAR_TYPES.get(int(info.dtype()), "unknown"))


class ExecuTorchRuntime(Runtime):
    name = "executorch"
    target = formats.EXECUTORCH_PTE
    default_for = (formats.EXECUTORCH_PTE,)
    model_suffix = ".pte"
    threads_meaning = "the size of ExecuTorch's process-wide threadpool, which the XNNPACK delegate runs on"
    reports_precision = True  # describe: the precision the program states (bench.convert.executorch_edge)
    # torch.export of the PyTorch model itself (no onnx2torch on the way); the XNNPACK delegate is in the .pte
    verify_files = {"fp32": "pytorch", "int8": "pytorch"}
    formats = (formats.EXECUTORCH_PTE,)

    def setup(self) -> None:
        import torch  # noqa: F401  (the pybindings take and return torch tensors)

        _runtime()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        import torch

        lib = _portable_lib()
        self._torch = torch
        if options.threads:
            lib._unsafe_reset_threadpool(int(options.threads))
        self._threads_asked = options.threads
        self._profiling = bool(options.extra.get("profile"))
        try:
            self._program = _runtime().load_program(Path(model_path), enable_etdump=self._profiling)
            method = self._program.load_method(METHOD)
        except Exception as exc:  # the pybindings raise RuntimeError/ValueError with the ExecuTorch error code
            raise ModelFormatError(
                f"ExecuTorch could not load {model_path}: {str(exc).splitlines()[0][:300] if str(exc) else repr(exc)}",
                "convert the model again with this executorch version (a .pte holds a forward method)",
            ) from exc
        meta = method.metadata
        if meta.num_inputs() != 1 or meta.num_outputs() != 1:
            raise UnsupportedModelError(
                f"the program's forward takes {meta.num_inputs()} inputs and returns {meta.num_outputs()} outputs; "
                "only single-input single-output models are measured",
                "export a model with one input and one output",
            )
        self.input = _spec("input", meta.input_tensor_meta(0))
        self.output = _spec("output", meta.output_tensor_meta(0))
        self._path = Path(model_path)
        self._facts: Dict[str, Any] = {}  # read by describe(), outside the timed load (parsing imports exir)
        self._call = method._method  # ExecuTorchMethod: __call__(inputs) runs and copies the outputs out
        self._inputs: List[Any] = []
        self._y: Any = None
        self._runs = 0
        self._profile_from = 0
        if self._profiling:  # the runs before profile_start (first inference, warm-up) are left out of the profile
            self.invoke = self._counted_invoke  # type: ignore[method-assign]

    def prepare(self, x: Any) -> None:
        self._inputs = [self._torch.from_numpy(x)]

    def invoke(self) -> None:
        self._y = self._call(self._inputs)

    def _counted_invoke(self) -> None:
        self._y = self._call(self._inputs)
        self._runs += 1

    def fetch(self) -> Any:
        y, self._y = self._y, None
        return y[0].numpy()

    def close(self) -> None:
        self._call = None
        self._program = None

    def versions(self) -> Dict[str, str]:
        return {"executorch": _version("executorch"), "torch": _version("torch")}

    def describe(self) -> Dict[str, Any]:
        """The threads the pool really has, and the program's delegates and operators outside them."""
        out: Dict[str, Any] = {
            "threads": int(_portable_lib()._threadpool_get_thread_count()),
            "threads_asked": self._threads_asked,
            "threadpool": "ExecuTorch's process-wide threadpool (XNNPACK delegate)",
        }
        if not self._facts:
            self._facts = {**program_facts(self._path), **_precision(self._program)}
        out.update(self._facts)
        return out

    # ----------------------------------------------------------------------------------------------------- profile

    profile_source = "ExecuTorch ETDump (XNNPACK delegate operator events, OPERATOR_CALL outside the delegate)"

    def profile_start(self) -> None:
        self._profile_from = self._runs

    def profile_rows(self) -> List[Dict[str, Any]]:
        """One row per XNNPACK operator (or operator outside the delegate) event of the measured runs."""
        from executorch.devtools.etdump.serialize import deserialize_from_etdump_flatcc

        if not self._profiling:
            raise RuntimeError("the program was not loaded with ETDump enabled")
        tmp = tempfile.mkdtemp(prefix="edgebench-etdump-")
        try:
            path = os.path.join(tmp, "run.etdp")
            self._program.write_etdump_result_to_file(path, os.path.join(tmp, "debug.bin"))
            etdump = deserialize_from_etdump_flatcc(Path(path).read_bytes())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return rows_of(etdump, self._profile_from)


def _precision(program: Any) -> Dict[str, Any]:
    """The precision the program states (bench.convert.executorch_edge.PRECISION_METHOD), or fp32 with a note."""
    from bench.convert.executorch_edge import PRECISION_METHOD

    if PRECISION_METHOD not in program.method_names:
        return {"precision": "fp32", "precision_note": "assumed: the program does not state its precision"}
    bits = int(program.load_method(PRECISION_METHOD).execute([])[0])
    return {"precision": "int8" if bits == 8 else "fp32"}


def program_facts(path: Path) -> Dict[str, Any]:
    """What the program delegates: backends of its delegate calls, and the operators it runs outside them (from the
    .pte itself, ``executorch.exir._serialize._program.deserialize_pte_binary``)."""
    try:
        from executorch.exir._serialize._program import deserialize_pte_binary

        pte = deserialize_pte_binary(Path(path).read_bytes())
        plan = getattr(pte, "program", pte).execution_plan[0]  # a file of zeros reads as a program without plans
    except Exception as exc:  # a nicety for the record: the measurement does not depend on it
        return {"program": f"not read: {type(exc).__name__}: {exc}"}
    kinds = [type(i.instr_args).__name__ for chain in plan.chains for i in chain.instructions]
    ops = [
        plan.operators[i.instr_args.op_index]
        for c in plan.chains
        for i in c.instructions
        if hasattr(i.instr_args, "op_index")
    ]
    outside = sorted({f"{o.name}.{o.overload}" if o.overload else o.name for o in ops})
    backends = sorted({d.id for d in plan.delegates})
    return {  # "xnnpack" as TFLite's records name it (bench.record_groups.adhoc_label leaves it out of labels)
        "delegate": "xnnpack" if backends == ["XnnpackBackend"] else ",".join(backends) or "none",
        "delegate_backends": backends,
        "delegate_calls": kinds.count("DelegateCall"),
        "kernel_calls_outside_delegate": kinds.count("KernelCall"),
        "operators_outside_delegate": outside,
    }


def rows_of(etdump: Any, skip_runs: int) -> List[Dict[str, Any]]:
    """Profile rows of an ETDump: every run that executed the method, after the first ``skip_runs`` of them."""
    rows: List[Dict[str, Any]] = []
    seen = 0
    for run in etdump.run_data:
        events = [e.profile_event for e in run.events or [] if e.profile_event is not None]
        if not any(e.name == "Method::execute" for e in events) or all(e.name == "Method::execute" for e in events):
            continue  # the load's block (Method::init), or a constant method's run (no instruction: not forward)
        seen += 1
        if seen <= skip_runs:
            continue
        kernels = {e.instruction_id for e in events if str(e.name).startswith(_KERNEL_PREFIX)}
        for e in events:
            if e.name in _NOT_LAYERS or (e.name == "OPERATOR_CALL" and e.instruction_id in kernels):
                continue  # an OPERATOR_CALL around its kernel's own event: counted once, named by the kernel
            if e.delegate_debug_id_str:  # an XNNPACK operator: "Convolution (NHWC, F32) IGEMM #3"
                name = e.delegate_debug_id_str
                kind = name.rsplit(" #", 1)[0]
            else:
                name = f"{e.name} #{e.instruction_id}"
                kind = str(e.name)
            rows.append({"name": name, "type": kind, "calls": 1, "total_ms": (e.end_time - e.start_time) / 1e6})
    return rows
