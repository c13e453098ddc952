"""Benchmark: wall time of the whole workflow on an ESC-50-shaped archive, on the CPU.

Builds the archive of tests/esc50.py (the real layout: ESC-50-master/meta/esc50.csv and
audio/<fold>-<clip>-<take>-<target>.wav; 4 classes, 5 folds, --per-fold one-second clips of
each class in each fold), serves it on 127.0.0.1 (tests/httpserver.py), and runs snakemake
with `dataset.kind: esc50` and the two tiny models of tests/esc50.py: download, md5,
preprocessing, the 5 official folds, training, evaluation and the report. Prints the wall
time of the run and of a no-op rerun, and the rules' own seconds from results/benchmarks/.

Usage: .venv/bin/python benchmarks/esc50_end_to_end.py [--per-fold 2] [--cores 2] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
# The archive and server helpers the tests use; benchmarks/ is not a package.
sys.path.insert(0, str(REPO / "tests"))
from esc50 import build_esc50, serve, url, workflow_config  # noqa: E402


def snakemake(workdir: Path, cores: int) -> float:
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")}
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--cores", str(cores), "--quiet"],
        cwd=workdir, check=True, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


def rule_seconds(workdir: Path) -> pd.Series:
    """Seconds per rule, summed over its jobs (snakemake's own benchmark files)."""
    root = workdir / "results/benchmarks"
    rows = [
        (tsv.relative_to(root).parts[0], pd.read_csv(tsv, sep="\t")["s"].sum())
        for tsv in root.rglob("*.tsv")
    ]
    return pd.DataFrame(rows, columns=["rule", "s"]).groupby("rule")["s"].sum().sort_values()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-fold", type=int, default=2, help="clips per class per fold")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()
    esc50 = build_esc50(per_fold=args.per_fold)
    workdir = Path(tempfile.mkdtemp(prefix="esc50_bench_")) / "run"
    (workdir / "config").mkdir(parents=True)
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    with serve(esc50) as server:
        config = workflow_config(base, url(server), esc50["md5"])
        (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        first = snakemake(workdir, args.cores)
        again = snakemake(workdir, args.cores)
    n = len(esc50["rows"])
    print(f"ESC-50-shaped archive: {n} clips, 4 classes, 5 folds, {len(esc50['zip']) / 1e6:.1f} MB")
    print(f"models: {', '.join(config['models'])}; {args.cores} cores, CPU")
    print(f"end to end: {first:.1f} s wall; no-op rerun: {again:.1f} s")
    print("seconds per rule (summed over its jobs):")
    print(rule_seconds(workdir).round(1).to_string())
    if args.keep:
        print(f"kept: {workdir}")
    else:
        shutil.rmtree(workdir.parent)


if __name__ == "__main__":
    main()
