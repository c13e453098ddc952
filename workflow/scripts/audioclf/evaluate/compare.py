"""One model's runs summarised, and every pair of models compared on paired predictions."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from itertools import combinations

import pandas as pd

from audioclf.contracts import COMPARISON, METRICS, PREDICTIONS, SUMMARY
from audioclf.evaluate.aggregate import aggregate_runs
from audioclf.evaluate.stats import (
    compare_predictions,
    describe_comparison,
    describe_contrast,
    holm,
)
from audioclf.io import log
from audioclf.procedure import also_differs, factor_differs, metrics_record, unmeasured_reason


def summarize_model(
    metrics_paths: Sequence[str | os.PathLike],
    predictions_paths: Sequence[str | os.PathLike],
    out_metrics: str | os.PathLike,
    out_predictions: str | os.PathLike,
) -> dict:
    """The summary metrics.json over runs, and the first seed's predictions (all its folds).
    `n_test` counts the first seed's test clips, `n_test_all_seeds` those of every seed
    (more with split.vary_with_seed)."""
    runs = [METRICS.read(p) for p in metrics_paths]
    tables = [PREDICTIONS.read(path) for path in predictions_paths]
    first_seed = runs[0].get("seed")
    frames = [
        table for table, run in zip(tables, runs, strict=True) if run.get("seed") == first_seed
    ]
    # n_test: the first seed's test clips (its folds together), what its predictions hold;
    # with split.vary_with_seed the other seeds test clips of their own, counted apart
    first = set().union(*(set(t["fname"].astype(str)) for t in frames))
    summary = aggregate_runs(runs, test_clips=len(first))
    summary["n_test_all_seeds"] = len(set().union(*(set(t["fname"].astype(str)) for t in tables)))
    PREDICTIONS.write(out_predictions, pd.concat(frames, ignore_index=True))
    SUMMARY.write(out_metrics, summary)
    return summary


def compare_models(
    models: dict[str, dict],
    out_json: str | os.PathLike,
    contrasts: Sequence[Mapping] = (),
    level: float = 0.95,
) -> dict:
    """Every pair of models (the best against the rest first, exploratory) and every
    configured contrast (the primary questions), each paired seed with seed: the mean
    accuracy difference with its t interval over seeds and test clips and that interval's
    p, and McNemar's exact test per seed.

    `models` maps a name to {"summary": its summary metrics.json, "runs": [its per-run
    metrics.json], "predictions": [its per-run predictions.csv]} (runs in the same order).
    `contrasts`: {name, question, factor, a, b}. Each contrast's two procedure records are
    compared run by run: what differs outside its factor is `also_differs`; a contrast whose
    models do not differ in its factor is `measured: false` with the reason; the measured
    ones' p are Holm-adjusted together (`p_adjusted`), which decides "clear". A contrast
    whose models are not both in `models` is listed in `skipped_contrasts`, never an error.
    """
    loaded = {}
    for name, paths in models.items():
        runs = [METRICS.read(p) for p in paths["runs"]]
        frames = [PREDICTIONS.read(p) for p in paths["predictions"]]
        accuracy = SUMMARY.read(paths["summary"])["accuracy"]
        loaded[name] = (accuracy, frames, [r.get("seed") for r in runs], runs)

    def paired(a: str, b: str) -> dict:
        return compare_predictions(
            loaded[a][1], loaded[a][2], loaded[b][1], loaded[b][2], level=level
        )

    ranked = sorted(loaded, key=lambda n: -loaded[n][0])
    pairs = [(ranked[0], other) for other in ranked[1:]]
    pairs += [p for p in combinations(ranked, 2) if p not in pairs]
    comparisons = []
    for a, b in pairs:
        result = paired(a, b)
        sentence = describe_comparison(a, b, result, result["n_seeds"])
        comparisons.append({"model_a": a, "model_b": b, "sentence": sentence, **result})
    done, skipped = [], []
    for contrast in contrasts:
        a, b = str(contrast["a"]), str(contrast["b"])
        facts = {"name": str(contrast["name"]), "question": str(contrast.get("question", ""))}
        missing = [m for m in (a, b) if m not in loaded]
        if missing:
            reason = f"model(s) {', '.join(missing)} not configured"
            skipped.append({**facts, "a": a, "b": b, "reason": reason})
            log(f"contrast {facts['name']} skipped: {reason}")
            continue
        done.append(
            {**facts, "model_a": a, "model_b": b, **contrast_design(
                contrast.get("factor"), a, b, loaded[a][3], loaded[b][3]
            )}
        )  # fmt: skip
    measured = [c for c in done if c["measured"]]
    for c in measured:
        c.update(paired(c["model_a"], c["model_b"]))
    for c, adjusted in zip(measured, holm([c["p_value"] for c in measured]), strict=True):
        c["p_adjusted"] = adjusted
        c["sentence"] = describe_contrast(c["name"], c["model_a"], c["model_b"], c, len(measured))
    n_seeds = len(set(loaded[ranked[0]][2])) if ranked else 0
    output = {
        "n_seeds": n_seeds,
        "comparisons": comparisons,
        "contrasts": done,
        "skipped_contrasts": skipped,
    }
    COMPARISON.write(out_json, output)
    for row in comparisons + done:
        log(row["sentence"])
    return output


def contrast_design(
    factor: str | None, a: str, b: str, runs_a: Sequence[Mapping], runs_b: Sequence[Mapping]
) -> dict:
    """What a contrast measures, from the procedure records of its runs (paired in order):
    {factor, measured, also_differs} and, when it measures nothing, the reason as its
    sentence. A key that differs in any pair of runs is listed once, with its first values."""
    records = [
        (metrics_record(ra), metrics_record(rb)) for ra, rb in zip(runs_a, runs_b, strict=True)
    ]
    listed: dict[str, dict] = {}
    for record_a, record_b in records:
        for row in also_differs(record_a, record_b, factor):
            listed.setdefault(row["key"], row)
    design = {"factor": factor, "also_differs": list(listed.values())}
    if any(factor_differs(ra, rb, factor) for ra, rb in records):
        return {**design, "measured": True}
    reason = unmeasured_reason(a, b, factor, records[0][0])
    return {**design, "measured": False, "reason": reason, "sentence": reason}
