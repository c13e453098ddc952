"""A local stand-in for the ESC-50 GitHub archive: the real layout (ESC-50-master/ with
meta/esc50.csv and audio/<fold>-<clip>-<take>-<target>.wav), tiny synthetic clips."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pandas as pd
import soundfile as sf

from httpserver import FileServer

ARCHIVE_PATH = "karoldvl/ESC-50/archive/master.zip"
TOP = "ESC-50-master"
# (category, target, in ESC-10) as in the real esc50.csv
CLASSES = [("dog", 0, True), ("rooster", 1, True), ("pig", 2, False), ("rain", 10, True)]
CSV_COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]


def tone_wav(target: int, seed: int, seconds: float = 1.0, sample_rate: int = 16000) -> bytes:
    """A class-dependent tone in noise, so the tiny models have something to learn."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = 0.3 * np.sin(2 * np.pi * (300 + 150 * target) * t) + 0.05 * rng.standard_normal(t.size)
    buffer = io.BytesIO()
    sf.write(buffer, wave.astype(np.float32), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def esc50_rows(per_fold: int = 2, folds: int = 5, classes=CLASSES) -> pd.DataFrame:
    """esc50.csv's rows: `per_fold` clips of every class in every fold."""
    rows = []
    for fold in range(1, folds + 1):
        for category, target, esc10 in classes:
            for k in range(per_fold):
                src = 100000 + 1000 * target + 10 * fold + k
                rows.append({
                    "filename": f"{fold}-{src}-A-{target}.wav", "fold": fold, "target": target,
                    "category": category, "esc10": esc10, "src_file": src, "take": "A",
                })  # fmt: skip
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def build_esc50(per_fold: int = 2, rows: pd.DataFrame | None = None, drop=()) -> dict:
    """The archive's bytes, md5 and rows; the files named in `drop` are left out of audio/."""
    rows = esc50_rows(per_fold) if rows is None else rows
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{TOP}/README.md", "# ESC-50 (a test stand-in)\n")
        archive.writestr(f"{TOP}/LICENSE", "CC BY-NC 3.0 (stand-in)\n")
        archive.writestr(f"{TOP}/meta/esc50.csv", rows.to_csv(index=False))
        for i, row in rows.iterrows():
            if row["filename"] not in drop:
                archive.writestr(
                    f"{TOP}/audio/{row['filename']}", tone_wav(int(row["target"]), seed=i)
                )
    data = buffer.getvalue()
    return {"zip": data, "md5": hashlib.md5(data).hexdigest(), "rows": rows}


def serve(esc50: dict) -> FileServer:
    """A FileServer (use it as a context manager) answering for the archive's URL path."""
    return FileServer({ARCHIVE_PATH: esc50["zip"]})


def url(server: FileServer) -> str:
    return f"{server.base_url}/{ARCHIVE_PATH}"


# Two tiny models (one per input), a few epochs: seconds per fold on 2 cores
TINY_MODELS = {
    "raw": {"type": "raw1d", "epochs": 3, "lr": 0.003, "batch_size": 8, "min_steps": 0},
    "spectrogram_small": {
        "type": "spectrogram_small", "epochs": 3, "lr": 0.003, "batch_size": 8,
        "min_steps": 0, "n_mels": 32, "channels": 8, "blocks": 2, "freq_mask_width": 4,
        "time_mask_width": 4,
    },
}  # fmt: skip


def workflow_config(base: dict, archive_url: str, md5: str, models=None) -> dict:
    """`base` (config/config.yaml) for the archive at `archive_url`: all its classes, its
    official folds (split.method left to the dataset), tiny models only, on the CPU."""
    return {
        **base,
        "dataset": {**base["dataset"], "kind": "esc50",
                    "esc50": {"url": archive_url, "md5": md5, "esc10": False},
                    "download": {**base["dataset"]["download"], "retries": 1}},
        "labels": "all",
        "split": {**base["split"], "method": None},
        "clip_seconds": 1,
        "device": "cpu",
        "seeds": [0],
        # config.yaml's other models left out by null: it lies beneath every run's config
        "models": {**dict.fromkeys(base["models"]), **(models or TINY_MODELS)},
    }  # fmt: skip
