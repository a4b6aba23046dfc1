"""bench.compare.artifacts by behaviour, fast and in process: every --artifact / --artifacts error line in full, the
manifest read back (paths relative to its folder, the reasons not converted), the record's conversion section, and
the convert-only step: file names ``<sha12>-<name>`` (sha256 by hashlib), one copy per file, the fidelity reference
(computed once per source, its meta), the skip reasons and the manifest written. The conversion (bench.runner.run),
the source model's outputs (bench.convert.fidelity.outputs, a runtime load) and the clock are stubs; the model files
are the repository's own digits assets."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pytest

from bench import models, runner
from bench.compare import artifacts
from bench.compare.artifacts import MANIFEST, Artifact
from bench.compare.plan import Job, Plan, Protocol
from bench.compare.presets import NAMES
from bench.config import RunConfig
from bench.convert import fidelity
from bench.convert.options import ConvertOptions
from bench.errors import BenchError, InputError
from bench.records import RunRecord

ONNX, TFLITE = Path(models.DIGITS_ONNX), Path(models.DIGITS_TFLITE)
NOW = "2026-01-02T03:04:05Z"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _error(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value)


# ------------------------------------------------------------------------------------------- of, check


def test_of_keeps_an_artifact_and_reads_a_demo_tuple() -> None:
    a = Artifact(Path("x.tflite"))
    assert artifacts.of(a) is a
    got = artifacts.of(("m.pth", Path("net.py"), "Net"))
    assert got == Artifact(Path("m.pth"), None, {}, None, Path("net.py"), "Net")
    assert isinstance(got.path, Path)


def test_check_accepts_a_file_of_the_presets_format(tmp_path: Path) -> None:
    ref = tmp_path / "r.npz"
    ref.write_bytes(b"x")
    assert artifacts.check("tflite", Artifact(TFLITE)) is None
    assert artifacts.check("onnx", Artifact(ONNX, reference=ref)) is None
    assert artifacts.check("tensorrt-fp16", Artifact(ONNX)) is None  # TensorRT builds its engine from ONNX


def test_check_unknown_preset() -> None:
    with pytest.raises(InputError) as exc:
        artifacts.check("tflite-xnn", Artifact(TFLITE))
    assert _error(exc) == f"--artifact tflite-xnn: unknown preset. Fix: name one of: {', '.join(NAMES)}"


def test_check_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "no.tflite"
    with pytest.raises(InputError) as exc:
        artifacts.check("tflite", Artifact(missing))
    assert _error(exc) == f"--artifact tflite={missing}: file not found. Fix: check the path"


def test_check_a_folder_is_no_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        artifacts.check("tflite", Artifact(tmp_path))


def test_check_wrong_format() -> None:
    with pytest.raises(InputError) as exc:
        artifacts.check("tflite", Artifact(ONNX))
    want = f"--artifact tflite={ONNX} is a onnx model, but preset tflite runs tflite"
    assert _error(exc) == f"{want}. Fix: give the tflite file converted for tflite"


def test_check_wrong_format_names_every_format_the_runtime_loads() -> None:
    with pytest.raises(InputError) as exc:
        artifacts.check("tensorrt-int8", Artifact(TFLITE))
    want = f"--artifact tensorrt-int8={TFLITE} is a tflite model, but preset tensorrt-int8 runs onnx or tensorrt-engine"
    assert _error(exc) == f"{want}. Fix: give the onnx or tensorrt-engine file converted for tensorrt-int8"


def test_check_missing_reference(tmp_path: Path) -> None:
    ref = tmp_path / "gone.npz"
    with pytest.raises(InputError) as exc:
        artifacts.check("tflite", Artifact(TFLITE, reference=ref))
    assert _error(exc) == f"fidelity reference {ref} of tflite not found. Fix: convert again into a new folder"


# ------------------------------------------------------------------------------------------- the manifest read back


def _manifest(folder: Path, presets: Dict[str, Any], **more: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(json.dumps({"presets": presets, **more}), encoding="utf-8")
    return folder / MANIFEST


def test_read_dir_resolves_files_beside_the_manifest(tmp_path: Path) -> None:
    where = {"where": "host", "arch": "x86_64"}
    path = _manifest(
        tmp_path,
        {
            "tflite": {"file": "a-m.tflite", "fidelity_reference": "a-ref.npz", "conversion": {"chain": "onnx2tf"}},
            "onnx": {"file": "b-m.onnx", "conversion": None},
        },
        converted_on=where,
    )
    got = artifacts.read_dir(tmp_path)
    assert got == {
        "tflite": Artifact(
            tmp_path / "a-m.tflite", tmp_path / "a-ref.npz", {"chain": "onnx2tf", "converted_on": where}, str(path)
        ),
        "onnx": Artifact(tmp_path / "b-m.onnx", None, {"converted_on": where}, str(path)),
    }


def test_read_dir_without_converted_on_records_none(tmp_path: Path) -> None:
    _manifest(tmp_path, {"onnx": {"file": "m.onnx"}})
    assert artifacts.read_dir(tmp_path)["onnx"].conversion == {"converted_on": None}


@pytest.mark.parametrize(
    "text,kind",
    [
        (None, "FileNotFoundError"),
        ("{not json", "JSONDecodeError"),
        ('{"schema": 1}', "KeyError"),
        ("[1]", "TypeError"),
        # a damaged manifest: one line too, not a traceback
        ('{"presets": []}', "AttributeError"),
        ('{"presets": {"tflite": {}}}', "KeyError"),
        ('{"presets": {"tflite": "m.tflite"}}', "AttributeError"),
        ('{"presets": {"tflite": {"file": 3}}}', "TypeError"),
    ],
)
def test_read_dir_unreadable_manifest(tmp_path: Path, text: Optional[str], kind: str) -> None:
    if text is not None:
        (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(InputError) as exc:
        artifacts.read_dir(tmp_path)
    assert _error(exc) == (
        f"--artifacts {tmp_path}: no readable artifacts.json ({kind}). "
        "Fix: pass the folder written by `edgebench compare ... --convert-only --convert-output DIR`"
    )
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_not_converted_reads_the_reasons(tmp_path: Path) -> None:
    _manifest(tmp_path, {}, not_converted={"coral": "no edgetpu_compiler"})
    assert artifacts.not_converted(tmp_path) == {"coral": "no edgetpu_compiler"}


@pytest.mark.parametrize("text", [None, "{bad", "[1]", '{"not_converted": null}', '{"presets": {}}'])
def test_not_converted_is_empty_when_unreadable_or_absent(tmp_path: Path, text: Optional[str]) -> None:
    if text is not None:
        (tmp_path / MANIFEST).write_text(text)
    assert artifacts.not_converted(tmp_path) == {}


# ------------------------------------------------------------------------------------------- --artifact and --artifacts


def test_parse_nothing() -> None:
    assert artifacts.parse(None, None) == {} and artifacts.parse([], None) == {}


def test_parse_a_spec_with_spaces() -> None:
    got = artifacts.parse([f" tflite = {TFLITE} "], None)
    assert got == {"tflite": Artifact(TFLITE, origin="--artifact")}


@pytest.mark.parametrize("spec", ["model.tflite", "=model.tflite", "tflite=", " =x", "tflite= "])
def test_parse_refuses_a_spec_that_is_not_preset_equals_file(spec: str) -> None:
    with pytest.raises(InputError) as exc:
        artifacts.parse([spec], None)
    want = f"--artifact {spec!r} is not PRESET=FILE. Fix: pass e.g. --artifact tflite-int8=model_int8.tflite"
    assert _error(exc) == want


def _converted_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "conv"
    folder.mkdir()
    (folder / "t.tflite").write_bytes(TFLITE.read_bytes())
    (folder / "o.onnx").write_bytes(ONNX.read_bytes())
    (folder / "ref.npz").write_bytes(b"ref")
    _manifest(
        folder,
        {
            "tflite": {"file": "t.tflite", "fidelity_reference": "ref.npz", "conversion": {"chain": "c"}},
            "onnx": {"file": "o.onnx"},
        },
        converted_on={"where": "host"},
    )
    return folder


def test_parse_a_folder_as_text_and_a_spec_that_wins(tmp_path: Path) -> None:
    folder = _converted_folder(tmp_path)
    got = artifacts.parse([f"tflite={TFLITE}"], str(folder))  # type: ignore[arg-type]
    assert got["tflite"] == Artifact(TFLITE, origin="--artifact")
    assert got["onnx"].path == folder / "o.onnx" and got["onnx"].origin == str(folder / MANIFEST)


def test_parse_checks_every_artifact(tmp_path: Path) -> None:
    folder = _converted_folder(tmp_path)
    (folder / "ref.npz").unlink()
    with pytest.raises(InputError, match=r"^fidelity reference .*ref\.npz of tflite not found"):
        artifacts.parse(None, folder)
    with pytest.raises(InputError, match="is a tflite model, but preset onnx runs onnx"):
        artifacts.parse([f"onnx={TFLITE}"], None)


def test_an_artifact_beside_its_manifest_keeps_reference_and_conversion(tmp_path: Path) -> None:
    folder = _converted_folder(tmp_path)
    given = folder / "t.tflite"
    got = artifacts.parse([f"tflite={given}"], None)["tflite"]
    want_conv = {"chain": "c", "converted_on": {"where": "host"}}
    assert got == Artifact(given, folder / "ref.npz", want_conv, "--artifact")


def test_an_artifact_beside_a_manifest_that_names_another_file(tmp_path: Path) -> None:
    folder = _converted_folder(tmp_path)
    assert artifacts._beside_manifest("onnx", folder / "t.tflite") == Artifact(folder / "t.tflite", origin="--artifact")
    assert artifacts._beside_manifest("armnn", folder / "t.tflite") == Artifact(
        folder / "t.tflite", origin="--artifact"
    )
    assert artifacts._beside_manifest("tflite", TFLITE) == Artifact(TFLITE, origin="--artifact")


# ------------------------------------------------------------------------------------------- the record's section


def test_conversion_section_names_the_artifact_and_defaults_where(tmp_path: Path) -> None:
    f = tmp_path / "m.tflite"
    f.write_bytes(b"abc")
    art = Artifact(f, conversion={"chain": "x", "fidelity": {"status": "ok"}}, origin="--artifact")
    got = artifacts.conversion_section(art, {})
    assert got == {
        "chain": "x",
        "fidelity": {"status": "ok"},
        "artifact": {"path": str(f), "sha256": hashlib.sha256(b"abc").hexdigest(), "given_by": "--artifact"},
        "converted_on": {"where": "elsewhere (given with --artifact): not recorded"},
    }
    assert art.conversion == {"chain": "x", "fidelity": {"status": "ok"}}  # the artifact is not changed


def test_conversion_section_puts_the_fidelity_measured_here_first(tmp_path: Path) -> None:
    f = tmp_path / "m.tflite"
    f.write_bytes(b"abc")
    art = Artifact(f, conversion={"fidelity": {"status": "deferred"}, "converted_on": {"where": "host"}}, origin="o")
    got = artifacts.conversion_section(art, {"fidelity": {"status": "ok", "max_abs_diff": 0.1}})
    assert got["fidelity"] == {"status": "ok", "max_abs_diff": 0.1}
    assert got["fidelity_where_converted"] == {"status": "deferred"}
    assert got["converted_on"] == {"where": "host"}


def test_conversion_section_without_a_fidelity_where_converted(tmp_path: Path) -> None:
    f = tmp_path / "m.tflite"
    f.write_bytes(b"abc")
    got = artifacts.conversion_section(Artifact(f), {"fidelity": {"status": "ok"}, "chain": "ignored"})
    assert got["fidelity"] == {"status": "ok"} and "fidelity_where_converted" not in got and "chain" not in got
    assert got["artifact"]["given_by"] is None


# ------------------------------------------------------------------------------------------- the convert-only step


def test_store_copies_once_under_the_sha_prefix_readable_by_all(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"model")
    out = tmp_path / "out"
    out.mkdir()
    sha = "0123456789abcdef" * 4
    assert artifacts._store(src, out, "m.tflite", sha) == "0123456789ab-m.tflite"
    target = out / "0123456789ab-m.tflite"
    assert target.read_bytes() == b"model" and stat.S_IMODE(target.stat().st_mode) == 0o644
    src.write_bytes(b"other")
    assert artifacts._store(src, out, "m.tflite", sha) == "0123456789ab-m.tflite"
    assert target.read_bytes() == b"model" and os.listdir(out) == ["0123456789ab-m.tflite"]


class Outputs:
    """Stub of bench.convert.fidelity.outputs (a real one loads the source model in its runtime)."""

    def __init__(self) -> None:
        self.calls: List[tuple] = []

    def __call__(self, path: Path, fmt: str, x: np.ndarray, ro: Any) -> np.ndarray:
        self.calls.append((path, fmt, x, ro))
        return np.arange(len(x) * 2, dtype=np.float64).reshape(len(x), 2)


def _data(tmp_path: Path, n: int, dtype: str = "float32") -> Path:
    path = tmp_path / f"d{n}{dtype}.npz"
    x = np.arange(n * 3).reshape(n, 3).astype(dtype)
    np.savez(path, x_data=x, y_data=np.arange(n) % 2)
    return path


def _job(
    tmp_path: Path, config: str = "tflite", n: int = 120, dtype: str = "float32", threads: Optional[int] = None
) -> Job:
    conv = ConvertOptions(precision="fp16", fidelity_tolerance=0.25, output=tmp_path / "elsewhere")
    run = RunConfig(
        model=ONNX,
        data=_data(tmp_path, n, dtype),
        framework="tflite",
        model_type="regression",
        model_class_path=Path("net.py"),
        model_class_name="Net",
        convert=conv,
    )
    return Job(config if threads is None else f"{config} @{threads}t", config, threads, run)


def _load(path: Path) -> Dict[str, Any]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_reference_of_the_source_outputs_with_its_meta(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outputs = Outputs()
    monkeypatch.setattr(fidelity, "outputs", outputs)
    job, sha, cache = _job(tmp_path), "ab" * 32, {}
    name = artifacts._reference(job, {"precision": "int8"}, sha, tmp_path, cache)
    assert name == "abababababab-fidelity_reference.npz"
    (path, fmt, x, ro) = outputs.calls[0]
    assert (path, fmt, x.shape) == (ONNX, "onnx", (100, 3))  # the first 100 samples of 120
    assert ro.input_shape == (1, 3) and ro.extra == {"input_dtype": "float32"}
    assert (ro.model_class_path, ro.model_class_name) == (Path("net.py"), "Net")
    z = _load(tmp_path / name)
    assert json.loads(str(z["meta"])) == {
        "precision": "int8",
        "tolerance": 0.25,
        "artifact_sha256": sha,
        "samples_key": "data:100:regression",
        "model_type": "regression",
        "inputs": "data",
    }
    np.testing.assert_array_equal(z["x"], np.arange(300).reshape(100, 3))
    np.testing.assert_array_equal(z["y"], np.arange(100) % 2)
    assert z["outputs"].shape == (100, 2)


def test_reference_once_per_source_and_the_runs_precision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outputs = Outputs()
    monkeypatch.setattr(fidelity, "outputs", outputs)
    job, cache = _job(tmp_path, n=5, dtype="int32"), {}
    artifacts._reference(job, {}, "11" * 32, tmp_path, cache)
    Path(job.run.data).unlink()  # the second artifact reads nothing again
    name = artifacts._reference(job, {"precision": None}, "22" * 32, tmp_path, cache)
    assert len(outputs.calls) == 1 and outputs.calls[0][3].extra == {"input_dtype": "int64"}
    meta = json.loads(str(_load(tmp_path / name)["meta"]))
    assert (meta["precision"], meta["samples_key"], meta["artifact_sha256"]) == ("fp16", "data:5:regression", "22" * 32)


def test_reference_the_conversion_stored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fidelity, "outputs", Outputs())
    ref = tmp_path / "stored.npz"
    ref.write_bytes(b"stored reference")
    out = tmp_path / "out"
    out.mkdir()
    name = artifacts._reference(_job(tmp_path), {"reference": str(ref)}, "cd" * 32, out, {})
    assert name == "cdcdcdcdcdcd-fidelity_reference.npz"
    assert (out / name).read_bytes() == b"stored reference"


def test_reference_stored_but_gone_is_computed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outputs = Outputs()
    monkeypatch.setattr(fidelity, "outputs", outputs)
    artifacts._reference(_job(tmp_path), {"reference": str(tmp_path / "gone.npz")}, "cd" * 32, tmp_path, {})
    assert len(outputs.calls) == 1


class Convert:
    """Stub of bench.runner.run for the convert-only step (a real one runs onnx2tf): ``by_config`` -> conversion
    section or exception."""

    def __init__(self, by_framework: Dict[str, Any]) -> None:
        self.by_framework, self.calls = by_framework, []

    def __call__(self, config: RunConfig, counts: Any = None) -> RunRecord:
        self.calls.append(config)
        what = self.by_framework[config.framework]
        if isinstance(what, BaseException):
            raise what
        return RunRecord(NOW, {}, config.framework, {}, {}, {}, conversion=what)


def _converted(tmp_path: Path, name: str = "m_float16.tflite") -> Path:
    path = tmp_path / "cache" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"TFL3 converted")
    return path


def test_convert_one_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conv_path = _converted(tmp_path)
    stored_ref = tmp_path / "cache" / "ref.npz"
    stored_ref.write_bytes(b"r")
    section = {
        "chain": "onnx2tf",
        "path": str(conv_path),
        "format": "tflite",
        "fidelity": {"status": "deferred", "reference": str(stored_ref)},
    }
    stub = Convert({"tflite": section})
    monkeypatch.setattr(runner, "run", stub)
    out = tmp_path / "out"
    out.mkdir()
    entry = artifacts._convert_one(_job(tmp_path), out, {})
    sha = hashlib.sha256(b"TFL3 converted").hexdigest()
    assert entry == {
        "file": f"{sha[:12]}-m_float16.tflite",
        "sha256": sha,
        "format": "tflite",
        "fidelity_reference": f"{sha[:12]}-fidelity_reference.npz",
        "conversion": {
            "chain": "onnx2tf",
            "format": "tflite",
            "fidelity": {"status": "deferred"},  # the cache path stays here
            "path_where_converted": str(conv_path),
        },
    }
    (cfg,) = stub.calls
    assert cfg.convert.convert_only is True and cfg.convert.output is None and cfg.convert.precision == "fp16"


def test_convert_one_trusts_the_recorded_sha(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fidelity, "outputs", Outputs())
    section = {"chain": "c", "path": str(_converted(tmp_path)), "sha256": "ee" * 32}
    monkeypatch.setattr(runner, "run", Convert({"tflite": section}))
    entry = artifacts._convert_one(_job(tmp_path), tmp_path, {})
    assert entry["sha256"] == "ee" * 32 and entry["file"] == "eeeeeeeeeeee-m_float16.tflite"
    assert entry["format"] is None and entry["conversion"]["fidelity"] == {}


@pytest.mark.parametrize(
    "section",
    [None, {}, {"chain": "c"}, {"path": "/x.tflite"}, {"chain": "", "path": "/x.tflite"}],
)
def test_convert_one_nothing_to_convert(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, section: Any) -> None:
    monkeypatch.setattr(runner, "run", Convert({"tflite": section}))
    reason = "nothing to convert: the device runs the source model (or converts it itself)"
    assert artifacts._convert_one(_job(tmp_path), tmp_path, {}) == {"reason": reason}


def test_convert_one_a_folder_is_not_a_device_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "model_openvino"
    folder.mkdir()
    monkeypatch.setattr(runner, "run", Convert({"tflite": {"chain": "c", "path": str(folder)}}))
    got = artifacts._convert_one(_job(tmp_path), tmp_path, {})
    assert got == {"reason": "the conversion made a folder (model_openvino), not a file a device runtime loads"}


def test_convert_one_refused_is_the_errors_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runner, "run", Convert({"tflite": InputError("no edgetpu_compiler", "install it")}))
    got = artifacts._convert_one(_job(tmp_path), tmp_path, {})
    assert got == {"reason": "no edgetpu_compiler. Fix: install it"}


def test_convert_one_first_line_of_a_multiline_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Multi(BenchError):
        """An error whose text has several lines (a converter's output)."""

        def __str__(self) -> str:
            return "first\nsecond"

    monkeypatch.setattr(runner, "run", Convert({"tflite": Multi("x")}))
    assert artifacts._convert_one(_job(tmp_path), tmp_path, {}) == {"reason": "first"}


def test_convert_presets_writes_the_manifest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outputs = Outputs()
    monkeypatch.setattr(fidelity, "outputs", outputs)
    monkeypatch.setattr(artifacts, "utc_now", lambda: NOW)
    monkeypatch.setenv("EDGEBENCH_IMAGE", "edgebench:host")
    conv_path = _converted(tmp_path)
    section = {"chain": "c", "path": str(conv_path), "cache_dir": tmp_path}  # a Path: written as text
    stub = Convert({"tflite": section, "onnx": InputError("refused")})
    monkeypatch.setattr(runner, "run", stub)
    a1, a4 = _job(tmp_path, threads=1), _job(tmp_path, threads=4)
    other = _job(tmp_path, config="onnx")
    other = Job(other.label, other.config, None, replace(other.run, framework="onnx"))
    plan = Plan("cid", (a1, a4, other), Protocol(), 1, a1.label, None, {"sha256": "s"}, (("coral", "no compiler"),))
    out = tmp_path / "new" / "dir"
    with caplog.at_level(logging.INFO, logger="bench.compare.artifacts"):
        manifest = artifacts.convert_presets(plan, out)  # type: ignore[arg-type]
    sha = hashlib.sha256(b"TFL3 converted").hexdigest()
    assert [c.framework for c in stub.calls] == ["tflite", "onnx"]  # once per preset, whatever the threads
    assert manifest["schema"] == 1 and manifest["source_model"] == {"sha256": "s"}
    assert manifest["converted_on"] == {
        "where": "host",
        "image": "edgebench:host",
        "arch": platform.machine(),
        "hostname": platform.node(),
        "created_utc": NOW,
    }
    assert manifest["not_converted"] == {"coral": "no compiler", "onnx": "refused"}
    assert list(manifest["presets"]) == ["tflite"] and manifest["presets"]["tflite"]["sha256"] == sha
    text = (out / MANIFEST).read_text(encoding="utf-8")
    assert text == json.dumps(manifest, indent=1, sort_keys=True, default=str)
    assert json.loads(text)["presets"]["tflite"]["conversion"]["cache_dir"] == str(tmp_path)
    names = sorted(os.listdir(out))
    assert names == sorted([MANIFEST, f"{sha[:12]}-m_float16.tflite", f"{sha[:12]}-fidelity_reference.npz"])
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["converting for tflite", "converting for onnx", "onnx: not converted (refused)"]
    assert plan.skipped == (("coral", "no compiler"),)


def test_convert_presets_without_an_image_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runner, "run", Convert({"tflite": {}}))
    monkeypatch.setenv("EDGEBENCH_IMAGE", "")
    plan = Plan("cid", (_job(tmp_path),), Protocol(), 1, "tflite", None, {}, ())
    manifest = artifacts.convert_presets(plan, tmp_path / "o")  # type: ignore[arg-type]
    assert manifest["converted_on"]["image"] is None and manifest["presets"] == {}
    assert json.loads((tmp_path / "o" / MANIFEST).read_text())["not_converted"] == {
        "tflite": "nothing to convert: the device runs the source model (or converts it itself)"
    }


