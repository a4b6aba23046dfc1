"""Energy per inference (bench/power): fixture tests on sensor trees laid out as the vendors' code reads them
(tests/fixtures/power/README.md says where each comes from), the sampler, and end-to-end runs on the digits model
with a fake external meter (``--power-cmd``) printing a known wattage. No board here: the Jetson, Pi 5 and RAPL
readers are proven on fixtures, jtop at the contract level with a fake ``jtop`` module."""

from __future__ import annotations

import shutil
import sys
import time
import types
from pathlib import Path

import pytest

from bench import power
from bench.errors import InputError
from bench.power import jetson, jtop, pmic, rapl
from bench.power.base import ESTIMATE, MEASURED, UNAVAILABLE, PowerOptions, PowerSource, Unavailable
from bench.power.sampler import PowerSampler, summarize

FIXTURES = Path(__file__).parent / "fixtures" / "power"
PMIC_TEXT = (FIXTURES / "rpi5_pmic_read_adc.txt").read_text()


def test_jetson_nano_ina3221_reads_the_module_input_rail() -> None:
    source, reason = power.open_source(PowerOptions(source="jetson-ina3221"), FIXTURES / "jetson-nano")
    assert reason == "" and source is not None
    assert source.name == "jetson-ina3221" and source.label == MEASURED and "POM_5V_IN" in source.scope
    assert source.read_w() == pytest.approx(3.864)  # in_power0_input 3864 mW


def test_jetson_nano_without_the_input_rail_sums_rails_as_an_estimate(tmp_path: Path) -> None:
    root = tmp_path / "nano"
    shutil.copytree(FIXTURES / "jetson-nano", root)
    dev = next(root.glob(jetson.IIO_GLOB))
    (dev / "rail_name_0").unlink()
    source = jetson.probe_iio(root)
    assert source.label == ESTIMATE and "POM_5V_CPU, POM_5V_GPU" in source.scope
    assert source.read_w() == pytest.approx((583 + 1166) / 1000)


def test_jetson_orin_hwmon_is_millivolts_times_milliamps_and_skips_channel_7(tmp_path: Path) -> None:
    source = jetson.probe_hwmon(FIXTURES / "jetson-orin")
    assert source.label == MEASURED and "VDD_IN" in source.scope
    assert source.read_w() == pytest.approx(5064 * 1184 / 1e6)
    rails = jetson.hwmon_rails(FIXTURES / "jetson-orin")
    assert sorted(rails) == ["VDD_CPU_GPU_CV", "VDD_IN", "VDD_SOC"]  # "sum of shunt voltages" (7) left out
    root = tmp_path / "orin"
    shutil.copytree(FIXTURES / "jetson-orin", root)
    dev = next(root.glob(jetson.HWMON_GLOB))
    (dev / "in1_label").write_text("NC\n")  # a not-connected channel is skipped, as jtop does
    source = jetson.probe_hwmon(root)
    assert source.label == ESTIMATE
    assert source.read_w() == pytest.approx((5056 * 312 + 5048 * 392) / 1e6)


def test_pi5_pmic_sums_paired_rails_of_real_output() -> None:
    rails = pmic.parse(PMIC_TEXT)
    assert len(rails) == 12 and "EXT5V" not in rails and "BATT" not in rails  # voltage-only channels
    assert rails["VDD_CORE"] == pytest.approx(6.22421 * 0.861733)
    expected = sum(
        a * v
        for a, v in [
            (0.09368929, 3.699776), (0.0878337, 3.310033), (0.1805471, 1.805126), (0.2254398, 1.104761),
            (0.0666672, 0.6014646), (0.1756674, 1.110255), (0.376709, 0.8014644), (6.22421, 0.861733),
            (0.00006105, 3.313183), (0.0003663, 3.306773), (0.0030525, 0.8002922), (0.0241758, 5.08664),
        ]
    )  # fmt: skip
    source = pmic.probe(Path("/"), read=lambda: PMIC_TEXT)
    assert source.label == ESTIMATE and source.read_w() == pytest.approx(expected)
    assert pmic.parse(PMIC_TEXT.replace("\n", "\x00")) == rails  # the mailbox's NUL-separated form
    with pytest.raises(Unavailable, match="no rail"):
        pmic.probe(Path("/"), read=lambda: 'error=1 error_msg="Command not registered"\n')


