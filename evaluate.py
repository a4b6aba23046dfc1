#!/usr/bin/env python3
"""The original tool's entry point, kept for its users: ``evaluate.py MODEL DATA FRAMEWORK [options]``.

Same positionals and options as before (``--use-armnn``, ``--armnn-path``, ``--quantization`` ...); each call runs as
one ``edgebench run`` (see bench/legacy.py). ``edgebench evaluate ...`` is the same from any folder.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.cli import evaluate  # noqa: E402

if __name__ == "__main__":
    sys.exit(evaluate())
