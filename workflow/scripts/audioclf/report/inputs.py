"""Read a run's outputs (data tables, per-model metric summaries, predictions, histories)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from audioclf.contracts import HISTORY, PREDICTIONS, SUMMARY, ContractError


class ReportInputError(ContractError):
    """An input of the report is missing a field or disagrees with another input."""


@dataclass
class ModelRun:
    """One model, as the report sees it: its metrics summarised over its runs (seeds, folds),
    the first seed's test predictions, every run's history and the first run's model file."""

    name: str
    metrics: dict
    predictions: pd.DataFrame
    histories: list[pd.DataFrame]  # one per run, in `runs` order
    model_path: Path

    @property
    def history(self) -> pd.DataFrame:
        """The first run's history.csv (the run whose model.pt the report reads)."""
        return self.histories[0]

    @property
    def accuracy(self) -> float:
        """Test accuracy, the mean over this model's runs."""
        return float(self.metrics["accuracy"])

    @property
    def runs(self) -> list[dict]:
        """Each run's seed, fold and scores (metrics.json `runs`)."""
        return self.metrics["runs"]

    @property
    def n_runs(self) -> int:
        return int(self.metrics["n_runs"])

    @property
    def seeds(self) -> list:
        return list(self.metrics["seeds"])

    @property
    def folds(self) -> list:
        """The cross-validation folds run, or [] without cross-validation."""
        return [f for f in self.metrics["folds"] if f is not None]

    @property
    def first_seed(self):
        """The seed whose test predictions the report shows (predictions.csv)."""
        return self.seeds[0]

    @property
    def first_run(self) -> dict:
        """The run whose history.csv and model.pt the report shows."""
        return self.runs[0]

    @property
    def model_bytes(self) -> int | None:
        if not self.model_path.is_file():
            return None
        return self.model_path.stat().st_size


def read_metrics(path: str | os.PathLike) -> dict:
    """A model's metrics.json: the summary over its runs (audioclf.evaluate.aggregate)."""
    metrics = SUMMARY.read(path)
    if not metrics["runs"] or int(metrics["n_runs"]) != len(metrics["runs"]):
        raise ReportInputError(
            f"{path}: n_runs {metrics.get('n_runs')} disagrees with "
            f"{len(metrics.get('runs') or [])} runs; rerun summarize_model for this model"
        )
    return metrics


def read_model_run(name: str, paths: dict) -> ModelRun:
    """Metrics, predictions and history of model `name`; checks they describe the same test."""
    metrics = read_metrics(paths["metrics"])
    predictions = PREDICTIONS.read(paths["predictions"])
    history_paths = paths["history"]
    if isinstance(history_paths, str | os.PathLike):
        history_paths = [history_paths]
    if len(history_paths) != int(metrics["n_runs"]):
        raise ReportInputError(
            f"{len(history_paths)} history.csv file(s) for model {name!r}, but "
            f"{paths['metrics']} has {metrics['n_runs']} runs; give the report every run's "
            "history.csv, in the order of the runs"
        )
    if len(predictions) != int(metrics["n_test"]):
        # One seed's predictions (its folds concatenated) cover every distinct test clip once.
        raise ReportInputError(
            f"{paths['predictions']}: {len(predictions)} rows, but {paths['metrics']} says "
            f"n_test = {metrics['n_test']} distinct test clips; give the report the first "
            f"seed's predictions of model {name!r} (all folds), or rerun evaluate_model"
        )
    return ModelRun(
        name=name,
        metrics=metrics,
        predictions=predictions,
        histories=[HISTORY.read(path) for path in history_paths],
        model_path=Path(paths["model"]),
    )


def read_model_runs(models: dict[str, dict]) -> list[ModelRun]:
    """Every model's run, in the order given; all must share one class list."""
    if not models:
        raise ReportInputError("no models given to the report; config['models'] is empty")
    runs = [read_model_run(name, paths) for name, paths in models.items()]
    first = runs[0]
    for run in runs[1:]:
        if sorted(run.metrics["confusion_matrix"]["labels"]) != sorted(
            first.metrics["confusion_matrix"]["labels"]
        ):
            raise ReportInputError(
                f"models {first.name!r} and {run.name!r} were evaluated on different labels "
                f"({first.metrics['confusion_matrix']['labels']} vs "
                f"{run.metrics['confusion_matrix']['labels']}); rerun both on the same split"
            )
    return runs
