"""What compare's progress display costs an inference: same loaded object, display on vs off, side by side.

One runtime is loaded through edgebench; blocks of the harness's own timed step (``bench.harness.step_fn``, what a
record's ``invoke`` and ``e2e`` are) alternate between the rich Live display running (its refresh thread redrawing
``REFRESH_PER_SECOND`` times a second into a terminal-like console on /dev/null, so the rendering work is real) and
no display at all; which goes first alternates by round. The tiny digits CNN is the worst case: its inference is tens
of microseconds, so any stall the redraw thread causes (the GIL, a stolen core) shows up relatively the most.
Goal: ratio on / off of the median within 1.02. This is the worst case: a compare measures each run in a child
process (bench.compare.isolate) while the display redraws in the parent, so there the two share no GIL at all.

    .venv/bin/python benchmarks/progress_overhead.py [--rounds 8] [--block-s 1] [--threads 1] [--refresh 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import harness, models, runtimes  # noqa: E402
from bench.compare import progress as progress_mod  # noqa: E402
from bench.data import adapt  # noqa: E402
from bench.runtimes.base import RuntimeOptions  # noqa: E402


def block(step, n: int, seconds: float) -> tuple:
    """Timed steps for ``seconds``: (invoke ns list, e2e ns list)."""
    inv, e2e = [], []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        a, b, _ = step(i % n)
        inv.append(a)
        e2e.append(b)
        i += 1
    return inv, e2e


def run(framework: str, model: Path, rounds: int, block_s: float, threads: int) -> None:
    import numpy as np
    from rich.console import Console

    with np.load(models.DIGITS_TEST_DATA) as d:
        x = d["x_data"]
    rt = runtimes.create(framework)
    rt.setup()
    rt.load(model, RuntimeOptions(threads=threads, input_shape=(1,) + tuple(x.shape[1:])))
    data = adapt(x, rt.input)
    step = harness.step_fn(rt, data)
    block(step, len(data), 0.5)  # warm-up
    medians = {"on": [], "off": []}
    means = {"on": [], "off": []}
    redraws = 0
    with open(os.devnull, "w") as devnull:
        for r in range(rounds):
            for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
                if mode == "on":
                    console = Console(file=devnull, force_terminal=True, width=100)
                    display = progress_mod.Progress(total=rounds, rounds=rounds, live=True, console=console)
                    calls = [0]
                    render = display.render

                    def counted(render=render, calls=calls):
                        calls[0] += 1
                        return render()

                    display.render = counted  # type: ignore[method-assign]
                    with display:
                        display.starting(r + 1, framework, r)
                        inv, _ = block(step, len(data), block_s)
                    redraws += calls[0]
                else:
                    inv, _ = block(step, len(data), block_s)
                medians[mode].append(statistics.median(inv))
                means[mode].append(statistics.fmean(inv))
    rt.close()
    on, off = statistics.median(medians["on"]), statistics.median(medians["off"])
    mon, moff = statistics.median(means["on"]), statistics.median(means["off"])
    print(
        f"digits {framework:<7} invoke p50 on {on / 1e3:8.2f} us  off {off / 1e3:8.2f} us  ratio {on / off:6.4f}   "
        f"mean ratio {mon / moff:6.4f}   ({rounds} rounds x {block_s:g} s, {redraws} redraws while on)",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--block-s", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--refresh", type=float, default=progress_mod.REFRESH_PER_SECOND, help="redraws per second")
    ap.add_argument("--frameworks", default="onnx,tflite")
    args = ap.parse_args()
    progress_mod.REFRESH_PER_SECOND = args.refresh
    print(f"progress display overhead, {args.threads} thread(s), {args.refresh:g} redraws/s; medians of block medians")
    small = {"onnx": models.DIGITS_ONNX, "tflite": models.DIGITS_TFLITE}
    for fw in (f for f in args.frameworks.split(",") if f):
        run(fw, small[fw], args.rounds, args.block_s, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
