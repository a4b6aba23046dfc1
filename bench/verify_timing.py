"""`edgebench verify`'s timing sanity: published latencies and the check of a path against the one for its board.

A figure is for its own model (MobileNetV2 or ResNet-50 at 224x224), so that model is what is timed: the zoo's ONNX
export (``edgebench zoo``; random weights do not change latency) and, on a Coral, the Edge TPU-compiled MobileNetV2
Coral publishes. Bounds are wide (``BOUND`` x either way, wider where a figure's setup differs from the board's, and
said so in the report): they catch a path that fell back to the CPU or clocks stuck low, not a 10 % drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from bench import boards, envvars
from bench.board_types import LATENCY_BOUND, Latency

#: the published figures live on the board records (bench/boards.py, their `latencies`): verify reads them here
BOUND = LATENCY_BOUND
Published = Latency
PUBLISHED: Tuple[Published, ...] = boards.all_latencies()


@dataclass(frozen=True)
class TimingModels:
    """Where the published figures' own models are: a zoo folder (``edgebench zoo``), the Coral's compiled model."""

    zoo_dir: Optional[Path] = None
    edgetpu: Optional[Path] = None


def figure_for(board: str, preset: str) -> Optional[Published]:
    """The published figure a path on this board is held against (this board's first, then any host's "*")."""
    found = [p for p in PUBLISHED if p.preset == preset and p.board in (board, "*")]
    return sorted(found, key=lambda p: p.board == "*")[0] if found else None


def check_timing(board: str, preset: str, model: str, p50_ms: float, emulated: bool) -> Dict[str, Any]:
    """Published figure for (board, preset, model), and whether p50 lies within its bound."""
    if emulated:
        return {"ok": True, "note": "emulated: timing not checked"}
    pub = figure_for(board, preset)
    if pub is not None and pub.model == model:
        ok = pub.ms / pub.bound <= p50_ms <= pub.ms * pub.bound
        return {
            "ok": ok,
            "published_ms": pub.ms,
            "bound": pub.bound,
            "source": pub.source,
            "held_against": f"{pub.source}: {pub.model}, {pub.ms} ms within {pub.bound}x",
            "timed_model": model,
            "p50_ms": p50_ms,
        }
    return {"ok": True, "note": f"no published figure for {board}, {preset} and {model}"}


#: set by the rpi-coral image (vendor step on): Coral's Edge TPU-compiled MobileNet v2 from google-coral/test_data
EDGETPU_TIMING_MODEL_ENV = envvars.EDGETPU_TIMING_MODEL


def default_edgetpu_model() -> Optional[Path]:
    """The image's compiled MobileNet v2 (``$EDGEBENCH_EDGETPU_TIMING_MODEL``) when the file is there."""
    text = envvars.read(EDGETPU_TIMING_MODEL_ENV)
    return Path(text) if text and Path(text).is_file() else None


def _random_images() -> Path:
    """NHWC uint8 random images at 224x224 for a timing run without a zoo folder (latency does not depend on them)."""
    import tempfile

    import numpy as np

    path = Path(tempfile.mkdtemp(prefix="edgebench-timing-")) / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_data=rng.integers(0, 256, (8, 224, 224, 3), dtype=np.uint8), y_data=np.zeros(8, np.int64))
    return path


def timing_set(figure: Published, zoo_dir: Optional[Path], edgetpu: Optional[Path]) -> Optional[Any]:
    """The figure's own model as a model set (the zoo's ONNX and data; the Coral's compiled model), or None."""
    from bench.models import zoo
    from bench.verify_models import ModelSet

    if zoo_dir is None:
        if edgetpu is None or figure.preset != "coral":
            return None
        data = _random_images()
        return ModelSet(figure.model, data, {"edgetpu": edgetpu}, random_weights=True)

    entry = (zoo.read_manifest(zoo_dir)["models"].get(figure.model) or {}).get("pytorch")
    if not entry:
        return None
    files = {"onnx": Path(entry["onnx"])}
    if edgetpu is not None:
        files["edgetpu"] = edgetpu
    return ModelSet(figure.model, Path(entry["data"]), files, random_weights=True)


def timing_run(
    preset: str, board: str, models_: TimingModels, output: Optional[Path], threads: Optional[int]
) -> Dict[str, Any]:
    """Time the published figure's own model on this path and hold it against the figure; what was done either way."""
    from bench import runner
    from bench.verify_models import config_for, source_for

    figure = figure_for(board, preset)
    if figure is None:
        return {"ok": True, "note": f"no published figure for {board} and {preset}"}
    timed = timing_set(figure, models_.zoo_dir, models_.edgetpu)
    path = None if timed is None else source_for(preset, timed)[0]
    if timed is None or path is None:
        what = (
            "--edgetpu-timing-model"
            if preset == "coral"
            else f"--timing-models DIR (edgebench zoo --models {figure.model})"
        )
        return {"ok": True, "note": f"{figure.source} is for {figure.model}: not timed (pass {what})"}
    record = runner.run_and_record(config_for(preset, timed, path, output, threads))
    return check_timing(board, preset, figure.model, record.latency.invoke["p50_ms"], False)
