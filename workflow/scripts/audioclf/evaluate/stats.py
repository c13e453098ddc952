"""Paired statistics on two models' test predictions: a t interval over seeds and clips,
Holm's correction, exact McNemar per seed, plain words; and one model's score over its
runs with its t interval (mean_interval)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import binom
from scipy.stats import t as student_t


def _as_runs(correct, name: str) -> np.ndarray:
    """A (n_seeds, n_clips) float array of 0/1 from a (n_clips,) or (n_seeds, n_clips) one."""
    array = np.asarray(correct)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(
            f"{name}: expected correctness of shape (n_clips,) or (n_seeds, n_clips) with at "
            f"least one clip, got shape {np.shape(correct)}"
        )
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name}: correctness must be boolean (or 0/1), got other values")
    return array.astype(np.float64)


def _paired(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_runs(correct_a, "correct_a"), _as_runs(correct_b, "correct_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"correct_a has {a.shape[1]} clips but correct_b has {b.shape[1]}: a paired "
            "comparison needs both models' predictions on the same test clips, in the same order"
        )
    return a, b


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact two-sided McNemar test of one run: b = clips only a got right, c = clips only b
    got right; p = P(X <= min(b, c)) * 2 (capped at 1) with X ~ Binomial(b + c, 1/2), the
    binomial test of the discordant pairs.

    One seed's correctness only: the same clip under two seeds is not an independent pair,
    so pooling discordant pairs over seeds would claim more certainty than the design gives
    (three copies of one seed would turn p = 0.15 into p = 0.004). compare() tests each seed.
    """
    a, b_runs = _paired(correct_a, correct_b)
    if a.shape[0] != 1 or b_runs.shape[0] != 1:
        raise ValueError(
            f"McNemar's test takes one run of each model, got {a.shape[0]} and "
            f"{b_runs.shape[0]}: test each seed on its own (compare() does)"
        )
    a, b_runs = a[0].astype(bool), b_runs[0].astype(bool)
    only_a = int((a & ~b_runs).sum())
    only_b = int((~a & b_runs).sum())
    discordant = only_a + only_b
    p_value = 1.0
    if discordant:
        p_value = min(1.0, 2 * binom.cdf(min(only_a, only_b), discordant, 0.5))
    return {"b": only_a, "c": only_b, "p_value": float(p_value)}


def seed_runs(
    predictions: Sequence[pd.DataFrame], seeds: Sequence, source: str = "predictions"
) -> dict:
    """seed -> (fnames sorted, bool correctness) from predictions.csv frames, one per run.

    Frames with the same seed are one run over its test set (the folds of a
    cross-validation) and are concatenated; each clip must be scored once per seed. Seeds
    may have different test clips (`split.vary_with_seed`).
    """
    if len(predictions) != len(seeds):
        raise ValueError(f"{source}: {len(predictions)} prediction tables but {len(seeds)} seeds")
    by_seed: dict = {}
    for frame, run_seed in zip(predictions, seeds, strict=True):
        by_seed.setdefault(run_seed, []).append(frame)
    runs = {}
    for run_seed, frames in by_seed.items():
        table = pd.concat(frames, ignore_index=True)
        twice = table["fname"][table["fname"].duplicated()].unique().tolist()
        if twice:
            raise ValueError(
                f"{source}: seed {run_seed} scores clip(s) {twice[:5]} more than once; each "
                "test clip must be in exactly one fold"
            )
        table = table.sort_values("fname", kind="stable")
        correct = (table["predicted"].astype(str) == table["label"].astype(str)).to_numpy()
        runs[run_seed] = ([str(f) for f in table["fname"]], correct)
    return runs


