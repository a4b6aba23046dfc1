"""Contract tests: not a substitute for hardware.

TensorRT, pycuda, pycoral, libedgetpu and Coral's tflite-runtime 2.5 cannot be installed on this machine. These tests
hold bench/runtimes/tensorrt.py, bench/runtimes/coral.py, bench/convert/tensorrt_edge.py and the TFLite delegate
options to the API surface each pinned vendor version has, as written in its source: tests/fixtures/vendor_api/*.json
list the names (with repository, tag and path). Fake modules expose only a subset of those names (checked below),
so a runtime that uses a name the pinned version lacks fails here with AttributeError, and ``hasattr`` capability
checks (TensorRT 8.2 vs 10) see what the real module would show. The fakes compute something simple so the data
path load -> prepare -> invoke -> fetch is checked end to end. What they cannot show: that the vendor library
behaves as its names promise on a Jetson or a Coral. That needs the board (README, "verified where").
"""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path
from typing import Any, Dict, Iterable, List, Tuple

import numpy as np
import pytest

from bench.errors import FrameworkUnavailable
from bench.runtimes.base import RuntimeOptions

FIXTURES = Path(__file__).parent / "fixtures" / "vendor_api"
ONNX_MODEL = Path(__file__).resolve().parents[1] / "bench" / "models" / "assets" / "digits_cnn.onnx"


def api(name: str) -> Dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def vendor_object(label: str, allowed: Iterable[str], **members: Any) -> Any:
    """An instance whose only attributes are ``members``, all of which must be names the vendor has."""
    unknown = set(members) - set(allowed) - {"__init__", "__call__"}
    assert not unknown, f"the fake {label} defines {sorted(unknown)}, which the pinned version does not have"
    body = {k: (staticmethod(v) if callable(v) and not k.startswith("__") else v) for k, v in members.items()}
    names = frozenset(allowed)

    def setattr_checked(self: Any, name: str, value: Any) -> None:  # properties the vendor has are settable
        if name not in names:
            raise AttributeError(f"{label} has no attribute {name!r} in the pinned version")
        object.__setattr__(self, name, value)

    body["__setattr__"] = setattr_checked
    return type(label, (), body)()


def vendor_module(name: str, allowed: Iterable[str], **members: Any) -> types.ModuleType:
    unknown = set(members) - set(allowed)
    assert not unknown, f"the fake module {name} defines {sorted(unknown)}, which the pinned version does not have"
    mod = types.ModuleType(name)
    for k, v in members.items():
        setattr(mod, k, v)
    return mod


def enum(label: str, allowed: Iterable[str], *values: str) -> Any:
    return vendor_object(label, allowed, **{v: f"{label}.{v}" for v in values})


# ---- TensorRT 8.2.1 / 10.3.0 and pycuda 2022.1 -----------------------------------------------------------------


class FakeGPU:
    """Device memory of the fake pycuda: pointer -> numpy buffer."""

    def __init__(self) -> None:
        self.memory: Dict[int, np.ndarray] = {}
        self.freed: List[int] = []


def fake_pycuda(gpu: FakeGPU) -> Dict[str, types.ModuleType]:
    spec = api("pycuda-2022.1.json")
    mods, classes = spec["modules"], spec["classes"]

    def mem_alloc(nbytes: int) -> Any:
        ptr = 0x1000 * (len(gpu.memory) + 1)
        gpu.memory[ptr] = np.zeros(nbytes, dtype=np.uint8)
        return vendor_object(
            "DeviceAllocation",
            classes["DeviceAllocation"],
            __int__=lambda self: ptr,
            free=lambda: gpu.freed.append(ptr),
        )

    def htod(dev: Any, host: np.ndarray) -> None:
        gpu.memory[int(dev)][:] = host.view(np.uint8).ravel()

    def dtoh(host: np.ndarray, dev: Any) -> None:
        host.view(np.uint8).ravel()[:] = gpu.memory[int(dev)]

    driver = vendor_module(
        "pycuda.driver",
        mods["pycuda.driver"],
        init=lambda flags=0: None,
        get_driver_version=lambda: 10020,
        get_version=lambda: (10, 2, 0),
        Device=lambda ordinal: vendor_object(
            "Device", classes["Device"], name=lambda: "NVIDIA Tegra X1", compute_capability=lambda: (5, 3)
        ),
        pagelocked_empty=lambda n, dtype: np.zeros(n, dtype=dtype),
        mem_alloc=mem_alloc,
        memcpy_htod=htod,
        memcpy_dtoh=dtoh,
    )
    autoinit = vendor_module("pycuda.autoinit", mods["pycuda.autoinit"], context=object(), device=object())
    root = vendor_module("pycuda", mods["pycuda"], VERSION_TEXT="2022.1")
    root.driver, root.autoinit = driver, autoinit  # submodules
    return {"pycuda": root, "pycuda.driver": driver, "pycuda.autoinit": autoinit}


