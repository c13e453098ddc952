"""Summaries of several runs of one model: means, sample std, summed confusion, one run."""

import numpy as np
import pytest

from audioclf.evaluate.aggregate import MEAN_KEYS, aggregate_runs
from audioclf.evaluate.scoring import classification_metrics

CLASSES = ["bark", "cough", "knock"]


def run_metrics(seed: int, fold=None, n_test: int = 30) -> dict:
    """A metrics.json of one run: scores computed by evaluate's own function on random guesses
    that are right about 70% of the time."""
    rng = np.random.default_rng(seed)
    truth = [CLASSES[k] for k in rng.integers(0, 3, n_test)]
    predicted = [t if rng.random() < 0.7 else CLASSES[rng.integers(0, 3)] for t in truth]
    scores = classification_metrics(truth, predicted, CLASSES)
    return {
        "model": "raw",
        "type": "raw1d_deep",
        **scores,
        "valid_accuracy": float(rng.uniform(0.5, 0.9)),
        "n_test": n_test,
        "n_windows": 2 * n_test,
        "n_params": 12345,
        "architecture": "Sequential(...)",
        "train_seconds": float(rng.uniform(10, 20)),
        "inference_clips_per_second": float(rng.uniform(100, 200)),
        "device": "cpu",
        "pretrained": False,
        "weight_source": None,
        "epochs": 3,
        "seed": seed,
        "fold": fold,
        "eval_windows": "sliding",
        "settings": {"type": "raw1d_deep", "channels": 64},
        "procedure": {"type": "raw1d_deep", "architecture.channels": 64},
    }


def test_aggregate_is_the_mean_of_the_runs():
    runs = [run_metrics(seed) for seed in (0, 1, 2)]
    summary = aggregate_runs(runs)
    for key in MEAN_KEYS:
        values = [r[key] for r in runs]
        assert summary[key] == pytest.approx(np.mean(values))
        assert summary["std"][key] == pytest.approx(np.std(values, ddof=1))
    assert summary["std"]["accuracy"] > 0
    for label in CLASSES:
        for key in ("precision", "recall", "f1"):
            expected = np.mean([r["per_class"][label][key] for r in runs])
            assert summary["per_class"][label][key] == pytest.approx(expected)
    assert summary["n_runs"] == 3 and summary["seeds"] == [0, 1, 2]
    assert [r["seed"] for r in summary["runs"]] == [0, 1, 2]
    assert [r["accuracy"] for r in summary["runs"]] == [r["accuracy"] for r in runs]
    assert set(summary["runs"][0]) == {
        "seed", "fold", "accuracy", "balanced_accuracy", "macro_f1", "valid_accuracy",
    }  # fmt: skip
    # everything a single run has, a summary has too
    assert set(runs[0]) <= set(summary)
    for key in ("architecture", "device", "pretrained", "weight_source", "settings", "type"):
        assert summary[key] == runs[0][key]


def test_confusion_matrices_and_supports_are_summed():
    runs = [run_metrics(3, fold=1, n_test=20), run_metrics(4, fold=2, n_test=25)]
    summary = aggregate_runs(runs)
    matrix = np.array(summary["confusion_matrix"]["matrix"])
    expected = sum(np.array(r["confusion_matrix"]["matrix"]) for r in runs)
    assert summary["confusion_matrix"]["labels"] == CLASSES
    assert (matrix == expected).all() and matrix.sum() == 45
    supports = [summary["per_class"][c]["support"] for c in CLASSES]
    assert supports == matrix.sum(axis=1).tolist()
    assert summary["n_windows"] == 90 and summary["n_predictions"] == 45


def test_n_test_counts_distinct_clips_over_folds_and_seeds():
    seeds_only = aggregate_runs([run_metrics(s, n_test=30) for s in (0, 1, 2)])
    assert seeds_only["n_test"] == 30 and seeds_only["n_predictions"] == 90
    folds = [run_metrics(s, fold=f, n_test=n) for s in (0, 1) for f, n in ((1, 10), (2, 12))]
    summary = aggregate_runs(folds)
    assert summary["n_test"] == 22 and summary["n_predictions"] == 44
    assert summary["folds"] == [1, 2] and summary["seeds"] == [0, 1]
    with pytest.raises(ValueError, match="different numbers of test clips"):
        aggregate_runs([run_metrics(0, n_test=30), run_metrics(1, n_test=31)])


def test_one_run_is_itself_with_zero_std():
    run = run_metrics(5)
    summary = aggregate_runs([run])
    for key in MEAN_KEYS:
        assert summary[key] == pytest.approx(run[key])
        assert summary["std"][key] == 0.0
    assert summary["confusion_matrix"] == run["confusion_matrix"]
    assert summary["per_class"] == run["per_class"]  # the mean of one value is that value
    assert summary["n_runs"] == 1 and summary["n_test"] == run["n_test"]


def test_missing_valid_accuracy_stays_missing():
    runs = [{**run_metrics(s), "valid_accuracy": None} for s in (0, 1)]
    summary = aggregate_runs(runs)
    assert summary["valid_accuracy"] is None and summary["std"]["valid_accuracy"] is None


def test_mixed_models_or_labels_are_errors():
    with pytest.raises(ValueError, match="'model'"):
        aggregate_runs([run_metrics(0), {**run_metrics(1), "model": "spectrogram"}])
    other = run_metrics(1)
    other["confusion_matrix"] = {**other["confusion_matrix"], "labels": ["a", "b", "c"]}
    with pytest.raises(ValueError, match="run 1"):
        aggregate_runs([run_metrics(0), other])
    with pytest.raises(ValueError, match="at least one"):
        aggregate_runs([])


def test_seeds_on_test_sets_of_their_own_count_every_distinct_clip(tmp_path):
    """split.vary_with_seed (and test_on: verified): seeds test different clips, even
    different numbers of them; the summary counts the clips from the predictions."""
    import pandas as pd

    from audioclf.contracts import METRICS, PREDICTIONS
    from audioclf.evaluate.compare import summarize_model

    metrics, predictions = [], []
    for seed, names in ((0, ["a", "b", "c"]), (1, ["c", "d"])):
        run = {**run_metrics(seed, n_test=len(names)), "eval_device": "cpu", "lr": 0.001,
               "batch_size": 8, "weight_decay": 0.01}  # fmt: skip
        METRICS.write(tmp_path / f"{seed}.json", run)
        frame = pd.DataFrame({"fname": names, "label": "bark", "predicted": "bark",
                              "confidence": 1.0})  # fmt: skip
        PREDICTIONS.write(tmp_path / f"{seed}.csv", frame)
        metrics.append(tmp_path / f"{seed}.json")
        predictions.append(tmp_path / f"{seed}.csv")
    summary = summarize_model(metrics, predictions, tmp_path / "m.json", tmp_path / "p.csv")
    assert summary["n_test"] == 3 and summary["n_test_all_seeds"] == 4
    assert summary["n_predictions"] == 5
