"""Units of the bench core, each checked against an independent reference (numpy, scikit-learn, hand math)."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bench import data, formats, machine, metrics, records, stats
from bench.config import Timing
from bench.errors import BenchError, DataError, ModelFormatError
from bench.runtimes.base import Runtime, RuntimeOptions, TensorSpec

from .conftest import require

# ---------- statistics ----------


def test_stats_equal_hand_computed_values() -> None:
    samples_ns = [1_000_000, 2_000_000, 3_000_000, 4_000_000, 10_000_000]  # 1,2,3,4,10 ms
    s = stats.summarize_ns(samples_ns)
    assert s["count"] == 5
    assert s["mean_ms"] == pytest.approx(4.0)
    assert s["std_ms"] == pytest.approx(((9 + 4 + 1 + 0 + 36) / 4) ** 0.5)  # sample std, n-1
    assert (s["min_ms"], s["max_ms"], s["p50_ms"]) == (1.0, 10.0, 3.0)
    assert s["p90_ms"] == pytest.approx(4 + 0.6 * 6)  # rank 3.6 between 4 and 10
    assert s["throughput_per_s"] == pytest.approx(250.0)
    assert s["cv"] == pytest.approx(s["std_ms"] / 4.0)


def test_stats_match_numpy_and_statistics_on_random_samples() -> None:
    rng = np.random.default_rng(0)
    ns = rng.integers(10_000, 5_000_000, size=1001).tolist()
    s = stats.summarize_ns(ns)
    ms = np.array(ns) / 1e6
    for q in (50, 90, 95, 99):
        assert s[f"p{q}_ms"] == pytest.approx(np.percentile(ms, q), rel=1e-12)
    assert s["std_ms"] == pytest.approx(statistics.stdev(ms.tolist()))
    assert s["mean_ms"] == pytest.approx(ms.mean())


def test_stats_single_sample_and_empty() -> None:
    assert stats.summarize_ns([5_000_000])["std_ms"] == 0.0
    with pytest.raises(ValueError, match=r"^no latency samples$"):
        stats.summarize_ns([])


def test_percentile_between_ranks_and_at_the_ends_matches_numpy() -> None:
    for values in ([1.0, 2.0, 10.0], [3.0, 7.0], [5.0], [1.0, 4.0, 4.5, 9.0, 30.0, 31.0]):
        for q in (0, 1, 12.5, 25, 33.3, 50, 66.6, 75, 90, 99, 100):
            assert stats.percentile(values, q) == pytest.approx(np.percentile(values, q), rel=1e-12), (values, q)
    assert stats.percentile([1.0, 2.0, 10.0], 75) == 6.0  # rank 1.5: halfway between 2 and 10
    with pytest.raises(ValueError, match=r"^percentile of no values$"):
        stats.percentile([], 50)
    for q in (-0.001, 100.001, 101):
        with pytest.raises(ValueError, match=rf"^percentile {q} outside 0\.\.100$"):
            stats.percentile([1.0], q)


def test_stats_two_samples_and_sub_millisecond_and_zero_means() -> None:
    two = stats.summarize_ns([1_000_000, 3_000_000])
    assert two["std_ms"] == pytest.approx(2**0.5) and two["cv"] == pytest.approx(2**0.5 / 2)
    small = stats.summarize_ns([400_000, 600_000])  # mean 0.5 ms
    assert small["throughput_per_s"] == pytest.approx(2000.0) and small["cv"] == pytest.approx(0.1 * 2**0.5 / 0.5)
    zero = stats.summarize_ns([0, 0])
    assert zero["throughput_per_s"] == float("inf") and zero["cv"] == 0.0 and zero["std_ms"] == 0.0
    assert stats.HIGH_CV == 0.10


# ---------- metrics against scikit-learn ----------


def test_classification_metrics_equal_sklearn() -> None:
    sk = require("sklearn.metrics")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, size=300)
    logits = rng.normal(size=(300, 10))
    logits[np.arange(300), y] += rng.uniform(0, 3, size=300)  # mostly right, not always
    pred = logits.argmax(1)
    m = metrics.classification(y, logits)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(sk.precision_score(y, pred, average="macro", zero_division=0))
    assert m["recall"] == pytest.approx(sk.recall_score(y, pred, average="macro", zero_division=0))
    assert m["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro", zero_division=0))
    assert m["top5_accuracy"] == pytest.approx(sk.top_k_accuracy_score(y, logits, k=5, labels=np.arange(10)))
    assert m["confusion_matrix"] == sk.confusion_matrix(y, pred, labels=np.arange(10)).tolist()


def test_classification_one_hot_labels_and_missing_classes_match_sklearn() -> None:
    sk = require("sklearn.metrics")
    y = np.array([0, 1, 1, 2, 2, 2])
    logits = np.eye(4)[[0, 1, 3, 2, 2, 1]]  # predicts class 3, which never occurs in y
    one_hot = np.eye(4)[y]
    m = metrics.classification(one_hot, logits[:, None, :])  # outputs with an extra axis are reshaped
    pred = logits.argmax(1)
    assert m["precision"] == pytest.approx(sk.precision_score(y, pred, average="macro", zero_division=0))
    assert m["f1"] == pytest.approx(sk.f1_score(y, pred, average="macro", zero_division=0))
    assert m["recall"] == pytest.approx(sk.recall_score(y, pred, average="macro", zero_division=0))  # 3: 0/0 -> 0
    assert "top5_accuracy" not in m  # only 4 classes


def test_regression_metrics_equal_sklearn_and_shapes_do_not_broadcast() -> None:
    sk = require("sklearn.metrics")
    rng = np.random.default_rng(2)
    y = rng.normal(100, 30, size=200)
    pred = y + rng.normal(0, 5, size=200)
    m = metrics.regression(y, pred.reshape(200, 1, 1))  # (N,) targets vs (N,1,1) outputs
    assert m["mse"] == pytest.approx(sk.mean_squared_error(y, pred))
    assert m["mae"] == pytest.approx(sk.mean_absolute_error(y, pred))
    assert m["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, pred)))
    assert m["r2"] == pytest.approx(sk.r2_score(y, pred))
    assert m["mape_pct"] == pytest.approx(100 * sk.mean_absolute_percentage_error(y, pred))
    perfect = metrics.regression(y, y.reshape(200, 1, 1))
    assert perfect["mse"] == 0.0 and perfect["r2"] == 1.0  # the original tool reported MSE 4.0 here


def test_mape_excludes_and_counts_zero_targets() -> None:
    sk = require("sklearn.metrics")
    y = np.array([0.0, 2.0, 4.0, 0.0, 5.0])
    pred = np.array([1.0, 2.5, 3.0, -1.0, 5.0])
    m = metrics.regression(y, pred)
    mask = y != 0
    assert m["mape_excluded_zero_targets"] == 2
    assert m["mape_pct"] == pytest.approx(100 * sk.mean_absolute_percentage_error(y[mask], pred[mask]))
    assert np.isfinite(m["mape_pct"])
    assert metrics.regression(np.zeros(3), np.ones(3))["mape_pct"] is None


def test_bad_labels_are_clear_errors() -> None:
    with pytest.raises(DataError, match="labels span"):
        metrics.classification(np.array([0, 11]), np.zeros((2, 10)))
    with pytest.raises(DataError, match="values per sample"):
        metrics.regression(np.zeros((4, 2)), np.zeros((4, 3)))


# ---------- quantization and data adaptation ----------


def test_quantize_rounds_and_clips_instead_of_wrapping() -> None:
    # uint8-style image scaling on an int8 tensor: 1.0 must be 127, not wrap to -128
    q = data.quantize(np.array([0.0, 0.6, 1.0, 2.0, -3.0]), scale=1 / 255, zero_point=-128, dtype="int8")
    assert q.tolist() == [-128, 25, 127, 127, -128]  # 0.6*255=153 -> 153-128=25
    assert data.quantize(np.array([-0.25, 0.25]), 0.5, 0, "int8").tolist() == [-1, 1]  # half away from zero
    assert data.quantize(np.array([300.0]), 1.0, 0, "uint8").tolist() == [255]


def test_dequantize_inverts_quantize_within_half_a_step() -> None:
    spec = TensorSpec("y", (1, 4), "int8", scale=0.05, zero_point=3)
    x = np.array([-1.0, 0.0, 0.77, 2.0], dtype=np.float32)
    back = data.dequantize(data.quantize(x, 0.05, 3, "int8"), spec)
    assert np.allclose(back, x, atol=0.025 + 1e-6)


def test_adapt_quantizes_float_data_per_sample_for_int8_models() -> None:
    spec = TensorSpec("in", (1, 2, 2, 1), "int8", scale=1 / 255, zero_point=-128)
    x = np.ones((3, 2, 2, 1), dtype=np.float64)
    a = data.adapt(x, spec)
    assert a.quantize and a.sample(0).dtype == np.int8 and a.sample(0).shape == (1, 2, 2, 1)
    assert (a.sample(2) == 127).all()


def test_adapt_transposes_nchw_data_for_nhwc_model_and_drops_batch_axis() -> None:
    spec = TensorSpec("in", (1, 32, 32, 3), "float32")
    x = np.arange(2 * 3 * 32 * 32, dtype=np.float64).reshape(2, 3, 32, 32)
    a = data.adapt(x, spec)
    assert a.transposed == (0, 2, 3, 1) and a.x.dtype == np.float32
    assert np.array_equal(a.x[1, 5, 7, :], x[1, :, 5, 7])
    b = data.adapt(x[:, None], TensorSpec("in", (1, 3, 32, 32), "float32"))
    assert b.x.shape == (2, 3, 32, 32)


def test_adapt_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(DataError, match=r"\[64\].*\[1, 1, 8, 8\]"):
        data.adapt(np.zeros((5, 64), np.float32), TensorSpec("input", (1, 1, 8, 8), "float32"))


def test_adapt_integer_input_checks_range_and_fractions() -> None:
    spec = TensorSpec("ids", (1, 4), "int8")
    with pytest.raises(DataError, match="outside int8"):
        data.adapt(np.full((2, 4), 300), spec)
    with pytest.raises(DataError, match="fractional"):
        data.adapt(np.full((2, 4), 0.5), spec)
    assert data.adapt(np.full((2, 4), 3.0), spec).x.dtype == np.int8


def _npz(tmp_path: Path, name: str = "d.npz", **arrays: np.ndarray) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_load_npz_by_name_and_legacy_two_arrays(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds = data.load_npz(_npz(tmp_path, x_data=np.zeros((3, 2)), y_data=np.arange(3)))
    assert ds.x.shape == (3, 2) and ds.keys == ["x_data", "y_data"] and len(ds.sha256) == 64
    legacy = data.load_npz(_npz(tmp_path, "l.npz", inputs=np.zeros((4, 2)), targets=np.arange(4)))
    assert legacy.x.shape == (4, 2) and "in order" in caplog.text


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"x_data": np.zeros((3, 2)), "y_data": np.arange(4)}, "3 samples but y_data has 4"),
        ({"x_data": np.zeros((0, 2)), "y_data": np.zeros(0)}, "empty"),
        ({"x_data": np.array([["a", "b"]]), "y_data": np.arange(1)}, "not a real number"),
        ({"a": np.zeros(2), "b": np.zeros(2), "c": np.zeros(2)}, "not x_data and y_data"),
        ({"x_data": np.zeros((2, 2))}, "no y_data"),
    ],
)
def test_load_npz_bad_inputs(tmp_path: Path, arrays: dict, match: str) -> None:
    with pytest.raises(DataError, match=match) as err:
        data.load_npz(_npz(tmp_path, **arrays))
    assert "Fix:" in str(err.value) and "\n" not in str(err.value)


def test_load_npz_refuses_pickles_and_non_npz(tmp_path: Path) -> None:
    pickled = tmp_path / "p.npz"
    np.savez(pickled, x_data=np.array([{"a": 1}], dtype=object), y_data=np.arange(1))
    with pytest.raises(DataError, match="pickled"):
        data.load_npz(pickled)
    text = tmp_path / "t.npz"
    text.write_text("hello")
    with pytest.raises(DataError, match="not an .npz"):
        data.load_npz(text)
    with pytest.raises(DataError, match="not found"):
        data.load_npz(tmp_path / "missing.npz")


# ---------- format detection ----------


def test_formats_detected_from_content_not_name(tmp_path: Path) -> None:
    tfl = tmp_path / "model.bin"
    tfl.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64)
    assert formats.detect(tfl) == formats.TFLITE
    tpu = tmp_path / "plain_name.tflite"
    tpu.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64 + formats.EDGETPU_OP + b"\x00" * 8)
    assert formats.detect(tpu) == formats.EDGETPU_TFLITE
    h5 = tmp_path / "m.weird"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 16)
    assert formats.detect(h5) == formats.KERAS
    sm = tmp_path / "saved"
    sm.mkdir()
    (sm / "saved_model.pb").write_bytes(b"x")
    assert formats.detect(sm) == formats.SAVEDMODEL
    ts = tmp_path / "script.bin"
    with zipfile.ZipFile(ts, "w") as z:
        z.writestr("archive/code/__torch__.py", "x")
        z.writestr("archive/constants.pkl", "x")
    assert formats.detect(ts) == formats.TORCHSCRIPT
    sd = tmp_path / "weights.bin"
    with zipfile.ZipFile(sd, "w") as z:
        z.writestr("archive/data.pkl", "x")
    assert formats.detect(sd) == formats.TORCH_STATE_DICT


def test_real_model_files_detected(digits_onnx: Path, digits_state_dict: tuple, digits_torchscript: Path) -> None:
    renamed = digits_onnx.with_suffix(".model")
    renamed.write_bytes(digits_onnx.read_bytes())
    assert formats.detect(renamed) == formats.ONNX
    assert formats.detect(digits_state_dict[0]) == formats.TORCH_STATE_DICT
    assert formats.detect(digits_torchscript) == formats.TORCHSCRIPT


def test_unknown_corrupt_and_missing_models(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a model at all, just text")
    with pytest.raises(ModelFormatError, match="no known format"):
        formats.detect(junk)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelFormatError, match="empty"):
        formats.detect(empty)
    with pytest.raises(ModelFormatError, match="not found"):
        formats.detect(tmp_path / "nope.onnx")


# ---------- records ----------


def test_record_to_dict_is_dataclasses_asdict() -> None:
    """The fast copy of a record equals the standard library's ``asdict`` (the reference), nested sections,
    raw latencies, tuples and lists of dicts included, and shares no list with the record."""
    import dataclasses

    rec = records.RunRecord(
        created_utc="2026-01-01T00:00:00Z", tool={"name": "edgebench"}, framework="onnx", runtime={"v": (1, 2)},
        options={"tags": ["a", {"b": [1, 2.5, None]}]}, machine={"cpu": {"cores": 2}},
        model=records.ModelInfo(path="m.onnx", sha256="x", size_mb=1.0, format="onnx"),
        latency=records.Latency(invoke={"p50_ms": 1.0}, e2e={}, load_ms=1.0, first_inference_ms=1.0, warmup_runs=1,
                                warmup_s=0.5, measured_s=1.0, high_variance=False, raw_invoke_ns=list(range(5000)),
                                raw_e2e_ns=[1, 2]),
    )  # fmt: skip
    plain = rec.to_dict()
    assert plain == dataclasses.asdict(rec)
    assert plain["latency"]["raw_invoke_ns"] is not rec.latency.raw_invoke_ns
    assert plain["options"]["tags"][1] is not rec.options["tags"][1]


def test_append_never_rewrites_and_recovers_from_a_torn_line(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    records.append_jsonl(out, {"n": 1})
    first = out.read_bytes()
    with open(out, "ab") as f:
        f.write(b'{"n": 2, "torn')  # a writer that died mid-line
    records.append_jsonl(out, {"n": 3})
    raw = out.read_bytes()
    assert raw.startswith(first) and b'{"n": 2, "torn' in raw and raw.endswith(b"\n")
    assert [r["n"] for r in records.read_jsonl(out)] == [1, 3]


def _full_record() -> records.RunRecord:
    """A record with a non-default value in every field, so a field dropped on the way out is noticed."""
    return records.RunRecord(
        created_utc="2026-11-25T12:00:00Z",
        tool={"name": "edgebench", "version": "0.1.0", "git_commit": "abc"},
        framework="onnx",
        runtime={"name": "onnx", "versions": {"onnxruntime": "1.32.0"}},
        options={"threads": 2},
        machine={"board": {"id": "rpi5"}},
        model=records.ModelInfo("m.onnx", "a" * 64, 1.5, "onnx", [{"name": "in"}], [{"name": "out"}]),
        data=records.DataInfo("d.npz", "b" * 64, 3, [3, 4], "float32", [3], ["x_data", "y_data"], ["transposed"]),
        latency=records.Latency(
            invoke={"p50_ms": 1.0},
            e2e={"p50_ms": 2.0},
            load_ms=3.0,
            first_inference_ms=4.0,
            warmup_runs=5,
            warmup_s=6.0,
            measured_s=7.0,
            high_variance=True,
            raw_invoke_ns=[1, 2],
            raw_e2e_ns=[3, 4],
            import_ms=8.0,
        ),
        quality={"accuracy": 0.5},
        conversion={"format": "tflite"},
        warnings=["w"],
        status="error",
        error="boom",
        compare={"id": "c"},
        fleet={"board": "pi-1"},
        energy={"watts": 1.0},
        compute={"gops": 2.0},
        sustained={"windows": 3},
        profile={"ops": 4},
    )


def test_record_dataclass_round_trips_with_schema_version(tmp_path: Path) -> None:
    rec = _full_record()
    names = {f.name for f in dataclasses.fields(records.RunRecord)}
    for f in dataclasses.fields(records.RunRecord):  # every field differs from its default
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert getattr(rec, f.name) != default or f.name == "schema_version", f.name
    out = tmp_path / "r.jsonl"
    records.append_jsonl(out, rec)
    loaded = next(records.read_jsonl(out))
    assert set(loaded) == names, "to_dict must keep every field"
    assert loaded["schema_version"] == records.SCHEMA_VERSION == 3
    assert records.RunRecord.from_dict(loaded) == rec, "typed read-back equals the record written"
    assert loaded["latency"]["raw_e2e_ns"] == [3, 4] and loaded["model"]["outputs"] == [{"name": "out"}]
    (line,) = out.read_text().splitlines()
    assert line == json.dumps(dataclasses.asdict(rec), sort_keys=True, separators=(",", ":"))


def test_v1_records_are_upgraded_on_read_and_the_file_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    v1 = {"schema_version": 1, "framework": "onnx", "created_utc": "t", "tool": {}, "runtime": {}, "options": {}}
    v1.update(machine={}, compare={"kept": True})
    newer = {"schema_version": 99, "framework": "x"}
    out.write_text(json.dumps(v1) + "\n" + json.dumps({"framework": "no version"}) + "\n" + json.dumps(newer) + "\n")
    before = out.read_bytes()
    up, unversioned, future = records.read_records(out)
    assert out.read_bytes() == before, "reading never rewrites the file"
    assert up["schema_version"] == 3 and up["compare"] == {"kept": True}
    for key in ("fleet", "energy", "compute", "sustained", "profile"):
        assert up[key] == {} and unversioned[key] == {}, key
    assert unversioned["schema_version"] == 3
    assert future == newer, "a newer schema is returned as it is"
    up["fleet"]["x"] = 1
    assert records.upgrade(v1)["fleet"] == {}, "each upgraded record gets its own empty section"
    assert v1["schema_version"] == 1 and "fleet" not in v1, "upgrade works on a copy"
    typed = records.RunRecord.from_dict(
        {
            **v1,
            "model": {"path": "m", "sha256": "s", "size_mb": 1, "format": "onnx", "unknown_key": 1},
            "not_a_field": 2,
        }
    )
    assert typed.model == records.ModelInfo("m", "s", 1, "onnx") and typed.schema_version == 3


def test_read_jsonl_missing_file_and_blank_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(BenchError, match="not found") as err:
        list(records.read_jsonl(tmp_path / "none.jsonl"))
    assert err.value.exit_code == 2 and "bench run" in err.value.fix
    out = tmp_path / "r.jsonl"
    out.write_text('\n{"a": 1}\n   \n{"b": \n{"c": 3}\n')
    with caplog.at_level("WARNING"):
        assert list(records.read_jsonl(out)) == [{"a": 1}, {"c": 3}]
    assert "r.jsonl:4" in caplog.text


def test_append_creates_folders_and_writes_one_sorted_line(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "r.jsonl"
    records.append_jsonl(out, {"b": 1, "a": float("nan") if False else 2.5, "p": Path("x")})
    assert out.read_text() == '{"a":2.5,"b":1,"p":"x"}\n'
    assert oct(out.stat().st_mode & 0o777) == oct(0o644 & ~_umask())
    with pytest.raises(ValueError):
        records.append_jsonl(out, {"nan": float("nan")})  # not valid JSON: refused, nothing written
    assert out.read_text() == '{"a":2.5,"b":1,"p":"x"}\n'


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_append_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="is a directory"):
        records.append_jsonl(tmp_path, {"n": 1})


# ---------- machine state from a fake sysfs ----------


def _fake_root(tmp_path: Path, model: str, throttled: str = "0x0", temp: int = 45000) -> Path:
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_bytes(model.encode() + b"\x00")
    (tmp_path / "proc/cpuinfo").write_text("processor: 0\nModel\t\t: " + model + "\n")
    zone = tmp_path / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text(str(temp))
    (zone / "type").write_text("cpu-thermal")
    (zone / "trip_point_0_type").write_text("passive")
    (zone / "trip_point_0_temp").write_text("80000")
    fw = tmp_path / "sys/devices/platform/soc/soc:firmware"
    fw.mkdir(parents=True)
    (fw / "get_throttled").write_text(throttled)
    gov = tmp_path / "sys/devices/system/cpu/cpu0/cpufreq"
    gov.mkdir(parents=True)
    (gov / "scaling_governor").write_text("ondemand")
    return tmp_path


@pytest.mark.parametrize(
    "model, board_id",
    [
        ("Raspberry Pi 4 Model B Rev 1.4", "rpi4"),
        ("Raspberry Pi 5 Model B Rev 1.0", "rpi5"),
        ("NVIDIA Jetson Nano Developer Kit", "jetson-nano"),
        ("Some Other Board", "generic"),
    ],
)
def test_board_detection(tmp_path: Path, model: str, board_id: str) -> None:
    root = _fake_root(tmp_path, model)
    assert machine.board(root)["id"] == board_id
    assert machine.cpu(root)["governor"] == "ondemand"


def test_sampler_marks_a_run_that_throttled(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, "Raspberry Pi 4 Model B", throttled="0x0")
    fw = root / "sys/devices/platform/soc/soc:firmware/get_throttled"
    with machine.Sampler(interval_s=0.01, root=root) as s:
        fw.write_text("0x40004")  # firmware reports throttling mid-run
        (root / "sys/class/thermal/thermal_zone0/temp").write_text("81000")
        for _ in range(200):
            if s.reads >= 3:
                break
            os.sched_yield()
            import time

            time.sleep(0.01)
    summary = s.summary()
    assert summary["throttled"] and summary["max_temp_c"] == 81.0
    assert any("throttled" in r for r in summary["throttle_reasons"])
    assert any("passive trip" in r for r in summary["throttle_reasons"])


def _wait_for_reads(s: machine.Sampler, n: int = 3) -> None:
    import time

    deadline = time.monotonic() + 10
    while s.reads < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert s.reads >= n, "the sampler never read the sensors"


def test_sampler_quiet_run_is_not_throttled(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, "Raspberry Pi 5", throttled="0x50000", temp=79999)  # sticky bits from before the run
    with machine.Sampler(interval_s=0.01, root=root) as s:
        _wait_for_reads(s)  # samples really taken, at 0.001 C below the passive trip point
    summary = s.summary()
    assert summary["samples"] >= 3 and summary["max_temp_c"] == pytest.approx(79.999)
    assert summary["throttled"] is False and summary["throttle_reasons"] == []


# ---------- the harness against a fake runtime and a fake clock ----------


class FakeClock:
    """perf_counter_ns that only moves when the fake runtime works: every timing is exact."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


