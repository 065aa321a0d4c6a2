"""The face-crop index: one row per aligned face crop (paper Sec. 3.1 output).

``python -m jdfd_lib prepare`` writes ``index.csv`` in its output root; training,
evaluation and the notebooks read it back through :func:`read_index`. Paths in the
index are relative to that root so that a prepared folder can be moved as a whole.

Beside the index, prepare keeps two small files, so that an index is only ever read as the
complete output of one extraction:

- ``extraction.json``, written with the index: the extraction settings (their
  fingerprint and its short id), how prepare was called, and the sha256 of the index it
  wrote. :func:`read_index` refuses an index that differs from it (edited, or merged with
  rows of another extraction whose crops may have another size) and
  :func:`prepare_command` rebuilds the command that repairs the folder.
- ``.prepare-running``, present while prepare works on the folder (it removes the old
  index first, since it replaces crop folders one video at a time): an interrupted run
  leaves no index and :func:`read_index` says to run prepare again.

The record is kept out of ``index.csv`` itself so that the index of an unchanged
extraction stays byte-identical (evaluation results record its sha256).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from pathlib import Path

import pandas as pd

from jdfd_lib.core.atomic import write_csv, write_text
from jdfd_lib.core.errors import UserError, command_line
from jdfd_lib.core.paths import read_csv
from jdfd_lib.core.runinfo import file_sha256
from jdfd_lib.datasets.splits import SPLITS

INDEX_NAME = "index.csv"
EXTRACTION_NAME = "extraction.json"
RUNNING_NAME = ".prepare-running"

# Column -> dtype. ``label``: 0 = real, 1 = fake (everywhere in this project).
INDEX_COLUMNS: dict[str, str] = {
    "dataset": "string",  # "ffpp" | "celebdf" | "uadfv"
    "method": "string",  # FF++: "original" or the manipulation; others: source folder
    "video": "string",  # video id, unique within (dataset, method)
    "frame": "int64",  # frame number in the source video (0-based)
    "label": "int64",  # 0 real, 1 fake
    "split": "string",  # "train" | "val" | "test"
    "identity": "string",  # identity / source key used to keep splits apart
    "path": "string",  # crop image, relative to the index root
}
# Optional column that prepare writes: the crop's manipulation mask (one-channel PNG, 255 =
# manipulated; jdfd_lib.faces.masks), relative to the index root, or "" where the crop has none
# (every pristine crop, and fakes without an official or derived mask). An index without it
# (written before masks existed, or by hand) means no crop has a mask.
MASK_COLUMN = "mask"


def index_path(root: str | os.PathLike) -> Path:
    """Return the path of the index file inside a prepared output root."""
    return Path(root) / INDEX_NAME


def settings_id(fingerprint: dict) -> str:
    """A short, stable id of extraction settings (``ExtractConfig.fingerprint()``)."""
    text = json.dumps(fingerprint, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def describe_settings(record: dict) -> str:
    """``"3f2a... (frames_per_video=4, image_size=128, image_format=png)"`` of a record."""
    s = record.get("settings", {})
    keys = ("frames_per_video", "image_size", "image_format")
    return f"{record.get('settings_id')} ({', '.join(f'{k}={s.get(k)}' for k in keys)})"


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=1))


def read_extraction_record(root: str | os.PathLike) -> dict | None:
    """The ``extraction.json`` written with the index of ``root``, or None."""
    return _read_json(Path(root) / EXTRACTION_NAME)


def sources_digest(metas: list[dict]) -> str:
    """sha256 of what the crops were extracted from: each video's ``method/video`` and the
    size and modification time of its file (``source_file`` of its meta; None in metas of
    older versions). A replaced video, extracted again, changes it while the index (the same
    frames at the same crop paths) may not; paths are left out, so moving the datasets
    changes nothing."""
    items = sorted((m["method"], m["video"], m.get("source_file")) for m in metas)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def prepared_fingerprint(root: str | os.PathLike) -> dict[str, str | None]:
    """What a training run read from a prepared folder: its index's sha256 and the
    :func:`sources_digest` of its videos (None when prepared before it was recorded; both
    None without an index, which the loader then reports)."""
    record, path = read_extraction_record(root) or {}, index_path(root)
    index = record.get("index_sha256") or (file_sha256(path) if path.is_file() else None)
    return {"index_sha256": index, "sources_sha256": record.get("sources_sha256")}


def mark_running(root: str | os.PathLike, record: dict) -> None:
    """Before prepare changes crops: leave the running marker, then drop the old index.

    The marker holds ``record`` (how prepare was called), so that :func:`prepare_command`
    can name the command that finishes the job.
    """
    root = Path(root)
    _write_json(root / RUNNING_NAME, record)
    index_path(root).unlink(missing_ok=True)
    (root / EXTRACTION_NAME).unlink(missing_ok=True)


def write_prepared_index(df: pd.DataFrame, root: str | os.PathLike, record: dict) -> Path:
    """Write the index, then its extraction record (with the index's sha256), then clear
    the running marker: an index without a matching record is never left behind."""
    root = Path(root)
    path = write_index(df, root)
    _write_json(root / EXTRACTION_NAME, {**record, "index_sha256": file_sha256(path)})
    (root / RUNNING_NAME).unlink(missing_ok=True)
    return path


def prepare_command(faces_root: str | os.PathLike, verify: bool = True) -> str:
    """The command that (re)builds a prepared folder as its last prepare run made it.

    Args:
        faces_root: the prepared folder (prepare's ``--out``; its path as given here, so
            the command works after the folder was moved).
        verify: add ``--verify`` (decode every crop and redo videos with a broken one);
            without it, prepare redoes unfinished videos and those with a missing crop.

    Returns:
        ``python -m jdfd_lib prepare --dataset .. --root .. --out <faces_root> ..``; a
        ``python -c`` call of :func:`jdfd_lib.faces.prepare.prepare` when the settings have no
        command-line spelling; a line with placeholders when no record exists.
    """
    root = Path(faces_root)
    record = read_extraction_record(root) or _read_json(root / RUNNING_NAME)
    tail = ["--verify"] if verify else []
    if record is None or "dataset" not in record:
        return command_line("prepare", "--dataset", "DATASET", "--root", "DATASET_FOLDER",
                            "--out", str(root), *tail)
    if record.get("cli_options") is not None:
        return command_line("prepare", "--dataset", record["dataset"], "--root",
                            record["root"], "--out", str(root), *record["cli_options"], *tail)
    code = (f"from jdfd_lib.faces.crops import ExtractConfig; "
            f"from jdfd_lib.faces.prepare import prepare; prepare("
            f"{_py(record['dataset'])}, {_py(record['root'])}, {_py(str(root))}, "
            f"ExtractConfig(**{_py(record['config'])}), verify={verify}, "
            f"**{_py(record.get('options', {}))})")
    return f"python -c {shlex.quote(code)}"


def _py(value) -> str:
    """A Python literal of a JSON value, strings in double quotes (so that the shell's
    single quotes around ``python -c`` need no escaping)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)


