"""The conversion chain and the deferred fidelity check: bench.convert loads below the harness, defaults defined once
(by behaviour: the parser's defaults are ConvertOptions()), one default results path, the launcher's torn-line guard
(contract test with a fake container and the same through the Docker engine), delegates, the host/device chain.

Real frameworks and real converters on the shipped digits model. The Edge TPU compile itself needs Coral's
edgetpu_compiler, absent here: the deferral is a CONTRACT TEST with a fake compiled artifact (a copy of the TFLite
model standing in for the compiler's output), run through the real pipeline and the real Coral runtime, which cannot
open its delegate on this machine. The first-run check on the device uses TFLite standing in for the accelerator,
through the same code path (bench.runner -> bench.convert.fidelity.check_reference).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bench import formats, models
from bench.config import RunConfig, Timing
from bench.convert import edges, fidelity
from bench.convert.edges import StepResult
from bench.convert.options import ConvertOptions, split_argv
from bench.convert.pipeline import convert_for
from bench.errors import FidelityError, FrameworkUnavailable, InputError
from bench.records import DEFAULT_RESULTS
from bench.runtimes.base import RuntimeOptions
from tests.conftest import REPO, require

QUICK = Timing(warmup_runs=1, warmup_min_s=0, min_runs=5, min_time_s=0, max_time_s=60)
CONVERT = REPO / "bench" / "convert"


# ------------------------------------------------------------------------------------------- structure


def test_bench_convert_loads_without_the_harness() -> None:
    """Every module of bench.convert imports without bringing in bench.harness (the conversion sits below it)."""
    mods = ", ".join(f"bench.convert.{p.stem}" for p in sorted(CONVERT.glob("*.py")) if p.stem != "__init__")
    code = f"import sys, importlib; [importlib.import_module(m) for m in '{mods}'.split(', ')]; "
    code += "print('bench.harness' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-2000:]


def test_conversion_defaults_are_defined_once() -> None:
    import argparse

    from bench.convert import options

    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    assert options.from_args(parser.parse_args([])) == ConvertOptions()


def test_one_default_results_path() -> None:
    from bench import cli as bench_cli
    from launcher import cli as launcher_cli
    from launcher.container import Job

    run_args = bench_cli.build_parser().parse_args(["run", "m.onnx", "d.npz", "--framework", "onnx"])
    assert run_args.output == DEFAULT_RESULTS
    for argv in (["bench"], ["convert", "m", "d", "--framework", "onnx"], ["chain", "--device", "host", "m", "d",
                 "--framework", "onnx"]):  # fmt: skip
        assert launcher_cli.build_parser().parse_args(argv).results == DEFAULT_RESULTS
    assert Job.__dataclass_fields__["results"].default == DEFAULT_RESULTS


class _Container:
    """Just enough of a docker container for collect_records: get_archive of the results file (contract test; the
    real-engine case is the next test)."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def get_archive(self, path: str) -> Any:
        return [_tar({Path(path).name: self.content})], {}


