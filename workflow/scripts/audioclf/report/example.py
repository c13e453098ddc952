"""One real clip of the run through every preprocessing step, for the page's figures."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from audioclf.learn.checkpoint import TrainedModel
from audioclf.learn.crop import centre_start, crop_or_repeat
from audioclf.learn.features import LogMelFrontEnd
from audioclf.learn.limits import FRONT_END_DEFAULTS
from audioclf.preprocess.audio import AudioError, load_audio, to_mono
from audioclf.preprocess.cache import PackedClips

MASK_SEED = 0


@dataclass
class ExampleClip:
    """The clip at each step: decoded file, silence removed, cropped, network image, masked."""

    fname: str
    label: str
    split: str
    path: str
    sample_rate: int
    trimmed: np.ndarray
    cropped: np.ndarray
    crop_start: int
    clip_samples: int
    mel: np.ndarray  # (n_mels, frames): the spectrogram model's normalised log-mel input
    mel_masked: np.ndarray  # the same with its training-time masks, drawn with MASK_SEED
    mel_settings: dict
    mel_source: str
    original: np.ndarray | None = None
    original_rate: int | None = None
    original_channels: int | None = None
    original_note: str | None = None
    mask_seed: int = MASK_SEED


def pick_example(split: pd.DataFrame, cache: PackedClips, wanted: str | None) -> str:
    """`wanted` if given (it must be a usable clip), else the first test clip of split.csv."""
    if wanted:
        if wanted not in cache.fnames:
            raise ValueError(
                f"report.example_clip {wanted!r} is not a usable clip of this run (not in the "
                "packed cache); pick an fname from results/data/clips.csv or set it to null"
            )
        return wanted
    test = split[split["split"] == "test"]["fname"].tolist()
    candidates = [f for f in test if f in cache.fnames] or list(cache.fnames)
    if not candidates:
        raise ValueError("the packed cache holds no clips; nothing to show in the report")
    return candidates[0]


def mel_settings_from(models: dict[str, TrainedModel]) -> tuple[dict, str]:
    """Front-end settings of the first spectrogram model, as its model.pt recorded them."""
    for name, model in models.items():
        if not model.entry.waveform_input:
            settings = model.settings
            merged = {k: int(settings.get(k, v)) for k, v in FRONT_END_DEFAULTS.items()}
            return merged, f"model {name!r}"
    return dict(FRONT_END_DEFAULTS), "the front end's defaults (no spectrogram model configured)"


def example_clip(
    fname: str,
    cache: PackedClips,
    subset: pd.DataFrame,
    split: pd.DataFrame,
    models: dict[str, TrainedModel],
) -> ExampleClip:
    """Run clip `fname` through decoding, (cached) silence removal, crop, log-mel and masking.

    `models` are the run's trained models: the crop length and the log-mel settings are the
    ones they were trained with.
    """
    index = cache.index([fname])[0]
    rate = cache.sample_rate
    trimmed = cache.clip(index)
    clip_samples = next(iter(models.values())).clip_samples
    start = centre_start(trimmed.numel(), clip_samples)
    cropped = crop_or_repeat(trimmed, clip_samples, start=start)

    mel_settings, source = mel_settings_from(models)
    front_end = LogMelFrontEnd(sample_rate=rate, **mel_settings)
    batch = cropped.reshape(1, 1, -1)
    with torch.no_grad():
        plain = front_end.eval()(batch)[0, 0]
        # A private RNG stream: the same masks on every run, and the caller's RNG untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(MASK_SEED)
            masked = front_end.train()(batch)[0, 0]

    row = subset[subset["fname"] == fname]
    path = str(row["path"].iloc[0]) if len(row) else ""
    split_row = split[split["fname"] == fname]
    example = ExampleClip(
        fname=fname,
        label=cache.labels[index],
        split=str(split_row["split"].iloc[0]) if len(split_row) else "not in split.csv",
        path=path,
        sample_rate=rate,
        trimmed=trimmed.numpy(),
        cropped=cropped.numpy(),
        crop_start=start,
        clip_samples=clip_samples,
        mel=plain.numpy(),
        mel_masked=masked.numpy(),
        mel_settings=mel_settings,
        mel_source=source,
    )
    _attach_original(example, path)
    return example


def _attach_original(example: ExampleClip, path: str | os.PathLike) -> None:
    """Decode the source file; when it is gone, say so and show the cached clip only."""
    if not path:
        example.original_note = f"{example.fname} is not listed in subset.csv"
        return
    try:
        wave, rate = load_audio(Path(path))
    except AudioError as err:
        example.original_note = f"the source file {path} could not be read ({err})"
        return
    example.original_channels = int(wave.shape[0])
    example.original = to_mono(wave)
    example.original_rate = rate
