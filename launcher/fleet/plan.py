"""What a fleet run is: its id, its (config, round) units in their shuffled order, and what is already done.

The id follows record["compare"]["id"] (docs/record.md): sha256 of the canonical JSON of the model's and data's
sha256, the config list, the thread setting and the run options, so a resumed run finds its own records. Rounds are
not part of it: `--resume --rounds 5` after 3 rounds adds rounds 3 and 4.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from bench.compare.ident import compare_id
from launcher.fleet.convert import Config

Unit = Tuple[str, int]  #: (config name, round)


@dataclass(frozen=True)
class Plan:
    model: Path
    data: Path
    model_sha256: str
    model_format: str
    data_sha256: str
    configs: Tuple[Config, ...]
    rounds: int
    seed: int
    threads: Optional[int]
    options: Tuple[str, ...]  #: extra `bench run` arguments, the same on every board
    results: Path

    @property
    def id(self) -> str:
        blob = {
            "model_sha256": self.model_sha256,
            "data_sha256": self.data_sha256,
            "configs": [c.name for c in self.configs],
            "threads": [self.threads],
            "options": list(self.options),
        }
        return compare_id(blob)

    def order(self, round_index: int) -> List[Config]:
        """The round's run order: shuffled with a seed derived from the recorded seed and the round."""
        configs = list(self.configs)
        random.Random(self.seed * 1_000_003 + round_index).shuffle(configs)
        return configs

    def units(self, done: Set[Unit]) -> List[Tuple[int, int, Config]]:
        """(round, position, config) still to run, in run order."""
        return [
            (r, pos, c) for r in range(self.rounds) for pos, c in enumerate(self.order(r)) if (c.name, r) not in done
        ]

    def compare_section(self, config: Config, round_index: int, position: int, conversion_s: float) -> Dict[str, Any]:
        """record["compare"] as bench compare writes it, so the report's comparison view reads fleet runs too."""
        return {
            "id": self.id,
            "config": config.name,
            "threads": self.threads,
            "label": config.name,
            "round": round_index,
            "rounds": self.rounds,
            "position": position,
            "seed": self.seed,
            "baseline": self.configs[0].name,
            "labels": [c.name for c in self.configs],
            "conversion_s": round(conversion_s, 3),
            "source_model": {"path": str(self.model), "sha256": self.model_sha256, "format": self.model_format},
        }


def done_units(results: Path, plan_id: str) -> Dict[str, Set[Unit]]:
    """Per board, the (config, round) pairs that already have an ok record of this fleet run."""
    from bench.records import read_records

    done: Dict[str, Set[Unit]] = {}
    if not results.is_file():
        return done
    for rec in read_records(results):
        fleet, comp = rec.get("fleet") or {}, rec.get("compare") or {}
        if rec.get("status") == "ok" and fleet.get("id") == plan_id and "board" in fleet:
            done.setdefault(fleet["board"], set()).add((comp.get("config"), comp.get("round")))
    return done


def has_records(results: Path, plan_id: str) -> int:
    """How many records (ok or not) of this fleet run the file already holds."""
    from bench.records import read_records

    if not results.is_file():
        return 0
    return sum(1 for r in read_records(results) if (r.get("fleet") or {}).get("id") == plan_id)


def seed_from_results(plan: Plan) -> Plan:
    """For --resume: the seed the earlier invocation recorded, so the remaining rounds keep their shuffled order."""
    from dataclasses import replace

    from bench.records import read_records

    if plan.results.is_file():
        for rec in read_records(plan.results):
            if (rec.get("fleet") or {}).get("id") == plan.id and (rec.get("compare") or {}).get("seed") is not None:
                return replace(plan, seed=int(rec["compare"]["seed"]))
    return plan
