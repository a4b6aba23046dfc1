"""bench/runtimes/ncnn.py on real ncnn, fast: small nets written here in ncnn's own .param text with a .bin of known
weights (one InnerProduct, worked out by hand), as the vendor's files or as an edgebench bundle. Expected values
come from that arithmetic, what the net's Option reports back, a fresh ncnn.Option() and ncnn.__version__.

ncnn's OpenMP pool does not survive a fork when both mutmut's parent and the forked test ran layers on more than one
thread (tried: a 2-thread InnerProduct before and after the fork waits forever; 1 thread on either side finishes). So
every net here that computes runs on one thread; the default thread count is read on a net of one Input layer, which
runs no layer."""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import ncnn
import numpy as np
import pytest

from bench import bundle, formats
from bench.errors import FrameworkUnavailable, ModelFormatError, UnsupportedModelError
from bench.runtimes import ncnn as ncnnrt
from bench.runtimes.base import TensorSpec
from bench.runtimes.ncnn import NcnnRuntime
from tests.runtime_helpers import loaded
from tests.runtime_helpers import run_once as _run

#: y = W x + b, 4 inputs, 2 outputs: x = (1, 2, 3, 4) gives (1+4+9+16+0.5, -4) = (30.5, -4)
FC = "7767517\n2 2\nInput in0 0 1 in0 0=4 1=1 2=1\nInnerProduct fc 1 1 in0 out0 0=2 1=1 2=8\n"
FC_BIN = struct.pack("<I", 0) + np.array([1, 2, 3, 4, 0, 0, 0, -1, 0.5, 0], dtype=np.float32).tobytes()
INPUT_ONLY = "7767517\n1 1\nInput in0 0 1 in0 0=4 1=1 2=1\n"
FP16_OPTIONS = ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic")
OTHER_OPTIONS = ("use_bf16_storage", "use_bf16_packed", "use_vulkan_compute")


def _files(tmp_path: Path, param: str = FC, weights: bytes = FC_BIN) -> Path:
    (tmp_path / "m.param").write_text(param)
    (tmp_path / "m.bin").write_bytes(weights)
    return tmp_path / "m.param"


def _bundle(tmp_path: Path, meta: Dict[str, Any], param: str = FC, weights: bytes = FC_BIN) -> Path:
    src = _files(tmp_path, param, weights)
    return bundle.write(tmp_path / "m_ncnn.zip", formats.NCNN, src, src.with_suffix(".bin"), meta)


def _load(path: Path, threads: Optional[int] = 1, **kw: Any) -> NcnnRuntime:
    return loaded(NcnnRuntime, path, threads=threads, **kw)


def test_a_bundle_computes_its_weights(tmp_path: Path) -> None:
    rt = _load(_bundle(tmp_path, {"input_shape": [1, 4]}))
    assert rt.input == TensorSpec("in0", (1, 4), "float32") and rt.output == TensorSpec("out0", (1, 2), "float32")
    out = _run(rt, np.array([[1, 2, 3, 4]], dtype=np.float32))
    assert out.shape == (1, 2)
    np.testing.assert_allclose(out, [[30.5, -4.0]])
    np.testing.assert_allclose(_run(rt, np.array([[0, 0, 0, 2]], dtype=np.float32)), [[8.5, -2.0]])


def test_fp32_turns_every_reduced_precision_option_off(tmp_path: Path) -> None:
    assert all(getattr(ncnn.Option(), n) for n in FP16_OPTIONS)  # ncnn's defaults: on
    rt = _load(_bundle(tmp_path, {"input_shape": [1, 4]}))
    assert not any(getattr(rt._net.opt, n) for n in FP16_OPTIONS + OTHER_OPTIONS)
    assert rt.describe() == {
        "num_threads": 1,
        "precision": "fp32",
        "storage": "fp32",
        **{n: False for n in FP16_OPTIONS},
        "cpu_fp16_arithmetic": bool(ncnn.cpu_support_arm_asimdhp()),
        "vulkan": False,
    }


def test_an_fp16_bundle_turns_fp16_on_and_says_where_it_computes(tmp_path: Path) -> None:
    rt = _load(_bundle(tmp_path, {"input_shape": [1, 4], "precision": "fp16"}))
    assert all(getattr(rt._net.opt, n) for n in FP16_OPTIONS)
    assert not any(getattr(rt._net.opt, n) for n in OTHER_OPTIONS)
    asimdhp = bool(ncnn.cpu_support_arm_asimdhp())
    described = rt.describe()
    assert described["storage"] == "fp16" and described["cpu_fp16_arithmetic"] is asimdhp
    assert described["precision"] == ("fp16" if asimdhp else "fp32")
    assert all(described[n] is True for n in FP16_OPTIONS)
    np.testing.assert_allclose(_run(rt, np.array([[1, 2, 3, 4]], dtype=np.float32)), [[30.5, -4.0]], rtol=1e-2)


