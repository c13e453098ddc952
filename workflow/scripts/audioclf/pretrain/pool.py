"""The unlabeled pools besides the train split: a user's folders of audio, or the clips of
the labels a run leaves out. Each is written as a subset table (labels kept for the record
and ignored by pretraining), then decoded and trimmed once into its own packed cache by the
same preprocessing as the dataset, every clip that equals a dataset clip excluded."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from audioclf.contracts import SUBSET
from audioclf.datasets.catalog import CatalogError
from audioclf.datasets.files import extensions_words, walk_audio
from audioclf.datasets.subset import build_catalog
from audioclf.pretrain import DEFAULT_POOL

UNLABELED = "unlabeled"  # the label column of a folder pool: its clips carry none
MAX_CLIPS = 1000  # other_labels' default cap


class PoolError(ValueError):
    """A pool cannot be drawn as configured."""


def folder_pool(name: str, folders: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Every audio file under `folders` (walk_audio: recursively, the extensions a dataset
    folder reads), as a subset table; fname is the file's path as found, so two folders
    never collide. An entry named like audio that is no regular file (a FIFO, a dangling
    symlink, ...) and a symlink to a folder are rows too, with their reason in the
    `exclusion` column: cache_pool lists them in the pool's excluded.csv, unopened."""
    missing = [str(f) for f in folders if not Path(f).is_dir()]
    if missing:
        raise PoolError(f"pretrain.{name}.folders: {missing} not a folder; fix the path(s)")
    paths, skipped = walk_audio(folders)
    if not paths:
        named = "; ".join(f"{path}: {why}" for path, why in list(skipped.items())[:5])
        unread = f", and {len(skipped)} entries it cannot read ({named})" if skipped else ""
        raise PoolError(
            f"pretrain.{name}: the folder pool {[str(f) for f in folders]} has 0 audio files "
            f"({extensions_words()}){unread}; add audio or use pool: train"
        )
    rows = [*paths, *skipped]
    return pd.DataFrame(
        {"fname": rows, "label": UNLABELED, "source": "folder", "path": rows,
         "exclusion": [""] * len(paths) + list(skipped.values())},
        columns=["fname", "label", "source", "path", "exclusion"],
    )  # fmt: skip


def other_labels_pool(
    name: str,
    catalog: pd.DataFrame,
    selected: Sequence[str] | str,
    max_clips: int = MAX_CLIPS,
    seed: int = 0,
) -> pd.DataFrame:
    """Up to `max_clips` train clips of the labels not in `selected`, spread evenly over
    those labels (each label's clips in a seeded random order, taken in turn)."""
    if selected == "all":
        selected = sorted(catalog["label"].unique())
    rows = catalog[(catalog["source"] == "train") & ~catalog["label"].isin(list(selected))]
    if rows.empty:
        raise PoolError(
            f"pretrain.{name}: the other_labels pool has 0 clips: every label of the dataset "
            "is selected; select fewer labels, or use pool: train or folder"
        )
    rng = np.random.default_rng(seed)
    shuffled = rows.iloc[rng.permutation(len(rows))]
    turn = shuffled.groupby("label", sort=False).cumcount()
    order = shuffled.assign(_turn=turn.to_numpy()).sort_values(["_turn", "label"], kind="stable")
    return order.drop(columns="_turn").head(int(max_clips)).reset_index(drop=True)


def write_pool(
    out_csv: str | os.PathLike,
    name: str,
    settings: dict,
    kind: str,
    labels,
    meta_dir=None,
    audio_root=None,
) -> pd.DataFrame:
    """Write the subset table of pretraining config `name`'s pool (folder or other_labels)."""
    pool = settings.get("pool", DEFAULT_POOL)
    if pool == "folder":
        table = folder_pool(name, settings.get("folders") or [])
    elif pool == "other_labels":
        try:
            catalog = build_catalog(kind, meta_dir=meta_dir, audio_root=audio_root)
        except CatalogError as err:
            raise PoolError(f"pretrain.{name}: {err}") from err
        table = other_labels_pool(name, catalog, labels, settings.get("max_clips") or MAX_CLIPS)
    else:
        raise PoolError(f"pretrain.{name}: pool {pool!r} has no pool table (train uses the split)")
    SUBSET.write(out_csv, table)
    counts = table.groupby("label").size()
    print(
        f"{out_csv}: the {pool} pool of pretrain.{name}, {len(table)} files; "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return table
