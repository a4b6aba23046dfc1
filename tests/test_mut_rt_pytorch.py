"""bench/runtimes/pytorch.py on real PyTorch, fast (no training): the shipped digits state_dict with its class file,
a TorchScript traced here from the same weights, and small model classes written to tmp_path. Expected values come from
ONNX Runtime on the shipped ONNX file of the same weights, the test labels, the digits CNN's MACs counted by hand,
torch.__version__ and torch's own state. torch stays on one thread (mutmut's children fork after the parent ran torch):
what a larger thread count does is read from a recording stand-in for torch.set_num_threads."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
import torch
from torch.utils import flop_counter

from bench import models
from bench.errors import FrameworkUnavailable
from bench.runtimes import pytorch
from bench.runtimes.base import TensorSpec
from bench.runtimes.pytorch import PyTorchRuntime
from tests.runtime_helpers import assert_digits_like_onnx_runtime, loaded
from tests.runtime_helpers import run_once as _run

X = np.load(models.DIGITS_TEST_DATA)["x_data"][:4]
CLS = {"model_class_path": models.DIGITS_CLASS_FILE, "model_class_name": models.DIGITS_CLASS_NAME}
SHAPE = (1, 1, 32, 32)


def _digits(**kw: Any) -> PyTorchRuntime:
    return loaded(PyTorchRuntime, models.DIGITS_STATE_DICT, input_shape=SHAPE, threads=1, **CLS, **kw)


def _digits_module() -> torch.nn.Module:
    from bench.models.digits import DigitsCNN

    model = DigitsCNN()
    model.load_state_dict(torch.load(str(models.DIGITS_STATE_DICT), weights_only=True))
    return model.eval()


def _torchscript(tmp_path: Path) -> Path:
    path = tmp_path / "digits.pt"
    with torch.no_grad():
        torch.jit.save(torch.jit.trace(_digits_module(), torch.zeros(SHAPE)), str(path))
    return path


@pytest.fixture(autouse=True)
def _grad_back() -> Any:
    """Each test starts and ends with autograd on, as torch starts (a runtime left unclosed turns it off)."""
    torch.set_grad_enabled(True)
    yield
    torch.set_grad_enabled(True)


def test_state_dict_outputs_match_onnx_runtime_and_the_labels() -> None:
    rt = _digits()
    assert rt.input == TensorSpec("input", SHAPE, "float32") and rt.output == TensorSpec("output", (), "float32")
    assert_digits_like_onnx_runtime(rt)
    assert rt._y is None  # fetch let go of the output tensor
    assert rt.describe() == {"threads": 1, "device": "cpu"} and torch.get_num_threads() == 1


def test_torchscript_outputs_match_onnx_runtime_and_the_labels(tmp_path: Path) -> None:
    rt = loaded(PyTorchRuntime, _torchscript(tmp_path), input_shape=SHAPE, threads=1)
    assert isinstance(rt._model, torch.jit.ScriptModule) and not rt._model.training
    assert_digits_like_onnx_runtime(rt, count=40)


def test_no_shape_and_another_dtype_are_kept_as_given() -> None:
    rt = loaded(PyTorchRuntime, models.DIGITS_STATE_DICT, extra={"input_dtype": "float16"}, **CLS)
    assert rt.input == TensorSpec("input", (), "float16")
    assert not rt._model.training and rt._profiling is False and rt._prof is None


@pytest.mark.parametrize("threads, calls", [(None, []), (0, []), (4, [4]), (1, [1])])
def test_threads_option_is_torch_set_num_threads(
    monkeypatch: pytest.MonkeyPatch, threads: Any, calls: List[int]
) -> None:
    seen: List[int] = []
    monkeypatch.setattr(torch, "set_num_threads", seen.append)  # records, never starts more threads
    loaded(PyTorchRuntime, models.DIGITS_STATE_DICT, threads=threads, **CLS)
    assert seen == calls


def test_grad_is_off_while_loaded_and_restored_by_close() -> None:
    rt = _digits()
    assert not torch.is_grad_enabled()
    rt.close()
    assert torch.is_grad_enabled() and rt._model is None
    torch.set_grad_enabled(False)
    off = _digits()
    off.close()
    assert not torch.is_grad_enabled()  # it was off before the load: it stays off


def test_close_before_any_load_has_nothing_to_restore() -> None:
    rt = PyTorchRuntime()
    rt.close()  # a load that failed early: the harness still closes
    assert rt._model is None and torch.is_grad_enabled()


def test_versions_and_probe_name_the_installed_torch() -> None:
    assert _digits().versions() == {"torch": torch.__version__} == pytorch.probe()
    assert PyTorchRuntime.threads_meaning == "torch.set_num_threads (intra-op threads)"


def test_missing_torch_is_framework_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(FrameworkUnavailable) as err:
        PyTorchRuntime().setup()
    assert err.value.problem == "PyTorch is not installed"
    assert err.value.fix == "pip install torch==2.13.0 (or use an image that has it)"
    assert isinstance(err.value.__cause__, ImportError)


def test_count_macs_is_the_digits_cnns_by_hand() -> None:
    """conv 1->8 k3 at 32x32: 8*9*32*32; conv 8->16 k3 at 16x16: 16*72*16*16; linear 1024->10: 10*1024."""
    conv, linear = 8 * 9 * 32 * 32 + 16 * 72 * 16 * 16, 10 * 1024
    got = _digits().count_macs()
    assert got == {
        "macs": conv + linear,
        "ops": 2 * (conv + linear),
        "by_type": {"convolution": conv, "addmm": linear},
        "source": "torch FlopCounterMode (one forward pass)",
    }


def test_count_macs_is_whole_numbers_printed_nowhere(capsys: pytest.CaptureFixture) -> None:
    got = _digits().count_macs()
    assert type(got["macs"]) is int and {type(v) for v in got["by_type"].values()} == {int}
    assert capsys.readouterr() == ("", "")  # FlopCounterMode prints its table only when asked to display it


def test_count_macs_of_a_model_without_counted_operators_is_zero(tmp_path: Path) -> None:
    cls = tmp_path / "scale.py"
    cls.write_text("import torch\n\nclass Scale(torch.nn.Module):\n    def forward(self, x):\n        return x * 2\n")
    weights = tmp_path / "none.pth"
    torch.save({}, str(weights))
    rt = loaded(PyTorchRuntime, weights, model_class_path=cls, model_class_name="Scale", input_shape=(1, 3))
    assert rt.count_macs() == {
        "macs": 0,
        "ops": 0,
        "by_type": {},
        "source": "torch FlopCounterMode (one forward pass)",
    }


class _NoDynamo:
    """A meta path finder that refuses to import torch._dynamo."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch._dynamo":
            raise ImportError("the count imported torch._dynamo")


