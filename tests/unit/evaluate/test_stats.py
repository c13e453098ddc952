"""Paired bootstrap CIs (one level over clips; two levels over seeds, then clips), exact
McNemar per seed and the comparison sentences, on tables worked by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar

from audioclf.evaluate.stats import (
    compare,
    compare_predictions,
    describe_comparison,
    describe_contrast,
    mcnemar_exact,
    p_range,
    paired_bootstrap_ci,
    seed_runs,
    two_level_bootstrap,
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
    same = compare([everything], [everything], n_draws=100)
    assert (same["difference"], same["low"], same["high"]) == (0.0, 0.0, 0.0)
    assert (same["b"], same["c"], same["p_values"]) == (0, 0, [1.0])
    sweep = compare([everything], [nothing], n_draws=100)
    assert (sweep["low"], sweep["high"]) == (100.0, 100.0)
    assert sweep["p_values"] == [pytest.approx(2 * 0.5**20)]  # 2 * P(X <= 0 | Bin(20, 1/2))


def test_two_level_bootstrap_of_a_hand_table():
    # Two seeds, one shared clip: a - b is 1 under seed 0 and 0 under seed 1. A draw picks two
    # seeds with replacement: (0, 0) with prob 1/4 -> 100 points, one of each (1/2) -> 50,
    # (1, 1) (1/4) -> 0. The central 40% interval is 50-50, the 95% one 0-100; the point
    # estimate is the mean over seeds, 50. Resampling the single clip changes nothing.
    a, b = [np.array([True]), np.array([True])], [np.array([False]), np.array([True])]
    narrow = two_level_bootstrap(a, b, n_draws=10000, level=0.4)
    assert (narrow["difference"], narrow["low"], narrow["high"]) == (50.0, 50.0, 50.0)
    wide = two_level_bootstrap(a, b, n_draws=10000, level=0.95)
    assert (wide["low"], wide["high"]) == (0.0, 100.0)
    assert wide["n_seeds"] == 2 and wide["shared_test_clips"]
    # the same with the seeds on test sets of their own (vary_with_seed): 1 clip and 2 clips
    own = two_level_bootstrap(
        [np.array([True]), np.array([True, True])], [np.array([False]), np.array([True, True])],
        n_draws=10000, level=0.4,
    )  # fmt: skip
    assert (own["difference"], own["low"], own["high"]) == (50.0, 50.0, 50.0)
    assert not own["shared_test_clips"] and own["n_clips"] == 3


def test_two_level_ci_of_identical_seeds_is_the_one_level_ci():
    rng = np.random.default_rng(4)
    a, b = rng.random(300) < 0.75, rng.random(300) < 0.6
    one = paired_bootstrap_ci(a, b, n_draws=3000, seed=2)
    three = two_level_bootstrap([a] * 3, [b] * 3, n_draws=3000, seed=2)
    for key in ("difference", "low", "high"):
        assert three[key] == pytest.approx(one[key], abs=1e-9)


def test_two_level_ci_of_very_different_seeds_is_wider_than_over_clips_only():
    rng = np.random.default_rng(5)
    truth_a = [rng.random(400) < p for p in (0.9, 0.5)]  # one good seed, one bad one
    b = [rng.random(400) < 0.7 for _ in range(2)]
    clips_only = paired_bootstrap_ci(np.vstack(truth_a), np.vstack(b), n_draws=3000)
    both = two_level_bootstrap(truth_a, b, n_draws=3000)
    assert both["difference"] == pytest.approx(clips_only["difference"])
    assert both["high"] - both["low"] > 2 * (clips_only["high"] - clips_only["low"])
    # seeded
    assert two_level_bootstrap(truth_a, b, n_draws=3000) == both


def test_mcnemar_runs_per_seed_and_equals_scipys_binomial_test_for_each():
    rng = np.random.default_rng(7)
    a = [rng.random(120) < 0.8 for _ in range(3)]
    b = [rng.random(120) < 0.6 for _ in range(3)]
    result = compare(a, b, n_draws=200, seeds=[10, 11, 12])
    assert [row["seed"] for row in result["per_seed"]] == [10, 11, 12]
    for row, x, y in zip(result["per_seed"], a, b, strict=True):
        only_a, only_b = int((x & ~y).sum()), int((~x & y).sum())
        assert (row["b"], row["c"]) == (only_a, only_b)
        expected = binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
        assert row["p_value"] == pytest.approx(expected, rel=1e-9)
    assert result["p_values"] == [row["p_value"] for row in result["per_seed"]]
    assert (result["p_min"], result["p_max"]) == (min(result["p_values"]), max(result["p_values"]))
    # three copies of one seed keep one seed's p: nothing is pooled
    copies = compare([a[0]] * 3, [b[0]] * 3, n_draws=200)
    assert copies["p_values"] == [mcnemar_exact(a[0], b[0])["p_value"]] * 3


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


def test_mismatched_inputs_are_errors():
    with pytest.raises(ValueError, match="same test clips"):
        paired_bootstrap_ci(A, B[:5])
    with pytest.raises(ValueError, match="one run of each model"):
        mcnemar_exact(np.vstack([A, A]), np.vstack([B, B]))
    with pytest.raises(ValueError, match="same seeds"):
        two_level_bootstrap([A, A], [B])
    with pytest.raises(ValueError, match="boolean"):
        mcnemar_exact(A.astype(int) * 2, B)


def test_describe_a_win_a_loss_and_a_tie():
    win = {"difference": 31.2, "low": 24.9, "high": 37.4, "p_values": [1e-6, 2e-5, 1e-7]}
    assert (
        describe_comparison("spectrogram", "raw", win, 3)
        == "spectrogram beats raw by 31 points (95% CI 25-37), McNemar p < 0.001 in every seed "
        "over 3 seeds"
    )
    loss = {"difference": -4.0, "low": -6.5, "high": -1.5, "p_values": [0.0123]}
    assert (
        describe_comparison("raw", "spectrogram", loss, 1)
        == "spectrogram beats raw by 4.0 points (95% CI 1.5-6.5), p = 0.012 over 1 seed"
    )
    tie = {"difference": 1.0, "low": -3.0, "high": 5.0, "p_values": [0.42, 0.0004, 0.15]}
    assert (
        describe_comparison("raw", "spectrogram", tie, 3)
        == "raw is not distinguishable from spectrogram (95% CI -3.0 to 5.0, McNemar p < 0.001 "
        "to 0.42 by seed) over 3 seeds"
    )
    assert p_range(tie) == "< 0.001 to 0.42" and p_range(loss) == "0.012"


def test_describe_a_contrast_with_and_without_a_clear_difference():
    clear = {"difference": 6.2, "low": 2.1, "high": 12.4, "n_seeds": 3}
    assert (
        describe_contrast("pretraining", "spectrogram", "spectrogram_scratch", clear)
        == "pretraining: spectrogram is 6 points ahead of spectrogram_scratch (95% CI 2-12) "
        "over 3 seeds"
    )
    behind = {"difference": -2.0, "low": -3.5, "high": -0.5, "n_seeds": 1}
    assert describe_contrast("input", "a", "b", behind) == (
        "input: b is 2.0 points ahead of a (95% CI 0.5-3.5) over 1 seed"
    )
    unclear = {"difference": 1.0, "low": -3.0, "high": 5.0, "n_seeds": 3}
    assert describe_contrast("input", "a", "b", unclear) == (
        "input: no clear difference between a and b (a - b = 1.0 points, 95% CI -3.0 to 5.0) "
        "over 3 seeds"
    )


def predictions(fnames, labels, predicted):
    return pd.DataFrame({"fname": fnames, "label": labels, "predicted": predicted})


def test_seed_runs_join_folds_and_pair_clips_by_name():
    # seed 0 in two folds (clips in any order), seed 1 in one table
    seed0 = [
        predictions(["c", "a"], ["x", "x"], ["x", "y"]),
        predictions(["b"], ["y"], ["y"]),
    ]
    seed1 = [predictions(["a", "b", "c"], ["x", "y", "x"], ["x", "x", "x"])]
    runs = seed_runs(seed0 + seed1, [0, 0, 1])
    assert runs[0][0] == runs[1][0] == ["a", "b", "c"]
    assert runs[0][1].tolist() == [False, True, True] and runs[1][1].tolist() == [True, False, True]
    other = [predictions(["a", "b", "c"], ["x", "y", "x"], ["y", "y", "y"])]
    result = compare_predictions(seed0 + seed1, [0, 0, 1], other * 2, [0, 1], n_draws=100)
    # a: 2 of 3 right in each seed; b: 1 of 3 in each: 33.3 points
    assert result["difference"] == pytest.approx(100 / 3)
    with pytest.raises(ValueError, match="more than once"):
        seed_runs(seed0 + seed0, [0, 0, 0, 0])


def test_each_seed_pairs_on_its_own_test_clips():
    # vary_with_seed: seed 0 tests clips a, b; seed 1 tests c, d, e (and, in the last
    # check, f, g: as many clips as seed 0, still not the same ones)
    a = [predictions(["a", "b"], ["x", "x"], ["x", "x"]),
         predictions(["c", "d", "e"], ["x", "x", "x"], ["x", "y", "y"])]  # fmt: skip
    b = [predictions(["b", "a"], ["x", "x"], ["y", "x"]),
         predictions(["e", "d", "c"], ["x", "x", "x"], ["y", "y", "y"])]  # fmt: skip
    result = compare_predictions(a, [0, 1], b, [0, 1], n_draws=200)
    # seed 0: a 2/2, b 1/2 -> 50 points; seed 1: a 1/3, b 0/3 -> 33.3; mean 41.7
    assert result["difference"] == pytest.approx((50 + 100 / 3) / 2)
    assert not result["shared_test_clips"] and result["n_clips"] == 5
    two = [predictions(["f", "g"], ["x", "x"], ["x", "y"])]
    other = compare_predictions(a[:1] + two, [0, 1], b[:1] + two, [0, 1], n_draws=50)
    assert not other["shared_test_clips"] and other["n_clips"] == 4
    with pytest.raises(ValueError, match="seed 1: the two models were scored on different"):
        compare_predictions(a, [0, 1], [b[0], b[0]], [0, 1], n_draws=10)
