"""One model's metrics over several runs (seeds or folds), shaped like a single run's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MEAN_KEYS = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "valid_accuracy",
    "train_seconds",
    "inference_clips_per_second",
)
RUN_KEYS = ("accuracy", "balanced_accuracy", "macro_f1", "valid_accuracy")
PER_CLASS_MEAN_KEYS = ("precision", "recall", "f1")
SUMMED_KEYS = ("n_windows", "n_cut")  # n_cut: whole-clip runs only


def _mean_and_std(values: Sequence) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof=1; 0 for one value) of the values that are not None."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return None, None
    std = float(np.std(present, ddof=1)) if len(present) > 1 else 0.0
    return float(np.mean(present)), std


def _check_same(metrics: Sequence[dict], key: str) -> None:
    values = [m.get(key) for m in metrics]
    if any(v != values[0] for v in values):
        raise ValueError(
            f"runs disagree on {key!r} ({values}); aggregate the runs of one model, "
            "scored on the same labels"
        )


def _test_clips(metrics: Sequence[dict]) -> int:
    """Distinct test clips: runs of the same fold (seeds) share a test set, folds add up."""
    by_fold: dict = {}
    for m in metrics:
        by_fold.setdefault(m.get("fold"), set()).add(int(m["n_test"]))
    uneven = {fold: sizes for fold, sizes in by_fold.items() if len(sizes) > 1}
    if uneven:
        raise ValueError(
            f"runs of the same fold scored different numbers of test clips {uneven}; "
            "every seed must be evaluated on the same split"
        )
    return sum(next(iter(sizes)) for sizes in by_fold.values())


def aggregate_runs(metrics: list[dict], test_clips: int | None = None) -> dict:
    """metrics.json dicts of one model's runs (seeds and/or folds) summarised as one.

    Same keys as a single run, so its readers keep working: the scores in MEAN_KEYS and the
    per-class precision/recall/f1 are means over runs; per-class `support`, the
    `confusion_matrix` and `n_windows` are sums (so support still equals the matrix's row
    sums); `n_test` counts distinct test clips (folds add up, seeds of one fold do not) and
    `n_predictions` every scored clip-run. Everything else (architecture, device, settings,
    seed, ...) comes from the first run. Added: `runs` (each run's seed, fold and scores),
    `std` (sample std over runs, ddof=1, 0 for one run), `n_runs`, `seeds` and `folds`.
    """
    if not metrics:
        raise ValueError("no runs to aggregate: give at least one metrics.json")
    for key in ("model", "type"):
        _check_same(metrics, key)
    labels = list(metrics[0]["confusion_matrix"]["labels"])
    for position, m in enumerate(metrics):
        if list(m["confusion_matrix"]["labels"]) != labels:
            raise ValueError(
                f"run {position} (seed {m.get('seed')}, fold {m.get('fold')}) has confusion "
                f"labels {m['confusion_matrix']['labels']}, the first run {labels}; "
                "evaluate every run with the same classes"
            )

    summary = dict(metrics[0])
    std = {}
    for key in MEAN_KEYS:
        summary[key], std[key] = _mean_and_std([m.get(key) for m in metrics])
    for key in SUMMED_KEYS:
        if all(key in m for m in metrics):
            summary[key] = int(sum(int(m[key]) for m in metrics))

    per_class = {}
    for label in labels:
        rows = [m["per_class"][label] for m in metrics]
        per_class[label] = {k: _mean_and_std([r[k] for r in rows])[0] for k in PER_CLASS_MEAN_KEYS}
        per_class[label]["support"] = int(sum(int(r["support"]) for r in rows))
    summary["per_class"] = per_class

    matrix = np.sum([np.asarray(m["confusion_matrix"]["matrix"]) for m in metrics], axis=0)
    summary["confusion_matrix"] = {"labels": labels, "matrix": matrix.tolist()}
    # `test_clips`: the distinct test clips of one seed, counted from its predictions by the
    # caller (with split.vary_with_seed each seed has test clips of its own, and may have
    # a different number of them)
    summary["n_test"] = int(test_clips) if test_clips is not None else _test_clips(metrics)
    summary["n_predictions"] = int(sum(int(m["n_test"]) for m in metrics))
    summary["runs"] = [
        {"seed": m.get("seed"), "fold": m.get("fold"), **{k: m.get(k) for k in RUN_KEYS}}
        for m in metrics
    ]
    if all("label_checks" in m for m in metrics):
        summary["label_checks"] = {}
        for group in ("verified", "unverified"):
            n = sum(int(m["label_checks"][group]["n_test"]) for m in metrics)
            right = sum(int(m["label_checks"][group]["n_correct"]) for m in metrics)
            # over clip-runs, as n_predictions counts them
            summary["label_checks"][group] = {
                "n_test": n,
                "n_correct": right,
                "accuracy": right / n if n else None,
            }
    summary["std"] = std
    summary["n_runs"] = len(metrics)
    summary["seeds"] = list(dict.fromkeys(m.get("seed") for m in metrics))
    summary["folds"] = list(dict.fromkeys(m.get("fold") for m in metrics))
    return summary
