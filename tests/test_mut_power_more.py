"""More power behaviour, fast: every --power-* refusal word for word, an external meter (``--power-cmd``: a shell
one-liner printing watts, run without a shell by argv) through a whole PowerRun with energy per inference by hand,
a meter that fails, hangs or prints no number, RAPL zone choice texts and unreadable zones (sysfs trees written
here)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench import harness
from bench.errors import InputError
from bench.power import PowerOptions, base, command, rapl
from bench.power.base import Unavailable
from bench.power.session import PowerRun

NAMES = ("rapl", "cmd")


@pytest.mark.parametrize(
    "options,problem,fix",
    [
        (PowerOptions(hz=0), "--power-hz 0 is outside (0, 100]", "pass e.g. --power-hz 10"),
        (PowerOptions(idle_s=-1.0), "--idle-s -1.0 is negative", "pass seconds >= 0 (0: no idle window)"),
        (PowerOptions(cmd=" "), "--power-cmd is empty", "pass the meter's command, e.g. --power-cmd 'mymeter --watts'"),
        (PowerOptions(source="cmd"), "--power-source cmd without --power-cmd",
         "pass the meter with --power-cmd 'CMD ARGS'"),
        (PowerOptions(source="rapl", cmd="m"), "--power-cmd with --power-source rapl",
         "leave --power-source out (or pass cmd)"),
    ],
)  # fmt: skip
def test_power_option_refusals_word_for_word(options: PowerOptions, problem: str, fix: str) -> None:
    with pytest.raises(InputError) as err:
        options.validate(NAMES)
    assert (err.value.problem, err.value.fix) == (problem, fix)


def test_slow_sampling_rates_are_allowed() -> None:
    assert PowerOptions(hz=0.5).validate(NAMES).hz == 0.5


def test_read_number_of_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("\n")
    assert base.read_number(tmp_path / "f") is None


def test_meter_through_a_power_run_energy_by_hand(tmp_path: Path) -> None:
    opts = PowerOptions(cmd="sh -c 'echo 4.2 W'", hz=50.0, idle_s=0.1)
    before = harness.listeners()
    with PowerRun(opts, root=tmp_path) as run:
        assert run.reason == "" and run.sampler is not None
        assert run.sampler.phase in harness.listeners()
        assert run.sampler.source.describe() == {
            "source": "cmd",
            "label": "measured",
            "scope": "external meter: sh -c 'echo 4.2 W'",
        }
        for listener in harness.listeners():
            listener("measure")
        deadline = time.monotonic() + 10
        while not run.sampler.watts("measure") and time.monotonic() < deadline:
            time.sleep(0.05)
        run.done()
        time.sleep(0.2)
    assert harness.listeners() == before
    assert run.sampler.watts("idle") and set(run.sampler.watts("idle")) == {4.2}
    assert run.sampler.readings[-1][0] == "done"
    e = run.summary(inferences=10, measured_s=0.5)
    assert e["mean_w"] == 4.2 and e["idle_w"] == 4.2
    assert e["energy_mj_per_inference"] == pytest.approx(4.2 * 0.5 / 10 * 1000)  # 210 mJ
    assert e["above_idle_mj_per_inference"] == 0.0


def test_power_run_without_a_sensor_says_why(tmp_path: Path) -> None:
    with PowerRun(PowerOptions(source="rapl", idle_s=0.0), root=tmp_path) as run:
        run.done()  # nothing to tag
    assert run.sampler is None
    e = run.summary(inferences=10, measured_s=1.0)
    assert e["energy_mj_per_inference"] == "unavailable"
    assert e["reason"] == (
        "no power sensor found (rapl: no /sys/class/powercap/intel-rapl:N/energy_uj (no RAPL, or masked in a container))"
    )
    off = PowerRun(None)
    assert off.options == PowerOptions() and off.reason == "" and off.sampler is None and off.root == Path("/")


def test_meter_failures_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        command.probe_cmd("sh -c 'exit 3'")
    assert err.value.problem.startswith("--power-cmd \"sh -c 'exit 3'\" failed: Command ")
    assert err.value.fix == "run it by hand; it must print watts and exit 0"
    with pytest.raises(InputError) as err:
        command.probe_cmd("sh -c 'echo \"unbalanced")
    assert err.value.problem == "--power-cmd 'sh -c \\'echo \"unbalanced' cannot be split (No closing quotation)"
    assert err.value.fix == "quote it as a shell would"
    long = "x" * 100
    with pytest.raises(InputError) as err:
        command.probe_cmd(f"echo {long}")
    assert err.value.problem == f"--power-cmd 'echo {long}' printed no number: {(long + chr(10))[:80]!r}"
    assert err.value.fix == "make it print the watts, e.g. 4.2"
    with pytest.raises(InputError, match="failed: Command .* timed out after 5.0 seconds"):
        command.probe_cmd("sleep 30")


def test_meter_reads_that_fail_give_no_value(tmp_path: Path) -> None:
    flag = tmp_path / "fail"
    src = command.probe_cmd(f"sh -c 'test -e {flag} && exit 1; echo 3.5'")
    assert src.read_w() == 3.5
    flag.write_text("")
    assert src.read_w() is None  # exit 1: no value, not the number it printed before


def test_rapl_two_packages_and_only_a_package(tmp_path: Path) -> None:
    def zone(root: Path, n: str, name: str) -> None:
        z = root / "sys/class/powercap" / f"intel-rapl:{n}"
        z.mkdir(parents=True)
        (z / "name").write_text(name + "\n")
        (z / "energy_uj").write_text("1\n")
        (z / "max_energy_range_uj").write_text("100\n")

    zone(tmp_path, "0", "package-0")
    zone(tmp_path, "1", "package-1")
    zone(tmp_path, "0:0", "core")  # a subzone: not a top-level zone
    found = rapl.zones(tmp_path)
    assert [z.name for z in found] == ["intel-rapl:0", "intel-rapl:1"]
    chosen, scope = rapl.choose(found)
    assert len(chosen) == 2 and scope == "RAPL package-0, package-1: CPU package energy, not the wall"
    sub = tmp_path / "sub"
    (sub / "sys/class/powercap/intel-rapl:0:0").mkdir(parents=True)
    (sub / "sys/class/powercap/intel-rapl:0:0/energy_uj").write_text("1\n")
    (sub / "sys/class/powercap/intel-rapl:2").mkdir(parents=True)  # top level, no energy_uj
    assert rapl.zones(sub) == []


def test_rapl_unreadable_zones(tmp_path: Path) -> None:
    z = tmp_path / "sys/class/powercap/intel-rapl:0"
    z.mkdir(parents=True)
    (z / "name").write_text("package-0\n")
    (z / "energy_uj").write_text("not a number\n")
    (z / "max_energy_range_uj").write_text("100\n")
    with pytest.raises(Unavailable) as err:
        rapl.probe(tmp_path)
    assert str(err.value) == "RAPL zone unreadable: invalid literal for int() with base 10: 'not a number\\n'"
    (z / "energy_uj").unlink()
    (z / "energy_uj").mkdir()  # exists but cannot be read as a file
    with pytest.raises(Unavailable, match=r"^RAPL zone unreadable: \[Errno 21\] Is a directory"):
        rapl.probe(tmp_path)
