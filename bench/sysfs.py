"""Reading one small sysfs/procfs file: its text without the trailing NUL and whitespace, or None; an integer of it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def read(path: Path) -> Optional[str]:
    """The file's text, stripped of whitespace and NULs (device-tree strings end in one); None when unreadable."""
    try:
        return path.read_text(errors="replace").strip().strip("\x00")
    except OSError:
        return None


def to_int(text: Optional[str], base: int = 10) -> Optional[int]:
    """``text`` as an integer in ``base``; None for None, "" or text that is not one."""
    try:
        return int(text, base) if text else None
    except ValueError:
        return None
