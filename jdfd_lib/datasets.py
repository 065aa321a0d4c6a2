"""Readers for FaceForensics++, Celeb-DF v2 and UADFV in their official layouts (paper Sec. 4.1).

Each adapter lists the videos of one dataset as :class:`VideoRecord` rows with a label
(0 real, 1 fake), a split ("train" | "val" | "test") and an identity key that groups the
videos which must stay in one split:

- FF++: official pair lists ``train.json`` / ``val.json`` / ``test.json``; identity = the pair.
- Celeb-DF v2: test = ``List_of_testing_videos.txt``; val carved from the rest by a seeded,
  identity-grouped rule; identity = the target identity (``YouTube-real``: the video).
- UADFV: no official split exists, so a seeded video-level split is written once to a JSON
  split file and read back afterwards; identity = the real video id.
"""

from __future__ import annotations

import json
import os
import random
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DATASET_DIRS = {"ffpp": "FaceForensics++", "celebdf": "Celeb-DF-v2", "uadfv": "UADFV"}
SPLITS = ("train", "val", "test")
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
CELEBDF_TEST_LIST = "List_of_testing_videos.txt"
# Share of the non-test Celeb-DF videos held out for validation (not stated in the paper).
CELEBDF_VAL_FRACTION = 0.1

UADFV_SPLIT_FILE = "jdfd_split.json"
# Optional settings of the Celeb-DF validation carve, in the Celeb-DF-v2 folder:
# {"val_fraction": 0.1, "seed": 0} (the demo data writes one: its videos are few).
CELEBDF_SPLIT_FILE = "jdfd_split.json"
# UADFV has no official split; test 0.15 matches the paper's Table 1 (1740 of 11621 real faces).
UADFV_FRACTIONS = {"train": 0.75, "val": 0.10, "test": 0.15}
DEFAULT_SEED = 0


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


def dataset_root(data_root: str | os.PathLike, key: str) -> Path:
    """Return ``data_root / DATASET_DIRS[key]``.

    Raises:
        ValueError: ``key`` is not one of :data:`DATASET_DIRS`.
    """
    if key not in DATASET_DIRS:
        raise ValueError(f"unknown dataset {key!r}; expected one of {list(DATASET_DIRS)}")
    return Path(data_root) / DATASET_DIRS[key]


