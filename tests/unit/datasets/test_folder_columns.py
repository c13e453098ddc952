"""A folder dataset's metadata CSV read through dataset.columns: UrbanSound8K's shape
(metadata/UrbanSound8K.csv, audio/fold<k>/), with path_template or a dir column."""

from __future__ import annotations

import pandas as pd
import pytest

from audioclf.config import resolve_split_method
from audioclf.datasets.benchmarks import official_folds
from audioclf.datasets.catalog import CatalogError
from audioclf.datasets.folder import folder_catalog
from audioclf.datasets.settings import catalog_settings
from audioclf.datasets.subset import write_subset
from audioclf.runs import folds_in
from httpserver import wav_bytes

US8K_COLUMNS = ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"]
CLASSES = ["dog_bark", "siren", "jackhammer"]
MAPPING = {"fname": "slice_file_name", "label": "class", "fold": "fold"}


@pytest.fixture
def urbansound(tmp_path):
    """UrbanSound8K's layout: 3 classes, 10 folds, one clip of each class per fold."""
    rows = []
    for fold in range(1, 11):
        for class_id, name in enumerate(CLASSES):
            fs_id = 1000 * fold + class_id
            rows.append([f"{fs_id}-{class_id}-0-0.wav", fs_id, 0.0, 1.0, 1, fold, class_id, name])
    meta = pd.DataFrame(rows, columns=US8K_COLUMNS)
    (tmp_path / "UrbanSound8K/metadata").mkdir(parents=True)
    meta.to_csv(tmp_path / "UrbanSound8K/metadata/UrbanSound8K.csv", index=False)
    for fname, fold in zip(meta["slice_file_name"], meta["fold"], strict=True):
        folder = tmp_path / f"UrbanSound8K/audio/fold{fold}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / fname).write_bytes(wav_bytes(0.2))
    return tmp_path / "UrbanSound8K", meta


def settings(root, **extra):
    return {"path": str(root / "audio"), "metadata": str(root / "metadata/UrbanSound8K.csv"),
            "columns": MAPPING, "path_template": "fold{fold}/{fname}", **extra}  # fmt: skip


def test_urbansound8k_by_column_mapping_gives_its_clips_labels_and_folds(urbansound, tmp_path):
    root, meta = urbansound
    subset = write_subset(
        tmp_path / "subset.csv", "folder", ["dog_bark", "siren"], settings=settings(root)
    )
    wanted = meta[meta["class"].isin(["dog_bark", "siren"])]
    assert subset["fname"].tolist() == wanted["slice_file_name"].tolist()
    assert subset["fold"].astype(str).tolist() == wanted["fold"].astype(str).tolist()
    assert all(pd.io.common.file_exists(p) for p in subset["path"])
    assert subset["path"].iloc[0].endswith("audio/fold1/1000-0-0-0.wav")
    # the Snakefile's folds, from the mapped column
    csv = root / "metadata/UrbanSound8K.csv"
    assert folds_in(csv, fold_column="fold") == [str(k) for k in range(1, 11)]
    assert folds_in(csv, [2, 10], fold_column="fold") == ["2", "10"]


def test_a_dir_column_places_each_file(urbansound, tmp_path):
    root, meta = urbansound
    csv = tmp_path / "with_dir.csv"
    meta.assign(where=[f"fold{k}" for k in meta["fold"]]).to_csv(csv, index=False)
    columns = {**MAPPING, "dir": "where"}
    catalog = folder_catalog(root / "audio", csv, columns=columns)
    assert all(pd.io.common.file_exists(p) for p in catalog["path"])


def test_bad_mappings_and_folds_are_named(urbansound):
    root, _ = urbansound
    with pytest.raises(CatalogError, match=r"UrbanSound8K.csv.*'klass'"):
        folder_catalog(**settings(root, columns={**MAPPING, "label": "klass"}))
    with pytest.raises(CatalogError, match=r"fold outside the declared folds.*\['10'\]"):
        folder_catalog(**settings(root, folds=list(range(1, 10))))
    with pytest.raises(CatalogError, match=r"path_template .*'salinece'"):
        folder_catalog(**settings(root, path_template="{salinece}/{fname}"))
    with pytest.raises(CatalogError, match="unknown role"):
        folder_catalog(**settings(root, columns={**MAPPING, "title": "x"}))
    with pytest.raises(ValueError, match="no klass column; map yours"):
        folds_in(root / "metadata/UrbanSound8K.csv", fold_column="klass")


def test_a_csv_without_mapping_still_reads_fname_label_fold(tmp_path):
    (tmp_path / "a.wav").write_bytes(wav_bytes(0.2))
    (tmp_path / "meta.csv").write_text("fname,label,fold\na.wav,x,1.0\n")
    catalog = folder_catalog(tmp_path, tmp_path / "meta.csv")
    assert catalog[["fname", "label", "fold"]].values.tolist() == [["a.wav", "x", "1"]]


