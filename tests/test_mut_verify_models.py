"""bench/verify_models.py and bench/verify_timing.py in process, without a run: the file kind each preset runs on,
the shipped digits model set, the run configuration of a verify path, the published figure a board is held against
(its own before any host's), the timing check's full verdict, the zoo's model set for a figure, and what
``timing_run`` does or says for each case (``runner.run_and_record`` replaced by a recorder)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List

import pytest

from bench import models, runner, verify_models, verify_timing
from bench.board_types import Latency
from bench.verify_models import ModelSet

#: by hand, from each runtime's own formats: PyTorch and ExecuTorch load the state dict, ONNX Runtime, TensorRT,
#: ncnn and OpenVINO the ONNX export (converted on the board), LiteRT and ARM NN the .tflite at fp32, LiteRT's int8
#: the int8 .tflite, its fp16 the ONNX export (no fp16 file is shipped), the Coral the Edge TPU-compiled model
SOURCES = {
    "pytorch": "pytorch",
    "onnx": "onnx",
    "tflite": "tflite",
    "tflite-fp16": "onnx",
    "tflite-int8": "tflite-int8",
    "tflite-nodelegate": "tflite",
    "tflite-armnn": "tflite",
    "armnn": "tflite",
    "coral": "edgetpu",
    "tensorrt-fp32": "onnx",
    "tensorrt-fp16": "onnx",
    "tensorrt-int8": "onnx",
    "executorch": "pytorch",
    "executorch-int8": "pytorch",
    "ncnn": "onnx",
    "ncnn-fp16": "onnx",
    "openvino": "onnx",
    "openvino-int8": "onnx",
}


def test_each_preset_runs_on_its_runtimes_own_file_kind() -> None:
    assert verify_models.preset_sources() == SOURCES
    assert [verify_models.preset_source(p) for p in ("tensorrt-int8", "coral")] == ["onnx", "edgetpu"]


def test_the_shipped_digits_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digits = verify_models.shipped_digits()
    assert digits == ModelSet(
        "digits",
        models.DIGITS_TEST_DATA,
        {
            "pytorch": models.DIGITS_STATE_DICT,
            "onnx": models.DIGITS_ONNX,
            "tflite": models.DIGITS_TFLITE,
            "tflite-int8": models.DIGITS_TFLITE_INT8,
        },
        models.DIGITS_CLASS_FILE,
        models.DIGITS_CLASS_NAME,
        representative=models.DIGITS_TEST_DATA,
        random_weights=False,
    )
    compiled = tmp_path / "digits_edgetpu.tflite"
    assert verify_models.shipped_digits(compiled).files["edgetpu"] == compiled
    monkeypatch.setattr(models, "DIGITS_TFLITE_INT8", tmp_path / "absent.tflite")  # an image without the int8 file
    assert set(verify_models.shipped_digits().files) == {"pytorch", "onnx", "tflite"}


def test_source_for_without_the_file_or_an_onnx_export(tmp_path: Path) -> None:
    tfl, edgetpu = tmp_path / "m.tflite", tmp_path / "m_edgetpu.tflite"
    only_tflite = ModelSet("m", tmp_path / "d.npz", {"tflite": tfl})
    assert verify_models.source_for("tflite-int8", only_tflite) == (None, "no tflite-int8 model in the set")
    assert verify_models.source_for("onnx", only_tflite) == (None, "no onnx model in the set")
    with_coral = ModelSet("m", tmp_path / "d.npz", {"tflite": tfl, "edgetpu": edgetpu})
    assert verify_models.source_for("coral", with_coral) == (edgetpu, "edgetpu")
    onnx = tmp_path / "m.onnx"
    with_onnx = ModelSet("m", tmp_path / "d.npz", {"tflite": tfl, "onnx": onnx})
    assert verify_models.source_for("tflite-int8", with_onnx) == (onnx, "onnx")  # no int8 file: quantized from ONNX
    assert verify_models.source_for("coral", with_onnx) == (
        None,
        "no Edge TPU-compiled model: compile the int8 model with edgetpu_compiler, pass --edgetpu-model",
    )  # never a guess: the Edge TPU compiler does not run on the board


def _set(tmp_path: Path) -> ModelSet:
    files = {"onnx": tmp_path / "m.onnx"}
    return ModelSet("m", tmp_path / "d.npz", files, tmp_path / "net.py", "Net", tmp_path / "rep.npz", True)


@pytest.mark.parametrize(
    "preset, framework, delegate, precision, representative",
    [
        ("onnx", "onnx", None, "fp32", False),
        ("tflite-fp16", "tflite", None, "fp16", False),
        ("tflite-nodelegate", "tflite", "none", "fp32", False),
        ("tensorrt-int8", "tensorrt", None, "int8", True),  # quantized on the board: calibration data
        ("tflite-int8", "tflite", None, "fp32", True),  # the int8 file is at its precision: no conversion to int8
        ("coral", "coral", None, "fp32", True),
    ],
)
def test_a_verify_paths_run_configuration(
    tmp_path: Path, preset: str, framework: str, delegate: Any, precision: str, representative: bool
) -> None:
    ms = _set(tmp_path)
    cfg = verify_models.config_for(preset, ms, tmp_path / "m.onnx", tmp_path / "r.jsonl", 3)
    assert (cfg.framework, cfg.delegate, cfg.model, cfg.data) == (framework, delegate, tmp_path / "m.onnx", ms.data)
    assert (cfg.model_class_path, cfg.model_class_name) == (tmp_path / "net.py", "Net")
    assert (cfg.threads, cfg.output, cfg.label, cfg.random_weights) == (
        3,
        tmp_path / "r.jsonl",
        f"verify {preset}",
        True,
    )
    assert cfg.convert.precision == precision
    assert cfg.convert.representative_data == (tmp_path / "rep.npz" if representative else None)
    t = cfg.timing  # short runs: 5 warm-ups over 0.2 s, 20 runs over 0.5 s, at most a minute
    assert (t.warmup_runs, t.warmup_min_s, t.min_runs, t.min_time_s, t.max_time_s) == (5, 0.2, 20, 0.5, 60.0)
    assert t.until_stable_pct is None and cfg.model_type == "classification"


def test_a_sets_defaults_run_configuration(tmp_path: Path) -> None:
    plain = ModelSet("m", tmp_path / "d.npz", {"onnx": tmp_path / "m.onnx"})
    cfg = verify_models.config_for("tensorrt-int8", plain, tmp_path / "m.onnx", None, None)
    assert (cfg.model_class_path, cfg.model_class_name, cfg.threads, cfg.output) == (None, None, None, None)
    assert cfg.random_weights is False and cfg.convert.representative_data is None


# --- verify_timing: figures, the check, the zoo's set, timing_run ------------------------------------------------

OWN = Latency("rpi5", "onnx", "mobilenetv2", 4.0, "own figure", 2.0)
ANY = Latency("*", "onnx", "mobilenetv2", 10.0, "any host's figure")
OTHER = Latency("rpi4", "tflite", "resnet50", 50.0, "another preset's figure")


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_timing, "PUBLISHED", (ANY, OTHER, OWN))


def test_a_boards_own_figure_comes_before_any_hosts(figures: None) -> None:
    assert verify_timing.figure_for("rpi5", "onnx") == OWN
    assert verify_timing.figure_for("jetson-nano", "onnx") == ANY
    assert verify_timing.figure_for("rpi4", "tflite") == OTHER
    assert verify_timing.figure_for("rpi5", "tflite") is None and verify_timing.figure_for("rpi4", "coral") is None


def test_the_timing_checks_full_verdict(figures: None) -> None:
    inside = verify_timing.check_timing("rpi5", "onnx", "mobilenetv2", 7.9, False)  # 4.0 * 2 = 8.0 at most
    assert inside == {
        "ok": True,
        "published_ms": 4.0,
        "bound": 2.0,
        "source": "own figure",
        "held_against": "own figure: mobilenetv2, 4.0 ms within 2.0x",
        "timed_model": "mobilenetv2",
        "p50_ms": 7.9,
    }
    assert verify_timing.check_timing("rpi5", "onnx", "mobilenetv2", 8.0, False)["ok"] is True  # the bound itself
    assert verify_timing.check_timing("rpi5", "onnx", "mobilenetv2", 2.0, False)["ok"] is True  # 4.0 / 2 = 2.0
    assert verify_timing.check_timing("rpi5", "onnx", "mobilenetv2", 1.99, False)["ok"] is False
    assert verify_timing.check_timing("rpi5", "onnx", "mobilenetv2", 8.01, False)["ok"] is False
    # any host's figure at the default bound 3x: 10 / 3 = 3.33 .. 30 ms
    assert verify_timing.check_timing("generic", "onnx", "mobilenetv2", 29.0, False)["held_against"] == (
        "any host's figure: mobilenetv2, 10.0 ms within 3.0x"
    )
    assert verify_timing.check_timing("rpi5", "onnx", "resnet50", 999.0, False) == {
        "ok": True,
        "note": "no published figure for rpi5, onnx and resnet50",
    }
    assert verify_timing.check_timing("rpi5", "tflite", "mobilenetv2", 999.0, False) == {
        "ok": True,
        "note": "no published figure for rpi5, tflite and mobilenetv2",
    }
    assert verify_timing.check_timing("rpi5", "onnx", "mobilenetv2", 999.0, True) == {
        "ok": True,
        "note": "emulated: timing not checked",
    }


def _zoo(tmp_path: Path, with_pytorch: bool = True) -> Path:
    zoo_dir = tmp_path / "zoo"
    zoo_dir.mkdir()
    entry = {"pytorch": {"onnx": "mobilenetv2/model.onnx", "data": "mobilenetv2/data.npz"}} if with_pytorch else {}
    manifest = {"models": {"mobilenetv2": entry}}
    (zoo_dir / "zoo.json").write_text(json.dumps(manifest))
    return zoo_dir


def test_the_zoos_set_for_a_figure(tmp_path: Path) -> None:
    zoo_dir = _zoo(tmp_path)
    root = zoo_dir.resolve() / "mobilenetv2"
    timed = verify_timing.timing_set(OWN, zoo_dir, None)
    assert timed == ModelSet("mobilenetv2", root / "data.npz", {"onnx": root / "model.onnx"}, random_weights=True)
    compiled = tmp_path / "c_edgetpu.tflite"
    with_coral = verify_timing.timing_set(OWN, zoo_dir, compiled)
    assert with_coral.files == {"onnx": root / "model.onnx", "edgetpu": compiled}
    assert verify_timing.timing_set(OTHER, zoo_dir, None) is None  # resnet50 is not in this zoo


def test_no_zoo_set_without_the_models_pytorch_export(tmp_path: Path) -> None:
    assert verify_timing.timing_set(OWN, _zoo(tmp_path, with_pytorch=False), None) is None


def test_the_coral_figure_without_a_zoo_uses_random_images(tmp_path: Path) -> None:
    compiled = tmp_path / "c_edgetpu.tflite"
    coral = Latency("rpi5", "coral", "mobilenetv2", 2.6, "coral.ai")
    timed = verify_timing.timing_set(coral, None, compiled)
    assert (timed.name, timed.files, timed.random_weights) == ("mobilenetv2", {"edgetpu": compiled}, True)
    assert timed.data.name == "images.npz" and timed.data.is_file()


class Runs:
    """Stands in for runner.run_and_record: records each configuration, the run's p50 is ``p50``."""

    def __init__(self, p50: float) -> None:
        self.configs: List[Any] = []
        self.p50 = p50

    def __call__(self, cfg: Any) -> Any:
        self.configs.append(cfg)
        return SimpleNamespace(latency=SimpleNamespace(invoke={"p50_ms": self.p50}))


