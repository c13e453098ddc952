"""Group-aware splits: whole groups (a speaker, a recording session) go to train, valid or
test, so that no group is in two parts, with each label's counts per part near its share.
Copies of the same audio (equal samples_hash in clips.csv) are one group too, so no copy is
in two parts; with a fixed test set (a fold, the dataset's own), the other copies of a test
clip are left out of train and valid.

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
COPIES_KEY = "copies of the same audio (clips.csv samples_hash)"


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


def split_groups(groups: pd.Series | None, hashes: pd.Series) -> pd.Series | None:
    """The groups a split keeps whole: those of dataset.columns.group (`groups`, None when
    unmapped), joined through copies of the same audio (`hashes`): groups that hold copies
    of one clip become one, named by the first of their names in sorted order. Without a
    mapped group, each clip's group is its hash. None when there is neither a mapped group
    nor a copy: the split then goes clip by clip, as before copies were looked for."""
    hashes = hashes.astype(str).reset_index(drop=True)
    copied = hashes.duplicated(keep=False).any()
    if groups is None:
        return hashes if copied else None
    groups = groups.astype(str).reset_index(drop=True)
    if not copied:
        return groups
    parent = {group: group for group in groups}

    def root(group: str) -> str:
        while parent[group] != group:
            group = parent[group]
        return group

    holder: dict[str, str] = {}  # hash -> the group of its first copy
    for group, digest in zip(groups, hashes, strict=True):
        a, b = root(holder.setdefault(digest, group)), root(group)
        parent[max(a, b)] = min(a, b)
    return groups.map(root)


def copies_of_test(hashes: pd.Series, is_test: np.ndarray) -> np.ndarray:
    """Whether each clip outside the test set is a copy of a test clip (equal `hashes`):
    left out of train and valid, so the test set holds no copy of a training clip."""
    hashes = hashes.astype(str).to_numpy()
    return ~is_test & np.isin(hashes, hashes[is_test])


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
    labels: pd.Series, groups: pd.Series, parts: np.ndarray, names, source: str, key: str = KEY
) -> None:
    """A SplitError naming each label that some part of `names` has no clip of, and the fix
    by what made the groups (`key`): copies of the same audio alone (COPIES_KEY), too few
    distinct clips; else too few of the user's groups."""
    present = pd.crosstab(labels.to_numpy(), parts).reindex(columns=list(names), fill_value=0)
    n_groups = groups.groupby(labels.to_numpy()).nunique()
    lacking = {
        label: [name for name in names if row[name] == 0] for label, row in present.iterrows()
    }
    lacking = {label: empty for label, empty in lacking.items() if empty}
    if not lacking:
        return
    said = (
        "{!r} has {} distinct clip(s), none in {}"
        if key == COPIES_KEY
        else "{!r}, in {} group(s), has none in {}"
    )
    words = "; ".join(
        said.format(label, n_groups[label], ", ".join(empty)) for label, empty in lacking.items()
    )
    if key == COPIES_KEY:
        raise SplitError(
            f"{source}: too few distinct clips for label(s) {sorted(lacking)} ({words}): "
            f"{key} stay in one part; add other clips of those labels, change "
            "split.fractions, or leave those labels out"
        )
    raise SplitError(
        f"{source}: {key}: whole groups leave label(s) {sorted(lacking)} without clips in "
        f"a part ({words}); map a column with more groups per label, change "
        "split.fractions, or leave those labels out"
    )


def grouped_split(
    clips: pd.DataFrame,
    groups: pd.Series,
    fractions: dict[str, float],
    seed: int,
    source: str = "clips",
    key: str = KEY,
) -> pd.DataFrame:
    """`fname,label,split,group` of every clip (in the clips' order): whole groups in
    train/valid/test near `fractions` of each label; every label must get clips in each
    (else a SplitError naming `key`, what the groups are)."""
    check_fractions(fractions)
    labels = clips["label"].astype(str).reset_index(drop=True)
    groups = groups.astype(str).reset_index(drop=True)
    parts = assign_groups(labels, groups, fractions, np.random.default_rng(seed))
    check_parts(labels, groups, parts, SPLIT_NAMES, source, key)
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
    key: str = KEY,
) -> np.ndarray:
    """ "test" where `is_test`; the other clips' groups whole to train or valid, valid near
    `valid_fraction` of each label's non-test clips; each such label gets both."""
    split = np.full(len(frame), "test", dtype=object)
    rest = ~is_test
    labels = frame["label"][rest].reset_index(drop=True)
    groups = frame["group"][rest].reset_index(drop=True)
    shares = {"train": 1 - valid_fraction, "valid": valid_fraction}
    split[rest] = assign_groups(labels, groups, shares, rng)
    check_parts(labels, groups, split[rest], ("train", "valid"), source, key)
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