def pair_seed_runs(runs_a: dict, runs_b: dict) -> tuple[list, list[np.ndarray], list[np.ndarray]]:
    """(seeds, a's correctness per seed, b's) paired seed with seed and clip with clip."""
    if set(runs_a) != set(runs_b):
        raise ValueError(
            f"model a has seeds {sorted(runs_a, key=str)}, model b {sorted(runs_b, key=str)}: "
            "a paired comparison needs both models trained with the same seeds"
        )
    seeds, a, b = [], [], []
    for run_seed in runs_a:
        (names_a, correct_a), (names_b, correct_b) = runs_a[run_seed], runs_b[run_seed]
        if names_a != names_b:
            differ = sorted(set(names_a) ^ set(names_b))
            raise ValueError(
                f"seed {run_seed}: the two models were scored on different test clips (e.g. "
                f"{differ[:5]}); a paired comparison needs the same split for both"
            )
        seeds.append(run_seed)
        a.append(np.asarray(correct_a, dtype=np.float64))
        b.append(np.asarray(correct_b, dtype=np.float64))
    return seeds, a, b


def seed_clip_interval(
    correct_a: Sequence, correct_b: Sequence, level: float = 0.95, shared: bool | None = None
) -> dict:
    """Mean accuracy difference a - b over seeds, in points, with a t interval and its p.

    `correct_a[s]`, `correct_b[s]`: seed s's 0/1 correctness of both models on that seed's
    test clips (paired clip with clip). The estimate is the mean over seeds and clips of the
    per-clip differences; what its standard error covers depends on the design:

    - one split for all seeds (`shared`): seeds and clips are crossed, so the per-clip
      differences are a two-way table with one cell per (seed, clip). Its mean has the
      variance sigma_seed^2 / k + sigma_clip^2 / n + sigma_cell^2 / (k n), estimated without
      bias from the table's mean squares as (MS_seed + MS_clip - MS_cell) / (k n), with
      Satterthwaite's degrees of freedom. Few seeds give few degrees of freedom, so the
      interval widens as it must (the percentile bootstrap it replaced fell to 90% for a
      95% target with 3 seeds 8 points apart: benchmarks/interval_coverage.py;
      tests/unit/evaluate/test_interval_coverage.py checks this one's coverage).
    - each seed with its own test clips (`vary_with_seed`): each seed's mean already holds
      its own clip sampling, so the variance is that of the seed means, k - 1 degrees of
      freedom.
    - one seed: the variance of the mean over its clips, n - 1 degrees of freedom: the
      interval covers test-clip sampling only.

    `p_value`: the two-sided t test of no difference, from the same statistic, so the
    interval excludes 0 exactly when p < 1 - level. When every per-clip difference is the
    same (no variance to estimate), the interval comes from the exact binomial bound on the
    share of the distinct clips that could still differ otherwise, never a single point,
    and p from the sign test (_constant_interval). `shared` None: shared when every seed has
    as many clips.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if len(correct_a) != len(correct_b) or not len(correct_a):
        raise ValueError(
            f"{len(correct_a)} seed(s) of model a but {len(correct_b)} of model b: give both "
            "models the same seeds, at least one"
        )
    diffs = []
    for k, (a, b) in enumerate(zip(correct_a, correct_b, strict=True)):
        a, b = _paired(a, b)
        if a.shape[0] != 1:
            raise ValueError(f"seed {k}: expected one run of correctness, got {a.shape[0]}")
        diffs.append(a[0] - b[0])
    if shared is None:
        shared = len({d.size for d in diffs}) == 1
    elif shared and len({d.size for d in diffs}) != 1:
        raise ValueError("shared test clips, but the seeds have different numbers of clips")
    estimate = float(np.mean([d.mean() for d in diffs]))
    # distinct clips: a shared split's clips count once, whichever seeds score them
    n_clips = int(diffs[0].size) if shared else int(sum(d.size for d in diffs))
    if len({float(v) for d in diffs for v in np.unique(d)}) == 1:
        # every cell the same: no variance to estimate, and a t interval would be a point
        low, high, p_value = _constant_interval(estimate, n_clips, level)
        se = df = None
    else:
        variance, df = _variance_of_mean(diffs, shared)
        half, p_value = _t_interval(estimate, variance, df, level)
        low, high = estimate - half, estimate + half
        se = 100 * float(np.sqrt(variance))
    return {
        "difference": 100 * estimate,
        "low": 100 * max(-1.0, low),
        "high": 100 * min(1.0, high),
        "level": float(level),
        "p_value": p_value,
        "se": se,  # null when every clip differs alike (the binomial bound instead)
        "df": df,
        "n_seeds": len(diffs),
        "n_clips": n_clips,
        "shared_test_clips": bool(shared),
    }


def _constant_interval(estimate: float, n: int, level: float) -> tuple[float, float, float]:
    """(low, high, p) when all `n` distinct clips differ alike: by the exact binomial bound,
    a share of up to 1 - (alpha/2)^(1/n) of such clips could differ otherwise, unseen here;
    each moves the difference by up to 1 from 0, or by up to 2 from +-1 (to the other
    side). p: 1 for no difference; for a constant +-1, the sign test's 2 * 0.5^n, which is
    below alpha exactly when the interval excludes 0."""
    share = 1.0 - ((1.0 - level) / 2) ** (1.0 / n)
    if estimate == 0:
        return -share, share, 1.0
    reach = 2 * share
    low, high = (estimate - reach, estimate) if estimate > 0 else (estimate, estimate + reach)
    return low, high, float(min(1.0, 2 * 0.5**n))


def _variance_of_mean(diffs: list[np.ndarray], shared: bool) -> tuple[float, float]:
    """(variance of the mean difference, its degrees of freedom): seed_clip_interval's rule."""
    k = len(diffs)
    if k == 1:
        n = diffs[0].size
        return (float(diffs[0].var(ddof=1)) / n if n > 1 else 0.0), float(max(n - 1, 1))
    if not shared:
        means = np.array([d.mean() for d in diffs])
        # seed means that happen to agree do not make the clips certain: at least the
        # variance the clips within the seeds give on their own
        cells = sum(d.size for d in diffs)
        within = sum(float(((d - d.mean()) ** 2).sum()) for d in diffs) / max(cells - k, 1)
        return max(float(means.var(ddof=1)) / k, within / cells), float(k - 1)
    table = np.vstack(diffs)  # (seeds, clips)
    n = table.shape[1]
    grand = table.mean()
    by_seed, by_clip = table.mean(axis=1), table.mean(axis=0)
    ms_seed = n * float(((by_seed - grand) ** 2).sum()) / (k - 1)
    if n == 1:
        return ms_seed / k, float(k - 1)
    ms_clip = k * float(((by_clip - grand) ** 2).sum()) / (n - 1)
    cell = table - by_seed[:, None] - by_clip[None, :] + grand
    ms_cell = float((cell**2).sum()) / ((k - 1) * (n - 1))
    terms = [(ms_seed, k - 1), (ms_clip, n - 1), (-ms_cell, (k - 1) * (n - 1))]
    # an estimate below the crossed terms' own noise cannot be: keep at least that much
    combined = max(ms_seed + ms_clip - ms_cell, ms_cell)
    denominator = sum(value**2 / dof for value, dof in terms)
    df = combined**2 / denominator if denominator > 0 else float(k - 1)
    return combined / (k * n), float(max(df, 1.0))


