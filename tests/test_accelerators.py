"""Accelerator paths, the parts that run here for real: Edge TPU compiler report parsing on real compiler output
(quoted from public issue threads, tests/fixtures/edgetpu_compiler/), the ONNX opset chosen for TensorRT 8.x (a real
torch export checked by ONNX Runtime), the TensorRT engine cache location and key, and a clean terminal after a
TFLite delegate fails to load (real LiteRT).

The compile step itself runs here only against a stand-in ``edgetpu_compiler`` that replays a real compiler output
(the real compiler is Coral's Debian package): it checks edgebench's wiring, not the compiler.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bench.convert import edgetpu_edge as etpu

from .conftest import REPO, require

COMPILER_OUTPUT = Path(__file__).parent / "fixtures" / "edgetpu_compiler"
ASSETS = REPO / "bench" / "models" / "assets"


def quoted(name: str) -> str:
    """The quoted compiler text of a fixture (below its source header)."""
    text = (COMPILER_OUTPUT / name).read_text()
    header, _, body = text.partition("\n---\n")
    assert "source: https://github.com/" in header, f"{name} must name where the text was quoted from"
    return body


def test_compiler_console_with_cpu_fallback_v2_1() -> None:
    r = etpu.parse_report(quoted("edgetpu-issue60-compiler2.1-console.txt"))
    assert (r.compiler_version, r.total_ops, r.edgetpu_subgraphs) == ("2.1.302470888", 93, 1)
    assert (r.ops_on_edgetpu, r.ops_on_cpu, r.counts_from) == (83, 10, "summary")
    assert r.fallback_ops() == {"LOGISTIC": 1, "CONCATENATION": 1}
    warning = etpu.fallback_warning(r)
    assert warning.startswith("10 of 93 operations fall back to the CPU (CONCATENATION x1, LOGISTIC x1")


def test_compiler_console_nothing_mapped_v14_1() -> None:
    r = etpu.parse_report(quoted("edgetpu-issue219-compiler14.1-console.txt"))
    assert (r.ops_on_edgetpu, r.ops_on_cpu) == (0, 2)
    assert r.fallback_ops() == {"MUL": 1, "SPLIT": 1}


def test_compiler_console_mixed_statuses_for_one_operator() -> None:
    r = etpu.parse_report(quoted("edgetpu-issue490-compiler-console.txt"))
    assert (r.total_ops, r.ops_on_edgetpu, r.ops_on_cpu) == (267, 261, 6)
    assert r.operators["CONCATENATION"] == {"Mapped to Edge TPU": 1, "More than one subgraph is not supported": 1}
    assert r.fallback_ops() == {"DEQUANTIZE": 2, "LOGISTIC": 1, "CONCATENATION": 1}


def test_compiler_console_all_mapped_prints_no_fallback_lines_v16() -> None:
    r = etpu.parse_report(quoted("yolov7-pr1672-compiler16.0-all-mapped-console.txt"))
    assert (r.compiler_version, r.ops_on_edgetpu, r.ops_on_cpu, r.counts_from) == ("16.0.384591198", 246, 0, "total")
    assert etpu.fallback_warning(r) is None


def test_compiler_operation_log_alone() -> None:
    r = etpu.parse_report("", quoted("ultralytics-issue20351-compiler16.0-oplog.txt"))
    assert r.compiler_version == "16.0.384591198" and r.counts_from == "table"
    assert (r.ops_on_edgetpu, r.ops_on_cpu) == (25, 7)
    assert r.fallback_ops() == {"QUANTIZE": 1, "CONCATENATION": 2, "RESHAPE": 4}


STAND_IN = '''#!{python}
"""Stand-in for edgetpu_compiler: replays a real compiler output (see the fixture's header), writes its outputs."""
import pathlib, sys
text = pathlib.Path({fixture!r}).read_text().partition("\\n---\\n")[2]
if sys.argv[1:] == ["--version"]:
    print(text.splitlines()[0]); sys.exit(0)
out = pathlib.Path(sys.argv[sys.argv.index("-o") + 1])
src = pathlib.Path(sys.argv[-1])
(out / (src.stem + "_edgetpu.tflite")).write_bytes(src.read_bytes())
(out / (src.stem + "_edgetpu.log")).write_text(text[text.index("Operator"):])
print(text.replace("model2", src.stem))
'''


@pytest.fixture()
def stand_in_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "edgetpu_compiler"
    fixture = COMPILER_OUTPUT / "edgetpu-issue60-compiler2.1-console.txt"
    exe.write_text(STAND_IN.format(python=sys.executable, fixture=str(fixture)))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return exe


def test_compile_step_records_op_counts_warns_and_keys_on_the_compiler_version(
    stand_in_compiler: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bench.convert import edges, tools
    from bench.convert.options import ConvertOptions
    from bench.runtimes.base import RuntimeOptions

    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    edge = edges.EDGES[("tflite", "edgetpu-tflite")]
    step = edges.Step(edge, ASSETS / "digits_cnn.tflite", out, work, "int8", ConvertOptions(), RuntimeOptions())
    with caplog.at_level("WARNING"):
        res = edge.load()(step)
    assert res.path == out / "model_edgetpu.tflite" and res.path.is_file()
    assert res.options["edgetpu_compiler"] == "2.1.302470888"
    assert (res.options["ops_on_edgetpu"], res.options["ops_on_cpu"]) == (83, 10)
    assert res.options["cpu_fallback_operators"] == {"LOGISTIC": 1, "CONCATENATION": 1}
    assert res.notes and "10 of 93 operations fall back to the CPU" in res.notes[0]
    assert "fall back to the CPU" in caplog.text
    # the conversion cache key gets `edgetpu_compiler --version`
    assert tools.versions(edge.packages) == {"edgetpu_compiler": "2.1.302470888"}


def test_opset_choice_for_tensorrt() -> None:
    from bench.convert.onnx_export import opset_for
    from bench.convert.options import DEFAULT_OPSET

    assert opset_for("tensorrt-engine", "8.2.1.8")[0] == 13
    assert opset_for(None, "8.2.1.8")[0] == 13  # a Jetson Nano: any engine it builds is 8.x
    assert opset_for("onnx", "8.2.1.8")[0] == DEFAULT_OPSET  # the chain ends in ONNX Runtime
    assert opset_for("tensorrt-engine", "10.3.0.26")[0] == DEFAULT_OPSET
    assert opset_for(None, "not-installed")[0] == DEFAULT_OPSET


def test_export_for_tensorrt_8_is_opset_13_and_still_computes_the_same(
    digits_state_dict: tuple, digits_trained: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    onnx = require("onnx")
    ort = require("onnxruntime")
    torch = require("torch")
    from bench.convert import edges, tools
    from bench.convert.onnx_export import CHAIN_TARGET_KEY, export
    from bench.convert.options import ConvertOptions
    from bench.runtimes.base import RuntimeOptions

    real = tools.package_version
    monkeypatch.setattr(tools, "package_version", lambda n: "8.2.1.8" if n == "tensorrt" else real(n))
    sd, cls, name = digits_state_dict
    model, x_te, _ = digits_trained
    ro = RuntimeOptions(model_class_path=cls, model_class_name=name, extra={CHAIN_TARGET_KEY: "tensorrt-engine"})
    edge = edges.EDGES[("pytorch-state-dict", "onnx")]
    step = edges.Step(edge, sd, tmp_path, tmp_path, "fp32", ConvertOptions(), ro, input_shape=(1, 1, 32, 32))
    res = export(step)
    assert res.options["opset"] == 13 and "TensorRT 8.2.1.8" in res.options["opset_reason"]
    assert max(o.version for o in onnx.load(str(res.path)).opset_import if o.domain in ("", "ai.onnx")) == 13
    sess = ort.InferenceSession(str(res.path), providers=["CPUExecutionProvider"])
    x = x_te[:1]
    with torch.inference_mode():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], ref, atol=1e-5)


def test_engine_cache_lives_where_the_launcher_mounts_its_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.runtimes.tensorrt import engine_cache_dir, engine_cache_key

    monkeypatch.setenv("EDGEBENCH_ENGINE_CACHE", "/cache/engines")
    assert engine_cache_dir() == Path("/cache/engines")
    monkeypatch.delenv("EDGEBENCH_ENGINE_CACHE")
    monkeypatch.setenv("EDGEBENCH_CACHE", "/c")
    assert engine_cache_dir() == Path("/c/tensorrt")
    key = engine_cache_key("ab" * 32, "fp16", "8.2.1.8", "NVIDIA Tegra X1")
    assert key == "abababababababab-fp16-trt8.2.1.8-NVIDIA_Tegra_X1.engine"
    assert engine_cache_key("ab" * 32, "fp16", "10.3.0.26", "Orin (nvgpu)") != key


DELEGATE_SCRIPT = textwrap.dedent(
    """
    import sys
    from ai_edge_litert import interpreter as mod
    if sys.argv[1] == "raw":
        try:
            mod.load_delegate("/nonexistent/libarmnnDelegate.so", {})
        except OSError as exc:
            print("caught", type(exc).__name__)
    else:
        from bench.errors import FrameworkUnavailable
        from bench.runtimes.tflite import load_named_delegate
        try:
            load_named_delegate(mod, "armnn", 2, "/nonexistent/libarmnnDelegate.so")
        except FrameworkUnavailable as exc:
            print("caught", exc)
    """
)


def test_failed_delegate_load_leaves_the_terminal_clean() -> None:
    """LiteRT's Delegate.__del__ prints a traceback after a failed load; edgebench's load does not let it through."""
    require("ai_edge_litert")
    run = [sys.executable, "-c", DELEGATE_SCRIPT]
    raw = subprocess.run([*run, "raw"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert "caught OSError" in raw.stdout
    assert "Exception ignored in" in raw.stderr and "Delegate.__del__" in raw.stderr, "the hazard this guards against"
    ours = subprocess.run([*run, "bench"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert "caught TFLite delegate armnn (/nonexistent/libarmnnDelegate.so) could not be loaded" in ours.stdout
    assert "Traceback" not in ours.stderr and "Exception ignored" not in ours.stderr, ours.stderr


def test_cli_with_a_missing_armnn_delegate_prints_one_line(tmp_path: Path) -> None:
    require("ai_edge_litert")
    env = {**os.environ, "EDGEBENCH_ARMNN_DELEGATE": str(tmp_path / "libarmnnDelegate.so")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "run", str(ASSETS / "digits_cnn.tflite"), str(ASSETS / "digits_test.npz"),
         "--framework", "tflite", "--delegate", "armnn", "--output", str(tmp_path / "r.jsonl")],
        capture_output=True, text=True, timeout=300, cwd=REPO, env=env,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert "edgebench: error: TFLite delegate armnn" in proc.stderr


def test_bench_package_needs_no_more_than_python_3_8() -> None:
    """The jetson-nano image runs bench on Ubuntu 18.04's Python 3.8 (no 3.8 interpreter here: checked statically)."""
    require("vermin")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "vermin"), "--no-tips", "--violations", "--eval-annotations", "--target=3.8-", "bench"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


FAKE_DOCKER = """#!/bin/sh
# stand-in for the docker CLI: logs each call with its DOCKER_BUILDKIT, answers what images/build.py asks
echo "DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-unset} $*" >> "$FAKE_DOCKER_LOG"
case "$1 $2" in
  "buildx version") exit 0 ;;
  "version --format") echo arm64 ;;
  "image inspect") echo 1000 ;;
esac
exit 0
"""


def test_jetson_targets_build_with_the_classic_builder_even_with_buildx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BuildKit ignores the nvidia default runtime in RUN steps; Jetson images need DOCKER_BUILDKIT=0.
    A stand-in docker CLI records what images/build.py runs (no image is built)."""
    require("hcl2")
    import importlib.util

    fake = tmp_path / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(calls))
    monkeypatch.delenv("DOCKER_BUILDKIT", raising=False)
    spec = importlib.util.spec_from_file_location("images_build_classic", REPO / "images" / "build.py")
    build = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "images_build_classic", build)  # dataclasses resolve their module by name
    spec.loader.exec_module(build)
    assert build.main(["host", "jetson-nano", "jetson-orin"]) == 0
    lines = calls.read_text().splitlines()
    bake = [ln for ln in lines if " buildx bake " in ln]
    assert len(bake) == 1 and bake[0].endswith(" host") and "jetson" not in bake[0]
    builds = [ln for ln in lines if ln.split(" ", 2)[1] == "build"]
    # each Jetson image: its runtime stack, then the edgebench layer on it, both classic
    assert [b.split()[0] for b in builds] == ["DOCKER_BUILDKIT=0"] * 4
    assert any("images/jetson-nano/Dockerfile" in b for b in builds)
    assert any("images/jetson-orin/Dockerfile" in b for b in builds)
    assert sum("images/edgebench/Dockerfile" in b for b in builds) == 2


@pytest.mark.parametrize(
    "layout,expected",
    [
        (["libarmnn.so.33", "libarmnnDelegate.so", "libarmnnDelegate.so.29"], "libarmnnDelegate.so"),
        (["libarmnn.so.33", "libarmnnDelegate.so.29"], "libarmnnDelegate.so.29"),
        (["libarmnn.so.33", "delegate/libarmnnDelegate.so.29.0"], "delegate/libarmnnDelegate.so.29.0"),
    ],
)
def test_rpi_armnn_finds_the_delegate_in_each_release_layout(tmp_path: Path, layout: list, expected: str) -> None:
    """images/rpi-armnn/find-delegate.sh, the step the image runs on the unpacked release, on each known layout."""
    for rel in layout:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"\x7fELF")
    script = REPO / "images" / "rpi-armnn" / "find-delegate.sh"
    proc = subprocess.run(["sh", str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    link = tmp_path / "libarmnnDelegate.so"
    assert link.resolve() == (tmp_path / expected).resolve()


def test_rpi_armnn_fails_loudly_without_the_delegate(tmp_path: Path) -> None:
    (tmp_path / "libarmnn.so.33").write_bytes(b"\x7fELF")
    script = REPO / "images" / "rpi-armnn" / "find-delegate.sh"
    proc = subprocess.run(["sh", str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "no libarmnnDelegate.so* in the ARM NN release archive" in proc.stderr and "libarmnn.so.33" in proc.stderr


def test_an_export_for_a_nano_on_the_workstation_is_opset_13(
    digits_state_dict: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No TensorRT here (the workstation): the target device decides, as the launcher names it for a host conversion
    done for a Nano (TensorRT 8.2: onnx-tensorrt docs/operators.md for 8.2, opsets 7 to 13)."""
    onnx = require("onnx")
    from bench.convert import edges, tools
    from bench.convert.onnx_export import CHAIN_TARGET_KEY, TARGET_DEVICE_ENV, export
    from bench.convert.options import ConvertOptions
    from bench.runtimes.base import RuntimeOptions

    assert tools.package_version("tensorrt") == "not-installed"
    monkeypatch.setenv(TARGET_DEVICE_ENV, "jetson-nano")
    sd, cls, name = digits_state_dict
    ro = RuntimeOptions(model_class_path=cls, model_class_name=name, extra={CHAIN_TARGET_KEY: "onnx"})
    edge = edges.EDGES[("pytorch-state-dict", "onnx")]
    step = edges.Step(edge, sd, tmp_path, tmp_path, "fp32", ConvertOptions(), ro, input_shape=(1, 1, 32, 32))
    res = export(step)
    assert max(o.version for o in onnx.load(str(res.path)).opset_import if o.domain in ("", "ai.onnx")) == 13
    assert "jetson-nano" in res.options["opset_reason"]


def test_the_launcher_names_the_device_for_a_host_conversion() -> None:
    import argparse

    from launcher import workflows

    args = argparse.Namespace(device="jetson-nano", command="chain")
    assert workflows._target_env(args) == {"EDGEBENCH_TARGET_DEVICE": "jetson-nano"}
    assert workflows._target_env(argparse.Namespace(device=None, command="convert")) == {}
