"""Read a run's outputs (data tables, per-model metrics, predictions, histories) for the report."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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
PREDICTION_COLUMNS = ("fname", "label", "predicted", "confidence")
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_accuracy")


class ReportInputError(ValueError):
    """An input of the report is missing a field or disagrees with another input."""


@dataclass
class ModelRun:
    """One trained and evaluated model, as the report sees it."""

    name: str
    metrics: dict
    predictions: pd.DataFrame
    history: pd.DataFrame
    model_path: Path | None

    @property
    def accuracy(self) -> float:
        return float(self.metrics["accuracy"])

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
    with open(path, encoding="utf-8") as handle:
        metrics = json.load(handle)
    missing = [k for k in METRIC_KEYS if k not in metrics]
    if missing:
        raise ReportInputError(
            f"{path}: missing key(s) {missing}; rerun evaluate_model for this model"
        )
    return metrics


def read_model_run(name: str, paths: dict) -> ModelRun:
    """Metrics, predictions and history of model `name`; checks they describe the same test."""
    metrics = read_metrics(paths["metrics"])
    predictions = read_table(paths["predictions"], PREDICTION_COLUMNS)
    history = read_table(paths["history"], HISTORY_COLUMNS)
    predictions["predicted"] = predictions["predicted"].astype(str)
    if len(predictions) != int(metrics["n_test"]):
        raise ReportInputError(
            f"{paths['predictions']}: {len(predictions)} rows, but {paths['metrics']} says "
            f"n_test = {metrics['n_test']}; rerun evaluate_model for model {name!r}"
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
