"""Benchmark: peak memory of preprocess_subset on a set shaped like the real subset (goal < 2 GB).

Generates 1,533 synthetic clips of 0.3-30 s at 44.1 kHz (the real five-label subset's
count; the demo's uniform durations make it longer than the real audio, so the bound is
conservative), then samples the resident memory of this process and all its worker
processes while preprocess_subset runs. Usage:
.venv/bin/python benchmarks/preprocess_memory.py [--workers N] [--clips N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

from audioclf.datasets.demo import META_DIR, make_demo_dataset
from audioclf.datasets.subset import write_subset
from audioclf.preprocess.clips import preprocess_subset

GOAL_BYTES = 2 * 1024**3
LABELS = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
REAL_SUBSET_CLIPS = 1533


class MemorySampler:
    """Peak RSS and PSS summed over this process and its descendants, sampled in a thread.

    RSS counts pages that forked workers share with the parent once per process (an upper
    bound); PSS splits shared pages between them (what the processes really cost together).
    """

    def __init__(self, interval_s: float = 0.05):
        self.interval_s = interval_s
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        processes = [me, *me.children(recursive=True)]
        rss = pss = 0
        for process in processes:
            try:
                info = process.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_processes = max(self.peak_processes, len(processes))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval_s)

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--clips", type=int, default=REAL_SUBSET_CLIPS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="audioclf-memory-") as tmp:
        tmp = Path(tmp)
        per_label = -(-args.clips // len(LABELS))
        start = time.perf_counter()
        demo = make_demo_dataset(
            tmp / "demo",
            LABELS,
            train_per_label=per_label - per_label // 9,
            test_per_label=per_label // 9,
            distractors_per_label=0,
            ignored_test_clips=0,
        )
        print(
            f"generated {demo['train_clips'] + demo['test_clips']} clips, "
            f"{demo['audio_seconds'] / 3600:.1f} h of 44.1 kHz audio "
            f"({demo['audio_seconds'] * 44100 * 2 / 1024**3:.2f} GiB of WAV) "
            f"in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        subset_csv = tmp / "subset.csv"
        subset = write_subset(
            subset_csv,
            "demo",
            LABELS,
            include_test_clips=True,
            meta_dir=tmp / "demo" / META_DIR,
            audio_root=tmp / "demo",
        )
        subset.head(args.clips).to_csv(subset_csv, index=False)

        out = tmp / "out"
        with MemorySampler() as memory:
            baseline = memory.peak_rss
            start = time.perf_counter()
            summary = preprocess_subset(
                subset_csv,
                out / "cache.pt",
                out / "clips.csv",
                out / "excluded.csv",
                workers=args.workers,
                progress=False,
            )
            wall = time.perf_counter() - start
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        cache_bytes = (out / "cache.pt").stat().st_size
        clips = pd.read_csv(out / "clips.csv")

    print(
        f"preprocess_subset: {summary['usable']} clips ({summary['excluded']} excluded), "
        f"{summary['original_seconds'] / 3600:.1f} h -> {summary['trimmed_seconds'] / 3600:.1f} h "
        f"after trimming, {args.workers} worker(s), {wall:.0f} s; cache {gib(cache_bytes)}, "
        f"{len(clips)} rows in clips.csv"
    )
    print(f"RSS before the call (this process): {gib(baseline)}")
    print(
        f"peak summed over {memory.peak_processes} processes: RSS {gib(memory.peak_rss)} "
        f"(shared pages counted per process), PSS {gib(memory.peak_pss)}"
    )
    print(
        f"getrusage max RSS: this process {gib(own)} + largest worker {gib(child)} "
        f"= {gib(own + child)}"
    )
    for name, value in [("summed RSS", memory.peak_rss), ("summed PSS", memory.peak_pss)]:
        verdict = "meets" if value < GOAL_BYTES else "ABOVE"
        print(f"peak {name} {gib(value)} {verdict} the goal of < {gib(GOAL_BYTES)}")


if __name__ == "__main__":
    main()
