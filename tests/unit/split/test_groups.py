"""Group-aware splits (dataset.columns.group): no group in two parts, label shares near the
overall ones, the refusal, and FSDD's leave-one-speaker-out with speaker-disjoint valid."""

import numpy as np
import pandas as pd
import pytest

from audioclf.datasets.folder import folder_catalog
from audioclf.split.folds import fold_splits
from audioclf.split.groups import grouped_split
from audioclf.split.stratified import SplitError, stratified_split
from audioclf.split.write import write_split

FRACTIONS = {"train": 0.64, "valid": 0.16, "test": 0.20}
# the largest gap allowed between a label's share of a part and its share of all clips
SHARE_TOLERANCE = 0.05
# the largest gap allowed between a part's share of all clips and its fraction
SIZE_TOLERANCE = 0.01


def grouped_clips(n_groups: int = 80, seed: int = 0) -> pd.DataFrame:
    """Groups of 1-10 clips, each clip's label drawn a / b / c at 50 / 30 / 20%."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"g{g}_{i}.wav", str(rng.choice(["a", "b", "c"], p=[0.5, 0.3, 0.2])), f"g{g}")
        for g in range(n_groups)
        for i in range(int(rng.integers(1, 11)))
    ]
    return pd.DataFrame(rows, columns=["fname", "label", "group"])


def parts_per_group(split: pd.DataFrame) -> pd.Series:
    return split.groupby("group")["split"].nunique()


@pytest.mark.parametrize("seed", range(5))
def test_no_group_in_two_parts_and_label_shares_near_the_overall_ones(seed):
    clips = grouped_clips()
    split = grouped_split(clips, clips["group"], FRACTIONS, seed)
    assert split["fname"].tolist() == clips["fname"].tolist()
    assert split["group"].tolist() == clips["group"].tolist()
    assert (parts_per_group(split) == 1).all()
    overall = clips["label"].value_counts(normalize=True)
    shares = pd.crosstab(split["split"], split["label"], normalize="index")
    assert (shares - overall).abs().to_numpy().max() <= SHARE_TOLERANCE, shares
    sizes = split["split"].value_counts(normalize=True)
    for part, fraction in FRACTIONS.items():
        assert abs(sizes[part] - fraction) <= SIZE_TOLERANCE, sizes


def test_the_grouped_split_is_seeded():
    clips = grouped_clips()
    first = grouped_split(clips, clips["group"], FRACTIONS, 3)
    assert first.equals(grouped_split(clips, clips["group"], FRACTIONS, 3))
    assert not first.equals(grouped_split(clips, clips["group"], FRACTIONS, 4))


def test_groups_that_leave_a_label_without_clips_in_a_part_are_refused():
    clips = grouped_clips()
    rare = pd.DataFrame({"fname": ["r1.wav", "r2.wav"], "label": "rare", "group": ["x", "y"]})
    clips = pd.concat([clips, rare], ignore_index=True)
    with pytest.raises(SplitError) as err:
        grouped_split(clips, clips["group"], FRACTIONS, 0, "subset.csv")
    message = str(err.value)
    assert message.startswith("subset.csv: dataset.columns.group:")
    assert "label(s) ['rare']" in message and "'rare', in 2 group(s), has none in" in message


def clips_in_folds(n_folds: int = 4, groups_per_fold: int = 6) -> pd.DataFrame:
    """Groups nested in folds: each group's clips lie in one fold."""
    clips = grouped_clips(n_folds * groups_per_fold, seed=1)
    number = clips["group"].str[1:].astype(int)
    return clips.assign(fold=(number % n_folds + 1).astype(str))


def test_folds_take_valid_by_whole_groups_outside_the_test_fold():
    clips = clips_in_folds()
    for fold, split in fold_splits(clips, valid_fraction=0.2, seed=0).items():
        assert list(split.columns) == ["fname", "label", "split", "group"]
        in_fold = (clips["fold"] == fold).to_numpy()
        assert (split["split"][in_fold] == "test").all()
        assert set(split["split"][~in_fold]) == {"train", "valid"}
        assert (parts_per_group(split) == 1).all()
        rest = split[~in_fold]
        assert set(rest.label[rest.split == "valid"]) == set(rest.label)


