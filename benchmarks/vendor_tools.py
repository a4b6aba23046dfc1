"""edgebench's latency against each vendor's own measurement, interleaved so the machine's load hits both sides alike.

    .venv/bin/python benchmarks/vendor_tools.py --zoo DIR [--models resnet50 mobilenetv2]
        [--runtimes openvino ncnn executorch] [--threads 1] [--rounds 8] [--runs 40] [--tool-s 4]

DIR is a zoo folder (``python -m bench zoo --out DIR --models resnet50 mobilenetv2 --no-keras``: random weights).
Each model is converted once by edgebench's own edges (ONNX -> OpenVINO IR fp32, ONNX -> ncnn fp32, state_dict ->
ExecuTorch .pte with XNNPACK; cached in ``--cache``). The same files and the same thread count on both sides.

* **OpenVINO against ``benchmark_app``** (ships in the wheel), ``--rounds`` pairs of fresh processes, ABAB: pair r runs
  ``python -m bench run IR --framework openvino --threads N`` (its record's invoke p50) and ``benchmark_app -m IR.xml
  -d CPU -hint none -nstreams 1 -nthreads N -api sync -infer_precision f32 -t S`` (its Median; it refuses stream and
  thread options beside a hint; f32 is what edgebench's preset asks for), the order alternating between pairs. The
  pair's ratio is edgebench p50 / benchmark_app median; neighbours in time share the machine's state.
* **ncnn and ExecuTorch against a bare loop of their own Python API**, in one process (same allocator, same thread
  pool, same caches): edgebench's runtime, loaded as ``run`` loads it, timed by the harness's own step
  (``bench.harness.step_fn``: what the record's ``invoke`` is), alternates inference by inference with the vendor's
  bare calls on a second load of the same file (ncnn: ``create_extractor``/``input``/``extract``; ExecuTorch:
  ``method.execute``), the input copied in before the clock on both sides. ``--rounds`` rounds of ``--runs``
  inferences each side; the round's ratio is edgebench p50 / bare p50.
* ``--in-process-openvino`` adds the same in-process check for OpenVINO twice: against benchmark_app's own sync loop
  (``Benchmark.sync_inference`` from the wheel, one iteration per call, its ``request.latency``; the model compiled
  as benchmark_app compiles it for the options above), and against a bare ``InferRequest.infer``. Process pairs cannot
  put the two sides in the same moment; this can, so on a loaded machine it is the figure that resolves a few %.

Prints every round, then per model and runtime the median ratio, its spread (min to max, and the middle half) and the
load average (1 min) before and after; goal: median ratio <= 1.05.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOAL = 1.05
#: samples of the zoo's data used (edgebench runs every sample once for quality before cycling for latency)
SAMPLES = 10
WARMUP = 5


def load1() -> float:
    return os.getloadavg()[0]


def convert_all(zoo_dir: Path, name: str, runtimes: List[str], cache: Path, data: Path) -> Dict[str, Path]:
    """The files each runtime measures, converted by edgebench's own edges (cached)."""
    from bench import formats
    from bench.convert.options import ConvertOptions
    from bench.convert.pipeline import convert, convert_for
    from bench.models import zoo
    from bench.runtimes.base import RuntimeOptions

    options = ConvertOptions(cache_dir=cache, fidelity_samples=SAMPLES)
    onnx_path = zoo_dir / name / f"{name}.onnx"
    files: Dict[str, Path] = {}
    for runtime, fmt in (("openvino", formats.OPENVINO_IR), ("ncnn", formats.NCNN)):
        if runtime in runtimes:
            files[runtime] = Path(convert(onnx_path, formats.ONNX, fmt, options, data=data).path)
    if "executorch" in runtimes:
        spec = zoo.ZOO[name]
        ro = RuntimeOptions(model_class_path=zoo_dir / name / f"{name}.py", model_class_name=spec.class_name)
        state = zoo_dir / name / f"{name}.pth"
        conv = convert_for(
            state,
            formats.TORCH_STATE_DICT,
            "executorch",
            options,
            runtime_options=ro,
            data=data,
            model_type="classification",
        )
        files["executorch"] = Path(conv.path)
    return files


