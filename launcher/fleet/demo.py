"""`make fleet-demo`: the built-in digits model on two engines of this machine, then a merged report with plots.

* board ``workstation`` (profile ``host``): a second dockerd started here (launcher.fleet.localengine), the host
  image loaded into it from the system engine (``docker save | docker load``; its data root persists in
  build/fleet-engines/second, so only the first demo pays for it);
* board ``rpi5-qemu`` (profile ``rpi5``): the system engine, the arm64 rpi image under qemu (explicit
  ``emulate = true``; its timings say nothing about a Raspberry Pi, and the report marks it EMULATED).

Then `edgebench report results/fleet-demo.jsonl --plot results/fleet-demo/`. Run again, it resumes (finishes only
what is missing). Needs root (dockerd) and the images (`make images TARGET=host,rpi`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import List

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "bench" / "models" / "assets"
RESULTS = Path("results/fleet-demo.jsonl")
PLOTS = Path("results/fleet-demo")
CONFIGS = "onnx,tflite"
ROUNDS = "2"
#: short runs: the demo shows the plumbing and the report; a real comparison uses the defaults
QUICK = ["--warmup-runs", "2", "--min-runs", "20", "--min-time-s", "1", "--max-time-s", "60"]


def _inventory(second_url: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# written by `make fleet-demo` (launcher/fleet/demo.py)\n"
        f'[[boards]]\nname = "workstation"\nprofile = "host"\nengine = "{second_url}"\n\n'
        '[[boards]]\nname = "rpi5-qemu"\nprofile = "rpi5"\nengine = "local"\nemulate = true\ntimeout_s = 1800\n'
    )
    return path


def _edgebench(args: List[str]) -> int:
    log.info("edgebench %s", " ".join(args))
    return subprocess.run([sys.executable, "-m", "launcher.console", *args]).returncode


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="fleet-demo: %(message)s", stream=sys.stderr)
    if os.geteuid() != 0:
        print("edgebench: error: the demo starts a second dockerd and needs root. Fix: run it as root", file=sys.stderr)
        return 2
    import docker

    from launcher import profiles
    from launcher.container import image_candidates
    from launcher.fleet.localengine import LocalEngine

    system = docker.from_env(timeout=600)
    tags = {}
    for name in ("host", "rpi5"):
        found = [t for t in image_candidates(profiles.get(name)) if system.images.list(name=t)]
        if not found:
            print(
                f"edgebench: error: no {name} image. Fix: make images TARGET={profiles.get(name).target}",
                file=sys.stderr,
            )
            return 2
        tags[name] = found[-1]
    engine = LocalEngine("second", REPO / "build" / "fleet-engines" / "second").start()
    try:
        log.info("loading %s into the second engine (once; kept in build/fleet-engines)", tags["host"])
        engine.load_from(system, tags["host"])
        inv = _inventory(engine.url, Path("results/fleet-demo-boards.toml"))
        run = ["fleet", "run", str(inv), str(ASSETS / "digits_cnn.onnx"), str(ASSETS / "digits_test.npz")]
        code = _edgebench([*run, "--configs", CONFIGS, "--rounds", ROUNDS, "--results", str(RESULTS), "--resume",
                           "--", *QUICK])  # fmt: skip
    finally:
        engine.stop()
    report = _edgebench(["report", str(RESULTS), "--plot", str(PLOTS)])
    print(f"results: {RESULTS}, plots: {PLOTS}/")
    return code or report


if __name__ == "__main__":
    sys.exit(main())
