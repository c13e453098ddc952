"""Seconds per training epoch, fastai Learner vs a bare PyTorch loop, for each model type.

Both loops train the same network on the same loaders (synthetic clips, random crops) and
validate once per epoch; the ratio fastai / bare is the framework's overhead. Goal on a GPU:
within 2x. Example:

    .venv/bin/python benchmarks/train_speed.py --device cuda
    .venv/bin/python benchmarks/train_speed.py --device cpu --clips 64 --epochs 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from fastai.torch_core import set_seed
from torch import nn

from audioclf.devices import enable_fast_math, resolve_device, synchronize
from audioclf.learn.data import ClipDataset, class_names, make_loader, split_rows
from audioclf.learn.models import count_parameters
from audioclf.learn.registry import build_model
from audioclf.learn.train import EpochHistory, build_learner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic import synthetic_clips, synthetic_split  # noqa: E402  (the tests' helper)

SETTINGS = {
    "raw1d": {"type": "raw1d"},
    "spectrogram": {"type": "spectrogram", "arch": "resnet18"},
}
LR, WEIGHT_DECAY, N_CLASSES = 1e-3, 0.01, 5


def loaders(n_clips: int, clip_seconds: float, batch_size: int, device: torch.device):
    """Train/valid loaders over ~n_clips synthetic training clips of 0.5-10 s."""
    per_class = max(2, round(n_clips / N_CLASSES / 0.5))  # synthetic_split keeps half for train
    cache = synthetic_clips(N_CLASSES, per_class, min_seconds=0.5, max_seconds=10.0)
    split = synthetic_split(cache)
    classes = class_names(split)
    position = {c: k for k, c in enumerate(classes)}
    out = []
    for name, shuffle in (("train", True), ("valid", False)):
        fnames, labels = split_rows(split, name)
        crops = torch.Generator().manual_seed(1) if shuffle else None
        length = int(clip_seconds * cache.sample_rate)
        dataset = ClipDataset(cache, fnames, [position[x] for x in labels], length, crops)
        out.append(make_loader(dataset, batch_size, shuffle, 0, device))
    return out


def fastai_epochs(model, train_dl, valid_dl, device, epochs, mixed_precision) -> list[float]:
    history = EpochHistory(epochs)
    learn = build_learner(
        model, train_dl, valid_dl, device, WEIGHT_DECAY, mixed_precision, cbs=[history]
    )
    learn.fit_one_cycle(epochs, LR)
    return [row["seconds"] for row in history.rows]


def bare_epochs(model, train_dl, valid_dl, device, epochs, mixed_precision) -> list[float]:
    """The same work by hand: AdamW + one-cycle schedule, then a validation pass."""
    model = model.to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=LR, total_steps=epochs * len(train_dl)
    )
    loss_func = nn.CrossEntropyLoss()
    autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=mixed_precision)
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.train()
        for x, y in train_dl:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(**autocast):
                loss = loss_func(model(x).float(), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
        model.eval()
        correct = torch.zeros((), device=device)
        with torch.no_grad(), torch.autocast(**autocast):
            for x, y in valid_dl:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                correct += (model(x).argmax(dim=1) == y).sum()
        float(correct)  # waits for the GPU, as fastai's per-epoch metrics do
        synchronize(device)
        seconds.append(time.perf_counter() - started)
    return seconds


def steady(seconds: list[float]) -> float:
    """Median epoch time, leaving out the first (start-up) epoch when there are others."""
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--clips", type=int, default=870, help="training clips (~870 = real)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per loop (first = warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--clip-seconds", type=float, default=5.0)
    parser.add_argument("--models", default="raw1d,spectrogram")
    parser.add_argument("--mixed-precision", action="store_true", help="bf16 autocast (CUDA)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    enable_fast_math(device)
    mixed = args.mixed_precision and device.type == "cuda"
    train_dl, valid_dl = loaders(args.clips, args.clip_seconds, args.batch_size, device)
    print(
        f"device {device}; {len(train_dl.dataset)} train / {len(valid_dl.dataset)} valid clips "
        f"of {args.clip_seconds:g} s, batch {args.batch_size}, {args.epochs} epochs per loop, "
        f"mixed precision {mixed}, torch threads {torch.get_num_threads()}"
    )
    print(f"{'model':<12} {'params':>11} {'fastai s/epoch':>15} {'bare s/epoch':>13} {'ratio':>6}")
    for model_type in args.models.split(","):
        timings = {}
        for name, loop in (("fastai", fastai_epochs), ("bare", bare_epochs)):
            set_seed(0)
            samples = int(round(args.clip_seconds * 16000))
            model = build_model(SETTINGS[model_type], N_CLASSES, samples, 16000)
            timings[name] = steady(loop(model, train_dl, valid_dl, device, args.epochs, mixed))
        print(
            f"{model_type:<12} {count_parameters(model):>11,} {timings['fastai']:>15.2f} "
            f"{timings['bare']:>13.2f} {timings['fastai'] / timings['bare']:>6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
