"""What ran: package versions, git commit, devices and wall time per Snakemake rule."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import pandas as pd

from audioclf.report.formatting import duration, number
from audioclf.report.tables import Table

PACKAGES = (
    "torch",
    "torchaudio",
    "torchvision",
    "fastai",
    "snakemake",
    "numpy",
    "pandas",
    "scikit-learn",
    "soundfile",
    "matplotlib",
)


def package_versions(packages: tuple[str, ...] = PACKAGES) -> list[tuple[str, str]]:
    """(name, installed version or 'not installed'), Python first."""
    versions = [("python", platform.python_version())]
    for name in packages:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def git_commit(directory: str | os.PathLike = ".") -> str:
    """HEAD of the git repository holding `directory` (+ ' (uncommitted changes)'), or 'unknown'.

    The report passes its own folder: the commit of the code that ran, wherever the
    working directory is.
    """
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (uncommitted changes)" if dirty else head or "unknown"


def rule_and_wildcards(path: Path) -> tuple[str, str]:
    """("train_model", "raw / seed0") from results/benchmarks/train_model/raw/seed0.tsv: the
    folder under `benchmarks` is the rule, the rest its wildcards."""
    parts = path.with_suffix("").parts
    if "benchmarks" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("benchmarks")
        if len(parts) - at >= 3:
            return parts[at + 1], " / ".join(parts[at + 2 :])
    return path.parent.name, path.stem


def benchmark_table(paths: list[str | os.PathLike]) -> tuple[Table, float]:
    """Rule, wildcards and wall seconds of each benchmark TSV, and their sum.

    Paths follow results/benchmarks/<rule>/<wildcards>.tsv; a file with several rows
    (Snakemake's `repeat`) counts their mean.
    """
    rows, total = [], 0.0
    for path in sorted(paths, key=str):
        path = Path(path)
        frame = pd.read_csv(path, sep="\t")
        if "s" not in frame.columns or frame.empty:
            raise ValueError(
                f"{path}: not a Snakemake benchmark file (no 's' column or no rows); "
                "delete it and rerun its rule"
            )
        seconds = float(pd.to_numeric(frame["s"], errors="coerce").mean())
        # Snakemake writes "-" where it could not measure memory.
        rss = pd.to_numeric(frame.get("max_rss", pd.Series(dtype=float)), errors="coerce").mean()
        total += seconds
        rule, wildcards = rule_and_wildcards(path)
        rows.append([rule, wildcards, number(seconds, 1), duration(seconds), number(rss, 0)])
    table = Table(["rule", "wildcards", "wall (s)", "wall", "max RSS (MB)"], rows, {2, 4})
    return table, total