class FakeRuntime(Runtime):
    """prepare costs 10 ns, invoke 100 ns, fetch 1000 ns; the output is 2 * input (+ raw int8 when quantized)."""

    name = "fake"

    def __init__(self, clock: FakeClock, in_spec: TensorSpec, out_spec: TensorSpec) -> None:
        self.clock, self.input, self.output = clock, in_spec, out_spec
        self.prepared: list = []
        self.loaded: list = []

    def setup(self) -> None:
        self.clock.now += 5

    def load(self, model_path: Path, options: RuntimeOptions) -> None:
        self.clock.now += 7
        self.loaded.append((model_path, options))

    def prepare(self, x: np.ndarray) -> None:
        self.clock.now += 10
        self.prepared.append(x)
        self.x = x

    def invoke(self) -> None:
        self.clock.now += 100
        self.y = 2 * self.x.astype(np.float32)

    def fetch(self) -> np.ndarray:
        self.clock.now += 1000
        if self.output.quantized:
            return self.y.astype(self.output.dtype)
        return self.y

    def versions(self) -> dict:
        return {}


F32 = TensorSpec("x", (1, 2), "float32")
E2E = 10 + 100 + 1000


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    from bench import harness

    c = FakeClock()
    monkeypatch.setattr(harness.time, "perf_counter_ns", c)
    return c


