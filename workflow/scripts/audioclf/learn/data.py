"""Batches drawn from the packed cache, split by split.csv: fixed-length crops, or whole
clips batched by length and zero-padded (for whole-clip model types).

Crops travel as int16, as they are stored (half the bytes of float32), and become float
on the training device (`to_device`), where the conversion is one cheap kernel.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

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


class _SplitClips(Dataset):
    """Clips of one split in the cache, by fname, with their class targets."""

    def __init__(self, cache: PackedClips, fnames: Sequence[str], targets: Sequence[int]):
        if len(fnames) != len(targets):
            raise ValueError(f"{len(fnames)} fnames but {len(targets)} targets")
        self.cache = cache
        self.fnames = list(fnames)
        self.rows = cache.index(self.fnames)
        self.targets = torch.as_tensor(list(targets), dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.rows)


class ClipDataset(_SplitClips):
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
        super().__init__(cache, fnames, targets)
        self.length = int(length)
        if self.length <= 0:
            raise ValueError(f"crop length must be positive, got {self.length}; raise clip_seconds")
        self.generator = generator
        self._rows = torch.as_tensor(self.rows, dtype=torch.int64)
        # every `length`-sample window of the packed waveforms as rows of one strided view
        # (no copy): row j is waveforms[j : j + length]; built once, read by each batch
        waves = cache.waveforms
        count = max(0, waves.numel() - self.length + 1)
        self._windows = waves.as_strided((count, self.length), (1, 1))

    pin_memory = False  # batches in page-locked memory, for non_blocking copies to a GPU

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(1, length) int16 crop and target: `to_device` makes it float."""
        wave = self.cache.raw(self.rows[i])
        n = wave.numel()
        if self.generator is None:
            start = centre_start(n, self.length)
        else:
            start = random_start(n, self.length, self.generator)
        return crop_or_repeat(wave, self.length, start).unsqueeze(0), self.targets[i]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """A whole batch at once (DataLoader calls this with a batch's indices): the same
        crops as __getitem__ for each index in turn (the starts are drawn from the same
        generator in the same order), in one (B, 1, length) int16 batch, in pinned memory
        when `pin_memory`; `to_device` converts it to float where it trains. The crops that
        lie inside their clip are copied by one index_select over a strided view of every
        `length` window of the cache (rows of contiguous samples); a clip shorter than its
        crop is tiled, one at a time (benchmarks/loader_throughput.py). Collate it with
        `batched` (it is already a batch)."""
        index = torch.as_tensor(list(indices), dtype=torch.int64)
        rows = self._rows[index]
        begin = self.cache.offsets[rows]
        n = self.cache.offsets[rows + 1] - begin
        if self.generator is None:
            starts = torch.clamp((n - self.length) // 2, min=0)
        else:  # one draw per clip longer than the crop, in batch order, as __getitem__
            starts = torch.tensor(
                [random_start(k, self.length, self.generator) for k in n.tolist()],
                dtype=torch.int64,
            )
        samples = torch.empty(
            (len(index), self.length), dtype=torch.int16, pin_memory=self.pin_memory
        )
        short = starts + self.length > n  # crops that run past their clip's end
        windows = self._windows
        if len(windows):  # every row in one call (a short clip's row is overwritten below)
            first = torch.where(short, 0, begin + starts)  # < len(windows) when inside
            torch.index_select(windows, 0, first, out=samples)
        waves = self.cache.waveforms
        for k in torch.nonzero(short).flatten().tolist():
            clip = waves[int(begin[k]) : int(begin[k] + n[k])]
            samples[k] = crop_or_repeat(clip, self.length, int(starts[k]))
        return samples.unsqueeze(1), self.targets[index]


def batched(batch):
    """collate_fn of a dataset whose __getitems__ returns the batch itself."""
    return batch


def to_device(batch, device: torch.device | None = None) -> tuple:
    """A batch's tensors on `device` (non_blocking: a pinned batch's copy overlaps the GPU's
    work), int16 waveforms converted there to float32 in [-1, 1]."""

    def move(x):
        if not isinstance(x, torch.Tensor):
            return x
        if device is not None:
            x = x.to(device, non_blocking=True)
        # on CUDA a division by a scalar is a multiply by its reciprocal: the same values
        # as on the CPU to within one ulp
        return x.float().div_(INT16_SCALE) if x.dtype == torch.int16 else x

    return tuple(move(x) for x in batch)


@dataclass(frozen=True)
class WholeClips:
    """How a whole-clip model reads clips: the first `max_samples` of a longer clip, a clip
    shorter than `min_samples` (one STFT window) tiled up to it, and batches of at most
    `batch_samples` samples, padding included."""

    min_samples: int
    max_samples: int
    batch_samples: int

    @classmethod
    def of(cls, settings: Mapping, sample_rate: int) -> WholeClips:
        return cls(
            int(settings["n_fft"]),
            clip_samples(float(settings["max_seconds"]), sample_rate),
            clip_samples(float(settings["batch_seconds"]), sample_rate),
        )

    def length(self, n: int) -> int:
        """Samples read of an `n`-sample clip."""
        return min(max(int(n), self.min_samples), self.max_samples)

    def read(self, wave: torch.Tensor) -> torch.Tensor:
        return crop_or_repeat(wave, self.length(wave.numel()), 0)

    def cut(self, lengths: Sequence[int]) -> int:
        """How many of clips of `lengths` samples are longer than max_samples."""
        return sum(int(n) > self.max_samples for n in lengths)


def pad_clips(clips: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 1, longest) float32 of int16 clips zero-padded at the end, and their lengths."""
    lengths = torch.tensor([c.numel() for c in clips], dtype=torch.int64)
    wave = torch.zeros(len(clips), 1, int(lengths.max()))
    for b, clip in enumerate(clips):
        wave[b, 0, : clip.numel()] = clip.float() / INT16_SCALE
    return wave, lengths


class LengthBatchSampler(Sampler[list[int]]):
    """Batches of clips of similar length: at most `batch_size` clips and `batch_samples`
    padded samples each (a clip longer than that is a batch of its own).

    In order of length without `shuffle` (evaluation). With it, each epoch shuffles the
    clips (from `seed`), sorts each pool of POOL batches' worth by length, cuts batches and
    shuffles their order; a batch of one clip is dropped when there are others (batch norm
    needs two). len() is the number of batches the next epoch gives.
    """

    POOL = 20

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        batch_samples: int,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.lengths = [int(n) for n in lengths]
        self.batch_size, self.batch_samples = int(batch_size), int(batch_samples)
        self.generator = torch.Generator().manual_seed(seed) if shuffle else None
        self._next: list[list[int]] | None = None

    def _cut(self, order: Sequence[int]) -> list[list[int]]:
        batches, batch, longest = [], [], 0
        for i in order:
            longest_with = max(longest, self.lengths[i])
            full = len(batch) == self.batch_size or longest_with * (len(batch) + 1) > (
                self.batch_samples
            )
            if batch and full:
                batches.append(batch)
                batch, longest_with = [], self.lengths[i]
            batch.append(i)
            longest = longest_with
        return batches + ([batch] if batch else [])

    def _plan(self) -> list[list[int]]:
        by_length = self.lengths.__getitem__
        if self.generator is None:
            return self._cut(sorted(range(len(self.lengths)), key=by_length))
        order = torch.randperm(len(self.lengths), generator=self.generator).tolist()
        pool = self.POOL * self.batch_size
        batches = []
        for k in range(0, len(order), pool):
            batches += self._cut(sorted(order[k : k + pool], key=by_length))
        batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator)]
        if len(batches) > 1:
            batches = [b for b in batches if len(b) > 1]
        return batches

    def __len__(self) -> int:
        if self._next is None:
            self._next = self._plan()
        return len(self._next)

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._next if self._next is not None else self._plan()
        self._next = None
        yield from batches


class WholeClipDataset(_SplitClips):
    """Clips of the cache as a whole-clip model reads them (`reading`), with their targets;
    batches come from LengthBatchSampler and collate_whole_clips."""

    def __init__(
        self,
        cache: PackedClips,
        fnames: Sequence[str],
        targets: Sequence[int],
        reading: WholeClips,
    ) -> None:
        super().__init__(cache, fnames, targets)
        self.reading = reading
        stored = cache.lengths
        self.stored_lengths = [int(stored[r]) for r in self.rows]
        self.lengths = [reading.length(n) for n in self.stored_lengths]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.reading.read(self.cache.raw(self.rows[i])), self.targets[i]


def collate_whole_clips(items) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(padded waves (B, 1, T), lengths (B,), targets (B,)): the model gets two inputs."""
    wave, lengths = pad_clips([clip for clip, _ in items])
    return wave, lengths, torch.stack([target for _, target in items])


def whole_clip_batches(
    cache: PackedClips, rows: Sequence[int], reading: WholeClips, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(padded waves, lengths, positions in `rows`) of every clip once, in order of length."""
    stored = cache.lengths
    lengths = [reading.length(int(stored[r])) for r in rows]
    for batch in LengthBatchSampler(lengths, batch_size, reading.batch_samples):
        wave, lens = pad_clips([reading.read(cache.raw(rows[i])) for i in batch])
        yield wave, lens, torch.tensor(batch)


def detached(b):
    """`b` (a tensor, or lists and tuples of them) detached, where it is."""
    if isinstance(b, torch.Tensor):
        return b.detach()
    if isinstance(b, (list, tuple)):
        return type(b)(detached(x) for x in b)
    return b


class DeviceDataLoader(DataLoader):
    """A plain DataLoader that accepts fastai's `.to(device)` and yields its batches there,
    float (`to_device`); fastai's own move is then a no-op. `n_inp`: how many leading items
    of a batch are the model's inputs (fastai reads it)."""

    device: torch.device | None = None
    n_inp = 1

    def to(self, device: torch.device) -> DeviceDataLoader:
        self.device = device
        if hasattr(self.dataset, "pin_memory"):  # batches gathered straight into pinned memory
            self.dataset.pin_memory = device.type == "cuda"
        return self

    def __iter__(self):
        for batch in super().__iter__():
            yield to_device(batch, self.device)

    def to_detach(self, b, cpu: bool = True, gather: bool = True):
        """fastai's metrics detach each batch's loss and accuracy through the loader: they
        stay on the device (no host sync per batch) and are read once, at the epoch's end.
        `cpu` is ignored: fastai's get_preds and lr_find plots would get device tensors
        (the workflow uses neither; scoring is evaluate/scoring.py's)."""
        return detached(b)


def make_loader(
    dataset: ClipDataset,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    device: torch.device | None = None,
) -> DeviceDataLoader:
    """Batches (B, 1, T) float32 and (B,) int64 on `device`; shuffling follows `seed`.

    A shuffled loader drops its ragged last batch (as fastai's own loaders do): a batch of one
    or two clips gives BatchNorm useless statistics.
    """
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    loader = DeviceDataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=batched,  # ClipDataset.__getitems__ gathers each batch at once
        num_workers=0,
        drop_last=shuffle and len(dataset) >= batch_size,
    )
    return loader if device is None else loader.to(device)  # .to() decides the pinning


def whole_clip_loader(
    dataset: WholeClipDataset,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    device: torch.device | None = None,
) -> DeviceDataLoader:
    """Batches (padded waves, lengths, targets) of clips of similar length."""
    sampler = LengthBatchSampler(
        dataset.lengths, batch_size, dataset.reading.batch_samples, shuffle, seed
    )
    loader = DeviceDataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate_whole_clips,
        num_workers=0,
        pin_memory=device is not None and device.type == "cuda",
    )
    loader.n_inp = 2
    return loader


