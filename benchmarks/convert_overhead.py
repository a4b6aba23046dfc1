"""Overhead of edgebench's ONNX -> TFLite conversion against calling onnx2tf directly.

    .venv/bin/python benchmarks/convert_overhead.py [--samples 16] [--threads 2] [--order tool-first]

One ResNet-50 (bench.models.resnet, random weights, seed 0) exported to one ONNX file. Then, with the
same onnx2tf options (``-b 1 -kat input``, fp32):
  1. direct: onnx2tf as a subprocess on a copy of the file, timed alone;
  2. tool:   bench.convert.pipeline.convert(ONNX -> TFLite) into an empty cache, timed end to end (hashing,
             the copy, onnx2tf, publishing into the cache, and the fidelity check on ``--samples``
             inputs through ONNX Runtime and LiteRT);
  3. tool again: the cached re-run.
Prints the ratio tool/direct (goal < 1.1), edgebench's own overhead around its onnx2tf subprocess, and
the fidelity figures. A run takes minutes and background load drifts: run both --order values.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def export_resnet50(path: Path) -> None:
    import torch

    from bench.models.resnet import ResNet50

    torch.manual_seed(0)
    model = ResNet50().eval()
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, 224, 224),),
        str(path),
        input_names=["input"],
        output_names=["output"],
        opset_version=17,
        dynamo=False,
        external_data=False,
    )


def direct(onnx_path: Path, work: Path) -> float:
    from bench.convert import onnx2tf_edge, tools

    work.mkdir(parents=True)
    shutil.copy2(onnx_path, work / "model.onnx")
    argv = onnx2tf_edge.onnx2tf_command() + ["-i", "model.onnx", "-o", "tf", "-b", "1", "-kat", "input"]
    t0 = time.perf_counter()
    tools.run(argv, tool="onnx2tf", cwd=work, log_file=work / "log.txt", expect=[work / "tf" / "model_float32.tflite"])
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=16, help="inputs for the fidelity check")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--order",
        choices=("direct-first", "tool-first"),
        default="direct-first",
        help="which run goes first (run both orders to cancel drift in background load)",
    )
    args = p.parse_args()

    from bench import formats
    from bench.convert.options import ConvertOptions
    from bench.convert.pipeline import convert
    from bench.errors import FidelityError
    from bench.runtimes.base import RuntimeOptions

    with tempfile.TemporaryDirectory(prefix="edgebench-convert-bench-") as tmp:
        tmp = Path(tmp)
        onnx_path = tmp / "resnet50.onnx"
        export_resnet50(onnx_path)
        print(f"ResNet-50 ONNX: {onnx_path.stat().st_size / 2**20:.1f} MiB")
        data = tmp / "images.npz"
        rng = np.random.default_rng(0)
        x = ((rng.random((args.samples, 3, 224, 224), dtype=np.float32) - 0.45) / 0.225).astype(np.float32)
        np.savez(data, x_data=x)

        opts = ConvertOptions(cache_dir=tmp / "cache", fidelity_samples=args.samples)
        ro = RuntimeOptions(threads=args.threads)

        def tool() -> tuple:
            t0 = time.perf_counter()
            c = convert(onnx_path, formats.ONNX, formats.TFLITE, opts, runtime_options=ro, data=data)
            return c, time.perf_counter() - t0

        try:
            if args.order == "direct-first":
                t_direct = direct(onnx_path, tmp / "direct")
                c, t_tool = tool()
            else:
                c, t_tool = tool()
                t_direct = direct(onnx_path, tmp / "direct")
        except FidelityError as exc:  # report the figures of a failed check too, then fail
            print(f"FIDELITY FAILED: {exc}")
            for mf in (tmp / "cache").glob("*/manifest.json"):
                print(mf.read_text())
            return 1
        print(f"order: {args.order}")
        print(f"onnx2tf directly:          {t_direct:8.1f} s")
        t_step = c.chain[0]["seconds"]
        t_inner = c.chain[0]["options"]["onnx2tf_seconds"]
        t0 = time.perf_counter()
        again = convert(onnx_path, formats.ONNX, formats.TFLITE, opts, runtime_options=ro, data=data)
        t_cached = time.perf_counter() - t0
        assert again.cached and again.path == c.path

        f = c.fidelity
        print(f"edgebench convert (total): {t_tool:8.1f} s   (conversion step {t_step:.1f} s, the rest is hashing,")
        print(f"                                         publishing and the fidelity check on {f['samples']} inputs)")
        print(
            f"  of which onnx2tf itself:  {t_inner:8.1f} s; edgebench's own overhead {t_tool - t_inner:.1f} s "
            f"({100 * (t_tool - t_inner) / t_inner:.1f}% of onnx2tf's time)"
        )
        print(f"edgebench convert, cached: {t_cached:8.1f} s")
        print(f"ratio tool/direct:         {t_tool / t_direct:8.3f}   (goal < 1.1)")
        print(f"ratio conversion step/direct: {t_step / t_direct:5.3f}")
        print(
            f"fidelity (fp32, {f['samples']} inputs): max_abs_diff {f['max_abs_diff']:.3g}, "
            f"mean_abs_diff {f['mean_abs_diff']:.3g}, cosine {f['cosine_similarity']:.8f}, "
            f"top-1 agreement {f['top1_agreement']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
