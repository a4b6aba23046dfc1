"""MkDocs hook: write the generated pages (docs/gen_pages.py) before MkDocs collects the files, so every build
shows the code's current presets, runtimes, peaks, profiles and command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_DOCS = Path(__file__).resolve().parent


def on_pre_build(config: Any, **kwargs: Any) -> None:
    for path in (str(_DOCS.parent), str(_DOCS)):  # the checkout's bench/launcher, and gen_pages itself
        if path not in sys.path:
            sys.path.insert(0, path)
    import gen_pages

    gen_pages.write()
