"""Jetson INA3221 and RAPL readers by behaviour on small sysfs trees written here (the files and units the kernel
drivers expose: JetPack 4 ``iio:deviceN/rail_name_K`` + ``in_powerK_input`` mW; JetPack 5/6 hwmon ``inK_label``,
``inK_input`` mV, ``currK_input`` mA, channel 7 the shunt sum; RAPL ``energy_uj`` and ``max_energy_range_uj``).
Expected watts computed by hand. Fast: files only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.power import jetson, rapl
from bench.power.base import ESTIMATE, MEASURED, Unavailable


def _hwmon(root: Path, channels: dict) -> Path:
    dev = root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3"
    dev.mkdir(parents=True)
    for k, (label, mv, ma) in channels.items():
        if label is not None:
            (dev / f"in{k}_label").write_text(label + "\n")
        if mv is not None:
            (dev / f"in{k}_input").write_text(f"{mv}\n")
        if ma is not None:
            (dev / f"curr{k}_input").write_text(f"{ma}\n")
    return dev


def test_hwmon_input_rail_is_measured(tmp_path: Path) -> None:
    _hwmon(tmp_path, {1: ("VDD_IN", 5000, 1200), 2: ("VDD_CPU_GPU_CV", 5000, 400), 7: ("sum of shunt voltages", 9, 9)})
    src = jetson.probe_hwmon(tmp_path)
    assert src.name == "jetson-hwmon" and src.label == MEASURED
    assert src.rail_names == ["VDD_IN"]  # the input rail alone, not every rail
    assert src.scope == "VDD_IN rail: the module's input (carrier board excluded)"
    assert src.read_w() == pytest.approx(5000 * 1200 / 1e6)  # mV x mA = uW -> 6.0 W


def test_hwmon_sum_of_rails_leaves_out_nc_shunt_sum_and_half_channels(tmp_path: Path) -> None:
    dev = _hwmon(
        tmp_path,
        {
            1: ("VDD_CPU", 1000, 500),  # 0.5 W
            2: ("VDD_SOC", 2000, 250),  # 0.5 W
            3: ("NC", 5000, 5000),  # not connected
            4: ("VDD_GPU", 3000, None),  # no current file
            5: ("", 3000, 3000),  # blank label
            7: ("sum", 5000, 5000),  # the shunt-voltage sum channel
        },
    )
    (dev / "in6_label").mkdir()  # unreadable label: skipped
    (dev / "in6_input").write_text("100\n")
    (dev / "curr6_input").write_text("100\n")
    (dev / "inX_label").write_text("VDD_X\n")  # not a channel file name
    rails = jetson.hwmon_rails(tmp_path)
    assert sorted(rails) == ["VDD_CPU", "VDD_SOC"]
    src = jetson.probe_hwmon(tmp_path)
    assert src.label == ESTIMATE and src.read_w() == pytest.approx(1.0)
    assert src.scope == "sum of rails VDD_CPU, VDD_SOC (not the whole board)"
    (dev / "curr2_input").write_text("n/a\n")  # a read that fails: no value at all, not a partial sum
    assert src.read_w() is None


def test_iio_rails_jetpack4(tmp_path: Path) -> None:
    dev = tmp_path / "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0"
    dev.mkdir(parents=True)
    for k, name, mw in ((0, "POM_5V_IN", 4500), (1, "POM_5V_GPU", 800), (2, "", 100)):
        (dev / f"rail_name_{k}").write_text(name + "\n")
        (dev / f"in_power{k}_input").write_text(f"{mw}\n")
    (dev / "rail_name_3").write_text("POM_5V_CPU\n")  # no in_power3_input
    assert sorted(jetson.iio_rails(tmp_path)) == ["POM_5V_GPU", "POM_5V_IN"]
    src = jetson.probe_iio(tmp_path)
    assert (src.name, src.label, src.read_w()) == ("jetson-ina3221", MEASURED, pytest.approx(4.5))
    assert src.scope == "POM_5V_IN rail: the module's input (carrier board excluded)"


def test_no_ina3221_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(Unavailable) as err:
        jetson.probe_iio(tmp_path)
    assert str(err.value) == "no sys/bus/i2c/drivers/ina3221x/*/iio:device* with rail_name_* (JetPack 4 INA3221)"
    with pytest.raises(Unavailable) as err:
        jetson.probe_hwmon(tmp_path)
    assert str(err.value) == "no sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon* with in*_label (JetPack 5/6 INA3221)"


# ---------- RAPL ----------


def _zone(root: Path, n: int, name: str, uj: int, max_uj: int = 262143328850) -> Path:
    z = root / "sys/class/powercap" / f"intel-rapl:{n}"
    z.mkdir(parents=True)
    (z / "name").write_text(name + "\n")
    (z / "energy_uj").write_text(f"{uj}\n")
    (z / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return z


def test_delta_uj_with_and_without_a_wrap() -> None:
    assert rapl.delta_uj(100, 100, 1000) == 0
    assert rapl.delta_uj(100, 350, 1000) == 250
    assert rapl.delta_uj(900, 100, 999) == 200  # 900 -> 999, 0, ... 100: 99 + 1 + 100


def test_rapl_mean_watts_between_reads(tmp_path: Path) -> None:
    z = _zone(tmp_path, 0, "package-0", 1_000_000)
    times = iter([10.0, 12.0, 12.0, 13.0])
    src = rapl.probe(tmp_path, clock=lambda: next(times))  # primed at t=10
    (z / "energy_uj").write_text("7000000\n")
    assert src.read_w() == pytest.approx(3.0)  # 6 J over 2 s
    assert src.read_w() is None  # no time passed: no value, not a division by zero
    (z / "energy_uj").write_text("8500000\n")
    assert src.read_span() == pytest.approx((1.5, 1.0))


def test_rapl_first_read_without_prime_has_no_value(tmp_path: Path) -> None:
    z = _zone(tmp_path, 0, "package-0", 5)
    src = rapl.Rapl([z], clock=lambda: 1.0)
    assert src.read_w() is None and src.scope == "RAPL package-0"


def test_rapl_zone_choice_and_scopes(tmp_path: Path) -> None:
    _zone(tmp_path, 0, "package-0", 1)
    _zone(tmp_path, 1, "psys", 1)
    _zone(tmp_path, 2, "dram", 1)
    chosen, scope = rapl.choose(rapl.zones(tmp_path))
    assert [z.name for z in chosen] == ["intel-rapl:0"]
    assert scope == "RAPL package-0: CPU package energy, not the wall; dram, psys not added (psys contains the package)"
    only_psys = tmp_path / "b"
    _zone(only_psys, 0, "psys", 1)
    chosen, scope = rapl.choose(rapl.zones(only_psys))
    assert scope == "RAPL psys: platform energy as the firmware reports it (package included), not the wall"
    neither = tmp_path / "c"
    _zone(neither, 0, "dram", 1)
    with pytest.raises(Unavailable) as err:
        rapl.choose(rapl.zones(neither))
    assert str(err.value) == "no package-* or psys RAPL zone (zones: dram)"
