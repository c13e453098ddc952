"""The whole-clip model: masks that make a clip's output independent of its batch, clips
read up to max_seconds (tiled up to one window), batches by length, whole-clip scoring."""

import pytest
import torch

from audioclf.contracts import SPLIT
from audioclf.evaluate.scoring import evaluate
from audioclf.learn.data import (
    LengthBatchSampler,
    WholeClipDataset,
    WholeClips,
    collate_whole_clips,
    pad_clips,
)
from audioclf.learn.features import LogMelFrontEnd, WholeClipLogMel
from audioclf.learn.train import train
from audioclf.preprocess.cache import PackedClips
from conftest import TINY_SETTINGS, make_model
from synthetic import synthetic_clips, synthetic_split

RATE = 16000
FRONT = {"n_fft": 1024, "hop_length": 200, "n_mels": 32}


def clips_of(lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [0.3 * torch.randn(n, generator=generator) for n in lengths]


def padded(clips):
    lengths = torch.tensor([c.numel() for c in clips])
    wave = torch.zeros(len(clips), 1, int(lengths.max()))
    for b, c in enumerate(clips):
        wave[b, 0, : c.numel()] = c
    return wave, lengths


def test_the_whole_clip_front_end_of_one_clip_is_the_spectrogram_front_end():
    clip = clips_of([23_456])[0].view(1, 1, -1)
    whole = WholeClipLogMel(RATE, **FRONT).eval()
    image, frames = whole(clip, torch.tensor([clip.shape[-1]]))
    expected = LogMelFrontEnd(RATE, **FRONT).eval()(clip)
    assert image.shape == expected.shape and int(frames) == expected.shape[-1]
    assert torch.allclose(image, expected, atol=1e-4)


def test_a_padded_batch_gives_each_clip_its_output_alone():
    model = make_model("crnn", 4, {**FRONT, "hidden": 16}).eval()
    # a few frames (one window: 1024 samples = 6 frames), odd frame counts, a long clip
    clips = clips_of([1024, 1500, 16_000, 37_777, 5_001])
    with torch.no_grad():
        batch = model(*padded(clips))
        alone = torch.cat([model(c.view(1, 1, -1)) for c in clips])
    assert batch.shape == (5, 4)
    assert torch.allclose(batch, alone, atol=1e-5), (batch - alone).abs().max()
    # without its length the padding would count: the mask is what makes them equal
    wave, _ = padded(clips)
    with torch.no_grad():
        unmasked = model(wave[:1])
    assert not torch.allclose(unmasked, alone[:1], atol=1e-3)


def test_a_clip_shorter_than_one_window_is_refused_by_the_model_and_tiled_when_read():
    model = make_model("crnn", 3, {**FRONT, "hidden": 8}).eval()
    with pytest.raises(ValueError, match="too short for n_fft 1024"):
        model(torch.zeros(1, 1, 300), torch.tensor([300]))
    reading = WholeClips(min_samples=1024, max_samples=RATE, batch_samples=4 * RATE)
    short = torch.arange(300, dtype=torch.int16)
    read = reading.read(short)
    assert (
        read.numel() == 1024
        and torch.equal(read[:300], short)
        and torch.equal(read[300:600], short)
    )


def test_clips_are_read_up_to_max_seconds_and_the_cut_ones_counted():
    reading = WholeClips.of({"n_fft": 1024, "max_seconds": 2.0, "batch_seconds": 8.0}, RATE)
    ten_minutes = torch.ones(600 * RATE, dtype=torch.int16)
    assert reading.read(ten_minutes).numel() == 2 * RATE  # its first 2 s, never all of it
    assert reading.cut([RATE, 2 * RATE, 2 * RATE + 1, 600 * RATE]) == 2


def test_batches_by_length_hold_every_clip_once_within_their_budget():
    lengths = [
        int(n)
        for n in torch.randint(1024, 8 * RATE, (203,), generator=torch.Generator().manual_seed(3))
    ]
    lengths[7] = 20 * RATE  # longer than the budget: a batch of its own
    sampler = LengthBatchSampler(lengths, batch_size=16, batch_samples=10 * RATE)
    batches = list(sampler)
    assert len(sampler) == len(batches)
    assert sorted(i for b in batches for i in b) == list(range(203))
    assert [7] in batches
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) <= 16 and (len(batch) == 1 or longest * len(batch) <= 10 * RATE)
    # in length order, so padding is small: at most a few percent of what is computed
    padding = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    assert padding < 0.05 * sum(lengths)