# --- OpenVINO: whole tool against benchmark_app, process pairs ---------------------------------------------------


def edgebench_p50(model: Path, data: Path, threads: int, seconds: float, out: Path) -> float:
    out.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "bench", "run", str(model), str(data), "--framework", "openvino"]
    argv += ["--threads", str(threads), "--random-weights", "--output", str(out), "--power-source", "none"]
    argv += ["--warmup-runs", str(WARMUP), "--warmup-min-s", "0.5", "--min-runs", "20", "--min-time-s", str(seconds)]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    record = json.loads(out.read_text().splitlines()[-1])
    return float(record["latency"]["invoke"]["p50_ms"])


def benchmark_app_median(xml: Path, threads: int, seconds: float) -> float:
    # the wheel's console script `benchmark_app` is this entry point (its shebang may name another venv path)
    argv = [
        sys.executable,
        "-c",
        "from openvino.tools.benchmark.main import main; main()",
        "-m",
        str(xml),
        "-d",
        "CPU",
        "-hint",
        "none",
        "-nstreams",
        "1",
        "-nthreads",
        str(threads),
    ]
    argv += ["-api", "sync", "-infer_precision", "f32", "-t", str(int(round(seconds)))]
    text = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    m = re.search(r"Median:\s+([0-9.]+)\s*ms", text)
    if not m:
        raise RuntimeError("benchmark_app printed no median: " + text[-500:])
    return float(m.group(1))


def openvino_pairs(ir: Path, data: Path, args: argparse.Namespace, work: Path) -> List[Tuple[float, float]]:
    """(edgebench p50, benchmark_app median) per pair of processes, order alternating (ABAB)."""
    from bench import bundle, formats

    xml = bundle.extract(ir, formats.OPENVINO_IR, work / "ir")
    pairs = []
    for r in range(args.rounds):
        got: Dict[str, float] = {}
        for side in ("edgebench", "vendor") if r % 2 == 0 else ("vendor", "edgebench"):
            if side == "edgebench":
                got[side] = edgebench_p50(ir, data, args.threads, args.tool_s, work / "run.jsonl")
            else:
                got[side] = benchmark_app_median(xml, args.threads, args.tool_s)
        pairs.append((got["edgebench"], got["vendor"]))
        print(
            f"    pair {r + 1}: edgebench {got['edgebench']:.3f} ms, benchmark_app {got['vendor']:.3f} ms, "
            f"ratio {got['edgebench'] / got['vendor']:.3f}",
            flush=True,
        )
    return pairs


# --- in one process: the harness's step against the vendor's bare calls -----------------------------------------


def bare_ncnn(path: Path, threads: int, x: np.ndarray) -> Callable[[int], int]:
    """ncnn's own API (tencent/ncnn python/src/main.cpp): a Net with fp16/bf16/vulkan off, num_threads N."""
    import ncnn

    net = ncnn.Net()
    for k in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage", "use_vulkan_compute"):
        setattr(net.opt, k, False)
    net.opt.num_threads = threads
    with zipfile.ZipFile(path) as z:
        net.load_param_mem(z.read("model.ncnn.param").decode())
        net.load_model_mem(z.read("model.ncnn.bin"))
    i_name, o_name = net.input_names()[0], net.output_names()[0]
    pc = time.perf_counter_ns

    def once(i: int) -> int:
        m = ncnn.Mat(x[i % len(x)])  # the input copied in before the clock, as edgebench's prepare does
        t0 = pc()
        ex = net.create_extractor()
        ex.input(i_name, m)
        ex.extract(o_name)
        return pc() - t0

    return once


