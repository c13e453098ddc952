"""What select_subset's params hold of the dataset config: the keyword settings of the
configured kind's catalog function, in the shape that runs before them recorded.

Snakemake compares a rule's params as the set of their values' reprs, so a new key, even a
null one, would rerun select_subset and everything after it for a project that uses none of
the new settings. Light on purpose (no pandas): the Snakefile reads it at every start.
"""

from __future__ import annotations

from audioclf.datasets.benchmarks import official_folds

# what a folder dataset's settings held before columns, path_template and folds existed
FOLDER_KEYS = ("path", "metadata", "label_regex")
FOLDER_OPTIONAL_KEYS = ("columns", "path_template")


def catalog_settings(dataset: dict) -> dict | None:
    """folder_catalog's keywords for a folder (a new key only when set), esc50_catalog's for
    esc50 (ESC-10 switch and official folds), None for the kinds that need none."""
    kind = dataset.get("kind")
    if kind == "esc50":
        return {"esc10": dataset["esc50"]["esc10"], "folds": official_folds(dataset)}
    if kind != "folder":
        return None
    settings = {key: dataset.get(key) for key in FOLDER_KEYS}
    settings.update({key: dataset[key] for key in FOLDER_OPTIONAL_KEYS if dataset.get(key)})
    folds = official_folds(dataset)
    if folds is not None:
        settings["folds"] = folds
    return settings
