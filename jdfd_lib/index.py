"""The face-crop index: one row per aligned face crop (paper Sec. 3.1 output).

``python -m jdfd_lib prepare`` writes ``index.csv`` in its output root; training,
evaluation and the notebooks read it back through :func:`read_index`. Paths in the
index are relative to that root so that a prepared folder can be moved as a whole.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

INDEX_NAME = "index.csv"

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
SPLITS = ("train", "val", "test")


def index_path(root: str | os.PathLike) -> Path:
    """Return the path of the index file inside a prepared output root."""
    return Path(root) / INDEX_NAME


def read_index(root: str | os.PathLike) -> pd.DataFrame:
    """Read and validate the face-crop index of a prepared output root.

    Args:
        root: folder written by ``python -m jdfd_lib prepare``.

    Returns:
        A DataFrame with at least :data:`INDEX_COLUMNS`, plus ``abs_path``.

    Raises:
        FileNotFoundError: the root or its ``index.csv`` does not exist.
        ValueError: columns are missing, labels or splits have unexpected values.
    """
    root = Path(root)
    path = index_path(root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no face-crop index here; expected the output of "
            f"`python -m jdfd_lib prepare --out {root}`"
        )
    df = pd.read_csv(path, dtype={"video": str, "identity": str, "method": str})
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
    df["abs_path"] = [str(root / p) for p in df["path"]]
    return df


def write_index(df: pd.DataFrame, root: str | os.PathLike) -> Path:
    """Write the index atomically (temp file + rename), sorted for stable diffs.

    Args:
        df: rows with at least :data:`INDEX_COLUMNS`.
        root: output root; the file lands at ``root / index.csv``.

    Returns:
        The path written.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    extra = [c for c in df.columns if c not in INDEX_COLUMNS and c != "abs_path"]
    out = df[list(INDEX_COLUMNS) + extra].sort_values(["dataset", "method", "video", "frame"])
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".index-", suffix=".csv")
    os.close(fd)
    out.to_csv(tmp, index=False)
    os.replace(tmp, index_path(root))
    return index_path(root)
