"""Split rules shared by the dataset readers: absent-video checks, seeded draws, split files.

Each dataset module applies its own rule (FF++'s official pair lists, Celeb-DF's test list,
a drawn split for UADFV, DFDC and a user's folder); what they share lives here:

- :func:`check_absent`: a split file naming videos absent from the dataset folder is refused
  (with the file, the count and the first few absent videos) unless ``allow_missing``: left
  unchecked, FF++ lost the fakes of its test split silently, which showed only when
  evaluation failed after scoring every frame.
- :func:`carve_val`: a seeded validation carve of whole identity groups.
- :func:`draw_split` and the split file (``{"seed", "fractions", "splits": {split: [ids]}}``):
  a seeded group-level split drawn once, kept in a JSON file and read back afterwards. A drawn
  split is kept in prepare's output folder, never in the dataset folder (it may be read-only).
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
from jdfd_lib.core.paths import read_json

SPLITS = ("train", "val", "test")
DEFAULT_SEED = 0
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


def check_fractions(fractions: Mapping[str, float], where: str) -> dict[str, float]:
    """``fractions`` as a dict if it gives every split a share in [0, 1], summing to 1.

    Raises:
        ValueError: naming ``where`` (the dataset or file) and what was expected.
    """
    ok = set(fractions) == set(SPLITS) and all(0 <= float(v) <= 1 for v in fractions.values())
    if not ok or abs(sum(float(v) for v in fractions.values()) - 1) > 1e-6:
        raise ValueError(f"{where}: split fractions must give {SPLITS} shares in [0, 1] "
                         f"summing to 1, got {dict(fractions)}")
    return {s: float(fractions[s]) for s in SPLITS}


def draw_split(ids: Sequence[str], fractions: Mapping[str, float],
               seed: int) -> dict[str, list[str]]:
    """Seeded split of group ids: split -> sorted ids, shares ``fractions``.

    Every split with a non-zero share gets at least one id when there are three or more.
    """
    fractions = check_fractions(fractions, "draw_split")
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = max(int(n >= 3 and fractions["test"] > 0), round(fractions["test"] * n))
    n_val = max(int(n >= 3 and fractions["val"] > 0), round(fractions["val"] * n))
    return {"test": sorted(order[:n_test]), "val": sorted(order[n_test:n_test + n_val]),
            "train": sorted(order[n_test + n_val:])}


def split_file(root: Path, given: str | os.PathLike | None, shipped: str) -> Path | None:
    """The split file to use: ``given`` if set, else ``root / shipped`` if it exists (a split
    shipped with the dataset, read only), else None (draw without keeping the draw)."""
    if given is not None:
        return Path(given)
    path = root / shipped
    return path if path.is_file() else None


def read_split_file(path: Path) -> dict[str, list[str]]:
    """Split -> ids from a split file.

    Raises:
        ValueError: the file is not ``{"splits": {"train": [...], "val": [...], "test": [...]}}``,
            or a group is in more than one split (the groups named).
    """
    expected = "{'splits': {'train': [...], 'val': [...], 'test': [...]}} of group ids (text)"
    data = read_json(path, f"a split file {expected}")
    splits = data.get("splits") if isinstance(data, dict) else None
    if not isinstance(splits, dict) or set(splits) != set(SPLITS) or not all(
            isinstance(ids, list) and all(isinstance(g, str) and g for g in ids)
            for ids in splits.values()):  # a string is no list of its characters
        raise ValueError(f"{path}: expected {expected}")
    where: dict[str, list[str]] = {}
    for split, ids in splits.items():
        for group in dict.fromkeys(ids):
            where.setdefault(group, []).append(split)
    shared = {g: ss for g, ss in where.items() if len(ss) > 1}
    if shared:  # a group in two splits would leak between training and testing
        listed = ", ".join(f"{g} ({' and '.join(ss)})" for g, ss in list(shared.items())[:5])
        raise ValueError(f"{path}: {len(shared)} groups are in more than one split: {listed}"
                         f"{' ...' if len(shared) > 5 else ''}; each group belongs to one split")
    return splits


def write_split_file(path: Path, splits: dict[str, list[str]], fractions: Mapping[str, float],
                     seed: int) -> None:
    """Write a drawn split atomically (:func:`jdfd_lib.core.atomic.write_text`)."""
    write_text(path, json.dumps({"seed": seed, "fractions": dict(fractions), "splits": splits},
                                indent=1))


def read_or_draw(path: Path | None, ids: Sequence[str], fractions: Mapping[str, float],
                 seed: int) -> dict[str, list[str]]:
    """Split -> ids: read from ``path``, or drawn (and written to ``path`` when given)."""
    if path is not None and path.is_file():
        return read_split_file(path)
    splits = draw_split(ids, fractions, seed)
    if path is not None:
        write_split_file(path, splits, fractions, seed)
    return splits
