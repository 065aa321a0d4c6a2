"""The result files of ``evaluate``: their names, writing them, reading them (paper Sec. 4.3).

Per (run, test set) a metrics folder holds three files, named from the run name
(:func:`result_paths`):

- ``{run}__{test}.json``: the metrics, their bootstrap intervals and provenance (one record);
- ``{run}__{test}_scores.csv``: one row per frame (dataset, method, video, frame, label,
  score, and ``recon_error`` for JDFD);
- ``{run}__{test}_roc.csv``: ROC points (fpr, tpr, threshold) for Fig. 3.

Files for another split than "test" get ``__{split}`` appended to the stem. Each file is
written atomically and the JSON last (:func:`write_results`), so a JSON marks a complete set.

Everything that reads results (the report, the figures, the experiment grids, the notebooks)
reads them here. This module imports neither torch nor anything that does, so tables and
figures are rebuilt from the files without loading a model library.
"""

from __future__ import annotations

import json
import numbers
import os
import re
from pathlib import Path

import pandas as pd

from jdfd_lib.core.atomic import write_csv, write_json
from jdfd_lib.core.config import NAME_PATTERN, NAME_RULE
from jdfd_lib.core.paths import read_csv, read_json
from jdfd_lib.core.typed_values import matches
from jdfd_lib.datasets.splits import SPLITS

RESULT_COLUMNS = [
    "run_name", "profile", "detector", "train_dataset", "unlabeled_ratio", "seed", "test_dataset",
    "split", "frame_auc", "video_auc", "ap", "eer", "acc", "n_frames", "n_frames_real",
    "n_frames_fake", "n_videos", "n_videos_real", "n_videos_fake", "checkpoint", "json",
]
# bootstrap interval bounds (fractions) from a record's ``intervals``; NaN when absent
INTERVAL_COLUMNS = ["frame_auc_lo", "frame_auc_hi", "video_auc_lo", "video_auc_hi"]
# the fields of a run's config that every result record repeats at its top level
RUN_FIELDS = ("profile", "detector", "train_dataset", "unlabeled_ratio", "seed")
OLD_NAMES = {"detector": "variant"}  # a field's name in result files written before issue 20
# what each field of a result record may hold: run and test-set names become file names
# (read_roc, read_scores), the rest table cells and sort keys
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # TrainConfig.run_name: no '.', no '/'
_FIELD_RULES = {
    "run_name": (lambda v: isinstance(v, str) and bool(RUN_NAME.fullmatch(v)),
                 "a run name (letters, digits, _ and -)"),
    **{k: (lambda v: isinstance(v, str) and bool(NAME_PATTERN.fullmatch(v)), f"a key ({NAME_RULE})")
       for k in ("profile", "detector", "train_dataset", "test_dataset")},
    "split": (lambda v: v in SPLITS, " or ".join(SPLITS)),
    "unlabeled_ratio": (lambda v: matches(float, v) and 0 <= v <= 1, "a number in [0, 1]"),
    "seed": (lambda v: matches(int, v), "an integer"),
}


def result_paths(out_dir: str | os.PathLike, run_name: str, test_dataset: str,
                 split: str = "test") -> dict[str, Path]:
    """The ``json``, ``scores`` and ``roc`` files of one (run, test set, split).

    Raises:
        ValueError: the names would make a path leading out of ``out_dir`` (a crafted
            checkpoint's config, say).
    """
    stem = f"{run_name}__{test_dataset}" + ("" if split == "test" else f"__{split}")
    out = Path(out_dir)
    if Path(stem).name != stem or ".." in stem or not stem.strip("."):
        raise ValueError(f"{out}: refusing to write result files named {stem!r}: a run name "
                         f"and a test set name a file inside the folder, not a path")
    return {"json": out / f"{stem}.json", "scores": out / f"{stem}_scores.csv",
            "roc": out / f"{stem}_roc.csv"}


def write_results(paths: dict[str, Path], scores: pd.DataFrame, roc: pd.DataFrame,
                  record: dict) -> dict:
    """Write the scores, the ROC points, then the JSON record (last: it marks the set done).

    Args:
        paths: :func:`result_paths` of the set.
        scores: one row per frame.
        roc: ``fpr``, ``tpr``, ``threshold`` (:func:`jdfd_lib.evaluation.metrics.roc_points`).
        record: the JSON content (metrics, intervals, provenance).

    Returns:
        ``record``.
    """
    write_csv(scores, paths["scores"])
    write_csv(roc, paths["roc"])
    write_json(record, paths["json"])
    return record


def stored_result(paths: dict[str, Path]) -> dict | None:
    """The JSON record of a complete set (all three files present), else None (a file is
    missing or the JSON does not parse)."""
    if not all(p.is_file() for p in paths.values()):
        return None
    try:
        return json.loads(paths["json"].read_text())
    except ValueError:
        return None


