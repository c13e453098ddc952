"""The split_dataset rule's one job: write the split of one split id (a seed or a fold)."""

from __future__ import annotations

import os

import pandas as pd

from audioclf.contracts import CLIPS, SPLIT, SPLIT_COUNTS, SUBSET
from audioclf.io import log
from audioclf.runs import parse_split, parse_train_fraction
from audioclf.split.folds import FoldError, clip_folds, fold_splits
from audioclf.split.groups import COPIES_KEY, KEY, clip_groups, grouped_split, split_groups
from audioclf.split.official import official_split
from audioclf.split.stratified import (
    SplitError,
    check_fractions,
    check_label_counts,
    count_table,
    nested_train_subset,
    stratified_split,
)

METHODS = ("stratified", "folds", "official")
TEST_ON = ("all", "verified")


def fold_valid_fraction(fractions: dict[str, float]) -> float:
    """Cross-validation: the valid share of the non-test clips, as in the random split."""
    return fractions["valid"] / (fractions["train"] + fractions["valid"])


def make_split(
    split_id: str,
    subset_csv: str | os.PathLike,
    clips_csv: str | os.PathLike,
    fractions: dict[str, float],
    seed: int,
    method: str = "stratified",
) -> pd.DataFrame:
    """`fname,label,split` of every usable clip for `split_id`.

    `seed<S>`: the stratified split drawn with seed S (`seed` is not used), or with method
    `official` the dataset's own test clips as test and valid drawn from its train clips with
    seed S. `fold<K>`: fold K's clips are the test set, valid is drawn from the other folds
    with `seed`. When subset.csv has a `group` column (dataset.columns.group), whole groups
    go to train, valid and test (audioclf.split.groups), and the split keeps the column.
    Copies of the same audio (clips.csv's samples_hash) are kept in one part the same way;
    with a fixed test set, the other copies of a test clip are left out.
    """
    fold, split_seed = parse_split(split_id)
    if fold is None and method == "official":
        subset = SUBSET.read(subset_csv)
        SUBSET.require(subset, ["source"], subset_csv)
        sources = pd.Series(subset["source"].astype(str).to_numpy(), index=subset["fname"])
        return official_split(
            CLIPS.read(clips_csv), sources, fold_valid_fraction(fractions), split_seed,
            str(subset_csv),
        )  # fmt: skip
    if fold is None:
        clips = CLIPS.read(clips_csv)
        # a label too small to split at all is named as such, whatever the groups are
        check_fractions(fractions)
        check_label_counts(clips, fractions)
        groups = clip_groups(subset_csv, clips)
        whole = split_groups(groups, clips["samples_hash"])
        if whole is None:
            return stratified_split(clips, fractions, split_seed)
        # the file that made the groups: clips.csv's hashes alone, or subset.csv's groups
        source, key = (clips_csv, COPIES_KEY) if groups is None else (subset_csv, KEY)
        split = grouped_split(clips, whole, fractions, split_seed, str(source), key)
        # the split names the groups the user mapped (dataset.columns.group), if any
        return split.drop(columns="group") if groups is None else split.assign(group=groups)
    splits = fold_splits(
        clip_folds(subset_csv, clips_csv), fold_valid_fraction(fractions), seed, str(subset_csv)
    )
    if fold not in splits:
        raise FoldError(f"{subset_csv}: no fold {fold!r}; the folds are {list(splits)}")
    return splits[fold]


def with_verification(
    split: pd.DataFrame, subset_csv: str | os.PathLike | None, test_on: str = "all"
) -> pd.DataFrame:
    """`split` with subset.csv's `manually_verified` (1: a human checked the label, 0: not)
    when the dataset has it; with `test_on: verified`, the unverified test clips are left
    out (train and valid keep every clip). A dataset that records no checks (no column, or
    a folder's blank one) gets no flags, and `verified` is then an error."""
    if test_on not in TEST_ON:
        raise SplitError(f"split.test_on {test_on!r} is not one of {TEST_ON}")
    subset = SUBSET.read(subset_csv) if subset_csv is not None else pd.DataFrame()
    recorded = "manually_verified" in subset.columns and not (
        (subset["manually_verified"].astype(str).str.strip() == "").all()
    )
    if not recorded:
        if test_on == "verified":
            raise SplitError(
                f"{subset_csv}: split.test_on is verified, but the dataset has no "
                "manually_verified column; use test_on: all"
            )
        return split
    flags = subset.drop_duplicates("fname").set_index("fname")["manually_verified"]
    verified = split["fname"].map(flags.map(_flag))
    split = split.assign(manually_verified=verified.fillna(0).astype(int).to_numpy())
    if test_on == "verified":
        drop = (split["split"] == "test") & (split["manually_verified"] == 0)
        log(f"split.test_on verified: {int(drop.sum())} unverified test clip(s) left out")
        split = split[~drop].reset_index(drop=True)
    return split


def _flag(value) -> int:
    """manually_verified as 0/1, whether the CSV wrote 1/0 or True/False."""
    return int(str(value).strip().lower() in ("1", "true", "1.0"))


def write_split(
    split_id: str,
    subset_csv: str | os.PathLike,
    clips_csv: str | os.PathLike,
    out_split: str | os.PathLike,
    out_counts: str | os.PathLike,
    fractions: dict[str, float],
    seed: int = 0,
    method: str = "stratified",
    test_on: str = "all",
) -> pd.DataFrame:
    """make_split (with the clips' manually_verified flags), its train clips cut down to the
    id's `-train<P>` share, written as split.csv and its label x split count table."""
    if method not in METHODS:
        raise SplitError(f"split.method {method!r} is not one of {METHODS}")
    split = make_split(split_id, subset_csv, clips_csv, fractions, seed, method)
    split = with_verification(split, subset_csv, test_on)
    fraction = parse_train_fraction(split_id)
    if fraction < 1:
        # nested: the same permutation for every fraction of one base split
        fold, split_seed = parse_split(split_id)
        split = nested_train_subset(split, fraction, split_seed if fold is None else seed or 0)
    SPLIT.write(out_split, split)
    table = count_table(split)
    SPLIT_COUNTS.write(out_counts, table)
    log(f"{out_split} ({split_id}):\n{table.to_string(index=False)}")
    return split
