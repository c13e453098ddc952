"""Which files may be opened as audio: regular files inside the dataset folder, named by a
path template of plain fields, and the one walk through a folder that lists them (a folder
dataset's label_regex, a pretraining pool's folders, predict's folders). Anything else gets
a reason instead, found without opening the file (a FIFO would block the reader forever).

Light on purpose (no pandas, no torch, soundfile only when the extensions are first asked
for): the config check reads check_path_template at every start, and predict on a
model.onnx runs without torch.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import posixpath
import stat
import string
from collections.abc import Sequence
from pathlib import Path

# excluded.csv's reason for a file outside dataset.path; the resolved target follows it in
# brackets, so that counting reasons by the text before " (" counts these together
OUTSIDE = "outside the dataset folder"
FOLDER_LINK = "a symlink to a folder, not followed; give that folder itself"


# The file extensions of each libsndfile format (its `sf.available_formats()` names); RAW
# (headerless: no rate, no sample format) is left out, as no file says it is raw audio.
FORMAT_EXTENSIONS = {
    "WAV": (".wav",), "WAVEX": (".wav",), "RF64": (".rf64", ".wav"), "W64": (".w64",),
    "AIFF": (".aif", ".aiff", ".aifc"), "AU": (".au", ".snd"), "CAF": (".caf",),
    "FLAC": (".flac",), "OGG": (".ogg", ".oga", ".opus"), "MP3": (".mp3",),
    "PAF": (".paf",), "SVX": (".iff", ".svx"), "NIST": (".nist", ".sph"), "VOC": (".voc",),
    "IRCAM": (".sf", ".ircam"), "MAT4": (".mat",), "MAT5": (".mat",), "PVF": (".pvf",),
    "XI": (".xi",), "HTK": (".htk",), "SDS": (".sds",), "AVR": (".avr",), "SD2": (".sd2",),
    "WVE": (".wve",), "MPC2K": (".mpc",),
}  # fmt: skip


COMMON_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff")


@functools.cache
def audio_extensions() -> frozenset[str]:
    """Every extension a folder's audio is listed by: the formats this machine's libsndfile
    reads (WAV, FLAC, OGG Vorbis and Opus, MP3, AIFF, ...), so nothing it could decode is
    skipped and nothing listed is a format it cannot."""
    import soundfile as sf

    return frozenset(
        ext for name in sf.available_formats() for ext in FORMAT_EXTENSIONS.get(name, ())
    )


def extensions_words() -> str:
    """The extensions read, in a few words for an error message."""
    known = audio_extensions()
    common = [e for e in COMMON_EXTENSIONS if e in known]
    return f"{', '.join(common)} and {len(known) - len(common)} more libsndfile formats"


def check_path_template(template: str) -> list[str]:
    """The field names of dataset.path_template; a ValueError unless every field is a plain
    `{name}` and the template stays inside dataset.path whatever the fields hold (no
    absolute path, no `..` above its start). A name is any CSV column's (`{file name}`,
    `{class-id}`), but not one str.format reads as more than a key: an attribute (`.`), an
    index (`[`), a conversion (`!`), a format spec (`:`), or a positional field (`{}`,
    `{0}`)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as err:
        raise ValueError(f"dataset.path_template {template!r}: {err}") from None
    fields = []
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        # parse splits off the conversion and the spec; format_map reads a field whose name
        # is empty or all digits as positional, and one with . or [ as an attribute or index
        if not field or field.isdecimal() or "." in field or "[" in field or spec or conversion:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(
                f"dataset.path_template {template!r}: {{{shown}}} is not a plain field; use "
                "{name} with a role (fname, label, fold, dir) or a CSV column, with no . [ ! "
                ": in it and not only digits; rename such a column in the CSV"
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
    """Why a dataset file at `path` is not read ('' when it is): outside `root`, naming
    where it resolves to (checked first, so nothing outside is even looked at further), or
    its file_problem."""
    if not inside(path, root):
        return f"{OUTSIDE} (resolves to {_resolved(path)})"
    return file_problem(path) or ""


def _resolved(path: str | os.PathLike) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # a NUL byte in the name
        return repr(str(path))


def walk_audio(
    folders: Sequence[str | os.PathLike], others: bool = False
) -> tuple[list[str], dict[str, str]]:
    """(the audio files under `folders`, {entry: why it is not one}), each path once, in a
    stable order (each folder's entries sorted as paths, folder after folder); a folder
    that does not exist lists nothing. Nothing is opened: the files are the regular ones
    (after symlinks) with an audio extension; an entry with an audio extension that is no
    regular file (a FIFO, a dangling symlink, a loop, ...) is named with its file_problem,
    and so is any symlink to a folder (not followed: it may lead back up). Folders are
    walked into. With `others`, every other entry is named too (its extension is not read)."""
    files: dict[str, None] = {}
    skipped: dict[str, str] = {}
    for folder in folders:
        for entry in sorted(Path(folder).rglob("*")):
            path = str(entry)
            if path in files or path in skipped or (entry.is_dir() and not entry.is_symlink()):
                continue
            if entry.is_dir():
                skipped[path] = FOLDER_LINK
            elif entry.suffix.lower() in audio_extensions():
                problem = file_problem(entry)
                if problem:
                    skipped[path] = problem
                else:
                    files[path] = None
            elif others:
                skipped[path] = file_problem(entry) or (
                    f"not read: extension {entry.suffix or '(none)'} is not an audio format "
                    f"libsndfile reads ({extensions_words()})"
                )
    return list(files), skipped


def folder_listing(folders: Sequence[str | os.PathLike], others: bool = False) -> str:
    """A digest of what walk_audio finds under `folders` (the files, then the entries it
    names): each entry's path, size and mtime. A rule's params hold it (a pretraining
    pool's, predict's), so that adding, removing or changing an entry there reruns it."""
    files, skipped = walk_audio(folders, others)
    return listing_digest([*files, *skipped])


def listing_digest(paths: Sequence[str | os.PathLike]) -> str:
    """A digest of each path's name, size and mtime: its target's for a symlink, the link's
    own for one that leads nowhere, and "missing" for a path that is not there."""
    digest = hashlib.sha1()
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            try:
                info = os.lstat(path)
            except OSError:
                info = None
        entry = f"{info.st_size}\0{info.st_mtime_ns}" if info else "missing"
        digest.update(f"{path}\0{entry}\n".encode())
    return digest.hexdigest()
