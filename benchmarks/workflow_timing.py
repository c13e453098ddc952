"""Wall time of the offline demo (goal: at most 5 min on 2 cores) and of a no-op rerun (< 3 s).

Runs `snakemake --cores 8 --configfile config/demo.yaml` in a fresh folder (or --workdir),
prints each rule's seconds and peak memory from its benchmark file, then times
`snakemake --cores 8` again on the finished run, which must have nothing to do.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def run(workdir: Path, *args: str) -> float:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), *args]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return seconds


def rule_table(workdir: Path) -> pd.DataFrame:
    rows = []
    root = workdir / "results" / "benchmarks"
    for tsv in sorted(root.glob("**/*.tsv")):
        bench = pd.read_csv(tsv, sep="\t")
        name = tsv.relative_to(root).with_suffix("").as_posix()
        rows.append((name, bench["s"].iloc[0], bench["max_rss"].iloc[0]))
    return pd.DataFrame(rows, columns=["job", "seconds", "max_rss_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, help="keep the run here (default: a temp dir)")
    parser.add_argument("--noop-repeats", type=int, default=3)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="audioclf-demo-"))
    shutil.copytree(REPO / "config", workdir / "config", dirs_exist_ok=True)

    demo = run(workdir, "--cores", "8", "--configfile", "config/demo.yaml")
    print(rule_table(workdir).to_string(index=False))
    print(f"\ndemo workflow, every model: {demo:.1f} s wall (goal <= 300 s on 2 cores)")
    noops = [
        run(workdir, "--cores", "8", "--configfile", "config/demo.yaml")
        for _ in range(args.noop_repeats)
    ]
    print(f"no-op rerun: {min(noops):.2f} s best, {max(noops):.2f} s worst (goal < 3 s)")
    if args.workdir is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
