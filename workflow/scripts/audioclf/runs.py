"""Run ids, split ids and fold names: how one training run and its split are named.

A run id is `seed<S>` or `fold<K>-seed<S>`; it names the folders of that run's model and
evaluation (results/models/<model>/<run>/, results/eval/<model>/<run>/). A split id is
`seed<S>` (the stratified split drawn with seed S) or `fold<K>` (fold K is the test set);
it names results/data/splits/<split>/. A data-size curve's run and split ids end in
`-train<P>`: P percent of the train split's clips per label (the same valid and test).
Fold names are parsed here and nowhere else.
Light on purpose: the Snakefile imports this module at every start.
"""

from __future__ import annotations

import os
import re

FOLD_PATTERN = r"[A-Za-z0-9_.]+"
TRAIN_PATTERN = r"(-train[0-9]{1,2})?"  # a share of the train split, in percent (1-99)
RUN_PATTERN = rf"(fold{FOLD_PATTERN}-)?seed[0-9]+{TRAIN_PATTERN}"
SPLIT_PATTERN = rf"(seed[0-9]+|fold{FOLD_PATTERN}){TRAIN_PATTERN}"
_TRAIN = r"(?:-train(?P<percent>[0-9]{1,2}))?"
_RUN = re.compile(rf"^(?:fold(?P<fold>{FOLD_PATTERN})-)?seed(?P<seed>[0-9]+){_TRAIN}$")
_SPLIT = re.compile(rf"^(?:seed(?P<seed>[0-9]+)|fold(?P<fold>{FOLD_PATTERN})){_TRAIN}$")


def fold_name(value) -> str:
    """A fold as written in a CSV, normalised: whole numbers lose their decimals ("3", 3.0
    and " 3 " are all "3"); any other value is its stripped text."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def fold_key(name: str) -> tuple:
    """Sort key of fold names: whole numbers first, by value, then the rest as text."""
    try:
        return (0, int(name), "")
    except ValueError:
        return (1, 0, name)


def sorted_folds(values) -> list[str]:
    """The distinct fold names among `values` (blanks dropped), in fold_key order."""
    return sorted({fold_name(v) for v in values} - {""}, key=fold_key)


def run_ids(seeds: list[int], folds: list | None = None) -> list[str]:
    """Every run: each seed, and with folds each fold of each seed (seed-major order)."""
    if not folds:
        return [f"seed{s}" for s in seeds]
    return [f"fold{f}-seed{s}" for s in seeds for f in folds]


def train_percent(fraction) -> int | None:
    """A train fraction as the percent its ids carry (None for the whole train split)."""
    value = float(fraction)
    if value == 1.0:
        return None
    percent = round(100 * value)
    if not 1 <= percent <= 99 or abs(100 * value - percent) > 1e-9:
        raise ValueError(
            f"train_fractions: {fraction} must be a whole percent between 0.01 and 0.99 "
            "(0.25, not 0.255) or 1.0"
        )
    return percent


def curve_ids(ids: list[str], fractions) -> list[str]:
    """The data-size curve's ids: each of `ids` (runs or splits) at each fraction below 1."""
    percents = [p for p in (train_percent(f) for f in fractions) if p is not None]
    return [f"{i}-train{p}" for p in sorted(set(percents)) for i in ids]


def parse_train_fraction(run_or_split: str) -> float:
    """The share of the train split a run or split id uses (1.0 without `-train<P>`)."""
    match = _RUN.match(run_or_split) or _SPLIT.match(run_or_split)
    if not match:
        raise ValueError(f"{run_or_split!r} is not a run or split id")
    percent = match.group("percent")
    return 1.0 if percent is None else int(percent) / 100


def parse_run(run: str) -> tuple[str | None, int]:
    """(fold or None, seed) of a run id."""
    match = _RUN.match(run)
    if not match:
        raise ValueError(f"{run!r} is not a run id (seed<S> or fold<K>-seed<S>, -train<P>)")
    return match.group("fold"), int(match.group("seed"))


def split_id(run: str, vary_with_seed: bool, split_seed: int) -> str:
    """The split a run trains and tests on: its fold, its own seed's split, or the fixed one
    (with the run's `-train<P>`, that split's train clips cut down)."""
    fold, seed = parse_run(run)
    percent = _RUN.match(run).group("percent")
    suffix = "" if percent is None else f"-train{percent}"
    if fold is not None:
        return f"fold{fold}{suffix}"
    return f"seed{seed if vary_with_seed else int(split_seed)}{suffix}"


def parse_split(split: str) -> tuple[str | None, int | None]:
    """(fold, None) of `fold<K>`, (None, seed) of `seed<S>`."""
    match = _SPLIT.match(split)
    if not match:
        raise ValueError(f"{split!r} is not a split id (seed<S> or fold<K>, -train<P>)")
    seed = match.group("seed")
    return match.group("fold"), None if seed is None else int(seed)


def folds_in(
    metadata_csv: str | os.PathLike | None,
    test_folds=None,
    fold_column: str = "fold",
    declared: list | None = None,
) -> list[str]:
    """The folds a run cross-validates over, in fold_key order: `declared` (a benchmark's
    official folds, or dataset.folds) when given, else those of a folder dataset's CSV (its
    `fold_column`); only those in `test_folds` (split.test_folds: each one once the test
    fold) when it is given."""
    if declared:
        return chosen_folds(sorted_folds(declared), test_folds, "the declared folds")
    if not metadata_csv:
        raise ValueError(
            "split.method is folds but dataset.metadata is not set: cross-validation needs "
            "a folder dataset whose CSV has a fold column (or dataset.kind esc50)"
        )
    import pandas as pd  # here, not at the top: the Snakefile imports this module at every start

    frame = pd.read_csv(metadata_csv, dtype=str, keep_default_na=False)
    if fold_column not in frame.columns:
        raise ValueError(
            f"{metadata_csv}: split.method is folds but the CSV has no {fold_column} column; "
            "map yours with dataset.columns.fold"
        )
    values = sorted_folds(frame[fold_column])
    return chosen_folds(values, test_folds, str(metadata_csv))


def chosen_folds(values: list[str], test_folds, source: str) -> list[str]:
    """`values` (at least 2 fold names, each fit to name a folder), or only those of them in
    `test_folds` when it is given."""
    if len(values) < 2:
        raise ValueError(f"{source}: cross-validation needs at least 2 folds, found {values}")
    for value in values:
        if not re.fullmatch(FOLD_PATTERN, value):
            raise ValueError(
                f"{source}: fold {value!r} can only hold letters, digits, '_' and '.' "
                "(it names folders); rename it in the fold column"
            )
    if test_folds is None:
        return values
    chosen = [fold_name(f) for f in test_folds]
    unknown = [f for f in chosen if f not in values]
    if unknown or not chosen:
        raise ValueError(
            f"split.test_folds {chosen} must name folds of {source} (its folds: "
            f"{values}); fix split.test_folds or leave it out to test on every fold"
        )
    return [v for v in values if v in chosen]
