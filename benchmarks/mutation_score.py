"""Mutation score of the core modules (mutmut 3), per module. Not part of CI: it takes minutes on 2 cores.

    python benchmarks/mutation_score.py [--workdir build/mutation] [--max-children 1] [--keep]

The modules and the fast unit tests are copied into a scratch folder (the shared checkout is never touched; mutmut
writes its ``mutants/`` tree there), mutmut mutates only MODULES, runs only TESTS against each mutant, and this script
prints killed / total per module from mutmut's per-file ``.meta`` results. A mutant counts as killed when a test
failed, timed out or crashed on it; "no tests" and "survived" mutants count against the score.
``make mutation`` runs this at low priority (``nice -n 10``); ``--json`` writes the figures to a file as well.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parent.parent
#: mutated modules; bench/comparison.py joins when it exists (the compare statistics, standard library only)
MODULES = ["bench/stats.py", "bench/metrics.py", "bench/data.py", "bench/records.py", "bench/harness.py"]
OPTIONAL_MODULES = ["bench/comparison.py"]
#: the fast unit tests (no framework, no Docker); the digits-model fixture test is left out (it trains a CNN)
TESTS = [
    "tests/test_core_units.py",
    "tests/test_error_paths.py::test_single_column_binary_classifier_with_and_without_softmax",
    "-k",
    # not the digits-model fixture test (trains a CNN), not tests/test_report.py's subprocess and plot tests
    "not real_model_files_detected and not report_csv and not report_json and not tables_fit and not old_v1_record"
    " and not plot_writes and not bad_report_arguments and not chart",
    "-p",
    "no:cacheprovider",
]
#: the comparison statistics' own unit tests (tests/test_report.py), when that module is mutated
OPTIONAL_TESTS = {"bench/comparison.py": ["tests/test_report.py", "tests/test_comparison_mutants.py"]}
#: further fast unit tests of the mutated modules, used when present (the robust statistics' own tests)
EXTRA_TESTS = ["tests/test_stats_robust.py"]
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def modules() -> List[str]:
    return MODULES + [m for m in OPTIONAL_MODULES if (REPO / m).is_file()]


def tests(mods: List[str]) -> List[str]:
    extra = [t for m in mods for t in OPTIONAL_TESTS.get(m, []) if (REPO / t).is_file()]
    return extra + [t for t in EXTRA_TESTS if (REPO / t).is_file()] + TESTS


def prepare(workdir: Path, mods: List[str]) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copytree(REPO / "bench", workdir / "bench", ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copytree(REPO / "tests", workdir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", workdir / "pyproject.toml")
    lines = ["[mutmut]", "source_paths = bench", "only_mutate ="] + [f"    {m}" for m in mods]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {a}" for a in tests(mods)]
    (workdir / "setup.cfg").write_text("\n".join(lines) + "\n")


def score(workdir: Path, mods: List[str]) -> Dict[str, Dict[str, object]]:
    out: Dict[str, Dict[str, object]] = {}
    for mod in mods:
        meta = workdir / "mutants" / (mod + ".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.is_file() else {}
        statuses = Counter(_status(c) for c in codes.values())
        total = sum(statuses.values())
        killed = sum(n for s, n in statuses.items() if s in KILLED)
        out[mod] = {
            "killed": killed,
            "total": total,
            "score_pct": round(100.0 * killed / total, 1) if total else None,
            "statuses": dict(statuses),
            "survivors": sorted(k for k, c in codes.items() if _status(c) not in KILLED),
        }
    return out


def _status(code: object) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=REPO / "build" / "mutation")
    ap.add_argument("--max-children", type=int, default=1, help="parallel mutant workers (default 1: shared cores)")
    ap.add_argument("--json", type=Path, help="also write the per-module figures here")
    ap.add_argument("--show-survivors", action="store_true", help="print each surviving mutant's diff")
    ap.add_argument("--modules", nargs="+", help="mutate only these (default: all of MODULES present)")
    args = ap.parse_args(argv)
    mods = args.modules or modules()
    missing = [m for m in OPTIONAL_MODULES if m not in mods]
    if missing:
        print(f"not present, not mutated: {', '.join(missing)}")
    prepare(args.workdir, mods)
    mutmut = [sys.executable, "-m", "mutmut"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    proc = subprocess.run([*mutmut, "run", "--max-children", str(args.max_children)], cwd=args.workdir, env=env)
    took = time.monotonic() - start
    if proc.returncode != 0:
        print(f"mutmut run failed with exit code {proc.returncode}", file=sys.stderr)
        return proc.returncode
    result = score(args.workdir, mods)
    print(f"\nmutation score ({took / 60:.1f} min wall, tests: {' '.join(tests(mods))})")
    for mod, r in result.items():
        pct = "n/a" if r["score_pct"] is None else f"{r['score_pct']:5.1f}%"
        print(f"  {mod:22s} {r['killed']:4d}/{r['total']:<4d} killed  {pct}   {r['statuses']}")
        if args.show_survivors:
            for name in r["survivors"]:
                subprocess.run([*mutmut, "show", name], cwd=args.workdir, env=env)
    if args.json:
        args.json.write_text(json.dumps({"minutes": round(took / 60, 1), "modules": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
