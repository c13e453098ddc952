"""Score a trained model on the test split; write predictions.csv and metrics.json."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from torch import nn

from audioclf.contracts import HISTORY, METRICS, PREDICTIONS, SPLIT
from audioclf.devices import (
    autocast,
    precision_name,
    resolve_device,
    set_threads,
    synchronize,
)
from audioclf.evaluate.tables import prediction_table
from audioclf.io import log
from audioclf.learn.checkpoint import TrainedModel, load_trained
from audioclf.learn.crop import EVAL_WINDOWS, WHOLE, crop_or_repeat, starts_for
from audioclf.learn.data import WholeClips, split_rows, to_device, whole_clip_batches
from audioclf.learn.models import count_parameters
from audioclf.learn.registry import model_type
from audioclf.preprocess.cache import PackedClips
from audioclf.procedure import run_record


def window_batches(
    cache: PackedClips, rows: Sequence[int], length: int, eval_windows: str, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(windows (B, 1, length) int16, owning clip positions (B,)) in batches."""
    windows, owners = [], []
    for position, row in enumerate(rows):
        wave = cache.raw(row)
        for start in starts_for(wave.numel(), length, eval_windows):
            windows.append(crop_or_repeat(wave, length, start))
            owners.append(position)
            if len(windows) == batch_size:
                yield torch.stack(windows).unsqueeze(1), torch.tensor(owners)
                windows, owners = [], []
    if windows:
        yield torch.stack(windows).unsqueeze(1), torch.tensor(owners)


