"""ESC-50 (and its ESC-10 subset): the whole archive downloaded once, its meta/esc50.csv
read as a catalog with the official folds."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from audioclf.datasets.catalog import CATALOG_COLUMNS, CatalogError, check_folds, read_metadata
from audioclf.datasets.download.archive import extract_members
from audioclf.datasets.download.http import DownloadError, download_file
from audioclf.datasets.files import exclusion

META_CSV = Path("meta") / "esc50.csv"
COLUMNS = ["filename", "fold", "category", "esc10"]


def find_meta_csv(root: str | os.PathLike) -> Path:
    """meta/esc50.csv in `root` or in the one folder the archive unpacks to (ESC-50-master)."""
    root = Path(root)
    found = [root / META_CSV] + sorted(root.glob(f"*/{META_CSV.as_posix()}"))
    found = [path for path in found if path.is_file()]
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} copies of"
        raise CatalogError(
            f"{root}: {what} {META_CSV.as_posix()} (looked in it and one folder down); is "
            "dataset.esc50.url the ESC-50 archive? Delete the folder and rerun to unpack it again"
        )
    return found[0]


def esc50_catalog(
    root: str | os.PathLike, esc10: bool = False, folds: list[str] | None = None
) -> pd.DataFrame:
    """Every clip of ESC-50 (ESC-10 with `esc10`): fname, label (its category), fold and
    path (the archive's audio/ folder), and why a file is not read (`exclusion`: one the
    CSV names outside that folder, or not a regular file; '' for the rest). A fold outside
    `folds` is a CatalogError."""
    csv = find_meta_csv(root)
    frame = read_metadata(csv, COLUMNS)
    if esc10:
        frame = frame[frame["esc10"].str.strip().str.lower() == "true"]
        if frame.empty:
            raise CatalogError(f"{csv}: no row has esc10 True; set dataset.esc50.esc10: false")
    frame = frame.rename(columns={"filename": "fname", "category": "label"})
    frame = check_folds(frame, folds, csv)
    audio = csv.parent.parent / "audio"
    catalog = frame.assign(
        source="train",
        manually_verified="",  # ESC-50 records no per-clip label check
        path=[str(audio / name) for name in frame["fname"]],
    )
    duplicated = catalog["fname"][catalog["fname"].duplicated()].tolist()
    if duplicated:
        raise CatalogError(f"{csv}: duplicated filename(s) {duplicated[:5]}")
    catalog["exclusion"] = [exclusion(path, audio) for path in catalog["path"]]
    return catalog[CATALOG_COLUMNS + ["fold", "exclusion"]].reset_index(drop=True)


def archive_name(url: str) -> str:
    """The file the archive is kept as: the last part of its URL's path (master.zip)."""
    name = Path(urlsplit(url).path).name
    return name if name.endswith(".zip") else f"{name or 'ESC-50'}.zip"


def fetch_esc50(
    root: str | os.PathLike, dest: str | os.PathLike, url: str, md5: str | None, **http
) -> Path:
    """Download the archive into `root` (resumed from its .part file, md5-checked when `md5`
    is set, with a progress bar), unpack it into `dest`; returns its meta/esc50.csv.
    `http` takes download_file's options (retries, backoff, timeouts, progress)."""
    zip_path = Path(root) / archive_name(url)
    download_file(url, zip_path, md5, **http)
    try:
        if md5 is None:  # nothing vouches for the file: read every member's CRC first
            with zipfile.ZipFile(zip_path) as archive:
                bad = archive.testzip()
            if bad is not None:
                raise zipfile.BadZipFile(f"member {bad} fails its CRC check")
        extract_members(zip_path, dest)
    except zipfile.BadZipFile as err:
        zip_path.unlink(missing_ok=True)
        raise DownloadError(
            f"{zip_path} (from {url}): not a whole zip archive ({err}), e.g. cut off or an "
            "HTML page; deleted; rerun to download it again, or set dataset.esc50.md5 so "
            "that a download is checked before it is kept"
        ) from err
    return find_meta_csv(dest)
