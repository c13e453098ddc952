"""Paired statistics on two models' test predictions: bootstrap CI, exact McNemar, plain words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import binom

# Draws are resampled in chunks so memory stays near CHUNK_CELLS indices whatever the test size.
CHUNK_CELLS = 2_000_000


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


def paired_bootstrap_ci(
    correct_a, correct_b, n_draws: int = 10000, seed: int = 0, level: float = 0.95
) -> dict:
    """Accuracy of a minus accuracy of b, in points, with a percentile bootstrap CI over clips.

    `correct_*` are boolean arrays over the SAME test clips, (n_clips,) or (n_seeds, n_clips);
    with several seeds each clip's correctness is first averaged over that model's seeds, so
    seed-to-seed noise shrinks the per-clip differences instead of counting as more clips.
    Clips are then resampled with replacement `n_draws` times (seeded): the test set, not the
    seeds, is the sample the CI generalises over.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    a, b = _paired(correct_a, correct_b)
    per_clip = a.mean(axis=0) - b.mean(axis=0)
    n = per_clip.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_draws)
    rows = max(1, CHUNK_CELLS // n)
    for start in range(0, n_draws, rows):
        stop = min(n_draws, start + rows)
        means[start:stop] = per_clip[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return {
        "difference": 100 * float(per_clip.mean()),
        "low": 100 * float(low),
        "high": 100 * float(high),
        "level": float(level),
        "n_draws": int(n_draws),
        "n_clips": int(n),
    }


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact two-sided McNemar test: b = clips only a got right, c = clips only b got right.

    p = P(X <= min(b, c)) * 2 (capped at 1) with X ~ Binomial(b + c, 1/2), the binomial test of
    the discordant pairs. With several seeds (arrays of shape (n_seeds, n_clips)) seed s of a
    is paired with seed s of b and the discordant pairs are POOLED over seeds: b and c count
    clip-seed pairs. Pairs of the same clip under different seeds are not independent, so the
    pooled p-value is optimistic; read it next to the bootstrap CI, which is not.
    """
    a, b_runs = _paired(correct_a, correct_b)
    if a.shape[0] != b_runs.shape[0]:
        raise ValueError(
            f"correct_a has {a.shape[0]} seed(s) but correct_b has {b_runs.shape[0]}: pooled "
            "McNemar pairs seed with seed; give both models the same number of seeds"
        )
    a, b_runs = a.astype(bool), b_runs.astype(bool)
    only_a = int((a & ~b_runs).sum())
    only_b = int((~a & b_runs).sum())
    discordant = only_a + only_b
    p_value = 1.0
    if discordant:
        p_value = min(1.0, 2 * binom.cdf(min(only_a, only_b), discordant, 0.5))
    return {"b": only_a, "c": only_b, "p_value": float(p_value), "n_seeds": int(a.shape[0])}


def compare(correct_a, correct_b, n_draws: int = 10000, seed: int = 0, level: float = 0.95) -> dict:
    """paired_bootstrap_ci and mcnemar_exact in one dict (what describe_comparison reads)."""
    return {
        **paired_bootstrap_ci(correct_a, correct_b, n_draws, seed, level),
        **mcnemar_exact(correct_a, correct_b),
    }


def correctness_by_seed(
    predictions: Sequence[pd.DataFrame], seeds: Sequence, source: str = "predictions"
) -> tuple[list[str], np.ndarray]:
    """(fnames, bool array (n_seeds, n_clips)) from predictions.csv frames (fname,label,predicted).

    Frames with the same seed are one run over the test set (the folds of a cross-validation)
    and are concatenated; every seed must then cover the same clips, each once. Columns follow
    the sorted fnames, so two models' arrays built here pair clip with clip.
    """
    if len(predictions) != len(seeds):
        raise ValueError(f"{source}: {len(predictions)} prediction tables but {len(seeds)} seeds")
    by_seed: dict = {}
    for frame, run_seed in zip(predictions, seeds, strict=True):
        by_seed.setdefault(run_seed, []).append(frame)
    fnames: list[str] | None = None
    rows = []
    for run_seed, frames in by_seed.items():
        table = pd.concat(frames, ignore_index=True)
        twice = table["fname"][table["fname"].duplicated()].unique().tolist()
        if twice:
            raise ValueError(
                f"{source}: seed {run_seed} scores clip(s) {twice[:5]} more than once; each "
                "test clip must be in exactly one fold"
            )
        table = table.sort_values("fname", kind="stable")
        names = [str(f) for f in table["fname"]]
        if fnames is None:
            fnames = names
        elif names != fnames:
            differ = sorted(set(names) ^ set(fnames))
            raise ValueError(
                f"{source}: seed {run_seed} scores other test clips than the first seed, e.g. "
                f"{differ[:5]}; evaluate every seed on the same split"
            )
        rows.append((table["predicted"].astype(str) == table["label"].astype(str)).to_numpy())
    return fnames or [], np.vstack(rows)


def compare_predictions(
    predictions_a: Sequence[pd.DataFrame],
    seeds_a: Sequence,
    predictions_b: Sequence[pd.DataFrame],
    seeds_b: Sequence,
    n_draws: int = 10000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """compare() on two models' predictions.csv frames (one per seed, or per seed and fold)."""
    names_a, correct_a = correctness_by_seed(predictions_a, seeds_a, "model a")
    names_b, correct_b = correctness_by_seed(predictions_b, seeds_b, "model b")
    if names_a != names_b:
        differ = sorted(set(names_a) ^ set(names_b))
        raise ValueError(
            f"the two models were scored on different test clips (e.g. {differ[:5]}); a paired "
            "comparison needs the same split for both"
        )
    return compare(correct_a, correct_b, n_draws, seed, level)


def _points(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _p_text(p_value: float) -> str:
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.2g}"  # two significant digits: 0.42, 0.012, 1


def describe_comparison(name_a: str, name_b: str, result: dict, n_seeds: int) -> str:
    """One plain sentence: who wins by how many points, the CI, the McNemar p and the seeds.

    "spectrogram beats raw by 31 points (95% CI 25-37), p < 0.001 over 3 seeds", or, when the
    CI spans 0, "raw is not distinguishable from spectrogram (95% CI -3 to 5, p = 0.42) over
    1 seed". Points are whole numbers when the CI is 10 points wide or more, else one decimal.
    """
    difference, low, high = result["difference"], result["low"], result["high"]
    level = f"{100 * result.get('level', 0.95):g}% CI"
    seeds = f"over {n_seeds} seed{'s' if n_seeds != 1 else ''}"
    p_text = _p_text(result["p_value"])
    decimals = 0 if high - low >= 10 else 1
    if low > 0 or high < 0:
        winner, loser = (name_a, name_b) if low > 0 else (name_b, name_a)
        lo, hi = sorted([abs(low), abs(high)])
        size = abs(difference)
        return (
            f"{winner} beats {loser} by {_points(size, decimals)} points "
            f"({level} {_points(lo, decimals)}-{_points(hi, decimals)}), {p_text} {seeds}"
        )
    return (
        f"{name_a} is not distinguishable from {name_b} "
        f"({level} {_points(low, decimals)} to {_points(high, decimals)}, {p_text}) {seeds}"
    )
