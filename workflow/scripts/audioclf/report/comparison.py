"""The paired comparisons of comparison.json, checked against the models and laid out."""

from __future__ import annotations

import os
from dataclasses import dataclass

from audioclf.contracts import (
    COMPARISON,
    COMPARISON_PAIR_KEYS,
    CONTRAST_KEYS,
    UNMEASURED_CONTRAST_KEYS,
)
from audioclf.evaluate.stats import p_range, p_text
from audioclf.report.formatting import integer, number
from audioclf.report.inputs import ModelRun, ReportInputError


@dataclass
class Comparisons:
    """comparison.json: the seeds compared over and the pairs, best model against the rest first."""

    n_seeds: int
    pairs: list[dict]
    contrasts: list[dict]  # measured: their models differ in the factor they name
    skipped: list[dict]
    unmeasured: list[dict]  # configured, but their models do not differ in their factor


def read_comparisons(path: str | os.PathLike, runs: list[ModelRun]) -> Comparisons:
    """comparison.json, checked to compare the report's models on their own test clips."""
    data = COMPARISON.read(path)
    if not isinstance(data["comparisons"], list):
        raise ReportInputError(
            f"{path}: expected {{'n_seeds': ..., 'comparisons': [...]}}; "
            "rerun the rule that compares the models"
        )
    by_name = {run.name: run for run in runs}
    entries = [("comparison", p, COMPARISON_PAIR_KEYS) for p in data["comparisons"]]
    entries += [
        ("contrast", c, CONTRAST_KEYS if c.get("measured") else UNMEASURED_CONTRAST_KEYS)
        for c in data["contrasts"]
    ]
    for position, (kind, pair, keys) in enumerate(entries):
        missing = [k for k in keys if k not in pair]
        if missing:
            raise ReportInputError(
                f"{path}: {kind} {position} lacks {missing}; "
                "rerun the rule that compares the models"
            )
        unknown = [pair[k] for k in ("model_a", "model_b") if pair[k] not in by_name]
        if unknown:
            raise ReportInputError(
                f"{path}: {kind} {position} names model(s) {unknown}, but the report has "
                f"{list(by_name)}; rerun the rule that compares the models"
            )
        n_test = int(by_name[pair["model_a"]].metrics["n_test"])
        if pair.get("shared_test_clips") and int(pair["n_clips"]) != n_test:
            raise ReportInputError(
                f"{path}: {kind} {position} ({pair['model_a']} vs {pair['model_b']}) paired "
                f"{pair['n_clips']} test clips, but metrics.json of {pair['model_a']!r} has "
                f"n_test = {n_test}; the comparison is stale, rerun it"
            )
    return Comparisons(
        int(data.get("n_seeds") or 0),
        list(data["comparisons"]),
        [c for c in data["contrasts"] if c["measured"]],
        list(data["skipped_contrasts"]),
        [c for c in data["contrasts"] if not c["measured"]],
    )


def lead_sentences(comparisons: Comparisons, best: str) -> list[str]:
    """The summary's lead: the measured contrasts' sentences (What explains the gap) when
    any could be run, else the sentences comparing the best model with each other model.
    A contrast that measures nothing here is never in the lead."""
    if comparisons.contrasts:
        return [c["sentence"] for c in comparisons.contrasts]
    return [p["sentence"] for p in comparisons.pairs if best in (p["model_a"], p["model_b"])]


def ci_scope(comparisons: Comparisons) -> str:
    """What the confidence intervals cover, in words, from the number of seeds and splits."""
    pairs = comparisons.contrasts or comparisons.pairs
    own_splits = any(not p["shared_test_clips"] for p in pairs)
    if comparisons.n_seeds <= 1:
        return (
            "With one seed, each interval covers test-clip sampling only: it says nothing of "
            "how much another training seed would move the difference (a t interval over the "
            "per-clip differences)."
        )
    if own_splits:
        return (
            f"Each interval is a t interval over the {comparisons.n_seeds} seeds' mean "
            "differences, each on its seed's own test clips, with "
            f"{comparisons.n_seeds - 1} degrees of freedom: it covers seed-to-seed variation "
            "and test-clip sampling together as if the seeds' test sets were independent, "
            "though they are drawn from one dataset and share clips."
        )
    return (
        f"Each interval is a t interval for the mean over the {comparisons.n_seeds} seeds "
        "and the shared test clips, with a variance made of three parts estimated from the "
        "seed-by-clip table of differences: seed-to-seed variation, test-clip sampling and "
        "their interaction; so it covers training again with another seed on the same "
        "training clips and testing on other clips of the same kind, with Satterthwaite's "
        "degrees of freedom (few seeds give few, and a wide interval). It does not cover "
        "another draw of the training clips, other datasets, labels or hyper-parameters."
    )


STATISTICS_FIELDS = (
    ("pair", "A vs B"),
    ("difference", "A − B (points)"),
    ("ci", "confidence interval (points)"),
    ("p_t", "p (unadjusted)"),
    ("b", "b: only A right"),
    ("c", "c: only B right"),
    ("p_value", "McNemar p (per seed)"),
    ("n_seeds", "seeds"),
    ("n_clips", "test clips"),
    ("sentence", "in words"),
)
NUMERIC_FIELDS = {"difference", "ci", "p_t", "b", "c", "p_value", "n_seeds", "n_clips"}


def statistics_rows(comparisons: Comparisons) -> list[list[tuple[str, str]]]:
    """One row of (field, display text) per comparison, in STATISTICS_FIELDS order."""
    rows = []
    for pair in comparisons.pairs:
        shown = {
            "pair": f"{pair['model_a']} vs {pair['model_b']}",
            "difference": number(pair["difference"], 1),
            "ci": f"{number(pair['low'], 1)} to {number(pair['high'], 1)} "
            f"({100 * float(pair['level']):g}%)",
            "p_t": p_text(pair["p_value"]),
            "b": integer(pair["b"]),
            "c": integer(pair["c"]),
            "p_value": p_range(pair),
            "n_seeds": integer(pair["n_seeds"]),
            "n_clips": integer(pair["n_clips"]),
            "sentence": pair["sentence"],
        }
        rows.append([(field, shown[field]) for field, _ in STATISTICS_FIELDS])
    return rows
