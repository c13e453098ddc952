"""Which of a dataset's files may be opened: regular files inside the dataset folder, named
by a path template of plain fields. Anything else gets a reason instead, found without
opening the file (a FIFO would block the reader forever).

Light on purpose (no pandas): the config check reads check_path_template at every start.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import string

OUTSIDE = "outside the dataset folder"


def check_path_template(template: str) -> list[str]:
    """The field names of dataset.path_template; a ValueError unless every field is a plain
    `{name}` (no attribute, index, conversion or format spec) and the template stays inside
    dataset.path whatever the fields hold (no absolute path, no `..` above its start)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as err:
        raise ValueError(f"dataset.path_template {template!r}: {err}") from None
    fields = []
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(
                f"dataset.path_template {template!r}: {{{shown}}} is not a plain field; use "
                "{name} with a role (fname, label, fold, dir) or a CSV column, nothing more"
            )
        fields.append(field)
    sample = template.format_map({field: "x" for field in fields})
    if posixpath.isabs(sample) or posixpath.normpath(sample).split("/")[0] == "..":
        raise ValueError(
            f"dataset.path_template {template!r} leads out of dataset.path; write it relative "
            "to dataset.path, without a leading / or a .. above it"
        )
    return fields


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether `path`, with every symlink and `..` resolved, lies in the folder `root`."""
    try:
        real, top = os.path.realpath(path), os.path.realpath(root)
    except (OSError, ValueError):  # a NUL byte in the name: not a path on this machine
        return False
    return os.path.commonpath([real, top]) == top


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


def exclusion(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """Why a dataset file at `path` is not read ('' when it is): outside `root` (checked
    first, so nothing outside is even looked at further), or its file_problem."""
    if not inside(path, root):
        return OUTSIDE
    return file_problem(path) or ""