def test_fp16_precision_needs_the_cpus_fp16_arithmetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ncnn, "cpu_support_arm_asimdhp", lambda: 1)  # a Pi 5's Cortex-A76
    rt = _load(_bundle(tmp_path, {"input_shape": [1, 4], "precision": "fp16"}))
    assert rt.describe()["precision"] == "fp16" and rt.describe()["cpu_fp16_arithmetic"] is True
    fp32 = _load(_bundle(tmp_path, {"input_shape": [1, 4]}))
    assert fp32.describe()["precision"] == "fp32"


def test_threads_reach_the_net_and_the_default_is_ncnns(tmp_path: Path) -> None:
    assert _load(_files(tmp_path, INPUT_ONLY, b""), threads=3, input_shape=(1, 4)).describe()["num_threads"] == 3
    default = _load(_files(tmp_path, INPUT_ONLY, b""), threads=None, input_shape=(1, 4))
    assert default.describe()["num_threads"] == ncnn.Option().num_threads
    assert default._net.opt.num_threads == ncnn.Option().num_threads


def test_vendor_files_take_the_shape_from_the_options(tmp_path: Path) -> None:
    rt = _load(_files(tmp_path), input_shape=(1, 4))
    assert rt.input.shape == (1, 4) and type(rt.input.shape[1]) is int
    np.testing.assert_allclose(_run(rt, np.array([[1, 1, 1, 1]], dtype=np.float32)), [[10.5, -1.0]])
    from_bundle = _load(_bundle(tmp_path, {"input_shape": [1, 4]}), input_shape=(1, 2, 2))  # the bundle's wins
    assert from_bundle.input.shape == (1, 4)


@pytest.mark.parametrize("shape", [None, (), (1, 0), (1, -1)])
def test_an_unknown_input_shape_is_refused(tmp_path: Path, shape: Any) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        _load(_files(tmp_path), input_shape=shape)
    assert err.value.problem == f"ncnn model m.param does not record its input shape ({shape})"
    assert err.value.fix == (
        "convert it with edgebench (the bundle records the source's shape) or pass the input shape"
    )


def test_an_unknown_layer_is_one_line_naming_problem_and_fix(tmp_path: Path) -> None:
    path = _files(tmp_path, FC.replace("InnerProduct", "NoSuchLayer"))
    with pytest.raises(ModelFormatError) as err:
        _load(path, input_shape=(1, 4))
    assert err.value.problem == f"ncnn could not parse {path} (a layer this ncnn build does not know?)"
    assert err.value.fix == "convert the model again with the pnnx of the same release as this ncnn"


def test_several_outputs_are_refused(tmp_path: Path) -> None:
    split = "7767517\n2 3\nInput in0 0 1 in0 0=4 1=1 2=1\nSplit sp 1 2 in0 a b\n"
    with pytest.raises(UnsupportedModelError) as err:
        _load(_files(tmp_path, split, b""), input_shape=(1, 4))
    assert err.value.problem == (
        "model has inputs ['in0'] and outputs ['a', 'b']; only single-input single-output models are measured"
    )
    assert err.value.fix == "export a model with one input and one output"


def test_several_inputs_are_refused(tmp_path: Path) -> None:
    two = "7767517\n3 3\nInput a 0 1 a 0=4\nInput b 0 1 b 0=4\nBinaryOp add 2 1 a b out0 0=0\n"
    with pytest.raises(UnsupportedModelError, match=r"^model has inputs \['a', 'b'\] and outputs \['out0'\]; "):
        _load(_files(tmp_path, two, b""), input_shape=(1, 4))


def test_a_failed_extract_names_the_blob_and_its_code(tmp_path: Path) -> None:
    rt = _load(_files(tmp_path), input_shape=(1, 4))
    rt._out_name = "nope"  # a blob the net does not have: ncnn returns -1
    with pytest.raises(ModelFormatError) as err:
        rt.invoke()
    assert err.value.problem == "ncnn failed to compute 'nope' (code -1)" and err.value.fix == "convert the model again"


def test_versions_probe_close_and_a_missing_ncnn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = _load(_files(tmp_path), input_shape=(1, 4))
    assert rt.versions() == {"ncnn": ncnn.__version__}
    assert ncnnrt.probe() == {"ncnn": ncnn.__version__, "cpus": str(ncnn.get_cpu_count())}
    rt.close()
    assert rt._net is None and rt._mat is None and rt._y is None
    monkeypatch.setitem(sys.modules, "ncnn", None)
    with pytest.raises(FrameworkUnavailable) as err:
        NcnnRuntime().setup()
    assert err.value.problem == "ncnn is not installed" and err.value.fix == "pip install ncnn"