def list_videos(dataset: str, root: str | os.PathLike, **options) -> list[VideoRecord]:
    """List the videos of ``dataset`` found under ``root``.

    Args:
        dataset: "ffpp", "celebdf" or "uadfv".
        root: the dataset's own folder (see :func:`dataset_root`).
        **options: passed to :func:`list_ffpp`, :func:`list_celebdf` or :func:`list_uadfv`.

    Returns:
        Records sorted by (method, video), with disjoint splits.
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


def _finish(records: list[VideoRecord], **check) -> list[VideoRecord]:
    records.sort(key=lambda r: (r.method, r.video))
    assert_disjoint(records, **check)
    return records


# --------------------------------------------------------------------------- FF++
def _find_split_file(root: Path, name: str) -> Path:
    for candidate in (root / "splits" / name, root / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{root / 'splits' / name}: FF++ official split list not found "
                            f"(also looked for {root / name}); expected a JSON list of "
                            f'["a", "b"] pairs')


def _ffpp_split_map(root: Path) -> dict[str, tuple[str, str]]:
    """Video id ("000", "000_003") -> (split, pair identity) from the official pair lists."""
    mapping: dict[str, tuple[str, str]] = {}
    for split in SPLITS:
        path = _find_split_file(root, f"{split}.json")
        pairs = json.loads(path.read_text())
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ValueError(f"{path}: expected a JSON list of [\"a\", \"b\"] pairs")
        for a, b in pairs:
            identity = "_".join(sorted((str(a), str(b))))
            for vid in (str(a), str(b), f"{a}_{b}", f"{b}_{a}"):
                if vid in mapping and mapping[vid][0] != split:
                    raise ValueError(f"{path}: video {vid} is also in split {mapping[vid][0]}")
                mapping[vid] = (split, identity)
    return mapping


def list_ffpp(root: str | os.PathLike, compression: str = "c23",
              methods: Sequence[str] = FFPP_METHODS) -> list[VideoRecord]:
    """List FaceForensics++ originals and manipulations with their official splits.

    Args:
        root: the ``FaceForensics++`` folder.
        compression: "c23" (the paper's), "c40" or "raw".
        methods: manipulations to include, from :data:`FFPP_METHODS`.

    Returns:
        Records; videos named in no official pair are left out with a warning.
    """
    root = _existing_dir(Path(root), "the FaceForensics++ dataset folder")
    if compression not in FFPP_COMPRESSIONS:
        raise ValueError(f"unknown FF++ compression {compression!r}; "
                         f"expected one of {FFPP_COMPRESSIONS}")
    unknown = set(methods) - set(FFPP_METHODS)
    if unknown:
        raise ValueError(f"unknown FF++ methods {sorted(unknown)}; expected {FFPP_METHODS}")
    split_of = _ffpp_split_map(root)
    folders = {FFPP_ORIGINAL: root / "original_sequences" / "youtube" / compression / "videos"}
    for m in methods:
        folders[m] = root / "manipulated_sequences" / m / compression / "videos"
    records, unlisted = [], []
    for method, folder in folders.items():
        for path in _videos_in(folder, f"FF++ {method} videos ({compression})"):
            if path.stem not in split_of:
                unlisted.append(path)
                continue
            split, identity = split_of[path.stem]
            records.append(VideoRecord("ffpp", method, path.stem, path,
                                       int(method != FFPP_ORIGINAL), split, identity))
    if unlisted:
        warnings.warn(f"{root}: {len(unlisted)} FF++ videos are in no official split and are "
                      f"left out (first: {unlisted[0]})", stacklevel=2)
    return _finish(records)


# --------------------------------------------------------------------------- Celeb-DF v2
_CELEB_REAL_NAME = re.compile(r"^(id\d+)_\d+$")
_CELEB_FAKE_NAME = re.compile(r"^(id\d+)_id\d+_\d+$")


def _celebdf_identity(method: str, video: str) -> str:
    """Celeb-real ``id{i}_n`` and Celeb-synthesis ``id{t}_id{s}_n`` group by the target id."""
    pattern = _CELEB_FAKE_NAME if method == CELEBDF_FAKE else _CELEB_REAL_NAME
    match = pattern.match(video) if method != "YouTube-real" else None
    return match.group(1) if match else f"{method}/{video}"


def _celebdf_test_list(root: Path) -> set[str]:
    """Relative paths of the official test videos; list labels checked against folders."""
    path = root / CELEBDF_TEST_LIST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Celeb-DF v2 test list not found; expected lines "
                                f"'1 Celeb-real/id0_0000.mp4' (1 = real, 0 = fake)")
    tests = set()
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise ValueError(f"{path}:{n}: expected '<0|1> <folder>/<video>', got {line!r}")
        folder = parts[1].split("/")[0]
        list_real = parts[0] == "1"  # the list's convention: 1 = real (ours: 0 = real)
        if list_real != (folder in CELEBDF_REAL) or folder not in (*CELEBDF_REAL, CELEBDF_FAKE):
            raise ValueError(f"{path}:{n}: label {parts[0]} disagrees with folder {folder!r} "
                             f"(the list uses 1 = real for {CELEBDF_REAL}, 0 = fake)")
        if not (root / parts[1]).is_file():
            raise FileNotFoundError(f"{root / parts[1]}: listed in {path} but missing")
        tests.add(parts[1])
    if not tests:
        raise ValueError(f"{path}: empty; expected the official test video list")
    return tests


def _carve_val(identities: Sequence[str], counts: dict[str, int], fraction: float,
               seed: int) -> set[str]:
    """Seeded choice of whole identity groups holding about ``fraction`` of the videos."""
    order = sorted(identities)
    random.Random(seed).shuffle(order)
    target, chosen, total = fraction * sum(counts.values()), set(), 0
    for identity in order:
        if total >= target or len(chosen) == len(order) - 1:
            break
        chosen.add(identity)
        total += counts[identity]
    return chosen


def celebdf_split_settings(root: Path) -> dict:
    """The validation-carve settings of ``root / jdfd_split.json``, or {} when absent.

    Raises:
        ValueError: the file is not ``{"val_fraction": float in (0, 1), "seed": int}``.
    """
    path = root / CELEBDF_SPLIT_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    ok = (isinstance(data, dict) and set(data) <= {"val_fraction", "seed"}
          and 0 < float(data.get("val_fraction", CELEBDF_VAL_FRACTION)) < 1
          and isinstance(data.get("seed", 0), int))
    if not ok:
        raise ValueError(f"{path}: expected {{\"val_fraction\": a number in (0, 1), "
                         f"\"seed\": an integer}}, got {data}")
    return data


def list_celebdf(root: str | os.PathLike, val_fraction: float | None = None,
                 seed: int | None = None) -> list[VideoRecord]:
    """List Celeb-DF v2 videos: the official test list, and train/val from the rest.

    Args:
        root: the ``Celeb-DF-v2`` folder.
        val_fraction: share of non-test videos held out for validation, drawn as whole
            identity groups (default: ``jdfd_split.json`` in ``root`` if present, else
            :data:`CELEBDF_VAL_FRACTION`).
        seed: seed of the validation draw (default: that file's, else 0).

    Returns:
        Records; train and val never share an identity, test is the official list.
    """
    root = _existing_dir(Path(root), "the Celeb-DF-v2 dataset folder")
    settings = celebdf_split_settings(root)
    val_fraction = settings.get("val_fraction", CELEBDF_VAL_FRACTION) if val_fraction is None \
        else val_fraction
    seed = settings.get("seed", DEFAULT_SEED) if seed is None else seed
    folders = {m: _videos_in(root / m, f"Celeb-DF v2 {m} videos")
               for m in (*CELEBDF_REAL, CELEBDF_FAKE)}
    tests = _celebdf_test_list(root)
    rows = []
    for method, paths in folders.items():
        for path in paths:
            rel = f"{method}/{path.name}"
            rows.append((method, path, _celebdf_identity(method, path.stem), rel in tests))
    counts: dict[str, int] = defaultdict(int)
    for _, _, identity, is_test in rows:
        counts[identity] += not is_test
    val_ids = _carve_val([i for i, c in counts.items() if c], counts, val_fraction, seed)
    records = [
        VideoRecord("celebdf", method, path.stem, path, int(method == CELEBDF_FAKE),
                    "test" if is_test else ("val" if identity in val_ids else "train"), identity)
        for method, path, identity, is_test in rows
    ]
    return _finish(records, identity_splits=IDENTITY_DISJOINT_SPLITS["celebdf"])


# --------------------------------------------------------------------------- UADFV
def draw_uadfv_split(ids: Sequence[str], fractions: dict[str, float],
                     seed: int) -> dict[str, list[str]]:
    """Seeded video-level split of UADFV ids: split -> sorted ids, shares ``fractions``."""
    if set(fractions) != set(SPLITS) or abs(sum(fractions.values()) - 1) > 1e-6:
        raise ValueError(f"UADFV fractions must give {SPLITS} summing to 1, got {fractions}")
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n = len(order)
    # at least one video per split when there are enough of them
    n_test = max(int(n >= 3), round(fractions["test"] * n))
    n_val = max(int(n >= 3), round(fractions["val"] * n))
    return {"test": sorted(order[:n_test]), "val": sorted(order[n_test:n_test + n_val]),
            "train": sorted(order[n_test + n_val:])}


def _uadfv_split(path: Path, ids: Sequence[str], fractions: dict[str, float],
                 seed: int) -> dict[str, str]:
    """Video id -> split, read from ``path`` or drawn and written there on first use."""
    if path.is_file():
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or set(data.get("splits", {})) != set(SPLITS):
            raise ValueError(f"{path}: expected {{'splits': {{'train': [...], 'val': [...], "
                             f"'test': [...]}}}}")
        splits = data["splits"]
    else:
        splits = draw_uadfv_split(ids, fractions, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seed": seed, "fractions": fractions, "splits": splits},
                                  indent=1))
        os.replace(tmp, path)
    split_of = {vid: s for s, vids in splits.items() for vid in vids}
    missing = sorted(set(ids) - set(split_of))
    if missing:
        raise ValueError(f"{path}: videos {missing[:5]} are in no split; delete the file "
                         f"to draw a new split")
    return split_of


def list_uadfv(root: str | os.PathLike, split_file: str | os.PathLike | None = None,
               fractions: dict[str, float] | None = None,
               seed: int = DEFAULT_SEED) -> list[VideoRecord]:
    """List UADFV videos with a fixed, seeded, video-level split.

    Args:
        root: the ``UADFV`` folder (``real/NNNN.mp4``, ``fake/NNNN_fake.mp4``).
        split_file: JSON split file, read if present, written otherwise
            (default ``root / jdfd_split.json``).
        fractions: split shares (default :data:`UADFV_FRACTIONS`); used only when drawing.
        seed: seed of the draw.

    Returns:
        Records; a real video and its fake share a split (identity = the real id).
    """
    root = _existing_dir(Path(root), "the UADFV dataset folder")
    real = _videos_in(root / "real", "UADFV real videos NNNN.mp4")
    fake = _videos_in(root / "fake", "UADFV fake videos NNNN_fake.mp4")
    ids = sorted({p.stem for p in real} | {p.stem.removesuffix("_fake") for p in fake})
    split_path = Path(split_file) if split_file is not None else root / UADFV_SPLIT_FILE
    split_of = _uadfv_split(split_path, ids, dict(fractions or UADFV_FRACTIONS), seed)
    records = []
    for method, paths in (("real", real), ("fake", fake)):
        for path in paths:
            identity = path.stem.removesuffix("_fake")
            records.append(VideoRecord("uadfv", method, path.stem, path, int(method == "fake"),
                                       split_of[identity], identity))
    return _finish(records)
