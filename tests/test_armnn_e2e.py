"""The armnn runtime (Debian's PyArmNN, ARM NN 20.08) for real, in the rpi-armnn image (built with
WITH_ARMNN_DELEGATE=0: the delegate download needs GitHub), under arm64 emulation: the shipped digits TFLite model
gives LiteRT's accuracy, and a dense layer without a bias gets the clear error ARM NN 20.08's parser calls for.

Emulated (qemu-user with an ARM cpuinfo, --init, an outer timeout and a kill): timings say nothing about a Pi.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import List

import pytest

from tests.conftest import require
from tests.docker_helpers import REPO, ensure_image

pytestmark = [pytest.mark.docker, pytest.mark.emulated]

ASSETS = REPO / "bench" / "models" / "assets"
CPUINFO = REPO / "launcher" / "cpuinfo" / "cortex-a72.txt"
QUICK = ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5", "--min-time-s", "0", "--max-time-s", "120"]


@pytest.fixture(scope="module")
def armnn_image() -> str:
    return ensure_image("rpi-armnn", "linux/arm64", "WITH_ARMNN_DELEGATE=0")


def run_in_image(tag: str, mounts: List[str], script: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    name = f"edgebench-armnn-test-{int(time.time() * 1000)}"
    cmd = ["docker", "run", "--rm", "--name", name, "--init", "--network", "none", "--platform", "linux/arm64",
           "-v", f"{CPUINFO}:/proc/cpuinfo:ro", "-e", "QEMU_CPU=cortex-a72", *mounts,
           "--entrypoint", "sh", tag, "-c", script]  # fmt: skip
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        subprocess.run(["docker", "kill", name], capture_output=True, timeout=60)
        raise


def test_armnn_runtime_matches_litert_on_digits(armnn_image: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the image runs as uid 1000
    model, data = "/models/digits_cnn.tflite", "/models/digits_test.npz"
    script = " && ".join(
        f"python -m bench run {model} {data} --framework {fw} --threads 2 --output /out/{fw}.jsonl {' '.join(QUICK)}"
        for fw in ("armnn", "tflite")
    )
    proc = run_in_image(armnn_image, ["-v", f"{ASSETS}:/models:ro", "-v", f"{out}:/out"], script)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    armnn = json.loads((out / "armnn.jsonl").read_text().splitlines()[-1])
    litert = json.loads((out / "tflite.jsonl").read_text().splitlines()[-1])
    assert armnn["status"] == litert["status"] == "ok"
    assert armnn["machine"]["cpu"]["arch"] == "aarch64"
    assert armnn["quality"]["accuracy"] > 0.9
    assert armnn["quality"]["accuracy"] == litert["quality"]["accuracy"]
    assert armnn["quality"]["confusion_matrix"] == litert["quality"]["confusion_matrix"]
    rt = armnn["runtime"]
    assert rt["name"] == "armnn" and rt["versions"]["armnn"]
    assert {"CpuAcc", "CpuRef"} <= set(rt["backends_supported"])  # the fallback exists in the image
    assert rt["backends_used"].get("CpuAcc", 0) > 0  # from the optimized graph: NEON kernels did the work
    assert rt["threads"] is None and rt["threads_requested"] == 2  # not settable in ARM NN 20.08: recorded, not faked
    assert "cannot set a thread count" in proc.stderr
    print("armnn backends used:", rt["backends_used"], "| invoke p50 ms (emulated):", armnn["latency"]["invoke"])


def _dense_without_bias(path: Path) -> Path:
    tf = require("tensorflow")
    keras = tf.keras
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, use_bias=False)])
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def test_fully_connected_without_bias_gets_a_clear_error(armnn_image: str, tmp_path: Path) -> None:
    import numpy as np

    models = tmp_path / "models"
    models.mkdir()
    _dense_without_bias(models / "dense_nobias.tflite")
    rng = np.random.default_rng(0)
    np.savez(
        models / "data.npz", x_data=rng.random((4, 8), dtype=np.float32), y_data=rng.random((4, 4), dtype=np.float32)
    )
    script = "python -m bench run /m/dense_nobias.tflite /m/data.npz --framework armnn --model-type regression --output /tmp/r.jsonl"
    proc = run_in_image(armnn_image, ["-v", f"{models}:/m:ro"], script, timeout=600)
    assert proc.returncode == 2, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert "FULLY_CONNECTED layer without a bias" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