def _measure(clock: FakeClock, timing: Timing, x: np.ndarray, out: TensorSpec = F32, inp: TensorSpec = F32) -> tuple:
    from bench import harness

    rt = FakeRuntime(clock, inp, out)
    return rt, harness.measure(rt, data.adapt(x, rt.input), timing)


def test_harness_times_invoke_alone_and_the_whole_step(clock: FakeClock) -> None:
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    rt, m = _measure(clock, Timing(warmup_runs=2, warmup_min_s=0, min_runs=7, min_time_s=0, max_time_s=60), x)
    assert m.invoke_ns == [100] * 7 and m.e2e_ns == [E2E] * 7
    assert m.first_inference_ns == E2E and m.warmup_runs == 2 and m.warmup_ns == 2 * E2E
    assert m.measured_ns == 7 * E2E
    # first inference on sample 0, warm-up cycles from 0, then every sample once in order, then cycling for latency
    order = [int(p[0, 1]) // 2 for p in rt.prepared]
    assert order == [0, 0, 1, 0, 1, 2, 0, 1, 2, 0]
    assert all(p.shape == (1, 2) and p.dtype == np.float32 for p in rt.prepared)
    assert np.shares_memory(rt.prepared[-1], rt.prepared[3]), "unquantized inputs are views, no copy per step"
    np.testing.assert_array_equal(m.outputs, 2 * x)  # one output per sample, in order, batch dimension dropped
    assert m.outputs.shape == (3, 2) and m.load_ns == 0


def test_harness_warm_up_and_measurement_by_time(clock: FakeClock) -> None:
    x = np.ones((3, 2), np.float32)
    _, m = _measure(clock, Timing(warmup_runs=0, warmup_min_s=2500e-9, min_runs=1, min_time_s=5000e-9), x)
    assert m.warmup_runs == 3 and m.warmup_ns == 3 * E2E  # 2220 < 2500 <= 3330
    assert len(m.invoke_ns) == 5 and m.measured_ns == 5 * E2E  # 4440 < 5000 <= 5550
    _, exact = _measure(
        clock, Timing(warmup_runs=0, warmup_min_s=2 * E2E / 1e9, min_runs=1, min_time_s=4 * E2E / 1e9), x
    )
    assert exact.warmup_runs == 2 and len(exact.invoke_ns) == 4, "a limit reached exactly ends the phase"
    _, none = _measure(clock, Timing(warmup_runs=0, warmup_min_s=0, min_runs=1, min_time_s=0), x)
    assert none.warmup_runs == 0 and len(none.invoke_ns) == 3, "quality still sees every sample"


def test_harness_cap_stops_warm_up_and_latency_runs_but_never_quality(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    x = np.ones((3, 2), np.float32)
    with caplog.at_level("WARNING"):
        _, m = _measure(clock, Timing(warmup_runs=10**9, warmup_min_s=0, min_runs=10**9, max_time_s=2000e-9), x)
    assert m.warmup_runs == 2 and m.warmup_ns == 2 * E2E  # 1110 < 2000 <= 2220
    assert len(m.invoke_ns) == 3 and m.outputs.shape == (3, 2), "every sample once, cap or not"
    assert "warm-up stopped by --max-time-s after 2 runs" in caplog.text
    assert "measurement stopped by --max-time-s after 3 runs" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        _, m = _measure(clock, Timing(warmup_runs=1, warmup_min_s=0, min_runs=10**9, max_time_s=4 * E2E / 1e9), x)
    assert m.warmup_runs == 1 and len(m.invoke_ns) == 4 and m.measured_ns == 4 * E2E
    assert "measurement stopped by --max-time-s after 4 runs" in caplog.text and "warm-up stopped" not in caplog.text


def test_harness_quantizes_inputs_and_dequantizes_outputs_inside_the_step(clock: FakeClock) -> None:
    inp = TensorSpec("x", (1, 2), "int8", scale=0.5, zero_point=-1)
    out = TensorSpec("y", (1, 2), "int8", scale=0.25, zero_point=3)
    x = np.array([[1.0, -1.0], [2.0, 0.0]], np.float32)
    rt, m = _measure(clock, Timing(warmup_runs=0, warmup_min_s=0, min_runs=1, min_time_s=0), x, out=out, inp=inp)
    q = data.quantize(x, 0.5, -1, "int8")
    np.testing.assert_array_equal(rt.prepared[1][0], q[0])
    assert rt.prepared[1].dtype == np.int8 and rt.prepared[1].shape == (1, 2)
    raw = (2 * q.astype(np.float32)).astype(np.int8)
    np.testing.assert_allclose(m.outputs, (raw.astype(np.float32) - 3) * 0.25)
    assert m.outputs.dtype == np.float32


def test_harness_timed_setup_load_and_phases(clock: FakeClock) -> None:
    from bench import harness

    rt = FakeRuntime(clock, F32, F32)
    assert harness.timed_setup(rt) == 5
    opts = RuntimeOptions(threads=3)
    assert harness.timed_load(rt, Path("m.onnx"), opts) == 7 and rt.loaded == [(Path("m.onnx"), opts)]
    phases: list = []
    with harness.listening(phases.append):
        harness.measure(rt, data.adapt(np.ones((2, 2)), F32), Timing(0, 0, 1, 0, 60))
    assert phases == ["warm-up", "measure"] and phases.append not in harness.listeners()


# ---------- metrics: every branch, exact keys and messages ----------


def test_compute_dispatches_and_refuses_an_unknown_model_type() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, size=40)
    logits = rng.normal(size=(40, 3))
    assert metrics.compute("classification", y, logits, True) == metrics.classification(y, logits, True)
    assert metrics.compute("classification", y, logits)["softmax_applied"] is False
    target = rng.normal(size=40)
    assert metrics.compute("regression", target, target[:, None] + 1) == metrics.regression(target, target + 1)
    with pytest.raises(DataError) as err:
        metrics.compute("ranking", y, logits)
    assert str(err.value) == "unknown model type 'ranking'. Fix: use --model-type classification or regression"


def test_classification_record_keys_and_values_exactly() -> None:
    y = np.array([0, 1, 2, 2])
    logits = np.eye(3)[[0, 1, 2, 1]]
    m = metrics.classification(y, logits)
    assert m == {
        "task": "classification",
        "samples": 4,
        "classes": 3,
        "accuracy": 0.75,
        "precision": pytest.approx((1 + 0.5 + 1) / 3),
        "recall": pytest.approx((1 + 1 + 0.5) / 3),
        "f1": pytest.approx((1 + 2 / 3 + 2 / 3) / 3),
        "averaging": "macro over labels present in targets or predictions; 0 where undefined",
        "softmax_applied": False,
        "confusion_matrix": [[1, 0, 0], [0, 1, 0], [0, 1, 1]],
    }
    assert all(type(v) is int for row in m["confusion_matrix"] for v in row)


def test_softmax_is_stable_and_normalizes_rows() -> None:
    z = np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]])
    s = metrics.softmax(z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(s, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(s.sum(axis=1), [1.0, 1.0])
    assert np.isfinite(s).all()
    y = np.array([1, 2])
    with_softmax = metrics.classification(y, z, use_softmax=True)
    assert with_softmax["softmax_applied"] is True and with_softmax["accuracy"] == 1.0


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([0.0, 0.5, 0.51, 1.0], [0, 0, 1, 1]),  # probabilities: threshold 0.5, exactly 0.5 is class 0
        ([0.2, 0.7, 0.0, 0.9], [0, 1, 0, 1]),  # min exactly 0: still probabilities
        ([0.1, 0.6, 0.4, 1.0], [0, 1, 0, 1]),  # max exactly 1: still probabilities
        ([-0.5, 0.0, 0.3, 1.2], [0, 0, 1, 1]),  # logits (outside 0..1): threshold 0, exactly 0 is class 0
        ([0.2, 0.4, 1.5, 1.9], [1, 1, 1, 1]),  # above 1: logits, every one positive
    ],
)
def test_single_output_binary_threshold(scores: list, expected: list) -> None:
    sk = require("sklearn.metrics")
    y = np.array([0, 1, 0, 1])
    m = metrics.classification(y, np.array(scores)[:, None])
    assert m["classes"] == 2 and m["accuracy"] == pytest.approx(sk.accuracy_score(y, expected))
    assert m["confusion_matrix"] == sk.confusion_matrix(y, expected, labels=[0, 1]).tolist()


