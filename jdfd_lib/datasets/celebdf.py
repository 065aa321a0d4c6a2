"""Celeb-DF v2 (Li et al. 2020) in its official layout (paper Sec. 4.1).

``Celeb-DF-v2/{Celeb-real,YouTube-real,Celeb-synthesis}/*.mp4`` and the official test list
``List_of_testing_videos.txt`` (lines ``<1 real | 0 fake> <folder>/<video>``). Validation is
carved from the non-test videos by a seeded, identity-grouped rule (settings optionally in
``jdfd_split.json``: ``{"val_fraction": .., "seed": ..}``; the demo data writes one).
Identity = the target identity (``id{t}`` of ``id{t}_NNNN`` and ``id{t}_id{s}_NNNN``;
``YouTube-real``: the video). The official test list shares identities with the other
videos, so only train and val are kept identity-disjoint. A fake ``id{t}_id{s}_NNNN`` is
target ``id{t}``'s video ``Celeb-real/id{t}_NNNN`` with ``id{s}``'s face: its record's
``source`` (Celeb-DF ships no masks; they can be derived from it, :mod:`jdfd_lib.faces.masks`).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from jdfd_lib.core.paths import read_json
from jdfd_lib.core.typed_values import matches
from jdfd_lib.datasets.records import VideoList, VideoRecord, existing_dir, finish, videos_in
from jdfd_lib.datasets.registry import DatasetSpec, register_dataset
from jdfd_lib.datasets.splits import DEFAULT_SEED, carve_val, check_absent

CELEBDF_REAL = ("Celeb-real", "YouTube-real")
CELEBDF_FAKE = "Celeb-synthesis"
CELEBDF_TEST_LIST = "List_of_testing_videos.txt"
# Share of the non-test Celeb-DF videos held out for validation (not stated in the paper).
CELEBDF_VAL_FRACTION = 0.1
# Optional settings of the validation carve, in the Celeb-DF-v2 folder.
CELEBDF_SPLIT_FILE = "jdfd_split.json"

_REAL_NAME = re.compile(r"^(id\d+)_\d+$")
_FAKE_NAME = re.compile(r"^(id\d+)_id\d+_(\d+)$")


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
    data = read_json(path, '{"val_fraction": a number in (0, 1), "seed": an integer}')
    ok = (isinstance(data, dict) and set(data) <= {"val_fraction", "seed"}
          and matches(float, data.get("val_fraction", CELEBDF_VAL_FRACTION))
          and 0 < data.get("val_fraction", CELEBDF_VAL_FRACTION) < 1
          and matches(int, data.get("seed", 0)))
    if not ok:
        raise ValueError(f"{path}: expected {{\"val_fraction\": a number in (0, 1), "
                         f"\"seed\": an integer}}, got {data}")
    return data


def _identity(method: str, video: str) -> str:
    """Celeb-real ``id{i}_n`` and Celeb-synthesis ``id{t}_id{s}_n`` group by the target id."""
    pattern = _FAKE_NAME if method == CELEBDF_FAKE else _REAL_NAME
    match = pattern.match(video) if method != "YouTube-real" else None
    return match.group(1) if match else f"{method}/{video}"


def _source(method: str, video: str, real: dict[str, Path]) -> Path | None:
    """The Celeb-real video a Celeb-synthesis fake ``id{t}_id{s}_NNNN`` was made on."""
    match = _FAKE_NAME.match(video) if method == CELEBDF_FAKE else None
    return real.get(f"{match.group(1)}_{match.group(2)}") if match else None


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
    root = existing_dir(Path(root), "the Celeb-DF-v2 dataset folder")
    settings = celebdf_split_settings(root)
    val_fraction = settings.get("val_fraction", CELEBDF_VAL_FRACTION) if val_fraction is None \
        else val_fraction
    seed = settings.get("seed", DEFAULT_SEED) if seed is None else seed
    folders = {m: videos_in(root / m, f"Celeb-DF v2 {m} videos")
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
            rows.append((method, path, _identity(method, path.stem), rel in tests))
    counts: dict[str, int] = defaultdict(int)
    for _, _, identity, is_test in rows:
        counts[identity] += not is_test
    val_ids = carve_val([i for i, c in counts.items() if c], counts, val_fraction, seed)
    real = {p.stem: p for p in folders[CELEBDF_REAL[0]]}
    records = [
        VideoRecord("celebdf", method, path.stem, path, int(method == CELEBDF_FAKE),
                    "test" if is_test else ("val" if identity in val_ids else "train"), identity,
                    source=_source(method, path.stem, real))
        for method, path, identity, is_test in rows
    ]
    return finish(records, absent, identity_splits=SPEC.identity_splits)


SPEC = register_dataset(DatasetSpec(
    key="celebdf", folder="Celeb-DF-v2", label="Celeb-DF", letter="C", reader=list_celebdf,
    layout="{Celeb-real,YouTube-real,Celeb-synthesis}/*.mp4, List_of_testing_videos.txt",
    identity_splits=("train", "val"),
))
