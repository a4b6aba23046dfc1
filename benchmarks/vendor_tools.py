"""edgebench's OpenVINO and ncnn latency against the vendors' own measurement, side by side in one run.

    .venv/bin/python benchmarks/vendor_tools.py --zoo DIR [--models resnet50 mobilenetv2] [--threads 2] [--repeats 2]

DIR is a zoo folder (`python -m bench zoo --out DIR --models resnet50 mobilenetv2`: random weights, ONNX files). Each
model is converted once by edgebench (ONNX -> OpenVINO IR fp32, ONNX -> ncnn fp32; cached). Then, ``--repeats`` times,
alternating which goes first:

* OpenVINO: ``python -m bench run IR --framework openvino --threads N`` (its record's invoke p50) against OpenVINO's
  ``benchmark_app`` on the same IR files (unzipped from the bundle): ``-d CPU -hint none -nstreams 1 -nthreads N
  -api sync -infer_precision f32`` (benchmark_app refuses stream and thread options beside a hint; f32 is what
  edgebench's openvino preset asks for), its reported median;
The first ``SAMPLES`` inputs of the zoo's data are used; edgebench runs ``RUN_TIMING``, benchmark_app ``-t 8``.

* ncnn: ``python -m bench run`` against a bare loop of ncnn's own Python API in a fresh process (the same options:
  ``num_threads`` N, fp16 off; ``create_extractor``, ``input``, ``extract`` timed with ``perf_counter_ns``), its median.

``--in-process-ncnn``: edgebench's ncnn runtime and the bare API alternating in one process (no second process).

Prints each pair, and per model and runtime the median over repeats of edgebench p50 / vendor median (goal <= 1.05).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL = 1.05
RUN_TIMING = ["--min-runs", "30", "--min-time-s", "8", "--warmup-runs", "5", "--warmup-min-s", "1"]
#: samples of the zoo's data used (edgebench runs every sample once for quality before cycling for latency)
SAMPLES = 10

BARE_NCNN = r"""
import sys, time, json, zipfile, numpy as np, ncnn
path, threads, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
z = zipfile.ZipFile(path); meta = json.loads(z.read("edgebench.json"))
param, weights = z.read("model.ncnn.param").decode(), z.read("model.ncnn.bin")
net = ncnn.Net()
for k in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage", "use_vulkan_compute"):
    setattr(net.opt, k, False)
net.opt.num_threads = threads
net.load_param_mem(param); net.load_model_mem(weights)
x = np.load(sys.argv[4], allow_pickle=False)["x_data"].astype(np.float32)
i_name, o_name = net.input_names()[0], net.output_names()[0]
def once(m):
    ex = net.create_extractor(); ex.input(i_name, m); return ex.extract(o_name)
for k in range(5):
    once(ncnn.Mat(x[k % len(x)]))
t = []
for k in range(n):
    m = ncnn.Mat(x[k % len(x)])  # the input copied in before the clock, as edgebench's prepare does
    t0 = time.perf_counter_ns(); once(m); t.append(time.perf_counter_ns() - t0)
