"""Accuracy and speed of every configured model on the Free Spoken Digit Dataset (CPU).

Runs the workflow on ../shared/data/fsdd/recordings as a `folder` dataset with the default
models of config/config.yaml plus the documented extras (`crnn`, `raw_filterbank` with
`init: linear`), except what the flags change (ImageNet weights cannot be fetched offline,
so `pretrained` is false). By default the split is leave-one-speaker-out: a metadata CSV
gives each recording its speaker as fold and as group, `split.test_folds` runs each of
`--test-speakers` as the test set in turn, and validation is drawn by whole speakers from
the others, so no test or validation speaker is heard in training (a random split puts
every speaker in train and test). Prints one row per model: parameters, test accuracy
(mean over seeds), macro F1, s/epoch and train seconds, then the paired comparisons.
"""

from __future__ import annotations

import argparse
import csv
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
# the documented entries of config/README.md that the default config leaves off
EXTRA_MODELS = {
    "crnn": {"type": "crnn", "epochs": 30, "lr": 0.003, "batch_size": 64,
             "freq_masks": 0, "time_masks": 0},
    "raw_filterbank_linear": {"type": "raw_filterbank", "init": "linear", "epochs": 30,
                              "lr": 0.003, "batch_size": 64, "freq_masks": 0, "time_masks": 0},
}  # fmt: skip
# the questions the extras answer, beside config.yaml's default contrasts
EXTRA_CONTRASTS = [
    {"name": "whole clip", "question": "do fixed-length crops throw information away?",
     "factor": "whole_clip", "a": "crnn", "b": "spectrogram_small"},
    {"name": "linear filters", "question": "mel-spaced or evenly spaced filters?",
     "factor": "init", "a": "raw_filterbank", "b": "raw_filterbank_linear"},
]  # fmt: skip


def recompare(workdir: Path, config: dict) -> dict:
    """comparison.json again from the runs in `workdir`, with this checkout's statistics
    and contrasts (the runs themselves are not touched)."""
    from audioclf.evaluate.compare import compare_models
    from audioclf.runs import parse_train_fraction

    names = list(config["models"])
    folder = workdir / "results/eval" / names[0]
    # the whole train split's runs only: a data-size curve's -train<P> runs repeat a seed
    runs = sorted(
        p.name for p in folder.iterdir() if p.is_dir() and parse_train_fraction(p.name) == 1.0
    )
    files = {
        name: {
            "summary": workdir / f"results/eval/{name}/metrics.json",
            "runs": [workdir / f"results/eval/{name}/{r}/metrics.json" for r in runs],
            "predictions": [workdir / f"results/eval/{name}/{r}/predictions.csv" for r in runs],
        }
        for name in names
    }
    return compare_models(
        files, workdir / "results/eval/comparison.json", contrasts=config["contrasts"]
    )


