"""The page's tables as rows of already formatted text; the template only lays them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from audioclf.contracts import EXCLUDED, SPLIT_NAMES, reason_kind
from audioclf.report.formatting import duration, integer, number, percent
from audioclf.report.inputs import ModelRun


@dataclass
class Table:
    """Column headers and rows of display strings; `numeric` columns are right-aligned."""

    columns: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)


@dataclass
class MetricRow:
    """One row of the results table: a metric's key, its header and each model's cell."""

    key: str
    header: str
    cells: list[tuple[str, str, str | None]]  # (model name, mean as shown, ± std or None)


@dataclass
class RunRow:
    """One run of one model in the per-run table: (field, display text) per column."""

    model: str
    run: int
    cells: list[tuple[str, str]]


def class_order(runs: list[ModelRun]) -> list[str]:
    """The first model's confusion-matrix label order, used for every model."""
    return list(runs[0].metrics["confusion_matrix"]["labels"])


def _in_points(fraction: float | None) -> str:
    """A spread of fractions in percentage points, as shown after '±'."""
    return number(None if fraction is None else 100 * fraction, 1)


def results_rows(runs: list[ModelRun]) -> list[MetricRow]:
    """Each metric of metrics.json as shown: fractions in %, F1 to 3 decimals, seconds to 0.1.

    Values are the means over a model's runs; a model with several runs also gets the sample
    standard deviation over them (metrics.json `std`), in the mean's unit (points for a %).
    """

    def row(key: str, header: str, show, spread=None) -> MetricRow:
        cells = []
        for r in runs:
            std = r.metrics.get("std", {}).get(key)
            shown = spread(std) if spread and r.n_runs > 1 and std is not None else None
            cells.append((r.name, show(r.metrics), shown))
        return MetricRow(key, header, cells)

    three, one = partial(number, digits=3), partial(number, digits=1)
    rows = [
        row("accuracy", "test accuracy", lambda m: percent(m["accuracy"]), _in_points),
        row(
            "balanced_accuracy",
            "balanced accuracy",
            lambda m: percent(m["balanced_accuracy"]),
            _in_points,
        ),
        row("macro_f1", "macro F1", lambda m: number(m["macro_f1"], 3), three),
    ]
    for label in class_order(runs):
        rows.append(
            row(
                f"recall:{label}",
                f"recall: {label}",
                lambda m, label=label: percent(m["per_class"][label]["recall"]),
            )
        )
    rows += [
        row("valid_accuracy", "valid accuracy", lambda m: percent(m["valid_accuracy"]), _in_points),
        row(
            "train_seconds",
            "training time per run (s)",
            lambda m: number(m["train_seconds"], 1),
            one,
        ),
        row(
            "inference_clips_per_second",
            "inference (clips/s)",
            lambda m: number(m["inference_clips_per_second"], 1),
            one,
        ),
        row("n_params", "parameters", lambda m: integer(m["n_params"])),
    ]
    return rows