def faces_root_of(crop: str | os.PathLike) -> Path | None:
    """The prepared folder holding a crop ``<root>/crops/<method>/<video>/<file>``."""
    parents = Path(crop).parents
    return parents[3] if len(parents) > 3 and parents[2].name == "crops" else None


def repair_hint(crop: str | os.PathLike, verify: bool) -> str:
    """``"run <the prepare command>"`` for the folder of a missing or broken crop."""
    root = faces_root_of(crop)
    if root is None:
        return "run `python -m jdfd_lib prepare` again on its folder" + (
            " with --verify" if verify else "")
    return f"run {prepare_command(root, verify=verify)}"


def _check_complete(root: Path, path: Path) -> None:
    """Refuse a folder where prepare did not finish, or an index not as prepare wrote it."""
    if (root / RUNNING_NAME).is_file():
        raise FileNotFoundError(f"{root}: prepare did not finish here (or is still running); "
                                f"run it again: {prepare_command(root, verify=False)}")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no face-crop index here; expected the output of "
            f"`python -m jdfd_lib prepare --out {root}`"
        )
    record = read_extraction_record(root)
    if record is not None and record.get("index_sha256") != file_sha256(path):
        raise UserError(
            f"{path}: not the index prepare wrote with {root / EXTRACTION_NAME} (extraction "
            f"settings {describe_settings(record)}); an edited or merged index may list crops "
            f"of other settings. Rebuild it: {prepare_command(root, verify=False)}; or, if the "
            f"edit was deliberate, delete {root / EXTRACTION_NAME}")


