"""A user's folder of audio: labels from a CSV (fname,label[,fold]) or from file names."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from audioclf.datasets.catalog import (
    AUDIO_EXTENSIONS,
    CATALOG_COLUMNS,
    CatalogError,
    extensions_words,
    read_metadata,
)


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
        frame = read_metadata(metadata, ["fname", "label"])
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
        manually_verified="",  # unknown: nothing says a human checked these labels
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
        raise CatalogError(f"{root}: no audio files ({extensions_words()})")
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
