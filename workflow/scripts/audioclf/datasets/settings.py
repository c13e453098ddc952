"""What select_subset's params hold of the dataset config: the keyword settings of the
configured kind's catalog function (its entry in datasets/kinds.py says which).

Snakemake compares a rule's params as the set of their values' reprs, so a new key, even a
null one, would rerun select_subset and everything after it for a project that uses none of
the new settings: a kind's settings hold an optional key only when it is set. Light on
purpose (no pandas): the Snakefile reads it at every start.
"""

from __future__ import annotations

from audioclf.datasets.benchmarks import official_folds
from audioclf.datasets.kinds import dataset_kind


def catalog_settings(dataset: dict) -> dict | None:
    """The catalog's keywords of the configured kind (folder: a new key only when set; esc50:
    the ESC-10 switch and the official folds), None for the kinds that need none."""
    return dataset_kind(dataset.get("kind")).settings(dataset, official_folds(dataset))
