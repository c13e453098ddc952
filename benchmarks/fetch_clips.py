"""Benchmark: bytes, requests and seconds to fetch five labels' clips, ranges vs whole archive.

A local HTTP server (tests/httpserver.py) holds a full-size synthetic train archive: one
member per row of the real ../shared/data/fsdkaggle2018-meta/train_post_competition.csv
(9,473 clips, the real label distribution, members in the real fname order). The real
audio is absent, so clip durations are drawn from a log-normal clipped to FSDKaggle2018's
0.3-30 s (mean about 5.5 s, which is what 4.6 GB of 44.1 kHz 16-bit mono over 9,473 clips
implies) and each WAV payload is scaled down by --scale (default 16: about 290 MB in all).
Prints a table of the measured runs on this machine's loopback, then what the same span
plans would cost against the real 4.6 GB archive at the configured bandwidth and rate
limit, and what `method: auto` would pick.

Usage: .venv/bin/python benchmarks/fetch_clips.py [--scale 16] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from audioclf.datasets.download.archive import extract_members
from audioclf.datasets.download.http import RetryPolicy, download_file
from audioclf.datasets.download.remote_zip import (
    RemoteZip,
    cheapest_span_count,
    choose_method,
    estimate_seconds,
    fetch_members,
    member_extents,
    plan_spans,
)

REPO = Path(__file__).resolve().parents[1]
META = REPO.parent / "shared" / "data" / "fsdkaggle2018-meta" / "train_post_competition.csv"
# The server and archive helpers the tests use; benchmarks/ is not a package.
sys.path.insert(0, str(REPO / "tests"))
from httpserver import FileServer  # noqa: E402

LABELS = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
FOLDER = "FSDKaggle2018.audio_train"
REAL_ARCHIVE_BYTES = 4.6e9
BYTES_PER_SECOND_OF_AUDIO = 44100 * 2
MEAN_SECONDS = 5.5


def wav_header(n_bytes: int, sample_rate: int = 44100) -> bytes:
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + n_bytes, b"WAVE", b"fmt ", 16, 1, 1,
        sample_rate, sample_rate * 2, 2, 16, b"data", n_bytes,
    )  # fmt: skip


def build_archive(meta: pd.DataFrame, path: Path, scale: float, seed: int = 0) -> int:
    """A stored zip with one WAV per metadata row, in row order; returns its size."""
    rng = np.random.default_rng(seed)
    sigma = 1.0
    mu = np.log(MEAN_SECONDS) - sigma**2 / 2
    seconds = np.clip(rng.lognormal(mu, sigma, len(meta)), 0.3, 30.0)
    noise = rng.bytes(int(30.0 * BYTES_PER_SECOND_OF_AUDIO / scale) + 2)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for fname, duration in zip(meta["fname"], seconds, strict=True):
            n = int(duration * BYTES_PER_SECOND_OF_AUDIO / scale) // 2 * 2
            archive.writestr(f"{FOLDER}/{fname}", wav_header(n) + noise[:n])
    return path.stat().st_size


def timed(run) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=16.0, help="WAV payloads divided by this")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--bandwidth-mbps", type=float, default=50.0)
    parser.add_argument("--requests-per-minute", type=float, default=60.0)
    args = parser.parse_args()
    if not META.is_file():
        sys.exit(f"{META} is absent; this benchmark needs the real metadata in ../shared/data")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fetch-clips-"))
    workdir.mkdir(parents=True, exist_ok=True)
    meta = pd.read_csv(META, dtype=str, keep_default_na=False)
    wanted = [f"{FOLDER}/{f}" for f in meta.loc[meta["label"].isin(LABELS), "fname"]]
    archive = workdir / "FSDKaggle2018.audio_train.zip"
    build_s, size = timed(lambda: build_archive(meta, archive, args.scale))
    print(
        f"archive: {len(meta)} members, {size / 1e6:.0f} MB (payloads 1/{args.scale:g} of "
        f"real), built in {build_s:.1f} s; wanted: {len(wanted)} clips of {', '.join(LABELS)}"
    )
    policy = RetryPolicy(retries=2, backoff=0.1)
    rows = []
    with FileServer({archive.name: archive}) as server:
        url = server.url(archive.name)
        for max_spans in (500, 60):
            dest = workdir / f"ranges-{max_spans}"
            server.reset()
            seconds, report = timed(
                lambda dest=dest, m=max_spans: fetch_members(
                    url,
                    wanted,
                    dest,
                    max_spans=m,
                    parallel=args.parallel,
                    policy=policy,
                    progress=False,
                )  # fmt: skip
            )
            assert len(report.fetched) == len(wanted)
            rows.append(
                (f"ranges, max_spans {max_spans}", report.spans, server.requests,
                 server.bytes_sent, seconds)
            )  # fmt: skip
            shutil.rmtree(dest)
        dest = workdir / "whole"
        server.reset()

        def whole() -> None:
            download_file(url, dest / archive.name, progress=False)
            extract_members(dest / archive.name, dest, wanted)

        seconds, _ = timed(whole)
        rows.append(("whole archive", 1, server.requests, server.bytes_sent, seconds))
        shutil.rmtree(dest)
        with RemoteZip(url, policy=policy) as remote:
            extents = member_extents(remote.zip, [remote.zip.getinfo(n) for n in wanted])
            start_dir = remote.zip.start_dir
    archive.unlink()

    print(f"\nMeasured on 127.0.0.1 (parallel {args.parallel}):")
    print(f"{'method':24} {'spans':>6} {'requests':>9} {'MB sent':>9} {'share':>6} {'seconds':>8}")
    for name, spans, requests, sent, seconds in rows:
        print(
            f"{name:24} {spans:6d} {requests:9d} {sent / 1e6:9.1f} {sent / size:6.1%} "
            f"{seconds:8.2f}"
        )

    bandwidth = args.bandwidth_mbps * 1e6 / 8
    rpm = args.requests_per_minute
    ratio = REAL_ARCHIVE_BYTES / start_dir
    print(
        f"\nProjected for the real {REAL_ARCHIVE_BYTES / 1e9:.1f} GB archive at "
        f"{args.bandwidth_mbps:g} Mbit/s and {rpm:g} requests/min (estimate_seconds):"
    )
    best = cheapest_span_count(extents, 500, bandwidth, rpm)
    whole_s = estimate_seconds(REAL_ARCHIVE_BYTES, 1, bandwidth, rpm)
    print(f"{'plan':24} {'spans':>6} {'GB':>9} {'share':>6} {'est. s':>8}  auto picks")
    for label, count in (("max_spans 500", 500), ("max_spans 60", 60), ("auto's count", best)):
        spans = plan_spans(extents, count)
        span_bytes = sum(s.size for s in spans) * ratio
        est = estimate_seconds(span_bytes, len(spans), bandwidth, rpm)
        pick = choose_method(REAL_ARCHIVE_BYTES, span_bytes, len(spans), bandwidth, rpm)
        print(
            f"{label:24} {len(spans):6d} {span_bytes / 1e9:9.2f} "
            f"{span_bytes / REAL_ARCHIVE_BYTES:6.1%} {est:8.0f}  {pick}"
        )
    print(f"{'whole archive':24} {1:6d} {REAL_ARCHIVE_BYTES / 1e9:9.2f} {1:6.1%} {whole_s:8.0f}")
    if args.workdir is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