def test_groups_across_folds_and_a_label_in_one_group_are_refused():
    clips = clips_in_folds()
    crossing = clips.assign(group=clips["group"].where(clips.index != 0, "g1"))
    with pytest.raises(SplitError, match=r"dataset.columns.group: 1 group\(s\) lie in more"):
        fold_splits(crossing, source="subset.csv")
    lone = pd.DataFrame([{"fname": f"o{i}.wav", "label": "owl", "group": "z", "fold": "1"}
                         for i in range(3)] + [{"fname": "o.wav", "label": "owl", "group": "w",
                                                "fold": "2"}])  # fmt: skip
    with pytest.raises(SplitError, match=r"test fold 1: dataset.columns.group.*\['owl'\]"):
        fold_splits(pd.concat([clips, lone], ignore_index=True), source="subset.csv")


def write_inputs(tmp_path, frame: pd.DataFrame) -> tuple:
    """subset.csv (the catalog's columns) and clips.csv (every clip usable)."""
    frame.to_csv(tmp_path / "subset.csv", index=False)
    frame[["fname", "label"]].assign(
        original_seconds=1.0, trimmed_seconds=0.8, samples_hash=lambda f: f["fname"]
    ).to_csv(tmp_path / "clips.csv", index=False)
    return tmp_path / "subset.csv", tmp_path / "clips.csv"


def test_without_a_group_column_the_split_is_the_stratified_one(tmp_path):
    clips = grouped_clips().drop(columns="group")
    subset = clips.assign(source="train", manually_verified="", path=clips["fname"])
    inputs = write_inputs(tmp_path, subset)
    split = write_split("seed2", *inputs, tmp_path / "s.csv", tmp_path / "c.csv", FRACTIONS)
    assert split.equals(stratified_split(clips, FRACTIONS, 2))


def speaker_csv(recordings, out_csv) -> None:
    rows = [
        {"fname": p.name, "label": p.stem.split("_")[0], "speaker": p.stem.split("_")[1]}
        for p in sorted(recordings.glob("*.wav"))
    ]
    pd.DataFrame(rows).to_csv(out_csv, index=False)


def test_fsdd_speaker_as_fold_and_group_is_leave_one_speaker_out(fsdd_recordings, tmp_path):
    speaker_csv(fsdd_recordings, tmp_path / "speakers.csv")
    columns = {"fold": "speaker", "group": "speaker"}
    catalog = folder_catalog(fsdd_recordings, tmp_path / "speakers.csv", columns=columns)
    inputs = write_inputs(tmp_path, catalog)
    speakers = sorted(set(catalog["group"]))
    assert len(speakers) == 6
    for speaker in speakers:
        out = tmp_path / speaker
        split = write_split(
            f"fold{speaker}", *inputs, out / "split.csv", out / "counts.csv", FRACTIONS
        )
        by_part = split.groupby("split")["group"].unique()
        assert list(by_part["test"]) == [speaker]
        assert len(by_part["valid"]) == 1 and speaker not in by_part["valid"]
        assert (parts_per_group(split) == 1).all()
        written = pd.read_csv(out / "split.csv", dtype=str)
        assert written["group"].tolist() == split["group"].tolist()


def test_fsdd_speaker_as_group_alone_keeps_speakers_apart(fsdd_recordings, tmp_path):
    speaker_csv(fsdd_recordings, tmp_path / "speakers.csv")
    catalog = folder_catalog(
        fsdd_recordings, tmp_path / "speakers.csv", columns={"group": "speaker"}
    )
    split = write_split("seed0", *write_inputs(tmp_path, catalog), tmp_path / "s.csv",
                        tmp_path / "c.csv", FRACTIONS)  # fmt: skip
    assert split.groupby("split")["group"].nunique().to_dict() == {
        "test": 1, "train": 4, "valid": 1,
    }  # fmt: skip
    assert (parts_per_group(split) == 1).all()
