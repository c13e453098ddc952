"""ESC-50 against a real local HTTP server: the whole archive downloaded (resumed,
md5-checked), unpacked, read as a catalog with the official folds; bad input named."""

from __future__ import annotations

import io
import os
import zipfile

import pandas as pd
import pytest

from audioclf.datasets.catalog import CatalogError
from audioclf.datasets.download.http import DownloadError
from audioclf.datasets.esc50 import archive_name, esc50_catalog, fetch_esc50
from audioclf.datasets.subset import write_subset
from audioclf.split.folds import fold_splits
from esc50 import CLASSES, build_esc50, serve, url

CLASS_NAMES = [name for name, _, _ in CLASSES]

QUICK = {"retries": 1, "backoff": 0.01, "progress": False}


@pytest.fixture(scope="module")
def esc50():
    return build_esc50()


def fetched(esc50, tmp_path):
    with serve(esc50) as server:
        csv = fetch_esc50(tmp_path, tmp_path / "data", url(server), esc50["md5"], **QUICK)
        return csv, server.requests


def test_the_archive_is_downloaded_checked_unpacked_and_kept(esc50, tmp_path):
    csv, requests = fetched(esc50, tmp_path)
    assert csv == tmp_path / "data/ESC-50-master/meta/esc50.csv" and requests == 1
    assert (tmp_path / "master.zip").read_bytes() == esc50["zip"]
    audio = sorted(p.name for p in (tmp_path / "data/ESC-50-master/audio").iterdir())
    assert audio == sorted(esc50["rows"]["filename"])
    # a second run finds the archive (md5 checked) and its members: nothing is fetched
    _, again = fetched(esc50, tmp_path)
    assert again == 0


def test_a_partial_download_is_resumed(esc50, tmp_path):
    (tmp_path / "master.zip.part").write_bytes(esc50["zip"][:5000])
    with serve(esc50) as server:
        fetch_esc50(tmp_path, tmp_path / "data", url(server), esc50["md5"], **QUICK)
        assert server.log[-1].range == "bytes=5000-"
        assert server.bytes_sent == len(esc50["zip"]) - 5000
    assert (tmp_path / "master.zip").read_bytes() == esc50["zip"]


def test_a_wrong_md5_deletes_the_download_and_says_so(esc50, tmp_path):
    with serve(esc50) as server, pytest.raises(DownloadError, match="md5 mismatch"):
        fetch_esc50(tmp_path, tmp_path / "data", url(server), "0" * 32, **QUICK)
    assert not list(tmp_path.glob("master.zip*")) and not (tmp_path / "data").exists()


