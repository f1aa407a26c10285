"""Two benchmark folders, cell by cell: the same numbers, and what each cost.

For every ``result.json`` of the first folder (a rerun, finished or not) that the second holds
too, says whether the two are equal in every field but the times (``seconds``,
``cpu_seconds``, ``step_s``; and the curves' ``test_metric``, which a rerun of a trained-through
cell may add), and sums each side's seconds per stage (sweep or final) and task. Usage::

    python scripts/same_cells.py RERUN KEPT

The kept ``results/standard`` of the first standard run (before each cell kept the memory it
frees) is that folder at commit 52d22f9; to compare the present one with it::

    git worktree add /tmp/standard-first 52d22f9
    python scripts/same_cells.py results/standard /tmp/standard-first/results/standard
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

_TIMES = {"seconds", "cpu_seconds", "step_s"}


def _numbers(cell: dict) -> dict:
    out = {k: v for k, v in cell.items() if k not in _TIMES}
    if "curve" in out:
        out["curve"] = [
            {k: v for k, v in row.items() if k != "test_metric"} for row in out["curve"]
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rerun", type=Path)
    parser.add_argument("kept", type=Path)
    args = parser.parse_args()
    totals: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0, 0, 0.0, 0.0])
    differing = []
    for path in sorted(args.rerun.rglob("result.json")):
        relative = path.relative_to(args.rerun)
        kept = args.kept / relative
        if "timing" in relative.parts[:2] or not kept.is_file():  # cells/timing: no cell
            continue
        new, old = json.loads(path.read_text()), json.loads(kept.read_text())
        same = _numbers(new) == _numbers(old)
        row = totals[(relative.parts[0], relative.parts[1])]
        row[0] += 1
        row[1] += same
        row[2] += new.get("seconds", 0.0)
        row[3] += old.get("seconds", 0.0)
        if not same:
            differing.append(str(relative))
    print("| stage | task | cells | equal | rerun h | kept h | ratio |")
    print("|---|---|---|---|---|---|---|")
    for (stage, task), (n, equal, new_s, old_s) in sorted(totals.items()):
        ratio = new_s / old_s if old_s else float("nan")
        hours = f"{new_s / 3600:.2f} | {old_s / 3600:.2f}"
        print(f"| {stage} | {task} | {n} | {equal} | {hours} | {ratio:.3f} |")
    new_all = sum(r[2] for r in totals.values())
    old_all = sum(r[3] for r in totals.values())
    print(f"\n{sum(r[0] for r in totals.values())} cells compared, {len(differing)} differing")
    print(f"rerun {new_all / 3600:.2f} h of cells against {old_all / 3600:.2f} h kept")
    for name in differing:
        print(f"differs: {name}")


if __name__ == "__main__":
    main()
