"""The report's reference table: a known benchmark's published accuracies beside this run's,
and the ways this run's protocol differs from the official one."""

from __future__ import annotations

from audioclf.datasets.benchmarks import BENCHMARKS, Benchmark, benchmark_name
from audioclf.report.formatting import percent
from audioclf.report.inputs import ModelRun
from audioclf.runs import fold_name, sorted_folds


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


def reference_view(config: dict, runs: list[ModelRun], n_labels: int) -> dict | None:
    """The reference section's content, or None for a dataset that is no known benchmark."""
    name = benchmark_name(config.get("dataset") or {})
    if name is None:
        return None
    bench = BENCHMARKS[name]
    method = str((config.get("split") or {}).get("method"))
    folds_run = sorted({fold_name(f) for r in runs for f in r.folds})
    differences = protocol_differences(bench, method, folds_run, n_labels)
    return {
        "title": bench.title,
        "n_folds": len(bench.folds),
        "published": [
            {"method": r.method, "accuracy": f"{r.accuracy:.1f}%", "citation": r.citation}
            for r in sorted(bench.references, key=lambda r: -r.accuracy)
        ],
        "checked_in": sorted({r.checked_in for r in bench.references}),
        "this_run": [{"name": r.name, "accuracy": percent(r.accuracy)} for r in runs],
        "differences": differences,
    }
