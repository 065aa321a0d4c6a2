"""DFDC (Dolhansky et al. 2020) and its preview DFDCP (2019) in their distributed layouts.

Test sets beyond the paper's three (Sec. 4.1), as DeepfakeBench arranges them:

- ``DFDC/``: the training parts ``dfdc_train_part_N/`` (directly or under ``train/``), each
  with the videos and a ``metadata.json`` mapping ``"name.mp4"`` to ``{"label": "REAL" |
  "FAKE", "original": "source.mp4" (fakes), "split": "train"}``; and the labelled public
  test set ``test/`` (its videos and ``labels.csv``: ``filename,label``, 1 = fake). Either
  part may be absent (DFDC is mostly used as a test set). A group is an original and every
  fake made from it; validation is carved from the training parts by a seeded rule over
  whole groups (:func:`jdfd_lib.datasets.splits.carve_val`, share ``val_fraction``,
  default :data:`DFDC_VAL_FRACTION`), the test set is the official one. A training fake's
  ``original``, when present beside it, is its record's ``source`` (DFDC ships no masks;
  :mod:`jdfd_lib.faces.masks` derives them); the test set names no originals.
- ``DFDCP/`` (the preview's ``dfdc_preview_set``): ``dataset.json`` mapping relative paths
  (``original_videos/<target>/...mp4``, ``method_A/...``, ``method_B/...``) to ``{"label":
  "real" | "fake", "set": "train" | "test", "target_id": .., ...}``. Groups are target ids;
  validation is carved from the official ``train`` set the same way, ``test`` is official.
  The official sets may share people, so only train and val are kept identity-disjoint.

Videos a metadata file names but the folder lacks are refused unless ``allow_missing``
(:func:`jdfd_lib.datasets.splits.check_absent`); videos named by no metadata are left out.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections import Counter
from pathlib import Path

from jdfd_lib.core.paths import read_json
from jdfd_lib.datasets.records import VideoList, VideoRecord, existing_dir, finish
from jdfd_lib.datasets.registry import DatasetOption, DatasetSpec, register_dataset
from jdfd_lib.datasets.splits import DEFAULT_SEED, carve_val, check_absent

DFDC_PART_GLOB = "dfdc_train_part_*"
DFDC_METADATA = "metadata.json"
DFDC_TEST = "test"
DFDC_LABELS = "labels.csv"
DFDCP_INDEX = "dataset.json"
DFDCP_REAL = "original_videos"
DFDCP_METHODS = ("method_A", "method_B")
DFDCP_IDENTITY_SPLITS = ("train", "val")  # the official train and test sets may share people
# Share of the training videos held out for validation, as whole groups (not stated by the
# datasets; Celeb-DF's default).
DFDC_VAL_FRACTION = 0.1

VAL_FRACTION = DatasetOption(
    "val_fraction", "DFDC and DFDCP: share of the training videos held out for validation, "
    f"as whole groups (default {DFDC_VAL_FRACTION})", DFDC_VAL_FRACTION, {"type": float})


def read_json_object(path: Path, what: str, expected: str) -> dict:
    """The JSON object in ``path`` (``what`` names the file in messages, ``expected`` its
    format).

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: not JSON, or JSON that is not an object (one line naming the file).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found; expected {expected}")
    data = read_json(path, f"{what}: {expected}")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object {expected}, got {type(data).__name__}")
    return data


def check_val_fraction(val_fraction: float) -> float:
    """``val_fraction`` if in (0, 1), else a ValueError."""
    if not 0 < float(val_fraction) < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    return float(val_fraction)


def _entry_error(path: Path, name: str, expected: str, got: object) -> ValueError:
    return ValueError(f"{path}: entry {name!r}: expected {expected}, got {got!r}")


# ----------------------------------------------------------------------------- DFDC
def dfdc_train_parts(root: Path) -> list[Path]:
    """The ``dfdc_train_part_N`` folders of ``root`` or ``root/train``, in part order."""
    parts = [p for p in (*root.glob(DFDC_PART_GLOB), *(root / "train").glob(DFDC_PART_GLOB))
             if p.is_dir()]
    return sorted(parts, key=lambda p: (len(p.name), p.name))


def read_dfdc_metadata(path: Path) -> dict[str, tuple[int, str]]:
    """Video file name -> (label, group) from one part's ``metadata.json``.

    The group of a real video is its own name, of a fake its ``original``'s (both stems).

    Raises:
        FileNotFoundError: the part has no metadata.json.
        ValueError: not JSON, or an entry without ``label`` REAL/FAKE (and ``original``).
    """
    data = read_json_object(path, "DFDC part metadata",
                            '{"name.mp4": {"label": "REAL"|"FAKE", "original": ..}}')
    videos = {}
    for name, entry in data.items():
        label = entry.get("label") if isinstance(entry, dict) else None
        if label not in ("REAL", "FAKE"):
            raise _entry_error(path, name, '{"label": "REAL" | "FAKE", ...}', entry)
        original = entry.get("original")
        if label == "FAKE" and not (isinstance(original, str) and original):
            raise _entry_error(path, name, 'a FAKE entry with "original": "<video>.mp4"', entry)
        videos[name] = (int(label == "FAKE"), Path(original if label == "FAKE" else name).stem)
    return videos


