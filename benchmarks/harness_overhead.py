"""Harness overhead: the median ``invoke`` latency edgebench reports vs. a bare loop timing the same call.

For each runtime (PyTorch, ONNX Runtime, TFLite), same model, same threads, same process:

1. **same object, interleaved** (the main figure): one runtime loaded through edgebench; inference by inference,
   the harness's own timed step (``bench.harness.step_fn``, what ``run`` records as ``invoke``) alternates with a
   bare ``perf_counter_ns`` pair around the framework's call on the very same session / interpreter / module
   (which goes first alternates too). Both see the same machine at the same moment, so the ratio resolves the
   harness's own cost even on a noisy shared machine.
2. **whole tool, separate runs**: ``bench.runner.run`` (sampler thread and all) against a separately loaded bare
   loop, in rounds whose order alternates. On a shared 2-core VM this varies by +-10 % from run to run in either
   direction, which says more about the machine than about the harness.

Models: ResNet-50 (hand-written, random weights, 1x3x224x224): ratio tool / bare (goal <= 1.02); the tiny digits
CNN: overhead per inference in microseconds (goal <= 20 us).

3. **power sampler off vs on** (``--power``): one loaded runtime, the harness's timed step in blocks of inferences,
   blocks alternating between the 10 Hz power sampler (bench/power) stopped and running, in the same process. The
   sources: the Jetson Orin hwmon reader on its fixture tree (two sysfs-style file reads per sample; no sensor
   here) and a ``--power-cmd`` meter (``/bin/echo 4.2``: a process start per sample). Ratio = median of the on
   blocks' p50s / median of the off blocks'; noise = the same ratio between the two halves of the off blocks; the
   same for the blocks' mean latency (a read that interrupts an inference shows in the mean before the median).

    .venv/bin/python benchmarks/harness_overhead.py [--rounds 6] [--threads 2] [--quick] [--frameworks ...] [--power]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import models, runner  # noqa: E402
from bench.config import RunConfig, Timing  # noqa: E402
from bench.models.make_default import onnx_to_tflite_fp32  # noqa: E402


def bare_loop(framework: str, model: Path, x: np.ndarray, runs: int, threads: int, cls: tuple) -> list:
    """Time only the runtime call, in the plainest loop the framework allows."""
    pc = time.perf_counter_ns
    out = []
    xi = x[:1]
    if framework == "onnx":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: xi}
        for _ in range(10):
            sess.run(None, feed)
        for _ in range(runs):
            t0 = pc()
            sess.run(None, feed)
            out.append(pc() - t0)
    elif framework == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(model), num_threads=threads)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], xi)
        for _ in range(10):
            it.invoke()
        for _ in range(runs):
            t0 = pc()
            it.invoke()
            out.append(pc() - t0)
    else:
        import torch

        from bench.runtimes.pytorch import load_module

        torch.set_num_threads(threads)
        net = load_module(model, None, *cls)
        xt = torch.from_numpy(xi)
        with torch.no_grad():
            for _ in range(10):
                net(xt)
            for _ in range(runs):
                t0 = pc()
                net(xt)
                out.append(pc() - t0)
    return out


def tool_invoke(framework: str, model: Path, data: Path, runs: int, threads: int, cls: tuple) -> list:
    config = RunConfig(
        model=model,
        data=data,
        framework=framework,
        threads=threads,
        model_class_path=cls[0],
        model_class_name=cls[1],
        timing=Timing(warmup_runs=10, warmup_min_s=0, min_runs=runs, min_time_s=0),
    )
    return runner.run(config).latency.raw_invoke_ns


def interleaved(
    name: str, framework: str, model: Path, x: np.ndarray, runs: int, threads: int, cls: tuple = (None, None)
) -> tuple:
    """The harness's timed step and a bare call on the same loaded object, alternating inference by inference."""
    from bench import harness, runtimes
    from bench.data import adapt
    from bench.runtimes.base import RuntimeOptions

    rt = runtimes.create(framework)
    rt.setup()
    rt.load(
        model,
        RuntimeOptions(
            threads=threads, model_class_path=cls[0], model_class_name=cls[1], input_shape=(1,) + tuple(x.shape[1:])
        ),
    )
    data = adapt(x, rt.input)
    step = harness.step_fn(rt, data)
    x0 = data.sample(0)
    if framework == "onnx":
        sess, feed = rt._sess, {rt.input.name: x0}

        def bare() -> None:
            sess.run(None, feed)
    elif framework == "tflite":
        invoke = rt._interp.invoke

        def bare() -> None:
            invoke()  # on whatever input the last tool step set: same shape, same work
    else:
        import torch

        module, xt = rt._model, torch.from_numpy(x0)

        def bare() -> None:
            module(xt)

    pc = time.perf_counter_ns
    n = len(data)
    for i in range(10):
        step(i % n)
        bare()
    tool, plain = [], []
    for i in range(runs):
        if i % 2:
            tool.append(step(i % n)[0])
        t0 = pc()
        bare()
        plain.append(pc() - t0)
        if not i % 2:
            tool.append(step(i % n)[0])
    rt.close()
    t, b = statistics.median(tool), statistics.median(plain)
    print(
        f"{name:<10} {framework:<8} same object   tool p50 {t / 1e6:9.4f} ms   bare p50 {b / 1e6:9.4f} ms   "
        f"ratio {t / b:6.4f}   overhead {(t - b) / 1e3:+8.2f} us",
        flush=True,
    )
    return t, b