def bare_executorch(path: Path, threads: int, x: np.ndarray) -> Callable[[int], int]:
    """ExecuTorch's own API (executorch.runtime): Runtime.get().load_program(pte).load_method("forward").execute."""
    import executorch.extension.pybindings.portable_lib as lib
    import torch
    from executorch.runtime import Runtime

    lib._unsafe_reset_threadpool(threads)  # process-wide; edgebench's load set the same size
    method = Runtime.get().load_program(path).load_method("forward")
    inputs = [[torch.from_numpy(x[i : i + 1])] for i in range(len(x))]
    pc = time.perf_counter_ns

    def once(i: int) -> int:
        args = inputs[i % len(x)]
        t0 = pc()
        method.execute(args)
        return pc() - t0

    return once


def bare_openvino(path: Path, threads: int, x: np.ndarray) -> Callable[[int], int]:
    """OpenVINO's own API: compile_model with the latency hint, one stream, N threads, f32; InferRequest.infer."""
    import openvino as ov

    with zipfile.ZipFile(path) as z:
        xml, weights = z.read("model.xml").decode(), z.read("model.bin")
    core = ov.Core()
    model = core.read_model(xml, ov.Tensor(np.frombuffer(weights, dtype=np.uint8)))
    config = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": str(threads)}
    config["INFERENCE_PRECISION_HINT"] = "f32"
    req = core.compile_model(model, "CPU", config).create_infer_request()
    buf = req.get_input_tensor(0).data
    pc = time.perf_counter_ns

    def once(i: int) -> int:
        buf[...] = x[i % len(x)][None]
        t0 = pc()
        req.infer()
        return pc() - t0

    return once


def bare_benchmark_app(path: Path, threads: int, x: np.ndarray) -> Callable[[int], int]:
    """benchmark_app's own measurement, one iteration per call: its ``Benchmark.sync_inference`` (request.infer(),
    timed by OpenVINO's ``request.latency``; openvino/tools/benchmark/benchmark.py in the wheel) on a model compiled as
    ``benchmark_app -hint none -nstreams 1 -nthreads N -infer_precision f32`` compiles it (main.py: no performance
    hint, NUM_STREAMS, INFERENCE_NUM_THREADS, INFERENCE_PRECISION_HINT)."""
    import openvino as ov
    from openvino.tools.benchmark.benchmark import Benchmark

    with zipfile.ZipFile(path) as z:
        xml, weights = z.read("model.xml").decode(), z.read("model.bin")
    bm = Benchmark("CPU", number_iterations=1, api_type="sync", inference_only=True)
    model = bm.core.read_model(xml, ov.Tensor(np.frombuffer(weights, dtype=np.uint8)))
    config = {"NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": str(threads), "INFERENCE_PRECISION_HINT": "f32"}
    (req,) = bm.create_infer_requests(bm.core.compile_model(model, "CPU", config))
    buf = req.get_input_tensor(0).data

    class Queue:  # inference_only: the loop only counts frames
        @staticmethod
        def get_next_batch_size() -> int:
            return 1

    def once(i: int) -> int:
        buf[...] = x[i % len(x)][None]
        times, _, _ = bm.sync_inference(req, Queue)
        return int(times[0] * 1e6)  # request.latency, ms

    return once


BARE = {
    "ncnn": bare_ncnn,
    "executorch": bare_executorch,
    "openvino": bare_openvino,
    "openvino-benchmark_app": bare_benchmark_app,
}


def in_process(
    runtime: str, path: Path, x: np.ndarray, args: argparse.Namespace, vendor: str = ""
) -> List[Tuple[float, float]]:
    """(edgebench p50, vendor p50) per round, inference by inference alternating which side goes first; ``vendor``:
    the BARE entry (default: ``runtime``'s bare API)."""
    from bench import data as data_mod
    from bench import harness
    from bench.runtimes import create
    from bench.runtimes.base import RuntimeOptions

    rt = create(runtime)
    rt.setup()
    if args.bare_first:  # which load comes first in the process (allocation order) is the only asymmetry left
        bare = BARE[vendor or runtime](path, args.threads, x)
    rt.load(path, RuntimeOptions(threads=args.threads))
    step = harness.step_fn(rt, data_mod.adapt(x, rt.input))
    if not args.bare_first:
        bare = BARE[vendor or runtime](path, args.threads, x)
    n = len(x)
    for i in range(WARMUP):
        step(i % n), bare(i)
    rounds = []
    for r in range(args.rounds):
        tool_ns, bare_ns = [], []
        for i in range(args.runs):
            if i % 2 == 0:
                tool_ns.append(step(i % n)[0])
                bare_ns.append(bare(i))
            else:
                bare_ns.append(bare(i))
                tool_ns.append(step(i % n)[0])
        t, b = statistics.median(tool_ns) / 1e6, statistics.median(bare_ns) / 1e6
        rounds.append((t, b))
        print(f"    round {r + 1}: edgebench {t:.3f} ms, bare {b:.3f} ms, ratio {t / b:.3f}", flush=True)
    rt.close()
    return rounds


