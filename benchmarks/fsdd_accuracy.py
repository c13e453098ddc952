"""Accuracy and wall time of every configured model on the Free Spoken Digit Dataset (CPU).

Runs the workflow on ../shared/data/fsdd/recordings as a `folder` dataset (labels from the
file names) with the default models of config/config.yaml, except what the flags change
(ImageNet weights cannot be fetched offline, so `pretrained` is false unless a weights
file is in the torch cache). Prints one row per model: test accuracy (mean over seeds),
macro F1, train seconds, and the paired comparison sentences.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from audioclf.learn.registry import MODEL_TYPES

REPO = Path(__file__).resolve().parents[1]
FSDD = REPO.parent / "shared" / "data" / "fsdd" / "recordings"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recordings", type=Path, default=FSDD)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--clip-seconds", type=float, default=None, help="default: config's")
    parser.add_argument("--epochs", type=int, default=None, help="all models (default: config's)")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    if not args.recordings.is_dir():
        sys.exit(f"{args.recordings} is absent: nothing to measure")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="audioclf-fsdd-"))
    shutil.copytree(REPO / "config", workdir / "config", dirs_exist_ok=True)
    defaults = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    # offline: no ImageNet weights, so every model with a pretrained body trains from scratch
    models = {
        name: {"pretrained": False} if MODEL_TYPES[m["type"]].pretrained_body else {}
        for name, m in defaults["models"].items()
    }
    if args.epochs:
        for settings in models.values():
            settings["epochs"] = args.epochs
    config = {
        "dataset": {"kind": "folder", "path": str(args.recordings),
                    "label_regex": r"^(?P<label>\d)_"},
        "labels": "all",
        "seeds": args.seeds,
        "models": models,
    }  # fmt: skip
    if args.clip_seconds:
        config["clip_seconds"] = args.clip_seconds
    (workdir / "config" / "fsdd.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--cores", str(args.cores), "--configfile", "config/fsdd.yaml"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True)
    wall = time.perf_counter() - start

    print(f"\nFSDD, {len(args.seeds)} seed(s), settings: {json.dumps(config['models'])}")
    print(f"{'model':<14}{'test acc':>10}{'± std':>8}{'macro F1':>10}{'train s':>10}")
    for name in models:
        m = json.loads((workdir / f"results/eval/{name}/metrics.json").read_text())
        print(f"{name:<14}{m['accuracy']:>10.3f}{m['std']['accuracy']:>8.3f}"
              f"{m['macro_f1']:>10.3f}{m['train_seconds']:>10.0f}")  # fmt: skip
    comparison = json.loads((workdir / "results/eval/comparison.json").read_text())
    for row in comparison["comparisons"]:
        print(row["sentence"])
    print(f"workflow wall time: {wall:.0f} s on {args.cores} cores; results in {workdir}")


if __name__ == "__main__":
    main()
