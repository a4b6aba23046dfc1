"""edgebench fleet: one comparison on many boards, each through its own Docker engine.

No agent of ours runs on a board: its Docker engine is the execution layer. ``inventory`` reads and validates
``boards.toml``; ``engine`` connects to one board's engine (local socket, ``ssh://``, ``tcp://`` with TLS, a Docker
context) and reads its identity; ``convert`` makes every converted model once on the workstation; ``run`` runs the
boards in parallel (one thread each, strictly one container at a time per board); ``status`` checks each board;
``cli`` is `edgebench fleet run|status`. Design for a larger lab: docs/fleet.md.
"""