def corrupt_member(data: bytes) -> tuple[bytes, str]:
    """The archive with one byte of its last audio member's data flipped, and that name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.infolist()[-1]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    at = start + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :], info.filename


def test_a_cut_off_archive_without_md5_is_deleted_and_named_then_fetched_again(esc50, tmp_path):
    """md5 null (the default) vouches for nothing: a cut-off archive must not be kept."""
    cut = {**esc50, "zip": esc50["zip"][: len(esc50["zip"]) // 2]}
    with serve(cut) as server, pytest.raises(DownloadError) as err:
        fetch_esc50(tmp_path, tmp_path / "data", url(server), None, **QUICK)
    assert f"{tmp_path / 'master.zip'} (from {url(server)}): not a whole zip archive" in str(
        err.value
    )
    assert "deleted; rerun to download it again, or set dataset.esc50.md5" in str(err.value)
    assert not list(tmp_path.glob("master.zip*"))
    with serve(esc50) as server:  # the rerun downloads it again
        csv = fetch_esc50(tmp_path, tmp_path / "data", url(server), None, **QUICK)
        assert server.requests == 1 and csv.is_file()


@pytest.mark.parametrize("what", ["html", "bad member"])
def test_a_broken_archive_in_place_is_deleted_and_named(esc50, tmp_path, what):
    if what == "html":
        data, named = b"<!DOCTYPE html><html>rate limited</html>", "File is not a zip file"
    else:
        data, member = corrupt_member(esc50["zip"])
        named = f"member {member} fails its CRC check"
    (tmp_path / "master.zip").write_bytes(data)
    with pytest.raises(DownloadError, match="not a whole zip archive") as err:
        fetch_esc50(tmp_path, tmp_path / "data", "http://127.0.0.1:9/master.zip", None, **QUICK)
    assert named in str(err.value) and "deleted; rerun" in str(err.value)
    assert not (tmp_path / "master.zip").exists()


def test_the_catalog_holds_every_clip_with_its_official_fold(esc50, tmp_path):
    fetched(esc50, tmp_path)
    catalog = esc50_catalog(tmp_path / "data", folds=["1", "2", "3", "4", "5"])
    rows = esc50["rows"]
    assert catalog["fname"].tolist() == rows["filename"].tolist()
    assert catalog["label"].tolist() == rows["category"].tolist()
    assert catalog["fold"].tolist() == rows["fold"].astype(str).tolist()
    assert all(p.endswith(f"ESC-50-master/audio/{f}") for p, f in zip(catalog["path"],
               catalog["fname"], strict=True))  # fmt: skip
    assert (catalog["exclusion"] == "").all()
    esc10 = esc50_catalog(tmp_path / "data", esc10=True)
    assert sorted(esc10["label"].unique()) == ["dog", "rain", "rooster"]
    assert len(esc10) == int(rows["esc10"].sum())


def test_every_clip_is_in_exactly_one_test_fold(esc50, tmp_path):
    fetched(esc50, tmp_path)
    catalog = esc50_catalog(tmp_path / "data")
    splits = fold_splits(catalog[["fname", "label", "fold"]], valid_fraction=0.2, seed=0)
    assert list(splits) == ["1", "2", "3", "4", "5"]
    tested = pd.concat([s[s["split"] == "test"] for s in splits.values()])
    assert sorted(tested["fname"]) == sorted(catalog["fname"])
    for fold, split in splits.items():
        # valid is drawn from the training folds, stratified: 20% of each label's 8 clips
        valid = split[split["split"] == "valid"]
        assert not set(valid["fname"]) & set(catalog[catalog["fold"] == fold]["fname"])
        assert valid["label"].value_counts().to_dict() == dict.fromkeys(CLASS_NAMES, 2)


def test_bad_metadata_is_named(tmp_path):
    rows = build_esc50()["rows"]
    meta = tmp_path / "ESC-50-master/meta"
    meta.mkdir(parents=True)
    rows.drop(columns=["category"]).to_csv(meta / "esc50.csv", index=False)
    with pytest.raises(CatalogError, match=r"esc50.csv.*category"):
        esc50_catalog(tmp_path)
    rows.assign(fold=rows["fold"].replace(5, 6)).to_csv(meta / "esc50.csv", index=False)
    with pytest.raises(CatalogError, match=r"fold outside the declared folds .*'6'"):
        esc50_catalog(tmp_path, folds=["1", "2", "3", "4", "5"])
    (meta / "esc50.csv").unlink()
    with pytest.raises(CatalogError, match="no meta/esc50.csv"):
        esc50_catalog(tmp_path)


def test_a_listed_file_that_is_absent_is_kept_in_the_subset_for_preprocessing_to_list(
    tmp_path,
):
    esc50 = build_esc50(drop=("1-100010-A-0.wav",))
    fetched(esc50, tmp_path)
    subset = write_subset(
        tmp_path / "subset.csv", "esc50", "all", meta_dir=tmp_path / "data",
        settings={"esc10": False, "folds": ["1", "2", "3", "4", "5"]},
    )  # fmt: skip
    # preprocess_audio lists it in excluded.csv as "file missing" (tests/unit/preprocess)
    missing = subset[subset["fname"] == "1-100010-A-0.wav"]["path"].iloc[0]
    assert len(subset) == len(esc50["rows"]) and not pd.io.common.file_exists(missing)


def test_the_archive_keeps_its_urls_file_name():
    assert archive_name("https://github.com/karoldvl/ESC-50/archive/master.zip") == "master.zip"
    assert archive_name("http://host/esc50") == "esc50.zip"


def test_a_csv_row_outside_the_audio_folder_is_excluded_unread(esc50, tmp_path):
    fetched(esc50, tmp_path)
    (meta,) = (tmp_path / "data").rglob("esc50.csv")
    rows = pd.read_csv(meta)
    rows.loc[0, "filename"] = "../../../outside.wav"
    rows.to_csv(meta, index=False)
    catalog = esc50_catalog(tmp_path / "data")
    resolved = os.path.realpath(tmp_path / "outside.wav")
    assert catalog["exclusion"].iloc[0] == f"outside the dataset folder (resolves to {resolved})"
    assert (catalog["exclusion"].iloc[1:] == "").all()
