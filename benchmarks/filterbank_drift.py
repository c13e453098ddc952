"""How far training moves the learned filterbank from its mel layout, by front-end lr.

Trains `raw_filterbank` (mel init) on a finished run's cache and split once per
`front_end_lr_mult`, then reads each model.pt: the median distance each centre moved, in
units of its initial neighbour spacing (at mel init, the filter's half-maximum width), the
share of neighbouring filters that swapped order, and the test accuracy.

    .venv/bin/python benchmarks/filterbank_drift.py --cache results/data/cache.pt \
        --split results/data/splits/seed0/split.csv --mults 1 0.1 0.01 \
        [--settings demo|default] [--epochs N] [--clip-seconds S]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from audioclf.evaluate.scoring import evaluate
from audioclf.learn.checkpoint import load_checkpoint
from audioclf.learn.features import centre_drift, filterbank_centres
from audioclf.learn.train import train

# raw_filterbank as config/config.yaml has it (`--settings default`), and with
# config/demo.yaml over it (`--settings demo`)
DEFAULT = {
    "type": "raw_filterbank",
    "init": "mel",
    "epochs": 30,
    "lr": 0.003,
    "batch_size": 64,
    "weight_decay": 0.01,
    "n_fft": 1024,
    "hop_length": 200,
    "n_mels": 128,
    "channels": 24,
    "blocks": 4,
    "dropout": 0.2,
    "freq_masks": 0,
    "time_masks": 0,
}
DEMO = {"type": "raw_filterbank", "init": "mel", "epochs": 20, "lr": 0.003, "batch_size": 32,
        "weight_decay": 0.01, "n_fft": 1024, "hop_length": 400, "n_mels": 64, "channels": 13,
        "blocks": 4, "dropout": 0.2, "freq_masks": 0, "time_masks": 0}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--split", type=Path, required=True)
    parser.add_argument("--mults", type=float, nargs="+", default=[1.0, 0.1, 0.01])
    parser.add_argument("--clip-seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settings", choices=("demo", "default"), default="demo")
    parser.add_argument("--epochs", type=int, default=None, help="default: the settings'")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mult in args.mults:
            out = Path(tmp) / f"x{mult}"
            out.mkdir()
            base = DEMO if args.settings == "demo" else DEFAULT
            settings = {**base, "front_end_lr_mult": mult}
            if args.epochs is not None:
                settings["epochs"] = args.epochs
            train(args.cache, args.split, out / "model.pt", out / "history.csv",
                  model_name="raw_filterbank", model_settings=settings,
                  clip_seconds=args.clip_seconds, device="cpu", seed=args.seed,
                  threads=args.threads)  # fmt: skip
            metrics = evaluate(args.cache, args.split, out / "model.pt", out / "p.csv",
                               out / "m.json", device="cpu", threads=args.threads)  # fmt: skip
            checkpoint = load_checkpoint(out / "model.pt")
            drift = centre_drift(*filterbank_centres(checkpoint["state_dict"]))
            drift["swapped_share"] = drift["swapped"] / drift["pairs"]
            rows.append({"front_end_lr_mult": mult, **drift,
                         "test_accuracy": metrics["accuracy"]})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    print("| front_end_lr_mult | median move (spacings) | moved > 1 spacing | swapped | "
          "max move (Hz) | test accuracy |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['front_end_lr_mult']:g} | {r['median_move_spacings']:.2f} | "
              f"{100 * r['moved_over_one_spacing']:.0f}% | {100 * r['swapped_share']:.1f}% | "
              f"{r['max_move_hz']:.0f} | {100 * r['test_accuracy']:.1f}% |")  # fmt: skip


if __name__ == "__main__":
    main()
