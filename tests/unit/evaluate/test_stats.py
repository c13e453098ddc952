"""Paired bootstrap CI, exact McNemar and the comparison sentence, on tables worked by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar

from audioclf.evaluate.stats import (
    compare,
    compare_predictions,
    correctness_by_seed,
    describe_comparison,
    mcnemar_exact,
    paired_bootstrap_ci,
)

# Ten test clips. Both right: clips 0, 6, 9 (3). Only a right: 1-5 (5). Only b right: 7 (1).
# Both wrong: 8 (1).
A = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 1], dtype=bool)
B = np.array([1, 0, 0, 0, 0, 0, 1, 1, 0, 1], dtype=bool)


def test_hand_table_difference_and_mcnemar():
    # accuracy a = 8/10, b = 4/10: a minus b = 40 points
    assert paired_bootstrap_ci(A, B, n_draws=200)["difference"] == pytest.approx(40.0)
    # discordant pairs: b = 5 (only a), c = 1 (only b), n = 6.
    # P(X <= 1 | X ~ Bin(6, 1/2)) = (C(6,0) + C(6,1)) / 2**6 = (1 + 6) / 64 = 7/64;
    # two-sided p = 2 * 7/64 = 14/64 = 0.21875
    result = mcnemar_exact(A, B)
    assert (result["b"], result["c"]) == (5, 1)
    assert result["p_value"] == pytest.approx(14 / 64)
    # swapping the models swaps b and c and keeps p
    swapped = mcnemar_exact(B, A)
    assert (swapped["b"], swapped["c"], swapped["p_value"]) == (1, 5, result["p_value"])


def test_bootstrap_of_two_clips_has_a_known_distribution():
    # Per-clip differences [1, 0]. A resample of two clips has mean 0 (both draws the second
    # clip, prob 1/4), 0.5 (one of each, 1/2) or 1 (1/4). A central 40% interval cuts 30% from
    # each tail: P(mean <= 0) = 0.25 < 0.30 and P(mean <= 0.5) = 0.75 > 0.70, so both ends are
    # 0.5, i.e. 50 points; a 95% interval reaches both extremes, 0 and 100.
    a, b = np.array([True, True]), np.array([False, True])
    narrow = paired_bootstrap_ci(a, b, n_draws=10000, level=0.4)
    assert (narrow["low"], narrow["high"]) == (50.0, 50.0)
    wide = paired_bootstrap_ci(a, b, n_draws=10000, level=0.95)
    assert (wide["low"], wide["high"]) == (0.0, 100.0)
    assert wide["difference"] == 50.0


def test_bootstrap_ci_matches_the_normal_approximation_on_many_clips():
    rng = np.random.default_rng(1)
    a = rng.random(600) < 0.8
    b = rng.random(600) < 0.6
    result = paired_bootstrap_ci(a, b, n_draws=4000, seed=3)
    d = a.astype(float) - b.astype(float)
    half = 1.96 * d.std() / np.sqrt(d.size) * 100
    assert result["low"] < result["difference"] < result["high"]
    assert (result["high"] - result["low"]) / 2 == pytest.approx(half, rel=0.1)
    assert result["difference"] - result["low"] == pytest.approx(half, rel=0.15)


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(0)
    a, b = rng.random(50) < 0.7, rng.random(50) < 0.5
    first = paired_bootstrap_ci(a, b, n_draws=500, seed=5)
    assert paired_bootstrap_ci(a, b, n_draws=500, seed=5) == first
    other = paired_bootstrap_ci(a, b, n_draws=500, seed=6)
    assert (other["low"], other["high"]) != (first["low"], first["high"])


def test_seeds_are_averaged_per_clip_before_resampling():
    rng = np.random.default_rng(2)
    a = rng.random((3, 80)) < 0.7
    b = rng.random((3, 80)) < 0.5
    result = paired_bootstrap_ci(a, b, n_draws=500)
    per_seed = [100 * (a[s].mean() - b[s].mean()) for s in range(3)]
    assert result["difference"] == pytest.approx(np.mean(per_seed))
    # Three copies of one seed are one seed, not three times the clips: the CI stays as wide.
    one = paired_bootstrap_ci(a[0], b[0], n_draws=500)
    three = paired_bootstrap_ci(np.tile(a[0], (3, 1)), np.tile(b[0], (3, 1)), n_draws=500)
    assert three == pytest.approx(one)


def test_identical_models_and_one_sided_wins():
    everything = np.ones(20, dtype=bool)
    nothing = np.zeros(20, dtype=bool)
    same = compare(everything, everything, n_draws=100)
    assert (same["difference"], same["low"], same["high"]) == (0.0, 0.0, 0.0)
    assert (same["b"], same["c"], same["p_value"]) == (0, 0, 1.0)
    sweep = compare(everything, nothing, n_draws=100)
    assert (sweep["low"], sweep["high"]) == (100.0, 100.0)
    assert sweep["p_value"] == pytest.approx(2 * 0.5**20)  # 2 * P(X <= 0 | Bin(20, 1/2))


@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_agrees_with_scipy_and_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    a = rng.random(n) < rng.uniform(0.3, 0.9)
    b = rng.random(n) < rng.uniform(0.3, 0.9)
    result = mcnemar_exact(a, b)
    table = [[int((a & b).sum()), result["b"]], [result["c"], int((~a & ~b).sum())]]
    assert sum(map(sum, table)) == n
    expected = mcnemar(table, exact=True).pvalue
    assert result["p_value"] == pytest.approx(expected, rel=1e-9)
    k = min(result["b"], result["c"])
    binomial = binomtest(k, result["b"] + result["c"], 0.5).pvalue
    assert result["p_value"] == pytest.approx(binomial, rel=1e-9)


def test_mcnemar_pools_discordant_pairs_over_seeds():
    a = np.vstack([A, ~A])
    b = np.vstack([B, B])
    pooled = mcnemar_exact(a, b)
    first, second = mcnemar_exact(A, B), mcnemar_exact(~A, B)
    assert pooled["b"] == first["b"] + second["b"]
    assert pooled["c"] == first["c"] + second["c"]
    assert pooled["n_seeds"] == 2
    table = [[0, pooled["b"]], [pooled["c"], 0]]
    assert pooled["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue)


def test_mismatched_inputs_are_errors():
    with pytest.raises(ValueError, match="same test clips"):
        paired_bootstrap_ci(A, B[:5])
    with pytest.raises(ValueError, match="same number of seeds"):
        mcnemar_exact(np.vstack([A, A]), B)
    with pytest.raises(ValueError, match="boolean"):
        mcnemar_exact(A.astype(int) * 2, B)


def test_describe_a_win_a_loss_and_a_tie():
    win = {"difference": 31.2, "low": 24.9, "high": 37.4, "p_value": 1e-6, "level": 0.95}
    assert (
        describe_comparison("spectrogram", "raw", win, 3)
        == "spectrogram beats raw by 31 points (95% CI 25-37), p < 0.001 over 3 seeds"
    )
    loss = {"difference": -4.0, "low": -6.5, "high": -1.5, "p_value": 0.0123}
    assert (
        describe_comparison("raw", "spectrogram", loss, 1)
        == "spectrogram beats raw by 4.0 points (95% CI 1.5-6.5), p = 0.012 over 1 seed"
    )
    tie = {"difference": 1.0, "low": -3.0, "high": 5.0, "p_value": 0.42}
    assert (
        describe_comparison("raw", "spectrogram", tie, 3)
        == "raw is not distinguishable from spectrogram (95% CI -3.0 to 5.0, p = 0.42) "
        "over 3 seeds"
    )


def predictions(fnames, labels, predicted):
    return pd.DataFrame({"fname": fnames, "label": labels, "predicted": predicted})


def test_correctness_from_fold_tables_pairs_clips_by_name():
    # seed 0 in two folds (clips in any order), seed 1 in one table
    seed0 = [
        predictions(["c", "a"], ["x", "x"], ["x", "y"]),
        predictions(["b"], ["y"], ["y"]),
    ]
    seed1 = [predictions(["a", "b", "c"], ["x", "y", "x"], ["x", "x", "x"])]
    fnames, correct = correctness_by_seed(seed0 + seed1, [0, 0, 1])
    assert fnames == ["a", "b", "c"]
    assert correct.tolist() == [[False, True, True], [True, False, True]]
    other = [predictions(["a", "b", "c"], ["x", "y", "x"], ["y", "y", "y"])]
    result = compare_predictions(seed0 + seed1, [0, 0, 1], other * 2, [0, 1], n_draws=100)
    # a: 4 of 6 clip-seeds right; b: 1 of 3 per seed -> 2 of 6; difference 2/3 - 1/3 = 33.3
    assert result["difference"] == pytest.approx(100 / 3)
    with pytest.raises(ValueError, match="more than once"):
        correctness_by_seed(seed0 + seed0, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="other test clips"):
        correctness_by_seed([seed0[0], seed1[0]], [0, 1])
