"""Seconds per training epoch for each default model type: the workflow's train() now vs
the code before issue 16 (a git worktree of that commit, running its own train()), and
fastai vs a bare PyTorch loop with the same settings, on the same data in the same run.

The data is one synthetic cache (clips of 0.5-10 s, 5 classes) written once; both train()
calls read it from disk in their own subprocess, in turn per model type, and report the
epoch times they log in history.csv. The bare loop trains the same network on the same
loaders with the same precision and memory order (AdamW, one-cycle schedule, then a
validation pass). s/epoch is the median after the first (warm-up) epoch. Goals (issue 16,
2 cores): spectrogram (ResNet-18) >= 1.5x faster than before, raw1d_deep >= 2x; on a GPU,
fastai within 1.3x of the bare loop. Examples:

    .venv/bin/python benchmarks/train_speed.py                      # CPU, 2 threads
    .venv/bin/python benchmarks/train_speed.py --device cuda --clips 960 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE = "ae42d83"  # main before issue 16's first commit
LR, WEIGHT_DECAY, N_CLASSES = 1e-3, 0.01, 5
EXTRA = {"spectrogram": {"arch": "resnet18", "pretrained": False}}


def settings_for(model_type: str, args, new: bool) -> dict:
    settings = {"type": model_type, "epochs": args.epochs, "batch_size": args.batch_size,
                "lr": LR, "weight_decay": WEIGHT_DECAY, "min_steps": 0,
                **EXTRA.get(model_type, {})}  # fmt: skip
    if new:  # the code before knew mixed_precision as a CUDA-only boolean (default false)
        settings["mixed_precision"] = args.mixed_precision
    return settings


def make_data(folder: Path, n_clips: int) -> None:
    """~n_clips training clips (synthetic_split keeps about half of each class for train)."""
    sys.path.insert(0, str(REPO / "tests"))
    from audioclf.contracts import SPLIT
    from synthetic import synthetic_clips, synthetic_split

    per_class = max(4, round(n_clips / N_CLASSES / 0.5))
    cache = synthetic_clips(N_CLASSES, per_class, min_seconds=0.5, max_seconds=10.0)
    cache.save(folder / "cache.pt")
    SPLIT.write(folder / "split.csv", synthetic_split(cache))


def worker(args) -> None:
    """In a subprocess, with PYTHONPATH at one tree's package: its train(), once."""
    from audioclf.learn.train import train

    out = Path(args.out)
    settings = json.loads(args.settings)
    result = train(
        Path(args.data) / "cache.pt", Path(args.data) / "split.csv", out / "model.pt",
        out / "history.csv", model_name=settings["type"], model_settings=settings,
        clip_seconds=args.clip_seconds, device=args.device, seed=0, threads=args.threads,
    )  # fmt: skip
    seconds = [row["seconds"] for row in result["history"]]
    print("RESULT " + json.dumps({"seconds": seconds, "device": result["device"]}))


