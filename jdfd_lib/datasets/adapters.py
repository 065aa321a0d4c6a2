"""Readers for FaceForensics++, Celeb-DF v2 and UADFV in their official layouts (paper Sec. 4.1).

Each adapter lists the videos of one dataset as :class:`VideoRecord` rows with a label
(0 real, 1 fake), a split ("train" | "val" | "test") and an identity key that groups the
videos which must stay in one split:

- FF++: official pair lists ``train.json`` / ``val.json`` / ``test.json``; identity = the pair.
- Celeb-DF v2: test = ``List_of_testing_videos.txt``; val carved from the rest by a seeded,
  identity-grouped rule; identity = the target identity (``YouTube-real``: the video).
- UADFV: no official split exists, so a seeded video-level split is drawn once and kept in a
  JSON split file (never written into the dataset folder); identity = the real video id.

The split files themselves are read, drawn and checked in :mod:`jdfd_lib.datasets.splits`: a split
file naming videos absent from the folder is refused unless ``allow_missing=True``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jdfd_lib.datasets.splits import (
    CELEBDF_VAL_FRACTION,
    DEFAULT_SEED,
    SPLITS,
    UADFV_FRACTIONS,
    carve_val,
    celebdf_split_settings,
    check_absent,
    ffpp_absent,
    ffpp_split_map,
    read_celebdf_test_list,
    read_ffpp_pairs,
    uadfv_split,
    uadfv_split_file,
)

DATASET_DIRS = {"ffpp": "FaceForensics++", "celebdf": "Celeb-DF-v2", "uadfv": "UADFV"}
# The splits whose identity groups never overlap, per dataset. Celeb-DF v2's official test
# list holds videos of identities that also appear in its other videos, so only its train and
# val parts (carved here) are kept identity-disjoint; videos stay disjoint everywhere.
IDENTITY_DISJOINT_SPLITS = {"ffpp": SPLITS, "uadfv": SPLITS, "celebdf": ("train", "val")}
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
FFPP_COMPRESSIONS = ("c23", "c40", "raw")
FFPP_ORIGINAL = "original"

CELEBDF_REAL = ("Celeb-real", "YouTube-real")
CELEBDF_FAKE = "Celeb-synthesis"


@dataclass(frozen=True)
class VideoRecord:
    """One video of a dataset, with its label, split and identity group."""

    dataset: str  # "ffpp" | "celebdf" | "uadfv"
    method: str  # FF++: "original" or a manipulation; Celeb-DF / UADFV: the source folder
    video: str  # id, unique within (dataset, method)
    path: Path
    label: int  # 0 real, 1 fake
    split: str  # "train" | "val" | "test"
    identity: str  # videos sharing this key must share a split


class VideoList(list):
    """The records of :func:`list_videos`, plus ``absent``: the videos a split file names
    but the folder lacks (``method/video``; non-empty only with ``allow_missing=True``)."""

    def __init__(self, records: Iterable[VideoRecord] = (), absent: Sequence[str] = ()):
        super().__init__(records)
        self.absent = list(absent)


def dataset_root(data_root: str | os.PathLike, key: str) -> Path:
    """Return ``data_root / DATASET_DIRS[key]``.

    Raises:
        ValueError: ``key`` is not one of :data:`DATASET_DIRS`.
    """
    if key not in DATASET_DIRS:
        raise ValueError(f"unknown dataset {key!r}; expected one of {list(DATASET_DIRS)}")
    return Path(data_root) / DATASET_DIRS[key]


def list_videos(dataset: str, root: str | os.PathLike, **options) -> VideoList:
    """List the videos of ``dataset`` found under ``root``.

    Args:
        dataset: "ffpp", "celebdf" or "uadfv".
        root: the dataset's own folder (see :func:`dataset_root`).
        **options: passed to :func:`list_ffpp`, :func:`list_celebdf` or :func:`list_uadfv`
            (all take ``allow_missing``).

    Returns:
        Records sorted by (method, video), with disjoint splits.

    Raises:
        UserError: a split file names videos absent from ``root`` (unless ``allow_missing``).
    """
    readers = {"ffpp": list_ffpp, "celebdf": list_celebdf, "uadfv": list_uadfv}
    if dataset not in readers:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {list(readers)}")
    return readers[dataset](root, **options)


def assert_disjoint(records: Iterable[VideoRecord],
                    identity_splits: Sequence[str] = SPLITS) -> None:
    """Raise if a video path, or an identity group, appears in more than one split.

    Args:
        records: the listed videos.
        identity_splits: the splits whose identity groups must not overlap (Celeb-DF's
            official test list shares identities with its training videos, so its adapter
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


def _existing_dir(path: Path, expected: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: folder not found; expected {expected}")
    return path


def _videos_in(folder: Path, expected: str) -> list[Path]:
    """Video files directly in ``folder``; raises if the folder is missing or holds none."""
    _existing_dir(folder, expected)
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise ValueError(f"{folder}: no video files ({'/'.join(VIDEO_SUFFIXES)}); "
                         f"expected {expected}")
    return videos


def _finish(records: list[VideoRecord], absent: Sequence[str] = (), **check) -> VideoList:
    records.sort(key=lambda r: (r.method, r.video))
    assert_disjoint(records, **check)
    return VideoList(records, absent)




# --------------------------------------------------------------------------- FF++
def list_ffpp(root: str | os.PathLike, compression: str = "c23",
              methods: Sequence[str] = FFPP_METHODS, allow_missing: bool = False) -> VideoList:
    """List FaceForensics++ originals and manipulations with their official splits.

    Args:
        root: the ``FaceForensics++`` folder.
        compression: "c23" (the paper's), "c40" or "raw".
        methods: manipulations to include, from :data:`FFPP_METHODS`.
        allow_missing: go on (with a warning) when a pair list names absent videos.

    Returns:
        Records; videos named in no official pair are left out with a warning.

    Raises:
        UserError: a pair ``[a, b]`` lacks original ``a`` or ``b``, or ``a_b`` or ``b_a`` of
            an included method (unless ``allow_missing``).
    """
    root = _existing_dir(Path(root), "the FaceForensics++ dataset folder")
    if compression not in FFPP_COMPRESSIONS:
        raise ValueError(f"unknown FF++ compression {compression!r}; "
                         f"expected one of {FFPP_COMPRESSIONS}")
    unknown = set(methods) - set(FFPP_METHODS)
    if unknown:
        raise ValueError(f"unknown FF++ methods {sorted(unknown)}; expected {FFPP_METHODS}")
    pair_files = read_ffpp_pairs(root)
    split_of = ffpp_split_map(pair_files)
    folders = {FFPP_ORIGINAL: root / "original_sequences" / "youtube" / compression / "videos"}
    for m in methods:
        folders[m] = root / "manipulated_sequences" / m / compression / "videos"
    found = {method: _videos_in(folder, f"FF++ {method} videos ({compression})")
             for method, folder in folders.items()}
    expected = (f"each pair [a, b] to have a and b in {folders[FFPP_ORIGINAL].relative_to(root)}"
                f" and a_b, b_a in manipulated_sequences/<method>/{compression}/videos for "
                f"{', '.join(methods)}")
    absent = check_absent(ffpp_absent(pair_files, {m: {p.stem for p in paths} for m, paths
                                                   in found.items()}, FFPP_ORIGINAL),
                          root, expected, allow_missing)
    records, unlisted = [], []
    for method, paths in found.items():
        for path in paths:
            if path.stem not in split_of:
                unlisted.append(path)
                continue
            split, identity = split_of[path.stem]
            records.append(VideoRecord("ffpp", method, path.stem, path,
                                       int(method != FFPP_ORIGINAL), split, identity))
    if unlisted:
        warnings.warn(f"{root}: {len(unlisted)} FF++ videos are in no official split and are "
                      f"left out (first: {unlisted[0]})", stacklevel=2)
    return _finish(records, absent)


# --------------------------------------------------------------------------- Celeb-DF v2
_CELEB_REAL_NAME = re.compile(r"^(id\d+)_\d+$")
_CELEB_FAKE_NAME = re.compile(r"^(id\d+)_id\d+_\d+$")


def _celebdf_identity(method: str, video: str) -> str:
    """Celeb-real ``id{i}_n`` and Celeb-synthesis ``id{t}_id{s}_n`` group by the target id."""
    pattern = _CELEB_FAKE_NAME if method == CELEBDF_FAKE else _CELEB_REAL_NAME
    match = pattern.match(video) if method != "YouTube-real" else None
    return match.group(1) if match else f"{method}/{video}"


def list_celebdf(root: str | os.PathLike, val_fraction: float | None = None,
                 seed: int | None = None, allow_missing: bool = False) -> VideoList:
    """List Celeb-DF v2 videos: the official test list, and train/val from the rest.

    Args:
        root: the ``Celeb-DF-v2`` folder.
        val_fraction: share of non-test videos held out for validation, drawn as whole
            identity groups (default: ``jdfd_split.json`` in ``root`` if present, else
            :data:`CELEBDF_VAL_FRACTION`).
        seed: seed of the validation draw (default: that file's, else 0).
        allow_missing: go on (with a warning) when the test list names absent videos.

    Returns:
        Records; train and val never share an identity, test is the official list.

    Raises:
        UserError: the test list names absent videos (unless ``allow_missing``).
    """
    root = _existing_dir(Path(root), "the Celeb-DF-v2 dataset folder")
    settings = celebdf_split_settings(root)
    val_fraction = settings.get("val_fraction", CELEBDF_VAL_FRACTION) if val_fraction is None \
        else val_fraction
    seed = settings.get("seed", DEFAULT_SEED) if seed is None else seed
    folders = {m: _videos_in(root / m, f"Celeb-DF v2 {m} videos")
               for m in (*CELEBDF_REAL, CELEBDF_FAKE)}
    list_path, listed = read_celebdf_test_list(root, CELEBDF_REAL, CELEBDF_FAKE)
    absent = check_absent({list_path: [t for t in listed if not (root / t).is_file()]}, root,
                          "every video of the test list under the dataset folder",
                          allow_missing)
    tests = set(listed)
    rows = []
    for method, paths in folders.items():
        for path in paths:
            rel = f"{method}/{path.name}"
            rows.append((method, path, _celebdf_identity(method, path.stem), rel in tests))
    counts: dict[str, int] = defaultdict(int)
    for _, _, identity, is_test in rows:
        counts[identity] += not is_test
    val_ids = carve_val([i for i, c in counts.items() if c], counts, val_fraction, seed)
    records = [
        VideoRecord("celebdf", method, path.stem, path, int(method == CELEBDF_FAKE),
                    "test" if is_test else ("val" if identity in val_ids else "train"), identity)
        for method, path, identity, is_test in rows
    ]
    return _finish(records, absent, identity_splits=IDENTITY_DISJOINT_SPLITS["celebdf"])


# --------------------------------------------------------------------------- UADFV
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
    root = _existing_dir(Path(root), "the UADFV dataset folder")
    real = _videos_in(root / "real", "UADFV real videos NNNN.mp4")
    fake = _videos_in(root / "fake", "UADFV fake videos NNNN_fake.mp4")
    real_ids, fake_ids = {p.stem for p in real}, {p.stem.removesuffix("_fake") for p in fake}
    ids = sorted(real_ids | fake_ids)
    path = uadfv_split_file(root, split_file)
    splits = uadfv_split(path, ids, dict(fractions or UADFV_FRACTIONS), seed)
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
    records = []
    for method, paths in (("real", real), ("fake", fake)):
        for video in paths:
            identity = video.stem.removesuffix("_fake")
            records.append(VideoRecord("uadfv", method, video.stem, video,
                                       int(method == "fake"), split_of[identity], identity))
    return _finish(records, absent)
