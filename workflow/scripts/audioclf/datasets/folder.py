"""A user's folder of audio: labels from a CSV (its columns mapped to fname, label, fold,
dir and group) or from file names."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pandas as pd

from audioclf.datasets.catalog import CATALOG_COLUMNS, CatalogError, check_folds, read_metadata
from audioclf.datasets.files import (
    audio_extensions,
    check_path_template,
    exclusion,
    extensions_words,
    walk_audio,
)

ROLES = ("fname", "label", "fold", "dir", "group")


def folder_catalog(
    path: str | os.PathLike,
    metadata: str | os.PathLike | None = None,
    label_regex: str | None = None,
    columns: dict | None = None,
    path_template: str | None = None,
    folds: list | None = None,
) -> pd.DataFrame:
    """A user's folder of audio: labels from a CSV or from file names.

    `columns` maps each role (fname, label, and optionally fold, dir and group) to the CSV's
    own column name (default: the role's name; a fold column is used when present, a group
    column only when mapped: the clips of one group never go to two parts of a split). A clip's
    file is `path/<path_template>` (fields: the roles and the CSV's own columns, e.g.
    "fold{fold}/{fname}"), else `path/<dir>/<fname>` with a dir column, else `path/<fname>`.
    A fold outside `folds` (when given) is a CatalogError.

    Every file must lie inside `path` once symlinks and `..` are resolved, and be a regular
    file: the `exclusion` column says why one is not ("outside the dataset folder", a FIFO,
    a dangling symlink, ...; '' for the rest), and preprocessing lists it in excluded.csv
    without opening it.
    """
    root = Path(path)
    if not root.is_dir():
        raise CatalogError(f"dataset.path: {root} is not a folder; set it to your audio folder")
    if path_template:
        try:
            check_path_template(path_template)
        except ValueError as err:
            raise CatalogError(str(err)) from None
    if metadata:
        frame = _mapped_metadata(metadata, columns or {})
    elif label_regex:
        frame = _labels_from_names(root, label_regex)
    else:
        raise CatalogError(
            "dataset.kind is folder but neither dataset.metadata (a CSV with fname,label) "
            "nor dataset.label_regex (with a named group 'label') is set"
        )
    if "fold" in frame.columns:
        frame = check_folds(frame, folds, metadata)
    grouped = bool((columns or {}).get("group"))
    if grouped:
        _check_groups(frame, metadata)
    frame = frame.assign(
        source="train",
        manually_verified="",  # unknown: nothing says a human checked these labels
        path=_paths(root, frame, path_template, metadata),
    )
    duplicated = frame["fname"][frame["fname"].duplicated()].tolist()
    if duplicated:
        raise CatalogError(
            f"{metadata or root}: duplicated fname(s) {duplicated[:5]}; a clip is named by its "
            "fname alone, so each must be unique, even in different folders: make the CSV's "
            "fname column unique, e.g. the file's path relative to dataset.path "
            "(fold1/1.wav) with no dir column or path_template"
        )
    frame["exclusion"] = [exclusion(p, root) for p in frame["path"]]
    extra = ["fold"] * ("fold" in frame.columns) + ["group"] * grouped + ["exclusion"]
    return frame[CATALOG_COLUMNS + extra].reset_index(drop=True)


def _mapped_metadata(metadata, columns: dict) -> pd.DataFrame:
    """The CSV with its mapped columns renamed to their roles (its other columns kept)."""
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise CatalogError(f"dataset.columns: unknown role(s) {unknown}; known: {list(ROLES)}")
    mapping = {role: columns.get(role) or role for role in ("fname", "label")}
    mapping.update({role: columns[role] for role in ("fold", "dir", "group") if columns.get(role)})
    mapped = ", ".join(f"{role}: {column!r}" for role, column in mapping.items())
    fix = (
        f"Set dataset.columns.<role> to the CSV's own column name for each role (now {mapped}; "
        f"roles: {', '.join(ROLES)}), or fix the CSV."
    )
    frame = read_metadata(metadata, list(dict.fromkeys(mapping.values())), fix)
    if "fold" not in mapping and "fold" in frame.columns:
        mapping["fold"] = "fold"
    roles = pd.DataFrame({role: frame[column] for role, column in mapping.items()})
    others = frame.drop(columns=[c for c in frame.columns if c in roles.columns])
    return pd.concat([roles, others], axis=1)


def _check_groups(frame: pd.DataFrame, source) -> None:
    """A CatalogError unless every clip has a group from the metadata CSV."""
    if not source:
        raise CatalogError(
            "dataset.columns.group is set, but groups come from a column of dataset.metadata, "
            "which is not set; list the clips with their group in a CSV, or unset the key"
        )
    blank = frame["group"].astype(str).str.strip() == ""
    if blank.any():
        names = frame.loc[blank, "fname"].tolist()
        raise CatalogError(
            f"{source}: {len(names)} row(s) have no group (dataset.columns.group), e.g. "
            f"{names[:5]}; give every clip a group in the CSV, or unset dataset.columns.group"
        )


def _paths(root: Path, frame: pd.DataFrame, path_template: str | None, source) -> list[str]:
    if path_template:
        rows = frame.to_dict("records")
        try:
            return [str(root / path_template.format_map(row)) for row in rows]
        except KeyError as err:
            raise CatalogError(
                f"dataset.path_template {path_template!r}: {err!r} is not a field of {source}; "
                f"use the roles {{fname}}, {{label}}, {{fold}}, {{dir}} or the CSV's own "
                "column names"
            ) from err
    if "dir" in frame.columns:
        return [str(root / d / f) for d, f in zip(frame["dir"], frame["fname"], strict=True)]
    return [str(root / name) for name in frame["fname"]]


def _labels_from_names(root: Path, label_regex: str) -> pd.DataFrame:
    try:
        pattern = re.compile(label_regex)
    except re.error as err:
        raise CatalogError(f"dataset.label_regex {label_regex!r} is not a regex: {err}") from err
    if "label" not in pattern.groupindex:
        raise CatalogError(f"dataset.label_regex {label_regex!r} has no named group (?P<label>...)")
    # not only the audio files: an entry named like audio that is not one (a FIFO, a
    # dangling symlink, a loop) is listed too, so that excluded.csv names it (the catalog's
    # exclusion column); a symlink to a folder named otherwise has no clip name to list
    found, skipped = walk_audio([root])
    for path, why in skipped.items():
        if Path(path).suffix.lower() not in audio_extensions():
            print(f"{path}: {why}", file=sys.stderr)
    named = [path for path in skipped if Path(path).suffix.lower() in audio_extensions()]
    files = sorted(Path(path).relative_to(root).as_posix() for path in [*found, *named])
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