def test_convert_presets_then_read_dir_round_trip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fidelity, "outputs", Outputs())
    monkeypatch.setattr(runner, "run", Convert({"tflite": {"chain": "c", "path": str(_converted(tmp_path))}}))
    out = tmp_path / "o"
    plan = Plan("cid", (_job(tmp_path),), Protocol(), 1, "tflite", None, {}, ())
    artifacts.convert_presets(plan, out)  # type: ignore[arg-type]
    got = artifacts.read_dir(out)["tflite"]
    sha = hashlib.sha256(b"TFL3 converted").hexdigest()
    assert (
        got.path == out / f"{sha[:12]}-m_float16.tflite" and got.reference == out / f"{sha[:12]}-fidelity_reference.npz"
    )
    assert got.conversion["converted_on"]["where"] == "host"


# ------------------------------------------------------------------------------------------- the terminal summary


def test_summary_lines(tmp_path: Path) -> None:
    manifest = {
        "presets": {
            "tflite": {
                "file": "a-m.tflite",
                "fidelity_reference": "a-ref.npz",
                "conversion": {"fidelity": {"status": "ok", "max_abs_diff": 0.00012345}},
            },
            "onnx": {"file": "b.onnx", "fidelity_reference": None, "conversion": {"fidelity": None}},
            "int8": {"file": "c", "fidelity_reference": "r", "conversion": {"fidelity": {"max_abs_diff": 0}}},
            "fp16": {"file": "d", "fidelity_reference": "r", "conversion": {"fidelity": {"status": "deferred"}}},
        },
        "not_converted": {"coral": "no compiler"},
    }
    assert artifacts.summary(manifest, tmp_path).splitlines() == [
        f"converted for the device into {tmp_path} (artifacts.json):",
        "  tflite: a-m.tflite (fidelity ok, max abs diff 0.000123; reference a-ref.npz)",
        "  onnx: b.onnx (fidelity n/a; reference None)",
        "  int8: c (fidelity , max abs diff 0; reference r)",
        "  fp16: d (fidelity deferred; reference r)",
        "  coral: not converted (no compiler)",
    ]


def test_convert_presets_computes_the_source_outputs_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outputs = Outputs()
    monkeypatch.setattr(fidelity, "outputs", outputs)
    monkeypatch.setattr(runner, "run", Convert({"tflite": {"chain": "c", "path": str(_converted(tmp_path))}}))
    jobs = (_job(tmp_path, config="tflite"), _job(tmp_path, config="tflite-fp16"))
    plan = Plan("cid", jobs, Protocol(), 1, "tflite", None, {}, ())
    manifest = artifacts.convert_presets(plan, tmp_path / "o")  # type: ignore[arg-type]
    assert sorted(manifest["presets"]) == ["tflite", "tflite-fp16"] and len(outputs.calls) == 1


def test_an_artifact_has_no_class_file_unless_given() -> None:
    assert Artifact(Path("x.tflite")) == Artifact(Path("x.tflite"), None, {}, None, None, None)


def test_parse_splits_at_the_first_equals_sign(tmp_path: Path) -> None:
    odd = tmp_path / "model=v2.tflite"  # a file name with "=" in it
    odd.write_bytes(TFLITE.read_bytes())
    assert artifacts.parse([f"tflite={odd}"], None) == {"tflite": Artifact(odd, origin="--artifact")}
