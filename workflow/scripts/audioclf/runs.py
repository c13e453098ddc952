"""Run ids: one training run per seed, or per cross-validation fold and seed.

A run id is `seed<S>` or `fold<K>-seed<S>`; it names the folders of that run's model and
evaluation (results/models/<model>/<run>/, results/eval/<model>/<run>/).
"""

from __future__ import annotations

import os
import re

RUN_PATTERN = r"(fold[A-Za-z0-9_.]+-)?seed[0-9]+"
_PARSE = re.compile(r"^(?:fold(?P<fold>[A-Za-z0-9_.]+)-)?seed(?P<seed>[0-9]+)$")


def run_ids(seeds: list[int], folds: list | None = None) -> list[str]:
    """Every run: each seed, and with folds each fold of each seed (seed-major order)."""
    if not folds:
        return [f"seed{s}" for s in seeds]
    return [f"fold{f}-seed{s}" for s in seeds for f in folds]


def parse_run(run: str) -> tuple[str | None, int]:
    """(fold or None, seed) of a run id."""
    match = _PARSE.match(run)
    if not match:
        raise ValueError(f"{run!r} is not a run id (seed<S> or fold<K>-seed<S>)")
    return match.group("fold"), int(match.group("seed"))


def folds_in(metadata_csv: str | os.PathLike | None) -> list[str]:
    """The sorted fold values of a folder dataset's CSV (its `fold` column)."""
    if not metadata_csv:
        raise ValueError(
            "split.method is folds but dataset.metadata is not set: cross-validation needs "
            "a folder dataset whose CSV has a fold column"
        )
    import pandas as pd  # here, not at the top: the Snakefile imports this module at every start

    frame = pd.read_csv(metadata_csv, dtype=str, keep_default_na=False)
    if "fold" not in frame.columns:
        raise ValueError(f"{metadata_csv}: split.method is folds but the CSV has no fold column")
    values = sorted(set(frame["fold"]) - {""}, key=lambda v: (len(v), v))
    if len(values) < 2:
        raise ValueError(f"{metadata_csv}: cross-validation needs at least 2 folds, found {values}")
    return values