def test_rapl_power_from_counter_differences_across_a_wrap(tmp_path: Path) -> None:
    root = tmp_path / "rapl"
    shutil.copytree(FIXTURES / "rapl", root)
    zone = root / "sys/class/powercap/intel-rapl:0"
    max_uj = int((zone / "max_energy_range_uj").read_text())
    start = int((zone / "energy_uj").read_text())
    now = [100.0]
    source = rapl.probe(root, clock=lambda: now[0])
    assert [z.name for z in rapl.zones(root)] == ["intel-rapl:0"]  # the core sub-zone is not added again
    assert source.label == ESTIMATE and "package-0" in source.scope
    (zone / "energy_uj").write_text(str(start + 3_000_000))  # 3 J in 0.5 s
    now[0] = 100.5
    assert source.read_w() == pytest.approx(6.0)
    (zone / "energy_uj").write_text("171149")  # wrapped: 328850 - 3000000 ... past the top, then up to 171149
    now[0] = 101.0
    before = start + 3_000_000
    expected_uj = (max_uj - before) + 1 + 171149
    assert rapl.delta_uj(before, 171149, max_uj) == expected_uj
    assert source.read_w() == pytest.approx(expected_uj / 1e6 / 0.5)


def test_rapl_unreadable_counter_is_unavailable_with_the_reason(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "rapl"
    shutil.copytree(FIXTURES / "rapl", root)

    def denied(self: rapl.Rapl) -> list:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rapl.Rapl, "_counters", denied)
    with pytest.raises(Unavailable, match="root only"):
        rapl.probe(root)


CONTAINER_RAPL = "run/edgebench/powercap/intel-rapl"  # where the launcher's host profile mounts the powercap tree


def _bump(zone: Path, joules: float) -> None:
    (zone / "energy_uj").write_text(str(int((zone / "energy_uj").read_text()) + round(joules * 1e6)))


def test_rapl_in_a_container_with_psys_counts_the_package_once(tmp_path: Path) -> None:
    """Fixture test: a laptop's powercap tree as the host container sees it (package-0, its core and uncore
    sub-zones, psys, and the MMIO copy of package-0). In 0.5 s the package used 3 J, the platform 5 J (package
    included): 6 W, not 16 W (package + psys) or 22 W (package + psys + the MMIO copy)."""
    root = tmp_path / "c"
    shutil.copytree(FIXTURES / "rapl-container", root)
    now = [10.0]
    source = rapl.probe(root, clock=lambda: now[0])
    zones = root / CONTAINER_RAPL
    _bump(zones / "intel-rapl:0", 3.0)
    _bump(zones / "intel-rapl:1", 5.0)
    _bump(root / "run/edgebench/powercap/intel-rapl-mmio/intel-rapl-mmio:0", 3.0)
    _bump(zones / "intel-rapl:0/intel-rapl:0:0", 2.0)
    now[0] = 10.5
    assert source.read_w() == pytest.approx(6.0)
    assert "package-0" in source.scope and "psys not added" in source.scope and source.label == ESTIMATE


def test_rapl_with_psys_only_reads_it_alone_as_the_platform(tmp_path: Path) -> None:
    root = tmp_path / "c"
    shutil.copytree(FIXTURES / "rapl-container", root)
    shutil.rmtree(root / CONTAINER_RAPL / "intel-rapl:0")
    now = [10.0]
    source = rapl.probe(root, clock=lambda: now[0])
    _bump(root / CONTAINER_RAPL / "intel-rapl:1", 5.0)
    now[0] = 10.5
    assert source.read_w() == pytest.approx(10.0) and "psys: platform energy" in source.scope
    (root / CONTAINER_RAPL / "intel-rapl:1/name").write_text("dram\n")
    with pytest.raises(Unavailable, match="no package-. or psys RAPL zone .zones: dram"):
        rapl.probe(root)


class _Trace:
    """A synthetic machine: piecewise-constant watts from the given start times; the RAPL counter in the fixture
    tree holds its integral (uJ) at the fake clock's time."""

    def __init__(self, zone: Path, steps: list) -> None:
        self.zone, self.steps, self.t = zone, steps, 0.0
        self.start_uj = int((zone / "energy_uj").read_text())

    def joules(self, t: float) -> float:
        total = 0.0
        for (t0, w), (t1, _) in zip(self.steps, self.steps[1:] + [(float("inf"), 0.0)]):
            total += w * max(0.0, min(t, t1) - t0)
        return total

    def advance(self, t: float) -> None:
        self.t = t
        (self.zone / "energy_uj").write_text(str(self.start_uj + round(self.joules(t) * 1e6)))


