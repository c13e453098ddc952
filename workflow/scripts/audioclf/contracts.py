"""Every file passed between stages, declared once: its columns or keys, and how it is read
and written.

Each table (CSV) or record (JSON) below is the one contract between the rule that writes it
and every rule that reads it. Stages call `SPLIT.read(path)`, `METRICS.write(path, data)`
and so on, never pandas or json directly, so a missing column or key fails in one place
with the file, the column and the rule to rerun. Two binary files have their own classes
beside the code that makes them: the packed clip cache (`cache.pt`,
`audioclf.preprocess.cache.PackedClips`) and the model file (`model.pt`,
`audioclf.learn.checkpoint`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from audioclf.io import write_csv, write_json


class ContractError(ValueError):
    """A file passed between stages lacks a declared column or key, or has a wrong value."""


@dataclass(frozen=True)
class Table:
    """A CSV passed between stages: required `columns` (name -> "str" or "number"), columns
    it may have (`optional`), the values some columns are limited to, and the rule that
    writes it (named in errors).

    Text columns stay text: a label "None" or "NA" is a label, never a missing value. Only
    an empty cell of a number column is missing (NaN).
    """

    name: str
    columns: Mapping[str, str]
    made_by: str
    optional: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, tuple] = field(default_factory=dict)
    fix: str = ""  # what to do about a bad file; default: rerun the rule that writes it

    @property
    def remedy(self) -> str:
        return self.fix or f"Rerun {self.made_by} to write it again."

    def _text_columns(self) -> list[str]:
        declared = {**self.columns, **self.optional}
        return [c for c, kind in declared.items() if kind == "str"]

    def require(self, frame: pd.DataFrame, columns, source: str | os.PathLike) -> None:
        """Raise ContractError naming `source` and each of `columns` that `frame` lacks."""
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ContractError(
                f"{source}: {self.name} is missing column(s) {missing}; found "
                f"{list(frame.columns)}. {self.remedy}"
            )

    def check(self, frame: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
        """`frame` itself, once it has every required column and only allowed values."""
        self.require(frame, self.columns, source)
        for column, allowed in self.values.items():
            unknown = sorted(set(frame[column].astype(str)) - set(allowed))
            if unknown:
                raise ContractError(
                    f"{source}: {self.name} column {column!r} has value(s) {unknown}; "
                    f"expected one of {list(allowed)}. {self.remedy}"
                )
        return frame

    def read(self, path: str | os.PathLike) -> pd.DataFrame:
        """The file as a frame, checked; text columns as str, empty text cells as ''."""
        text = self._text_columns()
        frame = pd.read_csv(
            path, dtype={c: str for c in text}, keep_default_na=False, na_values=[""]
        )
        for column in text:
            if column in frame.columns:
                frame[column] = frame[column].fillna("")
        return self.check(frame, path)

    def write(self, path: str | os.PathLike, frame: pd.DataFrame) -> None:
        """Check `frame` and write it without its index, atomically."""
        write_csv(path, self.check(frame, path))


@dataclass(frozen=True)
class Record:
    """A JSON object passed between stages: its required keys and the rule that writes it."""

    name: str
    keys: tuple[str, ...]
    made_by: str

    def check(self, data, source: str | os.PathLike) -> dict:
        if not isinstance(data, dict):
            raise ContractError(
                f"{source}: {self.name} should be a JSON object, got {type(data).__name__}. "
                f"Rerun {self.made_by}."
            )
        missing = [k for k in self.keys if k not in data]
        if missing:
            raise ContractError(
                f"{source}: {self.name} is missing key(s) {missing}. Rerun {self.made_by} to "
                "write it again."
            )
        return data

    def read(self, path: str | os.PathLike) -> dict:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except json.JSONDecodeError as err:
            raise ContractError(
                f"{path}: {self.name} is not valid JSON ({err}). Rerun {self.made_by}."
            ) from err
        return self.check(data, path)

    def write(self, path: str | os.PathLike, data: dict) -> None:
        write_json(path, self.check(data, path))


def _columns(spec: str) -> dict[str, str]:
    """Column kinds from "fname label seconds:number": text unless marked `:number`."""
    return dict((word.split(":") if ":" in word else (word, "str")) for word in spec.split())


SPLIT_NAMES = ("train", "valid", "test")

# where a clip comes from and under which terms, as the dataset's metadata says (FSDKaggle2018
# and the demo have them); the report names them beside each clip it plays
CLIP_SOURCE_COLUMNS = ("license", "freesound_id")
# `exclusion`: why the catalog found a clip's file unreadable without opening it (outside
# the dataset folder, a FIFO, a dangling symlink, ...), '' for the rest (a folder's catalog)
SUBSET = Table(
    "subset.csv (the selected clips)",
    _columns("fname label path"),
    made_by="select_subset",
    optional=_columns(
        "source manually_verified fold group exclusion " + " ".join(CLIP_SOURCE_COLUMNS)
    ),
)
MANIFEST = Table(
    "clips_manifest.csv (the fetched clips)",
    _columns("fname path bytes:number method"),
    made_by="download_audio",
)
# samples_hash: a hash of the clip's samples as cached (audioclf.preprocess.clips:
# samples_hash), equal for copies of the same audio, which the split keeps in one part
CLIPS = Table(
    "clips.csv (the usable clips)",
    _columns("fname label original_seconds:number trimmed_seconds:number samples_hash"),
    made_by="preprocess_audio",
)
# reason: why the file is unusable, as "<kind>" or "<kind> (<details>)" (see reason_kind)
EXCLUDED = Table(
    "excluded.csv (the unusable clips)", _columns("fname label path reason"), "preprocess_audio"
)


def reason_kind(reason: str) -> str:
    """An excluded.csv reason's kind, its text before the first " (": what varies from file
    to file (a peak, a length, a copy's name) is in the parentheses after it, so counts of
    reasons are counted by kind ("silent", "too short", ...)."""
    return reason.split(" (", 1)[0]


SPLIT = Table(
    "split.csv",
    _columns("fname label split"),
    "split_dataset",
    values={"split": SPLIT_NAMES},
    # label checks (datasets that record them); the clip's group (dataset.columns.group)
    optional=_columns("manually_verified:number group"),
)
SPLIT_COUNTS = Table(
    "split_counts.csv",
    _columns("label train:number valid:number test:number total:number"),
    made_by="split_dataset",
)
HISTORY = Table(
    "history.csv (one row per training epoch)",
    _columns(
        "epoch:number train_loss:number valid_loss:number valid_accuracy:number seconds:number"
    ),
    made_by="train_model",
)
HISTORY_PRETRAIN = Table(
    "history.csv of pretraining (one row per autoencoder epoch)",
    _columns("epoch:number loss:number seconds:number"),
    made_by="pretrain_frontend",
)
# Besides these, one prob_<class> column per class of the model.
PREDICTIONS = Table(
    "predictions.csv (test predictions)",
    _columns("fname label predicted confidence:number"),
    made_by="evaluate_model",
)

METRICS = Record(
    "metrics.json (one run's test scores)",
    (
        "model",
        "type",
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "valid_accuracy",
        "n_test",
        "n_windows",
        "per_class",
        "confusion_matrix",
        "n_params",
        "architecture",
        "train_seconds",
        "inference_clips_per_second",
        "device",
        "eval_device",
        "pretrained",
        "weight_source",
        "epochs",
        "lr",
        "batch_size",
        "weight_decay",
        "seed",
        "fold",
        "eval_windows",
        "settings",
        # also `procedure`, audioclf.procedure's record of how the run was trained and
        # scored: not declared, so that a metrics.json without it still reads
        # (audioclf.procedure.metrics_record rebuilds its record)
    ),
    made_by="evaluate_model",
)
SUMMARY = Record(
    "metrics.json (a model's scores over its runs)",
    (*METRICS.keys, "runs", "std", "n_runs", "seeds", "folds", "n_predictions"),
    made_by="summarize_model",
)
CURVES = Table(
    "curves.csv (test accuracy against train clips)",
    _columns("model run fraction:number seed:number n_train:number accuracy:number"),
    made_by="collect_curves",
    optional=_columns("fold epochs_run:number"),
)
COMPARISON = Record(
    "comparison.json (paired statistics)",
    ("n_seeds", "comparisons", "contrasts", "skipped_contrasts"),
    made_by="compare_models",
)
# What compare_models writes per pair of models (in `comparisons`) and per configured
# contrast that could be run (in `contrasts`): names, sentence and
# audioclf.evaluate.stats.compare's result (t interval over seeds and test clips with its
# p, McNemar per seed). A contrast adds its name, question, factor, `measured` and
# `also_differs` ([{key, a, b}] of procedure-record keys outside its factor); a measured one
# the Holm-adjusted `p_adjusted`, an unmeasured one (its models do not differ in its factor)
# only its `reason`, no statistics. `skipped_contrasts` lists {name, question, a, b, reason}
# for those whose models are not configured.
COMPARISON_PAIR_KEYS = (
    "model_a",
    "model_b",
    "sentence",
    "difference",
    "low",
    "high",
    "level",
    "p_value",
    "se",
    "df",
    "n_clips",
    "b",
    "c",
    "p_values",
    "p_min",
    "p_max",
    "per_seed",
    "n_seeds",
    "shared_test_clips",
)
CONTRAST_DESIGN_KEYS = ("name", "question", "factor", "measured", "also_differs")
CONTRAST_KEYS = (*CONTRAST_DESIGN_KEYS, *COMPARISON_PAIR_KEYS, "p_adjusted")
UNMEASURED_CONTRAST_KEYS = (*CONTRAST_DESIGN_KEYS, "model_a", "model_b", "sentence", "reason")
