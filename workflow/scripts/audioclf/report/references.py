"""The report's reference table: a known benchmark's published accuracies beside this run's,
and the ways this run's protocol differs from the official one."""

from __future__ import annotations

from audioclf.datasets.benchmarks import BENCHMARKS, Benchmark, benchmark_name
from audioclf.report.formatting import percent
from audioclf.report.inputs import ModelRun
from audioclf.runs import fold_name, sorted_folds
from audioclf.split.write import fold_valid_fraction


def protocol_differences(
    bench: Benchmark, method: str, folds_run: list, n_labels: int
) -> list[str]:
    """How a run departs from `bench`'s official protocol (cross-validation over its folds,
    every fold once the test fold, all its classes), in words; [] when it follows it."""
    official = list(bench.folds)
    words = []
    if method != "folds":
        words.append(
            f"a {method} split instead of the official {len(official)}-fold cross-validation"
        )
    else:
        run = sorted_folds(folds_run)
        if run != official:
            words.append(
                f"only fold{'s' if len(run) != 1 else ''} {', '.join(run)} of "
                f"{official[0]}-{official[-1]} as the test fold (split.test_folds), so the mean "
                "is over fewer test clips than the published one"
            )
    if n_labels != bench.n_classes:
        words.append(f"{n_labels} of its {bench.n_classes} classes (labels)")
    return words


def departures(
    bench: Benchmark, method: str, fractions: dict | None, n_excluded: int, n_subset: int
) -> list[str]:
    """What a run under the official folds still does its own way, in words, with the
    numbers: the validation clips taken out of the training folds, and the clips that
    preprocessing excluded (tested in no fold)."""
    words = []
    if method == "folds" and fractions:
        share = fold_valid_fraction(fractions)
        words.append(
            f"{share:.0%} of each label's clips in the {len(bench.folds) - 1} training folds "
            "(at least one) are held out as the validation set (split.fractions: valid / "
            "(train + valid)), so each model trains on the rest of them, not on all of them"
        )
    if n_excluded:
        words.append(
            f"{n_excluded} of the {n_subset} clips were excluded in preprocessing (Data "
            f"section, results/data/excluded.csv), so no fold tests them: the accuracy is "
            f"over {n_subset - n_excluded} clips"
        )
    return words


def reference_view(
    config: dict, runs: list[ModelRun], n_labels: int, n_excluded: int = 0, n_subset: int = 0
) -> dict | None:
    """The reference section's content, or None for a dataset that is no known benchmark.
    `n_excluded` of the run's `n_subset` clips were excluded in preprocessing."""
    name = benchmark_name(config.get("dataset") or {})
    if name is None:
        return None
    bench = BENCHMARKS[name]
    split = config.get("split") or {}
    method = str(split.get("method"))
    folds_run = sorted({fold_name(f) for r in runs for f in r.folds})
    return {
        "title": bench.title,
        "n_folds": len(bench.folds),
        "published": [
            {
                "method": r.method,
                "accuracy": f"{r.accuracy:.1f}%",
                "citation": r.citation,
                "checked_in": r.checked_in,
                "note": r.note,
            }
            for r in sorted(bench.references, key=lambda r: -r.accuracy)
        ],  # fmt: skip
        "this_run": [{"name": r.name, "accuracy": percent(r.accuracy)} for r in runs],
        "differences": protocol_differences(bench, method, folds_run, n_labels),
        "departures": departures(bench, method, split.get("fractions"), n_excluded, n_subset),
    }
