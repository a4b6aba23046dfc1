"""bench/compare/plan.py's choice of what can run here, on this machine's real runtimes (ONNX Runtime, LiteRT,
OpenVINO are installed; Arm NN, the Edge TPU and TensorRT are not): a preset's own format runs as it is, another format
needs a chain in the conversion table (docs/conversion.md: onnx -> tflite and onnx -> openvino-ir exist, nothing
leaves tflite except for the Edge TPU), a converted file needs only its runtime, and a probe's failure is its first
line or, when silent, its type. Plus make_plan's details: one round is enough, the missing file named by what it is,
the source's sha256 (hashlib here), no output file, the resumed pairs and the artifacts in the id.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bench import models, selfcheck
from bench.compare import plan
from bench.compare.artifacts import Artifact
from bench.config import RunConfig
from bench.convert.options import ConvertOptions
from bench.errors import InputError

ONNX, DATA = models.DIGITS_ONNX, models.DIGITS_TEST_DATA


def test_a_presets_own_format_runs_as_it_is_and_others_need_a_chain() -> None:
    assert plan.why_not("onnx", "onnx", False) is None
    assert plan.why_not("tflite", "onnx", False) is None
    assert plan.why_not("tflite-fp16", "onnx", False) is None
    assert plan.why_not("openvino-int8", "onnx", True) is None
    assert plan.why_not("onnx", "tflite", True).startswith("no conversion from tflite to onnx (supported: ")
    assert plan.why_not("openvino", "tflite", True).startswith("no conversion from tflite to openvino-ir (supported: ")


def test_a_converted_file_needs_only_its_runtime() -> None:
    assert plan.why_not("tflite-int8", "onnx", False, "tflite") is None  # no calibration needed: it is int8 already
    assert plan.why_not("onnx", "tflite", False, "onnx") is None  # the table has no tflite -> onnx: not asked
    assert plan.why_not("tflite-armnn", "onnx", False, "tflite") == "armnn: libarmnnDelegate.so not found"


def test_all_chooses_by_calibration_and_by_converted_files() -> None:
    chosen, skipped = plan.select_all("onnx", True)
    assert {"onnx", "tflite", "tflite-int8", "openvino-int8"} <= set(chosen)
    without, why = plan.select_all("onnx", False)
    assert "tflite-int8" not in without and ("tflite-int8", "int8 needs --representative-data-path") in why
    given, _ = plan.select_all("onnx", False, {"tflite-int8": "tflite"})
    assert "tflite-int8" in given and "openvino-int8" not in given


def _raise(exc: BaseException):
    def probe() -> dict:
        raise exc

    return probe


def test_a_probes_failure_is_its_first_line_or_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"ok": lambda: {"v": "1"}, "two": _raise(RuntimeError("first\nsecond")), "mute": _raise(OSError())}
    monkeypatch.setattr(selfcheck, "checks", lambda: table)
    assert plan._probe("ok") is None
    assert plan._probe("two") == "first"
    assert plan._probe("mute") == "OSError"


def _template(tmp_path: Path, **kw) -> RunConfig:
    return RunConfig(model=ONNX, data=DATA, framework="", **kw)


def test_one_round_is_enough_and_the_source_is_named_by_its_bytes(tmp_path: Path) -> None:
    p = plan.make_plan(_template(tmp_path), ["onnx"], protocol=plan.Protocol(rounds=1))
    assert p.protocol.rounds == 1 and p.output is None
    assert p.source_model == {
        "path": str(ONNX),
        "format": "onnx",
        "sha256": hashlib.sha256(ONNX.read_bytes()).hexdigest(),
    }


def test_a_missing_calibration_file_is_named_as_such(tmp_path: Path) -> None:
    template = _template(tmp_path, convert=ConvertOptions(representative_data=tmp_path / "calib.npz"))
    with pytest.raises(InputError) as err:
        plan.make_plan(template, ["tflite-int8"])
    assert err.value.problem == f"representative data {tmp_path / 'calib.npz'} not found"


def test_a_resumed_plan_knows_what_was_done_and_artifacts_change_its_id(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    first = plan.make_plan(_template(tmp_path, output=out), ["onnx", "tflite"])
    record = {"status": "ok", "compare": {"id": first.id, "label": "onnx", "round": 0}}
    out.write_text(json.dumps(record) + "\n")
    resumed = plan.make_plan(_template(tmp_path, output=out), ["onnx", "tflite"], protocol=plan.Protocol(resume=True))
    assert (resumed.id, resumed.done, resumed.output) == (first.id, frozenset({("onnx", 0)}), out)
    art = tmp_path / "m.tflite"
    art.write_bytes(models.DIGITS_TFLITE.read_bytes())
    with_file = plan.make_plan(_template(tmp_path), ["onnx", "tflite"], artifacts={"tflite": Artifact(art)})
    assert with_file.id != plan.make_plan(_template(tmp_path), ["onnx", "tflite"]).id
