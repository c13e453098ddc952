"""Fixed-length crops of variable-length clips: random, centre, tiled and sliding windows."""

from __future__ import annotations

import torch


def crop_or_repeat(wave: torch.Tensor, length: int, start: int | None = None) -> torch.Tensor:
    """Exactly `length` samples of a 1-D clip from `start` (default 0).

    A clip shorter than `start + length` is tiled (repeated end to end) first, so a short
    sound fills the window instead of being padded with silence.
    """
    if wave.dim() != 1:
        raise ValueError(f"expected a 1-D clip, got shape {tuple(wave.shape)}")
    n = wave.numel()
    if n == 0:
        raise ValueError("cannot crop an empty clip (0 samples); it should have been excluded")
    if length <= 0:
        raise ValueError(f"crop length must be positive, got {length}")
    start = 0 if start is None else int(start)
    if start < 0:
        raise ValueError(f"crop start must be >= 0, got {start}")
    end = start + length
    if end <= n:
        return wave[start:end]
    repeats = -(-end // n)  # ceil
    return wave.repeat(repeats)[start:end]


def random_start(n: int, length: int, generator: torch.Generator | None = None) -> int:
    """A uniformly drawn start for a `length` crop of an `n`-sample clip (0 when it fits)."""
    if n <= length:
        return 0
    return int(torch.randint(0, n - length + 1, (1,), generator=generator))


def centre_start(n: int, length: int) -> int:
    """The start of the centred `length` crop of an `n`-sample clip (0 when it fits)."""
    return max(0, (n - length) // 2)


def window_starts(n: int, length: int) -> list[int]:
    """Starts of `length` windows covering an `n`-sample clip.

    Windows hop by `length`; the last one is aligned to the clip's end (so it may overlap
    the one before). A clip no longer than `length` gets a single window at 0.
    """
    if length <= 0:
        raise ValueError(f"window length must be positive, got {length}")
    if n <= length:
        return [0]
    starts = list(range(0, n - length + 1, length))
    if starts[-1] != n - length:
        starts.append(n - length)
    return starts
