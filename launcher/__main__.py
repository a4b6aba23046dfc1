"""`python -m launcher`: the command line."""

from launcher.cli import main

raise SystemExit(main())
