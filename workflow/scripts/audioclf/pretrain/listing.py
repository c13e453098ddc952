"""A folder pool's files, listed the same way for the Snakefile (a digest that reruns the
pool when a file changes) and for the pool table, and that digest of any files (predict's
folder has one too); no torch, no pandas."""

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
    return listing_digest(audio_files(folders))


def listing_digest(paths: Sequence[str | os.PathLike]) -> str:
    """A digest of each path's name, size and mtime: its target's for a symlink, the link's
    own for one that leads nowhere, and "missing" for a path that is not there."""
    digest = hashlib.sha1()
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            try:
                stat = os.lstat(path)
            except OSError:
                stat = None
        entry = f"{stat.st_size}\0{stat.st_mtime_ns}" if stat else "missing"
        digest.update(f"{path}\0{entry}\n".encode())
    return digest.hexdigest()
