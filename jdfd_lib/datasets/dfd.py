"""DeepFakeDetection (DFD; Google/Jigsaw 2019) as FaceForensics++ distributes it.

A test set beyond the paper's three (Sec. 4.1). FF++'s download script puts DFD inside the
``FaceForensics++`` folder, beside FF++'s own videos, so the dataset's folder under a data root
is ``FaceForensics++`` (the FF++ reader never looks at these paths):

- real: ``original_sequences/actors/<c>/videos/AA__<scene>.mp4`` (actor ``AA``);
- fake: ``manipulated_sequences/DeepFakeDetection/<c>/videos/TT_SS__<scene>__<ID>.mp4``
  (actor ``TT``'s video with actor ``SS``'s face; e.g. ``01_02__meeting_serious__YVGY8LOK``).

DFD is usually a test set only: by default every video is in the ``test`` split
(``dfd_split="test"``). With ``dfd_split="actors"`` the 28 actors are drawn (seeded, shares
:data:`DFD_FRACTIONS`) into train/val/test; a real video follows its actor, a fake follows
its two actors when both were drawn into the same split and is left out (with a warning
counting them) when they were not, so no split shows a face that another split holds. The
identity of a video is its (target) actor. Same ``compression`` option as FF++.

A fake ``TT_SS__<scene>__<ID>`` is made on the real ``TT__<scene>``: its record's ``source``
when present; its ``mask`` is the mask video DFD ships beside FF++'s,
``manipulated_sequences/DeepFakeDetection/masks/videos/<name>.mp4``, when downloaded.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from jdfd_lib.datasets.ffpp import SPEC as FFPP_SPEC
from jdfd_lib.datasets.records import VideoList, VideoRecord, existing_dir, finish, videos_in
from jdfd_lib.datasets.registry import DatasetOption, DatasetSpec, register_dataset
from jdfd_lib.datasets.splits import DEFAULT_SEED, draw_split

DFD_REAL = "original"
DFD_FAKE = "DeepFakeDetection"
DFD_SPLIT_RULES = ("test", "actors")
# Actor shares of the optional actor-level split (DFD has no official split).
DFD_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}

_REAL_NAME = re.compile(r"^(\d+)__(.+)$")
_FAKE_NAME = re.compile(r"^(\d+)_(\d+)__(.+)__([A-Za-z0-9]+)$")

# the FF++ declaration itself: an option shared by datasets must be declared alike
COMPRESSION = next(o for o in FFPP_SPEC.options if o.name == "compression")
DFD_SPLIT = DatasetOption(
    "dfd_split", "DFD only: 'test' (every video in the test split, the default) or 'actors' "
    "(actors drawn into train/val/test; fakes across two splits left out)", "test",
    {"choices": DFD_SPLIT_RULES})


def dfd_actors(path: Path, fake: bool) -> tuple[str, ...]:
    """The actor(s) of a DFD file name: ``(AA,)`` for a real video, ``(TT, SS)`` for a fake.

    Raises:
        ValueError: the name does not follow DFD's pattern.
    """
    match = (_FAKE_NAME if fake else _REAL_NAME).match(path.stem)
    if not match:
        expected = "TT_SS__<scene>__<ID>.mp4" if fake else "AA__<scene>.mp4"
        raise ValueError(f"{path}: not a DFD {'fake' if fake else 'real'} video name; "
                         f"expected {expected}")
    return match.groups()[:2] if fake else match.groups()[:1]


def list_dfd(root: str | os.PathLike, compression: str = "c23", dfd_split: str = "test",
             fractions: dict[str, float] | None = None, seed: int = DEFAULT_SEED,
             allow_missing: bool = False) -> VideoList:
    """List DFD's real and fake videos.

    Args:
        root: the ``FaceForensics++`` folder holding DFD.
        compression: "c23", "c40" or "raw" (as FF++).
        dfd_split: "test" (every video in the test split) or "actors" (see the module).
        fractions: actor shares with ``dfd_split="actors"`` (default :data:`DFD_FRACTIONS`).
        seed: seed of the actor draw.
        allow_missing: accepted for the common reader signature (DFD has no split file).

    Returns:
        Records (method "original" or "DeepFakeDetection", video = file stem, identity = the
        target actor).

    Raises:
        FileNotFoundError: a DFD folder is missing.
        ValueError: unknown compression or split rule, or a file name not in DFD's pattern.
    """
    del allow_missing  # nothing names videos that could be absent
    root = existing_dir(Path(root), "the FaceForensics++ folder holding DeepFakeDetection")
    if compression not in COMPRESSION.kwargs["choices"]:
        raise ValueError(f"unknown DFD compression {compression!r}; expected one of "
                         f"{COMPRESSION.kwargs['choices']}")
    if dfd_split not in DFD_SPLIT_RULES:
        raise ValueError(f"unknown dfd_split {dfd_split!r}; expected one of {DFD_SPLIT_RULES}")
    folders = {DFD_REAL: root / "original_sequences" / "actors" / compression / "videos",
               DFD_FAKE: root / "manipulated_sequences" / DFD_FAKE / compression / "videos"}
    found = {m: [(p, dfd_actors(p, m == DFD_FAKE)) for p in videos_in(f, f"DFD {m} videos "
                                                                        f"({compression})")]
             for m, f in folders.items()}
    actors = sorted({a for rows in found.values() for _, names in rows for a in names})
    split_of = dict.fromkeys(actors, "test")
    if dfd_split == "actors":
        drawn = draw_split(actors, fractions or DFD_FRACTIONS, seed)
        split_of = {a: s for s, members in drawn.items() for a in members}
    records, dropped = [], []
    for method, rows in found.items():
        for path, names in rows:
            splits = {split_of[a] for a in names}
            if len(splits) > 1:
                dropped.append(path)
                continue
            records.append(VideoRecord("dfd", method, path.stem, path, int(method == DFD_FAKE),
                                       splits.pop(), names[0],
                                       **_mask_and_source(root, method, path, folders)))
    if dropped:
        warnings.warn(f"{root}: {len(dropped)} DFD fakes join actors of two splits and are "
                      f"left out (first: {dropped[0].name})", stacklevel=2)
    return finish(records)


def _mask_and_source(root: Path, method: str, path: Path, folders: dict[str, Path]) -> dict:
    """A fake's ``mask`` and ``source`` (the real ``TT__<scene>``), each if present."""
    if method != DFD_FAKE:
        return {}
    target, _, scene, _ = _FAKE_NAME.match(path.stem).groups()
    mask = root / "manipulated_sequences" / DFD_FAKE / "masks" / "videos" / path.name
    source = folders[DFD_REAL] / f"{target}__{scene}{path.suffix}"
    return {"mask": mask if mask.is_file() else None,
            "source": source if source.is_file() else None}


SPEC = register_dataset(DatasetSpec(
    key="dfd", folder="FaceForensics++", label="DFD", letter="G", reader=list_dfd,
    layout="original_sequences/actors/<c>/videos/AA__<scene>.mp4, manipulated_sequences/"
           "DeepFakeDetection/<c>/videos/TT_SS__<scene>__<ID>.mp4 (test only by default)",
    options=(COMPRESSION, DFD_SPLIT),
))
