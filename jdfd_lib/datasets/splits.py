"""Split files of the three datasets: read, drawn, and checked against the folders (Sec. 4.1).

- FF++: the official pair lists ``train.json`` / ``val.json`` / ``test.json``. A pair
  ``[a, b]`` implies the originals ``a`` and ``b`` and, per manipulation, ``a_b`` and ``b_a``.
- Celeb-DF v2: the official ``List_of_testing_videos.txt``, and the optional settings of our
  validation carve (``jdfd_split.json``: ``{"val_fraction": .., "seed": ..}``).
- UADFV: no official split exists; a seeded video-level split is drawn once and kept in a
  JSON file, read back afterwards.

A split file that names videos absent from the dataset folder is refused (with the file,
the count and the first few absent videos) unless ``allow_missing``: left unchecked, FF++
lost the fakes of its test split silently, which showed only when evaluation failed after
scoring every frame. :mod:`jdfd_lib.datasets.adapters` turns these files into video records.
"""

from __future__ import annotations

import json
import os
import random
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from jdfd_lib.core.atomic import write_text
from jdfd_lib.core.errors import UserError, option

SPLITS = ("train", "val", "test")
DEFAULT_SEED = 0

CELEBDF_TEST_LIST = "List_of_testing_videos.txt"
# Share of the non-test Celeb-DF videos held out for validation (not stated in the paper).
CELEBDF_VAL_FRACTION = 0.1
# Optional settings of the Celeb-DF validation carve, in the Celeb-DF-v2 folder:
# {"val_fraction": 0.1, "seed": 0} (the demo data writes one: its videos are few).
CELEBDF_SPLIT_FILE = "jdfd_split.json"

# A UADFV split shipped with the dataset folder (the demo data writes one); read, never written.
UADFV_SPLIT_FILE = "jdfd_split.json"
# Where prepare keeps a drawn UADFV split: in its output folder, since the dataset folder may
# be a read-only shared mount.
UADFV_OUT_SPLIT_FILE = "uadfv_split.json"
# UADFV has no official split; test 0.15 matches the paper's Table 1 (1740 of 11621 real faces).
UADFV_FRACTIONS = {"train": 0.75, "val": 0.10, "test": 0.15}

MAX_NAMED = 10  # absent videos named in a message; the count gives the rest


def check_absent(absent: Mapping[str | Path, Sequence[str]], root: Path, expected: str,
                 allow_missing: bool) -> list[str]:
    """Refuse split files naming videos absent from ``root``, unless ``allow_missing``.

    Args:
        absent: split file -> the videos it names that are not in ``root``.
        root: the dataset folder.
        expected: what the split files imply should exist (for the message).
        allow_missing: go on without the absent videos, with a warning.

    Returns:
        The absent videos (empty when none are).

    Raises:
        UserError: videos are absent and ``allow_missing`` is False; names the files, the
            count and the first :data:`MAX_NAMED` videos.
    """
    names = [v for videos in absent.values() for v in videos]
    if not names:
        return []
    files = ", ".join(f"{path} ({len(videos)})" for path, videos in absent.items() if videos)
    more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    head = (f"{files}: {len(names)} listed video(s) absent from {root}: "
            f"{', '.join(names[:MAX_NAMED])}{more}")
    flag = option("allow_missing=True", "--allow-missing")
    if not allow_missing:
        raise UserError(f"{head}; expected {expected}. Add the videos, or pass {flag} to go "
                        f"on without them")
    warnings.warn(f"{head}; going on without them ({flag})", stacklevel=3)
    return names


# --------------------------------------------------------------------------- FF++
def find_ffpp_split_file(root: Path, name: str) -> Path:
    """``root/splits/<name>`` or ``root/<name>``, whichever exists."""
    for candidate in (root / "splits" / name, root / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{root / 'splits' / name}: FF++ official split list not found "
                            f"(also looked for {root / name}); expected a JSON list of "
                            f'["a", "b"] pairs')


def read_ffpp_pairs(root: Path) -> dict[Path, tuple[str, list[tuple[str, str]]]]:
    """Split file -> (split, its ``(a, b)`` pairs), for train, val and test."""
    files = {}
    for split in SPLITS:
        path = find_ffpp_split_file(root, f"{split}.json")
        pairs = json.loads(path.read_text())
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ValueError(f"{path}: expected a JSON list of [\"a\", \"b\"] pairs")
        files[path] = (split, [(str(a), str(b)) for a, b in pairs])
    return files


