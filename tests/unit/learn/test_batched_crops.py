"""A batch gathered at once equals the crops clip by clip, for the same seed; it travels
as int16 and becomes float32 where it trains."""

import pytest
import torch

from audioclf.learn.data import ClipDataset, DeviceDataLoader, make_loader, to_device
from audioclf.preprocess.cache import INT16_SCALE
from synthetic import PerClip, synthetic_clips


def _datasets(seed):
    # clips of 0.2-3 s against 1 s crops: some are tiled, some cropped
    cache = synthetic_clips(n_classes=3, clips_per_class=20, seed=3, min_seconds=0.2,
                            max_seconds=3.0)  # fmt: skip
    fnames = list(cache.fnames)
    targets = [k % 3 for k in range(len(fnames))]
    make = lambda g: ClipDataset(cache, fnames, targets, 16000, g)  # noqa: E731
    return (make(torch.Generator().manual_seed(seed)), make(torch.Generator().manual_seed(seed)),
            make(None))  # fmt: skip


def test_batched_crops_equal_per_clip_crops_for_the_same_seed_and_epochs():
    one_by_one, batched, centred = _datasets(seed=7)
    order = torch.randperm(len(one_by_one), generator=torch.Generator().manual_seed(0))
    short = [int(n) for n in one_by_one.cache.lengths]
    assert min(short) < 16000 < max(short)  # both tiling and cropping are exercised
    for _ in range(3):  # three epochs: the generators advance alike
        for batch in order.split(16):
            waves, targets = batched.__getitems__(batch.tolist())
            items = [one_by_one[i] for i in batch.tolist()]
            assert torch.equal(waves, torch.stack([w for w, _ in items]))
            assert torch.equal(targets, torch.stack([t for _, t in items]))
    waves, _ = centred.__getitems__(list(range(len(centred))))
    assert torch.equal(waves, torch.stack([centred[i][0] for i in range(len(centred))]))


def test_the_training_loader_yields_todays_batches():
    one_by_one, batched, _ = _datasets(seed=5)
    new = make_loader(batched, batch_size=8, shuffle=True, seed=2)
    old = torch.utils.data.DataLoader(
        PerClip(one_by_one), batch_size=8, shuffle=True, drop_last=True,
        generator=torch.Generator().manual_seed(2),
    )  # fmt: skip
    assert len(new) == len(old) > 2
    for (waves, targets), (old_waves, old_targets) in zip(new, old, strict=True):
        assert waves.shape == (8, 1, 16000) and waves.dtype == torch.float32
        assert torch.equal(waves, old_waves) and torch.equal(targets, old_targets)


def test_batches_travel_as_int16_and_become_float_on_the_device():
    _, batched, _ = _datasets(seed=1)
    waves, targets = batched.__getitems__([0, 1, 2])
    assert waves.dtype == torch.int16 and waves.shape == (3, 1, 16000)  # half of float32
    assert not waves.is_pinned()  # pinned only for a CUDA device
    floats, same_targets = to_device((waves, targets), torch.device("cpu"))
    assert floats.dtype == torch.float32 and float(floats.abs().max()) <= 1.0
    assert torch.equal(floats, waves.float() / INT16_SCALE)
    assert torch.equal(same_targets, targets)  # int64 targets are moved, never converted
    loader = make_loader(batched, batch_size=4, shuffle=False).to(torch.device("cpu"))
    assert isinstance(loader, DeviceDataLoader) and loader.device == torch.device("cpu")
    first, _ = next(iter(loader))
    assert first.dtype == torch.float32 and first.device.type == "cpu"
    loss = first.sum().requires_grad_()
    assert loader.to_detach([loss])[0].device == loss.device  # metrics stay where they are
    assert not loader.to_detach([loss])[0].requires_grad


def test_edges_of_the_packed_cache_are_cropped_like_clip_by_clip():
    """A crop that ends at the cache's very last sample (the last clip is exactly one crop
    long), and a cache shorter than one crop (no window fits: every clip is tiled)."""
    for seconds, length in (((0.5, 2.0), None), ((0.2, 0.3), 16000)):
        cache = synthetic_clips(n_classes=3, clips_per_class=1, seed=4, min_seconds=seconds[0],
                                max_seconds=seconds[1])  # fmt: skip
        length = length or int(cache.lengths[-1])
        assert (int(cache.lengths.sum()) < length) == (length == 16000)
        fnames = list(cache.fnames)
        for names in (fnames, fnames[-1:], fnames[::-1]):
            targets = [0] * len(names)
            make = lambda g: ClipDataset(cache, names, targets, length, g)  # noqa: E731,B023
            for seed in (None, 3):
                one_by_one, batched = (make(None if seed is None else
                                            torch.Generator().manual_seed(seed))
                                       for _ in range(2))  # fmt: skip
                waves, _ = batched.__getitems__(list(range(len(names))))
                expected = torch.stack([one_by_one[i][0] for i in range(len(names))])
                assert torch.equal(waves, expected)
    with pytest.raises(ValueError, match="crop length must be positive"):
        ClipDataset(cache, fnames, [0] * len(fnames), 0)
