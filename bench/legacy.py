"""The original tool's command line, kept working: ``evaluate.py MODEL DATA FRAMEWORK [options]``.

Its users type the framework as the third positional argument and ask for the ARM NN delegate with ``--use-armnn``
(``--armnn-path PATH`` names the library). Every option keeps its meaning; each call is translated into one
``bench run`` and runs through the same code, so records and errors are the same as ``edgebench run``'s.

Differences, on purpose and said when they apply: a model that is already an int8 TFLite model with ``--quantization``
is benchmarked as it is (the original's "if using already quantized model just set --quantization"); ``--armnn-path``
without ``--use-armnn`` is ignored, as in the original, with a warning.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List

log = logging.getLogger(__name__)


def frameworks() -> tuple:
    """The original's choices, in its order (each runtime's ``original_cli_rank``)."""
    from bench import runtimes

    ranked = [cls for cls in runtimes.classes() if cls.original_cli_rank is not None]
    return tuple(cls.name for cls in sorted(ranked, key=lambda cls: cls.original_cli_rank))


def build_parser() -> argparse.ArgumentParser:
    """The original ``evaluate.py`` parser: same positionals, options and choices."""
    p = argparse.ArgumentParser(prog="evaluate.py", description="Usage of evaluate.sh (edgebench compatibility)")
    p.add_argument("model_path", type=Path, help="Path to the model file")
    p.add_argument("data_path", type=Path, help="Path to the data file")
    p.add_argument("framework", choices=frameworks(), help="The framework that will be used to test the model")
    p.add_argument("--use-armnn", action="store_true", help="Use the ARM NN delegate (float32 TFLite models)")
    p.add_argument("--armnn-path", type=Path, default=None, help="Path to the ARM NN delegate library")
    p.add_argument("--use-softmax", action="store_true")
    p.add_argument("--model-type", default="classification", choices=("classification", "regression"))
    p.add_argument("--model-class-path", type=Path, default=None)
    p.add_argument("--model-class-name", default=None)
    p.add_argument("--do-not-keep-shape", action="store_true")
    p.add_argument("--transposed-data-path", type=Path, default=None)
    p.add_argument("--convert-only", action="store_true")
    p.add_argument("--quantization", action="store_true")
    p.add_argument("--representative-data-path", type=Path, default=None)
    # edgebench's one addition: where the record goes (the original printed and wrote nothing)
    p.add_argument("--output", type=Path, default=None, help="results file (default: edgebench's)")
    return p


def _already_int8_tflite(model: Path) -> bool:
    from bench import formats

    try:
        return formats.detect(model) in (formats.TFLITE, formats.EDGETPU_TFLITE) and _tflite_is_quantized(model)
    except Exception:  # detection errors are reported by `bench run` itself, with its fix
        return False


def _tflite_is_quantized(model: Path) -> bool:
    """Whether the TFLite model's input is int8/uint8 (read by the installed TFLite interpreter)."""
    import numpy as np

    from bench.runtimes.tflite import interpreter_module

    _, mod, _ = interpreter_module()
    dtype = mod.Interpreter(model_path=str(model)).get_input_details()[0]["dtype"]
    return np.dtype(dtype) in (np.int8, np.uint8)


def translate(argv: List[str]) -> List[str]:
    """The ``bench`` argument list (``run ...``) equivalent to an original ``evaluate.py`` call."""
    a = build_parser().parse_args(argv)
    out = ["run", str(a.model_path), str(a.data_path), "--framework", a.framework, "--model-type", a.model_type]
    if a.use_armnn:
        out += ["--delegate", "armnn"]
        if a.armnn_path is not None:
            out += ["--delegate-path", str(a.armnn_path)]
    elif a.armnn_path is not None:
        log.warning("--armnn-path is used only with --use-armnn (as in the original tool); ignored")
    flags = {
        "--use-softmax": a.use_softmax,
        "--do-not-keep-shape": a.do_not_keep_shape,
        "--convert-only": a.convert_only,
    }
    out += [flag for flag, on in flags.items() if on]
    if a.quantization:
        if _already_int8_tflite(a.model_path):
            log.info("%s is already an int8 TFLite model: benchmarked as it is", a.model_path)
        else:
            out.append("--quantization")
    for flag, value in (
        ("--output", a.output),
        ("--model-class-path", a.model_class_path),
        ("--model-class-name", a.model_class_name),
        ("--transposed-data-path", a.transposed_data_path),
        ("--representative-data-path", a.representative_data_path),
    ):
        if value is not None:
            out += [flag, str(value)]
    return out