def read_dfdc_labels(path: Path) -> dict[str, int]:
    """Video file name -> label (1 fake) from the test set's ``labels.csv``.

    Raises:
        ValueError: no ``filename,label`` header, or a label other than 0/1 (or REAL/FAKE).
    """
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0][:2]] != ["filename", "label"]:
        raise ValueError(f"{path}: expected a header 'filename,label', got "
                         f"{','.join(rows[0]) if rows else 'an empty file'!r}")
    labels, values = {}, {"0": 0, "1": 1, "real": 0, "fake": 1}
    for n, row in enumerate(rows[1:], 2):
        if not row:
            continue
        value = values.get(row[1].strip().lower()) if len(row) >= 2 else None
        if value is None or not row[0].strip():
            raise ValueError(f"{path}:{n}: expected '<video>.mp4,<0 real | 1 fake>', "
                             f"got {','.join(row)!r}")
        labels[row[0].strip()] = value
    return labels


def _dfdc_rows(folder: Path, videos: dict[str, tuple[int, str]], split: str,
               absent: list[str]) -> list[tuple[Path, int, str, str]]:
    """(path, label, group, split) of the listed videos present in ``folder``."""
    rows = []
    for name, (label, group) in sorted(videos.items()):
        path = folder / name
        if path.is_file():
            rows.append((path, label, group, split))
        else:
            absent.append(f"{folder.name}/{name}")
    return rows


def list_dfdc(root: str | os.PathLike, val_fraction: float = DFDC_VAL_FRACTION,
              seed: int = DEFAULT_SEED, allow_missing: bool = False) -> VideoList:
    """List DFDC videos: training parts (train/val by group) and the labelled test set.

    Args:
        root: the ``DFDC`` folder (``dfdc_train_part_N/`` or ``train/dfdc_train_part_N/``,
            and/or ``test/`` with ``labels.csv``).
        val_fraction: share of the training videos held out for validation, drawn as whole
            groups (an original with its fakes).
        seed: seed of the validation draw.
        allow_missing: go on (with a warning) when metadata names absent videos.

    Returns:
        Records (method "real" or "fake", video = file stem); a fake shares its original's
        group and split.

    Raises:
        FileNotFoundError: neither training parts nor ``test/labels.csv`` exist.
        ValueError: bad metadata or labels (one line naming the file).
        UserError: metadata names absent videos (unless ``allow_missing``).
    """
    root = existing_dir(Path(root), "the DFDC dataset folder")
    val_fraction = check_val_fraction(val_fraction)
    parts, labels_csv = dfdc_train_parts(root), root / DFDC_TEST / DFDC_LABELS
    if not parts and not labels_csv.is_file():
        raise FileNotFoundError(f"{root}: no DFDC data; expected {DFDC_PART_GLOB}/"
                                f"{DFDC_METADATA} (or train/{DFDC_PART_GLOB}/) and/or "
                                f"{DFDC_TEST}/{DFDC_LABELS}")
    if labels_csv.parent.is_dir() and not labels_csv.is_file():
        warnings.warn(f"{labels_csv.parent}: no {DFDC_LABELS} (filename,label); its videos are "
                      f"left out", stacklevel=2)
    absent: dict[Path, list[str]] = {}
    rows = []
    for part in parts:
        meta = part / DFDC_METADATA
        rows += _dfdc_rows(part, read_dfdc_metadata(meta), "train", absent.setdefault(meta, []))
    if labels_csv.is_file():
        tests = {name: (label, f"{DFDC_TEST}/{Path(name).stem}")
                 for name, label in read_dfdc_labels(labels_csv).items()}
        rows += _dfdc_rows(labels_csv.parent, tests, "test", absent.setdefault(labels_csv, []))
    missing = check_absent(absent, root, "every video a metadata.json or labels.csv names "
                           "beside it", allow_missing)
    val = _carve(rows, val_fraction, seed)
    records = [VideoRecord("dfdc", ("real", "fake")[label], path.stem, path, label,
                           "val" if split == "train" and group in val else split, group,
                           source=_original(path, label, group, split))
               for path, label, group, split in rows]
    return finish(_unique(records), missing)


