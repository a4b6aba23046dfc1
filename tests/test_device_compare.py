"""A compare on a device whose image has no converters: the workstation converts every preset
(`compare --convert-only --convert-output DIR`), the device measures the files as they are (`--artifact PRESET=FILE`,
`--artifacts DIR`), and `launcher compare --device rpi5` chains the two (host image, then the device image).

* argv and plan: each bad artifact is one line, exit 2, nothing written (in-process, no conversion); the launcher's
  job chain as a contract test with a fake ``launcher.container.run``.
* native, real onnx2tf: the int8 file the conversion step made, measured with --artifact; the compare id.
* Docker: `launcher compare --device rpi5 --emulate` on the digits ONNX model converts in the host amd64 image and
  measures onnx, tflite and tflite-int8 in the arm64 rpi image under qemu (timings there say nothing about a Pi).

Compare id (decided here): the id is made from the SOURCE model's sha256 (not the artifact's), the data, the configs,
the options and, under ``options.artifacts``, each artifact's sha256 by preset. So the same files give the same id
however they are handed over (--artifact or --artifacts; a resumed device compare reuses the host's folder), a
different conversion (other bytes) is another compare, and records of one source group by
``compare.source_model.sha256`` across host- and device-converted compares.
"""

from __future__ import annotations

import importlib.util
import json
import platform
from pathlib import Path
from typing import Dict, List

import pytest

from bench import cli, models
from bench.compare import ident
from bench.compare.artifacts import MANIFEST
from bench.errors import InputError
from bench.hashing import sha256_path

from .conftest import require, run_cli
from .docker_helpers import ensure_image, read_jsonl, run_launcher

ONNX, DATA = models.DIGITS_ONNX, models.DIGITS_TEST_DATA
FAST = ["--warmup-runs", "1", "--warmup-min-s", "0", "--min-runs", "5", "--min-time-s", "0", "--max-time-s", "120"]


def _main(capsys: pytest.CaptureFixture, *argv: str) -> tuple:
    rc = cli.main(["compare", str(ONNX), str(DATA), *argv])
    err = capsys.readouterr().err
    return rc, [ln for ln in err.splitlines() if ln.startswith("edgebench: error:")]


def test_bad_artifacts_give_one_clear_line_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "r.jsonl"
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--configs", "onnx,tflite", "--artifact", "tflite-xnn=m.tflite"], "--artifact tflite-xnn: unknown preset"),
        (["--configs", "tflite", "--artifact", f"tflite={tmp_path / 'no.tflite'}"], "no.tflite: file not found"),
        (["--configs", "tflite", "--artifact", f"tflite={ONNX}"], "is a onnx model, but preset tflite runs tflite"),
        (["--configs", "coral", "--artifact", f"coral={models.DIGITS_TFLITE}"], "preset coral runs edgetpu-tflite"),
        (["--configs", "tflite", "--artifact", str(models.DIGITS_TFLITE)], "is not PRESET=FILE"),
        (["--configs", "onnx", "--artifact", f"tflite={models.DIGITS_TFLITE}"], "tflite: not among --configs"),
        (["--configs", "tflite", "--artifacts", str(empty)], f"no readable {MANIFEST}"),
        (["--configs", "tflite", "--convert-only"], "--convert-only and --convert-output DIR together"),
        (
            ["--configs", "tflite", "--convert-only", "--convert-output", str(empty), "--artifacts", str(empty)],
            "pass one",
        ),
    ]
    for args, needle in cases:
        rc, lines = _main(capsys, *args, "--output", str(out))
        assert rc == 2 and len(lines) == 1, (args, lines)
        assert needle in lines[0] and "Fix:" in lines[0], (args, lines[0])
        assert not out.exists()


