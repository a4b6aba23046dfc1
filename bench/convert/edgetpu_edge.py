"""Full-integer TFLite -> Edge TPU TFLite with Google's ``edgetpu_compiler`` (x86-64 Debian/Ubuntu only).

The compiler's own report is read, not trusted blindly: its summary lines ("Number of operations that will run on
Edge TPU: N" / "... on CPU: M", printed only when some ops fall back) and its operator table, in the console output
and in the ``<model>_edgetpu.log`` it writes ("Operator  Count  Status" rows; "Mapped to Edge TPU" or the reason an
op stays on the CPU). The record gets the mapped and CPU-fallback op counts, a warning when any op falls back
(each one costs a round trip between the Edge TPU and the CPU), and ``edgetpu_compiler --version`` (compiler and
runtime versions must agree). Formats as printed by compilers 2.1 to 16.0 in google-coral/edgetpu issues #60, #219,
#490 and ultralytics/ultralytics #20351 (tests/fixtures/edgetpu_compiler/).

The compiler is not installed on the development machine: the parsing runs here on real compiler output (the
fixtures); the compile itself only where Coral's edgetpu-compiler package is. Without the compiler on PATH the edge
answers FrameworkUnavailable.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench.convert import tools
from bench.convert.edges import Step, StepResult
from bench.errors import FrameworkUnavailable

log = logging.getLogger(__name__)

MAPPED = "Mapped to Edge TPU"
_ON_TPU = re.compile(r"Number of operations that will run on Edge TPU:\s*(\d+)")
_ON_CPU = re.compile(r"Number of operations that will run on CPU:\s*(\d+)")
_TOTAL = re.compile(r"Total number of operations:\s*(\d+)")
_SUBGRAPHS = re.compile(r"Number of Edge TPU subgraphs:\s*(\d+)")
_VERSION = re.compile(r"Edge TPU Compiler version\s+(\S+)")
_LOG_NAME = re.compile(r"Operation log:\s*(\S+)")
_ROW = re.compile(r"^([A-Z][A-Z0-9_]*)\s+(\d+)\s+(\S.*?)\s*$")


@dataclass
class CompileReport:
    """What the compiler said about one model."""

    compiler_version: Optional[str] = None
    total_ops: Optional[int] = None
    ops_on_edgetpu: Optional[int] = None
    ops_on_cpu: Optional[int] = None
    edgetpu_subgraphs: Optional[int] = None
    #: operator -> {status: count} from the table
    operators: Dict[str, Dict[str, int]] = field(default_factory=dict)
    #: "summary" (the compiler's own counts), "table" (counted from the operator table), "total" (no fallback line)
    counts_from: str = ""

    def fallback_ops(self) -> Dict[str, int]:
        """Operators (with counts) that stay on the CPU, from the table."""
        out: Dict[str, int] = {}
        for op, statuses in self.operators.items():
            n = sum(c for s, c in statuses.items() if s != MAPPED)
            if n:
                out[op] = n
        return out

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["cpu_fallback_operators"] = self.fallback_ops()
        return d


def parse_table(text: str) -> Dict[str, Dict[str, int]]:
    """The "Operator  Count  Status" rows of a console output or ``.log`` file."""
    table: Dict[str, Dict[str, int]] = {}
    in_table = False
    for line in text.splitlines():
        if line.strip().startswith("Operator") and "Status" in line:
            in_table = True
            continue
        m = _ROW.match(line.strip()) if in_table else None
        if m:
            op, count, status = m.group(1), int(m.group(2)), m.group(3)
            table.setdefault(op, {})
            table[op][status] = table[op].get(status, 0) + count
    return table


def parse_report(console: str, op_log: str = "") -> CompileReport:
    """Counts from the compiler's console output, completed by its ``.log`` (the table) when given."""
    r = CompileReport()
    for rx, attr in ((_VERSION, "compiler_version"),):
        m = rx.search(console) or rx.search(op_log)
        if m:
            setattr(r, attr, m.group(1))
    for rx, attr in ((_TOTAL, "total_ops"), (_SUBGRAPHS, "edgetpu_subgraphs")):
        m = rx.search(console)
        if m:
            setattr(r, attr, int(m.group(1)))
    r.operators = parse_table(op_log) or parse_table(console)
    tpu, cpu = _ON_TPU.search(console), _ON_CPU.search(console)
    if tpu and cpu:
        r.ops_on_edgetpu, r.ops_on_cpu, r.counts_from = int(tpu.group(1)), int(cpu.group(1)), "summary"
    elif r.total_ops is not None:  # the compiler prints the fallback lines only when some op falls back
        r.ops_on_edgetpu, r.ops_on_cpu, r.counts_from = r.total_ops, 0, "total"
    elif r.operators:  # only the .log: count its table
        r.ops_on_cpu = sum(r.fallback_ops().values())
        r.ops_on_edgetpu = sum(c.get(MAPPED, 0) for c in r.operators.values())
        r.counts_from = "table"
    return r