def read_index(root: str | os.PathLike) -> pd.DataFrame:
    """Read and validate the face-crop index of a prepared output root.

    Args:
        root: folder written by ``python -m jdfd_lib prepare``.

    Returns:
        A DataFrame with at least :data:`INDEX_COLUMNS`, plus ``abs_path`` (and
        :data:`MASK_COLUMN` as strings, "" for no mask, when the index has it).

    Raises:
        FileNotFoundError: the root or its ``index.csv`` does not exist, or prepare did not
            finish there (its message names the command that finishes it).
        ValueError: columns are missing, labels or splits have unexpected values, or the
            index differs from the one prepare wrote with ``extraction.json``.
    """
    root = Path(root)
    path = index_path(root)
    _check_complete(root, path)
    df = read_csv(path, f"the face index prepare writes (columns {', '.join(INDEX_COLUMNS)})",
                  dtype={"video": str, "identity": str, "method": str})
    missing = [c for c in INDEX_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(INDEX_COLUMNS)}")
    bad_labels = set(df["label"].unique()) - {0, 1}
    if bad_labels:
        raise ValueError(f"{path}: labels must be 0 (real) or 1 (fake), found {bad_labels}")
    bad_splits = set(df["split"].unique()) - set(SPLITS)
    if bad_splits:
        raise ValueError(f"{path}: splits must be in {SPLITS}, found {bad_splits}")
    df = df.astype(INDEX_COLUMNS)
    if MASK_COLUMN in df.columns:  # an empty cell reads back as NaN
        df[MASK_COLUMN] = df[MASK_COLUMN].astype("string").fillna("")
    df["abs_path"] = [str(root / p) for p in df["path"]]
    return df


def write_index(df: pd.DataFrame, root: str | os.PathLike) -> Path:
    """Write the index atomically (:mod:`jdfd_lib.core.atomic`), sorted for stable diffs.

    Args:
        df: rows with at least :data:`INDEX_COLUMNS`.
        root: output root; the file lands at ``root / index.csv``.

    Returns:
        The path written.
    """
    extra = [c for c in df.columns if c not in INDEX_COLUMNS and c != "abs_path"]
    out = df[list(INDEX_COLUMNS) + extra].sort_values(["dataset", "method", "video", "frame"])
    return write_csv(out, index_path(root))


def split_frames(faces_root: str | os.PathLike, test_dataset: str, split: str) -> pd.DataFrame:
    """The index rows of one split of a prepared dataset, all crop files checked to exist.

    Raises:
        FileNotFoundError: no index, or crops listed in it are missing (the message names
            the prepare command that extracts their videos again).
        ValueError: the index holds another dataset, or the split is empty.
    """
    df = read_index(faces_root)
    where = index_path(faces_root)
    others = sorted(set(df["dataset"]) - {test_dataset})
    if others:
        raise ValueError(f"{where}: expected only dataset {test_dataset!r}, found {others}")
    df = df[df["split"] == split].reset_index(drop=True)
    if df.empty:
        raise ValueError(f"{where}: no frames in split {split!r}")
    missing = df.loc[~df["abs_path"].map(os.path.isfile), "abs_path"]
    if len(missing):
        raise FileNotFoundError(f"{where}: {len(missing)} of {len(df)} {split} crops are missing, "
                                f"e.g. {missing.iloc[0]}; extract their videos again: "
                                f"{prepare_command(faces_root, verify=False)}")
    return df
