"""Copies of the same audio in a split (issue 30): the clips of one samples_hash are one
group, so none spans parts; with a fixed test set, the other copies of a test clip are left
out of train and valid. Through write_split, the function the split_dataset rule calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audioclf.split.groups import split_groups
from audioclf.split.stratified import SplitError, stratified_split
from audioclf.split.write import write_split

FRACTIONS = {"train": 0.64, "valid": 0.16, "test": 0.20}


def clips_with_copies(seed: int = 0, n: int = 60) -> pd.DataFrame:
    """`n` clips per label a / b / c; a quarter of them copies of another clip of theirs
    (groups of 2 to 4 equal samples_hash), in folds 1-5 drawn at random."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in "abc":
        hashes = [f"{label}{i}" for i in range(n)]
        for i in range(n // 4):
            hashes[i] = f"{label}{int(rng.integers(n // 4, n // 4 + 5))}"
        rows += [(f"{label}_{i}.wav", label, h) for i, h in enumerate(hashes)]
    frame = pd.DataFrame(rows, columns=["fname", "label", "samples_hash"])
    return frame.assign(fold=rng.integers(1, 6, len(frame)), source="train", path="x")


def write_inputs(tmp_path, frame: pd.DataFrame, subset_columns=("fname", "label", "path")):
    frame[list(subset_columns)].to_csv(tmp_path / "subset.csv", index=False)
    frame[["fname", "label", "samples_hash"]].assign(
        original_seconds=1.0, trimmed_seconds=0.8
    ).to_csv(tmp_path / "clips.csv", index=False)


def split_of(tmp_path, split_id: str, method: str = "stratified") -> pd.DataFrame:
    return write_split(
        split_id, tmp_path / "subset.csv", tmp_path / "clips.csv", tmp_path / "split.csv",
        tmp_path / "counts.csv", FRACTIONS, seed=0, method=method,
    )  # fmt: skip


def parts_of_each_copy(split: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    placed = split.merge(frame[["fname", "samples_hash"]], on="fname")
    return placed.groupby("samples_hash")["split"].nunique()


@pytest.mark.parametrize("seed", range(4))
def test_no_copy_spans_parts_of_a_stratified_split(tmp_path, seed):
    frame = clips_with_copies(seed)
    write_inputs(tmp_path, frame)
    split = split_of(tmp_path, f"seed{seed}")
    assert sorted(split["fname"]) == sorted(frame["fname"])
    assert (parts_of_each_copy(split, frame) == 1).all()
    assert list(split.columns) == ["fname", "label", "split"]  # no group the user mapped
    shares = split["split"].value_counts(normalize=True)
    assert all(abs(shares[part] - share) < 0.03 for part, share in FRACTIONS.items()), shares


def test_without_copies_the_split_is_the_stratified_one(tmp_path):
    frame = clips_with_copies().assign(samples_hash=lambda f: f["fname"])
    write_inputs(tmp_path, frame)
    split = split_of(tmp_path, "seed2")
    expected = stratified_split(frame[["fname", "label"]], FRACTIONS, 2)
    assert split.equals(expected)


def test_copies_join_the_groups_they_are_in(tmp_path):
    frame = clips_with_copies()
    frame["group"] = [f"speaker{i % 20}" for i in range(len(frame))]
    groups = split_groups(frame["group"], frame["samples_hash"])
    joined = pd.DataFrame({"group": frame["group"], "whole": groups, "hash": frame["samples_hash"]})
    assert (joined.groupby("group")["whole"].nunique() == 1).all()
    assert (joined.groupby("hash")["whole"].nunique() == 1).all()
    assert split_groups(frame["group"], frame["fname"]).equals(frame["group"])
    assert split_groups(None, frame["fname"]) is None


def test_copies_and_mapped_groups_stay_whole_and_the_split_names_the_mapped_group(tmp_path):
    frame = clips_with_copies(n=200)
    frame["group"] = [f"speaker{i % 100}" for i in range(len(frame))]
    write_inputs(tmp_path, frame, ("fname", "label", "path", "group"))
    split = split_of(tmp_path, "seed1")
    assert (parts_of_each_copy(split, frame) == 1).all()
    assert (split.groupby("group")["split"].nunique() == 1).all()
    assert split["group"].tolist() == frame["group"].tolist()


def test_a_test_fold_leaves_out_the_other_folds_copies_of_its_clips(tmp_path):
    frame = clips_with_copies()
    write_inputs(tmp_path, frame, ("fname", "label", "path", "fold"))
    split = split_of(tmp_path, "fold2", method="folds")
    placed = split.merge(frame[["fname", "samples_hash", "fold"]], on="fname")
    tested = set(placed.loc[placed["split"] == "test", "samples_hash"])
    trained = placed[placed["split"] != "test"]
    assert tested and tested.isdisjoint(trained["samples_hash"])
    assert (trained.groupby("samples_hash")["split"].nunique() == 1).all()
    in_other_folds = frame[(frame["fold"] != 2) & frame["samples_hash"].isin(tested)]
    assert len(in_other_folds) > 0
    assert set(in_other_folds["fname"]).isdisjoint(split["fname"])
    assert len(split) == len(frame) - len(in_other_folds)


def test_the_official_split_leaves_out_train_copies_of_test_clips(tmp_path):
    frame = clips_with_copies()
    frame["source"] = np.where(frame["fold"] == 1, "test", "train")
    write_inputs(tmp_path, frame, ("fname", "label", "path", "source"))
    split = split_of(tmp_path, "seed0", method="official")
    placed = split.merge(frame[["fname", "samples_hash", "source"]], on="fname")
    assert (placed["split"] == "test").eq(placed["source"] == "test").all()
    tested = set(placed.loc[placed["split"] == "test", "samples_hash"])
    assert tested.isdisjoint(placed.loc[placed["split"] != "test", "samples_hash"])
    assert (parts_of_each_copy(split, frame) == 1).all()
    left_out = frame[(frame["source"] == "train") & frame["samples_hash"].isin(tested)]
    assert len(left_out) > 0 and set(left_out["fname"]).isdisjoint(split["fname"])


def labelled(counts: dict[str, int], copies: dict[str, int] | None = None) -> pd.DataFrame:
    """`counts[label]` clips of each label, the first `copies[label]` of them all the same
    audio (one samples_hash), the others distinct."""
    rows = []
    for label, n in counts.items():
        same = (copies or {}).get(label, 0)
        rows += [(f"{label}_{i}.wav", label, f"{label}{max(i, same - 1)}") for i in range(n)]
    frame = pd.DataFrame(rows, columns=["fname", "label", "samples_hash"])
    return frame.assign(path="x")


def test_a_label_too_small_to_split_is_named_as_such_whatever_copies_other_labels_have(
    tmp_path,
):
    """One copy pair in label a must not turn b's plain shortage into advice about groups."""
    write_inputs(tmp_path, labelled({"a": 50, "b": 3}, copies={"a": 2}))
    with pytest.raises(SplitError) as err:
        split_of(tmp_path, "seed0")
    message = str(err.value)
    assert message.startswith("label 'b' has 3 usable clip(s): too few for one clip in each")
    assert "copies" not in message and "group" not in message


def test_copies_that_leave_too_few_distinct_clips_are_named_as_such(tmp_path):
    """Label c has 5 clips (enough for the fractions) but 2 distinct sounds: the copies
    stay in one part, so some part has none; the message says so, not 'map a column'."""
    write_inputs(tmp_path, labelled({"a": 20, "c": 5}, copies={"c": 4}))
    with pytest.raises(SplitError) as err:
        split_of(tmp_path, "seed0")
    message = str(err.value)
    assert message.startswith(
        f"{tmp_path / 'clips.csv'}: too few distinct clips for label(s) ['c']"
    )
    assert "'c' has 2 distinct clip(s), none in" in message
    assert "copies of the same audio (clips.csv samples_hash) stay in one part" in message
    assert "map a column" not in message


def test_mapped_groups_that_leave_a_label_without_clips_keep_the_advice_on_groups(tmp_path):
    frame = labelled({"a": 20, "c": 5}).assign(group=lambda f: f["fname"])
    frame.loc[frame["label"] == "c", "group"] = ["g1", "g1", "g1", "g2", "g2"]
    write_inputs(tmp_path, frame, ("fname", "label", "path", "group"))
    with pytest.raises(SplitError) as err:
        split_of(tmp_path, "seed0")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'subset.csv'}: dataset.columns.group: whole groups")
    assert "'c', in 2 group(s), has none in" in message and "map a column" in message