def compare(
    name: str,
    framework: str,
    model: Path,
    data: Path,
    x: np.ndarray,
    runs: int,
    rounds: int,
    threads: int,
    cls: tuple = (None, None),
) -> tuple:
    tool, bare = [], []
    for r in range(rounds):  # alternate which goes first, so neither always follows a fresh load
        if r % 2 == 0:
            tool.append(statistics.median(tool_invoke(framework, model, data, runs, threads, cls)))
        bare.append(statistics.median(bare_loop(framework, model, x, runs, threads, cls)))
        if r % 2 == 1:
            tool.append(statistics.median(tool_invoke(framework, model, data, runs, threads, cls)))
    t, b = statistics.median(tool), statistics.median(bare)
    spread = f"rounds: tool {min(tool) / 1e6:.4f}..{max(tool) / 1e6:.4f}, bare {min(bare) / 1e6:.4f}..{max(bare) / 1e6:.4f} ms"
    print(
        f"{name:<10} {framework:<8} whole tool   tool p50 {t / 1e6:9.4f} ms   bare p50 {b / 1e6:9.4f} ms   "
        f"ratio {t / b:6.4f}   overhead {(t - b) / 1e3:+8.2f} us   ({spread})",
        flush=True,
    )
    return t, b


def power_sampler_cost(framework: str, model: Path, x: np.ndarray, blocks: int, block_s: float, threads: int) -> None:
    """Blocks of ``block_s`` seconds of timed steps, alternating sampler off / on (10 Hz), on one loaded runtime."""
    from bench import harness, runtimes
    from bench.data import adapt
    from bench.power import jetson
    from bench.power.command import Command
    from bench.power.sampler import PowerSampler
    from bench.runtimes.base import RuntimeOptions

    rt = runtimes.create(framework)
    rt.setup()
    rt.load(model, RuntimeOptions(threads=threads, input_shape=(1,) + tuple(x.shape[1:])))
    data = adapt(x, rt.input)
    step, n = harness.step_fn(rt, data), len(data)
    sources = {
        "sysfs (Jetson hwmon fixture)": lambda: jetson.probe_hwmon(REPO / "tests/fixtures/power/jetson-orin"),
        "cmd (/bin/echo 4.2)": lambda: Command(["/bin/echo", "4.2"]),
    }
    for name, make in sources.items():
        off: list = []
        on: list = []
        means: dict = {True: [], False: []}
        reads = 0
        for b in range(2 * blocks):
            sampling = (b % 2 == 1) if (b // 2) % 2 == 0 else (b % 2 == 0)  # ABBA order: neither always first
            sampler = PowerSampler(make(), 10.0).start() if sampling else None
            lat, end, i = [], time.perf_counter() + block_s, 0
            while time.perf_counter() < end:
                lat.append(step(i % n)[0])
                i += 1
            if sampler is not None:
                sampler.stop()
                reads += len(sampler.readings)
            (on if sampling else off).append(statistics.median(lat))
            means[sampling].append(statistics.fmean(lat))
        ratio = statistics.median(on) / statistics.median(off)
        noise = statistics.median(off[: blocks // 2]) / statistics.median(off[blocks // 2 :])
        mean_ratio = statistics.median(means[True]) / statistics.median(means[False])
        mean_noise = statistics.median(means[False][: blocks // 2]) / statistics.median(means[False][blocks // 2 :])
        print(
            f"{framework:<8} power sampler 10 Hz, {name:<29} on/off p50 ratio {ratio:6.4f}   "
            f"off/off (noise) {noise:6.4f}   mean ratio {mean_ratio:6.4f} (noise {mean_noise:6.4f})   "
            f"{blocks}+{blocks} blocks of {block_s:g} s, {reads} power reads",
            flush=True,
        )
    rt.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="tiny model only")
    ap.add_argument("--frameworks", default="pytorch,onnx,tflite", help="comma-separated subset")
    ap.add_argument("--power", action="store_true", help="only the power sampler off/on comparison")
    args = ap.parse_args()
    frameworks = tuple(f for f in args.frameworks.split(",") if f)
    if args.power:
        with np.load(models.DIGITS_TEST_DATA) as d:
            x_digits = d["x_data"]
        for fw in frameworks:
            if fw != "pytorch":  # the state_dict needs its class; ONNX and TFLite load the shipped exports
                power_sampler_cost(fw, {"onnx": models.DIGITS_ONNX, "tflite": models.DIGITS_TFLITE}[fw], x_digits,
                                   args.rounds * 2, 2.0, args.threads)  # fmt: skip
        return 0
    print(f"harness overhead, {args.threads} threads, {args.rounds} alternating rounds; medians of round medians")

    with np.load(models.DIGITS_TEST_DATA) as d:
        x_small = d["x_data"]
    small = {"pytorch": models.DIGITS_STATE_DICT, "onnx": models.DIGITS_ONNX, "tflite": models.DIGITS_TFLITE}
    cls_small = (models.DIGITS_CLASS_FILE, models.DIGITS_CLASS_NAME)
    for fw in frameworks:
        cls = cls_small if fw == "pytorch" else (None, None)
        interleaved("digits", fw, small[fw], x_small, 5000, args.threads, cls)
        compare(
            "digits",
            fw,
            small[fw],
            models.DIGITS_TEST_DATA,
            x_small,
            2000,
            args.rounds,
            args.threads,
            cls_small if fw == "pytorch" else (None, None),
        )
    if args.quick:
        return 0

    import torch

    from bench.models.resnet import resnet50

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        net = resnet50()
        x = np.random.default_rng(0).random((8, 3, 224, 224), dtype=np.float32)
        data = tmp / "imagenet_like.npz"
        np.savez(data, x_data=x, y_data=np.zeros(8, dtype=np.int64))
        script = tmp / "resnet50.pt"
        torch.jit.save(torch.jit.trace(net, torch.from_numpy(x[:1])), str(script))
        onnx_path = tmp / "resnet50.onnx"
        torch.onnx.export(
            net,
            (torch.from_numpy(x[:1]),),
            str(onnx_path),
            input_names=["input"],
            output_names=["logits"],
            dynamo=False,
            external_data=False,
            opset_version=17,
        )
        big = {"pytorch": script, "onnx": onnx_path}
        if "tflite" in frameworks:
            print("converting ResNet-50 to TFLite with onnx2tf (a few minutes)...", flush=True)
            big["tflite"] = onnx_to_tflite_fp32(onnx_path, tmp / "resnet50.tflite", keep_input="input")
        for fw in frameworks:
            interleaved("resnet50", fw, big[fw], x, 80, args.threads)
            compare("resnet50", fw, big[fw], data, x, 30, args.rounds, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
