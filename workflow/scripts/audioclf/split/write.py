"""The split_dataset rule's one job: write the split of one split id (a seed or a fold)."""

from __future__ import annotations

import os

import pandas as pd

from audioclf.contracts import CLIPS, SPLIT, SPLIT_COUNTS
from audioclf.io import log
from audioclf.runs import parse_split
from audioclf.split.folds import FoldError, clip_folds, fold_splits
from audioclf.split.stratified import count_table, stratified_split


def fold_valid_fraction(fractions: dict[str, float]) -> float:
    """Cross-validation: the valid share of the non-test clips, as in the random split."""
    return fractions["valid"] / (fractions["train"] + fractions["valid"])


def make_split(
    split_id: str,
    subset_csv: str | os.PathLike,
    clips_csv: str | os.PathLike,
    fractions: dict[str, float],
    seed: int,
) -> pd.DataFrame:
    """`fname,label,split` of every usable clip for `split_id`.

    `seed<S>`: the stratified split drawn with seed S (`seed` is not used). `fold<K>`: fold
    K's clips are the test set, valid is drawn from the other folds with `seed`.
    """
    fold, split_seed = parse_split(split_id)
    if fold is None:
        return stratified_split(CLIPS.read(clips_csv), fractions, split_seed)
    splits = fold_splits(
        clip_folds(subset_csv, clips_csv), fold_valid_fraction(fractions), seed, str(subset_csv)
    )
    if fold not in splits:
        raise FoldError(f"{subset_csv}: no fold {fold!r}; the folds are {list(splits)}")
    return splits[fold]


def write_split(
    split_id: str,
    subset_csv: str | os.PathLike,
    clips_csv: str | os.PathLike,
    out_split: str | os.PathLike,
    out_counts: str | os.PathLike,
    fractions: dict[str, float],
    seed: int = 0,
) -> pd.DataFrame:
    """make_split, written as split.csv and its label x split count table."""
    split = make_split(split_id, subset_csv, clips_csv, fractions, seed)
    SPLIT.write(out_split, split)
    table = count_table(split)
    SPLIT_COUNTS.write(out_counts, table)
    log(f"{out_split} ({split_id}):\n{table.to_string(index=False)}")
    return split
