"""bench/compare/ident.py's less travelled paths, by hand: the transposed data and the artifacts in the compare id
(sha256 of the files' bytes, computed here with hashlib), and a results file whose first lines are not compare
records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

from bench.compare import ident
from bench.compare.artifacts import Artifact
from bench.config import RunConfig

ASSETS = Path(ident.__file__).parent.parent / "models" / "assets"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_transposed_data_and_each_artifact_enter_the_id_by_their_bytes(tmp_path: Path) -> None:
    transposed, tfl, onnx = tmp_path / "t.npz", tmp_path / "m.tflite", tmp_path / "m.onnx"
    transposed.write_bytes(b"nhwc")
    tfl.write_bytes(b"TFL3 model")
    onnx.write_bytes(b"onnx model")
    conv = SimpleNamespace(to_dict=lambda: {}, representative_data=None, transposed_data=transposed)
    t = RunConfig(model=Path("m"), data=Path("d"), framework="tflite", convert=conv)
    artifacts = {"tflite": Artifact(tfl), "onnx": (onnx, None, None)}  # a demo's (path, class file, class) tuple
    opts = ident.options_of(t, 1, None, artifacts)
    assert opts["transposed_data_sha256"] == _sha(b"nhwc")
    assert opts["artifacts"] == {"onnx": _sha(b"onnx model"), "tflite": _sha(b"TFL3 model")}
    assert list(opts["artifacts"]) == ["onnx", "tflite"]


def test_a_compare_of_artifacts_is_not_the_compare_of_its_source(tmp_path: Path) -> None:
    t = RunConfig(model=ASSETS / "digits_cnn.onnx", data=ASSETS / "digits_test.npz", framework="onnx")
    p = SimpleNamespace(rounds=1, seed=None, resume=False)
    art = tmp_path / "m.tflite"
    art.write_bytes(b"converted elsewhere")
    plain = ident.identify(t, ["tflite"], [None], p, {})[0]
    with_artifact = ident.identify(t, ["tflite"], [None], p, {"tflite": Artifact(art)})[0]
    art.write_bytes(b"converted again, differently")
    other_artifact = ident.identify(t, ["tflite"], [None], p, {"tflite": Artifact(art)})[0]
    assert len({plain, with_artifact, other_artifact}) == 3


def test_records_before_the_compares_are_passed_over(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    lines = [
        "[1, 2]",  # valid JSON, not a record
        json.dumps({"status": "ok"}),  # a plain run
        json.dumps({"status": "ok", "compare": {"id": "A", "label": "onnx", "round": 0}}),
    ]
    out.write_text("\n".join(lines) + "\n")
    assert ident.ok_pairs(out) == {"A": {("onnx", 0)}}