def test_class_labels_shapes_and_errors() -> None:
    assert metrics.class_labels(np.array([[2.0], [0.0]]), 3).tolist() == [2, 0]
    assert metrics.class_labels(np.array([[0, 0, 1], [0, 1, 0]]), 3).tolist() == [2, 1]
    assert metrics.class_labels(np.array([1.0, 2.0]), 3).dtype == np.int64
    with pytest.raises(DataError) as err:
        metrics.class_labels(np.array([0.5, 1.0]), 3)
    assert str(err.value) == (
        "classification y_data holds fractional values. Fix: use class indices or one-hot rows, or --model-type regression"
    )
    with pytest.raises(DataError) as err:
        metrics.class_labels(np.zeros((2, 4)), 3)
    assert str(err.value) == (
        "y_data rows have 4 values but the model outputs 3 classes. Fix: give class indices (N,) or one-hot rows (N, classes)"
    )
    with pytest.raises(DataError) as err:
        metrics.classification(np.array([0, 3]), np.zeros((2, 3)))
    assert str(err.value) == (
        "y_data labels span 0..3 but the model has 3 classes. "
        "Fix: check y_data holds class indices 0..classes-1, or use --model-type regression"
    )
    with pytest.raises(DataError, match=r"^y_data labels span -1\.\.1 "):
        metrics.classification(np.array([-1, 1]), np.zeros((2, 3)))


