"""Power sources by behaviour, fast (bench/power/): the Pi 5 PMIC reader on the captured ``vcgencmd pmic_read_adc``
output (tests/fixtures/power/rpi5_pmic_read_adc.txt) with the rails' products typed in here by hand from that file,
the command run through a stand-in ``vcgencmd`` script on PATH (what the binary prints on a Pi 5; no Pi here), the
search over probes and its reasons, a sysfs number reader, the report's energy line and the jtop source's scope
and label (contract level: a stand-in client with jetson-stats 4.x's attributes, rbonghi/jetson_stats
``jtop/jtop.py``)."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.power import base, jtop, pmic
from bench.power.base import ESTIMATE, MEASURED, PowerSource, Unavailable
from bench.power.sampler import energy_text, unavailable

PMIC_TEXT = (Path(__file__).parent / "fixtures" / "power" / "rpi5_pmic_read_adc.txt").read_text()
#: (amps, volts) of each rail with both lines in the fixture, typed from it
PAIRS = {
    "3V7_WL_SW": (0.09368929, 3.69977600),
    "3V3_SYS": (0.08783370, 3.31003300),
    "1V8_SYS": (0.18054710, 1.80512600),
    "DDR_VDD2": (0.22543980, 1.10476100),
    "DDR_VDDQ": (0.06666720, 0.60146460),
    "1V1_SYS": (0.17566740, 1.11025500),
    "0V8_SW": (0.37670900, 0.80146440),
    "VDD_CORE": (6.22421000, 0.86173300),
    "3V3_DAC": (0.00006105, 3.31318300),
    "3V3_ADC": (0.00036630, 3.30677300),
    "0V8_AON": (0.00305250, 0.80029220),
    "HDMI": (0.02417580, 5.08664000),
}
TOTAL_W = float(np.sum([a * v for a, v in PAIRS.values()]))


def test_pmic_rails_of_the_captured_output() -> None:
    rails = pmic.parse(PMIC_TEXT)
    assert list(rails) == sorted(PAIRS)  # sorted by name; EXT5V_V and BATT_V (no current) left out
    for rail, (a, v) in PAIRS.items():
        assert rails[rail] == pytest.approx(a * v, rel=1e-12)
    assert pmic.Pmic(lambda: PMIC_TEXT).read_w() == pytest.approx(TOTAL_W, rel=1e-12)


def test_pmic_parse_edge_lines() -> None:
    assert pmic.parse("X_A current(1)=2.5A\nX_V volt(2)=4.0V\n") == {"X": 10.0}
    assert pmic.parse("X_A current(1)=2.5A\x00X_V volt(2)=4.0V\x00") == {"X": 10.0}
    assert pmic.parse("X_A current(1)=2.5A\n") == {}  # no voltage line
    assert pmic.parse("X_A current(1)=1e-1A\nX_V volt(2)=+2E1V\n") == {"X": pytest.approx(2.0)}
    assert pmic.parse("X_A current(1)=1.2.3A\nX_V volt(2)=4.0V\nY_A current(3)=1A\nY_V volt(4)=2V\n") == {"Y": 2.0}
    assert pmic.parse("X_A current(1)=2A\nX_V current(2)=3V\n") == {"X": 6.0}  # unit from the name's suffix
    assert pmic.parse('error=1 error_msg="Command not registered"\n') == {}


def _fake_vcgencmd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """A ``vcgencmd`` on PATH that checks its arguments and prints what the Pi 5's does."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / "vcgencmd"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return script


def test_vcgencmd_run_and_probe_on_the_real_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out.txt").write_text(PMIC_TEXT)
    _fake_vcgencmd(tmp_path, monkeypatch, f'[ "$1 $2" = "pmic_read_adc " ] || exit 9\ncat "{tmp_path}/out.txt"\n')
    assert pmic.run_vcgencmd() == PMIC_TEXT
    source = pmic.probe(Path("/"))
    assert isinstance(source, pmic.Pmic) and source.read_w() == pytest.approx(TOTAL_W, rel=1e-12)
    assert source.describe() == {
        "source": "rpi5-pmic",
        "label": ESTIMATE,
        "scope": "sum of the Raspberry Pi 5 PMIC rails (current x voltage); USB/HAT 5 V draw and PMIC losses excluded",
    }


def test_vcgencmd_failing_or_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_vcgencmd(tmp_path, monkeypatch, "echo 'VCHI initialization failed' >&2\nexit 1\n")
    with pytest.raises(subprocess.CalledProcessError):
        pmic.run_vcgencmd()
    with pytest.raises(Unavailable, match=r"^`vcgencmd pmic_read_adc` failed: Command .* returned non-zero exit"):
        pmic.probe(Path("/"))
    assert pmic.Pmic().read_w() is None
    _fake_vcgencmd(tmp_path, monkeypatch, "echo 'error=1 error_msg=\"Command not registered\"'\n")
    with pytest.raises(Unavailable) as err:
        pmic.probe(Path("/"))
    assert str(err.value) == "`vcgencmd pmic_read_adc` printed no rail (not a Raspberry Pi 5, or old firmware)"


