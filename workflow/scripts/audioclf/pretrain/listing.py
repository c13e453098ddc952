"""A folder pool's files, listed the same way for the Snakefile (a digest that reruns the
pool when a file changes) and for the pool table; no torch, no pandas."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from audioclf.datasets.catalog import AUDIO_EXTENSIONS


def audio_files(folders: Sequence[str | os.PathLike]) -> list[str]:
    """Every audio file under `folders` (recursively, the extensions a dataset folder
    reads), each once, in a stable order; a folder that does not exist lists nothing."""
    return list(
        dict.fromkeys(
            str(p)
            for folder in folders
            for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
        )
    )


def folder_listing(folders: Sequence[str | os.PathLike]) -> str:
    """A digest of each audio file's path, size and mtime under `folders`."""
    digest = hashlib.sha1()
    for path in audio_files(folders):
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
