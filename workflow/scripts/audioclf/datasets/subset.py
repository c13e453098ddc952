"""Select the configured labels (and test/verified options) from a dataset's catalog."""

from __future__ import annotations

import os

import pandas as pd

from audioclf.contracts import SUBSET
from audioclf.datasets.catalog import CatalogError
from audioclf.datasets.kinds import dataset_kind


def select_subset(
    catalog: pd.DataFrame,
    labels: list[str] | str,
    include_test_clips: bool = False,
    manually_verified_only: bool = False,
) -> pd.DataFrame:
    """Rows of `labels` ("all" for every label); train rows unless test clips are included.
    Fewer than two labels left is a CatalogError naming those found."""
    rows = catalog if include_test_clips else catalog[catalog["source"] == "train"]
    if manually_verified_only:
        if (rows["manually_verified"].astype(str).str.strip() == "").all():
            raise CatalogError(
                "manually_verified_only is true, but this dataset records no label checks "
                "(a folder of audio); set manually_verified_only: false"
            )
        # Scored test clips are all human-labelled; only train rows carry the flag.
        rows = rows[rows["manually_verified"].astype(bool)]
    available = sorted(catalog["label"].unique())
    if labels == "all":
        wanted = available
    else:
        missing = [label for label in labels if label not in available]
        if missing:
            raise CatalogError(
                f"labels {missing} are not in the dataset; it has {len(available)} labels: "
                f"{', '.join(available)}"
            )
        wanted = list(labels)
    subset = rows[rows["label"].isin(wanted)].reset_index(drop=True)
    empty = [label for label in wanted if label not in set(subset["label"])]
    if empty:
        raise CatalogError(
            f"labels {empty} have no clips with include_test_clips={include_test_clips}, "
            f"manually_verified_only={manually_verified_only}"
        )
    found = sorted(set(subset["label"]))
    if len(found) < 2:
        raise CatalogError(
            f"the selected data has {len(found)} label(s), {found}, and a classifier needs at "
            "least two: add audio of another label to the dataset, or select more labels "
            f"(the dataset has {', '.join(available)})"
        )
    return subset


def build_catalog(kind: str, meta_dir=None, audio_root=None, settings=None) -> pd.DataFrame:
    """The catalog of a configured dataset kind (its entry in datasets/kinds.py builds it).

    `settings` are its catalog function's keywords (datasets/settings.py: catalog_settings)."""
    try:
        entry = dataset_kind(kind)
    except ValueError as err:
        raise CatalogError(str(err)) from None
    return entry.catalog(meta_dir, audio_root, settings)


def write_subset(
    out_csv: str | os.PathLike,
    kind: str,
    labels,
    include_test_clips: bool = False,
    manually_verified_only: bool = False,
    meta_dir=None,
    audio_root=None,
    settings: dict | None = None,
) -> pd.DataFrame:
    """Build the catalog, select the subset, write it; returns it."""
    catalog = build_catalog(kind, meta_dir=meta_dir, audio_root=audio_root, settings=settings)
    subset = select_subset(catalog, labels, include_test_clips, manually_verified_only)
    SUBSET.write(out_csv, subset)
    counts = subset.groupby("label").size()
    print(f"{out_csv}: {len(subset)} clips; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return subset