def test_vcgencmd_that_hangs_is_cut_at_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_vcgencmd(tmp_path, monkeypatch, "exec sleep 30\n")
    with pytest.raises(subprocess.TimeoutExpired) as err:
        pmic.run_vcgencmd()
    assert err.value.timeout == 2.0 == pmic.TIMEOUT_S


def test_pmic_probe_away_from_the_real_root_or_without_vcgencmd(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(Unavailable) as err:
        pmic.probe(tmp_path)
    assert str(err.value) == "vcgencmd is only run on the real root"
    monkeypatch.setenv("PATH", str(tmp_path))  # no vcgencmd on it
    with pytest.raises(Unavailable) as err:
        pmic.probe(Path("/"))
    assert str(err.value) == "vcgencmd not installed (Raspberry Pi 5 PMIC)"
    assert pmic.probe(tmp_path, read=lambda: PMIC_TEXT).read_w() == pytest.approx(TOTAL_W)

    def broken() -> str:
        raise OSError("no /dev/vcio")

    with pytest.raises(Unavailable) as err:
        pmic.probe(tmp_path, read=broken)
    assert str(err.value) == "`vcgencmd pmic_read_adc` failed: no /dev/vcio"
    assert pmic.Pmic(broken).read_w() is None
    assert pmic.Pmic(lambda: "").read_w() is None


# ---------- the search over sources ----------


class Fixed(PowerSource):
    def __init__(self, name: str) -> None:
        self.name, self.label, self.scope = name, MEASURED, f"{name} scope"


def _no(why: str):
    def probe(root: Path) -> PowerSource:
        raise Unavailable(why)

    return probe


def test_find_takes_the_first_working_probe(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seen = []

    def second(root: Path) -> PowerSource:
        seen.append(root)
        return Fixed("b")

    with caplog.at_level(logging.INFO, logger="bench.power.base"):
        source, why = base.find([("a", _no("no a")), ("b", second), ("c", lambda r: Fixed("c"))], tmp_path)
    assert source is not None and source.name == "b" and why == "" and seen == [tmp_path]
    assert [r.getMessage() for r in caplog.records] == ["power source: b (measured, b scope)"]


def test_find_without_a_source_gives_every_reason() -> None:
    source, why = base.find([("a", _no("no a")), ("b", _no("no b here"))], Path("/"))
    assert source is None
    assert why == "no power sensor found (a: no a; b: no b here)"
    assert base.find([], Path("/")) == (None, "no power sensor found ()")


def test_find_lets_other_errors_through() -> None:
    def bad(root: Path) -> PowerSource:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        base.find([("a", bad)], Path("/"))


def test_read_number(tmp_path: Path) -> None:
    f = tmp_path / "v"
    for text, value in (("32760 ma\n", 32760.0), (" 5.5\n", 5.5), ("", None), ("  \n", None), ("abc", None)):
        f.write_text(text)
        assert base.read_number(f) == value, text
    assert base.read_number(tmp_path / "missing") is None


def test_power_options_edges() -> None:
    names = ("rapl", "cmd")
    assert base.PowerOptions(hz=100.0).validate(names).hz == 100.0
    assert base.PowerOptions(idle_s=0.0, source="none").validate(names).idle_s == 0.0
    with pytest.raises(base.InputError, match=r"--power-hz 100\.5 is outside \(0, 100\]"):
        base.PowerOptions(hz=100.5).validate(names)
    with pytest.raises(base.InputError, match=r"--power-source 'x' is unknown") as err:
        base.PowerOptions(source="x").validate(names)
    assert err.value.fix == "use one of: auto, none, rapl, cmd"
    with pytest.raises(base.InputError, match="--power-source cmd without --power-cmd"):
        base.PowerOptions(source="cmd").validate(names)
    assert base.PowerOptions(source="cmd", cmd="m --w").validate(names).cmd == "m --w"
    with pytest.raises(base.InputError, match=r"--idle-s -0\.5 is negative"):
        base.PowerOptions(idle_s=-0.5).validate(names)
    assert (base.DEFAULT_HZ, base.DEFAULT_IDLE_S, base.MAX_HZ) == (10.0, 2.0, 100.0)


# ---------- the report's energy line ----------


def _energy(total: float, above, mean_w: float, idle_w, label: str = MEASURED) -> dict:
    return {
        "energy_mj_per_inference": total,
        "above_idle_mj_per_inference": above,
        "mean_w": mean_w,
        "idle_w": idle_w,
        "label": label,
        "source": "rpi5-pmic",
        "scope": "PMIC rails",
    }


def test_energy_text_medians_over_rounds() -> None:
    runs = [_energy(10.0, 4.0, 5.0, 3.0), _energy(30.0, 8.0, 7.0, 4.0, ESTIMATE), _energy(20.0, 6.0, 6.0, 3.5), {}]
    assert energy_text(runs) == (
        "energy 20 mJ/inference (6 above idle), 6 W, idle 3.5 W; measured: rpi5-pmic, PMIC rails"
    )


def test_energy_text_rounding_and_missing_parts() -> None:
    one = _energy(1.234567, None, 4.5678, None)
    assert energy_text([one]) == "energy 1.235 mJ/inference (no idle reading), 4.57 W; measured: rpi5-pmic, PMIC rails"
    two = [_energy(1.0, 0.5, 2.0, 1.0), _energy(2.0, 1.5, 4.0, 3.0)]  # even count: the mean of the middle two
    assert energy_text(two) == "energy 1.5 mJ/inference (1 above idle), 3 W, idle 2 W; measured: rpi5-pmic, PMIC rails"
    text_values = [_energy(2.0, "unavailable", 3.0, "unavailable")]
    assert energy_text(text_values) == ("energy 2 mJ/inference (no idle reading), 3 W; measured: rpi5-pmic, PMIC rails")


def test_energy_text_without_any_measurement() -> None:
    assert energy_text([]) is None
    assert energy_text([{}, {}]) is None
    assert energy_text([unavailable("no sensor")]) is None


def test_unavailable_record() -> None:
    assert unavailable("no power sensor found (x)") == {
        "source": "unavailable",
        "label": "unavailable",
        "mean_w": "unavailable",
        "idle_w": "unavailable",
        "energy_mj_per_inference": "unavailable",
        "above_idle_mj_per_inference": "unavailable",
        "reason": "no power sensor found (x)",
    }


# ---------- jtop (contract level: a stand-in client) ----------


class Client:
    def __init__(self, power, interval=None, ok: bool = True) -> None:
        self.power, self._ok, self.closed = power, ok, 0
        if interval is not None:
            self.interval = interval

    def ok(self) -> bool:
        return self._ok

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("rail", ["VDD_IN", "POM_5V_IN"])
def test_jtop_total_rail_is_measured(rail: str) -> None:
    src = jtop.Jtop(Client({"tot": {"power": 4321, "name": rail}}, interval=0.5), 0.25)
    assert src.label == MEASURED and src.read_w() == pytest.approx(4.321)
    assert src.scope == (
        f"jtop service, {rail} rail: the module's input, updated every 0.5 s (the service's interval; asked 0.25 s)"
    )
    assert src.describe() == {
        "source": "jtop",
        "label": MEASURED,
        "scope": src.scope,
        "update_interval_s": 0.5,
        "requested_interval_s": 0.25,
    }
    src.close()
    assert src.client.closed == 1


def test_jtop_sum_of_rails_and_unknown_interval() -> None:
    src = jtop.Jtop(Client({"tot": {"power": 2500}}, interval="1.0"), 1.0)  # not a number: unknown
    assert src.label == ESTIMATE and src.update_interval_s is None
    assert src.scope == "jtop service, sum of rails (not the whole board), the service's interval unknown (asked 1 s)"
    assert src.read_w() == pytest.approx(2.5)
    assert jtop.Jtop(Client({"tot": {"power": 2500}}, interval=2), 1.0).update_interval_s == 2.0


def test_jtop_reads_nothing_when_the_client_is_not_ok_or_has_no_total() -> None:
    assert jtop.Jtop(Client({"tot": {"power": 2500, "name": "VDD_IN"}}, ok=False), 0.5).read_w() is None
    assert jtop.Jtop(Client({"tot": {}}), 0.5).read_w() is None
    none = jtop.Jtop(Client(None), 0.5)
    assert none.read_w() is None and none.label == ESTIMATE
    # a board where jtop found no power sensor: get_status returns {} (jetson_stats jtop/core/power.py)
    no_sensors = jtop.Jtop(Client({}), 0.5)
    assert no_sensors.read_w() is None and no_sensors.label == ESTIMATE
    assert no_sensors.scope.startswith("jtop service, sum of rails")


def test_jtop_probe_socket_package_and_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    with pytest.raises(Unavailable) as err:
        jtop.probe(tmp_path)
    assert str(err.value) == "no jtop service socket /run/jtop.sock"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "jtop.sock").write_text("")
    monkeypatch.setitem(sys.modules, "jtop", None)  # import fails
    with pytest.raises(Unavailable) as err:
        jtop.probe(tmp_path)
    assert str(err.value) == "/run/jtop.sock exists but the jetson-stats package is not installed here"

    class Down(Client):
        def __init__(self, interval: float) -> None:
            super().__init__({"tot": {"power": 1000, "name": "VDD_IN"}})
            self.asked = interval

        def start(self) -> None:
            raise RuntimeError("The jtop.service is not active")

    monkeypatch.setitem(sys.modules, "jtop", types.SimpleNamespace(jtop=Down))
    with pytest.raises(Unavailable) as err:
        jtop.probe(tmp_path)
    assert str(err.value) == "jtop service: The jtop.service is not active"

    class Up(Down):
        def start(self) -> None:
            self.interval = self.asked

    monkeypatch.setitem(sys.modules, "jtop", types.SimpleNamespace(jtop=Up))
    src = jtop.probe(tmp_path)
    assert src.requested_interval_s == 0.5 and src.update_interval_s == 0.5 and src.read_w() == 1.0
    assert jtop.probe(tmp_path, interval_s=0.2).update_interval_s == 0.2
