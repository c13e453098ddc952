"""Are two finished runs' outputs the same? Byte by byte where they can be, else value by value.

For a restructure that must not change behaviour: run the same config with the old code and
the new (same machine, same --cores), then compare the two working folders:

    git worktree add /tmp/before <old commit>
    (cd run-old && PYTHONPATH=/tmp/before/workflow/scripts \\
        .venv/bin/python -m snakemake --snakefile /tmp/before/Snakefile --cores 2 ...)
    (cd run-new && .venv/bin/python -m snakemake --snakefile Snakefile --cores 2 ...)
    .venv/bin/python benchmarks/same_outputs.py run-old run-new

CSV files must be identical bytes; metrics.json identical but for wall-clock timings;
cache.pt identical tensors (its zip wrapper holds a temporary file name). A split that moved
(results/data/split.csv before issue 11, results/data/splits/<id>/split.csv after) is
matched by --moved OLD=NEW. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

TIMING_KEYS = {"train_seconds", "inference_clips_per_second"}
DEFAULT_MOVES = (
    "data/split.csv=data/splits/seed0/split.csv",
    "data/split_counts.csv=data/splits/seed0/split_counts.csv",
)


def without_timings(value):
    """A metrics.json value with its wall-clock keys dropped, at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def same(old: Path, new: Path) -> tuple[bool, str]:
    if old.suffix == ".json":
        a, b = (without_timings(json.loads(p.read_text())) for p in (old, new))
        return a == b, "equal but for timings"
    if old.name == "cache.pt":
        a, b = (torch.load(p, weights_only=True) for p in (old, new))
        equal = a.keys() == b.keys() and all(
            torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k] for k in a
        )
        return equal, "equal tensors"
    return old.read_bytes() == new.read_bytes(), "identical bytes"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="working folder of the run with the old code")
    parser.add_argument("new", type=Path, help="working folder of the run with the new code")
    parser.add_argument("--moved", action="append", default=list(DEFAULT_MOVES))
    args = parser.parse_args(argv)
    moves = dict(m.split("=", 1) for m in args.moved)
    old_results, new_results = args.old / "results", args.new / "results"
    patterns = ("data/*.csv", "data/cache.pt", "eval/**/*.csv", "eval/**/*.json")
    files = sorted({p for pattern in patterns for p in old_results.glob(pattern)})
    differ = 0
    for old in files:
        name = old.relative_to(old_results).as_posix()
        new = new_results / moves.get(name, name)
        if not new.exists():
            print(f"MISSING  {name}: no {new}")
            differ += 1
            continue
        ok, how = same(old, new)
        differ += not ok
        print(f"{'same' if ok else 'DIFFERS':<8} {name} ({how if ok else 'not ' + how})")
    print(f"{len(files) - differ} of {len(files)} outputs the same")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
