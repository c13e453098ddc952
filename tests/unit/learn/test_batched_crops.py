"""A batch gathered at once equals today's crops clip by clip, for the same seed."""

import torch

from audioclf.learn.data import ClipDataset, make_loader
from synthetic import synthetic_clips


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


class PerClip(torch.utils.data.Dataset):
    """Today's path: the same dataset seen one clip at a time (no __getitems__)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]


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
