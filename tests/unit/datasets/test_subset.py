"""Subset selection on the real FSDKaggle2018 metadata and on folders of audio."""

import pandas as pd
import pytest

from audioclf.datasets.catalog import CatalogError
from audioclf.datasets.folder import folder_catalog
from audioclf.datasets.fsdkaggle import find_meta_csvs, fsdkaggle_catalog
from audioclf.datasets.subset import select_subset, write_subset

SEED_LABELS = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]


@pytest.fixture
def catalog(fsdk_meta):
    return fsdkaggle_catalog(fsdk_meta, "resources/FSDKaggle2018")


def test_default_labels_give_the_seed_counts(catalog):
    subset = select_subset(catalog, SEED_LABELS)
    assert len(subset) == 1361
    assert subset.groupby("label").size().to_dict() == {
        "Bark": 239, "Cough": 243, "Knock": 279, "Laughter": 300, "Trumpet": 300,
    }  # fmt: skip
    assert set(subset["source"]) == {"train"}


def test_verified_only_and_test_clips(catalog):
    assert len(select_subset(catalog, SEED_LABELS, manually_verified_only=True)) == 400
    both = select_subset(catalog, SEED_LABELS, include_test_clips=True)
    assert len(both) == 1533
    assert both[both["source"] == "test"].groupby("label").size().tolist() == [28, 30, 39, 38, 37]


def test_padding_rows_never_enter(catalog):
    assert "None" not in set(catalog["label"])
    everything = select_subset(catalog, "all", include_test_clips=True)
    assert len(everything) == 9473 + 1600
    assert everything["label"].nunique() == 41


def test_paths_point_into_the_archive_folders(catalog):
    row = select_subset(catalog, SEED_LABELS, include_test_clips=True).iloc[-1]
    assert row["path"] == f"resources/FSDKaggle2018/FSDKaggle2018.audio_test/{row['fname']}"


def test_unknown_label_lists_the_available_ones(catalog):
    with pytest.raises(CatalogError, match="Barking.*it has 41 labels: Acoustic_guitar"):
        select_subset(catalog, ["Bark", "Barking"])


def test_both_test_csv_names_are_accepted(tmp_path, fsdk_meta):
    meta = tmp_path / "FSDKaggle2018.meta"
    meta.mkdir()
    (meta / "train_post_competition.csv").write_text(
        (fsdk_meta / "train_post_competition.csv").read_text()
    )
    full = pd.read_csv(fsdk_meta / "test_post_competition.csv", keep_default_na=False)
    full[full["usage"] != "Ignored"].to_csv(
        meta / "test_post_competition_scoring_clips.csv", index=False
    )
    train_csv, test_csv = find_meta_csvs(tmp_path)
    assert test_csv.name == "test_post_competition_scoring_clips.csv"
    subset = select_subset(fsdkaggle_catalog(tmp_path, tmp_path), SEED_LABELS, True)
    assert len(subset) == 1533


def test_missing_metadata_names_the_folder(tmp_path):
    with pytest.raises(CatalogError, match=f"{tmp_path}: no train_post_competition.csv"):
        find_meta_csvs(tmp_path)


def test_folder_with_label_regex(fsdd_recordings):
    catalog = folder_catalog(fsdd_recordings, label_regex=r"^(?P<label>\d)_")
    assert len(catalog) == 3000
    assert sorted(catalog["label"].unique()) == [str(d) for d in range(10)]
    assert catalog.groupby("label").size().unique().tolist() == [300]


def test_folder_with_metadata_csv_and_folds(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "b.wav").write_bytes(b"")
    csv = tmp_path / "meta.csv"
    csv.write_text("fname,label,fold\na.wav,dog,1\nb.wav,cat,2\n")
    catalog = folder_catalog(tmp_path, metadata=csv)
    assert catalog["fold"].tolist() == ["1", "2"]
    assert catalog["path"].tolist() == [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]


def test_folder_regex_errors(tmp_path):
    (tmp_path / "x_1.wav").write_bytes(b"")
    (tmp_path / "odd.wav").write_bytes(b"")
    with pytest.raises(CatalogError, match="no named group"):
        folder_catalog(tmp_path, label_regex=r"^(\w)_")
    with pytest.raises(CatalogError, match=r"1 audio file\(s\) do not match.*odd.wav"):
        folder_catalog(tmp_path, label_regex=r"^(?P<label>\w)_")
    with pytest.raises(CatalogError, match="neither dataset.metadata"):
        folder_catalog(tmp_path)


def test_write_subset_round_trips(tmp_path, fsdk_meta):
    out = tmp_path / "subset.csv"
    write_subset(out, "fsdkaggle2018", SEED_LABELS, meta_dir=fsdk_meta, audio_root="r")
    back = pd.read_csv(out)
    assert list(back.columns) == [
        "fname", "label", "source", "manually_verified", "path", "license", "freesound_id",
    ]  # fmt: skip
    assert len(back) == 1361


def test_each_clip_keeps_its_licence_and_freesound_id(catalog, fsdk_meta):
    train_csv, _ = find_meta_csvs(fsdk_meta)
    metadata = pd.read_csv(train_csv, dtype=str).set_index("fname")
    subset = select_subset(catalog, SEED_LABELS, include_test_clips=True)
    assert (subset["license"] != "").all() and (subset["freesound_id"] != "").all()
    train = subset[subset["source"] == "train"].set_index("fname")
    assert train["license"].equals(metadata.loc[train.index, "license"])
    assert train["freesound_id"].equals(metadata.loc[train.index, "freesound_id"])