print(json.dumps({"median_ms": float(np.median(t)) / 1e6, "runs": n}))
"""


def convert(onnx_path: Path, target: str, cache: Path) -> Path:
    from bench import formats
    from bench.convert.options import ConvertOptions
    from bench.convert.pipeline import convert as run_convert

    return run_convert(onnx_path, formats.ONNX, target, ConvertOptions(cache_dir=cache)).path


def edgebench_p50(model: Path, framework: str, data: Path, threads: int, out: Path) -> float:
    out.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "bench", "run", str(model), str(data), "--framework", framework]
    argv += ["--threads", str(threads), "--random-weights", "--output", str(out), *RUN_TIMING]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    record = json.loads(out.read_text().splitlines()[-1])
    return float(record["latency"]["invoke"]["p50_ms"])


def benchmark_app_median(bundle_path: Path, threads: int, work: Path) -> float:
    from bench import bundle, formats

    xml = bundle.extract(bundle_path, formats.OPENVINO_IR, work / "ir")
    exe = Path(sys.executable).parent / "benchmark_app"
    argv = [str(exe), "-m", str(xml), "-d", "CPU", "-hint", "none", "-nstreams", "1", "-nthreads", str(threads)]
    argv += ["-api", "sync", "-infer_precision", "f32", "-t", "8"]
    text = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    m = re.search(r"Median:\s+([0-9.]+)\s*ms", text)
    if not m:
        raise RuntimeError("benchmark_app printed no median: " + text[-500:])
    return float(m.group(1))


def bare_ncnn_median(bundle_path: Path, threads: int, data: Path, runs: int) -> float:
    argv = [sys.executable, "-c", BARE_NCNN, str(bundle_path), str(threads), str(runs), str(data)]
    return float(json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)["median_ms"])


def in_process_ncnn(bundle_path: Path, threads: int, data: Path, runs: int = 30, rounds: int = 3) -> List[float]:
    """edgebench's NcnnRuntime (prepare / timed invoke / fetch) and the bare API, alternating in this one process:
    separates the runtime's own cost from what differs between two processes. Ratios edgebench / bare per round."""
    import time

    import ncnn

    from bench.runtimes.base import RuntimeOptions
    from bench.runtimes.ncnn import NcnnRuntime, set_options

    x = np.load(data, allow_pickle=False)["x_data"].astype(np.float32)
    rt = NcnnRuntime()
    rt.load(bundle_path, RuntimeOptions(threads=threads))
    net = ncnn.Net()
    set_options(net.opt, threads, fp16=False)
    import zipfile

    with zipfile.ZipFile(bundle_path) as z:
        net.load_param_mem(z.read("model.ncnn.param").decode())
        net.load_model_mem(z.read("model.ncnn.bin"))
    i_name, o_name = net.input_names()[0], net.output_names()[0]

    def bare(n: int) -> float:
        t = []
        for k in range(n):
            m = ncnn.Mat(x[k % len(x)])
            t0 = time.perf_counter_ns()
            ex = net.create_extractor()
            ex.input(i_name, m)
            ex.extract(o_name)
            t.append(time.perf_counter_ns() - t0)
        return float(np.median(t))

    def edge(n: int) -> float:
        t = []
        for k in range(n):
            rt.prepare(x[k % len(x)][None])
            t0 = time.perf_counter_ns()
            rt.invoke()
            t.append(time.perf_counter_ns() - t0)
            rt.fetch()
        return float(np.median(t))

    bare(5), edge(5)
    return [edge(runs) / bare(runs) for _ in range(rounds)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", type=Path, required=True)
    ap.add_argument("--models", nargs="+", default=["resnet50", "mobilenetv2"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--in-process-ncnn", action="store_true", help="only the in-process ncnn check (see its doc)")
    args = ap.parse_args()
    from bench import formats

    work = Path(tempfile.mkdtemp(prefix="edgebench-vendor-"))
    ratios: Dict[str, List[float]] = {}
    for name in args.models:
        onnx_path, data = args.zoo / name / f"{name}.onnx", work / f"{name}_data.npz"
        with np.load(args.zoo / name / "data.npz", allow_pickle=False) as full:
            np.savez(data, **{k: full[k][:SAMPLES] for k in full.files})
        nc = convert(onnx_path, formats.NCNN, work / "cache")
        if args.in_process_ncnn:
            found = in_process_ncnn(nc, args.threads, data)
            print(
                f"{name:12s} ncnn in one process: edgebench invoke / bare API " + ", ".join(f"{r:.3f}" for r in found)
            )
            continue
        ir = convert(onnx_path, formats.OPENVINO_IR, work / "cache")
        for r in range(args.repeats):
            first_tool = r % 2 == 1
            for runtime, model in (("openvino", ir), ("ncnn", nc)):
                pair = {}
                for side in ("vendor", "edgebench") if first_tool else ("edgebench", "vendor"):
                    if side == "edgebench":
                        pair[side] = edgebench_p50(model, runtime, data, args.threads, work / "run.jsonl")
                    elif runtime == "openvino":
                        pair[side] = benchmark_app_median(model, args.threads, work)
                    else:
                        pair[side] = bare_ncnn_median(model, args.threads, data, 30)
                ratio = pair["edgebench"] / pair["vendor"]
                ratios.setdefault(f"{name} {runtime}", []).append(ratio)
                print(
                    f"{name:12s} {runtime:8s} repeat {r + 1}: edgebench p50 {pair['edgebench']:.2f} ms, "
                    f"{'benchmark_app' if runtime == 'openvino' else 'bare ncnn loop'} median {pair['vendor']:.2f} ms,"
                    f" ratio {ratio:.3f}",
                    flush=True,
                )
    print(f"\nthreads {args.threads}; ratio = edgebench p50 / vendor median (goal <= {GOAL})")
    ok = True
    for key, values in ratios.items():
        med = statistics.median(values)
        ok &= med <= GOAL
        print(f"  {key:24s} median ratio {med:.3f} over {len(values)} repeats {'ok' if med <= GOAL else 'ABOVE GOAL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
