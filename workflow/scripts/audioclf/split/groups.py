"""Group-aware splits: whole groups (a speaker, a recording session) go to train, valid or
test, so that no group is in two parts, with each label's counts per part near its share.

The assignment is greedy and deterministic given the seed: the groups, largest first
(groups of equal size in a seeded order), each go to the part where they most reduce the
total gap between the parts' label counts and their targets (each part's fraction of each
label's clips); a tie goes to the part with the most clips still short of its target.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from audioclf.contracts import SPLIT_NAMES, SUBSET
from audioclf.split.stratified import SplitError, check_fractions

KEY = "dataset.columns.group"


def clip_groups(subset_csv: str | os.PathLike | None, clips: pd.DataFrame) -> pd.Series | None:
    """Each usable clip's group (subset.csv's `group`, by fname, as text), in the clips'
    order; None when the dataset maps no group column."""
    if subset_csv is None:
        return None
    subset = SUBSET.read(subset_csv)
    if "group" not in subset.columns:
        return None
    groups = subset.drop_duplicates("fname").set_index("fname")["group"].astype(str)
    return clips["fname"].map(groups).reset_index(drop=True)


def assign_groups(
    labels: pd.Series, groups: pd.Series, fractions: dict[str, float], rng: np.random.Generator
) -> np.ndarray:
    """Each row's part (a key of `fractions`), by whole groups (see the module's docstring)."""
    table = pd.crosstab(groups.to_numpy(), labels.to_numpy())
    table = table.iloc[rng.permutation(len(table))]
    table = table.iloc[np.argsort(-table.sum(axis=1).to_numpy(), kind="stable")]
    parts = list(fractions)
    shares = np.array([fractions[p] for p in parts], dtype=float)
    target = shares[:, None] * table.sum(axis=0).to_numpy()[None, :]
    counts = np.zeros_like(target)
    chosen = {}
    for group, row in zip(table.index, table.to_numpy(), strict=True):
        gain = np.abs(target - counts).sum(axis=1) - np.abs(target - counts - row).sum(axis=1)
        room = (target - counts).sum(axis=1)
        best = max(range(len(parts)), key=lambda k: (round(gain[k], 6), round(room[k], 6)))
        counts[best] += row
        chosen[group] = parts[best]
    return groups.map(chosen).to_numpy()


def check_parts(
    labels: pd.Series, groups: pd.Series, parts: np.ndarray, names, source: str
) -> None:
    """A SplitError naming the key and each label that some part of `names` has no clip of."""
    present = pd.crosstab(labels.to_numpy(), parts).reindex(columns=list(names), fill_value=0)
    n_groups = groups.groupby(labels.to_numpy()).nunique()
    lacking = {
        label: [name for name in names if row[name] == 0] for label, row in present.iterrows()
    }
    lacking = {label: empty for label, empty in lacking.items() if empty}
    if lacking:
        words = "; ".join(
            f"{label!r}, in {n_groups[label]} group(s), has none in {', '.join(empty)}"
            for label, empty in lacking.items()
        )
        raise SplitError(
            f"{source}: {KEY}: whole groups leave label(s) {sorted(lacking)} without clips in "
            f"a part ({words}); map a column with more groups per label, change "
            "split.fractions, or leave those labels out"
        )


def grouped_split(
    clips: pd.DataFrame,
    groups: pd.Series,
    fractions: dict[str, float],
    seed: int,
    source: str = "clips",
) -> pd.DataFrame:
    """`fname,label,split,group` of every clip (in the clips' order): whole groups in
    train/valid/test near `fractions` of each label; every label must get clips in each."""
    check_fractions(fractions)
    labels = clips["label"].astype(str).reset_index(drop=True)
    groups = groups.astype(str).reset_index(drop=True)
    parts = assign_groups(labels, groups, fractions, np.random.default_rng(seed))
    check_parts(labels, groups, parts, SPLIT_NAMES, source)
    return pd.DataFrame(
        {
            "fname": clips["fname"].astype(str).to_numpy(),
            "label": labels,
            "split": parts.astype(str),
            "group": groups.to_numpy(),
        }
    )


def groups_around_test(
    frame: pd.DataFrame,
    is_test: np.ndarray,
    valid_fraction: float,
    rng: np.random.Generator,
    source: str,
) -> np.ndarray:
    """ "test" where `is_test`; the other clips' groups whole to train or valid, valid near
    `valid_fraction` of each label's non-test clips; each such label gets both."""
    split = np.full(len(frame), "test", dtype=object)
    rest = ~is_test
    labels = frame["label"][rest].reset_index(drop=True)
    groups = frame["group"][rest].reset_index(drop=True)
    shares = {"train": 1 - valid_fraction, "valid": valid_fraction}
    split[rest] = assign_groups(labels, groups, shares, rng)
    check_parts(labels, groups, split[rest], ("train", "valid"), source)
    return split.astype(str)


def check_groups_in_one_fold(frame: pd.DataFrame, source: str) -> None:
    """A SplitError naming the groups that lie in more than one fold (a test fold would
    share them with training)."""
    folds = frame.groupby("group")["fold"].nunique()
    spread = sorted(folds.index[folds > 1])
    if spread:
        raise SplitError(
            f"{source}: {KEY}: {len(spread)} group(s) lie in more than one fold, e.g. "
            f"{spread[:5]}, so a test fold would share them with training; give each group "
            "clips of one fold only (e.g. map the group column as the fold too)"
        )