def test_counter_source_energy_is_the_measured_window_not_one_read_late(tmp_path: Path) -> None:
    """Synthetic trace, expected values by hand: idle 4 W until 1.05 s, warm-up 12 W until 1.55 s, measure 8 W until
    2.55 s, then 4 W; the sampler reads every 0.1 s and the phases change between reads. The measure phase's mean
    is 8 W; a reading tagged with the phase at the read would give (10 + 9 x 8) / 10 = 8.2 W (+2.5 %): the read
    at 1.6 s covers 1.5-1.6 s, half warm-up. 100 inferences in the 1.0 s measured: 8 W x 1 s / 100 = 80 mJ each,
    (8 - 4) W x 1 s / 100 = 40 mJ above idle."""
    root = tmp_path / "c"
    shutil.copytree(FIXTURES / "rapl-container", root)
    trace = _Trace(root / CONTAINER_RAPL / "intel-rapl:0", [(0.0, 4.0), (1.05, 12.0), (1.55, 8.0), (2.55, 4.0)])
    source = rapl.probe(root, clock=lambda: trace.t)  # primed at t = 0
    sampler = PowerSampler(source, hz=10, clock=lambda: trace.t)  # driven by hand: no thread
    changes = {1.05: "warm-up", 1.55: "measure", 2.55: "done"}
    events = sorted([(round(0.1 * k, 2), None) for k in range(1, 31)] + list(changes.items()))
    for t, phase in events:
        trace.advance(t)
        sampler.phase(phase) if phase else sampler._read()
    e = summarize(sampler, inferences=100, measured_s=1.0, idle_s=1.0)
    assert e["idle_w"] == pytest.approx(4.0, rel=1e-9) and e["mean_w"] == pytest.approx(8.0, rel=1e-9)
    assert e["energy_mj_per_inference"] == pytest.approx(80.0, rel=1e-9)
    assert e["above_idle_mj_per_inference"] == pytest.approx(40.0, rel=1e-9)


def test_above_idle_energy_of_a_constant_meter_is_exactly_zero() -> None:
    """A meter that prints 3.3 W throughout: one idle reading, three measured (fmean([3.3] * 3) is not 3.3)."""
    from bench.power.sampler import energy_text

    source = _Scripted()
    source.watts = 3.3
    sampler = PowerSampler(source, hz=10)
    sampler._read()
    sampler.phase("measure")
    for _ in range(3):
        sampler._read()
    e = summarize(sampler, inferences=10, measured_s=0.3, idle_s=0.1)
    assert e["above_idle_mj_per_inference"] == 0.0 and e["mean_w"] == 3.3
    assert "(0 above idle)" in energy_text([e])


def test_jtop_service_is_the_source_contract_with_a_fake_module(tmp_path: Path, monkeypatch) -> None:
    """Contract test: the calls jetson-stats 4.x offers (jtop(interval=), start, ok, power, close), faked."""
    (tmp_path / "run").mkdir()
    calls = []

    class FakeJtop:
        def __init__(self, interval: float) -> None:
            calls.append(("init", interval))
            self.power = {"rail": {}, "tot": {"power": 7250, "name": "VDD_IN"}}
            self.interval_user = interval

        def start(self) -> None:
            calls.append(("start",))
            self.interval = 1.0  # jtop/jtop.py: the service's interval, set by the client that started it

        def ok(self) -> bool:
            return True

        def close(self) -> None:
            calls.append(("close",))

    monkeypatch.setitem(sys.modules, "jtop", types.SimpleNamespace(jtop=FakeJtop))
    with pytest.raises(Unavailable, match="no jtop service socket"):
        jtop.probe(tmp_path)
    (tmp_path / "run/jtop.sock").write_text("")
    source, _ = power.open_source(PowerOptions(), tmp_path)  # auto: jtop first
    assert source is not None and source.name == "jtop" and source.label == MEASURED
    assert source.read_w() == pytest.approx(7.25)
    described = source.describe()  # the interval in force is the service's, not the one asked for
    assert described["update_interval_s"] == 1.0 and described["requested_interval_s"] == 0.1
    assert "updated every 1 s (the service's interval; asked 0.1 s)" in source.scope
    source.close()
    assert calls == [("init", 0.1), ("start",), ("close",)]