def fallback_warning(r: CompileReport) -> Optional[str]:
    if not r.ops_on_cpu:
        return None
    ops = ", ".join(f"{op} x{n}" for op, n in sorted(r.fallback_ops().items())) or "see the compiler log"
    return (
        f"{r.ops_on_cpu} of {(r.ops_on_edgetpu or 0) + r.ops_on_cpu} operations fall back to the CPU ({ops}): "
        "each hand-over between the Edge TPU and the CPU costs time; see g.co/coral/model-reqs"
    )


def compiler_version(exe: str) -> str:
    """``edgetpu_compiler --version`` ("Edge TPU Compiler version 16.0.384591198" -> "16.0.384591198")."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    m = _VERSION.search(out.stdout + out.stderr)
    return m.group(1) if m else (out.stdout.strip() or "unknown")


def installed_compiler_version() -> str:
    """The installed compiler's version for conversion cache keys, or "not-installed"."""
    exe = shutil.which("edgetpu_compiler")
    return compiler_version(exe) if exe else "not-installed"


def compile(step: Step) -> StepResult:  # noqa: A001 - the registry names it after the tool's verb
    exe = shutil.which("edgetpu_compiler")
    if exe is None:
        raise FrameworkUnavailable(
            "compiling for the Edge TPU needs edgetpu_compiler, which is not installed here",
            "install Coral's edgetpu-compiler package (x86-64 Debian/Ubuntu), or pass an already compiled model",
        )
    src = step.work_dir / "model.tflite"
    shutil.copy2(step.source, src)
    out = step.work_dir / "model_edgetpu.tflite"
    console_log = step.work_dir / "edgetpu_compiler.log"
    seconds = tools.run(
        [exe, "-s", "-o", str(step.work_dir), str(src)],
        tool="edgetpu_compiler",
        cwd=step.work_dir,
        log_file=console_log,
        expect=[out],
        timeout_s=step.options.timeout_s,
    )
    report = _read_report(console_log, step.work_dir)
    dest = step.out_dir / "model_edgetpu.tflite"
    shutil.move(str(out), dest)
    notes: List[str] = []
    warning = fallback_warning(report)
    if warning:
        log.warning("Edge TPU compile: %s", warning)
        notes.append(warning)
    options = {
        "compiler_seconds": round(seconds, 3),
        "edgetpu_compiler": report.compiler_version or compiler_version(exe),
        **report.to_dict(),
    }
    return StepResult(path=dest, options=options, notes=notes)


def _read_report(console_log: Path, work_dir: Path) -> CompileReport:
    console = console_log.read_text(errors="replace")
    m = _LOG_NAME.search(console)
    op_log = work_dir / Path(m.group(1)).name if m else work_dir / "model_edgetpu.log"
    return parse_report(console, op_log.read_text(errors="replace") if op_log.is_file() else "")