def test_top5_only_above_five_classes_and_ties_rank_the_higher_index_first() -> None:
    y = np.array([5, 1, 0])
    six = np.array([[1.0] * 6, [0.0] + [1.0] * 5, [0.0] + [1.0] * 5])
    m = metrics.classification(y, six)
    assert m["top5_accuracy"] == pytest.approx(2 / 3)  # tied: 5..1 first (scikit-learn's order), so 0 misses
    assert "top5_accuracy" not in metrics.classification(np.array([0, 1]), np.eye(5)[[0, 1]])


def test_regression_several_outputs_constant_targets_and_exact_record() -> None:
    sk = require("sklearn.metrics")
    rng = np.random.default_rng(6)
    y = np.stack([rng.normal(5, 2, 50), rng.normal(-3, 1, 50)], axis=1)
    pred = y + rng.normal(0, 0.5, size=y.shape)
    m = metrics.regression(y, pred)
    assert m["r2"] == pytest.approx(sk.r2_score(y, pred))  # uniform average over the outputs
    assert m["mse"] == pytest.approx(sk.mean_squared_error(y, pred))
    constant = np.full(4, 2.0)
    assert metrics.regression(constant, constant)["r2"] == 1.0  # as scikit-learn (force_finite)
    assert metrics.regression(constant, constant + 0.5)["r2"] == 0.0
    assert metrics.regression(constant, constant + 0.5)["r2"] == sk.r2_score(constant, constant + 0.5)
    mixed = np.stack([constant, [1.0, 2.0, 3.0, 4.0]], axis=1)
    assert metrics.regression(mixed, mixed)["r2"] == 1.0
    assert metrics.regression(mixed, mixed + 0.5)["r2"] == pytest.approx(sk.r2_score(mixed, mixed + 0.5))
    small = np.array([0.1, 0.2, 0.3, 0.5])  # ss_tot below 1
    assert metrics.regression(small, small[::-1])["r2"] == pytest.approx(sk.r2_score(small, small[::-1]))
    exact = metrics.regression(np.array([1.0, 2.0]), np.array([[1.5], [2.0]]))
    assert exact == {
        "task": "regression",
        "samples": 2,
        "mse": 0.125,
        "mae": 0.25,
        "rmse": pytest.approx(0.125**0.5),
        "r2": 0.5,
        "mape_pct": 25.0,
        "mape_excluded_zero_targets": 0,
    }
    with pytest.raises(DataError) as err:
        metrics.regression(np.zeros((4, 2)), np.zeros((4, 3)))
    assert (
        str(err.value)
        == "y_data has 2 values per sample but the model outputs 3. Fix: give one target per model output"
    )