def speaker_metadata(recordings: Path, out_csv: Path, per_speaker: int | None = None) -> list[str]:
    """fname,label,fold,speaker for `{digit}_{speaker}_{index}.wav` files, the speaker as
    fold and as group; with `per_speaker`, each speaker's first per_speaker / 10 recordings
    of each digit (by index) only."""
    rows = []
    for path in sorted(recordings.glob("*.wav"), key=lambda p: (p.stem.split("_")[1:], p.stem)):
        digit, speaker, index = path.stem.split("_")
        if per_speaker is not None and int(index) >= per_speaker // 10:
            continue
        rows.append({"fname": path.name, "label": digit, "fold": speaker, "speaker": speaker})
    with open(out_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["fname", "label", "fold", "speaker"])
        writer.writeheader()
        writer.writerows(rows)
    return sorted({r["fold"] for r in rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recordings", type=Path, default=FSDD)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--clip-seconds", type=float, default=None, help="default: config's")
    parser.add_argument("--epochs", type=int, default=None, help="all models (default: config's)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--split", choices=("speakers", "stratified"), default="speakers")
    parser.add_argument(
        "--test-speakers", nargs="+", default=["jackson"],
        help="with --split speakers: one run per test speaker and seed (leave-one-speaker-out)",
    )  # fmt: skip
    parser.add_argument(
        "--per-speaker", type=int, default=None,
        help="with --split speakers: this many recordings per speaker (a tenth per digit)",
    )  # fmt: skip
    parser.add_argument("--no-extras", action="store_true", help="default models only")
    parser.add_argument("--models", nargs="+", help="only these models (default: all)")
    parser.add_argument(
        "--precision-twins", action="store_true",
        help="each model also as <name>_fp32 (mixed_precision: false), with the contrast",
    )  # fmt: skip
    parser.add_argument(
        "--recompare", action="store_true",
        help="only recompute the statistics of a finished --workdir with this checkout's code",
    )  # fmt: skip
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
    contrasts = list(defaults.get("contrasts", []))
    if not args.no_extras:
        models.update({name: dict(m) for name, m in EXTRA_MODELS.items()})
        contrasts += EXTRA_CONTRASTS
    if args.models:
        unknown = sorted(set(args.models) - set(models))
        if unknown:
            sys.exit(f"--models {unknown} are not among {sorted(models)}")
        models = {name: models[name] for name in args.models}
    if args.epochs:
        for settings in models.values():
            settings["epochs"] = args.epochs
    if args.precision_twins:  # issue 16: does bf16 autocast change accuracy?
        for name in list(models):
            base = defaults["models"].get(name, {})  # the twin is not in config.yaml
            models[f"{name}_fp32"] = {**base, **models[name], "mixed_precision": False}
            contrasts.append({"name": f"{name} bf16 vs fp32", "a": name, "b": f"{name}_fp32",
                              "question": "does bf16 autocast change accuracy?"})  # fmt: skip
    config = {
        "dataset": {"kind": "folder", "path": str(args.recordings),
                    "label_regex": r"^(?P<label>\d)_"},
        "labels": "all",
        "seeds": args.seeds,
        "models": models,
        "contrasts": contrasts,
        # pretraining crops as long as the training crops
        "pretrain": {name: {"crop_seconds": args.clip_seconds or defaults["clip_seconds"]}
                     for name in defaults.get("pretrain", {})},
    }  # fmt: skip
    if args.split == "speakers":
        metadata = workdir / "speakers.csv"
        speakers = speaker_metadata(args.recordings, metadata, args.per_speaker)
        unknown = sorted(set(args.test_speakers) - set(speakers))
        if unknown:
            sys.exit(f"--test-speakers {unknown} are not among {speakers}")
        # the speaker is the fold (the test part) and the group (validation comes from
        # whole speakers outside the test one): leave-one-speaker-out, speaker-disjoint
        config["dataset"] = {"kind": "folder", "path": str(args.recordings),
                             "metadata": str(metadata),
                             "columns": {"group": "speaker"}}  # fmt: skip
        config["split"] = {"method": "folds", "test_folds": list(args.test_speakers)}
    if args.clip_seconds:
        config["clip_seconds"] = args.clip_seconds
    if args.recompare:
        if args.workdir is None:
            sys.exit("--recompare needs the --workdir of a finished run")
        recompare(workdir, config)
        report(workdir, args, config, wall=None)
        return
    (workdir / "config" / "fsdd.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if args.models:
        # the config files merge: leave the other default models out of the base one too
        base = {**defaults, "models": {k: v for k, v in defaults["models"].items() if k in models}}
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--cores", str(args.cores), "--configfile", "config/fsdd.yaml"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True)
    wall = time.perf_counter() - start
    report(workdir, args, config, wall)


def report(workdir: Path, args, config: dict, wall: float | None) -> None:
    """Print the per-model table and the contrasts of a finished run."""
    models = config["models"]
    split = (
        f"leave-one-speaker-out, speaker-disjoint validation (test speakers "
        f"{', '.join(args.test_speakers)}; {args.per_speaker or 'all'} clips per speaker)"
        if args.split == "speakers"
        else "stratified 64/16/20"
    )
    print(f"\nFSDD, {split}, {len(args.seeds)} seed(s), settings: {json.dumps(config['models'])}")
    print(f"{'model':<23}{'type':<18}{'params':>11}{'test acc':>10}{'± std':>8}"
          f"{'macro F1':>10}{'s/epoch':>9}{'train s':>9}{'n_test':>8}")  # fmt: skip
    for name in models:
        m = json.loads((workdir / f"results/eval/{name}/metrics.json").read_text())
        per_epoch = m["train_seconds"] / max(1, m.get("epochs_run") or m["epochs"])
        print(f"{name:<23}{m['type']:<18}{m['n_params']:>11,}{m['accuracy']:>10.3f}"
              f"{m['std']['accuracy']:>8.3f}{m['macro_f1']:>10.3f}{per_epoch:>9.1f}"
              f"{m['train_seconds']:>9.0f}{m['n_test']:>8}")  # fmt: skip
    comparison = json.loads((workdir / "results/eval/comparison.json").read_text())
    print(f"\n{'contrast':<30}{'factor':<14}{'a - b':>8}{'95% CI':>16}{'p':>9}{'Holm p':>9}"
          "  also differs")  # fmt: skip
    for row in comparison.get("contrasts", []):
        head = f"{row['name']:<30}{str(row.get('factor')):<14}"
        if not row.get("measured", True):
            print(f"{head}{row['reason']}")
            continue
        ci = f"{row['low']:.1f} to {row['high']:.1f}"
        others = "; ".join(f"{d['key']} ({d['a']} vs {d['b']})" for d in row["also_differs"])
        print(f"{head}{row['difference']:>8.1f}{ci:>16}{row['p_value']:>9.2g}"
              f"{row['p_adjusted']:>9.2g}  {others or 'none'}")  # fmt: skip
    for row in comparison.get("skipped_contrasts", []):
        print(f"{row['name']:<30} skipped: {row['reason']}")
    print()
    for row in comparison.get("contrasts", []) + comparison["comparisons"]:
        print(row["sentence"])
    if wall is not None:
        print(f"workflow wall time: {wall:.0f} s on {args.cores} cores; results in {workdir}")


if __name__ == "__main__":
    main()