def test_no_sensor_says_unavailable_with_every_reason(tmp_path: Path) -> None:
    source, reason = power.open_source(PowerOptions(), tmp_path)
    assert source is None
    for name in ("jtop", "jetson-ina3221", "jetson-hwmon", "rpi5-pmic", "rapl"):
        assert f"{name}:" in reason
    from bench.power.sampler import unavailable

    energy = unavailable(reason)
    assert energy["energy_mj_per_inference"] == UNAVAILABLE and energy["mean_w"] == UNAVAILABLE
    assert energy["reason"] == reason


@pytest.mark.parametrize(
    "options, match",
    [
        (PowerOptions(source="bogus"), "--power-source"),
        (PowerOptions(hz=0), "--power-hz"),
        (PowerOptions(idle_s=-1), "--idle-s"),
        (PowerOptions(cmd="  "), "--power-cmd is empty"),
        (PowerOptions(source="rapl", cmd="x"), "--power-cmd with --power-source rapl"),
        (PowerOptions(source="cmd"), "--power-source cmd without --power-cmd"),
        (PowerOptions(cmd="/nonexistent/meter"), "failed"),
        (PowerOptions(cmd=f"{sys.executable} -c \"print('no number')\""), "printed no number"),
    ],
)
def test_bad_power_options_are_one_clear_error(options: PowerOptions, match: str) -> None:
    with pytest.raises(InputError, match=match):
        power.open_source(options)


class _Scripted(PowerSource):
    name, label, scope = "scripted", MEASURED, "test"

    def __init__(self) -> None:
        self.watts = 2.0

    def read_w(self) -> float:
        return self.watts


def test_sampler_tags_phases_and_energy_is_mean_watts_times_time_over_inferences() -> None:
    source = _Scripted()
    sampler = PowerSampler(source, hz=50).start()
    time.sleep(0.3)  # idle at 2 W
    sampler.phase("warm-up")
    source.watts = 9.0  # warm-up readings are not used
    time.sleep(0.2)
    sampler.phase("measure")
    source.watts = 5.0
    time.sleep(0.3)
    sampler.phase("done")
    source.watts = 100.0
    time.sleep(0.1)
    sampler.stop()
    assert not sampler._thread.is_alive()
    e = summarize(sampler, inferences=200, measured_s=0.3, idle_s=0.3)
    assert e["idle_w"] == pytest.approx(2.0) and e["mean_w"] == pytest.approx(5.0)
    assert e["energy_mj_per_inference"] == pytest.approx(5.0 * 0.3 / 200 * 1000)
    assert e["above_idle_mj_per_inference"] == pytest.approx(3.0 * 0.3 / 200 * 1000)
    assert 10 <= e["samples"]["idle"] <= 17 and 10 <= e["samples"]["measure"] <= 17  # 50 Hz, sleeping between


def test_sampler_sleeps_between_reads() -> None:
    cpu0 = time.process_time()
    sampler = PowerSampler(_Scripted(), hz=10).start()
    time.sleep(1.0)
    sampler.stop()
    assert 9 <= len(sampler.readings) <= 12
    assert time.process_time() - cpu0 < 0.05  # ten reads a second, asleep in between


@pytest.fixture()
def meter(tmp_path: Path) -> str:
    script = tmp_path / "meter.sh"  # a meter's script: prints the watts once and exits
    script.write_text("#!/bin/sh\necho '4.25 W'\n")
    script.chmod(0o755)
    return str(script)


def _digits_config(tmp_path: Path, **kw):
    from bench import models
    from bench.config import RunConfig, Timing

    return RunConfig(
        model=models.DIGITS_ONNX,
        data=models.DIGITS_TEST_DATA,
        framework="onnx",
        timing=Timing(warmup_runs=5, warmup_min_s=0.0, min_runs=50, min_time_s=1.0),
        output=tmp_path / "results.jsonl",
        **kw,
    )


