"""Coverage of the contrasts' 95% interval, simulated: today's t interval over seeds and test
clips against the two-level percentile bootstrap it replaced (read from git at e75644e), on
the same simulated experiments as tests/unit/evaluate/test_interval_coverage.py.

    .venv/bin/python benchmarks/interval_coverage.py [--replicates 1000] [--draws 2000]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from audioclf.evaluate.stats import seed_clip_interval  # noqa: E402
from synthetic import simulated_correctness  # noqa: E402

BEFORE = "e75644e"  # the last commit with the two-level bootstrap


def old_stats():
    """The statistics module as it was at BEFORE, imported from a temporary file."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:workflow/scripts/audioclf/evaluate/stats.py"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "stats_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("stats_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap draws (before)")
    args = parser.parse_args()
    before = old_stats()
    print(
        "| seeds | seed spread (points) | t interval: coverage, mean width "
        "| bootstrap: coverage, mean width |"
    )
    print("|---|---|---|---|")
    for n_seeds in (3, 5):
        for spread in (0.02, 0.05, 0.08):
            rng = np.random.default_rng([n_seeds, int(1000 * spread)])
            a, b, truth = simulated_correctness(rng, args.replicates, n_seeds, 200, spread)
            results = {"t": [], "bootstrap": []}
            for r in range(args.replicates):
                runs = list(a[r]), list(b[r])
                results["t"].append(seed_clip_interval(*runs))
                results["bootstrap"].append(
                    before.two_level_bootstrap(*runs, n_draws=args.draws, seed=r)
                )
            cells = []
            for rows in results.values():
                covered = np.mean([x["low"] <= 100 * truth <= x["high"] for x in rows])
                width = np.mean([x["high"] - x["low"] for x in rows])
                cells.append(f"{100 * covered:.1f}%, {width:.1f}")
            print(f"| {n_seeds} | {100 * spread:g} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
