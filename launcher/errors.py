"""The launcher's error: one line naming the problem and the fix, in bench's hierarchy (bench.errors.BenchError)."""

from __future__ import annotations

from bench.errors import BenchError


class LauncherError(BenchError):
    """The launcher could not run the container (no engine, no image, no device, ...)."""
