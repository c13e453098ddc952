"""Decode, downmix, resample and trim every clip of a subset into the packed clip cache."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from audioclf.contracts import CLIPS, EXCLUDED, SUBSET, reason_kind
from audioclf.io import raise_output_error
from audioclf.preprocess.audio import ClipResult, ClipSettings, process_clip
from audioclf.preprocess.cache import PackedClips

# excluded.csv's reasons for a copy of a clip that carries another label, and (with
# preprocess_subset's `not_in`) for a copy of a clip of that cache
LABEL_CONFLICT = "same audio as a clip labelled otherwise ({fname}, labelled {label})"
CACHED_COPY = "same audio as a dataset clip ({fname} of {cache})"


def is_label_conflict(reason: str) -> bool:
    """Whether an excluded.csv reason is LABEL_CONFLICT's (of its kind)."""
    return reason_kind(reason) == reason_kind(LABEL_CONFLICT)


def is_cached_copy(reason: str) -> bool:
    """Whether an excluded.csv reason is CACHED_COPY's (of its kind)."""
    return reason_kind(reason) == reason_kind(CACHED_COPY)


class PreprocessError(RuntimeError):
    """Too many clips were unusable, or a label was left without any clip."""


def _process_job(job: tuple[str, ClipSettings]) -> ClipResult:
    return process_clip(*job)


