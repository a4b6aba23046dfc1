"""bench/runtimes/pytorch.py's loading and refusals on real PyTorch, fast: the shipped digits state_dict and class file,
files damaged or written wrong here (a pickled full model, a tensor, a cut archive, model classes of several inputs or
outputs), each refused in one line naming the problem and the fix; and the leaf-module profiler on the digits CNN,
whose layers are read from the class itself (named_modules)."""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils import flop_counter

from bench import formats, models
from bench.errors import BenchError, InputError, ModelFormatError, UnsupportedModelError
from bench.runtimes import pytorch
from bench.runtimes.pytorch import PyTorchRuntime
from tests.runtime_helpers import assert_digits_like_onnx_runtime, loaded
from tests.runtime_helpers import run_once as _run

X = np.load(models.DIGITS_TEST_DATA)["x_data"][:1]
CLS = {"model_class_path": models.DIGITS_CLASS_FILE, "model_class_name": models.DIGITS_CLASS_NAME}
SHAPE = (1, 1, 32, 32)
SD = models.DIGITS_STATE_DICT


@pytest.fixture(autouse=True)
def _grad_back() -> Any:
    yield
    torch.set_grad_enabled(True)


def _one_line(err: BenchError, problem: str, fix: str) -> None:
    assert (err.problem, err.fix) == (problem, fix)
    assert "\n" not in str(err)


def _refused(exc: type, path: Path, **kw: Any) -> Any:
    with pytest.raises(exc) as err:
        loaded(PyTorchRuntime, path, input_shape=SHAPE, **kw)
    return err.value


def test_missing_class_file_and_class_name(tmp_path: Path) -> None:
    gone = tmp_path / "gone.py"
    err = _refused(InputError, SD, model_class_path=gone, model_class_name="DigitsCNN")
    _one_line(err, f"model class file {gone} not found", "pass --model-class-path FILE.py")
    err = _refused(InputError, SD, model_class_path=models.DIGITS_CLASS_FILE, model_class_name="Nope")
    _one_line(err, f"{models.DIGITS_CLASS_FILE} defines no 'Nope'", "pass the class name with --model-class-name")


@pytest.mark.parametrize("kw", [{}, {"model_class_path": models.DIGITS_CLASS_FILE}, {"model_class_name": "DigitsCNN"}])
def test_a_state_dict_needs_both_class_options(kw: Any) -> None:
    err = _refused(InputError, SD, **kw)
    _one_line(
        err,
        f"{SD} is a PyTorch state_dict, which needs its model class",
        "pass --model-class-path FILE.py --model-class-name CLASS, or give a TorchScript archive",
    )


def test_class_file_that_is_not_python_or_fails_to_import(tmp_path: Path) -> None:
    text = tmp_path / "model.txt"  # no importer for the suffix: importlib gives no spec
    text.write_text("class Net: pass\n")
    err = _refused(InputError, SD, model_class_path=text, model_class_name="Net")
    _one_line(err, f"cannot import {text} as Python", "pass a .py file")
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('no weights here')\n")
    err = _refused(InputError, SD, model_class_path=broken, model_class_name="Net")
    _one_line(err, f"importing {broken} failed: ValueError: no weights here", "fix the model class file")
    assert isinstance(err.__cause__, ValueError)


def test_the_class_module_is_registered_under_its_own_name(tmp_path: Path) -> None:
    """dataclasses and pickling look the class's module up in sys.modules while it is imported."""
    path = tmp_path / "mine.py"
    path.write_text(models.DIGITS_CLASS_FILE.read_text())
    loaded(PyTorchRuntime, SD, model_class_path=path, model_class_name="DigitsCNN")
    assert sys.modules["edgebench_user_model_mine"].__file__ == str(path)


@pytest.mark.parametrize("force_unsafe", [False, True])
def test_a_pickled_full_model_is_refused_as_weights_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, force_unsafe: bool
) -> None:
    """Also when the environment asks torch to unpickle anything: it does so only where weights_only is not given."""
    from bench.models.digits import DigitsCNN

    if force_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

    full = tmp_path / "full.pth"
    torch.save(DigitsCNN(), str(full))
    err = _refused(ModelFormatError, full, **CLS)
    _one_line(
        err,
        f"{full} could not be loaded as weights only (UnpicklingError); a pickled full model is not loaded for safety",
        "save model.state_dict() with torch.save, or a TorchScript archive",
    )


