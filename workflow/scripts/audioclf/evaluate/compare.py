"""One model's runs summarised, and every pair of models compared on paired predictions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import combinations

import pandas as pd

from audioclf.contracts import COMPARISON, METRICS, PREDICTIONS, SUMMARY
from audioclf.evaluate.aggregate import aggregate_runs
from audioclf.evaluate.stats import compare_predictions, describe_comparison


def summarize_model(
    metrics_paths: Sequence[str | os.PathLike],
    predictions_paths: Sequence[str | os.PathLike],
    out_metrics: str | os.PathLike,
    out_predictions: str | os.PathLike,
) -> dict:
    """The summary metrics.json over runs, and the first seed's predictions (all its folds)."""
    runs = [METRICS.read(p) for p in metrics_paths]
    summary = aggregate_runs(runs)
    first_seed = runs[0].get("seed")
    frames = [
        PREDICTIONS.read(path)
        for path, run in zip(predictions_paths, runs, strict=True)
        if run.get("seed") == first_seed
    ]
    PREDICTIONS.write(out_predictions, pd.concat(frames, ignore_index=True))
    SUMMARY.write(out_metrics, summary)
    return summary


def compare_models(
    models: dict[str, dict],
    out_json: str | os.PathLike,
    n_draws: int = 10000,
    seed: int = 0,
) -> dict:
    """Paired bootstrap CI and McNemar for every pair of models: the best against the rest first.

    `models` maps a name to {"summary": its summary metrics.json, "runs": [its per-run
    metrics.json], "predictions": [its per-run predictions.csv]} (runs in the same order).
    """
    loaded = {}
    for name, paths in models.items():
        runs = [METRICS.read(p) for p in paths["runs"]]
        frames = [PREDICTIONS.read(p) for p in paths["predictions"]]
        accuracy = SUMMARY.read(paths["summary"])["accuracy"]
        loaded[name] = (accuracy, frames, [r.get("seed") for r in runs])
    ranked = sorted(loaded, key=lambda n: -loaded[n][0])
    pairs = [(ranked[0], other) for other in ranked[1:]]
    pairs += [p for p in combinations(ranked, 2) if p not in pairs]
    comparisons = []
    for a, b in pairs:
        result = compare_predictions(
            loaded[a][1], loaded[a][2], loaded[b][1], loaded[b][2], n_draws=n_draws, seed=seed
        )
        n_seeds = len(set(loaded[a][2]))
        sentence = describe_comparison(a, b, result, n_seeds)
        comparisons.append({"model_a": a, "model_b": b, "sentence": sentence, **result})
    n_seeds = len(set(loaded[ranked[0]][2])) if ranked else 0
    output = {"n_seeds": n_seeds, "comparisons": comparisons}
    COMPARISON.write(out_json, output)
    for row in comparisons:
        print(row["sentence"])
    return output