def test_count_macs_leaves_torch_dynamo_unimported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dynamo loaded, the count marks torch's raw dispatch as its own disabled form instead of importing
    dynamo (2-5 s); tests/test_count_without_dynamo.py checks the same in a fresh process. Here, as in a process that
    never loaded dynamo nor counted: dynamo hidden from sys.modules, the mark removed, its import refused."""
    raw = flop_counter._FlopCounterMode.__dict__["__torch_dispatch__"].__wrapped__
    monkeypatch.delattr(raw, "__dynamo_disable", raising=False)
    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoDynamo(), *sys.meta_path])
    assert _digits().count_macs()["macs"] == 8 * 9 * 32 * 32 + 16 * 72 * 16 * 16 + 10 * 1024


def test_count_macs_uses_the_input_dtype() -> None:
    rt = _digits()
    rt.input = TensorSpec("input", SHAPE, "float64")  # the model's weights are float32: torch refuses a double input
    with pytest.raises(RuntimeError, match="double"):
        rt.count_macs()


#: the digits CNN's leaf modules (bench/models/digits.py): name -> class
LEAVES = {
    "features.0": "Conv2d",
    "features.1": "ReLU",
    "features.2": "MaxPool2d",
    "features.3": "Conv2d",
    "features.4": "ReLU",
    "features.5": "MaxPool2d",
    "classifier": "Linear",
}


@pytest.mark.parametrize("warm, measured", [(2, 3), (0, 1)])
def test_profile_rows_are_the_leaf_modules_of_the_runs_after_the_start(warm: int, measured: int) -> None:
    rt = _digits(extra={"profile": True})
    for _ in range(warm):
        _run(rt, X[:1])
    rt.profile_start()
    rt.profile_start()  # a second start (--sustained-s) neither restarts the profiler nor wraps twice
    for _ in range(measured):
        _run(rt, X[:1])
    rows = rt.profile_rows()
    assert {r["name"]: r["type"] for r in rows} == LEAVES and len(rows) == len(LEAVES)
    assert all(r["calls"] == measured and 0 < r["total_ms"] < 1000 for r in rows)
    assert sorted(rows[0]) == ["calls", "name", "total_ms", "type"]
    by_name = {r["name"]: r["total_ms"] for r in rows}
    assert by_name["features.3"] > by_name["features.4"]  # a convolution takes longer than the ReLU after it
    for module in rt._model.modules():  # later runs are not wrapped any more
        assert not module._forward_pre_hooks and not module._forward_hooks
        assert module.__dict__.get("_edgebench_rf", []) == []
    _run(rt, X[:1])
    rt.close()


def test_torchscript_profile_rows_are_aten_operators(tmp_path: Path) -> None:
    rt = loaded(PyTorchRuntime, _torchscript(tmp_path), input_shape=SHAPE, threads=1, extra={"profile": True})
    rt.profile_start()
    for _ in range(2):
        _run(rt, X[:1])
    rows = rt.profile_rows()
    names = {r["name"] for r in rows}
    assert {"aten::_convolution", "aten::relu", "aten::max_pool2d", "aten::linear"} <= names and "forward" not in names
    assert all(r["name"].startswith("aten::") and r["type"] == r["name"] for r in rows)
    conv = next(r for r in rows if r["name"] == "aten::_convolution")
    assert conv["calls"] == 4  # two convolutions, two runs
    assert all(r["total_ms"] >= 0 for r in rows) and sum(r["total_ms"] for r in rows) > 0


def _rows_and_events(rt: PyTorchRuntime) -> Any:
    """The runtime's profile rows, and the profiler's own averaged events they were made from (µs)."""
    kept: List[Any] = []
    averages = rt._prof.key_averages
    rt._prof.key_averages = lambda: kept.append(averages()) or kept[0]
    rows = {r["name"]: r["total_ms"] for r in rt.profile_rows()}
    return rows, {e.key: e for e in kept[0]}


def test_profile_times_are_the_profilers_in_milliseconds(tmp_path: Path) -> None:
    """Layers: their inclusive time; TorchScript's operators: their self time (aten::_convolution only calls down
    to the convolution kernels, so its self time is below its inclusive time)."""
    rt = _digits(extra={"profile": True})
    rt.profile_start()
    _run(rt, X[:1])
    rows, events = _rows_and_events(rt)
    assert rows["features.0"] == events["layer:features.0"].cpu_time_total / 1e3 > 0
    assert rows["classifier"] == events["layer:classifier"].cpu_time_total / 1e3 > 0
    script = loaded(PyTorchRuntime, _torchscript(tmp_path), input_shape=SHAPE, threads=1, extra={"profile": True})
    script.profile_start()
    _run(script, X[:1])
    rows, events = _rows_and_events(script)
    conv = events["aten::_convolution"]
    assert rows["aten::_convolution"] == conv.self_cpu_time_total / 1e3 < conv.cpu_time_total / 1e3


def test_profile_needs_the_option_and_a_start() -> None:
    rt = _digits()
    rt.profile_start()  # not asked for: nothing is wrapped or started
    assert rt._prof is None and not rt._model.features[0]._forward_pre_hooks
    with pytest.raises(RuntimeError, match="^the profiler was not started$"):
        rt.profile_rows()