@torch.inference_mode()
def clip_probabilities(
    model: nn.Module,
    cache: PackedClips,
    rows: Sequence[int],
    length: int,
    n_classes: int,
    eval_windows: str = "sliding",
    device: torch.device | None = None,
    batch_size: int = 64,
    reading: WholeClips | None = None,
    autocast_to: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-clip class probabilities (softmax averaged over its windows) and window counts.

    With `reading` (a whole-clip model), each clip is scored once, whole, in batches of
    similar length; `length` and `eval_windows` are then unused. `autocast_to`: the
    forward pass under autocast at that dtype (None: float32); softmax in float32.
    """
    device = device or torch.device("cpu")
    model = model.to(device).eval()
    if reading is not None:
        batches = (
            ((wave, lengths), owners)
            for wave, lengths, owners in whole_clip_batches(cache, rows, reading, batch_size)
        )
    else:
        batches = (
            ((windows,), owners)
            for windows, owners in window_batches(cache, rows, length, eval_windows, batch_size)
        )
    window_probs, window_owners = [], []
    for inputs, owners in batches:
        with autocast(device, autocast_to):
            logits = model(*to_device(inputs, device))
        window_probs.append(logits.float().softmax(dim=-1))  # stays on the device
        window_owners.append(owners)
    # summed per clip on the CPU, in window order: the same sums on any device (CUDA's
    # index_add_ adds in no fixed order), one copy from the device for the whole set
    sums = torch.zeros(len(rows), n_classes, dtype=torch.float64)
    counts = torch.zeros(len(rows), dtype=torch.int64)
    if window_probs:
        probs = torch.cat(window_probs).cpu().double()
        owners = torch.cat(window_owners)
        sums.index_add_(0, owners, probs)
        counts.index_add_(0, owners, torch.ones_like(owners))
    return (sums / counts.unsqueeze(1)).float(), counts


def classification_metrics(truth: list[str], predicted: list[str], classes: list[str]) -> dict:
    """Accuracy, balanced accuracy, macro F1, per-class scores and the confusion matrix."""
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=classes, zero_division=0
    )
    matrix = confusion_matrix(truth, predicted, labels=classes)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)
        ),
        "per_class": {
            c: {
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
                "support": int(support[k]),
            }
            for k, c in enumerate(classes)
        },
        "confusion_matrix": {"labels": list(classes), "matrix": matrix.tolist()},
    }


def run_metrics(
    checkpoint: dict,
    predictions: pd.DataFrame,
    model: nn.Module,
    *,
    valid_accuracy: float | None,
    n_windows: int,
    clips_per_second: float,
    eval_device: str,
    fold: str | None,
    eval_windows: str,
    eval_precision: str | None = None,
    train_seconds: float | None = None,
) -> dict:
    """One run's metrics.json: the scores of `predictions` (predictions.csv of the model in
    model.pt `checkpoint`) and what was run, as the METRICS contract declares it.
    `train_seconds`: training_seconds of its history.csv (model.pt records no time)."""
    classes = list(checkpoint["classes"])
    labels = predictions["label"].tolist()
    scores = classification_metrics(labels, predictions["predicted"].tolist(), classes)
    settings = checkpoint["settings"]
    return {
        "model": checkpoint["model"],
        "type": checkpoint["type"],
        "accuracy": scores["accuracy"],
        "balanced_accuracy": scores["balanced_accuracy"],
        "macro_f1": scores["macro_f1"],
        "valid_accuracy": valid_accuracy,
        "n_test": len(labels),
        "n_train": checkpoint.get("n_train"),
        "n_windows": int(n_windows),
        "per_class": scores["per_class"],
        "confusion_matrix": scores["confusion_matrix"],
        "n_params": count_parameters(model),
        "architecture": str(model),
        "train_seconds": train_seconds,
        "inference_clips_per_second": clips_per_second,
        "device": checkpoint.get("device"),
        "eval_device": eval_device,
        # how it computed (not declared keys: a model file may lack them, then null)
        "train_precision": checkpoint.get("train_precision"),
        "deterministic": checkpoint.get("deterministic"),
        "eval_precision": eval_precision,
        "pretrained": bool(checkpoint.get("pretrained", False)),
        "weight_source": checkpoint.get("weight_source"),
        "epochs": settings.get("epochs"),
        "epochs_run": checkpoint.get("epochs_run"),
        "optimizer_steps": checkpoint.get("optimizer_steps"),
        "lr": settings.get("lr"),
        "batch_size": settings.get("batch_size"),
        "weight_decay": settings.get("weight_decay"),
        "seed": checkpoint.get("seed"),
        "fold": fold,
        "eval_windows": eval_windows,
        "settings": settings,
        "procedure": run_record(
            checkpoint,
            eval_windows=eval_windows,
            eval_precision=eval_precision,
            type_keys=model_type(checkpoint["type"]).defaults,
        ),
    }


def label_check_scores(predictions: pd.DataFrame, split: pd.DataFrame) -> dict:
    """Test accuracy on the clips whose label a human verified and on the others:
    {"verified": {"n_test", "n_correct", "accuracy"}, "unverified": {...}} (accuracy None
    when a group is empty)."""
    flags = split.drop_duplicates("fname").set_index("fname")["manually_verified"]
    verified = predictions["fname"].map(flags).fillna(0).astype(int).to_numpy()
    correct = (predictions["predicted"].astype(str) == predictions["label"].astype(str)).to_numpy()
    scores = {}
    for name, value in (("verified", 1), ("unverified", 0)):
        chosen = verified == value
        n, right = int(chosen.sum()), int(correct[chosen].sum())
        scores[name] = {"n_test": n, "n_correct": right, "accuracy": right / n if n else None}
    return scores


def last_valid_accuracy(history_csv: str | os.PathLike | None) -> float | None:
    if history_csv is None:
        return None
    history = HISTORY.read(history_csv)
    if history.empty:
        return None
    return float(history["valid_accuracy"].iloc[-1])


def training_seconds(history_csv: str | os.PathLike | None) -> float | None:
    """The wall-clock seconds of training's epochs, summed from its history.csv: model.pt
    records no time, so that the same inputs and seed give the same file, byte for byte."""
    if history_csv is None:
        return None
    return float(HISTORY.read(history_csv)["seconds"].sum())


def evaluate(
    cache_path: str | os.PathLike,
    split_csv: str | os.PathLike,
    model_path: str | os.PathLike,
    out_predictions: str | os.PathLike,
    out_metrics: str | os.PathLike,
    history_csv: str | os.PathLike | None = None,
    eval_windows: str = "sliding",
    device: str = "auto",
    batch_size: int = 64,
    threads: int | None = None,
    fold: int | str | None = None,
) -> dict:
    """Score every test clip; long clips by averaging over windows (sliding) or one centre crop.

    The validation clips are scored by the same rule, so the valid accuracy in metrics.json
    compares like for like with the test accuracy (training's own validation, one centre
    crop per clip, is `valid_accuracy_in_training`, from `history_csv`). `fold`
    (cross-validation: the test fold of this split) is only recorded in metrics.json.
    """
    if eval_windows not in EVAL_WINDOWS:
        raise ValueError(f"eval_windows {eval_windows!r} is not one of {EVAL_WINDOWS}; fix config")
    set_threads(threads)
    trained = load_trained(model_path, resolve_device(device))
    cache = PackedClips.load(cache_path)
    split = SPLIT.read(split_csv)
    fnames, labels = checked_test_clips(trained, cache, split, cache_path, split_csv, model_path)
    rows = cache.index(fnames)
    if trained.reading is not None:
        eval_windows = WHOLE
    probs, window_counts, seconds = timed_probabilities(
        trained, cache, rows, eval_windows, batch_size
    )
    scored = prediction_table(probs, trained.classes)
    predictions = pd.concat([pd.DataFrame({"fname": fnames, "label": labels}), scored], axis=1)
    PREDICTIONS.write(out_predictions, predictions)

    metrics = run_metrics(
        trained.checkpoint,
        predictions,
        trained.network,
        valid_accuracy=scored_valid_accuracy(
            trained, cache, split, split_csv, eval_windows, batch_size
        ),
        n_windows=int(window_counts.sum()),
        clips_per_second=len(fnames) / max(seconds, 1e-9),
        eval_device=str(trained.device),
        fold=fold,
        eval_windows=eval_windows,
        eval_precision=precision_name(trained.precision),
        train_seconds=training_seconds(history_csv),
    )
    metrics.update(run_extras(trained, cache, rows, split, predictions, history_csv))
    METRICS.write(out_metrics, metrics)
    log(
        f"{Path(model_path)}: test accuracy {metrics['accuracy']:.4f}, balanced "
        f"{metrics['balanced_accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f} on "
        f"{len(fnames)} clips ({metrics['n_windows']} windows, {eval_windows}); "
        f"{metrics['inference_clips_per_second']:.1f} clips/s on {trained.device}"
    )
    return metrics


def checked_test_clips(
    trained: TrainedModel,
    cache: PackedClips,
    split: pd.DataFrame,
    cache_path: str | os.PathLike,
    split_csv: str | os.PathLike,
    model_path: str | os.PathLike,
) -> tuple[list, list]:
    """(fnames, labels) of the split's test clips, once the cache and the labels are
    checked to be ones the model knows."""
    if cache.sample_rate != trained.sample_rate:
        raise ValueError(
            f"{cache_path}: sample rate {cache.sample_rate} Hz, but {model_path} was trained at "
            f"{trained.sample_rate} Hz; retrain the model on this cache"
        )
    fnames, labels = split_rows(split, "test", str(split_csv))
    unknown = sorted(set(labels) - set(trained.classes))
    if unknown:
        raise ValueError(
            f"{split_csv}: test labels {unknown} are not among the classes of {model_path}; "
            "retrain the model on this split"
        )
    return fnames, labels


def trained_probabilities(
    trained: TrainedModel,
    cache: PackedClips,
    rows: Sequence[int],
    eval_windows: str = "sliding",
    batch_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """clip_probabilities of a loaded model, by its own crop length, reading of whole
    clips, device and precision."""
    return clip_probabilities(
        trained.network, cache, rows, trained.clip_samples, len(trained.classes),
        eval_windows, trained.device, batch_size, trained.reading, trained.precision,
    )  # fmt: skip


def timed_probabilities(
    trained: TrainedModel,
    cache: PackedClips,
    rows: Sequence[int],
    eval_windows: str,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """trained_probabilities of `rows`, and the seconds they took."""
    # One untimed batch first, so one-off start-up costs (kernels, allocator) stay out of speed.
    trained_probabilities(trained, cache, rows[:1], "centre", 1)
    started = time.perf_counter()
    probs, window_counts = trained_probabilities(trained, cache, rows, eval_windows, batch_size)
    synchronize(trained.device)
    return probs, window_counts, time.perf_counter() - started


def scored_valid_accuracy(
    trained: TrainedModel,
    cache: PackedClips,
    split: pd.DataFrame,
    split_csv: str | os.PathLike,
    eval_windows: str,
    batch_size: int,
) -> float:
    """Accuracy on the split's valid clips, scored as the test clips are."""
    fnames, labels = split_rows(split, "valid", str(split_csv))
    probs, _ = trained_probabilities(trained, cache, cache.index(fnames), eval_windows, batch_size)
    predicted = prediction_table(probs, trained.classes)["predicted"]
    return float((predicted.to_numpy() == np.asarray(labels)).mean())


def run_extras(
    trained: TrainedModel,
    cache: PackedClips,
    rows: Sequence[int],
    split: pd.DataFrame,
    predictions: pd.DataFrame,
    history_csv: str | os.PathLike | None,
) -> dict:
    """What metrics.json adds to run_metrics: training's own last valid accuracy, the
    scores on verified labels (a split that marks them), the test clips cut (whole-clip)."""
    extras = {"valid_accuracy_in_training": last_valid_accuracy(history_csv)}
    if "manually_verified" in split.columns:
        extras["label_checks"] = label_check_scores(predictions, split)
    if trained.reading is not None:
        # not a declared key: only whole-clip runs have it (the report states it)
        stored = cache.lengths
        extras["n_cut"] = trained.reading.cut([int(stored[r]) for r in rows])
    return extras