def test_repeated_file_names_in_different_folders_name_the_fix(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1.wav").write_bytes(wav_bytes(0.2))
    (tmp_path / "meta.csv").write_text("fname,label,dir\n1.wav,x,a\n1.wav,y,b\n")
    with pytest.raises(CatalogError) as err:
        folder_catalog(tmp_path, tmp_path / "meta.csv", columns={"dir": "dir"})
    assert "duplicated fname(s) ['1.wav']" in str(err.value)
    assert "make the CSV's fname column unique" in str(err.value)
    assert "relative to dataset.path (fold1/1.wav)" in str(err.value)
    # the fix named works: relative paths as fnames, no dir column
    (tmp_path / "fixed.csv").write_text("fname,label\na/1.wav,x\nb/1.wav,y\n")
    catalog = folder_catalog(tmp_path, tmp_path / "fixed.csv")
    assert catalog["path"].tolist() == [str(tmp_path / "a/1.wav"), str(tmp_path / "b/1.wav")]


def test_a_missing_mapped_column_names_dataset_columns(urbansound):
    root, _ = urbansound
    with pytest.raises(CatalogError) as err:
        folder_catalog(**settings(root, columns={**MAPPING, "label": "klass"}))
    assert "missing column(s) ['klass']" in str(err.value)
    assert "Set dataset.columns.<role> to the CSV's own column name" in str(err.value)
    assert "label: 'klass'" in str(err.value)


def test_a_folder_benchmark_means_its_official_folds_and_cross_validation():
    urban = {"kind": "folder", "benchmark": "urbansound8k"}
    assert official_folds(urban) == [str(k) for k in range(1, 11)]
    assert official_folds({**urban, "folds": [1, 2]}) == ["1", "2"]  # dataset.folds wins
    assert official_folds({"kind": "folder"}) is None
    cases = [(urban, "folds"), ({"kind": "folder"}, "stratified"),
             ({"kind": "esc50"}, "folds"), ({"kind": "demo"}, "stratified")]  # fmt: skip
    for dataset, method in cases:
        config = {"dataset": dataset, "split": {"method": None}}
        resolve_split_method(config)
        assert config["split"]["method"] == method, dataset
    config = {"dataset": urban, "split": {"method": "stratified"}}
    resolve_split_method(config)  # a method set stays
    assert config["split"]["method"] == "stratified"


def test_select_subsets_params_keep_their_shape_for_configs_without_new_keys():
    """Snakemake reruns a rule whose params' values changed: a config that uses none of the
    new keys gets exactly the settings it got before them (commit 318c736)."""
    old = {"kind": "folder", "path": "/a", "metadata": "/a/m.csv", "label_regex": None,
           "columns": None, "path_template": None, "folds": None, "benchmark": None}  # fmt: skip
    assert catalog_settings(old) == {"path": "/a", "metadata": "/a/m.csv", "label_regex": None}
    assert catalog_settings({"kind": "demo"}) is None
    assert catalog_settings({"kind": "fsdkaggle2018"}) is None
    new = {**old, "columns": MAPPING, "path_template": "fold{fold}/{fname}",
           "benchmark": "urbansound8k"}  # fmt: skip
    assert catalog_settings(new) == {
        "path": "/a", "metadata": "/a/m.csv", "label_regex": None, "columns": MAPPING,
        "path_template": "fold{fold}/{fname}", "folds": [str(k) for k in range(1, 11)],
    }  # fmt: skip
    esc50 = {"kind": "esc50", "esc50": {"esc10": True}}
    assert catalog_settings(esc50) == {"esc10": True, "folds": ["1", "2", "3", "4", "5"]}


def test_a_mapped_group_column_reaches_subset_csv_as_group(urbansound, tmp_path):
    root, meta = urbansound
    folder = settings(root, columns={**MAPPING, "group": "fsID"})
    subset = write_subset(tmp_path / "subset.csv", "folder", "all", settings=folder)
    written = pd.read_csv(tmp_path / "subset.csv", dtype=str)
    assert written["group"].tolist() == meta["fsID"].astype(str).tolist()
    assert subset["group"].tolist() == written["group"].tolist()
    # a CSV column that happens to be named `group` is no group unless mapped
    meta.rename(columns={"fsID": "group"}).to_csv(tmp_path / "named.csv", index=False)
    unmapped = folder_catalog(**settings(root, metadata=str(tmp_path / "named.csv")))
    assert "group" not in unmapped.columns


def test_a_group_column_with_blanks_or_without_metadata_is_refused(urbansound, tmp_path):
    root, meta = urbansound
    meta.assign(session=["s1"] + [""] * (len(meta) - 1)).to_csv(tmp_path / "m.csv", index=False)
    columns = {**MAPPING, "group": "session"}
    with pytest.raises(CatalogError, match=r"29 row\(s\) have no group \(dataset.columns.group"):
        folder_catalog(**settings(root, metadata=str(tmp_path / "m.csv"), columns=columns))
    with pytest.raises(CatalogError, match="dataset.columns.group is set, but"):
        folder_catalog(root / "audio", label_regex="^(?P<label>.)", columns={"group": "x"})