def training_loaders(
    cache: PackedClips,
    split: pd.DataFrame,
    classes: Sequence[str],
    clip_seconds: float,
    batch_size: int,
    seed: int = 0,
    device: torch.device | None = None,
    source: str = "split.csv",
    reading: WholeClips | None = None,
) -> tuple[DeviceDataLoader, DeviceDataLoader]:
    """Train (random crops, shuffled) and valid (centre crops) loaders; test rows untouched.
    With `reading`, whole clips instead, batched by length (shuffled for train)."""
    length = clip_samples(clip_seconds, cache.sample_rate)
    position = {c: k for k, c in enumerate(classes)}
    loaders = []
    for name, shuffle in (("train", True), ("valid", False)):
        fnames, labels = split_rows(split, name, source)
        if reading is not None:
            loaders.append(
                whole_clip_loader(
                    WholeClipDataset(cache, fnames, [position[x] for x in labels], reading),
                    batch_size,
                    shuffle,
                    seed,
                    device,
                )
            )
            continue
        crops = torch.Generator().manual_seed(seed + 1) if shuffle else None
        dataset = ClipDataset(cache, fnames, [position[x] for x in labels], length, crops)
        loaders.append(make_loader(dataset, batch_size, shuffle, seed, device))
    return loaders[0], loaders[1]
