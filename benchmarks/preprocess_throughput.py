"""Benchmark: seconds of audio preprocessed per wall second per core (goal: >= 300x real time).

Runs preprocess_subset on (a) a generated demo dataset (44.1 kHz, 0.3-30 s clips) and
(b) the Free Spoken Digit Dataset in ../shared/data/fsdd (8 kHz, short clips; skipped
with a message when absent). Usage: .venv/bin/python benchmarks/preprocess_throughput.py
[--workers N ...] [--train-per-label N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from audioclf.datasets.demo import META_DIR, make_demo_dataset
from audioclf.datasets.subset import write_subset
from audioclf.preprocess.clips import preprocess_subset

GOAL = 300.0
LABELS = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd" / "recordings"


def cpu_seconds() -> float:
    """User + system time of this process and of its finished children (the workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(name: str, subset_csv: Path, workdir: Path, workers: int) -> None:
    out = workdir / f"out-{workers}"
    cpu = cpu_seconds()
    start = time.perf_counter()
    summary = preprocess_subset(
        subset_csv,
        out / "cache.pt",
        out / "clips.csv",
        out / "excluded.csv",
        workers=workers,
        progress=False,
    )
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    audio = summary["original_seconds"]
    per_core = audio / wall / workers
    verdict = "meets" if per_core >= GOAL else "BELOW"
    print(
        f"{name}: {summary['usable']} clips, {audio:.0f} s of audio "
        f"({summary['trimmed_seconds']:.0f} s after trimming), {workers} worker(s): "
        f"{wall:.2f} s wall = {audio / wall:.0f}x real time = {per_core:.0f}x per core "
        f"({verdict} the {GOAL:.0f}x goal); {cpu:.2f} CPU s = {audio / cpu:.0f}x per CPU second",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--train-per-label", type=int, default=40)
    args = parser.parse_args()
    workers = sorted(set(args.workers))
    print(f"machine: {os.cpu_count()} CPU core(s)")

    with tempfile.TemporaryDirectory(prefix="audioclf-bench-") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        demo = make_demo_dataset(tmp / "demo", LABELS, train_per_label=args.train_per_label)
        wall = time.perf_counter() - start
        print(
            f"demo dataset: {demo['train_clips'] + demo['test_clips']} clips, "
            f"{demo['audio_seconds']:.0f} s of 44.1 kHz audio generated in {wall:.2f} s "
            f"({demo['audio_seconds'] / wall:.0f}x real time, one core)",
            flush=True,
        )
        subset_csv = tmp / "demo-subset.csv"
        write_subset(
            subset_csv,
            "demo",
            LABELS,
            include_test_clips=True,
            meta_dir=tmp / "demo" / META_DIR,
            audio_root=tmp / "demo",
        )
        for n in workers:
            measure("demo (44.1 kHz)", subset_csv, tmp, n)

        if not FSDD.is_dir():
            print(f"fsdd: skipped, {FSDD} is absent (the shared data folder is not mounted)")
            return
        subset_csv = tmp / "fsdd-subset.csv"
        folder = {"path": str(FSDD), "label_regex": r"^(?P<label>\d)_"}
        write_subset(subset_csv, "folder", "all", settings=folder)
        for n in workers:
            measure("fsdd (8 kHz)", subset_csv, tmp / "fsdd", n)


if __name__ == "__main__":
    main()
