"""A user's own data: ``real/`` and ``fake/`` folders of videos or face images.

Bring-your-own-data test sets beside the paper's (Sec. 4.1): ``ROOT/real/**`` and
``ROOT/fake/**``, searched recursively for videos (:data:`records.VIDEO_SUFFIXES`) and images
(:data:`IMAGE_SUFFIXES`); an image is a one-frame video. Every file is one record (method
"real" or "fake", video id = its path under that folder without suffix, ``/`` written
``__``).

Identity groups: a file directly under ``real/`` or ``fake/`` is its own group
(``real/<stem>``); files inside a sub-folder group by that first sub-folder's name
(``real/person7/a.mp4`` and ``fake/person7/b.png`` are both group ``person7``: put a person's
videos, or the frames of one video, in one sub-folder, and a fake in the sub-folder named
like its source's). Fakes cannot otherwise be tied to their sources: without a split file
(or same-named sub-folders), a fake and its source may land in different splits.

Splits: a split file ``{"splits": {"train": [...], "val": [...], "test": [...]}}`` listing
group ids (``--split-file``, or ``ROOT/jdfd_split.json`` shipped with the folder) is read;
otherwise a seeded group-level split (shares :data:`FOLDER_FRACTIONS`) is drawn once, which
``prepare`` keeps in ``OUT/folder_split.json`` (the folder itself is never written to). With
``test_only=True`` (``--test-only``) every file is in the test split: a test set to evaluate
a trained model on, whole.

``aligned=True`` (``--aligned``) says the images are already aligned face crops: prepare then
skips detection and alignment and only resizes them. Without it, images go through the same
dlib alignment as video frames. Videos are always aligned.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

from jdfd_lib.core.walk import skipped_lines
from jdfd_lib.datasets.records import (
    VIDEO_SUFFIXES,
    VideoList,
    VideoRecord,
    existing_dir,
    finish,
    videos_in,
)
from jdfd_lib.datasets.registry import DatasetOption, DatasetSpec, register_dataset
from jdfd_lib.datasets.splits import DEFAULT_SEED, check_absent, read_or_draw, split_file
from jdfd_lib.datasets.uadfv import SPEC as UADFV_SPEC

# Still images OpenCV decodes (read_image checks them with Pillow first); compared in lower
# case. A multi-frame GIF or TIFF is read as its first frame.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")
FOLDER_CLASSES = ("real", "fake")  # sub-folder -> label 0, 1
# A split shipped with the folder (read, never written) and prepare's drawn one (in OUT).
FOLDER_SPLIT_FILE = "jdfd_split.json"
FOLDER_OUT_SPLIT_FILE = "folder_split.json"
# Group shares of a drawn split (a user's folder has no official split; not from the paper).
FOLDER_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def parse_bool(text: str) -> bool:
    """``true/yes/1`` or ``false/no/0`` (any case) as a bool; else a ValueError."""
    value = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
        str(text).strip().lower())
    if value is None:
        raise ValueError(f"expected true or false, got {text!r}")
    return value


class FlagOrBool(argparse.Action):
    """``--aligned`` alone means true; ``--aligned true|false`` also parses (the spelling in
    which prepare records the command that rebuilds a folder). Left out: None."""

    def __init__(self, option_strings, dest, **kwargs):
        kwargs.setdefault("metavar", "true|false")
        super().__init__(option_strings, dest, nargs="?", const=True, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            value = values if isinstance(values, bool) else parse_bool(values)
        except ValueError as err:
            raise argparse.ArgumentError(self, str(err)) from None
        setattr(namespace, self.dest, value)


# the UADFV declaration itself: an option shared by datasets must be declared alike
SPLIT_FILE = next(o for o in UADFV_SPEC.options if o.name == "split_file")
ALIGNED = DatasetOption(
    "aligned", "folder only: the images are already aligned face crops (no detection; "
    "resized to the crop size); videos are aligned anyway", False, {"action": FlagOrBool})
TEST_ONLY = DatasetOption(
    "test_only", "folder only: every file in the test split (no split file read or drawn)",
    False, {"action": FlagOrBool})


def folder_files(root: Path,
                 skipped: list[tuple[Path, str]] | None = None) -> dict[str, list[Path]]:
    """Class -> its videos and images (recursive, symbolic links followed, sorted).

    Args:
        skipped: where to add ``(path, reason)`` of every file not taken (another suffix, a
            broken link, a link loop, an unreadable folder).

    Raises:
        FileNotFoundError: ``root/real`` or ``root/fake`` is missing.
        ValueError: one of them holds no video or image.
    """
    skipped = [] if skipped is None else skipped
    return {c: videos_in(root / c, f"{c} videos or face images under {root / c}",
                         VIDEO_SUFFIXES + IMAGE_SUFFIXES, recursive=True,
                         kind="video or image files", skipped=skipped) for c in FOLDER_CLASSES}


def folder_group(cls: str, rel: Path) -> str:
    """The identity group of ``cls/rel``: the first sub-folder, or ``cls/<stem>``."""
    return rel.parts[0] if len(rel.parts) > 1 else f"{cls}/{rel.stem}"


def _rows(root: Path, skipped: list) -> list[tuple[str, str, Path, str]]:
    """(class, video id, path, group) of every file; a ValueError when two ids collide."""
    rows, seen = [], {}
    for cls, paths in folder_files(root, skipped).items():
        for path in paths:
            rel = path.relative_to(root / cls)
            video = "__".join(rel.with_suffix("").parts)
            if (cls, video) in seen:
                raise ValueError(f"{path}: same video id {cls}/{video} as {seen[cls, video]}; "
                                 f"expected file names that differ beyond their suffix")
            seen[cls, video] = path
            rows.append((cls, video, path, folder_group(cls, rel)))
    return rows


def split_file_of(root: Path, given: str | os.PathLike | None) -> Path | None:
    """The split file :func:`list_folder` reads: ``given``, else the shipped one, else None."""
    return split_file(root, given, FOLDER_SPLIT_FILE)


def list_folder(root: str | os.PathLike, split_file: str | os.PathLike | None = None,
                fractions: dict[str, float] | None = None, seed: int = DEFAULT_SEED,
                aligned: bool = False, test_only: bool = False,
                allow_missing: bool = False, dataset: str = "folder") -> VideoList:
    """List a user's ``real/`` and ``fake/`` videos and images with group-level splits.

    Args:
        root: the folder holding ``real/`` and ``fake/``.
        split_file: JSON split of group ids, read if present, written otherwise. Default:
            ``root / jdfd_split.json`` if it exists (read only), else a split drawn afresh
            (seeded) and not kept (``prepare`` keeps it in ``OUT/folder_split.json``).
        fractions: group shares when drawing (default :data:`FOLDER_FRACTIONS`).
        seed: seed of the draw.
        aligned: the images are already aligned face crops (carried on their records).
        test_only: every file in the test split; no split file is read (giving one is an
            error) or drawn.
        allow_missing: go on (with a warning) when the split file names absent groups.
        dataset: the key the records carry (a dataset laid out as a folder, e.g.
            ``dfdc_faces``).

    Returns:
        Records; the files of one group share a split. Their ``skipped`` names every file
        not taken and why (also in a warning): prepare's summary lists them.

    Raises:
        ValueError: a group is in no split of the split file, two files share a video id,
            ``aligned`` or ``test_only`` is not a bool, or both a split file and
            ``test_only`` are given.
        UserError: the split file names groups absent from the folder (unless
            ``allow_missing``).
    """
    root = existing_dir(Path(root), "a folder holding real/ and fake/")
    for name, value in (("aligned", aligned), ("test_only", test_only)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    if test_only and split_file is not None:
        raise ValueError(f"{split_file}: a split file and test_only exclude each other")
    skipped: list[tuple[Path, str]] = []
    rows = _rows(root, skipped)
    if skipped:
        warnings.warn("\n".join([f"{root}: {len(skipped)} files not taken:",
                                  *skipped_lines(skipped)]), stacklevel=2)
    groups = sorted({group for *_, group in rows})
    path = None if test_only else split_file_of(root, split_file)
    splits = {"test": groups} if test_only else read_or_draw(
        path, groups, dict(fractions or FOLDER_FRACTIONS), seed)
    split_of = {g: s for s, members in splits.items() for g in members}
    unsplit = [g for g in groups if g not in split_of]
    if unsplit:
        raise ValueError(f"{path}: groups {unsplit[:5]} are in no split; add them (or delete "
                         f"a drawn split file to draw a new split)")
    named = {path or f"the split drawn from {root}": sorted(set(split_of) - set(groups))}
    absent = check_absent(named, root, "each group id of the split file as a sub-folder of "
                          "real/ or fake/, or as real/<stem> or fake/<stem> of a file directly "
                          "under them", allow_missing)
    records = [VideoRecord(dataset, cls, video, p, FOLDER_CLASSES.index(cls), split_of[group],
                           group, aligned and p.suffix.lower() in IMAGE_SUFFIXES)
               for cls, video, p, group in rows]
    return finish(records, absent, skipped=skipped)


def _prepare_options(root: Path, out: Path, options: dict) -> dict:
    """A split neither given nor shipped is drawn once into ``out/folder_split.json``."""
    if not options.get("test_only") and split_file_of(root, options.get("split_file")) is None:
        return {**options, "split_file": out / FOLDER_OUT_SPLIT_FILE}
    return options


SPEC = register_dataset(DatasetSpec(
    key="folder", folder="custom", label="Custom", letter="X", reader=list_folder,
    layout="real/**, fake/** (videos and/or face images; a sub-folder is one group; split "
           "drawn once, jdfd_split.json of group ids, or all test)",
    options=(SPLIT_FILE, ALIGNED, TEST_ONLY), prepare_options=_prepare_options,
))