def _original(path: Path, label: int, group: str, split: str) -> Path | None:
    """A training fake's original (its group, in the same part folder), if present."""
    if label != 1 or split != "train":  # the test set names no originals
        return None
    original = path.with_name(f"{group}{path.suffix}")
    return original if original.is_file() else None


def _carve(rows: list[tuple[Path, int, str, str]], val_fraction: float, seed: int) -> set[str]:
    """The training groups carved for validation."""
    counts = Counter(group for _, _, group, split in rows if split == "train")
    return carve_val(list(counts), counts, val_fraction, seed) if counts else set()


def _unique(records: list[VideoRecord]) -> list[VideoRecord]:
    """``records`` if no two share (method, video); else a ValueError naming both files."""
    seen: dict[tuple[str, str], Path] = {}
    for r in records:
        first = seen.setdefault((r.method, r.video), r.path)
        if first != r.path:
            raise ValueError(f"{r.path}: video id {r.method}/{r.video} is also {first}; "
                             f"expected unique file names")
    return records


# ----------------------------------------------------------------------------- DFDCP
def read_dfdcp_index(path: Path) -> dict[str, tuple[int, str, str]]:
    """Relative path -> (label, official set, target id) from DFDCP's ``dataset.json``.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: not JSON, or an entry without label real/fake agreeing with its folder,
            set train/test, or target_id.
    """
    data = read_json_object(path, "DFDC preview index",
                            '{"<folder>/.../name.mp4": {"label": "real"|"fake", '
                            '"set": "train"|"test", "target_id": ..}}')
    index = {}
    for rel, entry in data.items():
        ok = (isinstance(entry, dict) and entry.get("label") in ("real", "fake")
              and entry.get("set") in ("train", "test")
              and entry.get("target_id") not in (None, ""))
        folder = rel.split("/")[0]
        if not ok or folder not in (DFDCP_REAL, *DFDCP_METHODS) or (
                (entry["label"] == "real") != (folder == DFDCP_REAL)):
            raise _entry_error(path, rel, f'a path under {DFDCP_REAL}/ (label "real") or '
                               f'{"/, ".join(DFDCP_METHODS)}/ (label "fake") with "set": '
                               f'"train"|"test" and "target_id"', entry)
        index[rel] = (int(entry["label"] == "fake"), entry["set"], str(entry["target_id"]))
    return index


def list_dfdcp(root: str | os.PathLike, val_fraction: float = DFDC_VAL_FRACTION,
               seed: int = DEFAULT_SEED, allow_missing: bool = False) -> VideoList:
    """List DFDC preview videos with the official train/test sets and a carved validation.

    Args:
        root: the ``DFDCP`` folder (``dataset.json``, ``original_videos/``, ``method_A/``,
            ``method_B/``).
        val_fraction: share of the official training videos held out for validation, drawn
            as whole target-id groups.
        seed: seed of the validation draw.
        allow_missing: go on (with a warning) when ``dataset.json`` names absent videos.

    Returns:
        Records (method = the top folder, video = file stem, identity = target id).

    Raises:
        ValueError: bad ``dataset.json`` (one line naming it), or two videos of a folder
            with one file stem.
        UserError: ``dataset.json`` names absent videos (unless ``allow_missing``).
    """
    root = existing_dir(Path(root), "the DFDC preview (DFDCP) dataset folder")
    val_fraction = check_val_fraction(val_fraction)
    index_path = root / DFDCP_INDEX
    index = read_dfdcp_index(index_path)
    missing = check_absent({index_path: [rel for rel in index if not (root / rel).is_file()]},
                           root, "every video dataset.json names, at its relative path",
                           allow_missing)
    rows = [(root / rel, label, target, split) for rel, (label, split, target)
            in sorted(index.items()) if (root / rel).is_file()]
    val = _carve(rows, val_fraction, seed)
    records = [VideoRecord("dfdcp", path.relative_to(root).parts[0], path.stem, path, label,
                           "val" if split == "train" and group in val else split, group)
               for path, label, group, split in rows]
    return finish(_unique(records), missing, identity_splits=DFDCP_IDENTITY_SPLITS)

SPEC = register_dataset(DatasetSpec(
    key="dfdc", folder="DFDC", label="DFDC", letter="D", reader=list_dfdc,
    layout="dfdc_train_part_N/{*.mp4,metadata.json} (or under train/), test/{*.mp4,"
           "labels.csv} (val carved by group: an original and its fakes)",
    options=(VAL_FRACTION,),
))

PREVIEW_SPEC = register_dataset(DatasetSpec(
    key="dfdcp", folder="DFDCP", label="DFDCP", letter="P", reader=list_dfdcp,
    layout="dataset.json, {original_videos,method_A,method_B}/**/*.mp4 (official train/test "
           "sets; val carved by target id)",
    identity_splits=DFDCP_IDENTITY_SPLITS, options=(VAL_FRACTION,),
))
