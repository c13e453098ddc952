"""On a CUDA GPU (issue 16): s/epoch per default model type, the workflow's fastai train()
vs a bare PyTorch loop, in bf16 autocast and in float32 (benchmarks/train_speed.py's
harness), then the whole default experiment (every model of config/config.yaml x 3 seeds)
on an FSDKaggle2018-sized demo set (272 train clips x 5 labels = 1,360, against the real
set's 1,361), wall time after preprocessing. Goals on one H100/H200: fastai within 1.3x of
the bare loop for every model; the experiment in under 3 minutes.

ImageNet weights cannot be fetched there, so `spectrogram` starts from random weights (as
in the offline FSDD benchmark). One command on the GPU machine, after
`bash benchmarks/gpu_wheels.sh` here:

    bash benchmarks/gpu_speed.sh              # run(..., carry=[".whl"])
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def speed_tables(args) -> None:
    for precision in ("true", "false"):
        print(f"\n== s/epoch, mixed_precision {precision} ==", flush=True)
        subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "train_speed.py"), "--device", "cuda",
             "--mixed-precision", precision, "--clips", str(args.clips), "--epochs",
             str(args.epochs), "--models", args.models, "--threads", str(args.threads),
             "--no-before"],
            check=True,
        )  # fmt: skip


def experiment(args) -> None:
    from audioclf.learn.registry import MODEL_TYPES

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="audioclf-gpu-experiment-"))
    shutil.copytree(REPO / "config", workdir / "config", dirs_exist_ok=True)
    defaults = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    models = {name: {"pretrained": False} if MODEL_TYPES[m["type"]].pretrained_body else {}
              for name, m in defaults["models"].items()}  # fmt: skip
    config = {
        "dataset": {"kind": "demo", "demo": {"train_per_label": args.per_label}},
        "seeds": [0, 1, 2],
        "models": models,
        "device": "cpu" if args.dry_run else "cuda",
    }
    (workdir / "config" / "gpu.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                 "--cores", str(args.cores)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run([*snakemake, "results/data/cache.pt", "--configfile", "config/gpu.yaml"],
                   cwd=workdir, check=True)  # fmt: skip
    preprocessing = time.perf_counter() - started
    started = time.perf_counter()
    dry = ["--dry-run"] if args.dry_run else []
    subprocess.run([*snakemake, *dry, "--configfile", "config/gpu.yaml"], cwd=workdir,
                   check=True)  # fmt: skip
    wall = time.perf_counter() - started
    if args.dry_run:
        print(f"dry run: the DAG builds ({workdir}); preprocessing took {preprocessing:.1f} s")
        return
    per_rule: dict[str, float] = {}
    for tsv in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        rule = tsv.relative_to(workdir / "results" / "benchmarks").parts[0]
        with tsv.open() as f:
            seconds = float(next(csv.DictReader(f, delimiter="\t"))["s"])
        per_rule[rule] = per_rule.get(rule, 0.0) + seconds
    print(f"\n== default experiment: {len(models)} models x 3 seeds, "
          f"{5 * args.per_label} demo train clips, --cores {args.cores} ==")  # fmt: skip
    print(f"preprocessing (download, select, cache): {preprocessing:.1f} s")
    print(f"everything after it (split, pretrain, train, evaluate, compare, report): {wall:.1f} s "
          f"(goal: under 180 s)")  # fmt: skip
    for rule, seconds in sorted(per_rule.items(), key=lambda kv: -kv[1]):
        print(f"  {rule:<24}{seconds:>9.1f} s summed over its jobs")
    print(f"results in {workdir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=960, help="train_speed's training clips")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--models", default="raw1d,raw1d_deep,spectrogram")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-label", type=int, default=272, help="demo train clips per label")
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-experiment", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="CPU: preprocess, then -n only")
    args = parser.parse_args()
    import torch

    if args.dry_run:
        experiment(args)
        return
    if not torch.cuda.is_available():
        sys.exit("no CUDA GPU: nothing to measure (benchmarks/train_speed.py measures the CPU)")
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    if not args.skip_speed:
        speed_tables(args)
    if not args.skip_experiment:
        experiment(args)


if __name__ == "__main__":
    main()