def _row(path: Path) -> dict:
    """One row of :func:`load_results` from a result JSON."""
    rec = read_json(path, "a result file of jdfd_lib.evaluation.evaluate")
    if not isinstance(rec, dict):
        raise ValueError(f"{path}: not a result file of jdfd_lib.evaluation.evaluate")
    rec = current_names(rec)
    if not isinstance(rec.get("metrics"), dict) or "run_name" not in rec:
        raise ValueError(f"{path}: not a result file of jdfd_lib.evaluation.evaluate")
    check_record(rec, path)
    m, ci = rec["metrics"], rec.get("intervals", {})
    return {**{k: rec[k] for k in ("run_name", *RUN_FIELDS, "test_dataset", "split")},
            **{k: m[k] for k in RESULT_COLUMNS if k in m},
            **{f"{k}_{end}": ci[k][i] for k in ("frame_auc", "video_auc") if k in ci
               for i, end in enumerate(("lo", "hi"))},
            "checkpoint": rec["checkpoint"]["path"], "json": path.name}


def _number(v: object) -> bool:
    """A JSON number (NaN included: an AUC of a one-class set), not a bool or text."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_record(rec: dict, path: Path) -> None:
    """Refuse a result record whose names or numbers are not what ``evaluate`` writes.

    Raises:
        ValueError: one line naming the file and each bad field (a run name that is a path,
            a seed that is text, a metric that is no number).
    """
    bad = [f"{k} must be {rule}, got {rec.get(k)!r}" for k, (ok, rule) in _FIELD_RULES.items()
           if not ok(rec.get(k))]
    bad += [f"metrics.{k} must be a number or null, got {v!r}" for k, v in rec["metrics"].items()
            if k in RESULT_COLUMNS and v is not None and not _number(v)]
    ci = rec.get("intervals", {})
    if not isinstance(ci, dict) or not all(
            isinstance(v, list) and len(v) == 2 and all(x is None or _number(x) for x in v)
            for k, v in ci.items() if k in ("frame_auc", "video_auc")):
        bad.append("intervals must map frame_auc/video_auc to [low, high]")
    if not isinstance(rec.get("checkpoint"), dict) or not isinstance(
            rec["checkpoint"].get("path"), str):
        bad.append("checkpoint.path must be text")
    if bad:
        raise ValueError(f"{path}: not a result file of jdfd_lib.evaluation.evaluate: "
                         f"{'; '.join(bad)}")


def current_names(record: dict) -> dict:
    """A result record (or a ``metrics.json`` row) with today's field names: a file written
    before issue 20 says ``variant`` for ``detector``."""
    renamed = {new: record[old] for new, old in OLD_NAMES.items()
               if old in record and new not in record}
    return {k: v for k, v in record.items() if k not in OLD_NAMES.values()} | renamed


def load_results(out_dir: str | os.PathLike, split: str = "test") -> pd.DataFrame:
    """Read every result JSON of a folder into one tidy table (one row per run and test set).

    Args:
        out_dir: the folder ``evaluate`` wrote to.
        split: keep only results of this split.

    Returns:
        Columns :data:`RESULT_COLUMNS` then :data:`INTERVAL_COLUMNS` (the bootstrap interval
        bounds, NaN for files written before intervals were recorded); metrics as fractions,
        sorted by run and test set.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: a JSON in it is not a result file.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"{out}: no metrics folder; run `python -m jdfd_lib evaluate`")
    rows = [_row(path) for path in sorted(out.glob("*.json"))]
    df = pd.DataFrame(rows, columns=RESULT_COLUMNS + INTERVAL_COLUMNS).astype(
        {c: float for c in INTERVAL_COLUMNS})
    df = df[df["split"] == split]
    return df.sort_values(["run_name", "test_dataset"]).reset_index(drop=True)


def _read(path: Path, what: str, **options) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {what}; run `python -m jdfd_lib evaluate` "
                                f"(notebook 03) first")
    return read_csv(path, f"the {what} evaluate writes", **options)


def read_scores(out_dir: str | os.PathLike, run_name: str, test_dataset: str,
                split: str = "test") -> pd.DataFrame:
    """The per-frame scores of one (run, test set, split), video ids kept as text.

    Raises:
        FileNotFoundError: no such scores file (names the command that writes it).
    """
    path = result_paths(out_dir, run_name, test_dataset, split)["scores"]
    return _read(path, "scores", dtype={"video": str})


def read_roc(out_dir: str | os.PathLike, run_name: str, test_dataset: str,
             split: str = "test") -> pd.DataFrame:
    """The ROC points (``fpr``, ``tpr``, ``threshold``) of one (run, test set, split).

    Raises:
        FileNotFoundError: no such ROC file (names the command that writes it).
    """
    return _read(result_paths(out_dir, run_name, test_dataset, split)["roc"], "ROC points")