def _worker_context():
    # fork starts workers in milliseconds and, unlike spawn, does not re-run a Snakemake
    # script's top level in every worker.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _results(jobs: list[tuple[str, ClipSettings]], workers: int):
    """Yield ClipResults in job order, from `workers` processes (in-process for one)."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_process_job, jobs)
        return
    # Chunks amortise the per-message cost of the pool (about a third of the CPU time of a
    # 0.5 s clip when sent one by one) while leaving eight chunks per worker to balance load.
    chunksize = max(1, min(32, len(jobs) // (workers * 8)))
    # Each worker is one core's worth of work: process_clip runs on one thread (numpy, and
    # resampling's matrix product on one BLAS thread).
    with _worker_context().Pool(min(workers, len(jobs))) as pool:
        yield from pool.imap(_process_job, jobs, chunksize=chunksize)


def read_subset(subset_csv: str | os.PathLike) -> pd.DataFrame:
    """The subset table, checked for the columns and unique fnames preprocessing needs."""
    subset = SUBSET.read(subset_csv)
    if subset.empty:
        raise PreprocessError(f"{subset_csv}: no clips listed; check the label selection")
    blank = subset.index[(subset[list(SUBSET.columns)] == "").any(axis=1)]
    if len(blank):
        raise PreprocessError(
            f"{subset_csv}: empty fname, label or path on data row(s) {list(blank + 1)[:5]}; "
            "every clip needs all three"
        )
    duplicated = subset["fname"][subset["fname"].duplicated()].unique().tolist()
    if duplicated:
        raise PreprocessError(
            f"{subset_csv}: fname(s) listed more than once, e.g. {duplicated[:5]}; "
            "each clip must appear once"
        )
    return subset


def preprocess_subset(
    subset_csv: str | os.PathLike,
    cache_path: str | os.PathLike,
    clips_csv: str | os.PathLike,
    excluded_csv: str | os.PathLike,
    sample_rate: int = 16000,
    top_db: float = 20,
    pad_ms: float = 20,
    mode: str = "all",
    max_excluded_fraction: float = 0.05,
    workers: int = 1,
    max_seconds: float = 600.0,
    too_long: str = "exclude",
    progress: bool = True,
    require_every_label: bool = True,
    not_in: str | os.PathLike | None = None,
    min_ms: float = 10.0,
) -> dict:
    """Write the packed cache, clips.csv and excluded.csv for every clip of subset.csv.

    Rows keep the subset's order. Unusable clips are listed with their reason in
    excluded.csv; if a label is left without clips (unless `require_every_label` is
    false), or more than `max_excluded_fraction` of the clips are excluded,
    PreprocessError is raised and no cache is written. A file the subset's `exclusion`
    column names a reason for (outside the dataset folder, a FIFO, ...) is listed with it,
    never opened. Copies of the same audio (equal samples as cached) under different labels
    are all excluded, each naming a copy with another label. With `not_in` (another packed
    cache), a clip whose samples equal one of that cache's clips is excluded too, named:
    an unlabeled pool never repeats a dataset clip.
    Returns counts (clips, usable, excluded, excluded_reasons: per reason_kind) and the
    usable clips' total
    original_seconds and trimmed_seconds.
    """
    settings = ClipSettings(
        int(sample_rate), float(top_db), float(pad_ms), str(mode), float(max_seconds),
        str(too_long), float(min_ms),
    )  # fmt: skip
    if not 0 <= max_excluded_fraction <= 1:
        raise ValueError(f"max_excluded_fraction must be in [0, 1], got {max_excluded_fraction}")
    subset = read_subset(subset_csv)
    fnames = subset["fname"].tolist()
    labels = subset["label"].tolist()
    paths = subset["path"].tolist()
    reasons = subset["exclusion"].tolist() if "exclusion" in subset.columns else None
    known = _clip_digests(not_in) if not_in else {}
    cache_dir = Path(cache_path).parent
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Clips go to a spool file as they arrive and come back once, into the packed tensor:
    # collecting them in memory first would hold every clip twice while packing.
    with tempfile.TemporaryFile(dir=cache_dir, prefix=".preprocess-spool-") as spool:
        done = _spool_clips(
            spool, paths, reasons, settings, workers, known, not_in, cache_path, progress
        )
        spooled = list(done.lengths)
        keep = done.exclude(_label_conflicts(done, fnames, labels))
        excluded_table = pd.DataFrame(
            [(fnames[i], labels[i], paths[i], reason) for i, reason in done.excluded],
            columns=list(EXCLUDED.columns),
        )
        EXCLUDED.write(excluded_csv, excluded_table)
        _check_exclusions(
            subset_csv, excluded_csv, fnames, labels, done.kept, done.excluded,
            max_excluded_fraction, require_every_label,
        )  # fmt: skip
        try:
            waveforms = _kept_samples(_read_spool(spool, sum(spooled)), spooled, keep)
        except OSError as err:  # the spool's last buffered bytes, flushed on a full disk
            raise_output_error(Path(cache_path), err, 4 * sum(spooled))

    cache = _pack(waveforms, done, fnames, labels, settings)
    cache.save(cache_path)
    CLIPS.write(clips_csv, _clips_table(cache, done.digests))
    summary = _summary(done, cache, len(paths))
    _print_summary(summary, cache_path, excluded_csv, done.n_cut, settings.max_seconds)
    return summary


def _print_summary(summary: dict, cache_path, excluded_csv, n_cut: int, max_seconds: float):
    print(
        f"{cache_path}: {summary['usable']} of {summary['clips']} clips, "
        f"{summary['original_seconds'] / 3600:.2f} h of audio, "
        f"{summary['trimmed_seconds'] / 3600:.2f} h after removing silence; "
        f"{summary['excluded']} excluded (listed in {excluded_csv})"
        + (f"; {n_cut} cut at max_seconds {max_seconds:g} s" if n_cut else ""),
        file=sys.stderr,
    )


@dataclass
class _Spooled:
    """The clips written to the spool (positions in subset.csv, lengths, original
    durations, digests of their samples, whether each was cut) and those excluded, with
    their reasons."""

    kept: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    original_seconds: list[float] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)
    cut: list[bool] = field(default_factory=list)
    excluded: list[tuple[int, str]] = field(default_factory=list)

    @property
    def n_cut(self) -> int:
        return sum(self.cut)

    def exclude(self, reasons: dict[int, str]) -> np.ndarray:
        """Move the kept clips at the subset positions of `reasons` to the excluded ones;
        returns, per clip spooled so far, whether it is still kept."""
        keep = np.array([i not in reasons for i in self.kept], dtype=bool)
        for name in ("kept", "lengths", "original_seconds", "digests", "cut"):
            setattr(self, name, [v for v, k in zip(getattr(self, name), keep, strict=True) if k])
        self.excluded = sorted(self.excluded + list(reasons.items()))
        return keep


def _spool_clips(
    spool, paths, reasons, settings: ClipSettings, workers, known, not_in, cache_path, progress
) -> _Spooled:
    """Preprocess every file of `paths` (in order, on `workers` processes) and write each
    usable clip to `spool`; a file with a `reasons` entry (None: none has) is excluded with
    it, unopened; a clip whose samples are `known` (digests of `not_in`'s clips) is
    excluded, naming the clip it repeats."""
    reasons = reasons or [""] * len(paths)
    jobs = [(path, settings) for path, reason in zip(paths, reasons, strict=True) if not reason]
    done = _Spooled()
    bar = tqdm(
        total=len(paths),
        desc="preprocess",
        unit="clip",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5 if sys.stderr.isatty() else 10.0,
    )
    results = _results(jobs, workers)
    with bar:
        for i, reason in enumerate(reasons):
            result = ClipResult(None, float("nan"), reason) if reason else next(results)
            digest = _digest(result.samples) if result.reason is None else b""
            if digest in known:
                result.reason = CACHED_COPY.format(fname=known[digest], cache=not_in)
            if result.reason is None:
                done.cut.append(result.cut)
                done.kept.append(i)
                done.lengths.append(len(result.samples))
                done.original_seconds.append(result.original_seconds)
                done.digests.append(digest)
                _spool(spool, result.samples, cache_path, i + 1, len(paths), done.lengths)
            else:
                done.excluded.append((i, result.reason))
            bar.update()
    return done


def _pack(
    waveforms: torch.Tensor, done: _Spooled, fnames: list, labels: list, settings: ClipSettings
) -> PackedClips:
    """The packed cache of the spooled clips, recording the settings that made them."""
    return PackedClips(
        waveforms=waveforms,
        offsets=torch.cumsum(torch.tensor([0, *done.lengths], dtype=torch.int64), 0),
        fnames=[fnames[i] for i in done.kept],
        labels=[labels[i] for i in done.kept],
        sample_rate=settings.sample_rate,
        original_seconds=torch.tensor(done.original_seconds, dtype=torch.float64),
        settings=asdict(settings),
    )


def _summary(done: _Spooled, cache: PackedClips, n_clips: int) -> dict:
    """preprocess_subset's counts and the usable clips' seconds before and after trimming."""
    return {
        "clips": n_clips,
        "usable": len(done.kept),
        "excluded": len(done.excluded),
        "excluded_reasons": dict(Counter(reason_kind(reason) for _, reason in done.excluded)),
        "cut": done.n_cut,
        "original_seconds": float(cache.original_seconds.sum()),
        "trimmed_seconds": float(cache.trimmed_seconds.sum()),
    }


def _clips_table(cache: PackedClips, digests: list[bytes]) -> pd.DataFrame:
    """clips.csv: each usable clip's label, its duration before and after trimming, and the
    hash of its samples as cached (`digests`, in the cache's order)."""
    return pd.DataFrame(
        {
            "fname": cache.fnames,
            "label": cache.labels,
            "original_seconds": cache.original_seconds.numpy(),
            "trimmed_seconds": cache.trimmed_seconds.numpy(),
            "samples_hash": [digest.hex() for digest in digests],  # as samples_hash()
        },
        columns=list(CLIPS.columns),
    )


def _spool(spool, samples: np.ndarray, cache_path, done: int, total: int, lengths: list):
    """Write one clip to the spool; a full disk is one OutputError naming the cache and
    about how many bytes it needs (the spool and the cache exist at once: twice the int16
    samples, extrapolated from the clips so far, `lengths`)."""
    try:
        spool.write(samples.data)
    except OSError as err:
        needed = int(2 * 2 * sum(lengths) * total / max(done, 1))
        raise_output_error(Path(cache_path), err, needed)


def _digest(samples: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(samples).data, digest_size=16).digest()


def samples_hash(samples: np.ndarray) -> str:
    """clips.csv's samples_hash of a clip's int16 samples as cached: equal for copies."""
    return _digest(samples).hex()


def _label_conflicts(done: _Spooled, fnames: list, labels: list) -> dict[int, str]:
    """Subset position -> reason, for every kept clip whose samples equal those of a clip
    with another label: LABEL_CONFLICT, naming the first such copy and its label."""
    copies: dict[bytes, list[int]] = {}
    for i, digest in zip(done.kept, done.digests, strict=True):
        copies.setdefault(digest, []).append(i)
    reasons = {}
    for group in copies.values():
        for i in group:
            other = next((j for j in group if labels[j] != labels[i]), None)
            if other is not None:
                reasons[i] = LABEL_CONFLICT.format(fname=fnames[other], label=labels[other])
    return reasons


def _kept_samples(waveforms: torch.Tensor, lengths: list[int], keep: np.ndarray) -> torch.Tensor:
    """The samples of the spooled clips (of `lengths`, one after another) that `keep` marks."""
    if keep.all():
        return waveforms
    bounds = np.cumsum([0, *lengths])
    kept = [waveforms[bounds[k] : bounds[k + 1]] for k in np.flatnonzero(keep)]
    return torch.cat(kept) if kept else waveforms[:0]


def _clip_digests(cache_path: str | os.PathLike) -> dict[bytes, str]:
    """{digest of a clip's int16 samples: its fname} for every clip of a packed cache."""
    cache = PackedClips.load(cache_path)
    return {_digest(cache.raw(i).numpy()): cache.fnames[i] for i in range(len(cache))}


def _read_spool(spool, n_samples: int) -> torch.Tensor:
    """Read n_samples int16 values written to `spool` into one new tensor."""
    spool.flush()
    spool.seek(0)
    waveforms = torch.empty(n_samples, dtype=torch.int16)
    buffer = memoryview(waveforms.numpy()).cast("B")
    filled = 0
    while filled < len(buffer):
        got = spool.readinto(buffer[filled:])
        if not got:
            raise OSError(f"clip spool ended after {filled} of {len(buffer)} bytes (disk full?)")
        filled += got
    return waveforms


def _check_exclusions(
    subset_csv,
    excluded_csv,
    fnames: list[str],
    labels: list[str],
    kept: list[int],
    excluded: list[tuple[int, str]],
    max_excluded_fraction: float,
    require_every_label: bool = True,
) -> None:
    """Raise PreprocessError if a label lost every clip or too many clips were excluded."""
    kept_labels = Counter(labels[i] for i in kept)
    empty = [label for label in dict.fromkeys(labels) if kept_labels[label] == 0]
    if not require_every_label:
        empty = []
    problems = []
    if empty:
        problems.append(f"label(s) {empty} have no usable clip left")
    fraction = len(excluded) / len(labels)
    if fraction > max_excluded_fraction:
        reasons = Counter(reason_kind(reason) for _, reason in excluded).most_common(3)
        problems.append(
            f"{len(excluded)} of {len(labels)} clips ({fraction:.1%}) are unusable, more than "
            f"max_excluded_fraction={max_excluded_fraction:g} (most common reasons: "
            + "; ".join(f"{reason} x{count}" for reason, count in reasons)
            + ")"
        )
    if problems:
        examples = ", ".join(f"{fnames[i]} ({reason})" for i, reason in excluded[:5])
        raise PreprocessError(
            f"{subset_csv}: "
            + " and ".join(problems)
            + (f"; e.g. {examples}" if examples else "")
            + f". Every unusable file and its reason "
            f"is listed in {excluded_csv}; fix or re-download those files, or change the "
            "selected labels, then rerun."
        )
