"""End to end against the real Docker engine: offline bases, the host, rpi and rpi-coral images, the launcher and
`make bench DEVICE=...`, including the failure paths. linux/arm64 runs under qemu-user on x86 machines, explicitly
(EMULATE=1 / --emulate), with an outer timeout on every run.

Locally these skip without Docker (or without root for debootstrap); under CI=true they fail instead.
Tests are ordered cheapest-image first; the arm64 host image (needed by nobody here, built because the images are made for
both platforms) comes last.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.hashing import sha256_path
from tests.docker_helpers import (
    REPO,
    ensure_bases,
    ensure_image,
    image_arch,
    launcher_containers,
    make_bench,
    read_jsonl,
    run_launcher,
    unavailable,
)

#: image builds happen in the first test that needs an image (fixtures count towards pytest-timeout)
pytestmark = [pytest.mark.docker, pytest.mark.timeout(3600)]

ASSETS = REPO / "bench" / "models" / "assets"
ONNX_MODEL = ASSETS / "digits_cnn.onnx"
TFLITE_MODEL = ASSETS / "digits_cnn.tflite"
DATA = ASSETS / "digits_test.npz"
NATIVE = "amd64" if platform.machine() == "x86_64" else "arm64"
FOREIGN = "arm64" if NATIVE == "amd64" else "amd64"
#: short runs: the quality metrics see every sample once anyway; latency is not what these tests check
QUICK = "--warmup-runs 1 --warmup-min-s 0 --min-runs 5 --min-time-s 0 --max-time-s 120"


def native_record(model: Path, framework: str, tmp_path: Path) -> dict:
    out = tmp_path / f"native-{framework}.jsonl"
    cmd = [sys.executable, "-m", "bench", "run", str(model), str(DATA), "--framework", framework, "--output", str(out)]
    proc = subprocess.run([*cmd, *QUICK.split()], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (rec,) = read_jsonl(out)
    return rec


@pytest.fixture(scope="module")
def host_image() -> str:
    return ensure_image("host", f"linux/{NATIVE}")


@pytest.fixture(scope="module")
def rpi_image() -> str:
    return ensure_image("rpi", "linux/arm64")


@pytest.fixture(scope="module")
def coral_image() -> str:
    return ensure_image("rpi-coral", "linux/arm64", "WITH_EDGETPU=0")


def test_offline_bases_have_the_right_architecture() -> None:
    ensure_bases()
    assert image_arch("edgebench-base:bookworm-amd64") == "amd64"
    assert image_arch("edgebench-base:bookworm-arm64") == "arm64"
    assert image_arch("edgebench-base:bullseye-arm64") == "arm64"


def test_host_image_runs_the_model_like_native(host_image: str, tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text('{"earlier": "line"}\n')
    proc = run_launcher(
        "bench", "--device", "host", "--no-pull", str(ONNX_MODEL), str(DATA), "--framework", "onnx",
        "--results", str(results), "--", *QUICK.split(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    earlier, rec = read_jsonl(results)
    assert earlier == {"earlier": "line"}, "earlier results must be kept"
    assert rec["status"] == "ok" and rec["machine"]["in_container"] is True
    assert rec["machine"]["image"].startswith("edgebench/edgebench-host:")
    assert rec["quality"]["accuracy"] == native_record(ONNX_MODEL, "onnx", tmp_path)["quality"]["accuracy"]


@pytest.mark.emulated
@pytest.mark.slow
@pytest.mark.parametrize("framework,model", [("onnx", ONNX_MODEL), ("tflite", TFLITE_MODEL)])
def test_make_bench_rpi5_in_arm64_image_matches_native(rpi_image: str, framework: str, model: Path, tmp_path: Path):
    results = tmp_path / "results.jsonl"
    proc = make_bench(
        DEVICE="rpi5", EMULATE="1" if NATIVE != "arm64" else "", MODEL=str(model), DATA=str(DATA),
        FRAMEWORK=framework, ARGS=f"{QUICK} --threads 2 --output {results}",
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "appended 1 record" in proc.stderr
    (rec,) = read_jsonl(results)
    assert rec["status"] == "ok"
    assert rec["machine"]["cpu"]["arch"] == "aarch64"
    assert rec["machine"]["python"].startswith("3.11")
    assert rec["quality"]["accuracy"] == native_record(model, framework, tmp_path)["quality"]["accuracy"]


@pytest.mark.emulated
@pytest.mark.slow
def test_coral_image_python39_tflite_runtime_cpu_path(coral_image: str, tmp_path: Path) -> None:
    """The Coral image built with the vendor step off: Python 3.9 and PyPI's tflite-runtime run a CPU TFLite model."""
    results = tmp_path / "results.jsonl"
    proc = run_launcher(
        "bench", "--device", "rpi-coral", "--no-accelerator", "--emulate", "--no-pull", "--timeout", "900",
        str(TFLITE_MODEL), str(DATA), "--framework", "tflite", "--results", str(results), "--", *QUICK.split(),
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    (rec,) = read_jsonl(results)
    assert rec["status"] == "ok"
    assert rec["machine"]["python"].startswith("3.9")
    assert "tflite-runtime" in str(rec["runtime"])
    assert rec["quality"]["accuracy"] == native_record(TFLITE_MODEL, "tflite", tmp_path)["quality"]["accuracy"]


@pytest.mark.emulated
@pytest.mark.slow
def test_make_compare_rpi5_in_arm64_image_matches_native(rpi_image: str, tmp_path: Path) -> None:
    """`make compare DEVICE=rpi5` through the launcher in the arm64 image: two TFLite presets (XNNPACK and no
    delegate) on the digits model, 2 rounds; every record comes back with its compare fields and native accuracy."""
    results = tmp_path / "results.jsonl"
    results.write_text('{"earlier": "line"}\n')
    proc = make_bench(
        target="compare",
        DEVICE="rpi5", EMULATE="1" if NATIVE != "arm64" else "", MODEL=str(TFLITE_MODEL), DATA=str(DATA),
        ARGS=f"--configs tflite,tflite-nodelegate --rounds 2 --threads 2 {QUICK} --output {results}",
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "appended 4 record(s)" in proc.stderr
    earlier, *records = read_jsonl(results)
    assert earlier == {"earlier": "line"}, "earlier results must be kept"
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    assert {(r["compare"]["config"], r["compare"]["round"]) for r in records} == {
        (c, i) for c in ("tflite", "tflite-nodelegate") for i in (0, 1)
    }
    assert len({r["compare"]["id"] for r in records}) == 1
    for rec in records:
        assert rec["compare"]["labels"] == ["tflite", "tflite-nodelegate"] and rec["compare"]["baseline"] == "tflite"
        assert rec["compare"]["rounds"] == 2 and rec["compare"]["threads"] == 2
        assert rec["machine"]["cpu"]["arch"] == "aarch64" and rec["machine"]["image"].startswith("edgebench/")
        assert rec["latency"]["raw_invoke_ns"], "the comparison's intervals need the raw samples"
    assert {r["options"]["delegate"] for r in records} == {None, "none"}
    native = native_record(TFLITE_MODEL, "tflite", tmp_path)["quality"]["accuracy"]
    assert {r["quality"]["accuracy"] for r in records} == {native}


def test_launcher_compare_resume_sees_the_earlier_records(host_image: str, tmp_path: Path) -> None:
    """--resume through the launcher: the container starts from the results file, so a finished compare runs nothing
    again and appends nothing; without --resume the same command is a new set of runs."""
    results = tmp_path / "results.jsonl"
    cmd = ["compare", "--device", "host", "--no-pull", str(ONNX_MODEL), str(DATA), "--results", str(results), "--"]
    args = ["--configs", "onnx", "--rounds", "1", *QUICK.split()]
    first = run_launcher(*cmd, *args)
    assert first.returncode == 0, first.stderr[-3000:]
    (rec,) = read_jsonl(results)
    assert rec["status"] == "ok" and rec["compare"]["config"] == "onnx"
    resumed = run_launcher(*cmd, *args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert read_jsonl(results) == [rec], "a resumed, finished compare appends nothing and never repeats a record"
    again = run_launcher(*cmd, *args)
    assert again.returncode == 0 and len(read_jsonl(results)) == 2


def test_built_images_run_as_non_root_with_bench_entrypoint(host_image: str, rpi_image: str, coral_image: str):
    from tests.docker_helpers import docker_client

    for tag in (host_image, rpi_image, coral_image):
        config = docker_client().images.get(tag).attrs["Config"]
        assert config["User"] == "bench", tag  # implicit form: the user's supplementary groups apply
        assert config["Entrypoint"] == ["python", "-m", "bench"], tag
        assert any(e.startswith("EDGEBENCH_GIT_COMMIT=") and len(e) > 30 for e in config["Env"]), tag


# ---- failure paths against the real engine ------------------------------------------------------------------------


def test_missing_image_says_how_to_build_it(tmp_path: Path) -> None:
    proc = run_launcher(
        "bench", "--device", "rpi-armnn", "--image", "edgebench/not-built-here:0", "--no-pull", "--emulate",
        str(ONNX_MODEL), str(DATA), "--framework", "onnx",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "no image for device 'rpi-armnn'" in proc.stderr
    assert "make images TARGET=rpi-armnn" in proc.stderr


def test_missing_image_after_failed_pull(tmp_path: Path) -> None:
    """No registry reachable (or no such image): local lookup, pull, then the build hint."""
    proc = run_launcher(
        "bench", "--device", "host", "--image", "localhost:1/edgebench/absent:0", str(ONNX_MODEL), str(DATA),
        "--framework", "onnx", timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "pull failed" in proc.stderr and "make images TARGET=host" in proc.stderr


def test_missing_device_coral_and_nvidia_runtime() -> None:
    coral = make_bench(DEVICE="rpi-coral", MODEL=str(TFLITE_MODEL), DATA=str(DATA), FRAMEWORK="tflite")
    assert coral.returncode == 2
    assert "no Coral USB Accelerator found" in coral.stderr
    from tests.docker_helpers import docker_client

    jetson = run_launcher("bench", "--device", "jetson-nano", str(ONNX_MODEL), str(DATA), "--framework", "tensorrt")
    assert jetson.returncode == 2
    if "nvidia" in (docker_client().info().get("Runtimes") or {}):  # a GPU workstation: the image is what is missing
        assert "make images TARGET=jetson-nano" in jetson.stderr, jetson.stderr[-2000:]
    else:
        assert "needs the 'nvidia' container runtime" in jetson.stderr, jetson.stderr[-2000:]


def test_bad_model_path_is_refused_before_docker(tmp_path: Path) -> None:
    proc = make_bench(DEVICE="rpi5", MODEL=str(tmp_path / "absent.onnx"), DATA=str(DATA), FRAMEWORK="onnx")
    assert proc.returncode == 2
    assert "absent.onnx does not exist" in proc.stderr


def test_bad_model_file_exit_code_comes_from_the_container(host_image: str, tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not a model")
    results = tmp_path / "results.jsonl"
    before = _container_ids()
    proc = run_launcher(
        "bench", "--device", "host", "--no-pull", str(bad), str(DATA), "--framework", "onnx",
        "--results", str(results),
    )  # fmt: skip
    # bench's ModelFormatError exits 2 in the container; the launcher returns that code and appends its error record
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "edgebench: error:" in proc.stderr and "no known format" in proc.stderr, (
        "the container's stderr stays stderr"
    )
    (rec,) = read_jsonl(results)
    assert rec["status"] == "error" and "no known format" in rec["error"], rec
    assert rec["machine"]["in_container"] is True, "the record was written by bench inside the container"
    assert not _new_containers(before), "the container must be removed"


def _start_long_run(results: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "launcher", "bench", "--device", "host", "--no-pull", *extra, str(ONNX_MODEL), str(DATA),
        "--framework", "onnx", "--results", str(results), "--",
        "--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5", "--min-time-s", "100", "--max-time-s", "120",
    ]  # fmt: skip
    # a terminal delivers Ctrl-C; a test run started in the background (nohup ... &) inherits SIGINT as ignored,
    # so give the launcher the disposition it would have in a terminal
    return subprocess.Popen(
        cmd,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _container_ids() -> set:
    """Launcher containers that exist now (the engine may be shared with other runs: only new ones are this test's)."""
    return {c.id for c in launcher_containers()}


def _new_containers(before: set) -> list:
    return [c for c in launcher_containers() if c.id not in before]


def _wait_for_container(before: set, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [c for c in _new_containers(before) if c.status == "running"]
        if running:
            return running[0]
        time.sleep(0.5)
    raise AssertionError("the launcher's container never started")


def test_killed_container_exit_code_and_no_partial_results(host_image: str, tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text('{"kept": 1}\n')
    before = _container_ids()
    proc = _start_long_run(results)
    try:
        container = _wait_for_container(before)
        time.sleep(3)
        container.kill()
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 137, err[-2000:]
    assert read_jsonl(results) == [{"kept": 1}], "earlier results kept, nothing half-written appended"
    assert not _new_containers(before), "the container must be removed"


def test_ctrl_c_stops_and_removes_the_container(host_image: str, tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text('{"earlier": 1}\n{"earlier": 2}\n')
    before = results.read_bytes()
    existing = _container_ids()
    proc = _start_long_run(results)
    try:
        _wait_for_container(existing)
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    assert results.read_bytes().startswith(before), "earlier results are kept, byte for byte"
    assert read_jsonl(results)[:2] == [{"earlier": 1}, {"earlier": 2}]
    assert not _new_containers(existing)


def test_outer_timeout_kills_the_container(host_image: str, tmp_path: Path) -> None:
    before = _container_ids()
    proc = _start_long_run(tmp_path / "r.jsonl", "--timeout", "8")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 124, err[-2000:]
    assert not _new_containers(before)


def test_convert_in_host_then_bench_chain(host_image: str, tmp_path: Path) -> None:
    """Chaining: convert ONNX -> TFLite in the host image, then benchmark the result (on the host profile here)."""
    out = tmp_path / "converted"
    results = tmp_path / "results.jsonl"
    proc = run_launcher(
        "chain", "--device", "host", "--no-pull", str(ONNX_MODEL), str(DATA), "--framework", "tflite",
        "--out", str(out), "--results", str(results), "--", *QUICK.split(), timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    conv, rec = read_jsonl(results)  # the conversion's own record (no latency), then the benchmark's
    assert conv["status"] == "ok" and conv["latency"] is None and conv["conversion"]["format"] == "tflite"
    assert rec["status"] == "ok" and rec["model"]["format"] == "tflite"
    # the benchmark ran the very artifact the conversion wrote (by content: the shipped asset has the same name)
    converted = Path(conv["conversion"]["path"])
    if not converted.is_file():  # a path inside the container: find the copy under --out
        (converted,) = [p for p in out.rglob(converted.name) if p.is_file()]
    assert rec["model"]["sha256"] == sha256_path(converted), (rec["model"], converted)
    assert rec["model"]["sha256"] != sha256_path(ONNX_MODEL)
    assert abs(rec["quality"]["accuracy"] - native_record(ONNX_MODEL, "onnx", tmp_path)["quality"]["accuracy"]) < 0.01


def test_chain_hands_int8_options_to_the_host_conversion(host_image: str, tmp_path: Path) -> None:
    """`chain ... -- --precision int8 --representative-data-path DATA`: the host image makes the int8 model (the
    conversion options go there), the device runs that model as it is (before the fix it got an fp32 model plus
    --precision int8 and refused it)."""
    out = tmp_path / "converted"
    results = tmp_path / "results.jsonl"
    proc = run_launcher(
        "chain", "--device", "host", "--no-pull", str(ONNX_MODEL), str(DATA), "--framework", "tflite",
        "--out", str(out), "--results", str(results), "--", "--precision", "int8",
        "--representative-data-path", str(DATA), *QUICK.split(), timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    conv, rec = read_jsonl(results)
    assert conv["conversion"]["precision"] == "int8" and conv["options"]["convert"]["precision"] == "int8"
    assert rec["status"] == "ok" and rec["options"]["convert"]["precision"] == "fp32"  # nothing left to convert
    assert Path(rec["model"]["path"]).name == Path(conv["conversion"]["path"]).name == "digits_cnn_int8.tflite"
    assert rec["model"]["sha256"] == conv["conversion"]["sha256"]
    assert "converted model: " in proc.stdout and "fidelity (int8, " in proc.stdout
    assert rec["quality"]["accuracy"] > 0.9


@pytest.mark.emulated
@pytest.mark.slow
def test_host_image_builds_for_the_other_platform() -> None:
    """The host image is built for linux/amd64 and linux/arm64 (the foreign one under qemu)."""
    if os.environ.get("EDGEBENCH_SKIP_FOREIGN_HOST") == "1":
        unavailable("EDGEBENCH_SKIP_FOREIGN_HOST=1 asked to leave out the foreign-platform host image")
    tag = ensure_image("host", f"linux/{FOREIGN}")
    assert image_arch(tag) == FOREIGN