def _t_interval(estimate: float, variance: float, df: float, level: float) -> tuple[float, float]:
    """(half-width of the t interval, two-sided p of no difference); `variance` > 0."""
    se = float(np.sqrt(variance))
    half = float(student_t.ppf(0.5 + level / 2, df)) * se
    return half, float(min(1.0, 2 * student_t.sf(abs(estimate) / se, df)))


def mean_interval(values: Sequence[float], level: float = 0.95) -> dict:
    """The mean of one score over runs, with the t interval over those runs: mean +- t(k - 1)
    x sd / sqrt(k) for k runs (sd with ddof=1). It covers only what differs between the
    runs (the seed; the fold or split, where the runs differ in it), never the sampling of
    test clips the runs share. `low`/`high` are None for a single run, and equal the mean
    when every run scored the same."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    scores = np.asarray([float(v) for v in values], dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no runs to take the mean of: give at least one score")
    mean, k = float(scores.mean()), int(scores.size)
    result = {"mean": mean, "n_runs": k, "level": float(level), "low": None, "high": None,
              "df": None}  # fmt: skip
    if k == 1:
        return result
    same = bool((scores == scores[0]).all())  # var() of equal floats can be a rounding error
    half = 0.0 if same else _t_interval(mean, float(scores.var(ddof=1)) / k, k - 1, level)[0]
    return {**result, "low": mean - half, "high": mean + half, "df": k - 1}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the k-th smallest of m is
    multiplied by m - k + 1, kept at least the one before it, and capped at 1."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted


def compare(
    correct_a: Sequence, correct_b: Sequence, level: float = 0.95,
    seeds: Sequence | None = None, shared: bool | None = None,
) -> dict:  # fmt: skip
    """seed_clip_interval and McNemar's exact test per seed (never pooled over seeds: the
    same clip under two seeds is not an independent pair) in one dict, as comparison.json
    holds it: `p_values` per seed, `p_min`/`p_max` their range, `b`/`c` summed over seeds
    (for the table), `per_seed` each seed's b, c and p. The interval's own p is `p_value`."""
    result = seed_clip_interval(correct_a, correct_b, level, shared)
    seeds = list(seeds) if seeds is not None else list(range(len(correct_a)))
    per_seed = [
        {"seed": s, **mcnemar_exact(a, b)}
        for s, a, b in zip(seeds, correct_a, correct_b, strict=True)
    ]
    p_values = [row["p_value"] for row in per_seed]
    return {
        **result,
        "b": int(sum(row["b"] for row in per_seed)),
        "c": int(sum(row["c"] for row in per_seed)),
        "p_values": p_values,
        "p_min": float(min(p_values)),
        "p_max": float(max(p_values)),
        "per_seed": per_seed,
    }


def compare_predictions(
    predictions_a: Sequence[pd.DataFrame],
    seeds_a: Sequence,
    predictions_b: Sequence[pd.DataFrame],
    seeds_b: Sequence,
    level: float = 0.95,
) -> dict:
    """compare() on two models' predictions.csv frames (one per seed, or per seed and fold),
    paired seed with seed on each seed's own test clips."""
    runs_a = seed_runs(predictions_a, seeds_a, "model a")
    seeds, a, b = pair_seed_runs(runs_a, seed_runs(predictions_b, seeds_b, "model b"))
    shared = len({tuple(runs_a[s][0]) for s in seeds}) == 1
    return compare(a, b, level, seeds, shared)


