"""Full-integer TFLite -> Edge TPU TFLite with Google's ``edgetpu_compiler`` (x86-64 Debian/Ubuntu only).

Not tested here: the compiler is not installed on the development machine and the Coral issue owns it.
Without the compiler on PATH the edge answers FrameworkUnavailable.
"""

from __future__ import annotations

import shutil

from bench.convert import tools
from bench.convert.edges import Step, StepResult
from bench.errors import FrameworkUnavailable


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
    seconds = tools.run(
        [exe, "-s", "-o", str(step.work_dir), str(src)],
        tool="edgetpu_compiler",
        cwd=step.work_dir,
        log_file=step.work_dir / "edgetpu_compiler.log",
        expect=[out],
        timeout_s=step.options.timeout_s,
    )
    dest = step.out_dir / "model_edgetpu.tflite"
    shutil.move(str(out), dest)
    return StepResult(path=dest, options={"compiler_seconds": round(seconds, 3)})
