"""Mutation score of bench/'s logic modules (mutmut 3), per module. Not part of CI: it takes minutes on 2 cores.

    python benchmarks/mutation_score.py [--workdir build/mutation] [--max-children 1] [--modules bench/verify.py ...]

The modules and the fast unit tests are copied into a scratch folder (the shared checkout is never touched; mutmut
writes its ``mutants/`` tree there), mutmut mutates only the chosen modules, runs TESTS plus each module's own tests
(TESTS_BY_MODULE) against each mutant (only those that reach the mutated function), and this script
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
#: the core modules (about 22 minutes on 2 cores together): `--modules` with these repeats the first measurement
#: (its sixth module, bench/comparison.py, is now bench/config_summary.py and bench/record_groups.py)
MODULES = [
    "bench/stats.py",
    "bench/metrics.py",
    "bench/data.py",
    "bench/records.py",
    "bench/harness.py",
    "bench/config_summary.py",
    "bench/record_groups.py",
]
#: the fast unit tests, run for every module (no framework, no Docker)
TESTS = [
    "tests/test_core_units.py",
    "tests/test_stats_robust.py",
    "tests/test_error_paths.py::test_single_column_binary_classifier_with_and_without_softmax",
]
#: tests left out by name everywhere: they train a CNN, start subprocesses (the mutant is not what they run), export
#: zoo models or run for a minute
EXCLUDED = [
    "real_model_files_detected", "report_csv", "report_json", "tables_fit", "old_v1_record", "plot_writes",
    "bad_report_arguments", "chart", "sixty_second", "zoo_models_match", "tflite_depthwise_mobilenetv2", "readme",
    "verify_on_this_machine", "emulated", "run_refuses", "power_hz_sets", "cli_power_cmd", "report_shows_energy",
    "sampler_tags_phases",  # counts reads of a 50 Hz thread in 0.3 s: fails under load (9 instead of >= 10)
]  # fmt: skip
#: verify's framework-free tests. Its tests with real frameworks (the rest of test_verify.py and test_verify_rules.py)
#: are left out: their ONNX Runtime, LiteRT and torch thread pools in mutmut's parent hang every forked test of
#: verify.run (a lock held at the fork); tests/test_mut_verify_run.py runs verify.run on numpy stand-ins instead
VERIFY_TESTS = [
    "tests/test_verify.py::test_output_check_bounds",
    "tests/test_verify.py::test_timing_check_against_published_figures",
    "tests/test_verify_rules.py::test_fp32_tolerance_is_one_thousandth_absolute",
    "tests/test_verify_rules.py::test_fp16_tolerance_is_one_percent_of_the_reference_range",
    "tests/test_verify_rules.py::test_int8_needs_top1_agreement_of_at_least_90_percent",
    "tests/test_verify_rules.py::test_timing_bound_is_its_stated_factor_either_way_of_the_published_figure",
    "tests/test_mut_verify_run.py",
    "tests/test_mut_verify_checks.py",
]
#: every logic module of bench/ and the tests that exercise it (in addition to TESTS). bench/convert/'s standard-library
#: and numpy modules (edges, planning, cache, options, fidelity, tools, calibration, result, output) are listed with
#: their fast tests. The runtime wrappers listed (onnxrt, tflite, openvino, ncnn, pytorch, executorch) have fast tests
#: of their own on the real framework with the shipped digits model or small nets built in the test (ONNX Runtime,
#: LiteRT, OpenVINO and ExecuTorch fork cleanly; torch is held to OMP_NUM_THREADS=1, below, and its tests never ask it
#: for more threads; ncnn computes on one thread there); their slow tests (a CNN trained per test) are not listed. Not
#: listed: the other runtime wrappers, the converter wrappers (bench/convert/'s
#: edges, pipeline and TensorFlow model, bench/models/*: their tests need the frameworks and take minutes per mutant),
#: and modules without logic (__init__, __main__, errors, infer, hashing).
TESTS_BY_MODULE: Dict[str, List[str]] = {
    "bench/stats.py": [],
    "bench/metrics.py": ["tests/test_mut_metrics.py"],
    "bench/data.py": [],
    # the v2 -> v3 compute upgrade is read through the peak tables' tests; the harness's stopping rule by its own
    "bench/records.py": ["tests/test_peaks.py", "tests/test_mut_peaktable.py", "tests/test_mut_records.py"],
    "bench/harness.py": ["tests/test_stopping.py", "tests/test_mut_stages.py", "tests/test_mut_harness.py"],
    "bench/config_summary.py": [
        "tests/test_mut_config_summary.py",
        "tests/test_report.py",
        "tests/test_comparison_mutants.py",
        "tests/test_report_cells.py",
    ],
    "bench/report.py": [
        "tests/test_report.py",
        "tests/test_report_cells.py",
        "tests/test_comparison_mutants.py",
        "tests/test_report_table.py",
        "tests/test_mut_report.py",
        "tests/test_mut_report_output.py",
    ],
    "bench/record_groups.py": [
        "tests/test_mut_record_groups.py",
        "tests/test_report.py",
        "tests/test_comparison_mutants.py",
        "tests/test_report_table.py",
    ],
    "bench/report_tables.py": [
        "tests/test_report.py",
        "tests/test_report_cells.py",
        "tests/test_comparison_mutants.py",
        "tests/test_report_table.py",
        "tests/test_mut_report.py",
        "tests/test_mut_report_output.py",
        "tests/test_mut_report_tables.py",
    ],
    "bench/report_text.py": [
        "tests/test_report.py",
        "tests/test_report_cells.py",
        "tests/test_comparison_mutants.py",
        "tests/test_mut_report.py",
        "tests/test_mut_report_output.py",
        "tests/test_mut_report_text.py",
    ],
    "bench/plots.py": [
        "tests/test_report.py",
        "tests/test_report_table.py",
        "tests/test_mut_plots.py",
        "tests/test_mut_plots_more.py",
    ],
    "bench/verify.py": [
        *VERIFY_TESTS,
        "tests/test_mut_verify.py",
        "tests/test_mut_verify_more.py",
        "tests/test_mut_verify_models.py",
        "tests/test_mut_cli_help.py",  # verify's argparse options and help, against docs/generated/cli.md
    ],
    "bench/verify_timing.py": [
        *VERIFY_TESTS,
        "tests/test_mut_verify_timing.py",
        "tests/test_mut_verify_more.py",
        "tests/test_mut_verify_models.py",
    ],
    "bench/verify_models.py": [
        *VERIFY_TESTS,
        "tests/test_mut_verify.py",
        "tests/test_mut_verify_timing.py",
        "tests/test_mut_verify_more.py",
        "tests/test_mut_verify_models.py",
    ],
    # not tests/test_compute.py: it starts torch, ONNX Runtime and LiteRT thread pools in mutmut's parent, and a
    # forked mutant then waits forever on a lock held at the fork (mutmut's CPU-time timeout never fires on a wait)
    "bench/peak_share.py": [
        "tests/test_mut_peak_share.py",
        "tests/test_mut_peak_share_more.py",
        "tests/test_compute_by_hand.py",
        "tests/test_mut_compute.py",
    ],
    "bench/peaks.py": [
        "tests/test_peaks.py",
        "tests/test_mut_peaks.py",
        "tests/test_mut_peaks_more.py",
    ],  # not test_compute.py (as above)
    "bench/cpupeak.py": [
        "tests/test_compute_by_hand.py",
        "tests/test_peaks.py",
        "tests/test_mut_cpupeak.py",
        "tests/test_mut_cpupeak_more.py",
    ],
    "bench/check.py": [
        "tests/test_check.py",
        "tests/test_mut_check.py",
        "tests/test_mut_check_report.py",
        "tests/test_mut_check_more.py",
    ],
    "bench/check_report.py": ["tests/test_check.py", "tests/test_mut_check_report.py"],
    "bench/early_stopping.py": [
        "tests/test_early_stopping.py",
        "tests/test_stopping.py",
        "tests/test_mut_early_stopping.py",
    ],
    "bench/opcount.py": [
        "tests/test_opcount.py",
        "tests/test_compute_by_hand.py",
        "tests/test_mut_opcount.py",
        "tests/test_qdq_count.py",
        "tests/test_mut_opcount_onnx.py",
        "tests/test_mut_opcount_more.py",
    ],
    "bench/sustained.py": ["tests/test_sustained.py"],
    # test_legacy_cli's uint8 case converts with TensorFlow: a forked mutant child deadlocks in it (futex wait)
    "bench/legacy.py": ["tests/test_mut_legacy.py"],
    "bench/cli.py": [
        "tests/test_mut_cli.py",
        "tests/test_cli_options.py",
        "tests/test_mut_cli_help.py",
        "tests/test_mut_cli_more.py",
    ],
    "bench/config.py": ["tests/test_mut_config.py"],
    "bench/formats.py": ["tests/test_mut_formats.py"],
    "bench/bundle.py": ["tests/test_mut_formats.py"],
    # the board fixture tests of test_boards.py and test_container_view.py (their launcher, image and subprocess
    # tests need the whole checkout)
    "bench/machine.py": [
        "tests/test_mut_machine.py",
        "tests/test_mut_machine_sampler.py",
        "tests/test_boards.py::test_fixture_board_ids",
        "tests/test_boards.py::test_detection_from_a_fixture_root",
        "tests/test_boards.py::test_orin_is_told_from_nano",
        "tests/test_boards.py::test_a_jetson_without_a_profile_is_an_error_not_host",
        "tests/test_boards.py::test_l4t_major_reads_nv_tegra_release",
        "tests/test_boards.py::test_pi5_get_throttled_is_found_through_the_driver_not_the_pi4_path",
        "tests/test_boards.py::test_idle_pi_is_not_throttled",
        "tests/test_boards.py::test_throttling_cleared_by_the_hwmon_poll_before_the_run_ends_is_still_seen",
        "tests/test_boards.py::test_sticky_bit_alone_during_the_run_counts",
        "tests/test_boards.py::test_sticky_bits_from_before_the_run_are_not_blamed_on_it",
        "tests/test_boards.py::test_throttled_fixture_marks_the_run",
        "tests/test_boards.py::test_nano_pmic_zone_is_skipped",
        "tests/test_boards.py::test_hot_jetson_reaches_its_passive_trip",
        "tests/test_boards.py::test_jetson_facts_and_the_clocks_flag",
        "tests/test_boards.py::test_coral_link_speed_and_libedgetpu_flavour",
        "tests/test_boards.py::test_report_status_carries_the_accelerator_flags",
        "tests/test_boards.py::test_generic_machine_has_no_accelerator_section",
        "tests/test_boards.py::test_armnn_packages_are_recorded_from_dpkg",
        "tests/test_container_view.py::test_the_board_is_known_inside_the_container_from_the_launchers_facts",
        "tests/test_container_view.py::test_the_soc_comes_from_the_last_compatible_entry",
        "tests/test_container_view.py::test_the_host_device_tree_wins_where_it_is_readable",
        "tests/test_container_view.py::test_the_l4t_release_is_handed_in_when_the_file_is_not_mounted",
        "tests/test_container_view.py::test_the_jetson_gpu_is_found_without_of_node",
        "tests/test_container_view.py::test_clocks_unlocked_is_raised_inside_the_container",
        "tests/test_container_view.py::test_a_device_name_that_is_not_a_gpu_is_not_taken",
        "tests/test_container_view.py::test_a_jetpack5_orin_is_not_given_the_jetpack6_image",
        "tests/test_container_view.py::test_a_jetpack5_tree_is_refused_by_auto",
        "tests/test_container_view.py::test_the_jetson_gpu_nodes_groups_are_added",
        "tests/test_container_view.py::test_the_corals_node_group_is_added",
        "tests/test_container_view.py::test_vcgencmd_gets_the_gencmd_node_too",
        "tests/test_container_view.py::test_throttling_that_continues_into_the_run_is_seen",
    ],
    "bench/hostfacts.py": ["tests/test_mut_hostfacts.py"],
    "bench/boards.py": [
        "tests/test_mut_boards.py",
        "tests/test_boards.py::test_fixture_board_ids",
        "tests/test_boards.py::test_detection_from_a_fixture_root",
        "tests/test_boards.py::test_orin_is_told_from_nano",
    ],
    "bench/board_types.py": ["tests/test_mut_boards.py", "tests/test_mut_verify_timing.py"],
    "bench/envvars.py": ["tests/test_envvars.py", "tests/test_mut_envvars.py"],
    "bench/runtimes/__init__.py": ["tests/test_mut_runtimes_registry.py"],
    "bench/convert/edges.py": ["tests/test_mut_edges.py"],
    "bench/convert/planning.py": ["tests/test_mut_planning.py"],
    "bench/convert/cache.py": ["tests/test_mut_convert_cache.py"],
    # the conversion flags' help and defaults, against docs/generated/cli.md
    "bench/convert/options.py": ["tests/test_mut_convert_options.py", "tests/test_mut_cli_help.py"],
    "bench/convert/fidelity.py": ["tests/test_mut_convert_fidelity.py"],
    "bench/convert/tools.py": ["tests/test_mut_convert_tools.py"],
    "bench/convert/calibration.py": ["tests/test_mut_convert_calibration.py"],
    "bench/convert/result.py": ["tests/test_mut_convert_output.py"],
    "bench/convert/output.py": ["tests/test_mut_convert_output.py"],
    "bench/sysfs.py": ["tests/test_mut_sysfs_probes.py"],
    "bench/runtimes/probes.py": ["tests/test_mut_sysfs_probes.py"],
    "bench/runtimes/onnxrt.py": ["tests/test_mut_rt_onnxrt.py"],
    "bench/runtimes/tflite.py": ["tests/test_mut_rt_tflite.py", "tests/test_mut_rt_tflite_backends.py"],
    "bench/runtimes/openvino.py": ["tests/test_mut_rt_openvino.py"],
    # every ncnn net in it that computes runs on one thread: ncnn's OpenMP pool hangs a fork when both sides used more
    "bench/runtimes/ncnn.py": ["tests/test_mut_rt_ncnn.py"],
    # TensorRT's cache logic without TensorRT: a maps fixture and stand-ins of the pycuda and TensorRT calls it makes
    "bench/runtimes/trt_cache.py": ["tests/test_mut_rt_trt_cache.py"],
    # torch in-process on one thread (OMP_NUM_THREADS=1, threads=1; a larger count is read from a recording stand-in)
    "bench/runtimes/pytorch.py": ["tests/test_mut_rt_pytorch.py", "tests/test_mut_rt_pytorch_load.py"],
    # programs exported once a process (tests/executorch_programs.py); real runs on one thread
    "bench/runtimes/executorch.py": ["tests/test_mut_rt_executorch.py", "tests/test_mut_rt_executorch_profile.py"],
    "bench/profile.py": ["tests/test_mut_profile.py"],
    "bench/peaktable.py": ["tests/test_mut_peaktable.py"],
    # not tests/test_compute.py either (framework thread pools: see bench/peak_share.py above)
    "bench/runner.py": ["tests/test_mut_cli.py", "tests/test_sustained.py", "tests/test_mut_runner.py"],
    "bench/stages.py": [
        "tests/test_mut_stages.py",
        "tests/test_mut_cli.py",
        "tests/test_sustained.py",
        "tests/test_mut_stages_more.py",
    ],
    "bench/cli_args.py": [
        "tests/test_mut_cli.py",
        "tests/test_cli_options.py",
        "tests/test_mut_cli_help.py",
        "tests/test_mut_cli_more.py",
    ],
    "bench/selfcheck.py": ["tests/test_mut_selfcheck.py"],
    "bench/compare/plan.py": [
        "tests/test_mut_compare.py",
        "tests/test_mut_compare_plan.py",
        "tests/test_cli_options.py",
        "tests/test_mut_cli_help.py",
        "tests/test_mut_compare_plan_more.py",
        "tests/test_mut_compare_plan_why.py",
    ],
    "bench/compare/ident.py": ["tests/test_mut_compare.py", "tests/test_mut_compare_ident.py"],
    "bench/compare/presets.py": ["tests/test_mut_compare.py"],
    # fast in-process tests (the real compares in tests/test_compare.py and tests/test_device_compare.py take
    # minutes); the two in-process argv/plan checks of test_device_compare kept for artifacts
    "bench/compare/artifacts.py": [
        "tests/test_mut_artifacts.py",
        "tests/test_device_compare.py::test_bad_artifacts_give_one_clear_line_exit_2_and_write_nothing",
        "tests/test_device_compare.py::test_artifact_plan_runs_the_file_without_conversion_and_keys_the_id_on_source_and_artifact",
    ],
    "bench/compare/progress.py": ["tests/test_mut_compare.py", "tests/test_mut_compare_plan.py"],
    "bench/compare/isolate.py": ["tests/test_mut_isolate.py"],
    "bench/compare/rounds.py": ["tests/test_mut_rounds.py"],
    "bench/compare/demo.py": ["tests/test_mut_demo.py"],
    "bench/power/base.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
    "bench/power/sampler.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
    "bench/power/session.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
    "bench/power/command.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
    "bench/power/jetson.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
    "bench/power/jtop.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
    "bench/power/pmic.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
    "bench/power/rapl.py": [
        "tests/test_mut_power.py",
        "tests/test_mut_power_boards.py",
        "tests/test_mut_power_more.py",
        "tests/test_mut_sampler.py",
        "tests/test_power.py",
    ],
}
#: bench.accelerators is read through bench.machine: the same board fixture tests reach it
TESTS_BY_MODULE["bench/accelerators.py"] = ["tests/test_mut_accelerators.py", *TESTS_BY_MODULE["bench/machine.py"]]
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def modules() -> List[str]:
    """The default run: every module of TESTS_BY_MODULE (hours on 2 cores); MODULES is the core set measured first."""
    return list(TESTS_BY_MODULE)


def tests(mods: List[str]) -> List[str]:
    extra = [t for m in mods for t in TESTS_BY_MODULE.get(m, []) if (REPO / t.split("::")[0]).is_file()]
    selected = list(dict.fromkeys(extra + TESTS))  # in order, each once
    return selected + ["-k", " and ".join(f"not {name}" for name in EXCLUDED), "-p", "no:cacheprovider"]


# tests/test_mut_cli_help.py compares each parser's --help with the committed CLI reference
ALSO_COPY = ["docs/generated/cli.md"]


def prepare(workdir: Path, mods: List[str]) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    # the shipped digits model and data (bench/models/assets, under 1 MB) are copied too: module tests run them
    shutil.copytree(REPO / "bench", workdir / "bench", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "tests", workdir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", workdir / "pyproject.toml")
    for extra in ALSO_COPY:  # files a module test reads besides bench/ and tests/
        (workdir / extra).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / extra, workdir / extra)
    lines = ["[mutmut]", "source_paths = bench", "only_mutate ="] + [f"    {m}" for m in mods]
    # mutmut copies these into mutants/: their folders, as it copies a lone file only into a folder that exists
    lines += ["also_copy ="] + sorted({f"    {Path(extra).parent}" for extra in ALSO_COPY})
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
    ap.add_argument("--modules", nargs="+", help="mutate these (default: every key of TESTS_BY_MODULE)")
    args = ap.parse_args(argv)
    mods = args.modules or modules()
    unknown = [m for m in mods if m not in TESTS_BY_MODULE]
    if unknown:
        print(f"no tests listed for {', '.join(unknown)} in TESTS_BY_MODULE", file=sys.stderr)
        return 2
    prepare(args.workdir, mods)
    mutmut = [sys.executable, "-m", "mutmut"]
    # OMP_NUM_THREADS=1: torch's OpenMP pool, once started in mutmut's parent, hangs every forked test that runs torch
    # again (tried: a Conv2d in the parent, then in a forked child, waits forever; with one thread it does not).
    # ONNX Runtime and LiteRT forked the same way run fine.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
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