def _points(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def p_range(result: dict) -> str:
    """McNemar's p of one seed ("0.012", "< 0.001"), or the range of the per-seed p-values
    ("0.004 to 0.15"; "< 0.001 in every seed")."""
    p_values = result.get("p_values") or [result["p_value"]]

    def one(p: float) -> str:
        return "< 0.001" if p < 0.001 else f"{p:.2g}"

    low, high = min(p_values), max(p_values)
    if len(p_values) == 1:
        return one(low)
    if high < 0.001:
        return "< 0.001 in every seed"
    return f"{one(low)} to {one(high)}"


def p_range_text(result: dict) -> str:
    """McNemar's p in a sentence: "p = 0.012", or the per-seed range "McNemar p 0.004 to
    0.15 by seed" (never a p pooled over seeds)."""
    text = p_range(result)
    if len(result.get("p_values") or [None]) == 1:
        return f"p {text}" if text.startswith("<") else f"p = {text}"
    if text.endswith("every seed"):
        return f"McNemar p {text}"
    return f"McNemar p {text} by seed"


def _ci_text(result: dict, decimals: int, signed: bool) -> str:
    level = f"{100 * result.get('level', 0.95):g}% CI"
    low, high = result["low"], result["high"]
    if not signed:
        low, high = sorted([abs(low), abs(high)])
        return f"{level} {_points(low, decimals)}-{_points(high, decimals)}"
    return f"{level} {_points(low, decimals)} to {_points(high, decimals)}"


def _seeds_text(n_seeds: int) -> str:
    return f"over {n_seeds} seed{'s' if n_seeds != 1 else ''}"


def describe_comparison(name_a: str, name_b: str, result: dict, n_seeds: int) -> str:
    """One plain sentence: who wins by how many points, the CI, McNemar's p and the seeds.

    "spectrogram beats raw by 31 points (95% CI 25-37), p < 0.001 over 1 seed", or, when the
    CI spans 0, "raw is not distinguishable from spectrogram (95% CI -3 to 5, McNemar p 0.2
    to 0.6 by seed) over 3 seeds". Several seeds give the range of the per-seed p
    (never one p pooled over seeds). Points are whole numbers when the CI is 10 points wide
    or more, else one decimal.
    """
    difference, low, high = result["difference"], result["low"], result["high"]
    p_text = p_range_text(result)
    decimals = 0 if high - low >= 10 else 1
    if low > 0 or high < 0:
        winner, loser = (name_a, name_b) if low > 0 else (name_b, name_a)
        return (
            f"{winner} beats {loser} by {_points(abs(difference), decimals)} points "
            f"({_ci_text(result, decimals, False)}), {p_text} {_seeds_text(n_seeds)}"
        )
    return (
        f"{name_a} is not distinguishable from {name_b} "
        f"({_ci_text(result, decimals, True)}, {p_text}) {_seeds_text(n_seeds)}"
    )


def p_text(p: float) -> str:
    """ "< 0.001" or the p with two significant digits."""
    return "< 0.001" if p < 0.001 else f"{p:.2g}"


def _p_text(p: float) -> str:
    text = p_text(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def describe_contrast(name: str, a: str, b: str, result: dict, n_contrasts: int = 1) -> str:
    """A contrast in one sentence. "Clear" means Holm's adjusted p (`p_adjusted`, over the
    `n_contrasts` measured contrasts) is below 1 - level: "pretraining: spectrogram is 6.0
    points ahead of spectrogram_scratch (95% CI 2.0-10.0, p = 0.004, Holm-adjusted 0.012
    over 3 contrasts) over 3 seeds"; else "no clear difference", saying so when the interval
    alone excludes 0 but the correction does not let it count."""
    difference, low, high = result["difference"], result["low"], result["high"]
    decimals = 0 if high - low >= 10 else 1
    seeds = _seeds_text(int(result["n_seeds"]))
    p, adjusted = float(result["p_value"]), float(result.get("p_adjusted", result["p_value"]))
    holm_text = (
        f"Holm-adjusted {adjusted:.2g} over {n_contrasts} contrasts" if n_contrasts > 1 else ""
    )
    p_words = f"{_p_text(p)}, {holm_text}" if holm_text else _p_text(p)
    alpha = 1 - float(result.get("level", 0.95))
    if adjusted < alpha:
        ahead, behind = (a, b) if difference > 0 else (b, a)
        return (
            f"{name}: {ahead} is {_points(abs(difference), decimals)} points ahead of "
            f"{behind} ({_ci_text(result, decimals, False)}, {p_words}) {seeds}"
        )
    why = " after Holm's correction" if (low > 0 or high < 0) and adjusted >= alpha else ""
    return (
        f"{name}: no clear difference{why} between {a} and {b} ({a} - {b} = "
        f"{_points(difference, decimals)} points, {_ci_text(result, decimals, True)}, "
        f"{p_words}) {seeds}"
    )
