"""Fixed-length crops of variable-length clips: random, centre, tiled and sliding windows,
and the window rule evaluation scores crops by. Torch is not imported here (a clip may be
a numpy array), so scoring an ONNX model can use the same rule without it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

EVAL_WINDOWS = ("sliding", "centre")
WHOLE = "whole"  # the rule of a whole-clip model: one pass over each clip


def crop_or_repeat(wave, length: int, start: int | None = None):
    """Exactly `length` samples of a 1-D clip (a tensor or a numpy array) from `start`
    (default 0).

    A clip shorter than `start + length` is tiled (repeated end to end) first, so a short
    sound fills the window instead of being padded with silence.
    """
    if wave.ndim != 1:
        raise ValueError(f"expected a 1-D clip, got shape {tuple(wave.shape)}")
    n = int(wave.shape[0])
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
    tiled = np.tile(wave, repeats) if isinstance(wave, np.ndarray) else wave.repeat(repeats)
    return tiled[start:end]


def random_start(n: int, length: int, generator: torch.Generator | None = None) -> int:
    """A uniformly drawn start for a `length` crop of an `n`-sample clip (0 when it fits)."""
    if n <= length:
        return 0
    import torch  # here: only training draws crops, and it has torch loaded already

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


def starts_for(n: int, length: int, eval_windows: str) -> list[int]:
    """Window starts scored for an `n`-sample clip: all sliding windows or the centre one."""
    if eval_windows == "sliding":
        return window_starts(n, length)
    if eval_windows == "centre":
        return [centre_start(n, length)]
    raise ValueError(f"eval_windows {eval_windows!r} is not one of {EVAL_WINDOWS}")
