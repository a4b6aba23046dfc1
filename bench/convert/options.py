"""Conversion options: plain frozen data and the command-line flags that fill it. No heavy imports."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: every precision a conversion can produce; each edge says which of them it makes (bench.convert.edges)
PRECISIONS = ("fp32", "fp16", "dynamic-range", "int8")
#: ONNX opset of exports (torch.onnx.export, tf2onnx) when --opset is not given
DEFAULT_OPSET = 17
#: max absolute output difference an fp32 conversion may have (beyond: FidelityError)
FIDELITY_TOLERANCE = 1e-3
#: samples of the data run through source and converted model for the fidelity check
FIDELITY_SAMPLES = 1000
#: samples kept (inputs and source outputs) when the check waits for the device's accelerator
DEFERRED_FIDELITY_SAMPLES = 100
#: timeout of one converter run, seconds (ResNet-50 through onnx2tf takes about 3.5 minutes on 2 cores)
TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class ConvertOptions:
    """How to convert. ``precision`` int8 means full-integer quantization with representative data."""

    precision: str = "fp32"
    representative_data: Optional[Path] = None
    keep_shape: bool = True  # keep the NCHW input of ONNX/PyTorch models (onnx2tf -kat)
    transposed_data: Optional[Path] = None  # compat: data already in NHWC for --do-not-keep-shape
    convert_only: bool = False
    cache_dir: Optional[Path] = None
    opset: Optional[int] = None
    fidelity_samples: int = FIDELITY_SAMPLES
    fidelity_tolerance: float = FIDELITY_TOLERANCE
    timeout_s: float = TIMEOUT_S
    #: copy the converted model here (file, or an existing folder to copy into)
    output: Optional[Path] = None
    #: .npz of source outputs stored with a conversion whose fidelity waits for this device (checked at run time)
    fidelity_reference: Optional[Path] = None

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        for k, v in list(d.items()):
            if isinstance(v, Path):
                d[k] = str(v)
        return d


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Conversion flags of `bench run`."""
    g = parser.add_argument_group("conversion (when the model is not in the framework's own format)")
    g.add_argument("--convert-only", action="store_true", help="convert (and check fidelity), do not benchmark")
    g.add_argument(
        "--quantization",
        action="store_true",
        help="full-integer int8 TFLite; needs --representative-data-path (same as --precision int8)",
    )
    g.add_argument("--precision", choices=PRECISIONS, default=None, help="TFLite precision (default fp32)")
    g.add_argument("--representative-data-path", type=Path, default=None, help=".npz whose x_data calibrates int8")
    g.add_argument(
        "--do-not-keep-shape",
        action="store_true",
        help="give TFLite/TF models an NHWC input; the tool transposes the data itself",
    )
    g.add_argument("--transposed-data-path", type=Path, default=None, help="(compat) NHWC data for --do-not-keep-shape")
    g.add_argument(
        "--convert-output", type=Path, default=None, help="copy the converted model here (a file, or a folder)"
    )
    g.add_argument("--cache-dir", type=Path, default=None, help="conversion cache (default ~/.cache/edgebench)")
    g.add_argument("--opset", type=int, default=None, help=f"ONNX opset of exports (default {DEFAULT_OPSET})")
    g.add_argument(
        "--fidelity-samples",
        type=int,
        default=FIDELITY_SAMPLES,
        help=f"samples compared between source and converted model (default {FIDELITY_SAMPLES})",
    )
    g.add_argument(
        "--fidelity-tolerance",
        type=float,
        default=FIDELITY_TOLERANCE,
        help=f"max absolute output difference of an fp32 conversion (default {FIDELITY_TOLERANCE:g})",
    )
    g.add_argument(
        "--convert-timeout-s",
        type=float,
        default=TIMEOUT_S,
        help=f"timeout of one converter run (default {TIMEOUT_S:g})",
    )
    g.add_argument(
        "--fidelity-reference",
        type=Path,
        default=None,
        help="source outputs stored with a conversion whose fidelity is unchecked: checked on this device after the run",
    )


def from_args(args: argparse.Namespace) -> ConvertOptions:
    precision = args.precision or ("int8" if args.quantization else "fp32")
    return ConvertOptions(
        precision=precision,
        representative_data=args.representative_data_path,
        keep_shape=not args.do_not_keep_shape,
        transposed_data=args.transposed_data_path,
        convert_only=args.convert_only,
        cache_dir=args.cache_dir,
        opset=args.opset,
        fidelity_samples=getattr(args, "fidelity_samples", FIDELITY_SAMPLES),
        fidelity_tolerance=getattr(args, "fidelity_tolerance", FIDELITY_TOLERANCE),
        timeout_s=getattr(args, "convert_timeout_s", TIMEOUT_S),
        output=getattr(args, "convert_output", None),
        fidelity_reference=getattr(args, "fidelity_reference", None),
    )


#: `bench run` flags a conversion needs as well as the benchmark (each takes one value)
SHARED_FLAGS = ("--model-type", "--model-class-path", "--model-class-name", "--label")
#: flags of the conversion group that belong to the run on the device, not to the conversion
RUN_SIDE_FLAGS = ("--fidelity-reference",)


def conversion_flags() -> Dict[str, int]:
    """Each conversion flag of `bench run` and how many values it takes (0 or 1)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return {
        opt: 0 if action.nargs == 0 else 1
        for action in parser._actions  # argparse keeps no public list of its actions
        for opt in action.option_strings
        if opt not in RUN_SIDE_FLAGS
    }


def split_argv(argv: Sequence[str]) -> Tuple[List[str], List[str]]:
    """Split `bench run` flags into (conversion argv, benchmark argv) for a conversion made on another machine.

    Conversion flags (--precision, --representative-data-path, ...) go to the conversion only: the device runs the
    converted model as it is. --model-type and the model class go to both; everything else to the benchmark.
    """
    conv = conversion_flags()
    to_convert: List[str] = []
    to_run: List[str] = []
    i = 0
    while i < len(argv):
        token = str(argv[i])
        name, has_value = token.split("=", 1)[0], "=" in token
        if name in conv or name in SHARED_FLAGS:
            n = 0 if has_value else conv.get(name, 1)
            taken = [str(a) for a in argv[i : i + 1 + n]]
            to_convert += taken
            if name in SHARED_FLAGS:
                to_run += taken
            i += 1 + n
            continue
        to_run.append(token)
        i += 1
    return to_convert, to_run
