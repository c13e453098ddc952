"""The data-size curve: each run's test accuracy against the train clips it learned from."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from audioclf.contracts import CURVES, METRICS
from audioclf.io import log
from audioclf.runs import parse_train_fraction


def collect_curves(
    metrics_paths: Sequence[str | os.PathLike],
    runs: Sequence[tuple[str, str]],
    out_csv: str | os.PathLike,
) -> pd.DataFrame:
    """curves.csv: model, run, train fraction, seed, fold, train clips, epochs run and test
    accuracy of each run's metrics.json (`runs`: its (model, run id), in the same order)."""
    if len(metrics_paths) != len(runs):
        raise ValueError(f"{len(metrics_paths)} metrics files but {len(runs)} runs")
    rows = []
    for path, (model, run) in zip(metrics_paths, runs, strict=True):
        m = METRICS.read(path)
        rows.append(
            {
                "model": model,
                "run": run,
                "fraction": parse_train_fraction(run),
                "seed": m.get("seed"),
                "fold": "" if m.get("fold") is None else str(m["fold"]),
                "n_train": m.get("n_train"),
                "epochs_run": m.get("epochs_run"),
                "accuracy": m["accuracy"],
            }
        )
    table = pd.DataFrame(rows, columns=[*CURVES.columns, "fold", "epochs_run"])
    CURVES.write(out_csv, table)
    log(table.groupby(["model", "fraction"])["accuracy"].mean().to_string())
    return table