RUN_FIELDS = (
    ("seed", "seed"),
    ("fold", "fold"),
    ("accuracy", "test accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("macro_f1", "macro F1"),
    ("valid_accuracy", "valid accuracy"),
)


def label_check_table(runs: list[ModelRun]) -> Table | None:
    """Each model's test accuracy on clips whose label a human verified and on the others,
    with counts (clip-runs over its runs); None when no model's data records label checks."""
    checked = [r for r in runs if r.metrics.get("label_checks")]
    if not checked:
        return None
    rows = []
    for run in checked:
        groups = run.metrics["label_checks"]
        row = [run.name]
        for name in ("verified", "unverified"):
            g = groups[name]
            row += [percent(g["accuracy"]), integer(g["n_test"])]
        rows.append(row)
    columns = ["model", "verified: accuracy", "clips", "unverified: accuracy", "clips"]
    return Table(columns, rows, numeric={1, 2, 3, 4})


def label_check_sentence(split: pd.DataFrame, test_on: str) -> str | None:
    """How many of this split's clips carry a label no human checked; None without flags."""
    if "manually_verified" not in split.columns:
        return None
    unchecked = split["manually_verified"].fillna(0).astype(int) == 0
    test = split["split"] == "test"
    words = (
        f"{integer(int(unchecked.sum()))} of the {integer(len(split))} clips in the first "
        f"run's split carry a label no human checked (manually_verified = 0): "
        f"{integer(int((unchecked & test).sum()))} of its {integer(int(test.sum()))} test clips."
    )
    if test_on == "verified":
        words += (
            " Testing is on verified clips only (split.test_on: verified); train and valid "
            "keep every clip."
        )
    return words


def group_view(split: pd.DataFrame, column: str | None) -> dict | None:
    """How the split kept groups apart (split.csv's `group`): the CSV column mapped as
    dataset.columns.group, the number of groups, of them per part, and any group in two
    parts; None when the split has no groups."""
    if "group" not in split.columns:
        return None
    parts = split.groupby("group")["split"].unique()
    per_part = split.groupby("split")["group"].nunique()
    return {
        "column": column or "group",
        "n_groups": integer(len(parts)),
        "per_part": ", ".join(
            f"{integer(int(per_part[name]))} {name}" for name in SPLIT_NAMES if name in per_part
        ),
        "crossing": sorted(str(group) for group, names in parts.items() if len(names) > 1),
    }


def copies_view(clips: pd.DataFrame, excluded: pd.DataFrame, split: pd.DataFrame) -> dict:
    """Copies of the same audio: the groups of usable clips with equal samples_hash
    (clips.csv) and the clips in them, the copies excluded for carrying different labels,
    the groups that `split` (the first run's) has in two parts, and the clips it leaves out
    as copies of a test clip."""
    from audioclf.preprocess.clips import is_label_conflict

    sizes = clips["samples_hash"].value_counts()
    sizes = sizes[sizes > 1]
    placed = split[["fname", "split"]].merge(clips[["fname", "samples_hash"]], on="fname")
    parts = placed.groupby("samples_hash")["split"].nunique()
    tested = set(placed.loc[placed["split"] == "test", "samples_hash"])
    left_out = ~clips["fname"].isin(split["fname"]) & clips["samples_hash"].isin(tested)
    return {
        "n_groups": len(sizes),
        "n_copies": int(sizes.sum()),
        "n_conflicts": sum(map(is_label_conflict, excluded["reason"])),
        "n_crossing": int((parts > 1).sum()),
        "n_left_out": int(left_out.sum()),
    }


def run_table(runs: list[ModelRun]) -> tuple[list[tuple[str, str]], list[RunRow]]:
    """(field, header) columns and one row per run of every model (metrics.json `runs`).

    The fold column is left out when no model was cross-validated.
    """
    with_folds = any(r.folds for r in runs)
    columns = [(f, h) for f, h in RUN_FIELDS if with_folds or f != "fold"]
    show = {
        "seed": lambda v: "—" if v is None else str(v),
        "fold": lambda v: "—" if v is None else str(v),
        "accuracy": percent,
        "balanced_accuracy": percent,
        "macro_f1": partial(number, digits=3),
        "valid_accuracy": percent,
    }
    rows = [
        RunRow(model.name, i, [(f, show[f](run.get(f))) for f, _ in columns])
        for model in runs
        for i, run in enumerate(model.runs)
    ]
    return columns, rows


def frame_table(frame: pd.DataFrame) -> Table:
    """Any data frame as text, numbers right-aligned."""
    numeric = {i for i, c in enumerate(frame.columns) if pd.api.types.is_numeric_dtype(frame[c])}
    rows = [
        [integer(v) if pd.api.types.is_integer(v) else str(v) for v in record]
        for record in frame.itertuples(index=False)
    ]
    return Table([str(c) for c in frame.columns], rows, numeric)


def duration_table(clips: pd.DataFrame, labels: list[str]) -> Table:
    """Per label: clips, total and mean duration before and after silence removal."""
    rows = []
    for label in labels:
        part = clips[clips["label"] == label]
        rows.append(_duration_row(label, part))
    rows.append(_duration_row("total", clips))
    columns = [
        "label",
        "clips",
        "original total",
        "trimmed total",
        "original mean (s)",
        "trimmed mean (s)",
        "kept after trimming",
    ]
    return Table(columns, rows, numeric=set(range(1, len(columns))))


def _duration_row(label: str, part: pd.DataFrame) -> list[str]:
    original = float(part["original_seconds"].sum())
    trimmed = float(part["trimmed_seconds"].sum())
    return [
        label,
        integer(len(part)),
        duration(original),
        duration(trimmed),
        number(part["original_seconds"].mean(), 2) if len(part) else "—",
        number(part["trimmed_seconds"].mean(), 2) if len(part) else "—",
        percent(trimmed / original) if original > 0 else "—",
    ]


def excluded_reasons(excluded: pd.DataFrame) -> Table:
    """Excluded clips per kind of reason (reason_kind: "silent", not each file's peak;
    excluded_list has every file's whole reason)."""
    counts = excluded["reason"].map(reason_kind).value_counts()
    rows = [[str(reason), integer(n)] for reason, n in counts.items()]
    return Table(["reason", "clips"], rows, numeric={1})


def excluded_list(excluded: pd.DataFrame) -> Table:
    return frame_table(excluded[list(EXCLUDED.columns)])


def prediction_matrix(runs: list[ModelRun]) -> pd.DataFrame:
    """Test clips (first model's order) x models: label, each model's prediction and confidence."""
    base = runs[0].predictions[["fname", "label"]]
    merged = base
    for run in runs:
        part = run.predictions[["fname", "label", "predicted", "confidence"]].rename(
            columns={
                "label": f"label:{run.name}",
                "predicted": f"predicted:{run.name}",
                "confidence": f"confidence:{run.name}",
            }
        )
        merged = merged.merge(part, on="fname", how="inner", validate="one_to_one")
        disagree = merged[merged["label"] != merged[f"label:{run.name}"]]
        if len(disagree):
            raise ValueError(
                f"predictions of {runs[0].name!r} and {run.name!r} give different true labels "
                f"for {len(disagree)} clip(s), e.g. {disagree['fname'].iloc[0]!r}; "
                "rerun evaluate_model on the same split"
            )
    for run in runs:
        merged[f"wrong:{run.name}"] = merged[f"predicted:{run.name}"] != merged["label"]
    return merged


def error_tables(runs: list[ModelRun]) -> tuple[Table, Table | None]:
    """Clips every model got wrong, and clips exactly one model got wrong (None with one model)."""
    merged = prediction_matrix(runs)
    wrong = merged[[f"wrong:{r.name}" for r in runs]]
    n_wrong = wrong.sum(axis=1)
    columns = ["fname", "label"] + [f"{r.name}: predicted (confidence)" for r in runs]
    all_wrong = _error_table(merged[n_wrong == len(runs)], runs, columns)
    if len(runs) < 2:
        return all_wrong, None
    only_one = merged[n_wrong == 1].copy()
    only_one["who"] = [
        next(r.name for r in runs if row[f"wrong:{r.name}"]) for _, row in only_one.iterrows()
    ]
    # Group by the model that erred, so each model's own mistakes read as one block.
    only_one["who_order"] = only_one["who"].map({r.name: i for i, r in enumerate(runs)})
    only_one = only_one.sort_values(["who_order", "label", "fname"], kind="stable")
    return all_wrong, _error_table(only_one, runs, ["wrong only in", *columns], who=True)


def _error_table(frame: pd.DataFrame, runs: list[ModelRun], columns, who: bool = False) -> Table:
    rows = []
    for _, record in frame.iterrows():
        cells = [record["fname"], record["label"]]
        for run in runs:
            mark = "✗ " if record[f"wrong:{run.name}"] else "✓ "
            cells.append(
                f"{mark}{record[f'predicted:{run.name}']} "
                f"({percent(float(record[f'confidence:{run.name}']), 0)})"
            )
        rows.append(([record["who"]] if who else []) + cells)
    return Table(list(columns), rows)