def test_timing_run_times_the_figures_own_model(tmp_path: Path, figures: None, monkeypatch) -> None:
    runs = Runs(9.0)
    monkeypatch.setattr(runner, "run_and_record", runs)
    zoo_dir = _zoo(tmp_path)
    res = verify_timing.timing_run("onnx", "rpi5", verify_timing.TimingModels(zoo_dir), tmp_path / "r.jsonl", 2)
    assert res["ok"] is False and res["p50_ms"] == 9.0 and res["timed_model"] == "mobilenetv2"  # 9 > 4 * 2
    assert res["held_against"] == "own figure: mobilenetv2, 4.0 ms within 2.0x"
    (cfg,) = runs.configs
    root = zoo_dir.resolve() / "mobilenetv2"
    assert (cfg.model, cfg.data, cfg.output, cfg.threads) == (
        root / "model.onnx",
        root / "data.npz",
        tmp_path / "r.jsonl",
        2,
    )
    assert cfg.label == "verify onnx" and cfg.random_weights is True and cfg.framework == "onnx"


def test_timing_run_says_why_nothing_was_timed(tmp_path: Path, figures: None, monkeypatch) -> None:
    monkeypatch.setattr(runner, "run_and_record", lambda cfg: pytest.fail("nothing to time"))
    none = verify_timing.TimingModels()
    assert verify_timing.timing_run("tflite", "rpi5", none, None, None) == {
        "ok": True,
        "note": "no published figure for rpi5 and tflite",
    }
    assert verify_timing.timing_run("onnx", "rpi5", none, None, None) == {
        "ok": True,
        "note": "own figure is for mobilenetv2: not timed (pass --timing-models DIR (edgebench zoo --models mobilenetv2))",
    }
    other_zoo = verify_timing.TimingModels(_zoo(tmp_path, with_pytorch=False))
    assert verify_timing.timing_run("onnx", "rpi5", other_zoo, None, None)["note"].startswith("own figure is for")


