"""The documentation site: the strict MkDocs build, the generated pages against the code's declarations, the record
schema page against the record types, and the getting-started commands (each runs in a test or needs a board)."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from tests.conftest import REPO, require

DOCS = REPO / "docs"
sys.path.insert(0, str(DOCS))
import gen_pages  # noqa: E402  (docs/ is not a package: the generator is a script beside the pages)


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    require("mkdocs")
    require("material")
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "--site-dir", str(site)]
    env = {"PYTHONPATH": str(REPO), "NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(cmd, cwd=config.parent, capture_output=True, text=True, timeout=300, env=env)


def _site_copy(where: Path) -> Path:
    """docs/ and mkdocs.yml copied to ``where``: the build's hook rewrites the generated pages of the tree it builds,
    and the checkout's committed pages must stay as they are for the staleness test."""
    shutil.copytree(DOCS, where / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "mkdocs.yml", where / "mkdocs.yml")
    (where / "images").symlink_to(REPO / "images")  # the generator reads the images' declarations beside docs/
    return where / "mkdocs.yml"


def test_site_builds_with_strict_and_the_strict_build_refuses_orphans_and_broken_links(tmp_path: Path) -> None:
    proc = _mkdocs_build(_site_copy(tmp_path / "good"), tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "generated" / "matrix" / "index.html").is_file()
    # the same configuration with one orphan page and one broken anchor: the build must fail on both
    config = _site_copy(tmp_path / "bad")
    (config.parent / "docs" / "orphan.md").write_text("# Orphan\n")
    with open(config.parent / "docs" / "check.md", "a") as f:
        f.write("\n[gone](record.md#no-such-section)\n")
    proc = _mkdocs_build(config, tmp_path / "site2")
    assert proc.returncode != 0
    assert "orphan.md" in proc.stderr and "no-such-section" in proc.stderr, proc.stderr[-3000:]


def test_generated_pages_and_the_readme_matrix_are_current() -> None:
    stale = [
        n for n, lines in gen_pages.pages().items() if (DOCS / "generated" / n).read_text() != "\n".join(lines) + "\n"
    ]
    assert not stale, f"docs/generated/{stale} differ from the code's declarations. Fix: run `make docs`"
    readme = (REPO / "README.md").read_text()
    assert gen_pages.readme_with_matrix(readme) == readme, "README.md's matrix is stale. Fix: run `make docs`"


def test_a_new_preset_appears_in_the_presets_page_and_the_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.compare import presets

    name = "madeup-fp16"
    assert not any(name in line for line in gen_pages.presets_lines() + gen_pages.matrix_lines())
    extra = presets.Preset("madeup", "fp16", None, False, "a preset added by this test only")
    monkeypatch.setitem(presets.PRESETS, name, extra)
    rows = [line for line in gen_pages.presets_lines() if f"`{name}`" in line]
    assert len(rows) == 1 and "a preset added by this test only" in rows[0] and "| fp16 |" in rows[0]
    (matrix_row,) = [line for line in gen_pages.matrix_lines() if f"`{name}`" in line]
    # no image's selfcheck names the runtime "madeup": the preset runs nowhere yet, one "–" per profile
    from launcher.profiles import PROFILES

    assert matrix_row.count("| – ") == len(PROFILES)


def test_matrix_cells_follow_the_image_declarations(tmp_path: Path) -> None:
    (tmp_path / "images" / "t").mkdir(parents=True)
    (tmp_path / "images" / "t" / "selfcheck.txt").write_text("onnx,tflite\n")
    (tmp_path / "images" / "t" / "Dockerfile").write_text(
        'ARG WITH_A=1\nARG WITH_B=0\nRUN printf "$([ "${WITH_A}" = 1 ] && echo ,coral)$([ "${WITH_B}" = 1 ] && echo ,pytorch)"\n'
    )
    always, switched = gen_pages.image_checks("t", root=tmp_path)
    assert always == ("onnx", "tflite") and switched == {"coral": ("WITH_A", "1"), "pytorch": ("WITH_B", "0")}
    assert gen_pages.cell(("tflite",), always, switched) == "✓"
    assert gen_pages.cell(("coral",), always, switched) == "✓ (WITH_A)"
    assert gen_pages.cell(("pytorch",), always, switched) == "✓ (WITH_B=1)"
    assert gen_pages.cell(("tensorrt",), always, switched) == "–"


def test_verified_claims_name_real_profiles_and_presets() -> None:
    from bench.compare.presets import PRESETS
    from launcher.profiles import PROFILES

    for (profile, preset), where in gen_pages.VERIFIED.items():
        assert profile in PROFILES and preset in PRESETS and where in gen_pages.MARK, (profile, preset, where)


# --- the record schema page -------------------------------------------------------------------------------------


