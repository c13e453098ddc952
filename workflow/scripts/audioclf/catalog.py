"""Catalogs: every clip a dataset offers, as one table (fname, label, source, path, ...)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

TRAIN_CSV = "train_post_competition.csv"
# The Zenodo meta archive ships the scored test rows under the first name; the full
# Kaggle table (with None/Ignored padding rows) has the second.
TEST_CSVS = ("test_post_competition_scoring_clips.csv", "test_post_competition.csv")
META_DIR = "FSDKaggle2018.meta"
AUDIO_DIRS = {"train": "FSDKaggle2018.audio_train", "test": "FSDKaggle2018.audio_test"}
AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"}
CATALOG_COLUMNS = ["fname", "label", "source", "manually_verified", "path"]


class CatalogError(ValueError):
    """The dataset's metadata cannot be read as configured."""


def find_meta_csvs(meta_dir: str | os.PathLike) -> tuple[Path, Path | None]:
    """The train CSV and the test CSV (either published name) in `meta_dir` or its meta folder."""
    meta_dir = Path(meta_dir)
    for folder in (meta_dir, meta_dir / META_DIR):
        train = folder / TRAIN_CSV
        if train.is_file():
            tests = [folder / name for name in TEST_CSVS if (folder / name).is_file()]
            return train, (tests[0] if tests else None)
    raise CatalogError(
        f"{meta_dir}: no {TRAIN_CSV} found (looked in {meta_dir} and {meta_dir / META_DIR}); "
        "delete the folder and rerun to download the metadata again"
    )


def _read_csv(path: Path, required: list[str]) -> pd.DataFrame:
    # keep_default_na=False: the padding rows' label is the literal string "None".
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CatalogError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)}"
        )
    return frame


def fsdkaggle_catalog(
    meta_dir: str | os.PathLike, audio_root: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Train and scored test clips of an FSDKaggle2018-shaped dataset (padding rows dropped).

    Audio paths point into `audio_root`'s archive folders; by default the folder that holds
    the meta folder, as the archives unpack side by side.
    """
    train_csv, test_csv = find_meta_csvs(meta_dir)
    if audio_root is None:
        meta_folder = train_csv.parent
        audio_root = meta_folder.parent if meta_folder.name == META_DIR else meta_folder
    audio_root = Path(audio_root)
    train = _read_csv(train_csv, ["fname", "label", "manually_verified"])
    train = train.assign(source="train", manually_verified=train["manually_verified"] == "1")
    parts = [train]
    if test_csv is not None:
        test = _read_csv(test_csv, ["fname", "label"])
        if "usage" in test.columns:
            test = test[test["usage"] != "Ignored"]
        test = test[test["label"] != "None"]
        parts.append(test.assign(source="test", manually_verified=True))
    catalog = pd.concat(parts, ignore_index=True)
    catalog["path"] = [
        str(audio_root / AUDIO_DIRS[src] / name)
        for src, name in zip(catalog["source"], catalog["fname"], strict=True)
    ]
    return catalog[CATALOG_COLUMNS]


def folder_catalog(
    path: str | os.PathLike,
    metadata: str | os.PathLike | None = None,
    label_regex: str | None = None,
) -> pd.DataFrame:
    """A user's folder of audio: labels from a CSV (fname,label[,fold]) or from file names."""
    root = Path(path)
    if not root.is_dir():
        raise CatalogError(f"dataset.path: {root} is not a folder; set it to your audio folder")
    if metadata:
        frame = _read_csv(Path(metadata), ["fname", "label"])
        keep = ["fname", "label"] + (["fold"] if "fold" in frame.columns else [])
        frame = frame[keep]
    elif label_regex:
        frame = _labels_from_names(root, label_regex)
    else:
        raise CatalogError(
            "dataset.kind is folder but neither dataset.metadata (a CSV with fname,label) "
            "nor dataset.label_regex (with a named group 'label') is set"
        )
    frame = frame.assign(
        source="train",
        manually_verified=True,
        path=[str(root / name) for name in frame["fname"]],
    )
    duplicated = frame["fname"][frame["fname"].duplicated()].tolist()
    if duplicated:
        raise CatalogError(f"{metadata or root}: duplicated fname(s) {duplicated[:5]}")
    extra = ["fold"] if "fold" in frame.columns else []
    return frame[CATALOG_COLUMNS + extra].reset_index(drop=True)


def _labels_from_names(root: Path, label_regex: str) -> pd.DataFrame:
    try:
        pattern = re.compile(label_regex)
    except re.error as err:
        raise CatalogError(f"dataset.label_regex {label_regex!r} is not a regex: {err}") from err
    if "label" not in pattern.groupindex:
        raise CatalogError(f"dataset.label_regex {label_regex!r} has no named group (?P<label>...)")
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
    )
    if not files:
        raise CatalogError(f"{root}: no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})")
    rows, unmatched = [], []
    for name in files:
        match = pattern.search(Path(name).name)
        if match:
            rows.append((name, match.group("label")))
        else:
            unmatched.append(name)
    if unmatched:
        raise CatalogError(
            f"{root}: {len(unmatched)} audio file(s) do not match dataset.label_regex "
            f"{label_regex!r}, e.g. {unmatched[:5]}; fix the regex or move them out"
        )
    return pd.DataFrame(rows, columns=["fname", "label"])
