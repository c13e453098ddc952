"""Batches of fixed-length clips drawn from the packed cache, split by split.csv."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from audioclf.learn.crop import centre_start, crop_or_repeat, random_start
from audioclf.preprocess.cache import INT16_SCALE, PackedClips


def split_rows(frame: pd.DataFrame, split: str, source: str = "split.csv") -> tuple[list, list]:
    """(fnames, labels) of one split; an empty split is an error naming it."""
    rows = frame[frame["split"] == split]
    if rows.empty:
        raise ValueError(f"{source}: no rows with split == {split!r}; rerun split_dataset")
    return [str(f) for f in rows["fname"]], [str(x) for x in rows["label"]]


def class_names(frame: pd.DataFrame) -> list[str]:
    """The label order every model uses: sorted labels of the whole split table."""
    return sorted({str(x) for x in frame["label"]})


def clip_samples(clip_seconds: float, sample_rate: int) -> int:
    return int(round(clip_seconds * sample_rate))


class ClipDataset(Dataset):
    """Clips of the cache cut (or tiled) to `length` samples when an item is drawn.

    With a `generator`, each draw takes a fresh random crop (training); without one, the
    centred crop (validation), so validation scores do not move between epochs.
    """

    def __init__(
        self,
        cache: PackedClips,
        fnames: Sequence[str],
        targets: Sequence[int],
        length: int,
        generator: torch.Generator | None = None,
    ) -> None:
        if len(fnames) != len(targets):
            raise ValueError(f"{len(fnames)} fnames but {len(targets)} targets")
        self.cache = cache
        self.fnames = list(fnames)
        self.rows = cache.index(self.fnames)
        self.targets = torch.as_tensor(list(targets), dtype=torch.int64)
        self.length = int(length)
        self.generator = generator

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        wave = self.cache.raw(self.rows[i])
        n = wave.numel()
        if self.generator is None:
            start = centre_start(n, self.length)
        else:
            start = random_start(n, self.length, self.generator)
        crop = crop_or_repeat(wave, self.length, start).float() / INT16_SCALE
        return crop.unsqueeze(0), self.targets[i]


class DeviceDataLoader(DataLoader):
    """A plain DataLoader that accepts fastai's `.to(device)`; fastai moves each batch once."""

    device: torch.device | None = None

    def to(self, device: torch.device) -> DeviceDataLoader:
        self.device = device
        return self


def make_loader(
    dataset: ClipDataset,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    device: torch.device | None = None,
) -> DeviceDataLoader:
    """Batches (B, 1, T) float32 and (B,) int64; shuffling follows `seed`.

    A shuffled loader drops its ragged last batch (as fastai's own loaders do): a batch of one
    or two clips gives BatchNorm useless statistics.
    """
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DeviceDataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        num_workers=0,
        pin_memory=device is not None and device.type == "cuda",
        drop_last=shuffle and len(dataset) >= batch_size,
    )


def training_loaders(
    cache: PackedClips,
    split: pd.DataFrame,
    classes: Sequence[str],
    clip_seconds: float,
    batch_size: int,
    seed: int = 0,
    device: torch.device | None = None,
    source: str = "split.csv",
) -> tuple[DeviceDataLoader, DeviceDataLoader]:
    """Train (random crops, shuffled) and valid (centre crops) loaders; test rows untouched."""
    length = clip_samples(clip_seconds, cache.sample_rate)
    position = {c: k for k, c in enumerate(classes)}
    loaders = []
    for name, shuffle in (("train", True), ("valid", False)):
        fnames, labels = split_rows(split, name, source)
        crops = torch.Generator().manual_seed(seed + 1) if shuffle else None
        dataset = ClipDataset(cache, fnames, [position[x] for x in labels], length, crops)
        loaders.append(make_loader(dataset, batch_size, shuffle, seed, device))
    return loaders[0], loaders[1]
