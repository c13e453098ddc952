"""Fixed-length crops: cutting, tiling, random/centre starts and sliding windows."""

import pytest
import torch

from audioclf.learn.crop import centre_start, crop_or_repeat, random_start, window_starts


def test_long_clip_is_cut_at_start():
    wave = torch.arange(10)
    assert crop_or_repeat(wave, 4, 3).tolist() == [3, 4, 5, 6]
    assert crop_or_repeat(wave, 4).tolist() == [0, 1, 2, 3]


def test_short_clip_is_tiled_to_exact_length():
    wave = torch.arange(3)
    out = crop_or_repeat(wave, 8)
    assert out.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]


def test_clip_of_exact_length_is_unchanged():
    wave = torch.arange(5, dtype=torch.int16)
    out = crop_or_repeat(wave, 5, 0)
    assert out.dtype == torch.int16 and torch.equal(out, wave)


def test_empty_and_bad_arguments_raise():
    with pytest.raises(ValueError, match="empty"):
        crop_or_repeat(torch.zeros(0), 4)
    with pytest.raises(ValueError, match="1-D"):
        crop_or_repeat(torch.zeros(2, 4), 4)
    with pytest.raises(ValueError, match="start"):
        crop_or_repeat(torch.zeros(10), 4, -1)


def test_random_start_stays_in_range_and_follows_the_generator():
    starts = [random_start(100, 30, torch.Generator().manual_seed(s)) for s in range(200)]
    assert min(starts) >= 0 and max(starts) <= 70
    assert len(set(starts)) > 20  # really random, not a constant
    again = [random_start(100, 30, torch.Generator().manual_seed(s)) for s in range(200)]
    assert starts == again
    assert random_start(20, 30, torch.Generator()) == 0


def test_centre_start():
    assert centre_start(100, 30) == 35
    assert centre_start(10, 30) == 0


@pytest.mark.parametrize(
    "n, length, expected",
    [
        (10, 10, [0]),
        (4, 10, [0]),
        (20, 10, [0, 10]),
        (25, 10, [0, 10, 15]),
        (11, 10, [0, 1]),
    ],
)
def test_window_starts_cover_the_clip(n, length, expected):
    starts = window_starts(n, length)
    assert starts == expected
    covered = torch.zeros(n, dtype=torch.bool)
    for s in starts:
        assert 0 <= s and s + min(length, n) <= n
        covered[s : s + length] = True
    assert bool(covered.all())
