"""FaceForensics++ (Rössler et al. 2019) in its official layout (paper Sec. 4.1: c23).

``FaceForensics++/original_sequences/youtube/<c>/videos/NNN.mp4`` and
``manipulated_sequences/<Method>/<c>/videos/AAA_BBB.mp4`` for Deepfakes, Face2Face, FaceSwap
and NeuralTextures; the official pair lists ``splits/{train,val,test}.json`` (or at the root).
A pair ``[a, b]`` implies the originals ``a`` and ``b`` and, per manipulation, ``a_b`` and
``b_a``; identity = the pair, so a fake shares its split with both of its sources.

Fakes are named ``<target>_<source>``: ``a_b`` shows the frames of original ``a`` (the target,
whose face is replaced or re-enacted) with ``b``'s face or expression, frame for frame (FF++'s
download script lists each pair's fakes as ``a_b`` and ``b_a``; dfd.py's ``TT_SS`` names follow
the same order). A fake's record therefore has ``source`` = original ``a``, and ``mask`` = the
mask video FF++ ships for the four methods, ``manipulated_sequences/<Method>/masks/videos/
a_b.mp4``, when it was downloaded (``-t masks``; not per compression).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from jdfd_lib.core.paths import read_json
from jdfd_lib.datasets.records import VideoList, VideoRecord, existing_dir, finish, videos_in
from jdfd_lib.datasets.registry import DatasetOption, DatasetSpec, register_dataset
from jdfd_lib.datasets.splits import SPLITS, check_absent

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
FFPP_COMPRESSIONS = ("c23", "c40", "raw")
FFPP_ORIGINAL = "original"

PairFiles = Mapping[Path, tuple[str, list[tuple[str, str]]]]


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
        expected = 'a JSON list of ["a", "b"] pairs of video ids (text)'
        pairs = read_json(path, expected)
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p)
                for p in pairs):
            raise ValueError(f"{path}: expected {expected}")
        files[path] = (split, [(a, b) for a, b in pairs])
    return files


def ffpp_split_map(files: PairFiles) -> dict[str, tuple[str, str]]:
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


def ffpp_absent(files: PairFiles, present: Mapping[str, set[str]],
                original: str) -> dict[Path, list[str]]:
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
    root = existing_dir(Path(root), "the FaceForensics++ dataset folder")
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
    found = {method: videos_in(folder, f"FF++ {method} videos ({compression})")
             for method, folder in folders.items()}
    expected = (f"each pair [a, b] to have a and b in {folders[FFPP_ORIGINAL].relative_to(root)}"
                f" and a_b, b_a in manipulated_sequences/<method>/{compression}/videos for "
                f"{', '.join(methods)}")
    absent = check_absent(ffpp_absent(pair_files, {m: {p.stem for p in paths} for m, paths
                                                   in found.items()}, FFPP_ORIGINAL),
                          root, expected, allow_missing)
    records, unlisted = [], []
    originals = {p.stem: p for p in found[FFPP_ORIGINAL]}
    for method, paths in found.items():
        for path in paths:
            if path.stem not in split_of:
                unlisted.append(path)
                continue
            split, identity = split_of[path.stem]
            records.append(VideoRecord("ffpp", method, path.stem, path,
                                       int(method != FFPP_ORIGINAL), split, identity,
                                       **_mask_and_source(root, method, path.stem, originals)))
    if unlisted:
        warnings.warn(f"{root}: {len(unlisted)} FF++ videos are in no official split and are "
                      f"left out (first: {unlisted[0]})", stacklevel=2)
    return finish(records, absent)


def _mask_and_source(root: Path, method: str, video: str, originals: dict[str, Path]) -> dict:
    """A fake's ``mask`` (its mask video, if present) and ``source`` (its target original,
    if present); nothing for an original."""
    if method == FFPP_ORIGINAL:
        return {}
    mask = root / "manipulated_sequences" / method / "masks" / "videos" / f"{video}.mp4"
    return {"mask": mask if mask.is_file() else None,
            "source": originals.get(video.split("_")[0])}


SPEC = register_dataset(DatasetSpec(
    key="ffpp", folder="FaceForensics++", label="FF++", letter="F", reader=list_ffpp,
    layout="original_sequences/youtube/<c>/videos/NNN.mp4, manipulated_sequences/<Method>/"
           "<c>/videos/AAA_BBB.mp4, splits/{train,val,test}.json (official pair lists)",
    options=(
        DatasetOption("compression", "FF++ and DFD: compression folder (paper: c23)", "c23",
                      {"choices": FFPP_COMPRESSIONS}),
        DatasetOption("methods", "FF++ only: manipulations to include (default: all four)",
                      list(FFPP_METHODS), {"nargs": "+", "choices": FFPP_METHODS}),
    ),
))
