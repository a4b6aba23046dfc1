"""The import graph of bench/ and launcher/, function-level imports included, as tools/structure.py reads it: no
circle through the runtimes, formats, conversion and verify modules, and no import of the launcher from them.

An edge A -> B is any ``import B`` or ``from B import x`` in A, at any depth of A's code; ``from P import m`` counts as
importing both P and, when m is a module, P.m (so a package whose own module imports its modules, imported back by
them, is a circle).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import structure  # noqa: E402

#: modules that must be in no circle (the runtimes, formats, conversion and verify modules)
UNTIED = (
    *("bench.runtimes", "bench.formats", "bench.bundle", "bench.convert", "bench.selfcheck"),
    *("bench.verify", "bench.verify_timing", "bench.verify_models"),
)


def _graph() -> dict:
    return structure.import_graph(structure.modules(REPO))


def _untied(module: str) -> bool:
    return any(module == u or module.startswith(u + ".") for u in UNTIED)


def test_the_reader_finds_a_circle_it_is_given() -> None:
    assert structure.circles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
    assert structure.circles({"a": {"b": 1}, "b": {}}) == []


def test_a_package_imported_back_by_its_own_module_is_a_circle(tmp_path: Path) -> None:
    (tmp_path / "bench" / "p").mkdir(parents=True)
    (tmp_path / "bench" / "__init__.py").write_text("")
    (tmp_path / "bench" / "p" / "__init__.py").write_text("from bench.p import m\n")
    (tmp_path / "bench" / "p" / "m.py").write_text("def f():\n    from bench.p import n\n")  # runs p/__init__
    (tmp_path / "bench" / "p" / "n.py").write_text("")
    (tmp_path / "launcher").mkdir()
    graph = structure.import_graph(structure.modules(tmp_path))
    assert structure.circles(graph) == [["bench.p", "bench.p.m"]]


def test_runtimes_formats_conversion_and_verify_are_in_no_circle() -> None:
    tied = [c for c in structure.circles(_graph()) if any(_untied(m) for m in c)]
    assert not tied, tied


def test_bench_imports_nothing_from_the_launcher_through_the_modules_here() -> None:
    graph = _graph()
    assert not [(m, t) for m in graph if _untied(m) for t in graph[m] if t.startswith("launcher")]