def test_artifact_plan_runs_the_file_without_conversion_and_keys_the_id_on_source_and_artifact(tmp_path: Path) -> None:
    tfl = models.DIGITS_TFLITE  # a real fp32 TFLite file; no conversion happens in planning
    argv = ["compare", str(ONNX), str(DATA), "--configs", "onnx,tflite", "--output", str(tmp_path / "r.jsonl")]
    plain = cli.compare_plan_of(cli.build_parser().parse_args(argv))
    given = cli.compare_plan_of(cli.build_parser().parse_args([*argv, "--artifact", f"tflite={tfl}"]))
    job = {j.config: j for j in given.jobs}["tflite"]
    assert job.run.model == tfl and job.run.convert.precision == "fp32" and job.artifact.path == tfl
    assert {j.config: j for j in given.jobs}["onnx"].run.model == ONNX
    assert given.source_model["sha256"] == plain.source_model["sha256"] == sha256_path(ONNX)
    template = {j.config: j for j in plain.jobs}["onnx"].run
    options = ident.options_of(template, plain.protocol.rounds, None, {"tflite": (tfl, None, None)})
    payload = {
        "model_sha256": sha256_path(ONNX),
        "data_sha256": sha256_path(DATA),
        "configs": ["onnx", "tflite"],
        "threads": [None],
        "options": {**options, "repeat": 0},
    }
    assert options["artifacts"] == {"tflite": sha256_path(tfl)}
    assert given.id == ident.compare_id(payload) != plain.id


def test_demo_exports_keyed_by_framework_serve_each_fp32_preset_of_it() -> None:
    from bench.compare import plan as compare_plan
    from bench.config import RunConfig

    exports = {"onnx": (ONNX, None, None), "tflite": (models.DIGITS_TFLITE, None, None)}
    template = RunConfig(model=ONNX, data=DATA, framework="")
    plan = compare_plan.make_plan(template, ["onnx", "tflite-nodelegate", "tflite-fp16"], artifacts=exports)
    runs = {j.config: j.run for j in plan.jobs}
    assert runs["tflite-nodelegate"].model == models.DIGITS_TFLITE and runs["tflite-fp16"].model == ONNX
    assert runs["tflite-fp16"].convert.precision == "fp16" and all(
        j.artifact is None or not j.artifact.origin for j in plan.jobs
    )


def test_all_with_artifacts_names_what_the_host_could_not_convert_either(tmp_path: Path) -> None:
    folder = tmp_path / "conv"
    folder.mkdir()
    reason = "edgetpu_compiler not found (install it from Google's Coral apt repository)"
    (folder / MANIFEST).write_text(json.dumps({"presets": {}, "not_converted": {"coral": reason}}))
    argv = ["compare", str(ONNX), str(DATA), "--all", "--representative-data-path", str(DATA)]
    argv += ["--artifacts", str(folder), "--output", str(tmp_path / "r.jsonl")]
    plan = cli.compare_plan_of(cli.build_parser().parse_args(argv))
    why = dict(plan.skipped)
    assert why["coral"].endswith(f"; not converted in the host either: {reason}")
    assert "host" not in why.get("tensorrt-fp32", "")


def test_tensorrt_preset_given_an_onnx_file_still_builds_its_engine_at_the_preset_precision(tmp_path: Path) -> None:
    base = ["compare", str(ONNX), str(DATA), "--output", str(tmp_path / "r.jsonl")]
    args = [*base, "--configs", "tensorrt-fp16,tflite", "--artifact", f"tensorrt-fp16={ONNX}"]
    plan = cli.compare_plan_of(cli.build_parser().parse_args([*args, "--artifact", f"tflite={models.DIGITS_TFLITE}"]))
    runs = {j.config: j.run for j in plan.jobs}
    assert runs["tensorrt-fp16"].convert.precision == "fp16" and runs["tflite"].convert.precision == "fp32"
    with pytest.raises(InputError, match="tensorrt-int8 quantize to int8"):  # calibrated on the device
        cli.compare_plan_of(
            cli.build_parser().parse_args([*base, "--configs", "tensorrt-int8", "--artifact", f"tensorrt-int8={ONNX}"])
        )