def run_tree(tree: Path, model_type: str, args, data: Path, new: bool) -> list[float]:
    out = Path(tempfile.mkdtemp(prefix="train-speed-", dir=data))
    cmd = [sys.executable, __file__, "--worker", "--data", str(data), "--out", str(out),
           "--settings", json.dumps(settings_for(model_type, args, new)),
           "--device", args.device, "--threads", str(args.threads),
           "--clip-seconds", str(args.clip_seconds)]  # fmt: skip
    # that tree's package first; the rest of the path stays (wheels installed elsewhere)
    path = [str(tree / "workflow" / "scripts"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"train() of {tree} failed for {model_type}:\n{done.stdout}\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))["seconds"]


def bare_epochs(model_type: str, args, data: Path) -> list[float]:
    """The same training by hand with today's loaders, network, precision and memory order."""
    import pandas as pd
    import torch
    from torch import nn

    from audioclf.devices import autocast, autocast_dtype, resolve_device, set_threads, synchronize
    from audioclf.learn.data import class_names, clip_samples, training_loaders
    from audioclf.learn.registry import build_model, resolve_settings
    from audioclf.learn.registry import model_type as entry_of
    from audioclf.preprocess.cache import PackedClips

    set_threads(args.threads)
    device = resolve_device(args.device)
    settings = resolve_settings(settings_for(model_type, args, new=True))
    dtype = autocast_dtype(settings["mixed_precision"], device, entry_of(model_type).cpu_autocast)
    cache = PackedClips.load(data / "cache.pt")
    split = pd.read_csv(data / "split.csv")
    classes = class_names(split)
    train_dl, valid_dl = training_loaders(
        cache, split, classes, args.clip_seconds, args.batch_size, 0, device
    )
    train_dl.to(device), valid_dl.to(device)
    torch.manual_seed(0)
    samples = clip_samples(args.clip_seconds, cache.sample_rate)
    model = build_model(settings, len(classes), samples, cache.sample_rate).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=LR, total_steps=args.epochs * len(train_dl)
    )
    loss_func = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(args.epochs):
        started = time.perf_counter()
        model.train()
        for x, y in train_dl:
            with autocast(device, dtype):
                loss = loss_func(model(x).float(), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
        model.eval()
        correct = torch.zeros((), device=device)
        with torch.no_grad(), autocast(device, dtype):
            for x, y in valid_dl:
                correct += (model(x).argmax(dim=1) == y).sum()
        float(correct)  # waits for the device, as fastai's per-epoch metrics do
        synchronize(device)
        seconds.append(time.perf_counter() - started)
    return seconds


def steady(seconds: list[float]) -> float:
    """Median epoch time, leaving out the first (start-up) epoch when there are others."""
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def before_tree(args, scratch: Path) -> Path:
    if args.before_tree:
        return Path(args.before_tree)
    tree = scratch / "before"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree),
                    args.before], check=True)  # fmt: skip
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--clips", type=int, default=256, help="training clips, about")
    parser.add_argument("--epochs", type=int, default=3, help="first = warm-up")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--clip-seconds", type=float, default=5.0)
    parser.add_argument("--models", default="raw1d,raw1d_deep,spectrogram")
    parser.add_argument("--mixed-precision", default="auto", help="auto | true | false (now)",
                        type=lambda v: {"true": True, "false": False}.get(v, v))  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="before/now pairs, best of each")
    parser.add_argument("--before", default=BEFORE, help="commit of the code before")
    parser.add_argument("--before-tree", default=None, help="a checkout of it, instead")
    parser.add_argument("--no-before", action="store_true", help="today's code only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    scratch = Path(tempfile.mkdtemp(prefix="audioclf-train-speed-"))
    data = scratch / "data"
    data.mkdir()
    make_data(data, args.clips)
    old = None if args.no_before else before_tree(args, scratch)
    try:
        print(f"device {args.device}, {args.threads} threads; ~{args.clips} train clips of "
              f"{args.clip_seconds:g} s, batch {args.batch_size}, {args.epochs} epochs per "
              f"run (median after the first), best of {args.repeat}; mixed_precision "
              f"{args.mixed_precision} now"
              + ("" if old is None else f"; before = {args.before}"))  # fmt: skip
        print(f"{'model type':<14}{'before s/ep':>12}{'now s/ep':>10}{'speed-up':>10}"
              f"{'bare s/ep':>11}{'fastai/bare':>12}")  # fmt: skip
        for model_type in args.models.split(","):
            # before and now in turn, `repeat` times, the best of each: a shared machine's
            # load then falls on both alike
            before, now = float("inf"), float("inf")
            for _ in range(args.repeat):
                if old:
                    before = min(before, steady(run_tree(old, model_type, args, data, False)))
                now = min(now, steady(run_tree(REPO, model_type, args, data, True)))
            before = None if old is None else before
            bare = steady(bare_epochs(model_type, args, data))
            speed_up = f"{before / now:.2f}x" if before else "-"
            print(f"{model_type:<14}{before or float('nan'):>12.2f}{now:>10.2f}{speed_up:>10}"
                  f"{bare:>11.2f}{now / bare:>12.2f}", flush=True)  # fmt: skip
    finally:
        if old is not None and not args.before_tree:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)])


if __name__ == "__main__":
    main()
