"""Stratified, seeded train/valid/test split of the usable clips."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audioclf.contracts import SPLIT_NAMES as SPLITS
from audioclf.split.fractions import fractions_problem


class SplitError(ValueError):
    """The clips cannot be split as configured."""


def split_counts_for(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Per-split counts of a class of n clips: valid and test rounded, train takes the rest."""
    valid = int(round(n * fractions["valid"]))
    test = int(round(n * fractions["test"]))
    return {"train": n - valid - test, "valid": valid, "test": test}


def check_fractions(fractions: dict[str, float]) -> None:
    """A SplitError unless the train, valid and test fractions add up to 1."""
    problem = fractions_problem({s: fractions[s] for s in SPLITS})
    if problem:
        raise SplitError(f"split.fractions: {problem}")


def check_label_counts(clips: pd.DataFrame, fractions: dict[str, float]) -> None:
    """A SplitError naming the first label (sorted) whose usable clips are too few for one
    clip in each of train/valid/test at `fractions`, however the clips are grouped."""
    sizes = clips["label"].value_counts()
    for label in sorted(sizes.index):
        if min(split_counts_for(int(sizes[label]), fractions).values()) < 1:
            raise SplitError(
                f"label {label!r} has {sizes[label]} usable clip(s): too few for one clip in "
                f"each of train/valid/test with fractions {fractions}; add clips or drop the "
                "label"
            )


def stratified_split(clips: pd.DataFrame, fractions: dict[str, float], seed: int) -> pd.DataFrame:
    """`fname,label,split` for every clip; each class split within one clip of `fractions`."""
    check_fractions(fractions)
    check_label_counts(clips, fractions)
    rng = np.random.default_rng(seed)
    parts = []
    for label in sorted(clips["label"].unique()):
        names = clips.loc[clips["label"] == label, "fname"].to_numpy()
        counts = split_counts_for(len(names), fractions)
        order = rng.permutation(len(names))
        names = names[order]
        assigned = np.repeat(SPLITS, [counts[s] for s in SPLITS])
        parts.append(pd.DataFrame({"fname": names, "label": label, "split": assigned}))
    return pd.concat(parts, ignore_index=True)


def nested_train_subset(split: pd.DataFrame, fraction: float, seed: int = 0) -> pd.DataFrame:
    """`split` with only `fraction` of each label's train clips (at least one), valid and
    test untouched. Each label's train clips are ordered by one seeded permutation and the
    first ones kept, so a smaller fraction's clips are always among a larger one's."""
    if not 0 < fraction <= 1:
        raise SplitError(f"train fraction {fraction} must be in (0, 1]")
    if fraction == 1:
        return split
    keep = np.ones(len(split), dtype=bool)
    for k, label in enumerate(sorted(split["label"].astype(str).unique())):
        rows = np.flatnonzero(
            ((split["split"] == "train") & (split["label"].astype(str) == label)).to_numpy()
        )
        order = np.random.default_rng([int(seed), k]).permutation(rows.size)
        kept = max(1, int(round(fraction * rows.size))) if rows.size else 0
        keep[rows[order[kept:]]] = False
    return split[keep].reset_index(drop=True)


def count_table(split: pd.DataFrame) -> pd.DataFrame:
    """Label x split counts with totals (the seed's sample distribution table)."""
    table = pd.crosstab(split["label"], split["split"]).reindex(columns=list(SPLITS), fill_value=0)
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table.rename_axis(index="label", columns=None).reset_index()
