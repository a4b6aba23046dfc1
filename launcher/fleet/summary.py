"""The final summary of a fleet run: which boards completed, which did not and why, and how to finish."""

from __future__ import annotations

from typing import List

from launcher.fleet.boards import BoardResult
from launcher.fleet.plan import Plan


def render(plan: Plan, results: List[BoardResult]) -> str:
    width = max([len(r.board) for r in results] + [5])
    lines = [f"fleet run {plan.id}: {len(plan.configs)} config(s) x {plan.rounds} round(s) per board -> {plan.results}"]
    for r in results:
        state = "complete" if r.complete else "INCOMPLETE"
        done = f"{r.ok + r.already}/{r.ok + r.already + r.planned - r.ok} ok"
        extra = f" ({r.already} from earlier)" if r.already else ""
        failed = f", {r.failed} failed" if r.failed else ""
        lines.append(f"  {r.board:<{width}}  {state:<10}  {done}{extra}{failed}")
        if r.error:
            lines.append(f"  {'':<{width}}  {r.error}")
    complete = [r.board for r in results if r.complete]
    missing = [r.board for r in results if not r.complete]
    lines.append(f"completed: {', '.join(complete) or 'none'}")
    if missing:
        lines.append(f"not completed: {', '.join(missing)}; finish them with the same command and --resume")
    return "\n".join(lines)