def summary(key: str, pairs: List[Tuple[float, float]], loads: Tuple[float, float]) -> Tuple[str, float]:
    ratios = sorted(t / b for t, b in pairs)
    med = statistics.median(ratios)
    q = np.percentile(ratios, [25, 75]) if len(ratios) > 1 else (ratios[0], ratios[0])
    text = (
        f"  {key:32s} median ratio {med:.3f} (min {ratios[0]:.3f}, max {ratios[-1]:.3f}, middle half "
        f"{q[0]:.3f} to {q[1]:.3f}; {len(ratios)} rounds; edgebench p50 {statistics.median(t for t, _ in pairs):.3f} "
        f"ms, vendor {statistics.median(b for _, b in pairs):.3f} ms; load average {loads[0]:.2f} -> {loads[1]:.2f}) "
        f"{'ok' if med <= GOAL else 'ABOVE GOAL'}"
    )
    return text, med


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", type=Path, required=True)
    ap.add_argument("--models", nargs="+", default=["resnet50", "mobilenetv2"])
    ap.add_argument("--runtimes", nargs="+", default=["openvino", "ncnn", "executorch"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--runs", type=int, default=40, help="inferences per side per in-process round")
    ap.add_argument("--tool-s", type=float, default=4.0, help="measured seconds of each OpenVINO process")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "edgebench-vendor-cache")
    ap.add_argument("--in-process-openvino", action="store_true")
    ap.add_argument("--bare-first", action="store_true", help="load the vendor's side before edgebench's")
    ap.add_argument("--no-pairs", action="store_true", help="skip OpenVINO's process pairs (in-process checks only)")
    return ap.parse_args()


def main() -> int:
    args = parse()
    work = Path(tempfile.mkdtemp(prefix="edgebench-vendor-"))
    lines: List[str] = []
    worst = 0.0
    for name in args.models:
        data = work / f"{name}_data.npz"
        with np.load(args.zoo / name / "data.npz", allow_pickle=False) as full:
            np.savez(data, **{k: full[k][:SAMPLES] for k in full.files})
        x = np.load(data, allow_pickle=False)["x_data"].astype(np.float32)
        files = convert_all(args.zoo, name, args.runtimes, args.cache, data)
        jobs = [(r, "in one process") for r in args.runtimes if r != "openvino"]
        if "openvino" in args.runtimes:
            if not args.no_pairs:
                jobs.insert(0, ("openvino", "against benchmark_app"))
            if args.in_process_openvino:
                jobs += [("openvino", "benchmark_app's loop, one process"), ("openvino", "in one process")]
        for runtime, how in jobs:
            print(f"{name} {runtime} {how}, {args.threads} thread(s):", flush=True)
            before = load1()
            if how == "against benchmark_app":
                pairs = openvino_pairs(files[runtime], data, args, work)
            elif how.startswith("benchmark_app"):
                pairs = in_process(runtime, files[runtime], x, args, "openvino-benchmark_app")
            else:
                pairs = in_process(runtime, files[runtime], x, args)
            text, med = summary(f"{name} {runtime} {how}", pairs, (before, load1()))
            lines.append(text)
            worst = max(worst, med)
    print(f"\nthreads {args.threads}; ratio = edgebench p50 / vendor median (goal <= {GOAL})")
    print("\n".join(lines))
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
