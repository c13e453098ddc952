"""Training batches per second from the packed cache: today's loader vs the clip-by-clip
one before issue 16, side by side in one run (CPU, in the main process as training does).

Builds a synthetic cache of FSDKaggle2018's size (1,361 clips of 0.3-30 s at 16 kHz),
then draws shuffled 5 s training crops in batches of 64 through `make_loader` (each batch
gathered at once by ClipDataset.__getitems__: the crops inside their clip by one
index_select over a strided view of the cache, a clip shorter than the crop tiled on its
own) and through a DataLoader that sees the same dataset one clip at a time (its
__getitem__ only, each crop made float: the path before). All draw the same crops
(tests/unit/learn/test_batched_crops.py). Prints clips/s and the speed-ups.
Rows: the int16 batches as the DataLoader yields them (what a GPU is sent, converted to
float there by one kernel); the same converted to float on the CPU (what CPU training pays,
`DeviceDataLoader.to(cpu)`); and a ceiling no gather can pass: one copy of a batch's bytes
from a random place in the cache into a fresh batch (and the random draws alone).
Goal (issue 16): at least 5,000 clips/s, at least 10x the clip-by-clip loader.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from audioclf.devices import set_threads  # noqa: E402
from audioclf.learn.crop import random_start  # noqa: E402
from audioclf.learn.data import ClipDataset, make_loader  # noqa: E402
from synthetic import PerClip, synthetic_clips  # noqa: E402


def clips_per_second(loader, epochs: int) -> float:
    start, clips = time.perf_counter(), 0
    for _ in range(epochs):
        for waves, _ in loader:
            clips += len(waves)
    return clips / (time.perf_counter() - start)


class IterInt16:
    """A DeviceDataLoader's batches as its DataLoader yields them: int16, not converted."""

    def __init__(self, loader):
        self.loader = loader

    def __iter__(self):
        return torch.utils.data.DataLoader.__iter__(self.loader)


class Memcpy:
    """As many batches as an epoch, each a fresh int16 batch (allocated as the loader
    allocates it) filled by one copy of as many contiguous samples from a random place in
    the cache: the bound on any gather of the same bytes from the same memory."""

    def __init__(self, cache, args, n_clips: int):
        self.length = int(args.clip_seconds * cache.sample_rate)
        self.batch_size = args.batch_size
        self.batches = n_clips // args.batch_size
        self.waveforms = cache.waveforms
        self.generator = torch.Generator().manual_seed(0)

    def __iter__(self):
        size = self.batch_size * self.length
        for _ in range(self.batches):
            at = int(
                torch.randint(0, self.waveforms.numel() - size, (1,), generator=self.generator)
            )
            batch = torch.empty((self.batch_size, 1, self.length), dtype=torch.int16)
            yield batch.copy_(self.waveforms[at : at + size].view(batch.shape)), None


def random_draws_per_second(cache, fnames, length: int, epochs: int = 3) -> float:
    """The crops' random starts alone, drawn as __getitem__ draws them: one `randint` for
    each clip longer than the crop, none for a shorter one (its crop starts at 0)."""
    lengths = [int(n) for n in cache.lengths[: len(fnames)]]
    generator = torch.Generator().manual_seed(1)
    start = time.perf_counter()
    for _ in range(epochs):
        for n in lengths:
            random_start(n, length, generator)
    return epochs * len(lengths) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=1361)
    parser.add_argument("--clip-seconds", type=float, default=5.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)
    per_class = -(-args.clips // 5)
    cache = synthetic_clips(n_classes=5, clips_per_class=per_class, seed=0, min_seconds=0.3,
                            max_seconds=30.0)  # fmt: skip
    fnames = list(cache.fnames)[: args.clips]
    targets = [k % 5 for k in range(len(fnames))]
    length = int(args.clip_seconds * cache.sample_rate)
    audio_h = float(cache.lengths[: len(fnames)].sum()) / cache.sample_rate / 3600

    def dataset():
        return ClipDataset(cache, fnames, targets, length, torch.Generator().manual_seed(1))

    # int16 batches as the DataLoader yields them, before DeviceDataLoader converts them
    int16 = IterInt16(make_loader(dataset(), args.batch_size, shuffle=True, seed=0))
    on_cpu = make_loader(dataset(), args.batch_size, shuffle=True, seed=0).to(torch.device("cpu"))
    old = torch.utils.data.DataLoader(
        PerClip(dataset()), batch_size=args.batch_size, shuffle=True, drop_last=True,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    threads = torch.get_num_threads()
    print(f"{len(fnames)} clips ({audio_h:.1f} h), crops of {args.clip_seconds:g} s, batches "
          f"of {args.batch_size}, {args.epochs} epochs, {threads} threads")  # fmt: skip
    rates = {}
    ceiling = Memcpy(cache, args, len(fnames))
    runs = (("clip by clip (before)", old), ("batched int16 (now)", int16),
            ("batched, float on CPU", on_cpu), ("ceiling: one memcpy", ceiling))  # fmt: skip
    for round_ in (1, 2):
        for name, loader in runs:
            rate = clips_per_second(loader, args.epochs)
            rates[name] = max(rates.get(name, 0.0), rate)
            ms = 1000 * args.batch_size / rate
            again = "  (again)" if round_ == 2 else ""
            print(f"{name:<24}{rate:>10,.0f} clips/s {ms:5.2f} ms/batch{again}")
    draws = random_draws_per_second(cache, fnames, length)
    print(f"{'random starts alone':<24}{draws:>10,.0f} clips/s (drawn as __getitem__ draws them)")
    before = rates["clip by clip (before)"]
    print(
        f"speed-up, best of two each: int16 batches (what a GPU is sent) "
        f"{rates['batched int16 (now)'] / before:.1f}x; with the float conversion on the CPU "
        f"(what CPU training pays) {rates['batched, float on CPU'] / before:.1f}x; the memcpy "
        f"ceiling is {rates['ceiling: one memcpy'] / before:.1f}x"
    )


if __name__ == "__main__":
    main()
