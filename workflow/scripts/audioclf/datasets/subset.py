"""Select the configured labels (and test/verified options) from a dataset's catalog."""

from __future__ import annotations

import os

import pandas as pd

from audioclf.contracts import SUBSET
from audioclf.datasets.catalog import CatalogError
from audioclf.datasets.esc50 import esc50_catalog
from audioclf.datasets.folder import folder_catalog
from audioclf.datasets.fsdkaggle import fsdkaggle_catalog


def select_subset(
    catalog: pd.DataFrame,
    labels: list[str] | str,
    include_test_clips: bool = False,
    manually_verified_only: bool = False,
) -> pd.DataFrame:
    """Rows of `labels` ("all" for every label); train rows unless test clips are included."""
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
    return subset


def build_catalog(
    kind: str, meta_dir=None, audio_root=None, folder=None, esc50=None
) -> pd.DataFrame:
    """The catalog of a configured dataset kind (demo and fsdkaggle2018 share one shape).

    `folder` and `esc50` are the keyword settings of folder_catalog and esc50_catalog."""
    if kind in ("demo", "fsdkaggle2018"):
        return fsdkaggle_catalog(meta_dir, audio_root)
    if kind == "esc50":
        return esc50_catalog(meta_dir, **(esc50 or {}))
    if kind == "folder":
        return folder_catalog(**(folder or {}))
    raise CatalogError(
        f"dataset.kind {kind!r} is unknown; use demo, fsdkaggle2018, esc50 or folder"
    )


def write_subset(
    out_csv: str | os.PathLike,
    kind: str,
    labels,
    include_test_clips: bool = False,
    manually_verified_only: bool = False,
    meta_dir=None,
    audio_root=None,
    folder: dict | None = None,
    esc50: dict | None = None,
) -> pd.DataFrame:
    """Build the catalog, select the subset, write it; returns it."""
    catalog = build_catalog(
        kind, meta_dir=meta_dir, audio_root=audio_root, folder=folder, esc50=esc50
    )
    subset = select_subset(catalog, labels, include_test_clips, manually_verified_only)
    SUBSET.write(out_csv, subset)
    counts = subset.groupby("label").size()
    print(f"{out_csv}: {len(subset)} clips; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return subset
