"""The page's audio players: cached clips encoded as OGG Vorbis data URIs, and which test
clips the Errors section plays."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import soundfile as sf

from audioclf.contracts import CLIP_SOURCE_COLUMNS
from audioclf.preprocess.cache import PackedClips
from audioclf.report.formatting import number, percent
from audioclf.report.inputs import ModelRun

AUDIO_MIME = "audio/ogg"
SOURCE_NAMES = {"license": "licence", "freesound_id": "Freesound id"}  # as the page says them


def ogg_data_uri(samples: np.ndarray, sample_rate: int) -> str:
    """`samples` (mono float) as an OGG Vorbis file in a base64 data URI for <audio src>."""
    encoded = io.BytesIO()
    sf.write(encoded, np.asarray(samples, dtype=np.float32), sample_rate, format="OGG",
             subtype="VORBIS")  # fmt: skip
    return f"data:{AUDIO_MIME};base64,{base64.b64encode(encoded.getvalue()).decode('ascii')}"


@dataclass(frozen=True)
class Player:
    """One cached clip with its player and what the page says about it."""

    fname: str
    label: str
    src: str  # the data URI
    played: str  # "3.10 s" or "the first 10.00 s of 27.31 s"
    source: str  # "licence CC BY 4.0, Freesound id 1234", or ""
    predictions: list[dict] = field(default_factory=list)  # {model, predicted, confidence, wrong}

    @property
    def missed_by(self) -> list[str]:
        return [p["model"] for p in self.predictions if p["wrong"]]


def clip_player(
    fname: str,
    cache: PackedClips,
    subset: pd.DataFrame,
    max_seconds: float,
    predictions: list[dict] | None = None,
) -> Player:
    """Clip `fname` as the cache holds it (the 16 kHz audio the models heard), at most its
    first `max_seconds`, labelled with its true label and source."""
    index = cache.index([fname])[0]
    rate = int(cache.sample_rate)
    samples = cache.clip(index).numpy()
    kept = samples[: max(1, int(round(max_seconds * rate)))]
    played = f"{number(samples.size / rate, 2)} s"
    if kept.size < samples.size:
        played = f"the first {number(kept.size / rate, 2)} s of {played}"
    return Player(
        fname=fname,
        label=cache.labels[index],
        src=ogg_data_uri(kept, rate),
        played=played,
        source=source_words(subset, fname),
        predictions=predictions or [],
    )


def source_words(subset: pd.DataFrame, fname: str) -> str:
    """'licence CC0, Freesound id 1234' from subset.csv's columns that the dataset has."""
    row = subset[subset["fname"] == fname]
    if row.empty:
        return ""
    words = []
    for column in CLIP_SOURCE_COLUMNS:
        value = str(row[column].iloc[0]).strip() if column in row.columns else ""
        if value:
            words.append(f"{SOURCE_NAMES.get(column, column)} {value}")
    return ", ".join(words)


def clip_predictions(merged: pd.DataFrame, runs: list[ModelRun], fname: str) -> list[dict]:
    """Every model's prediction for test clip `fname` (none when it is not a test clip)."""
    rows = merged[merged["fname"] == fname]
    if rows.empty:
        return []
    row = rows.iloc[0]
    return [
        {
            "model": run.name,
            "predicted": str(row[f"predicted:{run.name}"]),
            "confidence": percent(float(row[f"confidence:{run.name}"]), 0),
            "wrong": bool(row[f"wrong:{run.name}"]),
        }
        for run in runs
    ]


def missed_fnames(merged: pd.DataFrame, runs: list[ModelRun], per_model: int) -> list[str]:
    """Each model's `per_model` most confident mistakes, every clip once: the clips most
    models got wrong first, then by true label and name."""
    chosen: set[str] = set()
    for run in runs:
        wrong = merged[merged[f"wrong:{run.name}"]]
        wrong = wrong.sort_values([f"confidence:{run.name}", "fname"], ascending=[False, True])
        chosen.update(wrong["fname"].head(per_model))
    picked = merged[merged["fname"].isin(chosen)].copy()
    picked["n_wrong"] = picked[[f"wrong:{r.name}" for r in runs]].sum(axis=1)
    picked = picked.sort_values(["n_wrong", "label", "fname"], ascending=[False, True, True])
    return picked["fname"].tolist()


def error_players(
    merged: pd.DataFrame,
    runs: list[ModelRun],
    cache: PackedClips,
    subset: pd.DataFrame,
    per_model: int,
    max_seconds: float,
) -> list[Player]:
    """A player for each test clip the Errors section plays (missed_fnames), with every
    model's prediction for it; `merged` is the runs' prediction_matrix."""
    return [
        clip_player(fname, cache, subset, max_seconds, clip_predictions(merged, runs, fname))
        for fname in missed_fnames(merged, runs, per_model)
    ]