# ---------- data: every adaptation path, exact notes and messages ----------


def test_adapt_nhwc_data_for_an_nchw_model_with_notes_and_log(caplog: pytest.LogCaptureFixture) -> None:
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float64).reshape(2, 4, 5, 3)  # NHWC samples
    spec = TensorSpec("img", (1, 3, 4, 5), "float32")
    with caplog.at_level("INFO", logger="bench.data"):
        a = data.adapt(x, spec)
    assert a.transposed == (0, 3, 1, 2) and a.x.shape == (2, 3, 4, 5) and a.quantize is False
    assert np.array_equal(a.x[1, 2, 3, 4], x[1, 3, 4, 2]) and a.x.flags["C_CONTIGUOUS"]
    assert a.notes == ["x_data transposed NHWC->NCHW to fit the model input"]
    assert "x_data transposed NHWC->NCHW to fit model input img [1, 3, 4, 5]" in caplog.text
    b = data.adapt(np.zeros((2, 3, 4, 5)), TensorSpec("img", (1, 4, 5, 3), "float32"))
    assert b.notes == ["x_data transposed NCHW->NHWC to fit the model input"] and b.transposed == (0, 2, 3, 1)
    c = data.adapt(np.zeros((2, 1, 4)), TensorSpec("v", (1, 4), "float32"))
    assert c.notes == ["x_data samples carried a batch dimension of 1; dropped"] and c.x.shape == (2, 4)
    assert c.transposed is None


def test_adapt_dynamic_and_unknown_dimensions() -> None:
    x = np.zeros((3, 7, 2), np.float32)
    for shape in ((1, -1, 2), (1, None, 2), (-1, 7, 2)):
        assert data.adapt(x, TensorSpec("x", shape, "float32")).x.shape == (3, 7, 2)
    with pytest.raises(DataError):
        data.adapt(x, TensorSpec("x", (1, -2, 2), "float32"))
    assert data.adapt(x, TensorSpec("x", (), "float32")).x.shape == (3, 7, 2)  # no declared shape: not checked
    with pytest.raises(DataError) as err:
        data.adapt(np.zeros((2, 3, 4, 5)), TensorSpec("img", (1, 3, 5, 4), "float32"))
    assert str(err.value) == (
        "x_data samples have shape [3, 4, 5] but model input 'img' expects [1, 3, 5, 4] (batch first). "
        "Fix: store x_data as (N, 3, 5, 4) without the batch dimension"
    )