def test_shuffled_batches_change_between_epochs_follow_the_seed_and_match_len():
    lengths = list(range(1024, 1024 + 100 * 50, 50))
    sampler = LengthBatchSampler(lengths, 8, 10**9, shuffle=True, seed=1)
    epochs = []
    for _ in range(3):
        n = len(sampler)
        batches = list(sampler)
        assert len(batches) == n
        epochs.append(batches)
        seen = [i for b in batches for i in b]
        assert len(seen) == len(set(seen)) and len(seen) >= 100 - 1  # at most one dropped
        assert all(len(b) > 1 for b in batches)
    assert epochs[0] != epochs[1]
    again = LengthBatchSampler(lengths, 8, 10**9, shuffle=True, seed=1)
    assert list(again) == epochs[0]


def test_collated_batches_are_padded_with_zeros_and_carry_lengths():
    cache = PackedClips.from_clips(
        [torch.full((n,), 0.5) for n in (2000, 1200, 800)], ["a", "b", "c"], ["x", "y", "x"],
        RATE, [n / RATE for n in (2000, 1200, 800)],
    )  # fmt: skip
    reading = WholeClips(1024, 1800, 10_000)
    dataset = WholeClipDataset(cache, ["a", "b", "c"], [0, 1, 0], reading)
    assert dataset.lengths == [1800, 1200, 1024] and dataset.stored_lengths == [2000, 1200, 800]
    wave, lengths, targets = collate_whole_clips([dataset[i] for i in range(3)])
    assert wave.shape == (3, 1, 1800) and lengths.tolist() == [1800, 1200, 1024]
    assert targets.tolist() == [0, 1, 0]
    assert float(wave[1, 0, 1199]) == pytest.approx(0.5, abs=1e-4) and float(wave[1, 0, 1200]) == 0
    assert torch.equal(pad_clips([dataset[2][0]])[0][0, 0], wave[2, 0, :1024])


def test_crnn_trains_and_evaluates_whole_clips_of_a_few_frames_to_longer_than_max(tmp_path):
    long = synthetic_clips(n_classes=3, clips_per_class=12, max_seconds=2.5, seed=4)
    short = synthetic_clips(n_classes=3, clips_per_class=4, min_seconds=0.01, max_seconds=0.05)
    both = [(long, i, "") for i in range(len(long))] + [(short, i, "s") for i in range(len(short))]
    cache = PackedClips.from_clips(
        [c.clip(i) for c, i, _ in both], [p + c.fnames[i] for c, i, p in both],
        [c.labels[i] for c, i, _ in both], RATE, [c.clip(i).numel() / RATE for c, i, _ in both],
    )  # fmt: skip
    assert min(cache.lengths.tolist()) < 1024  # clips shorter than one window
    cache.save(tmp_path / "cache.pt")
    split = synthetic_split(cache)
    SPLIT.write(tmp_path / "split.csv", split)
    settings = {"type": "crnn", **TINY_SETTINGS["crnn"], "epochs": 2, "max_seconds": 1.5}
    result = train(
        tmp_path / "cache.pt", tmp_path / "split.csv", tmp_path / "model.pt", tmp_path / "h.csv",
        model_name="crnn", model_settings=settings, device="cpu", threads=1,
    )  # fmt: skip
    assert len(result["history"]) == 2
    metrics = evaluate(
        tmp_path / "cache.pt", tmp_path / "split.csv", tmp_path / "model.pt",
        tmp_path / "p.csv", tmp_path / "m.json", tmp_path / "h.csv", device="cpu", threads=1,
    )  # fmt: skip
    test = split[split["split"] == "test"]["fname"].tolist()
    stored = cache.lengths
    longer = sum(int(stored[r]) > int(1.5 * RATE) for r in cache.index(test))
    assert metrics["eval_windows"] == "whole" and metrics["n_windows"] == len(test)
    assert metrics["n_cut"] == longer > 0
