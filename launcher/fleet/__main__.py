"""`python -m launcher.fleet`: the same as `edgebench fleet`."""

from launcher.fleet.cli import main

raise SystemExit(main())