def _tar(files: Dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


TORN_RESULTS = b'{"status": "ok", "n": 0}\n{"status": "o'  # an earlier writer died mid-line
CONTAINER_RESULTS = b'{"status": "ok", "n": 1}\n{"status": "ok", "n": 2}\n{"status": "ok", "n"'


def _check_appended(results: Path, got: List[Dict[str, Any]]) -> None:
    from bench.records import read_jsonl

    assert [r["n"] for r in got] == [1, 2]
    raw = results.read_bytes()
    assert raw.startswith(b'{"status": "ok", "n": 0}\n{"status": "o\n')  # old bytes kept, new line starts clean
    assert [r["n"] for r in read_jsonl(results)] == [0, 1, 2]


def test_contract_launcher_appends_through_bench_records_with_the_torn_line_guard(tmp_path: Path) -> None:
    from launcher.container import collect_records

    results = tmp_path / "results.jsonl"
    results.write_bytes(TORN_RESULTS)
    _check_appended(results, collect_records(_Container(CONTAINER_RESULTS), results))


@pytest.mark.docker
def test_launcher_collects_records_from_a_real_container(tmp_path: Path) -> None:
    """The same through the Docker engine: a container of the base image (created, not started) holding a results
    file with a torn last line at the launcher's path."""
    from launcher.container import RESULTS_IN_CONTAINER, collect_records
    from tests.docker_helpers import docker_client, ensure_bases

    ensure_bases()
    container = docker_client().containers.create("edgebench-base:bookworm-amd64", ["true"])
    try:
        inside = str(RESULTS_IN_CONTAINER).lstrip("/")
        assert container.put_archive("/", _tar({inside: CONTAINER_RESULTS}))
        results = tmp_path / "results.jsonl"
        results.write_bytes(TORN_RESULTS)
        _check_appended(results, collect_records(container, results))
    finally:
        container.remove(force=True)


# ------------------------------------------------------------------------------------------- --delegate


@pytest.mark.parametrize("framework", ["onnx", "pytorch", "tensorrt"])
def test_delegate_for_a_framework_without_delegates_is_a_clear_error(
    framework: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import cli

    out = tmp_path / "r.jsonl"
    argv = ["run", str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--framework", framework]
    code = cli.main([*argv, "--delegate", "xnnpack", "--output", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"--delegate xnnpack does not apply to {framework}" in err and "Fix:" in err
    assert not out.exists()  # refused before any work: nothing recorded


def test_each_runtime_validates_its_own_delegates() -> None:
    from bench import runtimes

    assert "armnn" in runtimes.runtime_class("tflite").delegates
    runtimes.runtime_class("tflite").validate(RuntimeOptions(delegate="armnn"))
    runtimes.runtime_class("coral").validate(RuntimeOptions(delegate="edgetpu"))
    with pytest.raises(InputError, match="use one of: edgetpu"):
        runtimes.runtime_class("coral").validate(RuntimeOptions(delegate="armnn"))


# ------------------------------------------------------------------------------------------- chain argv


def test_chain_argv_hands_conversion_options_to_the_host_conversion() -> None:
    extra = ["--precision", "int8", "--representative-data-path", "rep.npz", "--threads", "4", "--model-type",
             "classification", "--min-runs=5", "--opset=13", "--convert-output", "out/m.tflite"]  # fmt: skip
    from launcher.workflows import chain_argv

    to_convert, to_run, copy_to = chain_argv(extra)
    assert to_convert == ["--precision", "int8", "--representative-data-path", "rep.npz", "--model-type",
                          "classification", "--opset=13"]  # fmt: skip
    assert to_run == ["--threads", "4", "--model-type", "classification", "--min-runs=5"]
    assert copy_to == Path("out/m.tflite")
    assert split_argv(["--quantization", "--delegate", "armnn"]) == (["--quantization"], ["--delegate", "armnn"])


def test_chain_runs_the_int8_conversion_on_the_host_and_the_int8_model_on_the_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The launcher's two container runs, with the engine replaced by a recorder (the real Docker chain is in
    tests/test_docker_e2e.py): the conversion gets the conversion options, the device the converted model only."""
    from bench.records import append_jsonl
    from launcher import cli, workflows
    from launcher.container import Outcome

    jobs: List[Any] = []
    out, results = tmp_path / "converted", tmp_path / "results.jsonl"

    def fake_run(job: Any, *a: Any, **k: Any) -> Outcome:
        jobs.append(job)
        if len(jobs) == 1:  # the host conversion: its cache comes back into --out, its record into --results
            (out / "k1").mkdir(parents=True)
            (out / "k1" / "digits_cnn_int8.tflite").write_bytes(b"int8 model")
            (out / "k1" / "fidelity_reference_x.npz").write_bytes(b"ref")
            conv = {"path": "/work/converted/k1/digits_cnn_int8.tflite", "precision": "int8", "chain": [{}],
                    "fidelity": {"status": "unchecked", "reason": "r",
                                 "reference": "/work/converted/k1/fidelity_reference_x.npz"}}  # fmt: skip
            append_jsonl(results, {"status": "ok", "conversion": conv})
        return Outcome(exit_code=0, records=[], image="img")

    monkeypatch.setattr(workflows, "run", fake_run)
    rep = models.DIGITS_TEST_DATA
    code = cli.main(["chain", "--device", "host", "--no-pull", str(models.DIGITS_ONNX), str(rep), "--framework",
                     "tflite", "--out", str(out), "--results", str(results), "--", "--precision", "int8",
                     "--representative-data-path", str(rep), "--threads", "2"])  # fmt: skip
    assert code == 0 and len(jobs) == 2
    host, device = (list(j.bench_argv) for j in jobs)
    assert host[:1] == ["run"] and "--convert-only" in host and host[host.index("--precision") + 1] == "int8"
    assert str(rep) in host and "--threads" not in host
    assert device[1] == str(out / "k1" / "digits_cnn_int8.tflite")
    assert "--precision" not in device and "--representative-data-path" not in device
    assert device[device.index("--threads") + 1] == "2"
    assert device[device.index("--fidelity-reference") + 1] == str(out / "k1" / "fidelity_reference_x.npz")
    assert out / "k1" / "fidelity_reference_x.npz" in jobs[1].inputs  # copied into the device's container
    printed = capsys.readouterr().out
    assert "converted model: " + str(out / "k1" / "digits_cnn_int8.tflite") in printed and "unchecked" in printed


# ------------------------------------------------------------------------------------------- --convert-only


def test_convert_only_prints_path_and_fidelity_and_copies_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require("torch")
    require("onnxruntime")
    from bench import cli

    dest = tmp_path / "exported" / "digits.onnx"
    argv = ["run", str(models.DIGITS_STATE_DICT), str(models.DIGITS_TEST_DATA), "--framework", "onnx",
            "--model-class-path", str(models.DIGITS_CLASS_FILE), "--model-class-name", models.DIGITS_CLASS_NAME,
            "--convert-only", "--cache-dir", str(tmp_path / "cache"), "--output", str(tmp_path / "r.jsonl"),
            "--convert-output", str(dest)]  # fmt: skip
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    (record,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    conv = record["conversion"]
    assert f"converted model: {conv['path']}" in printed and f"copied to: {dest}" in printed
    assert "fidelity (fp32, " in printed and "max abs diff" in printed and "top-1 agreement 100.0%" in printed
    assert dest.read_bytes() == Path(conv["path"]).read_bytes() and conv["output"] == str(dest)
    assert conv["sha256"] == record["model"]["sha256"] or record["model"]["format"] == formats.TORCH_STATE_DICT
    assert cli.main(argv) == 0  # the same model again: nothing to replace
    dest.write_bytes(b"someone else's file")
    assert cli.main(argv) == 2 and "already exists" in capsys.readouterr().err
    assert dest.read_bytes() == b"someone else's file"


# ------------------------------------------------------------------------------------------- deferred fidelity


def fake_compile(step: edges.Step) -> StepResult:
    """Stands in for edgetpu_compiler (absent here): its 'compiled' model is the input model."""
    out = step.out_dir / "model_edgetpu.tflite"
    shutil.copy2(step.source, out)
    return StepResult(path=out, options={"fake_compiler": True})


@pytest.fixture()
def fake_edgetpu_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    key = (formats.TFLITE, formats.EDGETPU_TFLITE)
    monkeypatch.setitem(edges.EDGES, key, replace(edges.EDGES[key], func="tests.test_chain_and_fidelity:fake_compile"))
    monkeypatch.setattr(edges, "preflight", lambda chain: None)


def _edgetpu(cache: Path) -> Any:
    opts = ConvertOptions(precision="int8", representative_data=models.DIGITS_TEST_DATA, cache_dir=cache)
    return convert_for(
        models.DIGITS_TFLITE,
        formats.TFLITE,
        "coral",
        opts,
        runtime_options=RuntimeOptions(threads=2),
        data=models.DIGITS_TEST_DATA,
        model_type="classification",
    )


def test_contract_edgetpu_fidelity_is_deferred_when_the_accelerator_is_missing(
    fake_edgetpu_compiler: None, tmp_path: Path
) -> None:
    """CONTRACT TEST (fake compiled artifact): no Coral here, so the fidelity is recorded unchecked with the reason,
    never run through the missing delegate, and the source outputs are stored with the conversion."""
    require("ai_edge_litert")
    from bench.runtimes import coral

    with pytest.raises(FrameworkUnavailable):
        coral.probe()  # the premise: libedgetpu cannot be loaded on this machine
    c = _edgetpu(tmp_path / "cache")
    fid = c.fidelity
    assert fid["status"] == "unchecked" and "libedgetpu" in fid["reason"] and fid["samples"] == 0
    ref_path = Path(fid["reference"])
    assert ref_path.parent == c.path.parent and fid["reference_samples"] == 100
    with np.load(ref_path, allow_pickle=False) as npz:
        x, outputs, meta = npz["x"], npz["outputs"], json.loads(str(npz["meta"]))
    data = np.load(models.DIGITS_TEST_DATA)
    assert np.array_equal(x, data["x_data"][:100])
    expected = fidelity.outputs(models.DIGITS_TFLITE, formats.TFLITE, x, RuntimeOptions())
    assert np.allclose(outputs, expected, atol=1e-6)  # the source model's own outputs
    assert meta["artifact_sha256"] == c.sha256 and meta["precision"] == "int8"
    manifest = json.loads(c.manifest.read_text())
    (stored,) = manifest["fidelity"].values()
    assert stored["status"] == "unchecked" and stored["reference"] == ref_path.name
    again = _edgetpu(tmp_path / "cache")
    assert again.cached and again.fidelity["reused"] and again.fidelity["reference"] == str(ref_path)


def test_first_run_checks_the_stored_reference_on_the_device(fake_edgetpu_compiler: None, tmp_path: Path) -> None:
    """The device's first run (TFLite standing in for the Edge TPU runtime, same code path): the reference stored by
    the deferred conversion is checked after the measurement and the result recorded."""
    require("ai_edge_litert")
    from bench import runner

    c = _edgetpu(tmp_path / "cache")
    model = tmp_path / "device" / "model.tflite"  # what the device receives: the compiled model alone
    model.parent.mkdir()
    shutil.copy2(c.path, model)
    opts = ConvertOptions(fidelity_reference=Path(c.fidelity["reference"]))
    cfg = RunConfig(model=model, data=models.DIGITS_TEST_DATA, framework="tflite", timing=QUICK, convert=opts)
    rec = runner.run(cfg)
    fid = rec.conversion["fidelity"]
    assert fid["status"] == "checked" and fid["checked_at"].startswith("on the device") and fid["samples"] == 100
    assert fid["max_abs_diff"] < 1e-5 and fid["top1_agreement"] == 1.0
    assert rec.latency is not None and rec.latency.invoke["count"] >= 5  # the measurement happened as usual

    other = tmp_path / "device" / "other.tflite"
    other.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(InputError, match="belongs to another model"):
        runner.run(replace(cfg, model=other))


def test_a_deferred_fp32_check_beyond_tolerance_fails_on_the_device(tmp_path: Path) -> None:
    require("ai_edge_litert")
    from bench import runtimes

    x = np.load(models.DIGITS_TEST_DATA)["x_data"][:20]
    ref = fidelity.outputs(models.DIGITS_TFLITE, formats.TFLITE, x, RuntimeOptions())
    meta = {"precision": "fp32", "tolerance": 1e-3, "model_type": "classification", "inputs": "data"}
    path = fidelity.write_reference(tmp_path / "ref.npz", x, ref + 0.01, None, meta)
    rt = runtimes.create("tflite")
    rt.load(models.DIGITS_TFLITE, RuntimeOptions())
    try:
        with pytest.raises(FidelityError, match="fp32 conversion changes outputs"):
            fidelity.check_reference(rt, fidelity.load_reference(path))
    finally:
        rt.close()


def test_same_machine_first_run_checks_and_stores_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real ONNX -> TFLite conversion made while the TFLite runtime 'is missing' (its open refused), then a run
    where it is present: the runner checks the stored reference and writes the result back into the cache, so the
    next conversion reuses a checked fidelity."""
    for name in ("onnx", "onnxruntime", "onnx2tf", "tensorflow", "ai_edge_litert"):
        require(name)
    from bench import runner

    real_open = fidelity.open_runtime

    def no_tflite(path: Path, fmt: str, *a: Any) -> Any:
        if fmt == formats.TFLITE:
            raise FrameworkUnavailable("no TFLite runtime on this machine (test)", "run on the device")
        return real_open(path, fmt, *a)

    cache = tmp_path / "cache"
    cfg = RunConfig(model=models.DIGITS_ONNX, data=models.DIGITS_TEST_DATA, framework="tflite", timing=QUICK,
                    convert=ConvertOptions(cache_dir=cache, convert_only=True))  # fmt: skip
    monkeypatch.setattr(fidelity, "open_runtime", no_tflite)
    first = runner.run(cfg).conversion
    assert first["fidelity"]["status"] == "unchecked" and "test" in first["fidelity"]["reason"]
    monkeypatch.setattr(fidelity, "open_runtime", real_open)

    rec = runner.run(replace(cfg, convert=ConvertOptions(cache_dir=cache)))
    fid = rec.conversion["fidelity"]
    assert fid["status"] == "checked" and fid["max_abs_diff"] <= 1e-3 and fid["top1_agreement"] == 1.0
    stored: Dict[str, Any] = json.loads(Path(rec.conversion["manifest"]).read_text())["fidelity"]
    assert [v["status"] for v in stored.values()] == ["checked"]
    later = runner.run(cfg).conversion["fidelity"]
    assert later["status"] == "checked" and later["reused"]
