"""Cross-validation splits: each clip tested once, no clip in two splits, stratified valid."""

import pandas as pd
import pytest

from audioclf.split.folds import FoldError, clip_folds, fold_splits
from audioclf.split.stratified import SPLITS
from audioclf.split.write import fold_valid_fraction, write_split


def clips_with_folds(n_folds=4, per_label_per_fold=5, labels=("dog", "cat", "bird")):
    rows = [
        {"fname": f"{label}_{fold}_{j}.wav", "label": label, "fold": fold}
        for fold in range(1, n_folds + 1)
        for label in labels
        for j in range(per_label_per_fold)
    ]
    return pd.DataFrame(rows).sample(frac=1, random_state=0).reset_index(drop=True)


def test_every_clip_is_tested_in_exactly_one_fold():
    clips = clips_with_folds()
    splits = fold_splits(clips, valid_fraction=0.2, seed=0)
    assert list(splits) == ["1", "2", "3", "4"]
    tested = pd.concat([s.loc[s.split == "test", "fname"] for s in splits.values()])
    assert sorted(tested) == sorted(clips.fname)
    assert not tested.duplicated().any()
    for fold, split in splits.items():
        assert list(split.columns) == ["fname", "label", "split"]
        assert split["fname"].tolist() == clips["fname"].tolist()  # one row per clip, in order
        assert set(split["split"]) == set(SPLITS)
        test = set(split.fname[split.split == "test"])
        assert test == set(clips.fname[clips.fold.astype(str) == fold])


def test_valid_is_stratified_and_seeded():
    clips = clips_with_folds(n_folds=3, per_label_per_fold=10)
    first = fold_splits(clips, valid_fraction=0.25, seed=0)
    for split in first.values():
        rest = split[split.split != "test"]
        per_label = rest.groupby("label")["split"].apply(lambda s: (s == "valid").sum())
        # 20 non-test clips of each label, a quarter of them valid
        assert per_label.to_dict() == {"bird": 5, "cat": 5, "dog": 5}
    again = fold_splits(clips, valid_fraction=0.25, seed=0)
    assert all(first[k].equals(again[k]) for k in first)
    other = fold_splits(clips, valid_fraction=0.25, seed=1)
    assert not all(first[k].equals(other[k]) for k in first)


def test_a_label_with_one_clip_left_trains_on_it():
    clips = clips_with_folds(n_folds=2, per_label_per_fold=1, labels=("dog", "cat"))
    for split in fold_splits(clips, valid_fraction=0.5).values():
        assert (split.split == "train").sum() == 2 and "valid" not in set(split.split)


def test_text_folds_and_numeric_text_are_normalised():
    clips = clips_with_folds(n_folds=2).assign(fold=lambda f: f.fold.map({1: "1", 2: "2.0"}))
    assert list(fold_splits(clips)) == ["1", "2"]
    named = clips_with_folds(n_folds=2).assign(fold=lambda f: f.fold.map({1: "a", 2: "b"}))
    assert list(fold_splits(named)) == ["a", "b"]


def test_missing_fold_or_one_fold_are_errors_naming_them():
    clips = clips_with_folds()
    clips.loc[3, "fold"] = None
    with pytest.raises(FoldError, match=clips.loc[3, "fname"]):
        fold_splits(clips)
    with pytest.raises(FoldError, match="at least 2 folds"):
        fold_splits(clips_with_folds(n_folds=1))
    with pytest.raises(FoldError, match="fold"):
        fold_splits(clips_with_folds().drop(columns="fold"))
    lonely = pd.concat(
        [clips_with_folds(n_folds=2), pd.DataFrame([{"fname": "x.wav", "label": "owl", "fold": 1}])]
    )
    with pytest.raises(FoldError, match="owl"):
        fold_splits(lonely)


def test_write_one_fold_from_subset_and_clips(tmp_path):
    clips = clips_with_folds(n_folds=3)
    subset = clips.assign(source="train", manually_verified=True, path=clips.fname)
    subset.to_csv(tmp_path / "subset.csv", index=False)
    usable = clips.iloc[1:]  # one clip was excluded by preprocessing
    usable[["fname", "label"]].assign(
        original_seconds=1.0, trimmed_seconds=0.8, samples_hash=lambda f: f["fname"]
    ).to_csv(tmp_path / "clips.csv", index=False)
    joined = clip_folds(tmp_path / "subset.csv", tmp_path / "clips.csv")
    assert joined["fname"].tolist() == usable["fname"].tolist()
    assert joined["fold"].astype(int).tolist() == usable["fold"].tolist()
    fractions = {"train": 0.6, "valid": 0.15, "test": 0.25}
    assert fold_valid_fraction(fractions) == pytest.approx(0.2)
    split = write_split(
        "fold2",
        tmp_path / "subset.csv",
        tmp_path / "clips.csv",
        tmp_path / "fold2" / "split.csv",
        tmp_path / "fold2" / "split_counts.csv",
        fractions,
        seed=0,
    )
    # the fold's split, with the subset's label checks carried along
    assert split.drop(columns="manually_verified").equals(
        fold_splits(joined, valid_fraction=0.2, seed=0)["2"]
    )
    assert (split["manually_verified"] == 1).all()
    written = pd.read_csv(tmp_path / "fold2" / "split.csv")
    assert written.equals(split)
    assert set(written.fname[written.split == "test"]) == set(usable.fname[usable.fold == 2])
    counts = pd.read_csv(tmp_path / "fold2" / "split_counts.csv")
    assert counts.columns.tolist() == ["label", "train", "valid", "test", "total"]
    assert counts.iloc[-1]["total"] == len(usable)
    with pytest.raises(FoldError, match="no fold '7'"):
        write_split(
            "fold7", tmp_path / "subset.csv", tmp_path / "clips.csv", tmp_path / "s",
            tmp_path / "c", fractions,
        )  # fmt: skip
