"""Catalogs: every clip a dataset offers, as one table (fname, label, source, path, ...).

Each dataset kind builds its catalog in its own module (fsdkaggle, folder; the demo is
FSDKaggle2018-shaped); select_subset picks the configured labels from it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioclf.contracts import ContractError, Table

AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"}
CATALOG_COLUMNS = ["fname", "label", "source", "manually_verified", "path"]


class CatalogError(ValueError):
    """The dataset's metadata cannot be read as configured."""


def read_metadata(path: str | os.PathLike, required: list[str]) -> pd.DataFrame:
    """A dataset's own metadata CSV, every cell as text (a label "None" stays "None")."""
    table = Table(
        Path(path).name,
        {c: "str" for c in required},
        made_by="",
        fix="Fix the CSV, or point the config at the dataset's own metadata file.",
    )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    try:
        return table.check(frame, path)
    except ContractError as err:
        raise CatalogError(str(err)) from err
