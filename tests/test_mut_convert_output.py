"""What a conversion returns and shows (mutation run of bench/convert/result.py and output.py): Converted's plain
dict, the `--convert-only` summary lines written out by hand, and `--convert-output` copies of files and folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

import pytest

from bench.convert import output as O
from bench.convert.result import Converted
from bench.errors import InputError


def test_converted_defaults_and_its_dict() -> None:
    c = Converted(Path("/c/net.tflite"), "tflite")
    assert c.to_dict() == {
        "path": "/c/net.tflite",
        "format": "tflite",
        "sha256": "",
        "source": None,
        "source_format": "",
        "precision": "fp32",
        "chain": [],
        "fidelity": {},
        "cached": False,
        "manifest": None,
    }
    c.chain.append({"tool": "x"})
    assert Converted(Path("a"), "onnx").chain == []  # each its own list
    full = Converted(
        Path("out/m.onnx"), "onnx", [{"tool": "t"}], {"status": "checked"}, True, Path("c/manifest.json"),
        Path("m.pt"), "torchscript", "int8", "ab12",
    )  # fmt: skip
    assert full.to_dict() == {
        "path": "out/m.onnx",
        "format": "onnx",
        "sha256": "ab12",
        "source": "m.pt",
        "source_format": "torchscript",
        "precision": "int8",
        "chain": [{"tool": "t"}],
        "fidelity": {"status": "checked"},
        "cached": True,
        "manifest": "c/manifest.json",
    }


def test_summary_of_no_conversion() -> None:
    assert O.summary({}, "m.onnx") == (
        "converted model: m.onnx\nfidelity: no conversion was needed (the model is already in the framework's format)"
    )
    assert O.summary({"path": "", "output": "", "chain": []}) == (
        "converted model: \nfidelity: no conversion was needed (the model is already in the framework's format)"
    )


def test_summary_of_a_checked_classifier() -> None:
    conv = {
        "path": "/c/m.tflite",
        "output": "out/m.tflite",
        "chain": [{"tool": "onnx2tf"}],
        "fidelity": {
            "precision": "int8", "samples": 1000, "inputs": "data", "max_abs_diff": 0.012345,
            "cosine_similarity": 0.99876543, "top1_agreement": 0.9875, "accuracy_change": -0.002,
            "accuracy_source": 0.98, "accuracy_converted": 0.978,
        },
    }  # fmt: skip
    assert O.summary(conv, "m.onnx").split("\n") == [
        "converted model: /c/m.tflite",
        "copied to: out/m.tflite",
        "fidelity (int8, 1000 samples, data): max abs diff 0.0123, cosine 0.998765, top-1 agreement 98.8%, "
        "accuracy 0.9800 -> 0.9780",
    ]


def test_summary_of_a_regression_and_of_sparse_figures() -> None:
    fid = {"samples": 10, "inputs": "random", "max_abs_diff": 2.0, "cosine_similarity": 1.0}
    fid.update(mse_source=0.123456, mse_converted=0.5, top1_agreement=None, accuracy_change=None)
    assert O.summary({"path": "p", "chain": [1], "fidelity": fid}).split("\n")[1] == (
        "fidelity (, 10 samples, random): max abs diff 2, cosine 1.000000, MSE 0.1235 -> 0.5"
    )
    assert O.summary({"path": "p", "chain": [1], "fidelity": {"status": "checked"}}).split("\n")[1] == (
        "fidelity (, None samples, None): max abs diff 0, cosine 0.000000"
    )
    assert O.summary({"path": "p", "chain": [1], "fidelity": None}) == "converted model: p"
    assert O.summary({"path": "p", "chain": [1]}) == "converted model: p"


def test_summary_of_an_unchecked_conversion() -> None:
    fid = {"status": "unchecked", "reason": "no Coral here", "reference": "/c/ref.npz", "max_abs_diff": 1.0}
    assert O.summary({"path": "p", "chain": [1], "fidelity": fid}).split("\n") == [
        "converted model: p",
        "fidelity: unchecked: no Coral here",
        "fidelity reference (for the device): /c/ref.npz",
    ]
    fid = {"status": "unchecked", "reason": "the source cannot run", "reference": None}
    assert O.summary({"path": "p", "chain": [1], "fidelity": fid}).split("\n") == [
        "converted model: p",
        "fidelity: unchecked: the source cannot run",
    ]


def test_copy_a_file_to_a_path_or_into_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    art = tmp_path / "cache" / "net.tflite"
    art.parent.mkdir()
    art.write_bytes(b"model")
    renamed: List[Tuple[Path, Path]] = []
    real_rename = os.rename

    def record(src: str, dst: str) -> None:
        renamed.append((Path(src).parent.parent, Path(dst)))
        real_rename(src, dst)

    monkeypatch.setattr(O.os, "rename", record)
    dest = O.copy(art, tmp_path / "out" / "deep" / "m.tflite")
    assert dest == tmp_path / "out" / "deep" / "m.tflite" and dest.read_bytes() == b"model"
    # staged in a folder beside the destination: one rename on one file system
    assert renamed == [(tmp_path / "out" / "deep", dest)]
    assert os.listdir(dest.parent) == ["m.tflite"]  # no staging folder left
    assert O.copy(str(art), str(tmp_path / "out")) == tmp_path / "out" / "net.tflite"
    assert sorted(os.listdir(tmp_path / "out")) == ["deep", "net.tflite"]
    assert O.copy(art, tmp_path / "out") == tmp_path / "out" / "net.tflite"  # the same file again: fine
    assert art.read_bytes() == b"model"  # copied, not moved


def test_a_different_file_is_never_replaced(tmp_path: Path) -> None:
    art = tmp_path / "net.tflite"
    art.write_bytes(b"model")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "net.tflite").write_bytes(b"other")
    with pytest.raises(InputError) as err:
        O.copy(art, tmp_path / "out")
    assert err.value.problem == f"--convert-output {tmp_path / 'out' / 'net.tflite'} already exists"
    assert err.value.fix == "choose a new path or remove the old file"
    assert (tmp_path / "out" / "net.tflite").read_bytes() == b"other"
    (tmp_path / "out" / "net.tflite").unlink()
    (tmp_path / "out" / "net.tflite").mkdir()  # a folder of that name is not the copy of a file
    with pytest.raises(InputError):
        O.copy(art, tmp_path / "out")
    assert O.copy(art, tmp_path / "out" / "net.tflite") == tmp_path / "out" / "net.tflite" / "net.tflite"


def _savedmodel(root: Path) -> Path:
    sm = root / "saved_model"
    (sm / "variables").mkdir(parents=True)
    (sm / "saved_model.pb").write_bytes(b"graph")
    (sm / "variables" / "v.index").write_bytes(b"w")
    return sm


def test_copy_a_savedmodel_folder(tmp_path: Path) -> None:
    sm = _savedmodel(tmp_path / "cache")
    dest = O.copy(sm, tmp_path / "out" / "model")
    assert dest == tmp_path / "out" / "model"
    assert (dest / "saved_model.pb").read_bytes() == b"graph" and (dest / "variables" / "v.index").read_bytes() == b"w"
    assert os.listdir(tmp_path / "out") == ["model"]
    (tmp_path / "into").mkdir()
    assert O.copy(sm, tmp_path / "into") == tmp_path / "into" / "saved_model"
    assert (tmp_path / "into" / "saved_model" / "saved_model.pb").is_file()
    with pytest.raises(InputError):  # a folder is not compared: never replaced
        O.copy(sm, tmp_path / "into")
    (tmp_path / "empty" / "saved_model").mkdir(parents=True)  # an existing folder of its own name is its place
    with pytest.raises(InputError) as err:
        O.copy(sm, tmp_path / "empty" / "saved_model")
    assert err.value.problem == f"--convert-output {tmp_path / 'empty' / 'saved_model'} already exists"