def test_timing_run_on_a_coral_asks_for_the_compiled_model(tmp_path: Path, monkeypatch) -> None:
    coral = Latency("rpi5", "coral", "mobilenetv2", 2.6, "coral.ai")
    monkeypatch.setattr(verify_timing, "PUBLISHED", (coral,))
    monkeypatch.setattr(runner, "run_and_record", lambda cfg: pytest.fail("nothing to time"))
    assert verify_timing.timing_run("coral", "rpi5", verify_timing.TimingModels(_zoo(tmp_path)), None, None) == {
        "ok": True,
        "note": "coral.ai is for mobilenetv2: not timed (pass --edgetpu-timing-model)",
    }  # the zoo has no Edge TPU build: the Coral's path has no file in the zoo's set


def test_timing_run_on_a_coral_times_the_compiled_model(tmp_path: Path, monkeypatch) -> None:
    coral = Latency("rpi5", "coral", "mobilenetv2", 2.6, "coral.ai", 6.0)
    monkeypatch.setattr(verify_timing, "PUBLISHED", (coral,))
    runs = Runs(3.0)
    monkeypatch.setattr(runner, "run_and_record", runs)
    compiled = tmp_path / "c_edgetpu.tflite"
    res = verify_timing.timing_run("coral", "rpi5", verify_timing.TimingModels(None, compiled), None, 1)
    assert res["ok"] is True and res["published_ms"] == 2.6 and res["bound"] == 6.0  # 2.6 / 6 <= 3.0 <= 2.6 * 6
    (cfg,) = runs.configs
    assert cfg.model == compiled and cfg.data.name == "images.npz" and cfg.framework == "coral"
