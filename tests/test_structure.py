"""tools/structure.py on a small tree written here, whose circles, upward import and lengths are known by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import structure  # noqa: E402


def _write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _tree(tmp_path: Path) -> Path:
    body = "".join(f"    x = {i}\n" for i in range(60))  # def line + 60 = 61 lines
    _write(
        tmp_path,
        {
            "bench/__init__.py": "",
            "bench/a.py": "from bench import b\n",
            "bench/b.py": "def f():\n    from bench.a import thing\n",  # lazy import: still a circle
            "bench/c.py": "from . import d\n",
            "bench/d.py": "import bench.c\n",
            "bench/e.py": "def f():\n    import launcher.x\n",
            "bench/long.py": "def long():\n" + body + "\n\ndef short():\n    return 1\n",
            "bench/big.py": "x = 1\n" * 401,
            "bench/ok.py": "x = 1\n" * 400,
            "launcher/__init__.py": "",
            "launcher/x.py": "from bench import a\n",  # downward: allowed
        },
    )
    return tmp_path


def test_finds_each_kind(tmp_path):
    findings = {(f.kind, f.where, f.detail) for f in structure.check(_tree(tmp_path))}
    assert findings == {
        ("circle", "bench.a, bench.b", "bench.a (line 1) -> bench.b (line 2) -> bench.a"),
        ("circle", "bench.c, bench.d", "bench.c (line 1) -> bench.d (line 1) -> bench.c"),
        ("upward import", "bench/e.py:2", "bench.e imports launcher.x"),
        ("long function", "bench/long.py:1", "long 61 lines"),
        ("long module", "bench/big.py", "401 lines"),
    }


def test_clean_tree_exits_zero(tmp_path, capsys):
    _write(tmp_path, {"bench/__init__.py": "", "bench/a.py": "from bench import b\n", "bench/b.py": "x = 1\n"})
    (tmp_path / "launcher").mkdir()
    assert structure.main([str(tmp_path)]) == 0
    assert structure.main([str(_tree(tmp_path))]) == 1
    assert "circle: bench.a, bench.b" in capsys.readouterr().out


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_bench_runs_without_the_launcher(tmp_path: Path) -> None:
    """What a device image holds: bench alone. Its command line, its runner and its compare import and run."""
    (tmp_path / "bench").symlink_to(ROOT / "bench", target_is_directory=True)
    code = "import bench.cli, bench.runner, bench.stages, bench.compare.rounds, bench.compare.demo, sys; "
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] == 'launcher')); print(bench.__file__)"
    proc = _run(tmp_path, "-c", code)
    assert proc.returncode == 0, proc.stderr
    loaded, where = proc.stdout.splitlines()
    assert loaded == "[]" and Path(where).parent == tmp_path / "bench", proc.stdout
    helped = _run(tmp_path, "-m", "bench", "--help")
    assert helped.returncode == 0 and "fleet" in helped.stdout, helped.stderr
    fleet = _run(tmp_path, "-m", "bench", "fleet", "status", "boards.toml")
    assert fleet.returncode == 2 and "Fix: run `edgebench fleet ...`" in fleet.stderr, fleet.stderr


def test_the_edgebench_script_hands_fleet_to_the_launcher_and_the_rest_to_bench() -> None:
    fleet = _run(ROOT, "-m", "launcher.console", "fleet", "status", "--help")
    assert fleet.returncode == 0 and fleet.stdout.startswith("usage: edgebench fleet status"), fleet.stderr
    helped = _run(ROOT, "-m", "launcher.console", "--help")
    assert helped.returncode == 0 and "fleet" in helped.stdout and "selfcheck" in helped.stdout, helped.stderr