def ffpp_split_map(files: Mapping[Path, tuple[str, list[tuple[str, str]]]]
                   ) -> dict[str, tuple[str, str]]:
    """Video id ("000", "000_003") -> (split, pair identity) from the official pair lists."""
    mapping: dict[str, tuple[str, str]] = {}
    for path, (split, pairs) in files.items():
        for a, b in pairs:
            identity = "_".join(sorted((a, b)))
            for vid in (a, b, f"{a}_{b}", f"{b}_{a}"):
                if vid in mapping and mapping[vid][0] != split:
                    raise ValueError(f"{path}: video {vid} is also in split {mapping[vid][0]}")
                mapping[vid] = (split, identity)
    return mapping


def ffpp_absent(files: Mapping[Path, tuple[str, list[tuple[str, str]]]],
                present: Mapping[str, set[str]], original: str) -> dict[Path, list[str]]:
    """Per split file, the ``method/id`` videos its pairs imply but ``present`` lacks.

    Args:
        files: from :func:`read_ffpp_pairs`.
        present: method (``original`` and each included manipulation) -> ids found.
        original: the key of the originals in ``present``.
    """
    absent: dict[Path, list[str]] = {}
    for path, (_, pairs) in files.items():
        wanted = []
        for a, b in pairs:
            wanted += [(original, a), (original, b)]
            wanted += [(m, v) for m in present if m != original for v in (f"{a}_{b}", f"{b}_{a}")]
        absent[path] = [f"{m}/{v}" for m, v in wanted if v not in present[m]]
    return absent


# --------------------------------------------------------------------------- Celeb-DF v2
def read_celebdf_test_list(root: Path, real: Sequence[str], fake: str) -> tuple[Path, list[str]]:
    """The test list's path and its relative video paths, labels checked against folders."""
    path = root / CELEBDF_TEST_LIST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Celeb-DF v2 test list not found; expected lines "
                                f"'1 Celeb-real/id0_0000.mp4' (1 = real, 0 = fake)")
    tests = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise ValueError(f"{path}:{n}: expected '<0|1> <folder>/<video>', got {line!r}")
        folder = parts[1].split("/")[0]
        list_real = parts[0] == "1"  # the list's convention: 1 = real (ours: 0 = real)
        if list_real != (folder in real) or folder not in (*real, fake):
            raise ValueError(f"{path}:{n}: label {parts[0]} disagrees with folder {folder!r} "
                             f"(the list uses 1 = real for {tuple(real)}, 0 = fake)")
        tests.append(parts[1])
    if not tests:
        raise ValueError(f"{path}: empty; expected the official test video list")
    return path, tests


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


def carve_val(identities: Sequence[str], counts: dict[str, int], fraction: float,
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


def uadfv_split_file(root: Path, split_file: str | os.PathLike | None) -> Path | None:
    """The split file to use: ``split_file`` if given, else the dataset's own
    ``root/jdfd_split.json`` if it exists, else None (draw without keeping the draw)."""
    if split_file is not None:
        return Path(split_file)
    shipped = root / UADFV_SPLIT_FILE
    return shipped if shipped.is_file() else None


def read_uadfv_split(path: Path) -> dict[str, list[str]]:
    """Split -> ids from a UADFV split file."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or set(data.get("splits", {})) != set(SPLITS):
        raise ValueError(f"{path}: expected {{'splits': {{'train': [...], 'val': [...], "
                         f"'test': [...]}}}}")
    return {s: [str(v) for v in vids] for s, vids in data["splits"].items()}


def write_uadfv_split(path: Path, splits: dict[str, list[str]], fractions: dict[str, float],
                      seed: int) -> None:
    """Write a drawn split atomically (:func:`jdfd_lib.core.atomic.write_text`)."""
    write_text(path, json.dumps({"seed": seed, "fractions": fractions, "splits": splits},
                                indent=1))


def uadfv_split(path: Path | None, ids: Sequence[str], fractions: dict[str, float],
                seed: int) -> dict[str, list[str]]:
    """Split -> ids: read from ``path``, or drawn (and written to ``path`` when given)."""
    if path is not None and path.is_file():
        return read_uadfv_split(path)
    splits = draw_uadfv_split(ids, fractions, seed)
    if path is not None:
        write_uadfv_split(path, splits, fractions, seed)
    return splits
