"""The run stages with their collaborators replaced by recording stubs (mutation run of bench/stages.py): what each
stage hands to the peak tables, the conversion, the fidelity check, the power window and the harness, and what it
writes into the record. No framework is loaded: every runtime here is a stub object."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest

from bench import data as data_mod
from bench import early_stopping, formats, harness, machine, peak_share, stages, sustained
from bench import profile as profile_mod
from bench.config import RunConfig
from bench.convert import cache, fidelity, pipeline
from bench.convert import output as convert_output
from bench.convert.options import ConvertOptions
from bench.power.base import PowerOptions
from bench.records import RunRecord
from bench.sustained import CooldownOptions, SustainedOptions


class Calls:
    """A stub function that records its arguments and returns ``value`` (or raises it when it is an exception)."""

    def __init__(self, value: Any = None) -> None:
        self.value, self.args = value, []  # type: ignore[var-annotated]

    def __call__(self, *args: Any, **kw: Any) -> Any:
        self.args.append((args, kw))
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def _record(**kw: Any) -> RunRecord:
    base: Dict[str, Any] = dict(created_utc="t", tool={}, framework="onnx", runtime={}, options={}, machine={})
    base.update(kw)
    return RunRecord(**base)


def _config(**kw: Any) -> RunConfig:
    return RunConfig(model=Path("m.onnx"), data=Path("d.npz"), framework="onnx", **kw)


# _compute_section -------------------------------------------------------------------------------------------------


def _peaks(monkeypatch: pytest.MonkeyPatch, device: Any = "cpu") -> Dict[str, Calls]:
    stubs = {"device_of": Calls(device), "precision_of": Calls("int8"), "section": Calls({"gops": 1.0})}
    for name, stub in stubs.items():
        monkeypatch.setattr(peak_share, name, stub)
    return stubs


def test_compute_section_hands_its_facts_to_the_peak_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _peaks(monkeypatch)
    rec = _record(runtime={"name": "rt"}, machine={"cpu": "x"})
    counts = {"precision": "int8", "ops": 5}
    out = stages._compute_section(_config(delegate="xnnpack"), rec, counts, 2.5, Path("a.onnx"), "onnx")
    assert out == {"gops": 1.0}
    assert s["device_of"].args == [(("onnx", "xnnpack", {"name": "rt"}), {})]
    assert s["precision_of"].args == [(("onnx", "cpu", {"name": "rt"}, Path("a.onnx"), "onnx", "int8"), {})]
    assert s["section"].args == [((counts, 2.5, {"cpu": "x"}, "cpu", "int8"), {})]


def test_compute_section_without_a_counted_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _peaks(monkeypatch)
    stages._compute_section(_config(), _record(), {"ops": 5}, 1.0, Path("a"), "onnx")
    assert s["precision_of"].args[0][0][-1] == ""  # no precision counted: the empty string


def test_compute_section_records_a_failure(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _peaks(monkeypatch, device=ValueError("no peak for this board"))
    with caplog.at_level(logging.WARNING, logger="bench.stages"):
        out = stages._compute_section(_config(), _record(), {}, 1.0, Path("a"), "onnx")
    assert out == {"unavailable": "ValueError: no peak for this board"}
    assert [r.getMessage() for r in caplog.records] == ["GOP/s not computed: no peak for this board"]


# _cool_down -------------------------------------------------------------------------------------------------------


def test_cool_down_waits_when_asked_and_always_reads_the_start_temperature(monkeypatch: pytest.MonkeyPatch) -> None:
    wait, hottest = Calls({"waited_s": 3.0}), Calls(41.5)
    monkeypatch.setattr(sustained, "wait_until_cool", wait)
    monkeypatch.setattr(sustained, "hottest_c", hottest)
    rec = _record()
    stages._cool_down(_config(cooldown=CooldownOptions(to_c=45.0, max_s=120.0)), rec)
    assert rec.machine == {"cooldown": {"waited_s": 3.0}, "start_temp_c": 41.5}
    assert wait.args == [((45.0, 120.0), {})]
    rec = _record()
    stages._cool_down(_config(), rec)
    assert rec.machine == {"start_temp_c": 41.5} and len(wait.args) == 1


# _fidelity_reference / _check_deferred_fidelity --------------------------------------------------------------------


def test_fidelity_reference_given_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Calls("ref")
    monkeypatch.setattr(fidelity, "load_reference", load)
    cfg = _config(convert=ConvertOptions(fidelity_reference=Path("/r.npz")))
    rec = _record(conversion={"fidelity": {"status": fidelity.UNCHECKED, "reference": "/other.npz"}})
    assert stages._fidelity_reference(cfg, rec, "sha") == "ref"
    assert load.args == [((Path("/r.npz"), "sha"), {})]


def test_fidelity_reference_named_by_an_unchecked_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Calls("ref")
    monkeypatch.setattr(fidelity, "load_reference", load)
    rec = _record(conversion={"fidelity": {"status": "unchecked", "reference": "/c/ref.npz"}})
    assert stages._fidelity_reference(_config(), rec, "sha") == "ref"
    assert load.args == [((Path("/c/ref.npz"), "sha"), {})]
    checked = _record(conversion={"fidelity": {"status": "ok", "reference": "/c/ref.npz"}})
    assert stages._fidelity_reference(_config(), checked, "sha") is None
    no_ref = _record(conversion={"fidelity": {"status": "unchecked"}})
    assert stages._fidelity_reference(_config(), no_ref, "sha") is None
    assert stages._fidelity_reference(_config(), _record(conversion={"fidelity": None}), "sha") is None
    assert len(load.args) == 1


def _fidelity_stubs(monkeypatch: pytest.MonkeyPatch, fid: Dict[str, Any]) -> Dict[str, Calls]:
    stubs = {"check": Calls(fid), "manifest": Calls({"m": 1}), "update": Calls()}
    monkeypatch.setattr(fidelity, "check_reference", stubs["check"])
    monkeypatch.setattr(fidelity, "to_manifest", stubs["manifest"])
    monkeypatch.setattr(cache, "update_fidelity", stubs["update"])
    return stubs


def test_deferred_fidelity_is_recorded_and_stored_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fid = {"max_abs_diff": 0.00123, "warnings": ["w old", "w new"]}
    s = _fidelity_stubs(monkeypatch, fid)
    ref = SimpleNamespace(meta={"samples_key": "k1"})
    rec = _record(conversion={"manifest": "/cache/m.json"}, warnings=["w old"])
    with caplog.at_level(logging.INFO, logger="bench.stages"):
        stages._check_deferred_fidelity("rt", ref, rec)
    assert s["check"].args == [(("rt", ref), {})]
    assert rec.conversion["fidelity"] is fid
    assert rec.warnings == ["w old", "w new"]  # a warning already there is not repeated
    assert s["manifest"].args == [((fid,), {})]
    assert s["update"].args == [((Path("/cache/m.json"), "k1", {"m": 1}), {})]
    # %.3g of 0.00123 is "0.00123"
    assert [r.getMessage() for r in caplog.records] == ["fidelity checked on this device: max abs diff 0.00123"]


def test_deferred_fidelity_without_a_manifest_stores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _fidelity_stubs(monkeypatch, {"max_abs_diff": 0.5, "warnings": []})
    rec = _record()
    stages._check_deferred_fidelity("rt", SimpleNamespace(meta={}), rec)
    assert rec.conversion == {"fidelity": {"max_abs_diff": 0.5, "warnings": []}} and s["update"].args == []


# _convert ---------------------------------------------------------------------------------------------------------


def _converted(path: Any, sha: Any = "conv-sha", warnings: Any = ("lossy",)) -> SimpleNamespace:
    fid = {"warnings": list(warnings)} if warnings is not None else {}
    return SimpleNamespace(
        path=path, format="tflite", sha256=sha, fidelity=fid, to_dict=lambda: {"artifact": str(path)}
    )


def test_convert_hands_its_options_to_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    convert_for = Calls(_converted("/c/m.tflite"))
    monkeypatch.setattr(pipeline, "convert_for", convert_for)
    conv = ConvertOptions(precision="int8")
    cfg = RunConfig(model=Path("m.onnx"), data=Path("d.npz"), framework="tflite", convert=conv, model_type="regression")
    rec = _record(model=SimpleNamespace(sha256="src-sha"), warnings=["before"])
    out = stages._convert(cfg, rec, Path("m.onnx"), "onnx", "opts")
    assert out is convert_for.value
    kw = dict(runtime_options="opts", data=Path("d.npz"), model_type="regression", source_sha256="src-sha")
    assert convert_for.args == [((Path("m.onnx"), "onnx", "tflite", conv), kw)]
    assert rec.conversion == {"artifact": "/c/m.tflite"} and rec.warnings == ["before", "lossy"]


def test_convert_without_a_model_hash_or_fidelity_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    convert_for = Calls(_converted("/c/m.tflite", warnings=None))
    monkeypatch.setattr(pipeline, "convert_for", convert_for)
    rec = _record()
    stages._convert(_config(), rec, Path("m.onnx"), "onnx", "opts")
    assert convert_for.args[0][1]["source_sha256"] is None and rec.warnings == []


# _count -----------------------------------------------------------------------------------------------------------


def _prepared(source: str = "m.onnx", path: str = "m.onnx", sha: Any = "sha") -> stages.Prepared:
    return stages.Prepared(Path(source), "onnx", Path(path), "tflite", sha, None, None)


def test_count_once_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    count_ops = Calls({"ops": 7})
    monkeypatch.setattr(peak_share, "count_ops", count_ops)
    counts: Dict[str, Any] = {}
    rec = _record(conversion={"chain": 1})
    p = _prepared()
    assert stages._count(_config(), rec, p, "rt", [1, 3], counts) == {"ops": 7}
    assert counts == {"sha:onnx:[1, 3]": {"ops": 7}}
    assert count_ops.args == [(("rt", Path("m.onnx"), "tflite", {"chain": 1}, [1, 3]), {})]
    count_ops.value = {"ops": 99}
    assert stages._count(_config(), rec, p, "rt", [1, 3], counts) == {"ops": 7}  # made before: not again
    assert len(count_ops.args) == 1


def test_count_of_a_converted_model_names_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    count_ops = Calls({"ops": 7})
    monkeypatch.setattr(peak_share, "count_ops", count_ops)
    p = _prepared(source="m.onnx", path="c/m.tflite")
    stages._count(_config(), _record(conversion={"chain": 1}), p, "rt", [1], {})
    source = {"path": "m.onnx", "format": "onnx"}
    assert count_ops.args[0][0][3] == {"chain": 1, "source_model": source}


def test_count_without_a_hash_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    count_ops = Calls({"ops": 7})
    monkeypatch.setattr(peak_share, "count_ops", count_ops)
    counts: Dict[str, Any] = {"None:onnx:[1]": {"ops": 1}}
    assert stages._count(_config(), _record(), _prepared(sha=None), "rt", [1], counts) == {"ops": 7}
    assert counts == {"None:onnx:[1]": {"ops": 1}}


# _runtime_options -------------------------------------------------------------------------------------------------


def test_runtime_options_carry_the_model_class_path() -> None:
    ds = SimpleNamespace(x=np.zeros((2, 3), np.float32))
    cfg = _config(model_class_path=Path("/m/net.py"))
    assert stages._runtime_options(cfg, ds).model_class_path == Path("/m/net.py")


# _latency ---------------------------------------------------------------------------------------------------------


def _measurement(**kw: Any) -> SimpleNamespace:
    base = dict(
        invoke_ns=[2_000_000, 4_000_000, 3_000_000],
        e2e_ns=[3_000_000, 5_000_000, 4_000_000],
        first_inference_ns=7_500_000,
        warmup_runs=4,
        warmup_ns=1_500_000_000,
        measured_ns=2_250_000_000,
        stopping={"rule": "count and time"},
        outputs=np.zeros((3, 10), np.float32),
    )
    base.update(kw)
    return SimpleNamespace(**base)


def _measured(m: Any = None, power: Any = None, rt: Any = None) -> stages.Measured:
    return stages.Measured(rt, m or _measurement(), 250_000_000, 125_000_000, power, {"ops": 1})


def test_latency_in_milliseconds_and_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    estimate = Calls({"p90_ms": 4.0})
    monkeypatch.setattr(early_stopping, "estimate", estimate)
    lat = stages._latency(_config(), _measured(), {"p50_ms": 3.0}, True)
    assert lat.invoke == {"p50_ms": 3.0}
    assert lat.e2e["p50_ms"] == 4.0 and lat.e2e["mean_ms"] == 4.0  # median and mean of 3, 5, 4 ms
    assert lat.load_ms == 125.0  # 125_000_000 ns / 1e6
    assert lat.import_ms == 250.0  # 250_000_000 ns / 1e6
    assert lat.first_inference_ms == 7.5  # 7_500_000 ns / 1e6
    assert (lat.warmup_runs, lat.warmup_s, lat.measured_s) == (4, 1.5, 2.25)  # ns / 1e9
    assert lat.high_variance is True and lat.stopping == {"rule": "count and time"}
    assert lat.raw_invoke_ns == [2_000_000, 4_000_000, 3_000_000]
    assert lat.raw_e2e_ns == [3_000_000, 5_000_000, 4_000_000]
    assert lat.early_stopping == {"p90_ms": 4.0}
    assert estimate.args == [(([2_000_000, 4_000_000, 3_000_000],), {})]


def test_latency_without_raw_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(early_stopping, "estimate", Calls({}))
    lat = stages._latency(_config(keep_raw=False), _measured(), {"p50_ms": 3.0}, False)
    assert (lat.raw_invoke_ns, lat.raw_e2e_ns, lat.high_variance) == ([], [], False)


# _timed / _after_measurement --------------------------------------------------------------------------------------


class StubPower:
    """Stands for bench.power.session.PowerRun: records its options, its window and the summary asked of it."""

    made: List[StubPower] = []

    def __init__(self, options: Any) -> None:
        self.options, self.events = options, []  # type: ignore[var-annotated]
        StubPower.made.append(self)

    def __enter__(self) -> StubPower:
        self.events.append("enter")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.events.append("exit")

    def done(self) -> None:
        self.events.append("done")

    def summary(self, n: int, seconds: float) -> Dict[str, Any]:
        return {"n": n, "seconds": seconds}


class StubRuntime:
    """Stands for a loaded runtime (bench.runtimes.base.Runtime): a name, versions, facts, tensors; no framework."""

    name = "stubrt"

    def __init__(self, build_ms: Any = None) -> None:
        self.build_ms, self.closed = build_ms, False
        self.input = SimpleNamespace(to_dict=lambda: {"name": "in", "shape": [1, 3]})
        self.output = SimpleNamespace(to_dict=lambda: {"name": "out", "shape": []})

    def versions(self) -> Dict[str, str]:
        return {"stub": "1.0"}

    def describe(self) -> Dict[str, Any]:
        return {"build_ms": self.build_ms, "threads": 1}

    def close(self) -> None:
        self.closed = True


def _harness_stubs(monkeypatch: pytest.MonkeyPatch, m: Any) -> Dict[str, Any]:
    listened: List[Any] = []

    @contextlib.contextmanager
    def listening(listener: Any) -> Iterator[None]:
        listened.append(listener)
        yield

    stubs = {"measure": Calls(m), "listened": listened, "phase_listener": Calls("listener")}
    monkeypatch.setattr(harness, "measure", stubs["measure"])
    monkeypatch.setattr(harness, "listening", listening)
    monkeypatch.setattr(profile_mod, "phase_listener", stubs["phase_listener"])
    monkeypatch.setattr(stages, "PowerRun", StubPower)
    StubPower.made = []
    return stubs


def test_timed_measures_inside_the_power_window(monkeypatch: pytest.MonkeyPatch) -> None:
    m = _measurement()
    s = _harness_stubs(monkeypatch, m)
    cfg = _config(profile=True, power=PowerOptions(source="none"))
    out_m, power = stages._timed(cfg, "rt", "adapted")
    assert out_m is m and power is StubPower.made[0]
    assert power.options == PowerOptions(source="none") and power.events == ["enter", "done", "exit"]
    assert s["phase_listener"].args == [(("rt",), {})] and s["listened"] == ["listener"]
    assert s["measure"].args == [(("rt", "adapted", cfg.timing), {})]


def test_timed_without_a_profile_listens_to_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _harness_stubs(monkeypatch, _measurement())
    stages._timed(_config(), "rt", "adapted")
    assert s["phase_listener"].args == [] and s["listened"] == []


def test_after_measurement_profile_sustained_runtime_and_fidelity(monkeypatch: pytest.MonkeyPatch) -> None:
    collect, phase, step, run = Calls({"profiled": True}), Calls(), Calls("step"), Calls({"slowdown": 1.1})
    monkeypatch.setattr(profile_mod, "collect", collect)
    monkeypatch.setattr(harness, "phase", phase)
    monkeypatch.setattr(harness, "step_fn", step)
    monkeypatch.setattr(sustained, "run", run)
    s = _fidelity_stubs(monkeypatch, {"max_abs_diff": 0.0, "warnings": []})
    rt, adapted, ref = StubRuntime(), [1, 2, 3, 4], SimpleNamespace(meta={})
    opts = SustainedOptions(seconds=30.0)
    rec = _record()
    stages._after_measurement(_config(profile=True, sustained=opts), rec, rt, adapted, ref)
    assert rec.profile == {"profiled": True} and collect.args == [((rt,), {})]
    assert phase.args == [(("sustained",), {})] and step.args == [((rt, adapted), {})]
    assert run.args == [(("step", 4, opts), {})] and rec.sustained == {"slowdown": 1.1}
    assert rec.runtime == {"name": "stubrt", "versions": {"stub": "1.0"}, "build_ms": None, "threads": 1}
    assert s["check"].args == [((rt, ref), {})] and rec.conversion["fidelity"] == {"max_abs_diff": 0.0, "warnings": []}


def test_after_measurement_without_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    collect, run = Calls({"profiled": True}), Calls({})
    monkeypatch.setattr(profile_mod, "collect", collect)
    monkeypatch.setattr(sustained, "run", run)
    s = _fidelity_stubs(monkeypatch, {"max_abs_diff": 0.0, "warnings": []})
    rec = _record()
    stages._after_measurement(_config(), rec, StubRuntime(), [1], None)
    assert (collect.args, run.args, s["check"].args, rec.profile, rec.sustained) == ([], [], [], {}, {})


# measure ----------------------------------------------------------------------------------------------------------


class StubSampler:
    """Stands for bench.machine.Sampler (its thread is never started): a fixed summary."""

    def __enter__(self) -> StubSampler:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def summary(self) -> Dict[str, Any]:
        return {"throttled": False, "throttle_reasons": []}


def _measure_world(monkeypatch: pytest.MonkeyPatch, rt: StubRuntime) -> Dict[str, Any]:
    m = _measurement()
    adapted = SimpleNamespace(x=np.zeros((5, 3, 8), np.float32), notes=["cast to float32"])
    stubs: Dict[str, Any] = {"m": m, "adapted": adapted, "load": Calls(900_000_000), "adapt": Calls(adapted)}
    stubs["load_ref"], stubs["after"], stubs["count_ops"] = Calls("ref"), Calls(), Calls({"ops": 3})
    monkeypatch.setattr(fidelity, "load_reference", stubs["load_ref"])
    monkeypatch.setattr("bench.runtimes.create", Calls(rt))
    monkeypatch.setattr(harness, "timed_setup", Calls(40_000_000))
    monkeypatch.setattr(harness, "timed_load", stubs["load"])
    monkeypatch.setattr(data_mod, "adapt", stubs["adapt"])
    monkeypatch.setattr(sustained, "hottest_c", Calls(None))
    monkeypatch.setattr(machine, "Sampler", StubSampler)
    monkeypatch.setattr(machine, "peak_rss_mb", Calls(88.5))
    monkeypatch.setattr(peak_share, "count_ops", stubs["count_ops"])
    monkeypatch.setattr(stages, "_after_measurement", stubs["after"])
    _harness_stubs(monkeypatch, m)
    return stubs


def test_measure_loads_measures_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    rt = StubRuntime(build_ms=250.0)
    s = _measure_world(monkeypatch, rt)
    cfg = _config(convert=ConvertOptions(fidelity_reference=Path("/r.npz")))
    rec = _record(data=SimpleNamespace(adaptation=["earlier"]))
    p = stages.Prepared(Path("m.onnx"), "onnx", Path("m.onnx"), "onnx", "sha", SimpleNamespace(x="x"), "opts")
    counts: Dict[str, Any] = {}
    out = stages.measure(cfg, rec, p, counts)
    assert s["load_ref"].args == [((Path("/r.npz"), "sha"), {})]
    assert s["load"].args == [((rt, Path("m.onnx"), "opts"), {})]
    assert out.load_ns == 650_000_000  # 900 ms load - 250 ms engine build = 650 ms
    assert (out.rt, out.m, out.import_ns, out.power, out.counted) == (
        rt,
        s["m"],
        40_000_000,
        StubPower.made[0],
        {"ops": 3},
    )
    assert s["adapt"].args == [(("x", rt.input), {})] and rec.data.adaptation == ["earlier", "cast to float32"]
    assert s["after"].args == [((cfg, rec, rt, s["adapted"], "ref"), {})]
    assert s["count_ops"].args[0][0] == (rt, Path("m.onnx"), "onnx", {}, [1, 3, 8])  # batch of one, the sample's shape
    assert counts == {"sha:onnx:[1, 3, 8]": {"ops": 3}}
    assert rec.machine["state"] == {"throttled": False, "throttle_reasons": []}
    assert rec.machine["peak_rss_mb"] == 88.5 and rt.closed


def test_measure_without_an_engine_build_keeps_the_load_time(monkeypatch: pytest.MonkeyPatch) -> None:
    _measure_world(monkeypatch, StubRuntime(build_ms=None))
    rec = _record(data=SimpleNamespace(adaptation=[]))
    p = stages.Prepared(Path("m.onnx"), "onnx", Path("m.onnx"), "onnx", "sha", SimpleNamespace(x="x"), "opts")
    assert stages.measure(_config(), rec, p, {}).load_ns == 900_000_000


# prepare ----------------------------------------------------------------------------------------------------------


def _files(tmp_path: Path) -> Dict[str, Path]:
    f = {"model": tmp_path / "m.onnx", "data": tmp_path / "d.npz", "nhwc": tmp_path / "d_nhwc.npz"}
    f["model"].write_bytes(b"model bytes")
    np.savez(f["data"], x_data=np.zeros((4, 3, 2, 2), np.float32), y_data=np.arange(4))
    np.savez(f["nhwc"], x_data=np.zeros((4, 2, 2, 3), np.float32), y_data=np.arange(4))
    return f


def _prepare_stubs(monkeypatch: pytest.MonkeyPatch, converted: Any) -> Dict[str, Calls]:
    stubs = {"convert_for": Calls(converted), "copy": Calls(Path("/out/m.tflite"))}
    monkeypatch.setattr(pipeline, "convert_for", stubs["convert_for"])
    monkeypatch.setattr(convert_output, "copy", stubs["copy"])
    monkeypatch.setattr(formats, "detect", Calls("onnx"))  # the stub model's bytes are no real ONNX file
    return stubs


def test_prepare_a_native_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _files(tmp_path)
    s = _prepare_stubs(monkeypatch, _converted("/c/x"))
    rec = _record()
    p = stages.prepare(RunConfig(model=f["model"], data=f["data"], framework="onnx"), rec)
    sha = hashlib.sha256(b"model bytes").hexdigest()
    assert (p.source, p.source_format, p.path, p.format, p.sha256) == (f["model"], "onnx", f["model"], "onnx", sha)
    assert (rec.model.format, rec.model.sha256, rec.data.path) == ("onnx", sha, str(f["data"]))
    assert p.dataset.x.shape == (4, 3, 2, 2) and p.options.input_shape == (1, 3, 2, 2)
    assert s["convert_for"].args == [] and s["copy"].args == [] and rec.conversion == {}


def test_prepare_converts_and_runs_on_the_transposed_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _files(tmp_path)
    s = _prepare_stubs(monkeypatch, _converted("/c/m.tflite", sha="conv-sha"))
    conv = ConvertOptions(keep_shape=False, transposed_data=f["nhwc"], output=Path("/out"))
    rec = _record()
    p = stages.prepare(RunConfig(model=f["model"], data=f["data"], framework="tflite", convert=conv), rec)
    assert (p.path, p.format, p.sha256, p.source_format) == (Path("/c/m.tflite"), "tflite", "conv-sha", "onnx")
    args = s["convert_for"].args[0]
    assert args[0] == (f["model"], "onnx", "tflite", conv) and args[1]["runtime_options"].input_shape == (1, 3, 2, 2)
    assert p.dataset.x.shape == (4, 2, 2, 3) and rec.data.path == str(f["nhwc"])
    assert s["copy"].args == [((Path("/c/m.tflite"), Path("/out")), {})]
    assert rec.conversion == {"artifact": "/c/m.tflite", "output": "/out/m.tflite"}


def test_prepare_keeps_the_data_when_the_shape_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _files(tmp_path)
    _prepare_stubs(monkeypatch, _converted("/c/m.tflite", sha=None))
    conv = ConvertOptions(keep_shape=True, transposed_data=f["nhwc"])
    rec = _record()
    p = stages.prepare(RunConfig(model=f["model"], data=f["data"], framework="tflite", convert=conv), rec)
    assert p.dataset.x.shape == (4, 3, 2, 2) and rec.data.path == str(f["data"])
    assert p.sha256 is None  # a converted artifact without a hash: none (not the source's)


def test_prepare_with_nothing_to_convert_keeps_the_models_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _files(tmp_path)
    _prepare_stubs(monkeypatch, _converted(str(f["model"]), sha=None))
    p = stages.prepare(RunConfig(model=f["model"], data=f["data"], framework="tflite"), _record())
    assert p.sha256 == hashlib.sha256(b"model bytes").hexdigest() and p.path == f["model"]


# interpret / run_into ---------------------------------------------------------------------------------------------


def test_interpret_a_converted_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    art = tmp_path / "m.tflite"
    art.write_bytes(b"x" * 2000)
    s = _peaks(monkeypatch)
    quality = Calls({"accuracy": 0.5})
    monkeypatch.setattr("bench.metrics.compute", quality)
    monkeypatch.setattr(early_stopping, "estimate", Calls({}))
    m = _measurement(invoke_ns=[3_000_000] * 20)  # all 3 ms: p50 3.0, not noisy
    y = np.arange(3)
    p = stages.Prepared(Path("m.onnx"), "onnx", art, "tflite", "conv-sha", SimpleNamespace(y=y), None)
    rec = _record(machine={"state": {"throttled": False, "throttle_reasons": []}})
    cfg = _config(model_type="regression", use_softmax=True, random_weights=True)
    stages.interpret(cfg, rec, p, _measured(m, StubPower(None), StubRuntime()))
    assert (rec.model.path, rec.model.format, rec.model.sha256, rec.model.size_mb) == (
        str(art),
        "tflite",
        "conv-sha",
        0.002,
    )
    assert rec.conversion == {"source_model": {"path": "m.onnx", "format": "onnx"}}
    assert rec.model.outputs == [{"name": "out", "shape": [1, 10]}]  # outputs (3, 10): one sample is [1, 10]
    assert s["section"].args[0][0][:2] == ({"ops": 1}, 3.0) and s["precision_of"].args[0][0][3:5] == (art, "tflite")
    assert s["device_of"].args[0][0][0] == "onnx" and rec.compute == {"gops": 1.0}
    assert rec.latency.high_variance is False and rec.warnings == []
    assert rec.energy == {"n": 20, "seconds": 2.25}  # 20 invokes in 2_250_000_000 ns
    assert quality.args == [(("regression", y, m.outputs, True), {})]
    assert rec.quality == {"accuracy": 0.5, "not_meaningful": "random weights"}


def test_run_into_convert_only(monkeypatch: pytest.MonkeyPatch) -> None:
    prepare, measure, interpret = Calls("prepared"), Calls("measured"), Calls()
    for name, stub in (("prepare", prepare), ("measure", measure), ("interpret", interpret)):
        monkeypatch.setattr(stages, name, stub)
    rec = _record()
    stages.run_into(_config(convert=ConvertOptions(convert_only=True)), rec, {})
    assert rec.runtime == {"name": "onnx", "note": "convert only: not benchmarked"}
    assert measure.args == [] and interpret.args == []
    cfg, counts = _config(), {"k": 1}
    stages.run_into(cfg, rec, counts)
    assert measure.args == [((cfg, rec, "prepared", counts), {})]
    assert interpret.args == [((cfg, rec, "prepared", "measured"), {})]
