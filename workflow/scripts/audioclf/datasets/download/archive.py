"""Safe zip extraction: members land atomically, and never outside the target folder."""

from __future__ import annotations

import os
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from audioclf.io import atomic_path

COPY_BYTES = 1 << 20


class UnsafeMemberError(ValueError):
    """A zip member's name would place it outside the target folder."""


class MissingMemberError(LookupError):
    """A wanted member is not in the archive."""


def member_target(dest_dir: str | os.PathLike, name: str) -> Path:
    """Where member `name` goes under `dest_dir`; raises for absolute, drive or `..` names."""
    posix = PurePosixPath(name.replace("\\", "/"))
    unsafe = (
        not name
        or posix.is_absolute()
        or PureWindowsPath(name).drive
        or PureWindowsPath(name).is_absolute()
        or ".." in posix.parts
    )
    if unsafe:
        raise UnsafeMemberError(
            f"zip member {name!r} is absolute, has a drive or a '..' component; "
            f"refusing to extract it under {dest_dir} (the archive is not trustworthy)"
        )
    return Path(dest_dir).joinpath(*posix.parts)


def file_crc32(path: str | os.PathLike) -> int:
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_BYTES):
            crc = zlib.crc32(chunk, crc)
    return crc


def is_extracted(target: str | os.PathLike, info: zipfile.ZipInfo) -> bool:
    """Does `target` already hold this member (same size and CRC-32)?"""
    target = Path(target)
    return (
        target.is_file()
        and target.stat().st_size == info.file_size
        and file_crc32(target) == info.CRC
    )


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> int:
    """Write one member to `target` atomically (zipfile checks its CRC); returns its bytes."""
    with archive.open(info) as source, atomic_path(target) as tmp, open(tmp, "wb") as out:
        shutil.copyfileobj(source, out, COPY_BYTES)
    return info.file_size


def extract_members(
    zip_path: str | os.PathLike,
    dest_dir: str | os.PathLike,
    names: list[str] | None = None,
) -> list[str]:
    """Extract `names` (None: every file) from a local zip into `dest_dir`.

    Every name is checked before anything is written, so an unsafe archive writes nothing.
    Members already present with the right size and CRC are left alone. Returns the names
    actually written.
    """
    with zipfile.ZipFile(zip_path) as archive:
        infos = _infos(archive, names, zip_path)
        targets = [member_target(dest_dir, info.filename) for info in infos]
        written = []
        for info, target in zip(infos, targets, strict=True):
            if not is_extracted(target, info):
                extract_member(archive, info, target)
                written.append(info.filename)
    return written


def _infos(archive: zipfile.ZipFile, names, zip_path) -> list[zipfile.ZipInfo]:
    if names is None:
        return [info for info in archive.infolist() if not info.is_dir()]
    return find_members(archive, names, zip_path)


def find_members(archive: zipfile.ZipFile, names: list[str], where) -> list[zipfile.ZipInfo]:
    """The ZipInfo of each name, in order; raises MissingMemberError naming the absent ones."""
    by_name = {info.filename: info for info in archive.infolist()}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise MissingMemberError(
            f"{where}: {len(missing)} wanted member(s) are not in the archive, "
            f"e.g. {missing[:3]}; is it the right archive, and are the subset's fnames right?"
        )
    return [by_name[name] for name in names]
