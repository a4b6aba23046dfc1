"""Grouping of result records and the environment differences, on records written by hand (mutation run of
bench/record_groups.py). Expected strings are spelled out here, never built by the module."""

from __future__ import annotations

from typing import Any, Dict

from bench import record_groups as rg


def test_value_at_walks_dicts_only() -> None:
    d = {"a": {"b": {"c": 3}}, "s": "text"}
    assert rg.value_at(d, "a", "b", "c") == 3
    assert rg.value_at(d, "a", "x", "c") is None
    assert rg.value_at(d, "s", "x") is None
    assert rg.value_at(d) is d
    assert rg.value_at(None, "a") is None


def test_board_key_prefers_the_fleet_name_then_the_board_id() -> None:
    assert rg.board_key({"fleet": {"board": "pi-kitchen"}, "machine": {"board": {"id": "rpi4"}}}) == "pi-kitchen"
    assert rg.board_key({"fleet": {"board": ""}, "machine": {"board": {"id": "rpi4"}}}) == "rpi4"
    assert rg.board_key({}) == "unknown"
    assert rg.board_key({"machine": {"board": {"id": "generic"}, "cpu": "not a dict"}}) == "generic"


def test_a_generic_board_is_named_by_its_cpu() -> None:
    cpu = {"arch": "x86_64", "model": "Intel(R) Xeon(R) CPU @ 2.20GHz", "cores": 2}
    rec = {"machine": {"board": {"id": "generic"}, "cpu": cpu}}
    assert rg.board_key(rec) == "generic x86_64 (Intel Xeon, 2 cores)"
    assert rg.generic_board_name({"model": "AMD EPYC 7B12 64-Core Processor"}) == "generic (AMD EPYC 7B12 64-Core)"
    assert rg.generic_board_name({"arch": "aarch64", "cores": 4}) == "generic aarch64 (4 cores)"
    assert rg.generic_board_name({"model": "Core(TM) i7 with Radeon Graphics", "cores": 0}) == "generic (Core i7)"
    assert rg.generic_board_name({}) == "generic"


def test_adhoc_labels() -> None:
    assert rg.adhoc_label({}) == "?"
    assert rg.adhoc_label({"framework": "tflite", "options": {"convert": {"precision": "fp32"}}}) == "tflite"
    rec: Dict[str, Any] = {
        "framework": "tflite",
        "options": {"convert": {"precision": "int8"}, "delegate": "armnn", "threads": 4},
    }
    assert rg.adhoc_label(rec) == "tflite-int8-armnn @4t"
    rec["runtime"] = {"delegate": "edgetpu"}
    assert rg.adhoc_label(rec) == "tflite-int8-edgetpu @4t"
    assert rg.adhoc_label({"framework": "tflite", "runtime": {"delegate": "xnnpack"}}) == "tflite"
    assert rg.adhoc_label({"framework": "onnxruntime", "options": {"delegate": "default", "threads": 0}}) == (
        "onnxruntime"
    )


def test_model_name_order_and_stem() -> None:
    full = {
        "compare": {"source_model": {"path": "/m/resnet18.onnx"}},
        "conversion": {"source": "/m/conv.onnx"},
        "model": {"path": "/m/run.tflite"},
        "options": {"model": "/m/opt.pt"},
    }
    assert rg.model_name(full) == "resnet18"
    del full["compare"]
    assert rg.model_name(full) == "conv"
    del full["conversion"]
    assert rg.model_name(full) == "run"
    del full["model"]
    assert rg.model_name(full) == "opt"
    assert rg.model_name({}) == "model"
    assert rg.model_name({"model": {"path": "/m/saved_model_dir/"}}) == "saved_model_dir"
    assert rg.model_name({"model": {"path": "/m/a.int8.tflite"}}) == "a"
    assert rg.model_name({"model": {"path": "/m/.hidden"}}) == ".hidden"


def test_group_key_and_the_profiled_suffix() -> None:
    rec = {"framework": "ncnn", "status": "ok", "compare": {"id": "c1", "label": "L", "config": "C"}}
    assert rg.group_key(rec) == ("c1", "unknown", "model", "L")
    rec["compare"] = {"id": "c1", "config": "C"}
    assert rg.group_key(rec) == ("c1", "unknown", "model", "C")
    rec["profile"] = {"profiled": True}
    assert rg.group_key(rec)[3] == "C (profiled)"
    assert rg.group_key({"framework": "ncnn"}) == ("", "unknown", "model", "ncnn")


def test_group_records_skips_non_run_lines_in_first_seen_order() -> None:
    a1 = {"framework": "a", "status": "ok"}
    b1 = {"framework": "b", "status": "failed"}
    a2 = {"framework": "a", "status": "ok"}
    lines = [a1, {"framework": "a"}, {"status": "ok"}, "text", b1, a2]
    groups = rg.group_records(lines)
    assert list(groups) == [("", "unknown", "model", "a"), ("", "unknown", "model", "b")]
    assert groups[("", "unknown", "model", "a")] == [a1, a2]
    assert groups[("", "unknown", "model", "b")] == [b1]


def _rec(governor: str, versions: Dict[str, str], **machine: Any) -> Dict[str, Any]:
    m = {"board": {"id": "rpi4"}, "cpu": {"governor": governor}, **machine}
    return {"framework": "tflite", "status": "ok", "machine": m, "runtime": {"versions": versions}}


def test_environment_differences_spelled_out() -> None:
    same = [_rec("performance", {"tflite": "2.14"}), _rec("performance", {"tflite": "2.14"})]
    assert rg.environment_differences(same) == []
    recs = [
        _rec("performance", {"tflite": "2.14", "numpy": "1.26"}),
        _rec("ondemand", {"tflite": "2.14", "numpy": "1.26"}),
        _rec("performance", {}),
        {**_rec("powersave", {}), "status": "failed"},  # not ok: left out
        "not a record",
    ]
    assert rg.environment_differences(recs) == [
        "rpi4: CPU governor differs: performance (2 runs), ondemand (1 run)",
        "rpi4: tflite versions differs: numpy 1.26, tflite 2.14 (2 runs), None (1 run)",
    ]


def test_coral_speeds_are_compared_sorted() -> None:
    a = _rec("p", {}, accelerator={"coral": {"devices": [{"speed_mbps": 480}, {"speed_mbps": 5000}]}})
    b = _rec("p", {}, accelerator={"coral": {"devices": [{"speed_mbps": 5000}, {"speed_mbps": 480}]}})
    c = _rec("p", {}, accelerator={"coral": {"devices": [{"speed_mbps": 480}]}})
    assert rg.environment_differences([a, b]) == []
    assert rg.environment_differences([a, b, c]) == [
        "rpi4: Coral USB speed (Mb/s) differs: [480, 5000] (2 runs), [480] (1 run)"
    ]
