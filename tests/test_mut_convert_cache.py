"""The conversion cache (mutation run of bench/convert/cache.py) on tiny files in tmp_path: keys hashed by hand,
manifests as written text, lookups of complete, incomplete and foreign entries, a build's published folder, its
failure and the races with another process, and a fidelity stored later."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from bench.convert import cache as C

KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
FOLDER = "0123456789abcdef01234567"  # the key's first 24 characters


def test_key_hashes_the_schema_and_the_parts_sorted() -> None:
    blob = b'{"cache_schema": 1, "opset": 17, "source": "/m/net.onnx", "tool": "onnx2tf"}'
    key = C.make_key({"tool": "onnx2tf", "source": Path("/m/net.onnx"), "opset": 17})
    assert key == hashlib.sha256(blob).hexdigest()
    assert len(key) == 64
    assert C.CACHE_SCHEMA == 1
    assert C.make_key({}) == hashlib.sha256(b'{"cache_schema": 1}').hexdigest()


def test_root_from_the_flag_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBENCH_CACHE_DIR", str(tmp_path / "env" / "cache"))
    assert C.default_root() == tmp_path / "env" / "cache"
    assert C.root_for(None) == tmp_path / "env" / "cache"
    assert (tmp_path / "env" / "cache").is_dir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert C.root_for(Path("~/a/b")) == tmp_path / "home" / "a" / "b"
    assert (tmp_path / "home" / "a" / "b").is_dir()
    assert C.root_for(tmp_path / "home" / "a" / "b") == tmp_path / "home" / "a" / "b"  # an existing one is fine


def test_manifest_is_written_whole_and_sorted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replaced: List[Tuple[Path, Path]] = []
    real_replace = os.replace

    def record(src: str, dst: str) -> None:
        replaced.append((Path(src).parent, Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(C.os, "replace", record)
    C.write_manifest(tmp_path, {"b": Path("x/y"), "a": 1})
    # written beside the manifest, then renamed over it: the same file system, so atomic
    assert replaced == [(tmp_path, tmp_path / "manifest.json")]
    assert (tmp_path / "manifest.json").read_text(encoding="utf-8") == '{\n  "a": 1,\n  "b": "x/y"\n}\n'
    C.write_manifest(tmp_path, {"c": [1]})  # rewritten in place, no temporary file left
    assert (tmp_path / "manifest.json").read_text() == '{\n  "c": [\n    1\n  ]\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def _entry(root: Path, manifest: Dict[str, Any], files: Tuple[str, ...] = ("net.tflite",)) -> Path:
    folder = root / FOLDER
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).write_bytes(b"model")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_lookup_of_a_complete_entry(tmp_path: Path) -> None:
    folder = _entry(tmp_path, {"key": KEY, "artifact": "net.tflite", "tool": "t"})
    entry = C.lookup(tmp_path, KEY)
    assert entry is not None
    assert (entry.dir, entry.cached) == (folder, True)
    assert entry.manifest == {"key": KEY, "artifact": "net.tflite", "tool": "t"}
    assert entry.artifact == folder / "net.tflite"
    assert entry.manifest_path == folder / "manifest.json"
    entry.manifest["seen"] = 2
    entry.save()
    assert json.loads((folder / "manifest.json").read_text()) == {**entry.manifest, "seen": 2}


def test_lookup_of_a_missing_entry(tmp_path: Path) -> None:
    assert C.lookup(tmp_path, KEY) is None
    (tmp_path / FOLDER).mkdir()  # a folder without its manifest: a build that crashed
    assert C.lookup(tmp_path, KEY) is None


@pytest.mark.parametrize(
    "manifest, files, message",
    [
        ("{not json", ("net.tflite",), "has an unreadable manifest; rebuilding it"),
        ({"key": KEY[:-1] + "0", "artifact": "net.tflite"}, ("net.tflite",), "is incomplete; rebuilding it"),
        ({"key": KEY, "artifact": "net.tflite"}, (), "is incomplete; rebuilding it"),
        ({"key": KEY}, ("net.tflite",), "is incomplete; rebuilding it"),
    ],
)
def test_lookup_refuses_a_broken_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, manifest: Any, files: Tuple[str, ...], message: str
) -> None:
    folder = _entry(tmp_path, {}, files)
    (folder / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="bench.convert.cache"):
        assert C.lookup(tmp_path, KEY) is None
    assert caplog.messages == [f"cache entry {folder} {message}"]


class Producer:
    """Writes ``model`` bytes as out/net.onnx and a log beside it, remembers its folders."""

    def __init__(self, root: Path, fail: bool = False) -> None:
        self.root, self.fail = root, fail
        self.calls: List[Tuple[Path, Path]] = []

    def __call__(self, out: Path, work: Path) -> Tuple[Path, Dict[str, Any]]:
        self.calls.append((out, work))
        assert out.is_dir() and work.is_dir() and out.name == "out"
        # staged inside the cache root (the same file system: published with one rename), hidden from entries
        assert out.parent.parent == self.root and out.parent.name.startswith(".")
        (work / "converter.log").write_text("log")
        if self.fail:
            raise RuntimeError("converter crashed")
        (out / "net.onnx").write_bytes(b"model")
        (out / "extra.txt").write_text("left over")
        return out / "net.onnx", {"tool": "step", "opset": 13, "key": "not this"}


class Clock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def perf_counter(self) -> float:
        return self.times.pop(0)


def test_build_publishes_the_artifact_and_its_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C, "time", Clock(10.0, 12.34567))
    given = {"tool": "given", "source_sha256": "abc"}
    producer = Producer(tmp_path)
    entry = C.build(tmp_path, KEY, producer, given, "net-int8.onnx")
    assert (entry.dir, entry.cached) == (tmp_path / FOLDER, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [FOLDER]  # no staging folder left
    assert sorted(p.name for p in entry.dir.iterdir()) == ["manifest.json", "net-int8.onnx"]
    assert entry.artifact.read_bytes() == b"model"
    created = entry.manifest.pop("created_utc")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    assert entry.manifest == {
        "tool": "step",
        "source_sha256": "abc",
        "opset": 13,
        "key": KEY,
        "artifact": "net-int8.onnx",
        "artifact_sha256": hashlib.sha256(b"model").hexdigest(),
        "seconds": 2.346,
    }
    assert json.loads((entry.dir / "manifest.json").read_text()) == {**entry.manifest, "created_utc": created}
    assert given == {"tool": "given", "source_sha256": "abc"}  # the caller's dict is not changed
    ((_, work),) = producer.calls
    assert not work.exists()  # the work folder goes on success
    again = C.lookup(tmp_path, KEY)
    assert again is not None and again.dir == entry.dir


def test_a_failed_build_keeps_its_work_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    producer = Producer(tmp_path, fail=True)
    with caplog.at_level(logging.WARNING, logger="bench.convert.cache"):
        with pytest.raises(RuntimeError, match="converter crashed"):
            C.build(tmp_path, KEY, producer, {}, "net.onnx")
    ((_, work),) = producer.calls
    assert (work / "converter.log").read_text() == "log"
    assert list(tmp_path.iterdir()) == []  # nothing published, no staging left
    assert caplog.messages == [f"conversion failed; its work folder (copy of the model, converter log) is kept: {work}"]
    (work / "converter.log").unlink()
    work.rmdir()


def test_an_incomplete_folder_is_replaced(tmp_path: Path) -> None:
    (tmp_path / FOLDER).mkdir()
    (tmp_path / FOLDER / "half.onnx").write_bytes(b"half")
    entry = C.build(tmp_path, KEY, Producer(tmp_path), {}, "net.onnx")
    assert sorted(p.name for p in entry.dir.iterdir()) == ["manifest.json", "net.onnx"]
    assert entry.dir == tmp_path / FOLDER and not entry.cached


def test_an_entry_published_meanwhile_is_kept(tmp_path: Path) -> None:
    theirs = {"key": KEY, "artifact": "net.tflite", "by": "them"}
    folder = _entry(tmp_path, theirs)
    producer = Producer(tmp_path)
    entry = C.build(tmp_path, KEY, producer, {}, "net.onnx")
    assert (entry.dir, entry.manifest, entry.cached) == (folder, theirs, False)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "net.tflite"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [FOLDER]
    assert not producer.calls[0][1].exists()


def test_a_rename_lost_to_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = {"key": KEY, "artifact": "net.tflite", "by": "them"}

    real_rename = os.rename

    def rename_after_them(src: str, dst: str) -> None:
        if Path(dst) != tmp_path / FOLDER:  # shutil.move's rename of the artifact
            return real_rename(src, dst)
        _entry(tmp_path, theirs)
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(C.os, "rename", rename_after_them)
    producer = Producer(tmp_path)
    entry = C.build(tmp_path, KEY, producer, {}, "net.onnx")
    assert (entry.dir, entry.manifest, entry.cached) == (tmp_path / FOLDER, theirs, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [FOLDER]
    assert not producer.calls[0][1].exists()


def test_a_rename_that_fails_for_another_reason_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_rename = os.rename

    def refuse(src: str, dst: str) -> None:
        if Path(dst) != tmp_path / FOLDER:
            return real_rename(src, dst)
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(C.os, "rename", refuse)
    producer = Producer(tmp_path)
    with pytest.raises(OSError, match="Permission denied"):
        C.build(tmp_path, KEY, producer, {}, "net.onnx")
    assert list(tmp_path.iterdir()) == []
    work = producer.calls[0][1]
    assert work.is_dir()  # kept for its log
    (work / "converter.log").unlink()
    work.rmdir()


def test_a_fidelity_checked_later_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"key": KEY, "fidelity": {"old": {"status": "checked"}}}))
    C.update_fidelity(path, "k1", {"status": "checked", "max_abs_diff": 0.5})
    assert json.loads(path.read_text()) == {
        "key": KEY,
        "fidelity": {"old": {"status": "checked"}, "k1": {"status": "checked", "max_abs_diff": 0.5}},
    }
    C.update_fidelity(str(path), "k1", {"status": "unchecked"})  # the same samples again: replaced
    assert json.loads(path.read_text())["fidelity"]["k1"] == {"status": "unchecked"}
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "manifest.json").write_text("{}")
    C.update_fidelity(fresh / "manifest.json", "k", {"n": 1})
    assert json.loads((fresh / "manifest.json").read_text()) == {"fidelity": {"k": {"n": 1}}}


def test_no_samples_key_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text('{"a": 1}')
    C.update_fidelity(path, None, {"n": 1})
    C.update_fidelity(path, "", {"n": 1})
    assert path.read_text() == '{"a": 1}'


@pytest.mark.parametrize("content", [None, "{broken"])
def test_a_vanished_or_broken_manifest_only_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: Any
) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="bench.convert.cache"):
        C.update_fidelity(path, "k", {"n": 1})
    if content is None:
        reason = f"[Errno 2] No such file or directory: '{path}'"
    else:
        with pytest.raises(json.JSONDecodeError) as err:
            json.loads(content)
        reason = str(err.value)
    assert caplog.messages == [f"could not store the checked fidelity in {path}: {reason}"]
    assert path.exists() == (content is not None)
    if content is not None:
        assert path.read_text() == content
    assert os.listdir(tmp_path) == (["manifest.json"] if content else [])
