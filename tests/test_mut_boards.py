"""The board table's helpers against hand-computed peaks and known model strings (mutation run of bench/boards.py).

Peaks by hand: cores x MHz / 1000 x operations per cycle; an Orin Nano's fp16 is half its dense int8 and its fp32
CUDA cores x 0.625 GHz x 2."""

from __future__ import annotations

import pytest

from bench import boards


def test_a_cpu_peak_is_cores_times_clock_times_ops_per_cycle() -> None:
    p = boards._cpu("fp32", 4, 1500.0, 8, "src", note="n")
    assert p.gops == pytest.approx(48.0)  # 4 x 1.5 GHz x 8
    assert (p.board, p.device, p.precision, p.kind, p.source) == ("", "cpu", "fp32", "derived", "src")
    assert p.formula == "4 cores x {clock} x 8 fp32 ops/cycle"
    assert (p.mhz, p.scales_with, p.note) == (1500.0, "cpu", "n")
    assert boards._cpu("int8", 4, 2400.0, 64, "s").gops == pytest.approx(614.4)  # 4 x 2.4 x 64


def test_an_orin_nanos_gpu_peaks_by_hand() -> None:
    int8, fp16, fp32 = boards._orin("8gb", 40000.0, 1024)
    assert [p.precision for p in (int8, fp16, fp32)] == ["int8", "fp16", "fp32"]
    assert [p.gops for p in (int8, fp16, fp32)] == pytest.approx([40000.0, 20000.0, 1280.0])
    assert [p.kind for p in (int8, fp16, fp32)] == ["published", "derived", "derived"]
    for p in (int8, fp16, fp32):
        assert (p.board, p.device, p.model_contains, p.mhz, p.scales_with, p.memory) == (
            "",
            "gpu",
            "Orin Nano",
            625.0,
            "gpu",
            "8gb",
        )
        assert p.source == boards._ORIN_NANO_DS
    assert int8.formula == "40000 GOP/s at 625 MHz" and int8.note == boards._SPARSE_NOTE
    assert fp16.formula.startswith("40000 dense INT8 GOP/s / 2") and fp16.formula.endswith("at 625 MHz")
    assert fp32.formula == "1024 CUDA cores x {clock} x 2 (one FMA)"
    assert fp16.note == "" and fp32.note == ""


def test_a_boards_peaks_are_stamped_with_its_id_unless_they_name_another() -> None:
    own = boards.Peak("", "cpu", "fp32", 1.0, "derived", "s")
    other = boards.Peak("elsewhere", "cpu", "fp32", 2.0, "derived", "s")
    b = boards.Board("myboard", "My board", peaks=(own, other))
    assert [p.board for p in b.peaks] == ["myboard", "elsewhere"]
    assert [p.gops for p in b.peaks] == [1.0, 2.0]


def test_by_id_knows_every_record_and_generic() -> None:
    for bid in ("rpi4", "rpi5", "jetson-nano", "jetson-orin", "generic"):
        assert boards.by_id(bid).id == bid
    assert boards.by_id("generic") is boards.GENERIC
    assert boards.by_id("coral-usb") is None and boards.by_id("") is None


@pytest.mark.parametrize(
    "model, bid",
    [
        ("Raspberry Pi 4 Model B Rev 1.4", "rpi4"),
        ("Raspberry Pi 5 Model B Rev 1.0", "rpi5"),
        ("NVIDIA Jetson Nano Developer Kit", "jetson-nano"),
        ("NVIDIA Jetson Orin Nano Developer Kit", "jetson-orin"),
        ("Jetson AGX Orin", "jetson-orin"),
        ("Raspberry Pi 3 Model B Plus Rev 1.3", "generic"),
        ("", "generic"),
    ],
)
def test_from_model_on_known_model_strings(model: str, bid: str) -> None:
    assert boards.from_model(model).id == bid


def test_a_string_naming_two_boards_takes_the_later_record() -> None:
    assert boards.from_model("Raspberry Pi 4 / Raspberry Pi 5").id == "rpi5"
    assert boards.from_model("Jetson Nano and Jetson Orin").id == "jetson-orin"


def test_all_peaks_are_every_boards_then_the_corals() -> None:
    peaks = boards.all_peaks()
    expected = [p for b in boards.BOARDS for p in b.peaks] + list(boards.CORAL.peaks)
    assert list(peaks) == expected and len(peaks) == 1 + 2 + 3 + 6 + 1
    assert peaks[-1].device == "tpu" and peaks[0].board == "rpi4"


def test_throttle_globs_are_each_once_in_table_order() -> None:
    assert boards.throttle_globs() == (
        "sys/bus/platform/drivers/raspberrypi-firmware/*/get_throttled",
        "sys/devices/platform/soc/soc:firmware/get_throttled",
    )


def test_in_family() -> None:
    assert [b.id for b in boards.in_family("raspberry pi")] == ["rpi4", "rpi5"]
    assert [b.id for b in boards.in_family("jetson")] == ["jetson-nano", "jetson-orin"]
    assert boards.in_family("") == () and boards.in_family("x") == ()
