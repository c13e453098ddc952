"""The t interval over seeds and test clips (against scipy and statsmodels), Holm's
correction, exact McNemar per seed and the comparison sentences, on tables worked by hand.
Its coverage is simulated in test_interval_coverage.py."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, ttest_1samp
from scipy.stats import t as student_t
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from audioclf.evaluate.stats import (
    compare,
    compare_predictions,
    describe_comparison,
    describe_contrast,
    holm,
    mcnemar_exact,
    mean_interval,
    p_range,
    seed_clip_interval,
    seed_runs,
)

# Ten test clips. Both right: clips 0, 6, 9 (3). Only a right: 1-5 (5). Only b right: 7 (1).
# Both wrong: 8 (1).
A = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 1], dtype=bool)
B = np.array([1, 0, 0, 0, 0, 0, 1, 1, 0, 1], dtype=bool)


def test_hand_table_difference_and_mcnemar():
    # accuracy a = 8/10, b = 4/10: a minus b = 40 points
    assert seed_clip_interval([A], [B])["difference"] == pytest.approx(40.0)
    # discordant pairs: b = 5 (only a), c = 1 (only b), n = 6.
    # P(X <= 1 | X ~ Bin(6, 1/2)) = (C(6,0) + C(6,1)) / 2**6 = (1 + 6) / 64 = 7/64;
    # two-sided p = 2 * 7/64 = 14/64 = 0.21875
    result = mcnemar_exact(A, B)
    assert (result["b"], result["c"]) == (5, 1)
    assert result["p_value"] == pytest.approx(14 / 64)
    # swapping the models swaps b and c and keeps p
    swapped = mcnemar_exact(B, A)
    assert (swapped["b"], swapped["c"], swapped["p_value"]) == (1, 5, result["p_value"])


def test_one_seed_is_the_paired_t_interval_over_clips():
    # per-clip differences [0, 1, 1, 1, 1, 1, 0, -1, 0, 0]: mean 0.4, sample variance 4.4/9
    result = seed_clip_interval([A], [B])
    d = A.astype(float) - B.astype(float)
    test = ttest_1samp(d, 0.0)
    low, high = test.confidence_interval(0.95)
    assert (result["low"], result["high"]) == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert result["p_value"] == pytest.approx(test.pvalue)
    assert result["se"] == pytest.approx(100 * np.sqrt(4.4 / 9 / 10))
    assert result["df"] == 9 and result["n_seeds"] == 1 and result["n_clips"] == 10


def test_crossed_seeds_and_clips_use_the_two_way_mean_squares():
    # 3 seeds x 40 shared clips: the variance of the grand mean is (MS_seed + MS_clip -
    # MS_cell) / (k n), with the mean squares of statsmodels' two-way ANOVA
    rng = np.random.default_rng(3)
    a = [rng.random(40) < p for p in (0.85, 0.6, 0.75)]
    b = [rng.random(40) < 0.6 for _ in range(3)]
    result = seed_clip_interval(a, b)
    table = pd.DataFrame(
        [{"d": float(x[i]) - float(y[i]), "seed": s, "clip": i}
         for s, (x, y) in enumerate(zip(a, b, strict=True)) for i in range(40)]
    )  # fmt: skip
    anova = anova_lm(ols("d ~ C(seed) + C(clip)", data=table).fit())
    ms = anova["mean_sq"]
    variance = (ms["C(seed)"] + ms["C(clip)"] - ms["Residual"]) / (3 * 40)
    assert result["se"] == pytest.approx(100 * np.sqrt(variance))
    df = variance**2 / sum(
        (sign * ms[k] / 120) ** 2 / anova["df"][k]
        for k, sign in (("C(seed)", 1), ("C(clip)", 1), ("Residual", -1))
    )
    assert result["df"] == pytest.approx(df)
    half = student_t.ppf(0.975, df) * np.sqrt(variance)
    assert result["high"] - result["difference"] == pytest.approx(100 * half)
    assert result["shared_test_clips"] and result["n_clips"] == 40


def test_copies_of_one_seed_give_the_one_seed_interval():
    rng = np.random.default_rng(4)
    a, b = rng.random(300) < 0.75, rng.random(300) < 0.6
    one = seed_clip_interval([a], [b])
    three = seed_clip_interval([a] * 3, [b] * 3)
    for key in ("difference", "low", "high", "p_value", "df"):
        assert three[key] == pytest.approx(one[key])


def test_seeds_far_apart_widen_the_interval_beyond_clips_alone():
    rng = np.random.default_rng(5)
    a = [rng.random(400) < p for p in (0.9, 0.5, 0.7)]  # seeds far apart
    b = [rng.random(400) < 0.7 for _ in range(3)]
    clips_only = seed_clip_interval([np.concatenate(a)], [np.concatenate(b)])
    both = seed_clip_interval(a, b)
    assert both["difference"] == pytest.approx(clips_only["difference"])
    assert both["high"] - both["low"] > 3 * (clips_only["high"] - clips_only["low"])
    assert both["df"] < 10


def test_own_test_clips_per_seed_is_a_t_interval_over_the_seed_means():
    # seed means of a - b: 1, 0 and 1/2 (vary_with_seed: 2, 1 and 4 clips of their own)
    a = [np.array([1, 1]), np.array([1]), np.array([1, 1, 1, 1])]
    b = [np.array([0, 0]), np.array([1]), np.array([1, 1, 0, 0])]
    result = seed_clip_interval(a, b)
    test = ttest_1samp([1.0, 0.0, 0.5], 0.0)
    low, high = test.confidence_interval(0.95)
    # the same, but a difference in accuracy cannot pass 100 points
    assert (result["low"], result["high"]) == (pytest.approx(100 * low), min(100.0, 100 * high))
    assert result["p_value"] == pytest.approx(test.pvalue) and result["df"] == 2
    assert not result["shared_test_clips"] and result["n_clips"] == 7


@pytest.mark.parametrize("seed", range(12))
def test_the_interval_and_its_p_always_agree(seed):
    rng = np.random.default_rng(seed)
    k, n = int(rng.integers(1, 5)), int(rng.integers(5, 80))
    shared = bool(seed % 2)  # half with a split per seed, of their own sizes
    sizes = [n] * k if shared else [int(rng.integers(5, 80)) for _ in range(k)]
    a = [rng.random(m) < rng.uniform(0.4, 0.9) for m in sizes]
    b = [rng.random(m) < rng.uniform(0.4, 0.9) for m in sizes]
    result = seed_clip_interval(a, b, shared=shared)
    excludes_zero = result["low"] > 0 or result["high"] < 0
    assert excludes_zero == (result["p_value"] < 0.05)


def test_holm_on_a_hand_computed_case():
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> kept at
    # 0.06 (never below the one before); returned in the order given
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert holm([0.6, 0.7]) == [1.0, 1.0] and holm([]) == []


def test_identical_models_and_one_sided_wins():
    everything = np.ones(20, dtype=bool)
    nothing = np.zeros(20, dtype=bool)
    same = compare([everything], [everything])
    # no clip differs among 20: up to 1 - 0.025^(1/20) = 16.8% could, unseen (exact bound)
    share = 1 - 0.025 ** (1 / 20)
    assert same["difference"] == 0 and same["se"] is None
    assert (same["low"], same["high"]) == (pytest.approx(-100 * share), pytest.approx(100 * share))
    assert (same["b"], same["c"], same["p_values"], same["p_value"]) == (0, 0, [1.0], 1.0)
    # a right on all 20, b on none: each unseen clip could move the difference by up to 2;
    # p is the sign test's, the same as McNemar's here
    sweep = compare([everything], [nothing])
    assert (sweep["low"], sweep["high"]) == (pytest.approx(100 - 200 * share), 100.0)
    assert sweep["p_value"] == pytest.approx(2 * 0.5**20) == sweep["p_values"][0]
    # three seeds of the same 20 clips are still 20 clips
    three = compare([everything] * 3, [everything] * 3)
    assert three["high"] == pytest.approx(100 * share)
    # with own clips per seed (vary_with_seed) they are 60
    sizes = (20, 19, 21)
    own = compare([np.ones(m, dtype=bool) for m in sizes], [np.ones(m, dtype=bool) for m in sizes],
                  shared=False)  # fmt: skip
    assert own["high"] == pytest.approx(100 * (1 - 0.025 ** (1 / 60)))


@pytest.mark.parametrize("n", [3, 5, 6, 9])
def test_a_constant_win_on_few_clips_is_clear_only_when_the_sign_test_says_so(n):
    result = seed_clip_interval([np.ones(n, dtype=bool)], [np.zeros(n, dtype=bool)])
    assert (result["low"] > 0) == (result["p_value"] < 0.05) == (n >= 6)


def test_equal_seed_means_on_own_clips_still_leave_the_clips_uncertain():
    # vary_with_seed: both seeds net +1 clip of 10, so the seed means agree exactly; the
    # clips within the seeds still vary, so the interval is not a point and agrees with p
    a = [np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]), np.array([0, 1, 1, 0, 0, 0, 0, 0, 0, 0])]
    b = [np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), np.array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0])]
    result = seed_clip_interval(a, b, shared=False)
    assert result["difference"] == pytest.approx(10.0)
    assert result["low"] < 0 < result["high"] and result["p_value"] > 0.05


def test_mcnemar_runs_per_seed_and_equals_scipys_binomial_test_for_each():
    rng = np.random.default_rng(7)
    a = [rng.random(120) < 0.8 for _ in range(3)]
    b = [rng.random(120) < 0.6 for _ in range(3)]
    result = compare(a, b, seeds=[10, 11, 12])
    assert [row["seed"] for row in result["per_seed"]] == [10, 11, 12]
    for row, x, y in zip(result["per_seed"], a, b, strict=True):
        only_a, only_b = int((x & ~y).sum()), int((~x & y).sum())
        assert (row["b"], row["c"]) == (only_a, only_b)
        expected = binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
        assert row["p_value"] == pytest.approx(expected, rel=1e-9)
    assert result["p_values"] == [row["p_value"] for row in result["per_seed"]]
    assert (result["p_min"], result["p_max"]) == (min(result["p_values"]), max(result["p_values"]))
    # three copies of one seed keep one seed's p: nothing is pooled
    copies = compare([a[0]] * 3, [b[0]] * 3)
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
        seed_clip_interval([A], [B[:5]])
    with pytest.raises(ValueError, match="one run of each model"):
        mcnemar_exact(np.vstack([A, A]), np.vstack([B, B]))
    with pytest.raises(ValueError, match="same seeds"):
        seed_clip_interval([A, A], [B])
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


def test_describe_a_contrast_by_its_holm_adjusted_p():
    clear = {"difference": 6.2, "low": 2.1, "high": 12.4, "n_seeds": 3, "p_value": 0.004,
             "p_adjusted": 0.012}  # fmt: skip
    assert (
        describe_contrast("pretraining", "spectrogram", "spectrogram_scratch", clear, 3)
        == "pretraining: spectrogram is 6 points ahead of spectrogram_scratch (95% CI 2-12, "
        "p = 0.004, Holm-adjusted 0.012 over 3 contrasts) over 3 seeds"
    )
    behind = {"difference": -2.0, "low": -3.5, "high": -0.5, "n_seeds": 1, "p_value": 0.0004}
    assert describe_contrast("input", "a", "b", behind) == (
        "input: b is 2.0 points ahead of a (95% CI 0.5-3.5, p < 0.001) over 1 seed"
    )
    unclear = {"difference": 1.0, "low": -3.0, "high": 5.0, "n_seeds": 3, "p_value": 0.5,
               "p_adjusted": 1.0}  # fmt: skip
    assert describe_contrast("input", "a", "b", unclear, 2) == (
        "input: no clear difference between a and b (a - b = 1.0 points, 95% CI -3.0 to 5.0, "
        "p = 0.5, Holm-adjusted 1 over 2 contrasts) over 3 seeds"
    )
    # the interval alone excludes 0, but not after the correction: said so
    corrected = {**behind, "p_value": 0.03, "p_adjusted": 0.09, "n_seeds": 3}
    assert describe_contrast("input", "a", "b", corrected, 3) == (
        "input: no clear difference after Holm's correction between a and b (a - b = -2.0 "
        "points, 95% CI -3.5 to -0.5, p = 0.03, Holm-adjusted 0.09 over 3 contrasts) over 3 "
        "seeds"
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
    result = compare_predictions(seed0 + seed1, [0, 0, 1], other * 2, [0, 1])
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
    result = compare_predictions(a, [0, 1], b, [0, 1])
    # seed 0: a 2/2, b 1/2 -> 50 points; seed 1: a 1/3, b 0/3 -> 33.3; mean 41.7
    assert result["difference"] == pytest.approx((50 + 100 / 3) / 2)
    assert not result["shared_test_clips"] and result["n_clips"] == 5
    two = [predictions(["f", "g"], ["x", "x"], ["x", "y"])]
    other = compare_predictions(a[:1] + two, [0, 1], b[:1] + two, [0, 1])
    assert not other["shared_test_clips"] and other["n_clips"] == 4
    with pytest.raises(ValueError, match="seed 1: the two models were scored on different"):
        compare_predictions(a, [0, 1], [b[0], b[0]], [0, 1])


def test_mean_interval_is_the_t_interval_over_runs():
    scores = [0.80, 0.86, 0.83, 0.88]
    result = mean_interval(scores, 0.95)
    low, high = student_t.interval(
        0.95, len(scores) - 1, loc=np.mean(scores), scale=np.std(scores, ddof=1) / 2
    )
    assert result["mean"] == pytest.approx(np.mean(scores))
    assert (result["low"], result["high"]) == pytest.approx((low, high))
    assert result["df"] == 3 and result["n_runs"] == 4


def test_mean_interval_of_one_run_is_none_and_of_equal_runs_a_point():
    assert mean_interval([0.7])["low"] is None and mean_interval([0.7])["high"] is None
    same = mean_interval([0.7, 0.7, 0.7])
    assert same["low"] == same["high"] == same["mean"] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="at least one score"):
        mean_interval([])