def test_adapt_casts_to_the_input_dtype() -> None:
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    half = data.adapt(x, TensorSpec("x", (1, 2), "float16"))
    assert half.x.dtype == np.float16 and half.quantize is False and half.notes == []
    flags = data.adapt(np.array([[0, 1], [1, 0]]), TensorSpec("x", (1, 2), "bool"))
    assert flags.x.dtype == np.bool_ and flags.x.tolist() == [[False, True], [True, False]]
    ints = data.adapt(np.array([[1, 2], [3, 4]], np.int64), TensorSpec("x", (1, 2), "int32"))
    assert ints.x.dtype == np.int32 and ints.quantize is False and ints.x.flags["C_CONTIGUOUS"]


def test_adapt_quantized_input_note_and_integer_ranges() -> None:
    spec = TensorSpec("x", (1, 2), "int8", scale=0.5, zero_point=3)
    a = data.adapt(np.array([[1.0, 2.0]]), spec)
    assert a.quantize is True and a.x.dtype == np.float32
    assert a.notes == ["float x_data quantized per inference with scale 0.5 and zero point 3"]
    assert a.sample(0).tolist() == [[5, 7]] and a.sample(0).dtype == np.int8
    ints = data.adapt(np.array([[1, 2]], np.int64), spec)  # integer data for a quantized model: taken as it is
    assert ints.quantize is False and ints.x.dtype == np.int8 and ints.notes == []
    plain = TensorSpec("ids", (1, 2), "int8")
    assert data.adapt(np.array([[-128.0, 127.0]]), plain).x.tolist() == [[-128, 127]]  # the limits themselves fit
    for bad, where in (([[-129, 0]], "-129..0"), ([[0, 128]], "0..128")):
        with pytest.raises(DataError) as err:
            data.adapt(np.array(bad), plain)
        assert str(err.value) == (
            f"x_data values span {where}, outside int8 (-128..127). Fix: rescale x_data into the int8 range"
        )
    with pytest.raises(DataError) as err:
        data.adapt(np.array([[np.inf, 1.0]]), plain)
    assert str(err.value) == (
        "model input 'ids' is int8 without quantization parameters but x_data is fractional. "
        "Fix: give integer x_data or a model with a quantized input"
    )
    assert data.adapt(np.zeros((0, 2)), plain).x.shape == (0, 2)  # nothing to range-check


def test_dequantize_zero_point_default_and_float_passthrough() -> None:
    y = np.array([4, -2], np.int8)
    out = data.dequantize(y, TensorSpec("y", (1, 2), "int8", scale=0.5, zero_point=None))
    assert out.tolist() == [2.0, -1.0] and out.dtype == np.float32
    f = np.array([1.5], np.float32)
    assert data.dequantize(f, TensorSpec("y", (1,), "float32")) is f
    assert data.dequantize(y, TensorSpec("y", (1, 2), "int8", scale=0.25, zero_point=-2)).tolist() == [1.5, 0.0]


def test_load_npz_dataset_fields_and_exact_messages(tmp_path: Path) -> None:
    from bench.hashing import sha256_path

    path = _npz(tmp_path, x_data=np.zeros((3, 2)), y_data=np.arange(3))
    ds = data.load_npz(path)
    assert ds.path == path and ds.y.tolist() == [0, 1, 2] and ds.sha256 == sha256_path(path)
    no_y = data.load_npz(_npz(tmp_path, "no_y.npz", x_data=np.zeros((2, 2))), require_y=False)
    assert no_y.y is None and no_y.keys == ["x_data"]
    flags = data.load_npz(_npz(tmp_path, "b.npz", x_data=np.ones((2, 2), bool), y_data=np.array([True, False])))
    assert flags.x.dtype == np.bool_
    cases = [
        ({"x_data": np.zeros((3, 2)), "y_data": np.array(5)}, "x_data has 3 samples but y_data has 0 in {p}"),
        ({"x_data": np.zeros((2, 2)), "y_data": np.array(["a", "b"])}, "y_data in {p} has dtype <U1, not a real number type"),
        ({"x_data": np.zeros((2, 2), complex), "y_data": np.arange(2)}, "x_data in {p} has dtype complex128, not a real number type"),
        ({"x_data": np.array(1.0), "y_data": np.arange(1)}, "x_data in {p} is empty"),
    ]  # fmt: skip
    fixes = {
        "samples": "give one target per input sample",
        "dtype": "store {n} as float or int",
        "empty": "store at least one sample",
    }
    for i, (arrays, problem) in enumerate(cases):
        p = _npz(tmp_path, f"bad{i}.npz", **arrays)
        with pytest.raises(DataError) as err:
            data.load_npz(p)
        fix = next(v for k, v in fixes.items() if k in problem).format(n=problem.split(" ")[0])
        assert str(err.value) == problem.format(p=p) + ". Fix: " + fix
    text = tmp_path / "t.npz"
    text.write_text("hello")
    with pytest.raises(DataError) as err:
        data.load_npz(text)
    assert str(err.value) == (
        f"data file {text} is not an .npz archive. Fix: save it with numpy.savez(path, x_data=..., y_data=...)"
    )
    broken = tmp_path / "broken.npz"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("x_data.npy", b"\x93NUMPY not really")
    with pytest.raises(DataError) as err:
        data.load_npz(broken)
    assert str(err.value).startswith(f"data file {broken} could not be read: ")
    assert str(err.value).endswith(". Fix: re-save it with numpy.savez")
    pickled = tmp_path / "p.npz"
    np.savez(pickled, x_data=np.array([{"a": 1}], dtype=object), y_data=np.arange(1))
    with pytest.raises(DataError) as err:
        data.load_npz(pickled)
    assert str(err.value) == (
        f"data file {pickled} holds pickled (object) arrays, which are not loaded for safety. "
        "Fix: save plain numeric arrays (e.g. numpy.asarray(x, dtype=numpy.float32))"
    )


