"""K-fold cross-validation splits from the dataset's own folds: one split table per test fold."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from audioclf.contracts import CLIPS, SUBSET
from audioclf.io import log
from audioclf.runs import fold_name, sorted_folds
from audioclf.split.groups import (
    COPIES_KEY,
    KEY,
    check_groups_in_one_fold,
    clip_groups,
    copies_of_test,
    groups_around_test,
    split_groups,
)

FOLD_COLUMNS = ("fname", "label", "fold")


class FoldError(ValueError):
    """The clips cannot be cross-validated over their folds."""


def fold_values(clips: pd.DataFrame, source: str = "clips") -> list[str]:
    """The clips' folds, normalised, one per clip; a clip without a fold is an error."""
    missing_column = [c for c in FOLD_COLUMNS if c not in clips.columns]
    if missing_column:
        raise FoldError(
            f"{source}: missing column(s) {missing_column}; cross-validation needs "
            f"{list(FOLD_COLUMNS)} (a `fold` column in dataset.metadata)"
        )
    blank = clips["fold"].isna() | (clips["fold"].astype(str).str.strip() == "")
    if blank.any():
        names = clips.loc[blank, "fname"].tolist()
        raise FoldError(
            f"{source}: {len(names)} clip(s) have no fold, e.g. {names[:5]}; give every clip a "
            "fold in dataset.metadata, or use the random split"
        )
    return [fold_name(v) for v in clips["fold"]]


def _valid_count(n: int, valid_fraction: float) -> int:
    """Valid clips of a label with `n` non-test clips: at least one, and one left to train on."""
    if n < 2:
        return 0
    return min(n - 1, max(1, int(round(n * valid_fraction))))


def split_around_test(
    labels: pd.Series, is_test: np.ndarray, valid_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """ "test" where `is_test`, else "train", with `valid_fraction` of each label's non-test
    clips (at least one) drawn as "valid" by `rng`."""
    split = np.where(is_test, "test", "train").astype(object)
    labels = labels.reset_index(drop=True)
    for label in sorted(set(labels[~is_test])):
        rows = np.flatnonzero((~is_test) & (labels == label).to_numpy())
        chosen = rng.permutation(rows)[: _valid_count(len(rows), valid_fraction)]
        split[chosen] = "valid"
    return split.astype(str)


def fold_splits(
    clips: pd.DataFrame, valid_fraction: float = 0.2, seed: int = 0, source: str = "clips"
) -> dict[str, pd.DataFrame]:
    """fold -> `fname,label,split` of every clip: that fold's clips are test, the rest train or
    valid, valid drawn per label (`valid_fraction` of its non-test clips, at least one; seeded).
    With a `group` column, valid is whole groups of the other folds instead (near
    `valid_fraction` of each label; audioclf.split.groups), and the split keeps the column.
    With a `samples_hash` column, copies of the same audio are kept whole the same way, and
    the other folds' copies of a test clip are left out of that fold's split.

    Each fold draws from its own generator (seeded by `seed` and the fold's position), so one
    fold's split does not depend on how many clips the others have. Rows keep the clips' order.
    """
    if not 0 < valid_fraction < 1:
        raise FoldError(f"valid_fraction must be between 0 and 1, got {valid_fraction}")
    folds = fold_values(clips, source)
    names = sorted_folds(folds)
    if len(names) < 2:
        raise FoldError(
            f"{source}: cross-validation needs at least 2 folds, found {names}; "
            "add folds to dataset.metadata or use the random split"
        )
    frame = pd.DataFrame(
        {
            "fname": clips["fname"].astype(str).to_numpy(),
            "label": clips["label"].astype(str).to_numpy(),
            "fold": pd.Series(folds, dtype=object).to_numpy(),
        }
    )
    grouped = "group" in clips.columns
    if grouped:
        frame["group"] = clips["group"].astype(str).to_numpy()
        check_groups_in_one_fold(frame, source)
    hashes = None
    if "samples_hash" in clips.columns:
        hashes = clips["samples_hash"].astype(str).reset_index(drop=True)
    splits = {}
    for position, fold in enumerate(names):
        rng = np.random.default_rng([int(seed), position])
        is_test = (frame["fold"] == fold).to_numpy()
        keep = np.ones(len(frame), dtype=bool)
        if hashes is not None:
            keep = ~copies_of_test(hashes, is_test)
            if not keep.all():
                log(f"{source}, test fold {fold}: {int((~keep).sum())} clip(s) of other folds "
                    "left out, copies of a test clip")  # fmt: skip
        splits[fold] = _fold_split(
            frame[keep].reset_index(drop=True), is_test[keep],
            None if hashes is None else hashes[keep].reset_index(drop=True),
            valid_fraction, rng, f"{source}, test fold {fold}",
        )  # fmt: skip
    return splits


def _fold_split(frame, is_test, hashes, valid_fraction, rng, where: str) -> pd.DataFrame:
    """One fold's `fname,label,split` (and `group`) of `frame`'s clips: `is_test` test, the
    rest train or valid, by whole groups when there are groups or copies (`hashes`)."""
    untrainable = sorted(set(frame["label"][is_test]) - set(frame["label"][~is_test]))
    if untrainable:
        raise FoldError(
            f"{where}: label(s) {untrainable} occur only in the test fold, so no model "
            "tested on that fold could learn them; spread every label over several folds"
        )
    grouped = "group" in frame.columns
    whole = frame["group"] if grouped else None
    if hashes is not None:
        whole = split_groups(whole, hashes)
    if whole is not None:
        key = KEY if grouped else COPIES_KEY
        split = groups_around_test(frame.assign(group=whole), is_test, valid_fraction, rng,
                                   where, key)  # fmt: skip
    else:
        split = split_around_test(frame["label"], is_test, valid_fraction, rng)
    table = pd.DataFrame({"fname": frame["fname"], "label": frame["label"], "split": split})
    return table.assign(group=frame["group"]) if grouped else table


def clip_folds(subset_csv: str | os.PathLike, clips_csv: str | os.PathLike) -> pd.DataFrame:
    """The usable clips (clips.csv) with their fold from subset.csv: `fname,label,
    samples_hash,fold`, and `group` when subset.csv has one."""
    subset = SUBSET.read(subset_csv)
    clips = CLIPS.read(clips_csv)
    if "fold" not in subset.columns:
        raise FoldError(
            f"{subset_csv}: no `fold` column; cross-validation needs dataset.metadata with a "
            "fold for every clip"
        )
    folds = subset.set_index("fname")["fold"]
    table = clips[["fname", "label", "samples_hash"]].assign(
        fold=clips["fname"].map(folds).to_numpy()
    )
    groups = clip_groups(subset_csv, clips)
    return table if groups is None else table.assign(group=groups.to_numpy())
