"""The contrasts' interval keeps its nominal 95% coverage with few seeds (simulated): 3 and 5
seeds, seed spreads of 2, 5 and 8 points, 200 shared test clips, 1,000 experiments each."""

import numpy as np
import pytest

from audioclf.evaluate.stats import seed_clip_interval
from synthetic import simulated_correctness

REPLICATES = 1000


@pytest.mark.parametrize("n_seeds", [3, 5])
@pytest.mark.parametrize("spread", [0.02, 0.05, 0.08])
def test_coverage_of_the_seed_and_clip_interval(n_seeds, spread):
    rng = np.random.default_rng([n_seeds, int(1000 * spread)])
    a, b, truth = simulated_correctness(rng, REPLICATES, n_seeds, 200, spread)
    covered = 0
    for r in range(REPLICATES):
        result = seed_clip_interval(list(a[r]), list(b[r]))
        covered += result["low"] <= 100 * truth <= result["high"]
    coverage = covered / REPLICATES
    print(f"{n_seeds} seeds, seed spread {100 * spread:g} points: coverage {coverage:.3f}")
    assert coverage >= 0.93
