"""bench/peak_share.py's pieces a run uses in process: the filter dtype of the shipped TFLite models (a float and an int8
one: a known input) and the whole error line of a share above 100 % for each kind of peak."""

from __future__ import annotations

from pathlib import Path

from bench import peak_share
from tests.conftest import require

ASSETS = Path(__file__).resolve().parent.parent / "bench" / "models" / "assets"


def test_filter_dtype_of_the_shipped_float_and_int8_models() -> None:
    require("ai_edge_litert")
    assert peak_share.tflite_weight_dtype(ASSETS / "digits_cnn.tflite") == "float32"
    assert peak_share.tflite_weight_dtype(ASSETS / "digits_cnn_int8.tflite") == "int8"


def test_over_peak_error_of_a_measured_peak() -> None:
    assert peak_share.over_peak_error(123.4, "measured") == (
        "above 100% of the peak (123% of a measured peak) is impossible: the measured peak understates this CPU "
        "(measured while other programs used it, or with a BLAS slower than this runtime's kernels), or the runtime "
        "does the counted MACs with fewer operations (Winograd convolutions). Fix: `edgebench peaks --measure` on an "
        "idle machine"
    )


def test_over_peak_error_of_a_table_peak() -> None:
    for kind in ("derived", "published"):
        assert peak_share.over_peak_error(150.0, kind) == (
            f"above 100% of the peak (150% of a {kind} peak) is impossible: the count or the peak is wrong (a clock "
            "above the one the peak is taken at, or an operator counted with more MACs than it does). Fix: check "
            "`edgebench peaks` and report it"
        )
