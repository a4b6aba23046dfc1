"""The runtime registry's logic (mutation run of bench/runtimes/__init__.py): discovery from scratch, and every
cross-runtime question asked of a made-up set of runtimes whose answers are worked out here by hand."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from bench import runtimes
from bench.errors import FrameworkUnavailable, InputError
from bench.runtimes.base import Delegate, Runtime, RuntimeOptions

#: the runtimes this checkout ships (one module each under bench/runtimes/), by name
SHIPPED = ("armnn", "coral", "executorch", "ncnn", "onnx", "openvino", "pytorch", "tensorrt", "tflite")


class _Base(Runtime):
    def load(self, model_path: Path, options: RuntimeOptions) -> None: ...

    def prepare(self, x: Any) -> None: ...

    def invoke(self) -> None: ...

    def fetch(self) -> Any: ...

    def versions(self) -> Dict[str, str]:
        return {}


def _probe() -> Dict[str, str]:
    return {"v": "1"}


def _probe2() -> Dict[str, str]:
    return {"v": "2"}


class Cpu(_Base):
    name = "cpurt"
    default_for = ("fmt-a", "fmt-b")
    model_suffix = ".a"
    target = "fmt-a"
    delegates = ("fast", "slow")
    delegate_facts = {
        "fast": Delegate("fast", "cpu", False, "fastcheck", _probe),
        "slow": Delegate("slow", "npu", True, None, None),
    }
    extra_checks = {"helperlib": _probe2}


class Gpu(_Base):
    name = "gpurt"
    device = "gpu"
    accelerator = True
    selfcheck = "gpucheck"
    default_for = ("fmt-b",)  # the first runtime in name order (cpurt) takes fmt-b
    model_suffix = ".g"
    delegates = ("tpu-ish", "fast", "third")
    delegate_facts = {
        "tpu-ish": Delegate("tpu-ish", "tpu", True, "fastcheck", _probe2),  # same selfcheck name: the first kept
        "third": Delegate("third", "cpu", False, "thirdcheck", None),  # no probe: no check
    }


class Plain(_Base):
    name = "plain"
    target = "fmt-p"  # a target without a suffix gives no format suffix


MADEUP: Tuple[type, ...] = (Cpu, Gpu, Plain)


@pytest.fixture
def madeup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "_FOUND", [MADEUP])


def test_discovery_from_scratch_finds_each_shipped_runtime_once_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "_FOUND", [])
    found = runtimes.classes()
    assert tuple(c.name for c in found) == SHIPPED
    assert all(c.__module__.startswith("bench.runtimes.") and issubclass(c, Runtime) for c in found)
    assert runtimes.classes() is found and len(runtimes._FOUND) == 1  # discovered once
    assert runtimes.RUNTIMES["onnx"] == "bench.runtimes.onnxrt:" + runtimes.find("onnx").__qualname__
    assert sorted(runtimes.RUNTIMES) == list(SHIPPED)


def test_a_module_that_cannot_be_imported_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "_FOUND", [])
    real = importlib.import_module

    def broken(name: str, *a: Any) -> Any:
        if name == "bench.runtimes.ncnn":
            raise ImportError("no module named ncnn_helper")
        return real(name, *a)

    monkeypatch.setattr(runtimes.importlib, "import_module", broken)
    with pytest.raises(FrameworkUnavailable) as err:
        runtimes.classes()
    assert err.value.problem == "runtime module bench.runtimes.ncnn could not be imported: no module named ncnn_helper"
    assert err.value.fix == "see `python -m bench selfcheck`"


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NOPE'"):
        runtimes.NOPE  # noqa: B018


def test_find_names_and_create(madeup: None) -> None:
    assert runtimes.find("gpurt") is Gpu and runtimes.find("nope") is None
    assert runtimes.names() == ("cpurt", "gpurt", "plain")
    assert runtimes.runtime_class("plain") is Plain
    assert isinstance(runtimes.create("cpurt"), Cpu)
    with pytest.raises(InputError) as err:
        runtimes.runtime_class("nope")
    assert err.value.problem == "unknown framework 'nope'"
    assert err.value.fix == "use one of: cpurt, gpurt, plain"
    assert runtimes.RUNTIMES == {
        "cpurt": f"{__name__}:Cpu",
        "gpurt": f"{__name__}:Gpu",
        "plain": f"{__name__}:Plain",
    }


def test_formats_and_delegates(madeup: None) -> None:
    assert runtimes.for_format("fmt-a") == "cpurt"
    assert runtimes.for_format("fmt-b") == "cpurt"
    assert runtimes.for_format("fmt-z") is None
    assert runtimes.delegate("slow").device == "npu"
    assert runtimes.delegate("tpu-ish").device == "tpu"
    assert runtimes.delegate(None) is None and runtimes.delegate("") is None and runtimes.delegate("x") is None
    # the runtime declaring most delegates first (gpurt: 3), then cpurt's new ones
    assert runtimes.delegate_names() == ("tpu-ish", "fast", "third", "slow")


def test_device_of_takes_the_first_non_cpu_in_gpu_tpu_npu_order(madeup: None) -> None:
    assert runtimes.device_of("cpurt") == "cpu"
    assert runtimes.device_of("cpurt", "fast") == "cpu"
    assert runtimes.device_of("cpurt", "slow") == "npu"
    assert runtimes.device_of("cpurt", "slow", "tpu-ish") == "tpu"
    assert runtimes.device_of("gpurt", "tpu-ish") == "gpu"
    assert runtimes.device_of("unknown", None, "nope") == "cpu"
    assert runtimes.device_of("unknown", "tpu-ish") == "tpu"


def test_is_accelerator(madeup: None) -> None:
    assert runtimes.is_accelerator("gpurt") is True
    assert runtimes.is_accelerator("cpurt") is False
    assert runtimes.is_accelerator("cpurt", "fast") is False
    assert runtimes.is_accelerator("cpurt", "slow") is True
    assert runtimes.is_accelerator("unknown", "slow") is True
    assert runtimes.is_accelerator("unknown") is False


def test_check_names_and_checks(madeup: None) -> None:
    assert runtimes.check_name("gpurt") == "gpucheck"
    assert runtimes.check_name("cpurt") == "cpurt"
    assert runtimes.check_name("unknown") == "unknown"
    checks = runtimes.checks()
    assert list(checks) == ["cpurt", "helperlib", "gpucheck", "plain", "fastcheck"]
    assert checks["cpurt"] == (Cpu.probe, "cpurt")
    assert checks["gpucheck"] == (Gpu.probe, "gpurt")
    assert checks["helperlib"] == (_probe2, None)
    assert checks["fastcheck"] == (_probe, None)  # cpurt's delegate comes first; gpurt's of that name is not kept


def test_suffixes(madeup: None) -> None:
    assert runtimes.model_suffixes() == {"cpurt": ".a", "gpurt": ".g"}
    assert runtimes.format_suffixes() == {"fmt-a": ".a"}
