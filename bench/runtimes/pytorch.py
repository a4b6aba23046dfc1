"""PyTorch runtime: TorchScript archives, or a state_dict plus the Python file defining the class."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import formats
from bench.errors import FrameworkUnavailable, InputError, ModelFormatError, UnsupportedModelError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

log = logging.getLogger(__name__)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise FrameworkUnavailable(
            "PyTorch is not installed", "pip install torch==2.13.0 (or use an image that has it)"
        ) from exc
    return torch


def probe() -> Dict[str, str]:
    """Versions, without loading a model; raises FrameworkUnavailable."""
    return {"torch": _torch().__version__}


def _no_dynamo_import(counter: type) -> None:
    """Keep FlopCounterMode from importing torch._dynamo (2-5 s, more than a count's own work) when dynamo is not
    loaded: torch wraps every dispatch mode's __torch_dispatch__ in torch._disable_dynamo, which imports dynamo on the
    first call unless the raw function already carries its disabled form (torch/_compile.py). Without dynamo loaded
    nothing is being compiled, so the raw function is its own disabled form. Any other torch: left as it is."""
    from torch.utils import flop_counter

    mode = getattr(flop_counter, "_FlopCounterMode", None)
    raw = getattr(getattr(mode, "__dict__", {}).get("__torch_dispatch__"), "__wrapped__", None)
    if counter is flop_counter.FlopCounterMode and raw is not None and "torch._dynamo" not in sys.modules:
        if getattr(raw, "__dynamo_disable", None) is None:
            setattr(raw, "__dynamo_disable", raw)


def _import_class(class_path: Path, class_name: str) -> type:
    class_path = Path(class_path)
    if not class_path.is_file():
        raise InputError(f"model class file {class_path} not found", "pass --model-class-path FILE.py")
    spec = importlib.util.spec_from_file_location(f"edgebench_user_model_{class_path.stem}", class_path)
    if spec is None or spec.loader is None:
        raise InputError(f"cannot import {class_path} as Python", "pass a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise InputError(
            f"importing {class_path} failed: {type(exc).__name__}: {exc}", "fix the model class file"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise InputError(f"{class_path} defines no {class_name!r}", "pass the class name with --model-class-name")
    return cls


def load_module(
    path: Path, fmt: Optional[str] = None, class_path: Optional[Path] = None, class_name: Optional[str] = None
) -> Any:
    """A torch.nn.Module (or ScriptModule) in eval mode. State dicts load with ``weights_only=True``."""
    torch = _torch()
    fmt = fmt or formats.detect(path)
    if fmt == formats.TORCHSCRIPT:
        try:
            return torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as exc:
            raise ModelFormatError(
                f"TorchScript archive {path} could not be loaded: {exc}", "re-export it with torch.jit.save"
            ) from exc
    if fmt != formats.TORCH_STATE_DICT:
        raise ModelFormatError(
            f"{path} is a {fmt} model, not a PyTorch one", "use the framework that runs it, or convert it"
        )
    if not class_path or not class_name:
        raise InputError(
            f"{path} is a PyTorch state_dict, which needs its model class",
            "pass --model-class-path FILE.py --model-class-name CLASS, or give a TorchScript archive",
        )
    cls = _import_class(class_path, class_name)
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelFormatError(
            f"{path} could not be loaded as weights only ({type(exc).__name__}); a pickled full model is not loaded for safety",
            "save model.state_dict() with torch.save, or a TorchScript archive",
        ) from exc
    if not isinstance(state, dict):
        raise ModelFormatError(f"{path} holds a {type(state).__name__}, not a state_dict", "save model.state_dict()")
    try:
        model = cls()
        model.load_state_dict(state)
    except Exception as exc:
        raise ModelFormatError(
            f"state_dict {path} does not fit {class_name}: {str(exc).splitlines()[0]}",
            "check --model-class-name and that the class matches the weights",
        ) from exc
    return model.eval()


def _count_inputs(model: Any) -> int:
    schema = getattr(getattr(model, "forward", None), "schema", None)
    if schema is not None:  # TorchScript
        return len([a for a in schema.arguments if a.name != "self"])
    params = [
        p
        for p in inspect.signature(model.forward).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(params)


class PyTorchRuntime(Runtime):
    name = "pytorch"
    default_for = (formats.TORCHSCRIPT, formats.TORCH_STATE_DICT)  # target None: nothing converts *to* PyTorch
    threads_meaning = "torch.set_num_threads (intra-op threads)"
    verify_files = {"fp32": "pytorch"}
    original_cli_rank = 0
    formats = (formats.TORCHSCRIPT, formats.TORCH_STATE_DICT)

    def setup(self) -> None:
        _torch()

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        torch = _torch()
        self._torch = torch
        if options.threads:
            torch.set_num_threads(options.threads)
        self._model = load_module(model_path, None, options.model_class_path, options.model_class_name)
        n_inputs = _count_inputs(self._model)
        if n_inputs != 1:
            raise UnsupportedModelError(
                f"model forward() takes {n_inputs} inputs; only single-input single-output models are measured",
                "wrap the model so forward takes one tensor",
            )
        shape = tuple(options.input_shape or ())
        dtype = options.extra.get("input_dtype", "float32")
        self.input = TensorSpec("input", shape, dtype)
        self.output = TensorSpec("output", (), "float32")  # PyTorch models declare no output shape
        self._grad_was = torch.is_grad_enabled()
        torch.set_grad_enabled(False)
        self._y = None
        self._prof: Any = None
        self._profiling = bool(options.extra.get("profile"))

    def prepare(self, x: Any) -> None:
        self._x = self._torch.from_numpy(x)

    def invoke(self) -> None:
        self._y = self._model(self._x)

    def fetch(self) -> Any:
        y, self._y = self._y, None  # free the tensor here, not inside the next timed invoke
        if isinstance(y, (tuple, list)):
            if len(y) != 1:
                raise UnsupportedModelError(
                    f"model returned {len(y)} outputs; only single-output models are measured",
                    "wrap the model so forward returns one tensor",
                )
            y = y[0]
        return y.numpy()

    def close(self) -> None:
        if hasattr(self, "_grad_was"):
            self._torch.set_grad_enabled(self._grad_was)
        self._model = None

    def versions(self) -> Dict[str, str]:
        return probe()

    def count_macs(self) -> Dict[str, Any]:
        """MACs of one batch-1 forward pass, from torch's FlopCounterMode (aten conv/mm/addmm/bmm: 2 FLOPs a MAC);
        untimed, after the measurement (bench.peak_share)."""
        from torch.utils.flop_counter import FlopCounterMode

        _no_dynamo_import(FlopCounterMode)
        x = self._torch.zeros(tuple(self.input.shape), dtype=getattr(self._torch, self.input.dtype))
        counter = FlopCounterMode(display=False)
        with counter:
            self._model(x)
        flops = counter.get_flop_counts().get("Global", {})
        # "aten.convolution" -> "convolution"
        by_type = {str(op).rsplit(".", 1)[-1]: int(n) // 2 for op, n in flops.items()}
        macs = sum(by_type.values())
        return {"macs": macs, "ops": 2 * macs, "by_type": by_type, "source": "torch FlopCounterMode (one forward pass)"}

    profile_source = "torch.profiler (CPU), one record_function per leaf module"

    def profile_start(self) -> None:
        """Wrap each leaf module in a record_function named after it and start torch.profiler (bench.profile)."""
        if not self._profiling or self._prof is not None:
            return
        from torch.profiler import ProfilerActivity, profile, record_function

        self._layers: Dict[str, str] = {}
        self._hooks: List[Any] = []
        scripted = isinstance(self._model, self._torch.jit.ScriptModule)  # takes no hooks: its operators are read
        for name, module in [] if scripted else self._model.named_modules():
            if name and not any(True for _ in module.children()):
                label = f"layer:{name}"
                self._layers[label] = type(module).__name__
                self._hooks.append(module.register_forward_pre_hook(_enter(record_function, label)))
                self._hooks.append(module.register_forward_hook(_exit))
        self._prof = profile(activities=[ProfilerActivity.CPU])
        self._prof.start()

    def profile_rows(self) -> List[Dict[str, Any]]:
        """The leaf modules' rows (inclusive CPU time); aten operators (self time) when the model has no modules."""
        if self._prof is None:
            raise RuntimeError("the profiler was not started")
        self._prof.stop()
        for handle in self._hooks:  # later runs (--sustained-s) are not wrapped any more
            handle.remove()
        events = self._prof.key_averages()
        rows = [
            {
                "name": e.key[len("layer:") :],
                "type": self._layers[e.key],
                "calls": e.count,
                "total_ms": e.cpu_time_total / 1e3,
            }
            for e in events
            if e.key in self._layers
        ]
        if not rows:  # TorchScript: no module hooks; operators instead
            rows = [
                {"name": e.key, "type": e.key, "calls": e.count, "total_ms": e.self_cpu_time_total / 1e3}
                for e in events
                if e.key.startswith("aten::")
            ]
        return rows

    def describe(self) -> Dict[str, Any]:
        return {"threads": self._torch.get_num_threads(), "device": "cpu"}


def _enter(record_function: Any, label: str) -> Any:
    def hook(module: Any, args: Any) -> None:
        rf = record_function(label)
        rf.__enter__()
        module.__dict__.setdefault("_edgebench_rf", []).append(rf)

    return hook


def _exit(module: Any, args: Any, output: Any) -> None:
    module.__dict__["_edgebench_rf"].pop().__exit__(None, None, None)
