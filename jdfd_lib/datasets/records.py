"""What every dataset reader returns: video records with label, split and identity (Sec. 4.1).

A reader (one module per dataset, registered in :mod:`jdfd_lib.datasets.registry`) lists the
videos of its dataset as :class:`VideoRecord` rows: a label (0 real, 1 fake), a split
("train" | "val" | "test") and an identity key grouping the videos that must share a split
(a fake with its source, a person's videos). :func:`finish` sorts them and refuses overlaps.
Where the dataset tells, a fake also names its manipulation mask video (FF++ ships them) and
its pristine source: the video whose frames were manipulated, frame for frame (FF++'s and DFD's
*target*, DFDC's ``original``), from which a mask can be derived (:mod:`jdfd_lib.faces.masks`).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jdfd_lib.core.paths import is_file_name
from jdfd_lib.core.walk import skipped_lines, walk_files
from jdfd_lib.datasets.splits import SPLITS

# Containers that OpenCV's FFmpeg or, where it fails, PyAV (:mod:`jdfd_lib.faces.video`) read;
# compared in lower case. ".ts" is MPEG transport stream (a TypeScript file fails to decode).
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                  ".asf", ".flv", ".3gp", ".ts", ".mts", ".m2ts", ".ogv", ".vob")


@dataclass(frozen=True)
class VideoRecord:
    """One video (or one face image) of a dataset, with its label, split and identity group."""

    dataset: str  # the registered dataset key: "ffpp", "celebdf", "uadfv", "dfdc", ...
    method: str  # FF++: "original" or a manipulation; others: the source folder or "real"/"fake"
    video: str  # id, unique within (dataset, method)
    path: Path
    label: int  # 0 real, 1 fake
    split: str  # "train" | "val" | "test"
    identity: str  # videos sharing this key must share a split
    aligned: bool = False  # a face image that is already an aligned crop: no detection
    mask: Path | None = None  # a fake's manipulation-mask video (white = manipulated), if shipped
    source: Path | None = None  # a fake's pristine video: same frames before the manipulation


class VideoList(list):
    """The records a reader returns, plus ``absent``: the videos a split file names but the
    folder lacks (``method/video``; non-empty only with ``allow_missing=True``), and
    ``skipped``: the files of the dataset's folders not taken, ``(path, reason)``."""

    def __init__(self, records: Iterable[VideoRecord] = (), absent: Sequence[str] = (),
                 skipped: Sequence[tuple[Path, str]] = ()):
        super().__init__(records)
        self.absent = list(absent)
        self.skipped = list(skipped)


def assert_disjoint(records: Iterable[VideoRecord],
                    identity_splits: Sequence[str] = SPLITS) -> None:
    """Raise if a video path, or an identity group, appears in more than one split.

    Args:
        records: the listed videos.
        identity_splits: the splits whose identity groups must not overlap (Celeb-DF's
            official test list shares identities with its training videos, so its reader
            checks identities between train and val only).

    Raises:
        ValueError: naming the first overlapping path or identity and its splits.
    """
    by_path: dict[Path, set[str]] = defaultdict(set)
    by_identity: dict[str, set[str]] = defaultdict(set)
    for r in records:
        by_path[Path(r.path)].add(r.split)
        if r.split in identity_splits:
            by_identity[r.identity].add(r.split)
    for path, splits in by_path.items():
        if len(splits) > 1:
            raise ValueError(f"{path}: video listed in several splits {sorted(splits)}")
    for identity, splits in by_identity.items():
        if len(splits) > 1:
            raise ValueError(f"identity group {identity!r} appears in splits {sorted(splits)}")


def existing_dir(path: Path, expected: str) -> Path:
    """``path`` if it is a folder; else FileNotFoundError naming it and ``expected``."""
    if not path.is_dir():
        found = "a file, not a folder" if path.exists() else "folder not found"
        raise FileNotFoundError(f"{path}: {found}; expected {expected}")
    return path


def videos_in(folder: Path, expected: str, suffixes: Sequence[str] = VIDEO_SUFFIXES,
              recursive: bool = False, kind: str = "video files",
              skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Files of ``folder`` with one of ``suffixes`` (any case), sorted; symbolic links to
    files and folders followed (:func:`jdfd_lib.core.walk.walk_files`).

    Args:
        skipped: where to add ``(path, reason)`` of every file not taken: broken links, link
            loops, unreadable folders, and files of another suffix. Without it, the first
            four are named in a warning (a reader of a fixed layout expects other files).

    Raises:
        FileNotFoundError: the folder is missing.
        ValueError: it holds no such file.
    """
    existing_dir(folder, expected)
    walk = walk_files(folder, recursive)
    videos = [p for p in walk.files if p.suffix.lower() in suffixes]
    if skipped is not None:
        accepted = " ".join(suffixes)
        skipped.extend(walk.skipped)
        skipped.extend((p, f"not a {kind.removesuffix(' files')} suffix (accepted: {accepted})")
                       for p in walk.files if p.suffix.lower() not in suffixes)
    elif walk.skipped:
        warnings.warn("\n".join([f"{folder}: {len(walk.skipped)} entries not listed:",
                                  *skipped_lines(walk.skipped)]), stacklevel=2)
    if not videos:
        raise ValueError(f"{folder}: no {kind} ({'/'.join(suffixes)}); expected {expected}")
    return videos


def check_names(records: Iterable[VideoRecord]) -> None:
    """Refuse a method or video id that is not one file name: ``prepare`` writes a video's
    crops to ``OUT/crops/<method>/<video>/``, and a reader takes ids from files others made
    (DFDC's ``metadata.json`` keys, split lists), where ``../../x`` would leave ``OUT``.

    Raises:
        ValueError: naming the record's file and the id.
    """
    for rec in records:
        for what, name in (("method", rec.method), ("video id", rec.video)):
            if not is_file_name(name):
                raise ValueError(f"{rec.path}: {what} {name!r} is not a file name (no /, \\, "
                                 f"or '..'); the crops of a video are written under it")


def finish(records: list[VideoRecord], absent: Sequence[str] = (),
           identity_splits: Sequence[str] = SPLITS,
           skipped: Sequence[tuple[Path, str]] = ()) -> VideoList:
    """Check the names (:func:`check_names`), sort by (method, video), check disjointness
    (:func:`assert_disjoint`), wrap."""
    check_names(records)
    records.sort(key=lambda r: (r.method, r.video))
    assert_disjoint(records, identity_splits)
    return VideoList(records, absent, skipped)