#: what the fake builder serializes (long enough for bench.formats to take it for a file, not a truncated one)
FAKE_ENGINE = b"FAKE-TRT-ENGINE"


class TRTLog:
    """What the fake TensorRT saw."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, Any]] = []
        self.execute_ok = True
        self.build_s = 0.0


def fake_tensorrt(fixture: str, version: str, gpu: FakeGPU, seen: TRTLog, input_shape: Tuple[int, ...]) -> Any:
    """TensorRT with one ONNX model: input ``input_shape`` (-1 = dynamic), output (batch, 10) = 2 * input[:10]."""
    spec = api(fixture)
    cls, module_names = spec["classes"], spec["module"]
    named = "num_io_tensors" in cls["ICudaEngine"]
    E = enum("NetworkDefinitionCreationFlag", cls["NetworkDefinitionCreationFlag"], "EXPLICIT_BATCH")
    E.EXPLICIT_BATCH = 0
    flags = enum("BuilderFlag", cls["BuilderFlag"], "FP16", "TF32")
    dtypes = enum("DataType", cls["DataType"], "FLOAT")
    extra: Dict[str, Any] = {}
    if "MemoryPoolType" in cls:
        extra["MemoryPoolType"] = enum("MemoryPoolType", cls["MemoryPoolType"], "WORKSPACE")
    if "TensorIOMode" in cls:
        extra["TensorIOMode"] = enum("TensorIOMode", cls["TensorIOMode"], "INPUT", "OUTPUT")
    names, shapes = ["input", "output"], {"input": tuple(input_shape), "output": (input_shape[0], 10)}

    def concrete(shape: Tuple[int, ...]) -> Tuple[int, ...]:
        return tuple(1 if d < 0 else d for d in shape)

    def execute_v2(bindings: List[int]) -> bool:
        seen.calls.append(("execute_v2", list(bindings)))
        x = gpu.memory[bindings[0]].view(np.float32)
        gpu.memory[bindings[1]].view(np.float32)[:] = 2 * x[:10]
        return seen.execute_ok

    def context() -> Any:
        ctx: Dict[str, Any] = {"execute_v2": execute_v2}
        if named:
            ctx["set_input_shape"] = lambda name, shape: seen.calls.append(("set_input_shape", (name, shape))) or True
            ctx["get_tensor_shape"] = lambda name: concrete(shapes[name])
        else:
            ctx["set_binding_shape"] = lambda i, shape: seen.calls.append(("set_binding_shape", (i, shape))) or True
            ctx["get_binding_shape"] = lambda i: concrete(shapes[names[i]])
        return vendor_object("IExecutionContext", cls["IExecutionContext"], **ctx)

    def engine() -> Any:
        members: Dict[str, Any] = {"create_execution_context": context}
        if named:
            members.update(
                num_io_tensors=2,
                get_tensor_name=lambda i: names[i],
                get_tensor_mode=lambda n: extra["TensorIOMode"].INPUT if n == "input" else extra["TensorIOMode"].OUTPUT,
                get_tensor_shape=lambda n: shapes[n],
                get_tensor_dtype=lambda n: dtypes.FLOAT,
            )
        else:
            members.update(
                num_bindings=2,
                binding_is_input=lambda i: i == 0,
                get_binding_name=lambda i: names[i],
                get_binding_shape=lambda i: shapes[names[i]],
                get_binding_dtype=lambda i: dtypes.FLOAT,
            )
        return vendor_object("ICudaEngine", cls["ICudaEngine"], **members)

    def builder(logger: Any) -> Any:
        tensor = vendor_object("ITensor", cls["ITensor"], name="input", shape=shapes["input"])
        network = vendor_object(
            "INetworkDefinition", cls["INetworkDefinition"], num_inputs=1, get_input=lambda i: tensor
        )

        def profile() -> Any:
            return vendor_object(
                "IOptimizationProfile",
                cls["IOptimizationProfile"],
                set_shape=lambda name, lo, opt, hi: seen.calls.append(
                    ("profile", (name, tuple(lo), tuple(opt), tuple(hi)))
                ),
            )

        config_members: Dict[str, Any] = {
            "set_flag": lambda f: seen.calls.append(("set_flag", f)),
            "clear_flag": lambda f: seen.calls.append(("clear_flag", f)),
            "add_optimization_profile": lambda p: seen.calls.append(("add_optimization_profile", None)) or 0,
        }
        if "set_memory_pool_limit" in cls["IBuilderConfig"]:
            config_members["set_memory_pool_limit"] = lambda pool, n: seen.calls.append(
                ("set_memory_pool_limit", (pool, n))
            )
        config = vendor_object("IBuilderConfig", cls["IBuilderConfig"], **config_members)
        return vendor_object(
            "Builder",
            cls["Builder"],
            create_network=lambda flags: network,
            create_builder_config=lambda: config,
            create_optimization_profile=profile,
            platform_has_fast_fp16=True,
            build_serialized_network=lambda net, cfg: (
                seen.calls.append(("build", time.sleep(seen.build_s))) or FAKE_ENGINE
            ),
        ), config

    def make_builder(logger: Any) -> Any:
        b, config = builder(logger)
        seen.config = config  # type: ignore[attr-defined]
        return b

    logger_cls = type(
        "Logger",
        (),
        {"__init__": lambda self, *a: None, **{s: s for s in ("WARNING", "ERROR", "INFO") if s in cls["Logger"]}},
    )
    return vendor_module(
        "tensorrt",
        module_names,
        __version__=version,
        Logger=logger_cls,
        Builder=make_builder,
        OnnxParser=lambda network, logger: vendor_object(
            "OnnxParser", cls["OnnxParser"], parse=lambda blob: True, num_errors=0, get_error=lambda i: ""
        ),
        # pyCore.cpp Runtime.deserialize_cuda_engine: None for bytes that are not an engine of this TensorRT
        Runtime=lambda logger: vendor_object(
            "Runtime", cls["Runtime"], deserialize_cuda_engine=lambda blob: engine() if blob == FAKE_ENGINE else None
        ),
        NetworkDefinitionCreationFlag=E,
        BuilderFlag=flags,
        DataType=dtypes,
        volume=lambda shape: int(np.prod(shape)),
        nptype=lambda dt: np.float32,
        **extra,
    )


TRT_VERSIONS = [("tensorrt-8.2.1.json", "8.2.1.8"), ("tensorrt-10.3.0.json", "10.3.0.26")]


@pytest.fixture()
def trt_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> Tuple[Any, TRTLog, FakeGPU]:
    fixture, version = request.param
    gpu, seen = FakeGPU(), TRTLog()
    trt = fake_tensorrt(fixture, version, gpu, seen, (-1, 1, 32, 32))
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    for name, mod in fake_pycuda(gpu).items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setenv("EDGEBENCH_ENGINE_CACHE", str(tmp_path / "engines"))
    return trt, seen, gpu


@pytest.mark.parametrize("trt_env", TRT_VERSIONS, indirect=True, ids=["trt8.2.1", "trt10.3.0"])
def test_tensorrt_runtime_builds_caches_and_runs_on_the_pinned_api(trt_env: tuple, tmp_path: Path) -> None:
    """Contract test on each pinned API (the fixtures list the vendor's members): the runtime takes the binding API
    and max_workspace_size on 8.2, named tensors and set_memory_pool_limit on 10.x, where the other is absent."""
    from bench.runtimes.tensorrt import TensorRTRuntime

    trt, seen, gpu = trt_env
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(ONNX_MODEL.read_bytes())  # a real ONNX file; the fake parser sees the network below
    rt = TensorRTRuntime()
    rt.load(onnx, RuntimeOptions())
    facts = rt.describe()
    assert facts["engine_cached"] is False and facts["build_ms"] is not None and facts["build_ms"] >= 0
    engine_file = Path(facts["engine"])
    assert engine_file.parent == tmp_path / "engines" and engine_file.read_bytes() == FAKE_ENGINE
    # no libnvinfer mapped here: the bindings' version stands in; the GPU by its compute capability (5.3: the Nano)
    assert f"trt{trt.__version__}" in engine_file.name and engine_file.name.endswith("-sm53.engine")
    assert facts["profile_batch1"] == {"input": [1, 1, 32, 32]}
    assert ("profile", ("input", (1, 1, 32, 32), (1, 1, 32, 32), (1, 1, 32, 32))) in seen.calls
    if trt.__version__.startswith("10."):
        assert facts["workspace_api"] == "set_memory_pool_limit" and facts["io_api"] == "named tensors"
        assert ("set_input_shape", ("input", (1, 1, 32, 32))) in seen.calls
    else:
        assert facts["workspace_api"] == "max_workspace_size" and facts["io_api"] == "binding indices"
        assert seen.config.max_workspace_size == 1 << 28
        assert ("set_binding_shape", (0, (1, 1, 32, 32))) in seen.calls
    assert rt.input.shape == (1, 1, 32, 32) and rt.output.shape == (1, 10)
    assert rt.versions() == {"tensorrt": trt.__version__, "cuda_driver": "10.2", "cuda_pycuda_built": "10.2.0"}

    x = np.arange(1024, dtype=np.float32).reshape(1, 1, 32, 32)
    rt.prepare(x)
    rt.invoke()
    np.testing.assert_array_equal(rt.fetch(), 2 * x.ravel()[:10].reshape(1, 10))
    rt.close()
    assert len(gpu.freed) == 2

    again = TensorRTRuntime()
    again.load(onnx, RuntimeOptions())
    assert again.describe()["engine_cached"] is True and again.describe()["build_ms"] is None


@pytest.mark.parametrize("trt_env", TRT_VERSIONS, indirect=True, ids=["trt8.2.1", "trt10.3.0"])
def test_tensorrt_failed_inference_raises_instead_of_being_timed(trt_env: tuple, tmp_path: Path) -> None:
    from bench.runtimes.tensorrt import InferenceFailed, TensorRTRuntime

    _, seen, _ = trt_env
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(ONNX_MODEL.read_bytes())
    rt = TensorRTRuntime()
    rt.load(onnx, RuntimeOptions())
    rt.prepare(np.zeros((1, 1, 32, 32), np.float32))
    seen.execute_ok = False
    with pytest.raises(InferenceFailed, match="execute_v2 reported a failed inference"):
        rt.invoke()


@pytest.mark.parametrize("trt_env", TRT_VERSIONS, indirect=True, ids=["trt8.2.1", "trt10.3.0"])
def test_tensorrt_conversion_edge_on_the_pinned_api(trt_env: tuple, tmp_path: Path) -> None:
    from bench.convert import edges
    from bench.convert.options import ConvertOptions
    from bench.convert.tensorrt_edge import build

    trt, seen, _ = trt_env
    src = tmp_path / "model.onnx"
    src.write_bytes(ONNX_MODEL.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    edge = edges.EDGES[("onnx", "tensorrt-engine")]
    step = edges.Step(edge, src, out, tmp_path, "fp16", ConvertOptions(precision="fp16"), RuntimeOptions())
    res = build(step)
    assert res.path.read_bytes() == FAKE_ENGINE
    assert res.options["tensorrt"] == trt.__version__ and res.options["gpu"] == "NVIDIA Tegra X1"
    assert ("set_flag", trt.BuilderFlag.FP16) in seen.calls


@pytest.mark.parametrize("trt_env", TRT_VERSIONS[:1], indirect=True, ids=["trt8.2.1"])
def test_engine_build_is_recorded_apart_from_load_time(trt_env: tuple, tmp_path: Path) -> None:
    """Minutes of engine building on a Nano must not hide inside load_ms."""
    from bench import runner
    from bench.config import RunConfig, Timing

    _, seen, _ = trt_env
    seen.build_s = 0.6
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(ONNX_MODEL.read_bytes())
    quick = Timing(warmup_runs=1, warmup_min_s=0.0, min_runs=3, min_time_s=0.0, max_time_s=30)
    data = ONNX_MODEL.parent / "digits_test.npz"
    first = runner.run(RunConfig(model=onnx, data=data, framework="tensorrt", timing=quick)).to_dict()
    assert first["runtime"]["build_ms"] >= 600 and first["runtime"]["engine_cached"] is False
    assert first["latency"]["load_ms"] < 300
    second = runner.run(RunConfig(model=onnx, data=data, framework="tensorrt", timing=quick)).to_dict()
    assert second["runtime"]["build_ms"] is None and second["runtime"]["engine_cached"] is True


# ---- pycoral 2.0.0 and tflite_runtime 2.5 ---------------------------------------------------------------------


class CoralLog:
    def __init__(self) -> None:
        self.delegate_options: List[dict] = []
        self.interpreter_kwargs: List[dict] = []
        self.delegate_error: Exception = None  # type: ignore[assignment]


def fake_tflite_runtime(seen: CoralLog, with_op_resolver: bool = False) -> Dict[str, types.ModuleType]:
    spec = api("tflite_runtime-2.5.json")
    allowed_kwargs = set(spec["signatures"]["Interpreter"])
    store: Dict[int, np.ndarray] = {}

    def interpreter(**kwargs: Any) -> Any:
        assert set(kwargs) <= allowed_kwargs, f"Interpreter() got {sorted(set(kwargs) - allowed_kwargs)}"
        seen.interpreter_kwargs.append(kwargs)

        def invoke() -> None:
            store[1] = (store[0].reshape(-1)[:10] + 1).astype(np.uint8).reshape(1, 10)

        details = {"quantization": (0.5, 3)}
        return vendor_object(
            "Interpreter",
            spec["classes"]["Interpreter"],
            allocate_tensors=lambda: None,
            get_input_details=lambda: [
                {"name": "in", "index": 0, "shape": np.array([1, 8, 8, 1]), "dtype": np.uint8, **details}
            ],
            get_output_details=lambda: [
                {"name": "out", "index": 1, "shape": np.array([1, 10]), "dtype": np.uint8, **details}
            ],
            set_tensor=lambda i, x: store.__setitem__(i, np.array(x)),
            get_tensor=lambda i: store[i].copy(),
            invoke=invoke,
        )

    members: Dict[str, Any] = {"Interpreter": interpreter, "load_delegate": lambda lib, options=None: object()}
    names = list(spec["modules"]["tflite_runtime.interpreter"])
    if with_op_resolver:
        names.append("OpResolverType")
        members["OpResolverType"] = types.SimpleNamespace(BUILTIN_WITHOUT_DEFAULT_DELEGATES=3)
    interp_mod = vendor_module("tflite_runtime.interpreter", names, **members)
    root = vendor_module("tflite_runtime", spec["modules"]["tflite_runtime"], __version__="2.5.0.post1")
    root.interpreter = interp_mod
    return {"tflite_runtime": root, "tflite_runtime.interpreter": interp_mod}


def fake_pycoral(seen: CoralLog) -> Dict[str, types.ModuleType]:
    spec = api("pycoral-2.0.0.json")

    def load_edgetpu_delegate(options: Any = None) -> Any:
        seen.delegate_options.append(options)
        if seen.delegate_error is not None:
            raise seen.delegate_error
        return object()

    edgetpu = vendor_module(
        "pycoral.utils.edgetpu",
        spec["modules"]["pycoral.utils.edgetpu"],
        load_edgetpu_delegate=load_edgetpu_delegate,
        get_runtime_version=lambda: (
            "BuildLabel(COMPILER=6.3.0 20170516,DATE=redacted,TIME=redacted), RuntimeVersion(13)"
        ),
        list_edge_tpus=lambda: [{"type": "usb", "path": "/sys/bus/usb/devices/2-1"}],
    )
    utils = types.ModuleType("pycoral.utils")
    utils.edgetpu = edgetpu
    root = vendor_module("pycoral", spec["modules"]["pycoral"], __version__="2.0.0")
    root.utils = utils
    return {"pycoral": root, "pycoral.utils": utils, "pycoral.utils.edgetpu": edgetpu}


@pytest.fixture()
def coral_env(monkeypatch: pytest.MonkeyPatch) -> CoralLog:
    seen = CoralLog()
    for name, mod in {**fake_tflite_runtime(seen), **fake_pycoral(seen)}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # Coral's image has tflite_runtime only
    return seen


def test_coral_runtime_applies_threads_and_device_through_pycoral(coral_env: CoralLog, tmp_path: Path) -> None:
    from bench.runtimes.coral import CoralRuntime

    model = tmp_path / "m_edgetpu.tflite"
    model.write_bytes(b"fake")
    rt = CoralRuntime()
    rt.load(model, RuntimeOptions(threads=3, extra={"edgetpu_device": "usb:0"}))
    assert coral_env.delegate_options == [{"device": "usb:0"}]
    (kwargs,) = coral_env.interpreter_kwargs
    assert kwargs["num_threads"] == 3 and len(kwargs["experimental_delegates"]) == 1
    assert rt.input.quantized and rt.input.dtype == "uint8"
    x = np.arange(64, dtype=np.uint8).reshape(1, 8, 8, 1)
    rt.prepare(x)
    rt.invoke()
    np.testing.assert_array_equal(rt.fetch(), (x.ravel()[:10] + 1).reshape(1, 10))
    assert rt.versions()["pycoral"] == "2.0.0" and "RuntimeVersion(13)" in rt.versions()["libedgetpu_runtime"]
    assert rt.describe()["edgetpus"] == "usb:/sys/bus/usb/devices/2-1" and rt.describe()["threads"] == 3


def test_coral_without_a_device_fails_in_one_line(coral_env: CoralLog, tmp_path: Path) -> None:
    from bench.runtimes.coral import CoralRuntime

    coral_env.delegate_error = ValueError("Failed to load delegate from libedgetpu.so.1\n")
    model = tmp_path / "m_edgetpu.tflite"
    model.write_bytes(b"fake")
    with pytest.raises(FrameworkUnavailable) as err:
        CoralRuntime().load(model, RuntimeOptions())
    assert "Edge TPU delegate could not be loaded: Failed to load delegate" in str(err.value)
    assert "\n" not in str(err.value)


def test_delegate_none_on_a_tflite_runtime_without_op_resolver_type(coral_env: CoralLog, tmp_path: Path) -> None:
    """Coral's tflite-runtime 2.5.0.post1 lacks OpResolverType: a clear error, no AttributeError."""
    from bench.runtimes.tflite import TFLiteRuntime

    model = tmp_path / "m.tflite"
    model.write_bytes(b"fake")
    with pytest.raises(FrameworkUnavailable, match="--delegate none needs OpResolverType, which tflite-runtime 2.5"):
        TFLiteRuntime().load(model, RuntimeOptions(delegate="none", extra={"tflite_backend": "tflite_runtime"}))


def test_delegate_none_uses_op_resolver_type_where_the_runtime_has_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from bench.runtimes.tflite import TFLiteRuntime

    seen = CoralLog()
    for name, mod in fake_tflite_runtime(seen, with_op_resolver=True).items():
        monkeypatch.setitem(sys.modules, name, mod)
    model = tmp_path / "m.tflite"
    model.write_bytes(b"fake")
    TFLiteRuntime().load(model, RuntimeOptions(delegate="none", extra={"tflite_backend": "tflite_runtime"}))
    assert seen.interpreter_kwargs[0]["experimental_op_resolver_type"] == 3


# ---- ARM NN delegate options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [None, 4])
def test_armnn_delegate_options_are_keys_the_delegate_parses(threads: Any) -> None:
    from bench.runtimes.tflite import armnn_delegate_options

    spec = api("armnn-delegate-options.json")
    opts = armnn_delegate_options(threads)
    assert set(opts) <= set(spec["option_keys"])
    keys = list(opts)
    # number-of-threads is applied only when the backends option (listing CpuAcc) was parsed before it
    assert keys[0] == "backends" and "CpuAcc" in opts["backends"].split(",")
    assert ("number-of-threads" in opts) == bool(threads)


def test_fixtures_name_their_source() -> None:
    for path in sorted(FIXTURES.glob("*.json")):
        source = json.loads(path.read_text())["source"]
        assert source["repo"] and source["paths"], path.name
        assert source.get("tag") or source.get("commit"), path.name


@pytest.mark.parametrize("trt_env", TRT_VERSIONS, indirect=True, ids=["trt8.2.1", "trt10.3.0"])
def test_fp32_engines_are_built_without_tf32(trt_env: tuple, tmp_path: Path) -> None:
    """TensorRT enables TF32 by default (NvInfer.h BuilderFlag::kTF32 "Enabled by default"; pyCore.cpp at 8.2.1 and
    v10.3.0 binds BuilderFlag.TF32 and IBuilderConfig.clear_flag): an fp32 engine on an Ampere Orin would be TF32."""
    from bench.runtimes.tensorrt import TensorRTRuntime

    trt, seen, _ = trt_env
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(ONNX_MODEL.read_bytes())
    rt = TensorRTRuntime()
    rt.load(onnx, RuntimeOptions())
    assert ("clear_flag", trt.BuilderFlag.TF32) in seen.calls and rt.describe()["tf32"] == "cleared"
    seen.calls.clear()
    rt16 = TensorRTRuntime()
    rt16.load(onnx, RuntimeOptions(extra={"precision": "fp16"}))
    assert ("set_flag", trt.BuilderFlag.FP16) in seen.calls and ("clear_flag", trt.BuilderFlag.TF32) not in seen.calls


@pytest.mark.parametrize("trt_env", TRT_VERSIONS, indirect=True, ids=["trt8.2.1", "trt10.3.0"])
def test_a_cached_engine_that_does_not_load_is_rebuilt_with_a_warning(
    trt_env: tuple, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bench.runtimes.tensorrt import TensorRTRuntime

    _, seen, _ = trt_env
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(ONNX_MODEL.read_bytes())
    first = TensorRTRuntime()
    first.load(onnx, RuntimeOptions())
    engine = Path(first.describe()["engine"])
    engine.write_bytes(b"BAD")  # half-written, or built by another TensorRT
    again = TensorRTRuntime()
    again.load(onnx, RuntimeOptions())
    assert again.describe()["engine_cached"] is False and engine.read_bytes() == FAKE_ENGINE
    assert "does not load with this TensorRT: rebuilding it" in caplog.text


def test_the_cache_key_is_the_loaded_library_not_the_bindings(tmp_path: Path) -> None:
    from bench.runtimes.trt_cache import loaded_libnvinfer

    lib = tmp_path / "libnvinfer.so.8.2.1"  # JetPack 4.6: /usr/lib/aarch64-linux-gnu/libnvinfer.so.8 -> .so.8.2.1
    lib.write_bytes(b"")
    (tmp_path / "libnvinfer.so.8").symlink_to(lib.name)
    maps = tmp_path / "maps"
    maps.write_text(
        f"ffff8000-ffff9000 r-xp 00000000 b3:02 123 {tmp_path}/libnvinfer.so.8\n"
        "ffffa000-ffffb000 r-xp 00000000 b3:02 124 /usr/lib/aarch64-linux-gnu/libcudart.so.10.2.300\n"
    )
    assert loaded_libnvinfer(maps) == "8.2.1"
    assert loaded_libnvinfer(tmp_path / "absent") is None


@pytest.mark.parametrize("trt_env", TRT_VERSIONS, indirect=True, ids=["trt8.2.1", "trt10.3.0"])
def test_the_conversion_steps_engine_lands_in_the_engine_cache(trt_env: tuple, tmp_path: Path) -> None:
    from bench.convert import edges
    from bench.convert.options import ConvertOptions
    from bench.convert.tensorrt_edge import build
    from bench.runtimes.tensorrt import TensorRTRuntime

    src = tmp_path / "model.onnx"
    src.write_bytes(ONNX_MODEL.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    edge = edges.EDGES[("onnx", "tensorrt-engine")]
    res = build(edges.Step(edge, src, out, tmp_path, "fp16", ConvertOptions(precision="fp16"), RuntimeOptions()))
    assert Path(res.options["engine_cache"]).parent == tmp_path / "engines"
    rt = TensorRTRuntime()  # the runtime building the same engine from the ONNX finds it
    rt.load(src, RuntimeOptions(extra={"precision": "fp16"}))
    assert rt.describe()["engine_cached"] is True


@pytest.mark.parametrize("trt_env", TRT_VERSIONS[:1], indirect=True, ids=["trt8.2.1"])
def test_an_fp16_engine_is_recorded_as_fp16(trt_env: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import runner
    from bench.config import RunConfig, Timing
    from bench.convert import edges
    from bench.convert.options import ConvertOptions

    monkeypatch.setattr(edges, "preflight", lambda chain: None)  # the fake tensorrt has no package metadata
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(ONNX_MODEL.read_bytes())
    quick = Timing(warmup_runs=1, warmup_min_s=0.0, min_runs=3, min_time_s=0.0, max_time_s=30)
    data = ONNX_MODEL.parent / "digits_test.npz"
    config = RunConfig(
        model=onnx,
        data=data,
        framework="tensorrt",
        timing=quick,
        convert=ConvertOptions(precision="fp16", cache_dir=tmp_path / "conv"),
    )
    record = runner.run(config).to_dict()
    assert record["runtime"]["precision"] == "fp16"
    assert record["compute"].get("precision", "fp16") == "fp16", record["compute"]


def test_tensorrt_int8_is_skipped_with_the_reason_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """edges.py, preflight, compare (why_not) and verify (why_skipped) agree: no int8 TensorRT engine here."""
    from bench.compare import plan
    from bench.convert import edges
    from bench.errors import ConversionError

    assert "int8" not in edges.EDGES[("onnx", "tensorrt-engine")].precisions
    with pytest.raises(ConversionError, match="TensorRT int8 engines are not built here"):
        edges.plan("onnx", "tensorrt-engine", "int8")
    monkeypatch.setattr(plan, "_failed_check", lambda preset: None)  # as on a Jetson: TensorRT and the GPU work
    assert "int8 engines are not built here" in (plan.why_not("tensorrt-int8", "onnx", True) or "")
    assert plan.why_not("tensorrt-fp16", "onnx", True) is None or "int8" not in plan.why_not(
        "tensorrt-fp16", "onnx", True
    )


def test_the_edge_tpu_device_is_an_option_that_reaches_pycoral(
    coral_env: CoralLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--edgetpu-device usb:1` goes to load_edgetpu_delegate({"device": ...}), as pycoral's make_interpreter(device=)
    does (google-coral/pycoral v2.0.0 pycoral/utils/edgetpu.py); a value it does not document is refused."""
    from bench import cli, runner, stages
    from bench.config import run_config
    from bench.runtimes.coral import CoralRuntime

    args = cli.build_parser().parse_args(
        [
            "run",
            str(ONNX_MODEL),
            str(ONNX_MODEL.parent / "digits_test.npz"),
            "--framework",
            "coral",
            "--edgetpu-device",
            "usb:1",
        ]
    )
    config = run_config(args)
    assert config.edgetpu_device == "usb:1"
    seen: List[Any] = []

    def load(self: Any, path: Path, options: RuntimeOptions) -> None:
        seen.append(options.extra.get("edgetpu_device"))
        raise RuntimeError("stop after load")

    monkeypatch.setattr(CoralRuntime, "load", load)
    monkeypatch.setattr(stages, "_needs_conversion", lambda *a: False)
    with pytest.raises(RuntimeError, match="stop after load"):
        runner.run(config)
    assert seen == ["usb:1"]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "m", "d", "--framework", "coral", "--edgetpu-device", "usb1"])