def _schema_rows() -> Dict[str, Tuple[str, str]]:
    """Documented field -> (unit, since) from every table of docs/record.md."""
    rows = {}
    for line in (DOCS / "record.md").read_text().splitlines():
        m = re.match(r"\| `([\w.]+)` \| ([^|]+) \| ([\d+]+) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(3))
    return rows


def test_record_schema_page_lists_every_field_of_the_record_types_with_its_version() -> None:
    from bench import records, stats

    rows = _schema_rows()
    top = {f.name for f in dataclasses.fields(records.RunRecord)}
    nested = {
        f"{prefix}.{f.name}"
        for prefix, cls in (("model", records.ModelInfo), ("data", records.DataInfo), ("latency", records.Latency))
        for f in dataclasses.fields(cls)
    }
    statistics = set(stats.summarize_ns([1_000_000, 2_000_000, 4_000_000, 3_000_000]))
    documented = set(rows)
    assert documented == top | nested | statistics, (
        f"missing: {sorted((top | nested | statistics) - documented)}, unknown: {sorted(documented - top - nested - statistics)}"
    )
    added = {key: v for v, keys in records._ADDED.items() for key in keys}
    for name in top:
        assert rows[name][1] == str(added.get(name, 1)), (name, rows[name])
    assert f"is {records.SCHEMA_VERSION}" in (DOCS / "record.md").read_text()


def _section_rows(section: str) -> set:
    """The fields of docs/record.md's ``section.*`` tables (field | type | meaning)."""
    text = (DOCS / "record.md").read_text()
    return set(re.findall(rf"^\| `{section}\.(\w+)` \|", text, re.M))


def test_record_schema_page_lists_the_compare_and_fleet_sections_as_they_are_written() -> None:
    from types import SimpleNamespace

    from launcher.fleet.boards import _fleet_section
    from tests.test_compare import COMPARE_KEYS  # checked there against the records a real compare writes

    assert _section_rows("compare") == COMPARE_KEYS
    board = SimpleNamespace(name="nano-1", profile="jetson-nano")
    written = _fleet_section(SimpleNamespace(id="0123456789abcdef"), board, {"id": "X"})  # type: ignore[arg-type]
    assert _section_rows("fleet") == set(written)


# --- getting started: every command block runs in a test or needs a board -----------------------------------------

_ANNOTATION = re.compile(r"<!-- (runs in: (tests/\S+\.py)::(\w+)|needs a board|not a command: [^>]+) -->")


def _blocks(page: Path) -> List[Tuple[str, str]]:
    """(annotation line above the block, block text) of every fenced block of a page."""
    lines, out, i = page.read_text().splitlines(), [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("```"))
            above = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            out.append((above, "\n".join(lines[i + 1 : j])))
            i = j
        i += 1
    return out


def test_every_getting_started_block_runs_in_a_named_test_or_says_it_needs_a_board() -> None:
    pages = sorted((DOCS / "getting-started").glob("*.md"))
    blocks = [(page, above, text) for page in pages for above, text in _blocks(page)]
    assert len(blocks) >= 10
    for page, above, text in blocks:
        m = _ANNOTATION.fullmatch(above.strip())
        assert m, f"{page.name}: a block without '<!-- runs in: ... -->' or '<!-- needs a board -->':\n{text}"
        if m.group(2):
            source = (REPO / m.group(2)).read_text()
            assert f"def {m.group(3)}(" in source, f"{page.name}: {m.group(2)} has no test {m.group(3)}"
        if m.group(1) == "needs a board":
            body = page.read_text()
            assert body.count("**Needs the board:**") >= body.count("<!-- needs a board -->"), page.name


@pytest.mark.slow
def test_workstation_quick_start(tmp_path: Path) -> None:
    """The workstation page's first block, run as written in a fresh folder: `make bench` is what the Makefile runs
    for it (launcher.make_bench), the user's ONNX model and data are the shipped digits ONNX model and test set."""
    require("onnxruntime")
    require("ai_edge_litert")
    from bench import models

    (above, text), *_ = _blocks(DOCS / "getting-started" / "workstation.md")
    assert "test_workstation_quick_start" in above
    shutil.copy(models.DIGITS_ONNX, tmp_path / "my_model.onnx")
    shutil.copy(models.DIGITS_TEST_DATA, tmp_path / "my_data.npz")
    edgebench = Path(sys.executable).parent / "edgebench"
    commands = [shlex.split(line.split("#")[0]) for line in text.splitlines() if line.strip()]
    assert [c[:2] for c in commands] == [
        ["make", "bench"],
        [".venv/bin/edgebench", "compare"],
        [".venv/bin/edgebench", "report"],
    ]
    for cmd in commands:
        argv = [sys.executable, "-m", "launcher.make_bench"] if cmd == ["make", "bench"] else [str(edgebench), *cmd[1:]]
        env = {"PYTHONPATH": str(REPO), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=1200, env=env)
        assert proc.returncode == 0, f"{cmd}: {proc.stderr[-3000:]}"
    lines = (tmp_path / "results" / "results.jsonl").read_text().splitlines()
    runs = [(r["compare"]["config"], r["status"]) for r in map(json.loads, lines)]
    # the demo: pytorch, onnx, tflite x 3 rounds; the compare: onnx, tflite x 3 rounds
    assert sorted(runs) == sorted([(c, "ok") for c in ("pytorch", "onnx", "tflite") * 3 + ("onnx", "tflite") * 3])
    assert (tmp_path / "plots" / "my_model_latency.png").is_file()