def test_append_exact_bytes_after_whole_and_one_byte_torn_lines(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    records.append_jsonl(out, {"n": 1})
    records.append_jsonl(out, {"n": 2})
    assert out.read_bytes() == b'{"n":1}\n{"n":2}\n', "no blank line between whole lines"
    torn = tmp_path / "t.jsonl"
    torn.write_bytes(b"{")  # a writer died after one byte
    records.append_jsonl(torn, {"n": 3})
    assert torn.read_bytes() == b'{\n{"n":3}\n'
    current = {"schema_version": records.SCHEMA_VERSION, "framework": "x"}
    assert records.upgrade(current) == current, "a current record is returned as it is"


def test_read_and_append_errors_are_exact(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(BenchError) as err:
        list(records.read_jsonl(tmp_path / "none.jsonl"))
    assert str(err.value) == (
        f"results file {tmp_path / 'none.jsonl'} not found. Fix: run `python -m bench run ... --output FILE` first"
    )
    with pytest.raises(BenchError) as err:
        records.append_jsonl(tmp_path, {"n": 1})
    assert str(err.value) == f"output {tmp_path} is a directory. Fix: give a file path such as results/results.jsonl"
    out = tmp_path / "r.jsonl"
    out.write_text('{"a": 1}\n{"b": \n')
    with caplog.at_level("WARNING", logger="bench.records"):
        assert list(records.read_records(out)) == [records.upgrade({"a": 1})]
    assert [r.getMessage() for r in caplog.records] == [
        f"{out}:2 is not a complete JSON record (interrupted write?); skipped"
    ]


class SecondRuntime(FakeRuntime):
    """Every inference costs exactly one second of fake time (limits in whole seconds, checked to the nanosecond)."""

    def invoke(self) -> None:
        self.clock.now += 1_000_000_000 - 1010  # prepare 10 + invoke + fetch 1000: one second
        self.y = 2 * self.x.astype(np.float32)


def test_harness_limits_in_seconds_are_exact_to_the_nanosecond(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    from bench import harness

    x = np.ones((1, 2), np.float32)

    def measure(timing: Timing) -> harness.Measurement:
        rt = SecondRuntime(clock, F32, F32)
        return harness.measure(rt, data.adapt(x, F32), timing)

    assert measure(Timing(0, 2.0, 1, 0.0, 60)).warmup_runs == 2
    assert len(measure(Timing(0, 0.0, 1, 3.0, 60)).invoke_ns) == 3
    with caplog.at_level("WARNING", logger="bench.harness"):
        capped = measure(Timing(10**6, 0.0, 10**6, 0.0, 2.0))
    assert capped.warmup_runs == 2 and len(capped.invoke_ns) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "warm-up stopped by --max-time-s after 2 runs",
        "measurement stopped by --max-time-s after 2 runs",
    ]


def test_schema_version_none_is_version_1_and_non_dict_lines_pass(tmp_path: Path) -> None:
    assert records.upgrade({"schema_version": None})["fleet"] == {}
    assert records.upgrade({"schema_version": 0})["schema_version"] == 3
    out = tmp_path / "r.jsonl"
    out.write_text("[1, 2]\n7\n")
    assert list(records.read_records(out)) == [[1, 2], 7]


def test_macro_averages_only_over_labels_present_and_zero_where_undefined() -> None:
    sk = require("sklearn.metrics")
    y = np.array([0, 0, 1, 1, 2])  # class 3 never occurs in targets or predictions
    pred = np.array([0, 1, 1, 1, 1])  # class 2 is never predicted: precision 0/0 -> 0
    logits = np.eye(4)[pred]
    m = metrics.classification(y, logits)
    for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
        assert m[name] == pytest.approx(fn(y, pred, average="macro", zero_division=0)), name
    assert m["precision"] == pytest.approx((1 + 0.5 + 0) / 3) and m["recall"] == pytest.approx((0.5 + 1 + 0) / 3)


def test_constant_target_r2_is_0_for_any_error() -> None:
    constant = np.full(4, 2.0)
    assert metrics.regression(constant, constant + 0.25)["r2"] == 0.0


def test_data_messages_and_zero_point_zero(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "missing.npz"
    with pytest.raises(DataError) as err:
        data.load_npz(missing)
    assert str(err.value) == f"data file {missing} not found. Fix: give an .npz with x_data and y_data arrays"
    three = _npz(tmp_path, "three.npz", a=np.zeros(2), b=np.zeros(2), c=np.zeros(2))
    with pytest.raises(DataError) as err:
        data.load_npz(three)
    assert str(err.value) == (
        f"data file {three} has arrays ['a', 'b', 'c'], not x_data and y_data. "
        "Fix: save it with numpy.savez(path, x_data=inputs, y_data=targets)"
    )
    no_y = _npz(tmp_path, "no_y.npz", x_data=np.zeros((2, 2)))
    with pytest.raises(DataError) as err:
        data.load_npz(no_y)
    assert str(err.value) == f"data file {no_y} has x_data but no y_data. Fix: add the targets as y_data"
    legacy = _npz(tmp_path, "legacy.npz", inputs=np.zeros((2, 2)), targets=np.arange(2))
    with caplog.at_level("WARNING", logger="bench.data"):
        data.load_npz(legacy)
    assert [r.getMessage() for r in caplog.records] == [
        f"{legacy} has no x_data/y_data; reading inputs as inputs and targets as targets, in order"
    ]
    caplog.clear()
    with caplog.at_level("INFO", logger="bench.data"):
        data.adapt(np.zeros((1, 2, 3, 4)), TensorSpec("img", (1, 3, 4, 2), "float32"))
    assert [r.getMessage() for r in caplog.records] == [
        "x_data transposed NCHW->NHWC to fit model input img [1, 3, 4, 2]"
    ]
    zp0 = data.adapt(np.array([[1.0, -1.0]]), TensorSpec("x", (1, 2), "int8", scale=0.5, zero_point=0))
    assert zp0.sample(0).tolist() == [[2, -2]]
    with pytest.raises(DataError, match="expects"):  # (2, 4) samples for a (1, 4) input: not a batch dimension of 1
        data.adapt(np.zeros((3, 2, 4)), TensorSpec("x", (1, 4), "float32"))


def test_top5_with_ties_on_1000_class_int8_outputs_matches_scikit_learn() -> None:
    """Quantized 1000-class outputs tie a lot (int8 logits over a narrow range): top-5 equals scikit-learn's
    top_k_accuracy_score, whose tie order (a stable ascending sort read from the end) is the definition."""
    sk = require("sklearn.metrics")
    rng = np.random.default_rng(14)
    logits = rng.integers(-128, -124, size=(400, 1000)).astype(np.int8)  # 4 levels: hundreds of ties per row
    y = rng.integers(0, 1000, size=400)
    top = logits.max(axis=1)
    for i in range(0, 400, 2):  # half the samples: the true class is one of the tied top scores
        y[i] = rng.choice(np.flatnonzero(logits[i] == top[i]))
    want = sk.top_k_accuracy_score(y, logits.astype(np.float64), k=5, labels=np.arange(1000))
    got = metrics.classification(y, logits)["top5_accuracy"]
    assert got == pytest.approx(want) and 0.0 < want < 0.5
