"""The conversion planner (mutation run of bench/convert/edges.py): chains spelled out by hand from the table,
shortest paths on a made-up graph, each refusal's message, preflight with tools present or missing."""

from __future__ import annotations

import os
from typing import Any, List

import pytest

from bench.convert import edges as E
from bench.convert import tools
from bench.errors import ConversionError, FrameworkUnavailable


def _tools(chain: List[E.Edge]) -> List[str]:
    return [f"{e.source}>{e.target}" for e in chain]


def test_real_chains_by_hand() -> None:
    assert E.plan("onnx", "onnx") == []
    assert _tools(E.plan("pytorch-state-dict", "tflite")) == ["pytorch-state-dict>onnx", "onnx>tflite"]
    assert _tools(E.plan("savedmodel", "tflite", "int8")) == ["savedmodel>tflite"]
    assert _tools(E.plan("pytorch-state-dict", "edgetpu-tflite", "int8")) == [
        "pytorch-state-dict>onnx",
        "onnx>tflite",
        "tflite>edgetpu-tflite",
    ]
    assert _tools(E.plan("keras", "savedmodel")) == ["keras>onnx", "onnx>savedmodel"]
    assert _tools(E.plan("onnx", "tensorrt-engine", "fp16")) == ["onnx>tensorrt-engine"]


def _edge(src: str, dst: str, precisions: tuple = ("fp32",)) -> E.Edge:
    return E.Edge(src, dst, f"tool-{src}{dst}", "os.path:join", ("pkg-" + src, "second"), precisions)


def test_shortest_chain_on_a_made_up_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = [("a", "b"), ("b", "d"), ("a", "c"), ("c", "d"), ("d", "e"), ("c", "e"), ("e", "a")]
    monkeypatch.setattr(E, "EDGES", {k: _edge(*k) for k in graph})
    assert _tools(E.plan("a", "d")) == ["a>b", "b>d"]  # both are two edges long: the first found wins
    assert _tools(E.plan("a", "e")) == ["a>c", "c>e"]  # two edges, not three through b and d
    assert _tools(E.plan("d", "c")) == ["d>e", "e>a", "a>c"]
    with pytest.raises(ConversionError) as err:
        E.plan("b", "z")
    assert err.value.problem == ("no conversion from b to z (supported: a->b, b->d, a->c, c->d, d->e, c->e, e->a)")
    assert err.value.fix == "convert the model yourself to a format the framework loads"


def test_precision_made_somewhere_on_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(E, "EDGES", {("a", "b"): _edge("a", "b"), ("b", "c"): _edge("b", "c", ("fp32", "int8"))})
    assert _tools(E.plan("a", "c", "int8")) == ["a>b", "b>c"]
    with pytest.raises(ConversionError) as err:
        E.plan("a", "b", "int8")
    assert err.value.problem == "precision int8 is not produced on the way a -> b"
    assert err.value.fix == "quantized and half-precision models are made for TFLite: use --framework tflite"
    with pytest.raises(ConversionError):
        E.plan("a", "c", "fp16")


def test_refusals_of_the_real_table() -> None:
    with pytest.raises(ConversionError) as err:
        E.plan("onnx", "tensorrt-engine", "int8")
    assert err.value.problem.startswith("TensorRT int8 engines are not built here")
    assert err.value.fix == "use the tensorrt-fp16 or tensorrt-fp32 preset (--precision fp16|fp32)"
    with pytest.raises(ConversionError) as err:
        E.plan("pytorch-state-dict", "onnx", "fp16")
    assert err.value.problem == "precision fp16 is not produced on the way pytorch-state-dict -> onnx"
    for src, fix in [
        ("tflite", "a TFLite flatbuffer is an end format: convert from the original ONNX, SavedModel or Keras model"),
        ("edgetpu-tflite", "a TFLite flatbuffer is an end format"),
        ("tensorrt-engine", "a TensorRT engine is an end format: convert from the original ONNX model"),
    ]:
        with pytest.raises(ConversionError) as err:
            E.plan(src, "onnx")
        assert err.value.fix.startswith(fix)
        assert err.value.problem.startswith(f"no conversion from {src} to onnx (supported: pytorch-state-dict->onnx, ")
    with pytest.raises(ConversionError) as err:
        E.plan("onnx", None)  # type: ignore[arg-type]
    assert err.value.fix.startswith("nothing converts to PyTorch")


