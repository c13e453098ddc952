"""Synthetic clips for tests and benchmarks: easily separable classes, and a split of them."""

from __future__ import annotations

import math

import pandas as pd
import torch

from audioclf.contracts import SPLIT
from audioclf.preprocess.cache import INT16_SCALE, PackedClips


def synthetic_clips(
    n_classes: int = 3,
    clips_per_class: int = 12,
    min_seconds: float = 0.5,
    max_seconds: float = 3.0,
    sample_rate: int = 16000,
    seed: int = 0,
) -> PackedClips:
    """Easily separable clips for tests and benchmarks: class k is a noisy tone of its own pitch
    and loudness, so both a waveform and a spectrogram model can tell the classes apart."""
    generator = torch.Generator().manual_seed(seed)
    clips, fnames, labels, seconds = [], [], [], []
    for k in range(n_classes):
        frequency = 220.0 * 2 ** (1.5 * k)
        amplitude = 0.15 + 0.6 * k / max(1, n_classes - 1)
        for j in range(clips_per_class):
            duration = min_seconds + (max_seconds - min_seconds) * float(
                torch.rand(1, generator=generator)
            )
            n = int(duration * sample_rate)
            t = torch.arange(n, dtype=torch.float32) / sample_rate
            phase = 2 * math.pi * float(torch.rand(1, generator=generator))
            tone = torch.sin(2 * math.pi * frequency * t + phase)
            noise = 0.05 * torch.randn(n, generator=generator)
            clips.append((amplitude * tone + noise).clamp(-1, 1))
            fnames.append(f"class{k}_{j:03d}.wav")
            labels.append(f"class{k}")
            seconds.append(duration)
    return PackedClips.from_clips(clips, fnames, labels, sample_rate, seconds)


def synthetic_split(cache: PackedClips, valid_every: int = 4, test_every: int = 4) -> pd.DataFrame:
    """A split table for `synthetic_clips`: per class, every 4th clip valid, the next test."""
    rows = []
    counters: dict[str, int] = {}
    for fname, label in zip(cache.fnames, cache.labels, strict=True):
        j = counters.get(label, 0)
        counters[label] = j + 1
        if j % valid_every == 0:
            split = "valid"
        elif j % test_every == 1:
            split = "test"
        else:
            split = "train"
        rows.append({"fname": fname, "label": label, "split": split})
    return pd.DataFrame(rows, columns=list(SPLIT.columns))


class PerClip(torch.utils.data.Dataset):
    """The loader's path before issue 16: a ClipDataset seen one clip at a time (no
    __getitems__), each crop converted to float32 on its own. Compared with the batched
    path by tests/unit/learn/test_batched_crops.py and benchmarks/loader_throughput.py."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        crop, target = self.dataset[i]
        return crop.float() / INT16_SCALE, target


def simulated_correctness(
    rng, replicates: int, n_seeds: int, n_clips: int, seed_spread: float,
    difference: float = 0.03, clip_spread: float = 0.05,
):  # fmt: skip
    """Two models' 0/1 correctness, `replicates` experiments of `n_seeds` seeds on the same
    `n_clips` test clips each (new clips per experiment), and the true accuracy difference.

    Each clip has a difficulty shared by both models (accuracy about 45%), model a has a
    clip-specific edge (sd `clip_spread`, mean 0) on top of `difference`, and each model's
    accuracy moves by a seed effect of sd `seed_spread`; a clip is right with that
    probability. The truth, the difference over new clips and new seeds, is computed on
    2 million fresh draws (probabilities are clipped to [0, 1], which moves it slightly).
    """
    import numpy as np

    def probabilities(shape_clips, shape_seeds):
        base = rng.uniform(0.3, 0.6, size=shape_clips)
        edge = rng.normal(0.0, clip_spread, size=shape_clips)
        seed_a = rng.normal(0.0, seed_spread, size=shape_seeds)
        seed_b = rng.normal(0.0, seed_spread, size=shape_seeds)
        p_a = np.clip(base + difference + edge + seed_a, 0, 1)
        p_b = np.clip(base + seed_b, 0, 1)
        return p_a, p_b

    truth_a, truth_b = probabilities((2_000_000,), (2_000_000,))
    truth = float((truth_a - truth_b).mean())
    p_a, p_b = probabilities((replicates, 1, n_clips), (replicates, n_seeds, 1))
    shape = (replicates, n_seeds, n_clips)
    correct_a = rng.random(shape) < p_a
    correct_b = rng.random(shape) < p_b
    return correct_a, correct_b, truth
