"""Which unlabeled pool pretrains the seed's conv better: the run's own train clips, or the
clips of the labels it leaves out? Measured on the offline demo (CPU).

Runs the workflow on config/demo.yaml with the demo's distractor labels (Applause, Flute,
Telephone) raised to --distractors train clips each, and three models of the seed's
`raw` type trained alike: `raw` (no pretraining), `raw_ae` (its conv pretrained on the
train pool, as in config.yaml) and `raw_ae_other` (pretrained on the other_labels pool,
the distractor labels' clips, which never enter the subset). Prints each pool's size,
each model's test accuracy per seed, and the contrasts.
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

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
MODELS = ("raw", "raw_ae", "raw_ae_other")
CONTRASTS = [
    {"name": "autoencoder pretraining", "question": "does pretraining the conv help?",
     "a": "raw_ae", "b": "raw"},
    {"name": "pool: other labels", "question": "is audio of other labels as good a pool?",
     "a": "raw_ae_other", "b": "raw_ae"},
    {"name": "other-label pretraining", "question": "does a pool of other labels help?",
     "a": "raw_ae_other", "b": "raw"},
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--distractors", type=int, default=40, help="train clips per label")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="print a finished --workdir")
    args = parser.parse_args()
    if args.report_only:
        if args.workdir is None:
            sys.exit("--report-only needs the --workdir of a finished run")
        return report(args.workdir, args, wall=None)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="audioclf-pools-"))
    shutil.copytree(REPO / "config", workdir / "config", dirs_exist_ok=True)
    defaults = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    # the config files merge: leave the other models out of the base and demo ones
    base = {**defaults, "models": {k: defaults["models"][k] for k in MODELS if k != "raw_ae_other"}}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    trimmed = {**demo, "models": {k: demo["models"][k] for k in MODELS if k in demo["models"]}}
    (workdir / "config" / "demo.yaml").write_text(yaml.safe_dump(trimmed, sort_keys=False))
    raw_conv = {**defaults["pretrain"]["raw_conv"], **demo["pretrain"]["raw_conv"]}
    overrides = {
        "dataset": {"demo": {**demo["dataset"]["demo"], "distractors_per_label": args.distractors}},
        "seeds": args.seeds,
        "models": {
            **{k: demo["models"][k] for k in ("raw", "raw_ae")},
            "raw_ae_other": {**defaults["models"]["raw_ae"], **demo["models"]["raw_ae"],
                             "pretrained": "autoencoder:left_out"},
        },
        "pretrain": {"left_out": {**raw_conv, "pool": "other_labels"}},
        "contrasts": CONTRASTS,
    }  # fmt: skip
    (workdir / "config" / "pools.yaml").write_text(yaml.safe_dump(overrides, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--cores", str(args.cores),
           "--configfile", "config/demo.yaml", "config/pools.yaml"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True)
    wall = time.perf_counter() - start
    report(workdir, args, wall)


def report(workdir: Path, args, wall: float | None) -> None:
    print(f"\nThe demo, distractor labels with {args.distractors} train clips each; "
          f"seeds {args.seeds}")  # fmt: skip
    for name in ("raw_conv", "left_out"):  # the train pool per split, the other pool once
        for file in sorted((workdir / "results/pretrain" / name).glob("*/encoder.pt")):
            encoder = torch.load(file, weights_only=True)
            pool, history = encoder["pool"], encoder["history"]
            print(f"pretrain.{name} ({file.parent.name}): {pool['source']} pool, "
                  f"{pool['n_clips']} clips, {pool['seconds']:.0f} s"
                  + (f", labels {pool['labels']}" if "labels" in pool else "")
                  + f"; loss {history[0]['loss']:.3f} -> {history[-1]['loss']:.3f} in "
                  f"{len(history)} epochs")  # fmt: skip
    print(f"\n{'model':<15}" + "".join(f"{'seed ' + str(s):>9}" for s in args.seeds)
          + f"{'mean':>9}")  # fmt: skip
    for name in MODELS:
        accs = [
            json.loads((workdir / f"results/eval/{name}/seed{s}/metrics.json").read_text())[
                "accuracy"
            ]
            for s in args.seeds
        ]
        print(f"{name:<15}" + "".join(f"{a:>9.1%}" for a in accs)
              + f"{sum(accs) / len(accs):>9.1%}")  # fmt: skip
    comparison = json.loads((workdir / "results/eval/comparison.json").read_text())
    print(f"\n{'contrast':<26}{'a - b':>8}{'95% CI':>16}{'seeds':>7}  McNemar p per seed")
    for row in comparison.get("contrasts", []):
        ci = f"{row['low']:.1f} to {row['high']:.1f}"
        p_values = ", ".join(f"{p:.2g}" for p in row["p_values"])
        print(f"{row['name']:<26}{row['difference']:>8.1f}{ci:>16}{row['n_seeds']:>7}  {p_values}")
    print()
    for row in comparison.get("contrasts", []):
        print(row["sentence"])
    if wall is not None:
        print(f"workflow wall time: {wall:.0f} s on {args.cores} cores; results in {workdir}")


if __name__ == "__main__":
    main()
