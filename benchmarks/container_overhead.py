"""Container overhead: the same model and data natively and inside the host image (this machine's architecture).

For each model, rounds alternate native and container runs (`python -m bench run` vs `python -m launcher bench
--device host`, same options, same threads) and compare the median of their steady-state `invoke` p50 latencies.
Prints the latency ratio container/native (goal at most 1.02) and the seconds from command to first result (the
record in the results file: process start to exit, which includes interpreter and framework start-up, model load,
warm-up and measurement; for the container also creating it, copying inputs in and results out).

Models: the shipped digits CNN (tiny: the ratio is dominated by microseconds of noise) and a ResNet-50 exported to
ONNX here (random weights, realistic size; needs torch in the venv).

    .venv/bin/python benchmarks/container_overhead.py [--rounds 3] [--threads 2] [--skip-resnet]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere: bench is imported from this checkout
    sys.path.insert(0, str(REPO))
ASSETS = REPO / "bench" / "models" / "assets"


def resnet_onnx(tmp: Path) -> Tuple[Path, Path]:
    """ResNet-50 (random weights) as ONNX and 32 random images with labels."""
    import numpy as np
    import torch

    from bench.models.resnet import resnet50

    model = resnet50(seed=0).eval()
    path = tmp / "resnet50.onnx"
    torch.onnx.export(
        model, torch.zeros(1, 3, 224, 224), str(path), dynamo=False, input_names=["input"], opset_version=17
    )
    rng = np.random.default_rng(0)
    data = tmp / "images.npz"
    np.savez(data, x_data=rng.standard_normal((32, 3, 224, 224), dtype=np.float32), y_data=rng.integers(0, 1000, 32))
    return path, data


def timed_run(cmd: List[str], results: Path) -> Tuple[float, Dict]:
    """Run a command that appends one record to ``results``; return (seconds to the record, the record)."""
    before = results.read_text().count("\n") if results.exists() else 0
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    took = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    lines = results.read_text().splitlines()
    assert len(lines) == before + 1, "exactly one record appended"
    return took, json.loads(lines[-1])


def compare(model: Path, data: Path, threads: int, rounds: int, tmp: Path, run_args: List[str]) -> Dict:
    native_out, container_out = tmp / f"{model.stem}-native.jsonl", tmp / f"{model.stem}-container.jsonl"
    common = ["--framework", "onnx", "--threads", str(threads), *run_args]
    native_cmd = [sys.executable, "-m", "bench", "run", str(model), str(data), *common, "--output", str(native_out)]
    container_cmd = [
        sys.executable, "-m", "launcher", "bench", "--device", "host", "--no-pull", str(model), str(data),
        "--framework", "onnx", "--results", str(container_out), "--", "--threads", str(threads), *run_args,
    ]  # fmt: skip
    rows = {"native": [], "container": []}
    for r in range(rounds):
        for kind, cmd, out in (("native", native_cmd, native_out), ("container", container_cmd, container_out)):
            took, rec = timed_run(cmd, out)
            p50 = rec["latency"]["invoke"]["p50_ms"]
            rows[kind].append((took, p50))
            log.info("%s round %d %-9s p50 %.4f ms, command to result %.1f s", model.name, r, kind, p50, took)
    med = {k: statistics.median(p for _, p in v) for k, v in rows.items()}
    first = {k: statistics.median(t for t, _ in v) for k, v in rows.items()}
    return {
        "model": model.name,
        "native_p50_ms": med["native"],
        "container_p50_ms": med["container"],
        "ratio": med["container"] / med["native"],
        "native_s_to_result": first["native"],
        "container_s_to_result": first["container"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="overhead: %(message)s")
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        quick = ["--warmup-runs", "10", "--warmup-min-s", "0.5", "--min-runs", "200", "--min-time-s", "2"]
        rows.append(
            compare(ASSETS / "digits_cnn.onnx", ASSETS / "digits_test.npz", args.threads, args.rounds, tmp, quick)
        )
        if not args.skip_resnet:
            model, data = resnet_onnx(tmp)
            heavy = ["--warmup-runs", "5", "--warmup-min-s", "1", "--min-runs", "50", "--min-time-s", "3"]
            rows.append(compare(model, data, args.threads, args.rounds, tmp, heavy))
    print(f"\n{'model':<18} {'native p50':>11} {'container p50':>14} {'ratio':>7} {'s to result native/container':>30}")
    for r in rows:
        print(
            f"{r['model']:<18} {r['native_p50_ms']:>9.4f}ms {r['container_p50_ms']:>12.4f}ms {r['ratio']:>7.3f} "
            f"{r['native_s_to_result']:>14.1f} / {r['container_s_to_result']:.1f}"
        )
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
