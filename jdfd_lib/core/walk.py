"""Listing the files under a folder, symbolic links followed, nothing dropped without a word.

:func:`walk_files` is the one walker of the dataset readers (:mod:`jdfd_lib.datasets`) and of
``detect`` (:mod:`jdfd_lib.detection.videos`). Unlike ``Path.rglob`` (which, on Python 3.12,
does not enter symbolically linked folders and keeps broken links as names that are then
dropped by ``is_file()``), it follows links to files and folders, enters a folder once (by
device and inode, so a link loop or a second link to a folder already searched is not
searched again) and returns, beside the files, every entry it did not take with the reason:
a broken link, a link loop, a folder it may not read, a special file (socket, FIFO, device).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_SHOWN = 10  # skipped files named one by one in a message; the rest are counted


@dataclass
class Walk:
    """The regular files found under a folder and the entries passed over.

    Attributes:
        files: regular files (links to them included), sorted, as reached (not resolved).
        skipped: ``(path, reason)`` of each entry not taken, in the order met.
    """

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _link_text(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _folder_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _check_file(path: Path) -> str | None:
    """Why ``path`` (met as a non-folder entry) is no regular file, or None if it is one."""
    if path.is_symlink() and not path.exists():
        return f"broken symbolic link to {_link_text(path)}"
    if not path.is_file():
        return "not a regular file (socket, FIFO or device)"
    return None


def walk_files(root: str | os.PathLike, recursive: bool = True) -> Walk:
    """The regular files under ``root`` (or directly in it), symbolic links followed.

    A folder is entered once, by (device, inode): a link back to a folder being searched (a
    loop) or to one already searched is named in ``skipped`` and not followed.

    Args:
        root: an existing folder.
        recursive: search sub-folders too.

    Returns:
        The files (sorted) and the skipped entries with their reasons.
    """
    root, walk = Path(root), Walk()
    seen: dict[tuple[int, int], Path] = {}  # folder identity -> the path it was first met by
    key = _folder_key(root)
    if key is not None:
        seen[key] = root

    def unreadable(err: OSError) -> None:
        walk.skipped.append((Path(err.filename or root), f"folder cannot be read "
                                                        f"({err.strerror or err})"))

    for top, dirs, names in os.walk(root, onerror=unreadable, followlinks=True):
        here = Path(top)
        kept = []
        for name in sorted(dirs) if recursive else ():
            sub = here / name
            key = _folder_key(sub)
            if key is None:  # vanished meanwhile, or a link whose target cannot be stat'ed
                walk.skipped.append((sub, "folder cannot be read"))
            elif key in seen:
                first = seen[key]
                loop = first == root or first in here.parents or first == here
                walk.skipped.append((sub, (
                    f"symbolic link loop back to {first}: not followed again" if loop else
                    f"folder already searched as {first}: not searched twice")))
            else:
                seen[key] = sub
                kept.append(name)
        dirs[:] = kept  # os.walk enters only what stays in dirs
        for name in sorted(names):
            path = here / name
            why = _check_file(path)
            if why is None:
                walk.files.append(path)
            else:
                walk.skipped.append((path, why))
    walk.files.sort()
    return walk


def skipped_lines(skipped: Iterable[tuple[Path | str, str]],
                  shown: int = SKIPPED_SHOWN) -> list[str]:
    """``skipped: PATH: reason`` for the first ``shown`` entries, then one line counting the
    rest (a folder of thousands of sidecar files must not flood the terminal)."""
    skipped = list(skipped)
    lines = [f"skipped: {path}: {why}" for path, why in skipped[:shown]]
    if len(skipped) > shown:
        lines.append(f"skipped: {len(skipped) - shown} more files (not named here)")
    return lines
