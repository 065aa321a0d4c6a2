"""A trivial reference detector: logistic regression on face crops shrunk to a few pixels.

Why: a CNN's AUC on a small or synthetic task only means something if the task is not
already solved by a model that cannot see any manipulation artefact. This reference reduces
each crop to ``pixels x pixels`` RGB values (area interpolation, 8 x 8 by default: colour
and coarse layout only, no texture), standardises them and fits an L2-regularised,
class-balanced logistic regression on a dataset's train split. If it already reaches an
AUC near the CNN's, the CNN numbers say little about deepfake detection on that data.

Use :func:`trivial_scores` for the per-frame score tables (what a bootstrap interval
needs), :func:`reference_table` to summarise them, or :func:`trivial_reference` for both
steps at once. Everything is deterministic: same crops and config, same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from jdfd_lib.evaluation.metrics import SCORE_COLUMNS, summarize
from jdfd_lib.training.data import load_split, read_crop

REFERENCE_COLUMNS = ("train_dataset", "test_dataset", "frame_auc", "video_auc", "n_frames",
                     "n_videos")
SEED = 0  # random_state of the logistic regression (lbfgs is deterministic anyway)


@dataclass(frozen=True)
class TrivialConfig:
    """Settings of the trivial reference.

    Attributes:
        pixels: side the crop is reduced to (cv2.INTER_AREA); ``pixels * pixels * 3`` features.
        C: inverse L2 regularisation strength of the logistic regression.
        max_iter: iteration cap of the lbfgs solver.
        max_frames_per_video: crops kept per video in every split (None: all), see
            :func:`jdfd_lib.training.data.cap_frames`.
    """

    pixels: int = 8
    C: float = 1.0
    max_iter: int = 2000
    max_frames_per_video: int | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.pixels >= 1, "pixels", f"must be >= 1, got {self.pixels}"),
            (self.C > 0, "C", f"must be > 0, got {self.C}"),
            (self.max_iter >= 1, "max_iter", f"must be >= 1, got {self.max_iter}"),
            (self.max_frames_per_video is None or self.max_frames_per_video >= 1,
             "max_frames_per_video", f"must be None or >= 1, got {self.max_frames_per_video}"),
        ]
        for ok, field, why in checks:
            if not ok:
                raise ValueError(f"TrivialConfig.{field} {why}")


def features(paths: Iterable[str | os.PathLike], pixels: int = 8) -> np.ndarray:
    """Crops shrunk to ``pixels x pixels`` with area interpolation, flattened.

    Args:
        paths: face-crop image files.
        pixels: side of the reduced crop.

    Returns:
        (N, pixels * pixels * 3) float32 RGB values in [0, 1].
    """
    size = pixels * pixels * 3
    rows = [cv2.resize(read_crop(p), (pixels, pixels), interpolation=cv2.INTER_AREA)
            .reshape(size) for p in paths]  # each (pixels, pixels, 3) uint8 -> (size,)
    if not rows:
        return np.zeros((0, size), np.float32)
    return np.stack(rows).astype(np.float32) / 255.0


def fit_trivial(train_rows: pd.DataFrame, cfg: TrivialConfig = TrivialConfig()) -> Pipeline:
    """Fit StandardScaler + class-balanced logistic regression on index rows.

    Args:
        train_rows: index rows with ``abs_path`` and ``label`` (0 real, 1 fake).
        cfg: settings.

    Raises:
        ValueError: the rows do not hold both classes.
    """
    labels = train_rows["label"].to_numpy(np.int64)
    if set(np.unique(labels).tolist()) != {0, 1}:
        raise ValueError(f"trivial reference: training rows need real (0) and fake (1) crops, "
                         f"found labels {sorted(set(labels.tolist()))}")
    model = make_pipeline(StandardScaler(), LogisticRegression(
        C=cfg.C, max_iter=cfg.max_iter, class_weight="balanced", random_state=SEED))
    return model.fit(features(train_rows["abs_path"], cfg.pixels), labels)


def score_trivial(model: Pipeline, rows: pd.DataFrame,
                  cfg: TrivialConfig = TrivialConfig(), x: np.ndarray | None = None
                  ) -> pd.DataFrame:
    """Fake probability of every row, as a score table for :mod:`jdfd_lib.evaluation.metrics`.

    Args:
        model: from :func:`fit_trivial`.
        rows: index rows with :data:`SCORE_COLUMNS` except ``score``, and ``abs_path``.
        cfg: settings (must match the model's ``pixels``).
        x: precomputed :func:`features` of ``rows`` (skips reading the crops again).

    Returns:
        One row per input row, columns :data:`SCORE_COLUMNS`; ``score`` = P(fake).
    """
    x = features(rows["abs_path"], cfg.pixels) if x is None else x
    fake = list(model.classes_).index(1)
    out = rows[list(SCORE_COLUMNS[:-1])].reset_index(drop=True).copy()
    out["score"] = model.predict_proba(x)[:, fake].astype(np.float64)
    return out


def trivial_scores(faces_roots: Mapping[str, str | os.PathLike], train_sets: Sequence[str],
                   test_sets: Sequence[str], cfg: TrivialConfig = TrivialConfig()
                   ) -> dict[tuple[str, str], pd.DataFrame]:
    """Fit on each train set's train split, score each test set's test split.

    Args:
        faces_roots: dataset key -> prepared root (holding ``index.csv``).
        train_sets: dataset keys to train on.
        test_sets: dataset keys to test on.
        cfg: settings.

    Returns:
        {(train_dataset, test_dataset): score table with :data:`SCORE_COLUMNS`}, in the
        order train sets x test sets.

    Raises:
        KeyError: a dataset has no entry in ``faces_roots``.
    """
    missing = [d for d in [*train_sets, *test_sets] if d not in faces_roots]
    if missing:
        raise KeyError(f"trivial reference: no prepared root given for {missing}")
    tests = {}  # features of each test split, computed once
    for name in dict.fromkeys(test_sets):
        rows = load_split(faces_roots[name], "test", name, cfg.max_frames_per_video)
        tests[name] = (rows, features(rows["abs_path"], cfg.pixels))
    out = {}
    for train in train_sets:
        rows = load_split(faces_roots[train], "train", train, cfg.max_frames_per_video)
        model = fit_trivial(rows, cfg)
        for test in test_sets:
            test_rows, x = tests[test]
            out[(train, test)] = score_trivial(model, test_rows, cfg, x)
    return out


def reference_table(scores: Mapping[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """One row per (train, test) pair: the AUCs and sizes from :func:`metrics.summarize`.

    Returns:
        Columns :data:`REFERENCE_COLUMNS`; AUCs are fractions in [0, 1].
    """
    rows = []
    for (train, test), table in scores.items():
        s = summarize(table)
        rows.append({"train_dataset": train, "test_dataset": test,
                     "frame_auc": s["frame_auc"], "video_auc": s["video_auc"],
                     "n_frames": s["n_frames"], "n_videos": s["n_videos"]})
    return pd.DataFrame(rows, columns=list(REFERENCE_COLUMNS))


def trivial_reference(faces_roots: Mapping[str, str | os.PathLike], train_sets: Sequence[str],
                      test_sets: Sequence[str], cfg: TrivialConfig = TrivialConfig()
                      ) -> pd.DataFrame:
    """The trivial reference's AUCs for every (train, test) pair.

    Same as ``reference_table(trivial_scores(...))``; call those two yourself to keep the
    per-frame score tables (e.g. for a bootstrap interval) without fitting twice.

    Returns:
        Columns :data:`REFERENCE_COLUMNS`, one row per (train, test), train-major order.
    """
    return reference_table(trivial_scores(faces_roots, train_sets, test_sets, cfg))


def reference_with_intervals(faces_root: str | os.PathLike, train_sets: Sequence[str],
                             test_sets: Sequence[str], cfg: TrivialConfig = TrivialConfig(),
                             ) -> pd.DataFrame:
    """The trivial detector's frame AUC (%) per (train, test) with a 95 % bootstrap interval
    over test videos (:func:`jdfd_lib.evaluation.stats.bootstrap_interval`), for display.

    Args:
        faces_root: folder holding one prepared folder per dataset key.
        train_sets: dataset keys to fit on (their train split).
        test_sets: dataset keys to score (their test split).
        cfg: the trivial detector's settings.

    Returns:
        Columns train_dataset, test_dataset, frame_auc, ci_low, ci_high (percent, one
        decimal), n_videos.
    """
    from jdfd_lib.evaluation.stats import bootstrap_interval

    roots = {name: os.path.join(faces_root, name) for name in {*train_sets, *test_sets}}
    scores = trivial_scores(roots, train_sets, test_sets, cfg)
    table = reference_table(scores)
    ci = [bootstrap_interval(scores[(r.train_dataset, r.test_dataset)])["frame_auc"]
          for r in table.itertuples()]
    out = table[["train_dataset", "test_dataset"]].copy()
    out["frame_auc"] = (100 * table["frame_auc"]).round(1)
    out["ci_low"] = [round(100 * lo, 1) for lo, _ in ci]
    out["ci_high"] = [round(100 * hi, 1) for _, hi in ci]
    out["n_videos"] = table["n_videos"]
    return out
