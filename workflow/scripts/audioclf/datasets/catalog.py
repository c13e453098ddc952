"""Catalogs: every clip a dataset offers, as one table (fname, label, source, path, ...).

Each dataset kind builds its catalog in its own module (fsdkaggle, folder; the demo is
FSDKaggle2018-shaped); select_subset picks the configured labels from it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioclf.contracts import ContractError, Table

CATALOG_COLUMNS = ["fname", "label", "source", "manually_verified", "path"]


class CatalogError(ValueError):
    """The dataset's metadata cannot be read as configured."""


def read_metadata(
    path: str | os.PathLike, required: list[str], fix: str | None = None
) -> pd.DataFrame:
    """A dataset's own metadata CSV, every cell as text (a label "None" stays "None"); a
    missing column is a CatalogError that ends with `fix` (default: fix the CSV)."""
    table = Table(
        Path(path).name,
        {c: "str" for c in required},
        made_by="",
        fix=fix or "Fix the CSV, or point the config at the dataset's own metadata file.",
    )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    try:
        return table.check(frame, path)
    except ContractError as err:
        raise CatalogError(str(err)) from err


def check_folds(frame: pd.DataFrame, declared: list[str] | None, source) -> pd.DataFrame:
    """`frame` with its fold column normalised (3.0 and " 3 " are "3"); a fold outside
    `declared` (None: any fold) is a CatalogError naming the values and some files."""
    from audioclf.runs import fold_name

    folds = frame["fold"].map(fold_name)
    if declared is not None:
        allowed = [fold_name(f) for f in declared]
        odd = ~folds.isin(allowed)
        if odd.any():
            values = sorted(set(folds[odd]))
            raise CatalogError(
                f"{source}: {int(odd.sum())} row(s) have a fold outside the declared folds "
                f"{allowed}: {values[:10]}, e.g. {frame.loc[odd, 'fname'].tolist()[:5]}; fix "
                "the CSV's fold column or dataset.folds"
            )
    return frame.assign(fold=folds.to_numpy())