def test_a_tensor_is_not_a_state_dict_and_other_weights_do_not_fit(tmp_path: Path) -> None:
    tensor = tmp_path / "t.pth"
    torch.save(torch.zeros(3), str(tensor))
    _one_line(
        _refused(ModelFormatError, tensor, **CLS),
        f"{tensor} holds a Tensor, not a state_dict",
        "save model.state_dict()",
    )
    other = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), str(other))
    err = _refused(ModelFormatError, other, **CLS)
    assert err.problem.startswith(f"state_dict {other} does not fit DigitsCNN: Error(s) in loading state_dict for")
    assert err.fix == "check --model-class-name and that the class matches the weights" and "\n" not in str(err)


def test_a_damaged_torchscript_archive(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pt"
    with zipfile.ZipFile(cut, "w") as z:  # a TorchScript's layout (formats.detect), its contents gone
        z.writestr("m/constants.pkl", b"not a pickle")
    assert formats.detect(cut) == formats.TORCHSCRIPT
    err = _refused(ModelFormatError, cut)
    assert (
        err.problem.startswith(f"TorchScript archive {cut} could not be loaded: ")
        and len(err.problem) > len(f"TorchScript archive {cut} could not be loaded: ") + 10
    )
    assert err.fix == "re-export it with torch.jit.save"
    # the format given wins over the file's own: a state_dict read as TorchScript is refused the same way
    with pytest.raises(ModelFormatError, match="^TorchScript archive"):
        pytorch.load_module(SD, formats.TORCHSCRIPT)


def test_another_frameworks_model_is_refused() -> None:
    err = _refused(ModelFormatError, models.DIGITS_ONNX, **CLS)
    _one_line(
        err, f"{models.DIGITS_ONNX} is a onnx model, not a PyTorch one", "use the framework that runs it, or convert it"
    )


NETS = """
import torch
from torch import nn

class Two(nn.Module):
    def forward(self, a, b):
        return a + b

class Defaults(nn.Module):  # one input: a default, *args and keyword-only arguments are not inputs
    def forward(self, x, scale=2.0, *rest, k=1):
        return x * scale

class Pair(nn.Module):
    def forward(self, x):
        return x, x + 1

class Single(nn.Module):
    def forward(self, x):
        return [x * 3]
"""


def _net(tmp_path: Path, name: str, **kw: Any) -> Any:
    cls = tmp_path / "nets.py"
    cls.write_text(textwrap.dedent(NETS))
    weights = tmp_path / "empty.pth"
    torch.save({}, str(weights))
    return loaded(PyTorchRuntime, weights, model_class_path=cls, model_class_name=name, input_shape=(1, 2), **kw)


def test_inputs_are_counted_from_forward(tmp_path: Path) -> None:
    err = _refused_net(tmp_path, "Two")
    _one_line(
        err,
        "model forward() takes 2 inputs; only single-input single-output models are measured",
        "wrap the model so forward takes one tensor",
    )
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(_run(_net(tmp_path, "Defaults"), x), x * 2)
    np.testing.assert_array_equal(_run(_net(tmp_path, "Single"), x), x * 3)  # a one-element list: its tensor


def _refused_net(tmp_path: Path, name: str) -> Any:
    with pytest.raises(UnsupportedModelError) as err:
        _net(tmp_path, name)
    return err.value


class _Two(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


def test_torchscript_inputs_are_counted_from_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "two.pt"
    torch.jit.save(torch.jit.script(_Two()), str(path))
    with pytest.raises(UnsupportedModelError, match="^model forward\\(\\) takes 2 inputs;"):
        loaded(PyTorchRuntime, path)


def test_several_outputs_are_refused_at_fetch(tmp_path: Path) -> None:
    rt = _net(tmp_path, "Pair")
    rt.prepare(np.zeros((1, 2), dtype=np.float32))
    rt.invoke()
    with pytest.raises(UnsupportedModelError) as err:
        rt.fetch()
    _one_line(
        err.value,
        "model returned 2 outputs; only single-output models are measured",
        "wrap the model so forward returns one tensor",
    )


def test_no_dynamo_import_marks_the_raw_dispatch_as_its_own_disabled_form(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = flop_counter._FlopCounterMode.__dict__["__torch_dispatch__"].__wrapped__
    monkeypatch.delattr(raw, "__dynamo_disable", raising=False)
    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)
    pytorch._no_dynamo_import(type("Other", (), {}))  # not torch's counter: left as it is
    assert getattr(raw, "__dynamo_disable", None) is None
    monkeypatch.setitem(sys.modules, "torch._dynamo", object())  # dynamo loaded: left as it is
    pytorch._no_dynamo_import(flop_counter.FlopCounterMode)
    assert getattr(raw, "__dynamo_disable", None) is None
    monkeypatch.delitem(sys.modules, "torch._dynamo")
    pytorch._no_dynamo_import(flop_counter.FlopCounterMode)
    assert getattr(raw, "__dynamo_disable") is raw
    marker = object()
    monkeypatch.setattr(raw, "__dynamo_disable", marker, raising=False)
    pytorch._no_dynamo_import(flop_counter.FlopCounterMode)  # a disabled form already there is kept
    assert getattr(raw, "__dynamo_disable") is marker


def _on_gpu_state_dict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The digits weights as saved from a CUDA device: torch.save tags each storage "cuda:0" (a tagger put first)."""
    path = tmp_path / "cuda.pth"
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "_package_registry", list(torch.serialization._package_registry))
        torch.serialization.register_package(0, lambda obj: "cuda:0", lambda obj, location: None)
        torch.save(torch.load(str(SD), weights_only=True), str(path))
    with pytest.raises(RuntimeError, match="CUDA"):  # this machine has no GPU: read as saved, they do not load
        torch.load(str(path), weights_only=True)
    return path


def _on_gpu_torchscript(tmp_path: Path) -> Path:
    """A TorchScript of the digits CNN whose weights say "cuda:0" (data.pkl's one location string, rewritten)."""
    from bench.models.digits import DigitsCNN

    model = DigitsCNN()
    model.load_state_dict(torch.load(str(SD), weights_only=True))
    cpu, gpu = tmp_path / "cpu.pt", tmp_path / "cuda.pt"
    torch.jit.save(torch.jit.trace(model.eval(), torch.zeros(SHAPE)), str(cpu))
    with zipfile.ZipFile(cpu) as src, zipfile.ZipFile(gpu, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/data.pkl"):  # pickle BINUNICODE: 4-byte length, then the text
                assert data.count(b"X\x03\x00\x00\x00cpu") == 1
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            out.writestr(info.filename, data)
    with pytest.raises(Exception, match="CUDA"):
        torch.jit.load(str(gpu))
    return gpu


def test_weights_saved_on_a_gpu_are_loaded_onto_the_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path, kw in ((_on_gpu_state_dict(tmp_path, monkeypatch), CLS), (_on_gpu_torchscript(tmp_path), {})):
        rt = loaded(PyTorchRuntime, path, input_shape=SHAPE, threads=1, **kw)
        assert {p.device.type for p in rt._model.parameters()} == {"cpu"}
        assert_digits_like_onnx_runtime(rt, count=40)
        rt.close()


def _dispatch(*args: Any) -> None:
    """A __torch_dispatch__ as a torch without torch._disable_dynamo's wrapper has it (no __wrapped__)."""


@pytest.mark.parametrize("older", ["no _FlopCounterMode", "dispatch not wrapped"])
def test_no_dynamo_import_leaves_another_torchs_counter_alone(monkeypatch: pytest.MonkeyPatch, older: str) -> None:
    if older == "no _FlopCounterMode":
        monkeypatch.delattr(flop_counter, "_FlopCounterMode")
    else:
        monkeypatch.setattr(flop_counter, "_FlopCounterMode", type("Mode", (), {"__torch_dispatch__": _dispatch}))
    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)
    pytorch._no_dynamo_import(flop_counter.FlopCounterMode)  # nothing raised
    assert not hasattr(_dispatch, "__dynamo_disable")