def test_contract_launcher_compare_on_a_device_converts_in_host_first_then_hands_the_folder_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contract test: launcher.container.run replaced by a fake that records the jobs (and "converts" by writing the
    manifest), so every branch (reuse, --no-host-convert, DOCKER_HOST) is cheap. Through the real engine:
    test_launcher_compare_on_rpi5_converts_in_host_and_measures_every_preset below."""
    from launcher import cli as lcli
    from launcher import workflows
    from launcher.container import Outcome

    jobs: list = []
    clients: list = []

    def fake_run(job, client=None):  # the host job "converts": its manifest lands in the folder it collects into
        jobs.append(job)
        clients.append(client)
        if job.profile.name == "host":
            (job.collect[0][1] / MANIFEST).write_text("{}")
        return Outcome(0, [], "img")

    monkeypatch.setattr(workflows, "run", fake_run)
    extra = ["--configs", "onnx,tflite", "--rounds", "1"]
    argv = ["compare", "--device", "rpi5", "--emulate", str(ONNX), str(DATA), "--results", str(tmp_path / "r.jsonl")]
    assert lcli.main([*argv, "--converted", str(tmp_path / "conv"), "--", *extra]) == 0
    host, device = jobs
    assert host.profile.name == "host" and not host.emulate and host.image is None
    assert host.bench_argv[-3:] == ("--convert-only", "--convert-output", workflows.CONVERTED_IN_CONTAINER)
    assert host.collect[0][0] == workflows.CONVERTED_IN_CONTAINER
    assert device.profile.name == "rpi5" and device.emulate
    assert device.bench_argv[-2:] == ("--artifacts", str(tmp_path / "conv")) and tmp_path / "conv" in device.inputs
    assert not list(tmp_path.glob(".conv-*"))  # the staging folder became the folder
    jobs.clear()  # again (e.g. --resume): the complete folder is reused, no second conversion
    assert lcli.main([*argv, "--converted", str(tmp_path / "conv"), "--", *extra, "--resume"]) == 0
    assert [j.profile.name for j in jobs] == ["rpi5"]
    cargv, inputs, _ = workflows.compare_argv(ONNX, DATA, extra)
    assert workflows.conversion_key(cargv, inputs) == workflows.conversion_key([*cargv, "--resume"], inputs)
    jobs.clear()  # --no-host-convert: the device image converts what it can, as before
    assert lcli.main([*argv, "--no-host-convert", "--", *extra]) == 0
    assert [j.profile.name for j in jobs] == ["rpi5"] and "--artifacts" not in jobs[0].bench_argv
    # DOCKER_HOST names the board: the conversion runs on this machine's engine, the measurement on the board's
    jobs.clear()
    clients.clear()
    here = object()
    monkeypatch.setenv("DOCKER_HOST", "ssh://pi@board")
    monkeypatch.setattr(workflows, "local_engine", lambda: here)
    assert lcli.main([*argv, "--converted", str(tmp_path / "conv2"), "--", *extra]) == 0
    assert [j.profile.name for j in jobs] == ["host", "rpi5"] and clients == [here, None]
    assert jobs[0].engine_local is True and jobs[1].engine_local is None


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The conversion step, for real (onnx2tf int8, about 15 s unloaded): DIR with artifacts.json."""
    require("onnxruntime")
    require("ai_edge_litert")
    if importlib.util.find_spec("onnx2tf") is None:
        require("onnx2tf")
    tmp = tmp_path_factory.mktemp("device-compare")
    out = tmp / "converted"
    proc = run_cli(
        "compare", str(ONNX), str(DATA), "--configs", "onnx,tflite-int8", "--representative-data-path", str(DATA),
        "--convert-only", "--convert-output", str(out), "--cache-dir", str(tmp / "cache"), timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "tflite-int8:" in proc.stdout and "onnx: not converted" in proc.stdout
    return out


def test_int8_artifact_from_the_conversion_step_is_measured_as_it_is(converted: Path, tmp_path: Path) -> None:
    manifest = json.loads((converted / MANIFEST).read_text())
    entry = manifest["presets"]["tflite-int8"]
    assert set(manifest["presets"]) == {"tflite-int8"} and "onnx" in manifest["not_converted"]
    art = converted / entry["file"]
    assert sha256_path(art) == entry["sha256"] and entry["conversion"]["precision"] == "int8"
    out = tmp_path / "r.jsonl"
    args = ["--configs", "onnx,tflite-int8", "--rounds", "1", *FAST, "--output", str(out)]
    proc = run_cli("compare", str(ONNX), str(DATA), *args, "--artifact", f"tflite-int8={art}", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "onnx2tf" not in proc.stderr  # the int8 file is run as it is, never converted again
    recs = {r["compare"]["config"]: r for r in read_jsonl(out)}
    int8, onnx = recs["tflite-int8"], recs["onnx"]
    assert int8["status"] == onnx["status"] == "ok"
    assert int8["model"]["sha256"] == entry["sha256"] and onnx["model"]["sha256"] == sha256_path(ONNX)
    assert int8["compare"]["source_model"]["sha256"] == sha256_path(ONNX) == onnx["compare"]["source_model"]["sha256"]
    conv = int8["conversion"]
    assert conv["artifact"]["sha256"] == entry["sha256"] and conv["converted_on"]["where"] == "host"
    assert conv["fidelity"]["checked_at"] == "on the device, after the first run"  # against the stored reference
    assert conv["fidelity_where_converted"]["status"] == "checked" and conv["precision"] == "int8"
    # the id: the same plan with --artifacts DIR (the launcher's way) is the same compare
    again = ["compare", str(ONNX), str(DATA), *args, "--artifacts", str(converted), "--resume"]
    plan = cli.compare_plan_of(cli.build_parser().parse_args(again))
    assert plan.id == int8["compare"]["id"] == onnx["compare"]["id"] and len(plan.done) == 2


# ---- Docker: convert in the host image, measure in the emulated rpi image --------------------------------------------


@pytest.mark.docker
@pytest.mark.timeout(3600)
def test_launcher_compare_on_rpi5_converts_in_host_and_measures_every_preset(tmp_path: Path) -> None:
    native = "amd64" if platform.machine() == "x86_64" else "arm64"
    host = ensure_image("host", f"linux/{native}")
    rpi = ensure_image("rpi", "linux/arm64")
    results, folder = tmp_path / "results.jsonl", tmp_path / "converted"
    proc = run_launcher(
        "compare", "--device", "rpi5", "--emulate", str(ONNX), str(DATA), "--results", str(results),
        "--converted", str(folder), "--", "--configs", "onnx,tflite,tflite-int8",
        "--representative-data-path", str(DATA), "--rounds", "1", *FAST, timeout=2400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert set(manifest["presets"]) == {"tflite", "tflite-int8"}
    assert manifest["converted_on"]["image"].startswith(host.rsplit("-", 1)[0])
    recs: Dict[str, dict] = {r["compare"]["config"]: r for r in read_jsonl(results)}
    assert sorted(recs) == ["onnx", "tflite", "tflite-int8"]
    for r in recs.values():
        assert r["status"] == "ok", r.get("error")
        assert r["machine"]["image"].startswith(rpi.rsplit("-", 1)[0]), r["machine"]["image"]
        assert r["compare"]["source_model"]["sha256"] == sha256_path(ONNX)
    ids: List[str] = [r["compare"]["id"] for r in recs.values()]
    assert len(set(ids)) == 1
    for name in ("tflite", "tflite-int8"):
        conv = recs[name]["conversion"]
        assert recs[name]["model"]["sha256"] == manifest["presets"][name]["sha256"] == conv["artifact"]["sha256"]
        assert conv["converted_on"]["where"] == "host" and conv["converted_on"]["arch"] == platform.machine()
        assert conv["fidelity"]["checked_at"] == "on the device, after the first run"
    assert recs["tflite"]["quality"]["accuracy"] == recs["onnx"]["quality"]["accuracy"]