def test_power_cmd_run_energy_per_inference_equals_the_value_computed_here(tmp_path: Path, meter: str) -> None:
    from .conftest import require

    require("onnxruntime")
    from bench import runner

    opts = PowerOptions(cmd=meter, idle_s=0.5)
    record = runner.run_and_record(_digits_config(tmp_path, power=opts))
    e = record.energy
    assert e["source"] == "cmd" and e["label"] == MEASURED and e["hz"] == 10.0
    assert e["mean_w"] == 4.25 and e["idle_w"] == 4.25 and e["samples"]["measure"] >= 3
    n, seconds = record.latency.invoke["count"], record.latency.measured_s
    assert e["energy_mj_per_inference"] == pytest.approx(4.25 * seconds / n * 1000.0)
    assert e["above_idle_mj_per_inference"] == pytest.approx(0.0)
    assert record.options["power"]["cmd"] == meter
    assert record.machine["start_temp_c"] is None or isinstance(record.machine["start_temp_c"], float)


def test_cli_power_cmd_and_unavailable_energy_in_the_record(tmp_path: Path, meter: str) -> None:
    from .conftest import require, run_cli

    require("onnxruntime")
    from bench import models
    from bench.records import read_records

    out = tmp_path / "r.jsonl"
    common = [str(models.DIGITS_ONNX), str(models.DIGITS_TEST_DATA), "--framework", "onnx", "--output", str(out)]
    common += ["--min-runs", "20", "--min-time-s", "0.3", "--warmup-min-s", "0"]
    done = run_cli("run", *common, "--power-cmd", meter, "--idle-s", "0.3")
    assert done.returncode == 0, done.stderr
    done = run_cli("run", *common, "--power-source", "none")
    assert done.returncode == 0, done.stderr
    bad = run_cli("run", *common, "--power-cmd", "/nonexistent/meter")
    errors = [line for line in bad.stderr.splitlines() if line.startswith("edgebench: error:")]
    assert bad.returncode == 2 and len(errors) == 1, bad.stderr  # one line naming the problem and the fix
    assert "--power-cmd '/nonexistent/meter' failed" in errors[0] and "run it by hand" in errors[0]
    records = list(read_records(out))
    assert records[0]["energy"]["mean_w"] == 4.25
    assert records[1]["energy"]["energy_mj_per_inference"] == UNAVAILABLE
    assert "switched off" in records[1]["energy"]["reason"]


def test_report_shows_energy_and_environment_differences(tmp_path: Path, meter: str) -> None:
    from .conftest import require

    require("onnxruntime")
    require("rich")
    from rich.console import Console

    from bench import record_groups, report, runner

    record = runner.run(_digits_config(tmp_path, power=PowerOptions(cmd=meter, idle_s=0.3))).to_dict()
    other = json_copy(record)
    other["machine"]["cpu"]["governor"] = "powersave"
    other["runtime"]["versions"] = {"onnxruntime": "0.0-other"}
    console = Console(record=True, width=200)
    report.print_records([record, other], console=console)
    text = console.export_text()
    mj = record["energy"]["energy_mj_per_inference"]
    assert f"energy {mj:.4g} mJ/inference (0 above idle), 4.25 W, idle 4.25 W; measured: cmd" in text
    diffs = record_groups.environment_differences([record, other])
    assert len(diffs) == 2 and "CPU governor differs" in diffs[0] and "(1 run)" in diffs[0]
    assert "onnx versions differs" in diffs[1] and "onnxruntime 0.0-other (1 run)" in diffs[1]
    assert f"ENVIRONMENT DIFFERS, {diffs[0]}" in text
    assert record_groups.environment_differences([record, json_copy(record)]) == []
    md = report.render([record], "markdown")
    assert f"energy {mj:.4g} mJ/inference" in md


def json_copy(d: dict) -> dict:
    import json

    return json.loads(json.dumps(d))


# ---------- the launcher gives each profile's container exactly its sensors, read-only ----------


def test_profiles_name_only_their_own_sensors() -> None:
    from launcher import profiles

    p = profiles.PROFILES
    assert p["host"].sensors == (("/sys/devices/virtual/powercap", "/run/edgebench/powercap"),)
    assert p["rpi5"].sensor_devices == ("/dev/vcio_gencmd", "/dev/vcio") and p["rpi5"].sensors == (
        ("/usr/bin/vcgencmd",) * 2,
    )
    for name in ("jetson-nano", "jetson-orin"):
        assert dict(p[name].sensors) == {
            "/sys/bus/i2c/drivers/ina3221x": "/sys/bus/i2c/drivers/ina3221x",
            "/sys/bus/i2c/drivers/ina3221": "/sys/bus/i2c/drivers/ina3221",
            "/run/jtop.sock": "/run/jtop.sock",
        }
    assert [n for n, prof in p.items() if prof.sensor_devices] == ["rpi5"]  # /dev/vcio only where vcgencmd needs it
    assert not p["rpi4"].sensors and not p["rpi-coral"].sensors  # the Pi 4 has no PMIC ADC


