"""The demo: a compare of the built-in digits CNN and its test set (``edgebench demo``, ``make bench``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

from bench.compare import plan as compare_plan
from bench.compare import rounds as compare_rounds
from bench.config import DEMO_MAX_TIME_S, DEMO_MIN_TIME_S, DEMO_STABLE_PCT, Timing, demo_threads, run_config
from bench.records import RunRecord


def demo(
    frameworks: List[str],
    threads: Optional[int] = None,
    output: Optional[Path] = None,
    timing: Optional[Timing] = None,
    rounds: int = 1,
    live: Optional[bool] = None,
) -> List[RunRecord]:
    """A compare of the built-in digits CNN and its test set on each preset (``frameworks``); errors are recorded.
    ``threads`` None: every usable core but one (bench.config.demo_threads).

    The source is the PyTorch state_dict; ONNX Runtime and TFLite load its shipped exports (made from the same weights
    by bench.models.make_default), so the demo needs no converter and runs in every device image."""
    from bench import models

    artifacts = {
        "pytorch": (models.DIGITS_STATE_DICT, models.DIGITS_CLASS_FILE, models.DIGITS_CLASS_NAME),
        "onnx": (models.DIGITS_ONNX, None, None),
        "tflite": (models.DIGITS_TFLITE, None, None),
    }
    template = run_config(
        model=models.DIGITS_STATE_DICT,
        data=models.DIGITS_TEST_DATA,
        framework="",
        model_class_path=models.DIGITS_CLASS_FILE,
        model_class_name=models.DIGITS_CLASS_NAME,
        output=output,
        timing=timing
        or Timing(until_stable_pct=DEMO_STABLE_PCT, min_time_s=DEMO_MIN_TIME_S, max_time_s=DEMO_MAX_TIME_S),
        label="demo",
    )
    if threads is None:
        threads = demo_threads(usable_cores())
    protocol = compare_plan.Protocol(rounds=rounds)
    plan = compare_plan.make_plan(template, frameworks, [threads], protocol, artifacts=artifacts)
    return compare_rounds.execute(plan, live=live)


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's CPU set, not the machine's count)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1
