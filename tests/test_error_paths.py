"""Error paths the README promises, each checked as the user meets it: one line `edgebench: error: ... Fix: ...`,
the documented exit code (2; 3 for a framework that is not available), the failed run recorded with status error.

Real frameworks and files where they run here (PyTorch, ONNX Runtime, LiteRT, onnx2tf, the Docker SDK); TensorRT and
the Coral runtime are checked against small fakes of the objects they inspect (contract tests, not hardware).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest

from bench import cli, metrics
from bench.errors import ConversionError, UnsupportedModelError
from tests.conftest import REPO, require

ASSETS = REPO / "bench" / "models" / "assets"
FAST = ["--warmup-runs", "0", "--warmup-min-s", "0", "--min-runs", "1", "--min-time-s", "0"]


def run_main(capsys: pytest.CaptureFixture, *args: str) -> tuple:
    """`python -m bench ARGS` in this process (the frameworks are imported once for the whole module)."""
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line(err: str, needle: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("edgebench: error:")]
    assert len(lines) == 1, err
    assert needle in lines[0] and ". Fix: " in lines[0], lines[0]
    assert "Traceback" not in err
    return lines[0]


def assert_error_recorded(results: Path, needle: str) -> dict:
    (rec,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert rec["status"] == "error" and needle in rec["error"], rec
    return rec


def bench_error(capsys: pytest.CaptureFixture, tmp_path: Path, model: Path, data: Path, *extra: str) -> tuple:
    results = tmp_path / f"{model.stem}-results.jsonl"
    code, _, err = run_main(capsys, "run", str(model), str(data), "--output", str(results), *FAST, *extra)
    return code, err, results


# ---------- multi-input and multi-output models, per runtime ----------


@pytest.fixture(scope="module")
def vector_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "vec.npz"
    np.savez(path, x_data=np.ones((4, 4), np.float32), y_data=np.arange(4) % 2)
    return path


def test_onnx_multi_output_model_is_refused(tmp_path: Path, vector_data: Path, capsys: pytest.CaptureFixture):
    onnx = require("onnx")
    require("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y1"]), helper.make_node("Neg", ["x"], ["y2"])],
        "two_outputs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("y1", "y2")],
    )
    model = tmp_path / "two_out.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    code, err, results = bench_error(capsys, tmp_path, model, vector_data, "--framework", "onnx")
    assert code == 2
    assert "['y1', 'y2']" in assert_one_line(err, "only single-input single-output")
    assert_error_recorded(results, "['y1', 'y2']")


@pytest.fixture(scope="module")
def tflite_multi(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two real .tflite files made with TFLiteConverter: two inputs (a + b) and two outputs (2x, x + 1)."""
    tf = require("tensorflow")
    folder = tmp_path_factory.mktemp("tflite_multi")
    spec = tf.TensorSpec([1, 4], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def two_in(a: Any, b: Any) -> Any:
        return a + b

    @tf.function(input_signature=[spec])
    def two_out(x: Any) -> Any:
        return {"double": 2 * x, "plus_one": x + 1}

    paths = {}
    for name, fn in (("two_in", two_in), ("two_out", two_out)):
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
        paths[name] = folder / f"{name}.tflite"
        paths[name].write_bytes(conv.convert())
    return paths


@pytest.mark.parametrize("kind, n_in, n_out", [("two_in", 2, 1), ("two_out", 1, 2)])
def test_tflite_multi_input_and_multi_output_are_refused(
    kind: str, n_in: int, n_out: int, tflite_multi: dict, tmp_path: Path, vector_data: Path, capsys
) -> None:
    require("ai_edge_litert")
    code, err, results = bench_error(capsys, tmp_path, tflite_multi[kind], vector_data, "--framework", "tflite")
    assert code == 2
    line = assert_one_line(err, "only single-input single-output models are measured")
    inputs, outputs = line.split("model has inputs ")[1].split("; only")[0].split(" and outputs ")
    assert (inputs.count("'") // 2, outputs.count("'") // 2) == (n_in, n_out), line  # the names, listed
    assert_error_recorded(results, "single-input single-output")


TWO_INPUT_CLASS = '''"""forward takes two tensors."""
from torch import nn


class TwoIn(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, a, b):
        return self.lin(a + b)


class TwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x):
        y = self.lin(x)
        return y, -y
'''


@pytest.mark.parametrize("cls, needle", [("TwoIn", "forward() takes 2 inputs"), ("TwoOut", "returned 2 outputs")])
def test_pytorch_multi_input_and_multi_output_are_refused(
    cls: str, needle: str, tmp_path: Path, vector_data: Path, capsys: pytest.CaptureFixture
) -> None:
    torch = require("torch")
    class_file = tmp_path / "nets.py"
    class_file.write_text(TWO_INPUT_CLASS)
    model = tmp_path / f"{cls}.pth"
    torch.save({"lin.weight": torch.zeros(2, 4), "lin.bias": torch.zeros(2)}, model)
    extra = ["--framework", "pytorch", "--model-class-path", str(class_file), "--model-class-name", cls]
    code, err, results = bench_error(capsys, tmp_path, model, vector_data, *extra)
    assert code == 2
    assert_one_line(err, needle)
    assert_error_recorded(results, needle)


class _FakeInterpreter:
    """What TFLiteRuntime._adopt reads from a (pycoral or tflite) interpreter: the input and output details."""

    def __init__(self, n_in: int, n_out: int) -> None:
        detail = {"shape": [1, 4], "dtype": np.uint8, "quantization": (0.5, 0), "index": 0}
        self.ins = [{**detail, "name": f"in{i}", "index": i} for i in range(n_in)]
        self.outs = [{**detail, "name": f"out{i}", "index": 10 + i} for i in range(n_out)]

    def get_input_details(self) -> List[dict]:
        return self.ins

    def get_output_details(self) -> List[dict]:
        return self.outs

    set_tensor = invoke = get_tensor = None  # bound by _adopt, never called here


@pytest.mark.parametrize("n_in, n_out", [(1, 2), (2, 1)])
def test_coral_runtime_refuses_multi_io_contract(n_in: int, n_out: int) -> None:
    """Contract test (no Edge TPU here): the Coral runtime checks the interpreter pycoral hands it."""
    from bench.runtimes.coral import CoralRuntime

    rt = CoralRuntime()
    with pytest.raises(UnsupportedModelError, match="only single-input single-output") as err:
        rt._adopt(_FakeInterpreter(n_in, n_out), None)
    assert ("out1" in str(err.value)) is (n_out == 2) and ("in1" in str(err.value)) is (n_in == 2)
    rt._adopt(_FakeInterpreter(1, 1), None)  # the single-input single-output case is adopted
    assert rt.input.name == "in0" and rt.output.name == "out0" and rt.input.quantized


def test_tensorrt_runtime_refuses_multi_output_engine_contract(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Contract test (no TensorRT here): an engine with two outputs is refused before any buffer is allocated."""
    from bench.runtimes import tensorrt as trt_rt

    allocated: List[Any] = []
    fake_trt = types.SimpleNamespace(
        __version__="8.2.1",
        Logger=type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None}),
        Runtime=lambda logger: types.SimpleNamespace(deserialize_cuda_engine=lambda blob: object()),
    )
    fake_cuda = types.SimpleNamespace(pagelocked_empty=lambda *a: allocated.append(a), mem_alloc=allocated.append)
    pycuda = types.ModuleType("pycuda")
    pycuda.autoinit = types.ModuleType("pycuda.autoinit")
    monkeypatch.setitem(sys.modules, "pycuda", pycuda)
    monkeypatch.setitem(sys.modules, "pycuda.autoinit", pycuda.autoinit)
    monkeypatch.setattr(trt_rt, "_modules", lambda: (fake_trt, fake_cuda))
    monkeypatch.setattr(trt_rt, "gpu_name", lambda cuda: "fake GPU")
    tensors = [types.SimpleNamespace(name=n, is_input=n == "x") for n in ("x", "y1", "y2")]
    monkeypatch.setattr(trt_rt, "engine_tensors", lambda trt, engine: tensors)
    runtime = trt_rt.TensorRTRuntime()
    monkeypatch.setattr(runtime, "_engine_bytes", lambda trt, path, logger: b"engine", raising=False)
    engine = tmp_path / "two_out.engine"
    engine.write_bytes(b"engine")
    with pytest.raises(UnsupportedModelError, match=r"\['x', 'y1', 'y2'\]; only one input and one output"):
        runtime.load(engine, trt_rt.RuntimeOptions())
    assert allocated == []


# ---------- corrupt model files ----------


def test_corrupt_tflite_and_corrupt_state_dict(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    require("torch")
    require("ai_edge_litert")
    data = ASSETS / "digits_test.npz"
    truncated = tmp_path / "digits_cnn.tflite"
    truncated.write_bytes((ASSETS / "digits_cnn.tflite").read_bytes()[:3000])  # the TFL3 header survives
    code, err, results = bench_error(capsys, tmp_path, truncated, data, "--framework", "tflite")
    assert code == 2
    assert_one_line(err, "TFLite could not load")
    assert_error_recorded(results, "TFLite could not load")

    # a state_dict whose archive is intact but whose pickle is cut in half
    broken = tmp_path / "digits_state.pth"
    with zipfile.ZipFile(ASSETS / "digits_cnn.pth") as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            dst.writestr(info, blob[: len(blob) // 2] if info.filename.endswith("data.pkl") else blob)
    from bench import models

    cls = ["--model-class-path", str(models.DIGITS_CLASS_FILE), "--model-class-name", models.DIGITS_CLASS_NAME]
    code, err, results = bench_error(capsys, tmp_path, broken, data, "--framework", "pytorch", *cls)
    assert code == 2
    assert_one_line(err, "could not be loaded as weights only")
    assert_error_recorded(results, "could not be loaded as weights only")

    cut_zip = tmp_path / "cut.pth"
    cut_zip.write_bytes((ASSETS / "digits_cnn.pth").read_bytes()[:3000])  # the archive itself is cut
    code, err, _ = bench_error(capsys, tmp_path, cut_zip, data, "--framework", "pytorch", *cls)
    assert code == 2
    assert_one_line(err, "is of no known format")


# ---------- single-column binary classifier and --use-softmax ----------


def test_single_column_binary_classifier_with_and_without_softmax() -> None:
    sk = require("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=200)
    logits = rng.normal(size=200) + 2.5 * (2 * y - 1) * rng.uniform(0, 1, size=200)  # mostly right
    pred = (logits > 0).astype(int)
    for outputs in (logits[:, None], logits[:, None, None], 1 / (1 + np.exp(-logits))[:, None]):  # logits or sigmoid
        for use_softmax in (False, True):
            m = metrics.classification(y, outputs, use_softmax=use_softmax)
            assert m["classes"] == 2
            assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred)), use_softmax
            assert m["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro")), use_softmax
            assert m["confusion_matrix"] == sk.confusion_matrix(y, pred, labels=[0, 1]).tolist()
            # softmax over one column is 1.0 everywhere: it is not applied, and the record says so
            assert m["softmax_applied"] is False
    two = np.stack([-logits, logits], axis=1)
    assert metrics.classification(y, two, use_softmax=True)["softmax_applied"] is True
    assert metrics.classification(y, two, use_softmax=True)["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))


def test_single_column_binary_classifier_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A real one-logit ONNX classifier through `bench run --use-softmax`: the metrics equal scikit-learn's."""
    onnx = require("onnx")
    require("onnxruntime")
    sk = require("sklearn.metrics")
    from onnx import TensorProto, helper, numpy_helper

    w = np.array([[1.0], [-2.0], [0.5], [1.5]], np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["logit"])],
        "one_logit",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(w, "w")],
    )
    model = tmp_path / "binary.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    rng = np.random.default_rng(4)
    x = rng.normal(size=(120, 4)).astype(np.float32)
    y = ((x @ w)[:, 0] + rng.normal(scale=0.8, size=120) > 0).astype(np.int64)
    data = tmp_path / "binary.npz"
    np.savez(data, x_data=x, y_data=y)
    results = tmp_path / "r.jsonl"
    code, _, err = run_main(
        capsys, "run", str(model), str(data), "--framework", "onnx", "--use-softmax", "--output", str(results), *FAST
    )
    assert code == 0, err
    (rec,) = [json.loads(line) for line in results.read_text().splitlines()]
    pred = ((x @ w)[:, 0] > 0).astype(int)
    assert rec["quality"]["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert rec["quality"]["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro"))
    assert 0.6 < rec["quality"]["accuracy"] < 1.0 and rec["quality"]["softmax_applied"] is False


# ---------- conversion: timeout and offline environment ----------


def test_convert_timeout_stops_the_converter_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--convert-timeout-s 1` on a real onnx2tf conversion (which needs far longer): exit 2, one line, recorded."""
    require("onnx2tf")
    monkeypatch.chdir(tmp_path)
    data = ASSETS / "digits_test.npz"
    extra = ["--framework", "tflite", "--convert-timeout-s", "1", "--cache-dir", str(tmp_path / "cache")]
    code, err, results = bench_error(capsys, tmp_path, ASSETS / "digits_cnn.onnx", data, *extra)
    assert code == 2
    assert_one_line(err, "onnx2tf did not finish within 1 s")
    rec = assert_error_recorded(results, "did not finish within 1 s")
    assert rec["options"]["convert"]["timeout_s"] == 1.0


def test_tool_timeout_keeps_the_last_output_lines(tmp_path: Path) -> None:
    from bench.convert import tools

    script = "import time; print('converter started', flush=True); time.sleep(60)"
    with pytest.raises(ConversionError, match=r"slowtool did not finish within 1 s; last output: converter started"):
        tools.run([sys.executable, "-c", script], tool="slowtool", cwd=tmp_path, log_file=tmp_path / "log", timeout_s=1)


PROBE = """
import json, os, sys, urllib.request
env = {k: os.environ.get(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY",
                                      "all_proxy", "NO_PROXY", "no_proxy")}
try:
    urllib.request.urlopen("http://example.com/calibration_image_sample_data.npy", timeout=5)
    env["download"] = "succeeded"
except Exception as exc:
    env["download"] = f"{type(exc).__name__}: {exc}"
env["path0"] = os.environ["PATH"].split(os.pathsep)[0]
open(sys.argv[1], "w").write(json.dumps(env))
"""


def test_converter_subprocess_environment_is_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a converter subprocess sees: every proxy variable on a dead local address, the user's NO_PROXY dropped,
    so a download attempt fails at once (connection refused), whatever network the machine has."""
    from bench.convert import tools

    monkeypatch.setenv("NO_PROXY", "*")  # a user setting that would bypass the proxy
    monkeypatch.setenv("https_proxy", "http://corporate-proxy.example:3128")
    out = tmp_path / "env.json"
    tools.run([sys.executable, "-c", PROBE, str(out)], tool="probe", cwd=tmp_path, log_file=tmp_path / "log")
    env = json.loads(out.read_text())
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        assert env[key] == "http://127.0.0.1:9", key
    assert env["NO_PROXY"] is None and env["no_proxy"] is None
    assert env["download"].startswith("URLError") and "refused" in env["download"].lower(), env["download"]
    assert env["path0"] == str(Path(sys.executable).parent), "the venv's bin first (onnx2tf runs onnxsim from PATH)"
    assert os.environ["NO_PROXY"] == "*", "the parent's environment is left alone"


# ---------- the launcher without an engine or without its data ----------


def _launcher(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "launcher", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_no_docker_engine_is_one_clear_line(tmp_path: Path) -> None:
    require("docker")
    sock = tmp_path / "no-engine" / "docker.sock"
    proc = _launcher(
        "bench", "--device", "host", "--no-pull", str(ASSETS / "digits_cnn.onnx"), str(ASSETS / "digits_test.npz"),
        "--framework", "onnx", "--results", str(tmp_path / "r.jsonl"), env={"DOCKER_HOST": f"unix://{sock}"},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert_one_line(proc.stderr, f"no Docker engine reachable at unix://{sock}")
    assert "Fix: start the engine" in proc.stderr
    assert not (tmp_path / "r.jsonl").exists(), "nothing ran, nothing recorded"


def test_launcher_with_missing_data(tmp_path: Path) -> None:
    missing = tmp_path / "absent.npz"
    proc = _launcher(
        "bench", "--device", "host", str(ASSETS / "digits_cnn.onnx"), str(missing), "--framework", "onnx",
        env={"DOCKER_HOST": f"unix://{tmp_path}/never-contacted.sock"},
    )  # fmt: skip
    assert proc.returncode == 2
    assert_one_line(proc.stderr, f"data {missing} does not exist")
    make = subprocess.run(
        [sys.executable, "-m", "launcher.make_bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DEVICE": "rpi5", "MODEL": str(ASSETS / "digits_cnn.onnx"), "FRAMEWORK": "onnx"},
    )
    assert make.returncode == 2
    assert_one_line(make.stderr, "MODEL= needs DATA=")
