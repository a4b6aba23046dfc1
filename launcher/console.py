"""The ``edgebench`` console script: ``edgebench fleet ...`` is the launcher's fleet command (launcher.fleet.cli),
every other command is bench's (bench.cli.main), so bench never imports the launcher (device images ship bench alone
and run ``python -m bench``)."""

from __future__ import annotations

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fleet"]:
        from launcher.fleet.cli import main as fleet_main

        return fleet_main(argv[1:])
    from bench.cli import main as bench_main

    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