def test_edge_load() -> None:
    assert _edge("a", "b").load() is os.path.join


def test_preflight_names_the_first_missing_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import shutil

    installed = {"torch", "onnx2tf", "tensorflow", "second"}
    monkeypatch.setattr(tools, "package_version", lambda p: "1.0" if p in installed else "not-installed")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "tensorrt" else real_find_spec(n, *a))
    E.preflight(E.plan("pytorch-state-dict", "tflite"))  # torch and onnx2tf: present
    E.preflight([])
    with pytest.raises(FrameworkUnavailable) as err:
        E.preflight(E.plan("onnx", "tensorrt-engine"))
    assert err.value.problem.startswith("building a TensorRT engine needs the tensorrt Python package")
    assert err.value.fix == "run on a Jetson (JetPack ships TensorRT) or benchmark the ONNX model with --framework onnx"
    with pytest.raises(FrameworkUnavailable) as err:
        E.preflight(E.plan("tflite", "edgetpu-tflite", "int8"))
    assert err.value.problem.startswith("compiling for the Edge TPU needs edgetpu_compiler")
    assert err.value.fix == (
        "install Coral's edgetpu-compiler (x86-64 Debian/Ubuntu), or pass an already compiled model"
    )
    with pytest.raises(FrameworkUnavailable) as err:
        E.preflight(E.plan("keras", "onnx"))
    assert err.value.problem == "keras -> onnx needs tf2onnx, which is not installed"
    assert err.value.fix == "install the host requirements (requirements/host.txt)"
    # only the first package of an edge is asked for: "second" here stands for the rest
    installed.discard("second")
    installed.add("pkg-a")
    E.preflight([_edge("a", "b")])
    installed.discard("pkg-a")
    with pytest.raises(FrameworkUnavailable):
        E.preflight([_edge("a", "b")])


def test_preflight_passes_where_the_tools_are_there(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import shutil

    monkeypatch.setattr(tools, "package_version", lambda p: "1.0")
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/x" if name == "edgetpu_compiler" else None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: object() if n == "tensorrt" else real_find_spec(n))
    E.preflight(E.plan("pytorch-state-dict", "edgetpu-tflite", "int8"))
    E.preflight(E.plan("onnx", "tensorrt-engine"))


def test_target_for() -> None:
    assert E.target_for("tflite") == "tflite"
    assert E.target_for("coral") == "edgetpu-tflite"
    assert E.target_for("tensorflow") == "savedmodel"
    with pytest.raises(ConversionError) as err:
        E.target_for("pytorch")
    assert err.value.problem == "nothing converts to pytorch"
    assert err.value.fix == "give a PyTorch model (state_dict with its class, or TorchScript)"
    with pytest.raises(ConversionError) as err:
        E.target_for("caffe")
    assert err.value.problem == "unknown framework 'caffe'"
    assert err.value.fix == (
        "use one of: armnn, coral, executorch, ncnn, onnx, openvino, pytorch, tensorrt, tflite, tensorflow"
    )


@pytest.mark.parametrize(
    "key, asked, expected",
    [
        (("pytorch-state-dict", "onnx"), "int8", "fp32"),
        (("onnx", "tflite"), "int8", "int8"),
        (("onnx", "tflite"), "fp16", "fp16"),
        (("onnx", "ncnn"), "fp16", "fp16"),
    ],
)
def test_precision_for(key: Any, asked: str, expected: str) -> None:
    assert E.precision_for(E.EDGES[key], asked) == expected


def test_precision_for_refusals() -> None:
    with pytest.raises(ConversionError) as err:
        E.precision_for(E.EDGES[("tflite", "edgetpu-tflite")], "fp16")
    assert (err.value.problem, err.value.fix) == (
        "the Edge TPU runs only full-integer int8 models",
        "add --quantization",
    )
    with pytest.raises(FrameworkUnavailable) as err2:
        E.precision_for(E.EDGES[("onnx", "ncnn")], "int8")
    assert (err2.value.problem, err2.value.fix) == ("pnnx cannot make int8 models", "use --precision fp32")
