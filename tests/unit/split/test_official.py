"""The dataset's own test set (split.method official) and label checks carried into
split.csv (split.test_on), on the real FSDKaggle2018 metadata."""

import pandas as pd
import pytest

from audioclf.contracts import SPLIT, SUBSET
from audioclf.datasets.fsdkaggle import fsdkaggle_catalog
from audioclf.datasets.subset import select_subset
from audioclf.split.stratified import SplitError
from audioclf.split.write import write_split

SEED_LABELS = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
FRACTIONS = {"train": 0.64, "valid": 0.16, "test": 0.20}


@pytest.fixture
def real_subset(fsdk_meta, tmp_path):
    """The default labels' train and scored test rows, every clip taken as usable."""
    catalog = fsdkaggle_catalog(fsdk_meta, "resources/FSDKaggle2018")
    subset = select_subset(catalog, SEED_LABELS, include_test_clips=True)
    SUBSET.write(tmp_path / "subset.csv", subset)
    clips = subset[["fname", "label"]].assign(
        original_seconds=1.0, trimmed_seconds=1.0, samples_hash=lambda f: f["fname"]
    )
    clips.to_csv(tmp_path / "clips.csv", index=False)
    return tmp_path, subset


def split_of(folder, method="official", test_on="all", split_id="seed0"):
    return write_split(
        split_id, folder / "subset.csv", folder / "clips.csv", folder / f"{split_id}.csv",
        folder / f"{split_id}_counts.csv", FRACTIONS, method=method, test_on=test_on,
    )  # fmt: skip


def test_official_split_tests_on_the_datasets_own_172_test_clips(real_subset):
    folder, subset = real_subset
    split = split_of(folder)
    test = split[split["split"] == "test"]
    assert len(test) == 172 and len(split) - len(test) == 1361
    assert set(test["fname"]) == set(subset[subset["source"] == "test"]["fname"])
    # valid: a fifth of each label's train clips (64/16 of train + valid), seeded
    valid = split[split["split"] == "valid"].groupby("label").size()
    trains = subset[subset["source"] == "train"].groupby("label").size()
    assert (valid - (trains * 0.2).round()).abs().max() <= 1
    assert split_of(folder).equals(split)
    assert not split_of(folder, split_id="seed1").equals(split)
    # the scored test clips are all human-verified; 961 of the 1,361 train clips are not
    assert (test["manually_verified"] == 1).all()
    assert int((split["manually_verified"] == 0).sum()) == 1361 - 400
    assert SPLIT.read(folder / "seed0.csv")["manually_verified"].sum() == 400 + 172


def test_test_on_verified_leaves_the_unverified_test_clips_out(real_subset):
    folder, subset = real_subset
    everything = split_of(folder, method="stratified")
    verified = split_of(folder, method="stratified", test_on="verified")
    kept = everything[~((everything["split"] == "test") & (everything["manually_verified"] == 0))]
    assert verified.reset_index(drop=True).equals(kept.reset_index(drop=True))
    tests = verified[verified["split"] == "test"]
    assert len(tests) < len(everything[everything["split"] == "test"])
    assert (tests["manually_verified"] == 1).all()
    # train and valid keep every clip, verified or not
    for name in ("train", "valid"):
        ours = verified[verified["split"] == name].reset_index(drop=True)
        assert ours.equals(everything[everything["split"] == name].reset_index(drop=True))


def test_official_split_without_test_clips_or_flags_fails_naming_the_fix(tmp_path):
    subset = pd.DataFrame(
        {"fname": [f"{i}.wav" for i in range(8)], "label": ["a", "b"] * 4, "path": "x",
         "source": "train"}
    )  # fmt: skip
    SUBSET.write(tmp_path / "subset.csv", subset)
    subset[["fname", "label"]].assign(
        original_seconds=1.0, trimmed_seconds=1.0, samples_hash=lambda f: f["fname"]
    ).to_csv(tmp_path / "clips.csv", index=False)
    with pytest.raises(SplitError, match="found no test clips"):
        split_of(tmp_path)
    with pytest.raises(SplitError, match="no manually_verified column; use test_on: all"):
        split_of(tmp_path, method="stratified", test_on="verified")


def test_a_folder_dataset_claims_no_label_checks(fsdd_recordings, tmp_path):
    """A folder's labels come from file names or the user's CSV: nothing says a human
    checked them, so split.csv gets no manually_verified and verified-only is refused."""
    from audioclf.datasets.catalog import CatalogError
    from audioclf.datasets.folder import folder_catalog

    catalog = folder_catalog(fsdd_recordings, label_regex=r"^(?P<label>\d)_")
    with pytest.raises(CatalogError, match="records no label checks"):
        select_subset(catalog, "all", manually_verified_only=True)
    subset = select_subset(catalog, "all")
    SUBSET.write(tmp_path / "subset.csv", subset)
    clips = subset[["fname", "label"]].assign(
        original_seconds=1.0, trimmed_seconds=1.0, samples_hash=lambda f: f["fname"]
    )
    clips.to_csv(tmp_path / "clips.csv", index=False)
    split = split_of(tmp_path, method="stratified")
    assert "manually_verified" not in split.columns
    with pytest.raises(SplitError, match="no manually_verified column"):
        split_of(tmp_path, method="stratified", test_on="verified")
