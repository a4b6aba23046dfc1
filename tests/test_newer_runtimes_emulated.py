"""The newer CPU runtimes in the rpi image under qemu, through the launcher: `launcher compare --device rpi5
--emulate` converts every preset in the host image (pnnx, OpenVINO/NNCF live there only) and measures the converted
files in the arm64 rpi image (openvino and ncnn aarch64 wheels). Accuracy on the emulated board must equal the source
model's on the same data within the fidelity rules: fp32 presets checked on the device against the host's reference
outputs within the fidelity tolerance; reduced-precision presets within one accuracy point. Timings under emulation
say nothing about a Pi and are not checked.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Dict

import pytest

from bench import models
from bench.compare.artifacts import MANIFEST
from bench.compare.presets import PRESETS
from bench.convert.fidelity import MAX_ACCURACY_DROP
from bench.convert.options import FIDELITY_TOLERANCE

from .docker_helpers import ensure_image, read_jsonl, run_launcher

ONNX, DATA = models.DIGITS_ONNX, models.DIGITS_TEST_DATA
FAST = ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5", "--min-time-s", "0", "--max-time-s", "300"]

#: the presets this test measures on the emulated Pi. Not the executorch ones: ExecuTorch's pybindings link
#: libtorch (executorch 1.5.1 aarch64 wheel, extension/pybindings/_C.so NEEDED libtorch_python, libtorch, libtorch_cpu,
#: libc10), and the only aarch64 torch 2.13.0 wheel a registry here serves is PyPI's CUDA build, whose libtorch_cpu.so
#: itself needs libcudart.so.13 and libcupti.so.13 (so `--no-deps` fails at `import torch`) and whose declared
#: dependencies are about 3 GB of nvidia-* wheels; the test images therefore build the rpi image with WITH_TORCH=0.
#: The rpi image built with torch (PyTorch's CPU index, the default) requires executorch in its selfcheck.
NEW_PRESETS = ("ncnn", "ncnn-fp16", "openvino", "openvino-int8")


@pytest.mark.docker
@pytest.mark.timeout(3600)
def test_newer_runtimes_compare_in_the_rpi_image_under_qemu(tmp_path: Path) -> None:
    native = "amd64" if platform.machine() == "x86_64" else "arm64"
    ensure_image("host", f"linux/{native}")
    rpi = ensure_image("rpi", "linux/arm64")
    results, folder = tmp_path / "results.jsonl", tmp_path / "converted"
    configs = ",".join(("onnx",) + NEW_PRESETS)
    proc = run_launcher(
        "compare", "--device", "rpi5", "--emulate", str(ONNX), str(DATA), "--results", str(results),
        "--converted", str(folder), "--", "--configs", configs,
        "--representative-data-path", str(DATA), "--rounds", "1", *FAST, timeout=3000,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert set(NEW_PRESETS) <= set(manifest["presets"]), manifest.get("not_converted")
    recs: Dict[str, dict] = {r["compare"]["config"]: r for r in read_jsonl(results)}
    assert sorted(recs) == sorted(("onnx",) + NEW_PRESETS)
    source_accuracy = recs["onnx"]["quality"]["accuracy"]
    for name in NEW_PRESETS:
        r = recs[name]
        assert r["status"] == "ok", (name, r.get("error"))
        assert r["machine"]["image"].startswith(rpi.rsplit("-", 1)[0]), r["machine"]["image"]
        assert r["framework"] == PRESETS[name].framework
        conv = r["conversion"]
        assert conv["converted_on"]["where"] == "host"
        assert conv["fidelity"]["checked_at"] == "on the device, after the first run"
        if PRESETS[name].precision == "fp32":
            assert conv["fidelity"]["max_abs_diff"] <= FIDELITY_TOLERANCE, (name, conv["fidelity"])
            assert r["quality"]["accuracy"] == source_accuracy, name
        else:
            assert abs(r["quality"]["accuracy"] - source_accuracy) <= MAX_ACCURACY_DROP, name
