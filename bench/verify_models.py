"""`edgebench verify`'s model sets: the files one model exists as, which one each preset runs on, and the run's
configuration. Read by bench.verify (every path) and bench.verify_timing (the published figure's own model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

from bench.config import RunConfig, Timing, run_config

#: short runs: verify checks that a path works and is in the right range, compare measures it properly
VERIFY_TIMING = Timing(warmup_runs=5, warmup_min_s=0.2, min_runs=20, min_time_s=0.5, max_time_s=60.0)


@dataclass(frozen=True)
class ModelSet:
    """The files one model exists as; each preset runs on the file in its runtime's own format when there is one."""

    name: str
    data: Path
    files: Dict[str, Path]  #: kind -> file; kinds: pytorch, onnx, tflite, tflite-int8, edgetpu
    class_path: Optional[Path] = None
    class_name: Optional[str] = None
    representative: Optional[Path] = None
    random_weights: bool = False


#: the kind of file a preset runs on when its runtime declares none for its precision (``Runtime.verify_files``):
#: the ONNX model, converted on the board when it can be
DEFAULT_SOURCE = "onnx"


def preset_source(preset: str) -> str:
    """Which file kind ``preset`` runs on: the one its runtime loads at the preset's precision without a conversion."""
    from bench import runtimes
    from bench.compare.presets import PRESETS

    p = PRESETS[preset]
    return runtimes.runtime_class(p.framework).verify_files.get(p.precision, DEFAULT_SOURCE)


def preset_sources() -> Dict[str, str]:
    """preset -> the file kind it runs on, for every compare preset."""
    from bench.compare.presets import NAMES

    return {name: preset_source(name) for name in NAMES}


def shipped_digits(edgetpu: Optional[Path] = None) -> ModelSet:
    """The built-in digits CNN in every format the package ships (plus an Edge TPU build the user compiled)."""
    from bench import models

    files = {"pytorch": models.DIGITS_STATE_DICT, "onnx": models.DIGITS_ONNX, "tflite": models.DIGITS_TFLITE}
    if models.DIGITS_TFLITE_INT8.is_file():
        files["tflite-int8"] = models.DIGITS_TFLITE_INT8
    if edgetpu is not None:
        files["edgetpu"] = edgetpu
    return ModelSet(
        "digits",
        models.DIGITS_TEST_DATA,
        files,
        models.DIGITS_CLASS_FILE,
        models.DIGITS_CLASS_NAME,
        representative=models.DIGITS_TEST_DATA,
    )


def source_for(preset: str, models_: ModelSet) -> Tuple[Optional[Path], str]:
    """(file the preset runs on, its kind), or (None, why not)."""
    kind = preset_source(preset)
    if kind in models_.files:
        return models_.files[kind], kind
    if kind == "edgetpu":
        return None, "no Edge TPU-compiled model: compile the int8 model with edgetpu_compiler, pass --edgetpu-model"
    if "onnx" in models_.files:
        return models_.files["onnx"], "onnx"
    return None, f"no {kind} model in the set"


def config_for(preset: str, models_: ModelSet, path: Path, output: Optional[Path], threads: Optional[int]) -> RunConfig:
    from bench.compare.presets import PRESETS
    from bench.convert.options import ConvertOptions

    p = PRESETS[preset]
    native_precision = preset_source(preset) in ("tflite-int8", "edgetpu")  # the file is at the precision
    convert = ConvertOptions(
        precision="fp32" if native_precision else p.precision,
        representative_data=models_.representative if p.needs_representative_data else None,
    )
    return run_config(
        preset=preset,
        model=path,
        data=models_.data,
        model_class_path=models_.class_path,
        model_class_name=models_.class_name,
        threads=threads,
        timing=VERIFY_TIMING,
        output=output,
        label=f"verify {preset}",
        convert=convert,
        random_weights=models_.random_weights,
    )