def test_container_spec_mounts_present_sensors_read_only_and_adds_vcio_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import os
    import socket

    from .conftest import require

    require("docker")
    from launcher import devices, profiles
    from launcher.container import Job, container_options

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    tree = tmp_path / "ina3221"
    tree.mkdir()
    sock_path = tmp_path / "jtop.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    os.chown(sock_path, 0, 4242)
    orin = dataclasses.replace(
        profiles.PROFILES["jetson-orin"],
        sensors=((str(tree), "/sys/bus/i2c/drivers/ina3221"), (str(sock_path), "/run/jtop.sock"), ("/absent", "/x")),
    )
    opts = container_options(Job(profile=orin, bench_argv=("demo",)), "arm64", {})
    sensor = {m["Target"]: m for m in opts["mounts"] if m["Source"] in (str(tree), str(sock_path))}
    assert set(sensor) == {"/sys/bus/i2c/drivers/ina3221", "/run/jtop.sock"}
    assert all(m["ReadOnly"] and m["Type"] == "bind" for m in sensor.values())
    assert "/x" not in [m["Target"] for m in opts["mounts"]]  # absent on this machine: not mounted
    assert opts["group_add"] == ["4242"] and "devices" not in opts  # the socket's group, no device node
    assert devices.sensor_mounts(orin, local=False) == [] and devices.sensor_options(orin, local=False) == {}
    server.close()

    vcio = tmp_path / "vcio"
    vcio.write_text("")
    os.chown(vcio, 0, 44)
    rpi5 = dataclasses.replace(profiles.PROFILES["rpi5"], sensor_devices=(str(vcio),), sensors=())
    opts = container_options(Job(profile=rpi5, bench_argv=("demo",)), "arm64", {})
    assert opts["devices"] == [f"{vcio}:{vcio}:r"] and opts["group_add"] == ["44"]
    assert "privileged" not in opts and opts["cap_drop"] == ["ALL"]
    argv = devices.docker_run_argv(opts, "img", ["demo"])
    assert argv[argv.index("--device") + 1] == f"{vcio}:{vcio}:r" and "--group-add" in argv
    host = container_options(Job(profile=profiles.PROFILES["host"], bench_argv=("demo",)), "amd64", {})
    present = Path("/sys/devices/virtual/powercap").exists()
    assert any(m["Target"] == "/run/edgebench/powercap" and m["ReadOnly"] for m in host["mounts"]) == present


def test_comparison_report_shows_energy_per_config_median_over_rounds(tmp_path: Path) -> None:
    from .conftest import require

    require("rich")
    from rich.console import Console

    from bench import report

    def rec(label: str, rnd: int, mj: float) -> dict:
        return {
            "framework": "onnx", "status": "ok", "model": {"path": "m.onnx", "sha256": "x"},
            "machine": {"board": {"id": "jetson-orin"}}, "runtime": {"versions": {"onnxruntime": "1"}},
            "latency": {"invoke": {"p50_ms": 1.0, "count": 10}},
            "compare": {"id": "c1", "label": label, "config": label, "round": rnd, "rounds": 3, "baseline": "onnx",
                        "labels": ["onnx"], "position": 0},
            "energy": {"source": "jetson-hwmon", "label": MEASURED, "scope": "VDD_IN rail", "mean_w": 5.0,
                       "idle_w": 3.0, "energy_mj_per_inference": mj, "above_idle_mj_per_inference": mj / 2},
        }  # fmt: skip

    records = [rec("onnx", 0, 2.0), rec("onnx", 1, 3.0), rec("onnx", 2, 10.0)]
    console = Console(record=True, width=250)
    report.print_comparison(records, console=console)
    text = console.export_text()
    assert "jetson-orin onnx: energy 3 mJ/inference (1.5 above idle), 5 W, idle 3 W; measured: jetson-hwmon" in text
    unavailable_only = [dict(r, energy={"energy_mj_per_inference": UNAVAILABLE}) for r in records]
    console = Console(record=True, width=250)
    report.print_comparison(unavailable_only, console=console)
    assert "energy" not in console.export_text()  # nothing measured: no energy line, never a 0
