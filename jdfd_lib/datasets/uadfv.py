"""UADFV (Li, Chang, Lyu 2018) in its distributed layout (paper Sec. 4.1).

``UADFV/real/NNNN.mp4`` and ``UADFV/fake/NNNN_fake.mp4``. No official split exists, so a
seeded video-level split (shares :data:`UADFV_FRACTIONS`) is drawn once and kept in a JSON
split file: a ``jdfd_split.json`` shipped in the dataset folder is read (never written);
otherwise ``prepare`` draws into ``<out>/uadfv_split.json``. Identity = the real video id, so
a real video and its fake share a split. A fake ``NNNN_fake`` is ``real/NNNN`` with another
face: its record's ``source`` (UADFV ships no masks; :mod:`jdfd_lib.faces.masks` derives them).
"""

from __future__ import annotations

import os
from pathlib import Path

from jdfd_lib.datasets.records import VideoList, VideoRecord, existing_dir, finish, videos_in
from jdfd_lib.datasets.registry import DatasetOption, DatasetSpec, register_dataset
from jdfd_lib.datasets.splits import DEFAULT_SEED, check_absent, read_or_draw, split_file

# A UADFV split shipped with the dataset folder (the demo data writes one); read, never written.
UADFV_SPLIT_FILE = "jdfd_split.json"
# Where prepare keeps a drawn UADFV split: in its output folder, since the dataset folder may
# be a read-only shared mount.
UADFV_OUT_SPLIT_FILE = "uadfv_split.json"
# UADFV has no official split; test 0.15 matches the paper's Table 1 (1740 of 11621 real faces).
UADFV_FRACTIONS = {"train": 0.75, "val": 0.10, "test": 0.15}


def list_uadfv(root: str | os.PathLike, split_file: str | os.PathLike | None = None,
               fractions: dict[str, float] | None = None, seed: int = DEFAULT_SEED,
               allow_missing: bool = False) -> VideoList:
    """List UADFV videos with a fixed, seeded, video-level split.

    Nothing is ever written into ``root`` (it may be a read-only shared mount):
    ``python -m jdfd_lib prepare`` keeps a drawn split in its output folder.

    Args:
        root: the ``UADFV`` folder (``real/NNNN.mp4``, ``fake/NNNN_fake.mp4``).
        split_file: JSON split file, read if present, written otherwise. Default: the
            dataset's own ``root / jdfd_split.json`` if it exists (read only), else the split
            is drawn afresh (seeded, so the same videos give the same split) and not kept.
        fractions: split shares (default :data:`UADFV_FRACTIONS`); used only when drawing.
        seed: seed of the draw.
        allow_missing: go on (with a warning) when the split names absent videos.

    Returns:
        Records; a real video and its fake share a split (identity = the real id).

    Raises:
        ValueError: a video of the folder is in no split of the split file.
        UserError: a split id lacks ``real/ID.mp4`` or ``fake/ID_fake.mp4`` (unless
            ``allow_missing``).
    """
    root = existing_dir(Path(root), "the UADFV dataset folder")
    real = videos_in(root / "real", "UADFV real videos NNNN.mp4")
    fake = videos_in(root / "fake", "UADFV fake videos NNNN_fake.mp4")
    real_ids, fake_ids = {p.stem for p in real}, {p.stem.removesuffix("_fake") for p in fake}
    ids = sorted(real_ids | fake_ids)
    path = split_file_of(root, split_file)
    splits = read_or_draw(path, ids, dict(fractions or UADFV_FRACTIONS), seed)
    split_of = {vid: s for s, vids in splits.items() for vid in vids}
    unsplit = sorted(set(ids) - set(split_of))
    if unsplit:
        raise ValueError(f"{path}: videos {unsplit[:5]} are in no split; delete the file "
                         f"to draw a new split")
    absent = [f"real/{i}" for i in sorted(split_of) if i not in real_ids]
    absent += [f"fake/{i}_fake" for i in sorted(split_of) if i not in fake_ids]
    absent = check_absent({path or f"the split drawn from {root}": absent}, root,
                          "each id of the split as real/ID.mp4 and fake/ID_fake.mp4",
                          allow_missing)
    records, real_of = [], {p.stem: p for p in real}
    for method, paths in (("real", real), ("fake", fake)):
        for video in paths:
            identity = video.stem.removesuffix("_fake")
            records.append(VideoRecord("uadfv", method, video.stem, video,
                                       int(method == "fake"), split_of[identity], identity,
                                       source=real_of.get(identity) if method == "fake" else None))
    return finish(records, absent)


def split_file_of(root: Path, given: str | os.PathLike | None) -> Path | None:
    """The split file :func:`list_uadfv` reads: ``given``, else the shipped one, else None."""
    return split_file(root, given, UADFV_SPLIT_FILE)


def _prepare_options(root: Path, out: Path, options: dict) -> dict:
    """A split neither given nor shipped is drawn once into ``out/uadfv_split.json``."""
    if split_file_of(root, options.get("split_file")) is None:
        return {**options, "split_file": out / UADFV_OUT_SPLIT_FILE}
    return options


SPEC = register_dataset(DatasetSpec(
    key="uadfv", folder="UADFV", label="UADFV", letter="U", reader=list_uadfv,
    layout="real/NNNN.mp4, fake/NNNN_fake.mp4 (split drawn once, or jdfd_split.json)",
    options=(DatasetOption(
        "split_file", "UADFV and folder datasets: the split JSON file, read if present, "
        "written otherwise (default: --root's jdfd_split.json if it exists, else a split "
        "drawn into OUT/<dataset>_split.json)", None, {"type": Path}),),
    prepare_options=_prepare_options,
))
