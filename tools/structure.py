"""The shape of the code, checked: import circles, bench importing the launcher, long functions, long modules.

Reads the source with ``ast`` (nothing is imported). An import counts wherever it stands: at module level or inside a
function (a circle through a lazy import is still a circle). ``from pkg import name`` is an import of ``pkg.name``
when that is a module, else of ``pkg``; importing ``a.b.c`` is counted as an edge to ``a.b.c`` alone (a package's
``__init__`` running first is not an edge of the importer).

    python tools/structure.py [ROOT]    # ROOT: the repository (default: this file's parent's parent)

Prints one line per finding and exits 1 when there is any, 0 when the structure is clean.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set

PACKAGES = ("bench", "launcher")
#: bench runs inside the device images, which ship it without the launcher: it may never import it
FORBIDDEN = (("bench", "launcher"),)
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


@dataclass(frozen=True)
class Finding:
    kind: str  # "circle", "upward import", "long function", "long module"
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> Dict[str, Path]:
    """Every module of PACKAGES under ``root``, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute package a (possibly relative) ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _nearest(name: str, known: Set[str]) -> str:
    """``name`` or the innermost known module containing it (``import a.b.c`` of a name inside module a.b)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def imports(module: str, path: Path, known: Set[str]) -> Iterator[tuple]:
    """(imported module, line) for every import in the file, at any depth; only names under PACKAGES.

    ``from P import m`` imports P (its ``__init__`` runs first) and, when m is a module, P.m: a package whose own
    module imports its modules, imported back by them, is a circle."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _nearest(alias.name, known) or alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            package = _absolute(module, path, node)
            yield _nearest(package, known) or package, node.lineno
            for alias in node.names:
                candidate = f"{package}.{alias.name}"
                if candidate in known:
                    yield candidate, node.lineno


def import_graph(found: Dict[str, Path]) -> Dict[str, Dict[str, int]]:
    """module -> {imported module: first line}, edges inside PACKAGES only, self-imports dropped."""
    known = set(found)
    graph: Dict[str, Dict[str, int]] = {}
    for module, path in found.items():
        edges: Dict[str, int] = {}
        for target, line in imports(module, path, known):
            if target.split(".")[0] in PACKAGES and target != module:
                edges.setdefault(target, line)
        graph[module] = edges
    return graph


def circles(graph: Dict[str, Dict[str, int]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    result = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(t for t in graph[start] if t in graph)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(t for t in graph[child] if t in graph))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return sorted(result)


def _cycle_path(graph: Dict[str, Dict[str, int]], component: List[str]) -> List[str]:
    """One concrete circle inside ``component`` (breadth-first from its first module back to it), for the message."""
    members = set(component)
    start = component[0]
    previous: Dict[str, Optional[str]] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    path = [node]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])  # type: ignore[arg-type]
                    return list(reversed(path)) + [start]
                if child in members and child not in previous:
                    previous[child] = node
                    nxt.append(child)
        frontier = nxt
    return component


def long_functions(found: Dict[str, Path], root: Path, limit: int = MAX_FUNCTION_LINES) -> Iterator[Finding]:
    for path in found.values():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                length = node.end_lineno - first + 1  # type: ignore[operator]
                if length > limit:
                    yield Finding(
                        "long function",
                        f"{path.relative_to(root).as_posix()}:{node.lineno}",
                        f"{node.name} {length} lines",
                    )


def long_modules(found: Dict[str, Path], root: Path, limit: int = MAX_MODULE_LINES) -> Iterator[Finding]:
    for path in found.values():
        length = len(path.read_text(encoding="utf-8").splitlines())
        if length > limit:
            yield Finding("long module", path.relative_to(root).as_posix(), f"{length} lines")


def check(root: Path) -> List[Finding]:
    found = modules(root)
    graph = import_graph(found)
    findings = []
    for component in circles(graph):
        path = _cycle_path(graph, component)
        steps = " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(path, path[1:])) + f" -> {path[-1]}"
        findings.append(Finding("circle", ", ".join(component), steps))
    for module, edges in sorted(graph.items()):
        for target, line in sorted(edges.items()):
            for low, high in FORBIDDEN:
                if module.split(".")[0] == low and target.split(".")[0] == high:
                    where = f"{found[module].relative_to(root).as_posix()}:{line}"
                    findings.append(Finding("upward import", where, f"{module} imports {target}"))
    findings.extend(long_functions(found, root))
    findings.extend(long_modules(found, root))
    return findings


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    findings = check(args.root.resolve())
    for finding in findings:
        print(finding)
    print(f"structure: {len(findings)} finding(s) in {', '.join(PACKAGES)}", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
