"""Conversion options: plain frozen data and the command-line flags that fill it. No heavy imports."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional

PRECISIONS = ("fp32", "fp16", "dynamic-range", "int8")


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
    #: samples of the data run through source and converted model for the fidelity check
    fidelity_samples: int = 1000
    #: max absolute output difference an fp32 conversion may have (beyond: FidelityError)
    fidelity_tolerance: float = 1e-3
    #: timeout of one converter run, seconds
    timeout_s: float = 1800.0

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
    g.add_argument("--cache-dir", type=Path, default=None, help="conversion cache (default ~/.cache/edgebench)")
    g.add_argument("--opset", type=int, default=None, help="ONNX opset for PyTorch export (default 17)")
    g.add_argument(
        "--fidelity-samples", type=int, default=1000, help="samples compared between source and converted model"
    )
    g.add_argument(
        "--fidelity-tolerance",
        type=float,
        default=1e-3,
        help="max absolute output difference of an fp32 conversion (default 1e-3)",
    )
    g.add_argument("--convert-timeout-s", type=float, default=1800.0, help="timeout of one converter run")


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
        fidelity_samples=getattr(args, "fidelity_samples", 1000),
        fidelity_tolerance=getattr(args, "fidelity_tolerance", 1e-3),
        timeout_s=getattr(args, "convert_timeout_s", 1800.0),
    )
