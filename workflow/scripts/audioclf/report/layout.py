"""The report's fixed outputs (figure files) and default settings; light, for the Snakefile."""

from __future__ import annotations

import os
from pathlib import Path

FIGURE_NAMES = (
    "preprocessing",
    "spectrogram",
    "durations",
    "confusion",
    "per_class_f1",
    "training_curves",
    "filterbank",
    "learned_filters",
    "contrasts",
    "data_curves",
    "pretraining",
)
FIGURE_FORMATS = ("svg", "png")
DEFAULT_SETTINGS = {
    "figure_format": "svg",
    "dpi": 110,
    "example_clip": None,
    "audio_clips_per_model": 10,
    "audio_max_seconds": 10.0,
}


def figure_files(figures_dir: str | os.PathLike, figure_format: str = "svg") -> dict[str, Path]:
    """name -> path of each figure the report writes (what the Snakemake rule declares)."""
    if figure_format not in FIGURE_FORMATS:
        raise ValueError(f"report.figure_format is {figure_format!r}; use 'svg' or 'png'")
    return {name: Path(figures_dir) / f"{name}.{figure_format}" for name in FIGURE_NAMES}
