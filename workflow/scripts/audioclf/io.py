"""Atomic file writing (a half-written output is never taken as done), safe loading of
torch files with one-line errors, and log lines."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class OutputError(OSError):
    """An output that could not be written (disk full, no permission, read-only); the
    message is one line naming the file and, for a full disk, the bytes it needed."""


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def output_error(
    path: Path, err: BaseException, needed: int | None = None, written: int = 0,
    free: int | None = None,
):  # fmt: skip
    """The OutputError for `err` met while writing `path`, or None when it is neither a
    full disk nor a refused write. torch.save reports a full disk as a RuntimeError
    ("unexpected pos"): one counts as a full disk when the free space (`free`, measured
    before the partial file was deleted) is less than what the write still needed."""
    folder = path.parent if path.parent.exists() else Path(".")
    free = shutil.disk_usage(folder).free if free is None else free
    code = getattr(err, "errno", None)
    short = free < max((needed or 0) - written, 1 << 20)
    if code in _FULL or (not isinstance(err, OSError) and short):
        need = f"{needed:,} bytes" if needed else f"more than the {written:,} bytes written"
        return OutputError(
            f"{path}: the disk is full ({free:,} bytes free there); writing it needed {need}. "
            "Free some space or move the working directory to a larger disk, then rerun"
        )
    if code in _DENIED:
        return OutputError(
            f"{path}: cannot write it ({err.strerror}); make {folder} writable, then rerun"
        )
    return None


def raise_output_error(path: Path, err: BaseException, needed: int | None = None,
                       written: int = 0, free: int | None = None):  # fmt: skip
    """Raise output_error's OutputError for `err`, or `err` itself when it is neither."""
    mapped = output_error(path, err, needed, written, free)
    if mapped is None:
        raise err
    raise mapped from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, needed: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block
    succeeds. A full disk or a refused write is one OutputError naming `path` (and the
    `needed` bytes, when the caller knows them); the temporary file never stays behind."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise_output_error(path, err, needed)
    os.close(fd)
    tmp = Path(tmp)
    # mkstemp makes the file owner-only; give the output the usual umask permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:
        written = tmp.stat().st_size if tmp.exists() else 0
        free = shutil.disk_usage(path.parent).free  # before the partial file goes
        tmp.unlink(missing_ok=True)
        raise_output_error(path, err, needed, written, free)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_csv(path: str | os.PathLike, frame) -> None:
    """Write a pandas DataFrame without its index, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_torch(path: str | os.PathLike, obj: Any) -> None:
    """torch.save `obj` to `path` atomically. Through an open file: given a path, torch
    names the archive inside after that file's name, here atomic_path's random temporary
    one, so the same object would give different bytes each time."""
    import torch  # here: io is imported where torch is not needed

    with atomic_path(path, needed=tensor_bytes(obj)) as tmp, open(tmp, "wb") as handle:
        torch.save(obj, handle)


def log(message: str) -> None:
    """One progress line on stderr (each rule's log file), flushed at once."""
    print(message, file=sys.stderr, flush=True)


def tensor_bytes(obj) -> int:
    """The bytes of every tensor in a nest of dicts, lists and tuples (what torch.save
    will write, less a little metadata)."""
    if hasattr(obj, "element_size") and hasattr(obj, "nelement"):
        return int(obj.element_size() * obj.nelement())
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    return 0


class TorchFileError(ValueError):
    """A torch file that cannot be loaded; the message is one line naming the file."""


# the first bytes of files a user may pass by mistake, for the error message
_MAGIC = {
    b"RIFF": "a WAV audio file",
    b"fLaC": "a FLAC audio file",
    b"OggS": "an OGG file",
    b"ID3": "an MP3 file",
    b"\xff\xfb": "an MP3 file",
    b"{": "a JSON or text file",
}


def load_torch_file(path: str | os.PathLike, what: str, fix: str):
    """torch.load(path, weights_only=True), every failure one TorchFileError line naming
    `path`, what is wrong with it, and `fix`. A pickle that would run code on loading is
    refused without running it, and the message never suggests loading it unsafely
    (torch's own does: `weights_only=False`)."""
    import torch  # here: io is imported where torch is not needed

    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise TorchFileError(f"{path}: no such file; {fix}") from None
    except OSError as err:
        raise TorchFileError(f"{path}: unreadable ({err.strerror or err}); {fix}") from None
    if size == 0:
        raise TorchFileError(f"{path}: empty file (0 bytes), not {what}; {fix}")
    if not head.startswith(b"PK\x03\x04") and not head.startswith(b"\x80"):
        kind = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
        raise TorchFileError(
            f"{path}: not {what}"
            + (f" (it is {kind})" if kind else " (not a torch file)")
            + f"; {fix}"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        blocked = re.search(r"GLOBAL (\S+)", str(err))
        if blocked:
            raise TorchFileError(
                f"{path}: unsafe content refused (it would call {blocked.group(1)} while "
                f"loading; nothing in it was run); {what} holds only tensors and plain "
                f"values: {fix}"
            ) from None
        raise TorchFileError(
            f"{path}: not a readable {what.removeprefix('a ').removeprefix('an ')} (its "
            f"pickle is damaged or of a kind the safe loader does not read; nothing in it "
            f"was run); {fix}"
        ) from None
    except Exception as err:  # a cut-off archive, a foreign zip, a TorchScript archive
        text = str(err)
        if "TorchScript" in text:
            detail = "a TorchScript archive (torch.jit.save), not a state saved by torch.save"
        else:
            lines = [line for line in text.splitlines() if "weights_only" not in line]
            detail = f"{type(err).__name__}: {(lines or ['no detail'])[0][:120]}"
        raise TorchFileError(
            f"{path}: not a readable {what.removeprefix('a ').removeprefix('an ')} "
            f"({detail}); {fix}"
        ) from None
