"""Whether a file may be opened as audio: a regular file may; anything else gets a reason
instead, found without opening it (a FIFO would block the reader forever). Light on
purpose (no pandas): the Snakefile lists predict.folder through it."""

from __future__ import annotations

import errno
import os
import stat


def file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as audio, found without opening it: a dangling symlink, a
    symlink loop, a FIFO, a device, a socket or a folder, or the OS error that stat gives
    (e.g. "File name too long"); None for a regular file, or for a plain missing one (the
    reader names that)."""
    try:
        mode = os.stat(path).st_mode  # follows symlinks: their target is what would be read
    except ValueError as err:  # a NUL byte in the name
        return f"unreadable name ({err})"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symlink loop"
        if err.errno == errno.ENOENT and os.path.islink(path):
            return f"dangling symlink (to {os.readlink(path)})"
        if err.errno == errno.ENOENT:
            return None
        return f"unreadable ({err.strerror or err})"
    if stat.S_ISREG(mode):
        return None
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a device",
        stat.S_ISBLK: "a device",
    }
    kind = next((word for test, word in kinds.items() if test(mode)), "not a plain file")
    return f"not a regular file: {kind}"
