"""Read a run's outputs (data tables, per-model metric summaries, predictions, histories)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from audioclf.aggregate import aggregate_runs

METRIC_KEYS = (
    "model",
    "type",
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "valid_accuracy",
    "n_test",
    "per_class",
    "confusion_matrix",
    "n_params",
    "train_seconds",
    "inference_clips_per_second",
    "device",
    "epochs",
)
SUMMARY_KEYS = ("runs", "std", "n_runs", "seeds", "folds")
PREDICTION_COLUMNS = ("fname", "label", "predicted", "confidence")
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_accuracy")


class ReportInputError(ValueError):
    """An input of the report is missing a field or disagrees with another input."""


@dataclass
class ModelRun:
    """One model, as the report sees it: its metrics summarised over its runs (seeds, folds),
    the first seed's test predictions, and the first run's history and model file."""

    name: str
    metrics: dict
    predictions: pd.DataFrame
    history: pd.DataFrame
    model_path: Path | None

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
        if self.model_path is None or not self.model_path.is_file():
            return None
        return self.model_path.stat().st_size


def read_table(path: str | os.PathLike, required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV with text names kept as text (a label 'NA' stays 'NA'), checked for its columns."""
    frame = pd.read_csv(path, dtype={"fname": str, "label": str}, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ReportInputError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)}. "
            "Rerun the rule that writes it."
        )
    return frame


def read_metrics(path: str | os.PathLike) -> dict:
    """A model's metrics.json: the summary over its runs (audioclf.aggregate.aggregate_runs).

    A single run's metrics.json (no `runs`) is read as a summary of that one run.
    """
    with open(path, encoding="utf-8") as handle:
        metrics = json.load(handle)
    missing = [k for k in METRIC_KEYS if k not in metrics]
    if missing:
        raise ReportInputError(
            f"{path}: missing key(s) {missing}; rerun evaluate_model for this model"
        )
    if "runs" not in metrics:
        metrics = aggregate_runs([metrics])
    missing = [k for k in SUMMARY_KEYS if k not in metrics]
    if missing or not metrics["runs"] or int(metrics["n_runs"]) != len(metrics["runs"]):
        raise ReportInputError(
            f"{path}: not a summary over runs (missing {missing}, or n_runs "
            f"{metrics.get('n_runs')} disagrees with {len(metrics.get('runs') or [])} runs); "
            "rerun the rule that aggregates this model's runs"
        )
    return metrics


def read_model_run(name: str, paths: dict) -> ModelRun:
    """Metrics, predictions and history of model `name`; checks they describe the same test."""
    metrics = read_metrics(paths["metrics"])
    predictions = read_table(paths["predictions"], PREDICTION_COLUMNS)
    history = read_table(paths["history"], HISTORY_COLUMNS)
    predictions["predicted"] = predictions["predicted"].astype(str)
    if len(predictions) != int(metrics["n_test"]):
        # One seed's predictions (its folds concatenated) cover every distinct test clip once.
        raise ReportInputError(
            f"{paths['predictions']}: {len(predictions)} rows, but {paths['metrics']} says "
            f"n_test = {metrics['n_test']} distinct test clips; give the report the first "
            f"seed's predictions of model {name!r} (all folds), or rerun evaluate_model"
        )
    model_path = paths.get("model")
    return ModelRun(
        name=name,
        metrics=metrics,
        predictions=predictions,
        history=history,
        model_path=Path(model_path) if model_path else None,
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
