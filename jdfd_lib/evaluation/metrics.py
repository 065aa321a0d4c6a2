"""Detection metrics: frame-level AUC and friends (paper Sec. 4.3, Table 2-3, Fig. 3).

The paper reports one number, the frame-level AUC (%) of the fake score, and shows ROC
curves (Fig. 3). We add video-level AUC, average precision, equal error rate and accuracy,
and, for FF++, the AUC of each manipulation method against the originals.

Conventions:

- label 0 = real, 1 = fake; the score is the fake probability ``softmax(logits)[:, 1]``.
- A video is identified by ``(dataset, method, video)``: FF++ reuses one id such as
  ``"000_003"`` under each of its four manipulations, so grouping by the id alone would merge
  four different fake videos. The video score is the mean of its frame scores.
- Degenerate input to an overall metric (empty, one class only, NaN or infinite scores,
  labels other than 0/1) raises :class:`MetricError`: an AUC of such data does not exist.
  Per-method FF++ AUCs are NaN with a ``reason`` when the split holds no fakes of that
  method or no originals, since "not measurable here" is the honest answer for one method.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score, roc_curve

from jdfd_lib.datasets.ffpp import FFPP_METHODS, FFPP_ORIGINAL

SCORE_COLUMNS = ("dataset", "method", "video", "frame", "label", "score")
VIDEO_KEYS = ["dataset", "method", "video"]  # a video's identity (FF++ ids repeat per method)
# Fake if score >= threshold. Not stated in the paper (which reports AUC only); 0.5 is the
# argmax decision of the two-class softmax.
DECISION_THRESHOLD = 0.5


class MetricError(ValueError):
    """Scores or labels from which the requested metric cannot be computed."""


def _check(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
           what: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    """Validate and return (labels int64 (N,), scores float64 (N,))."""
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise MetricError(f"{what}: expected two 1-D arrays of equal length, got shapes "
                          f"{y.shape} and {s.shape}")
    if len(y) == 0:
        raise MetricError(f"{what}: empty; no frames to evaluate")
    if not np.isfinite(s).all():
        raise MetricError(f"{what}: {int((~np.isfinite(s)).sum())} NaN or infinite scores")
    bad = set(np.unique(y).tolist()) - {0, 1}
    if bad:
        raise MetricError(f"{what}: labels must be 0 (real) or 1 (fake), found {sorted(bad)}")
    if len(np.unique(y)) < 2:
        only = "real" if y[0] == 0 else "fake"
        raise MetricError(f"{what}: only {only} samples; AUC, EER and ROC need both classes")
    return y.astype(np.int64), s


def frame_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve of per-frame fake scores (the paper's metric, as a fraction)."""
    y, s = _check(labels, scores)
    return float(roc_auc_score(y, s))


def average_precision(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Average precision with "fake" as the positive class (scikit-learn's definition)."""
    y, s = _check(labels, scores)
    return float(average_precision_score(y, s))


def accuracy(labels: Sequence[int], scores: Sequence[float],
             threshold: float = DECISION_THRESHOLD) -> float:
    """Fraction of frames classified correctly when ``score >= threshold`` means fake."""
    y, s = _check(labels, scores)
    return float(accuracy_score(y, (s >= threshold).astype(np.int64)))


def roc_points(labels: Sequence[int], scores: Sequence[float]) -> pd.DataFrame:
    """ROC curve points for plotting (Fig. 3).

    Returns:
        Columns ``fpr``, ``tpr``, ``threshold`` (scikit-learn's ``roc_curve`` with collinear
        points dropped; the first threshold is ``inf``, the point (0, 0)).
    """
    y, s = _check(labels, scores)
    fpr, tpr, thr = roc_curve(y, s)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thr})


def equal_error_rate(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Equal error rate: the error where the false positive rate equals the false negative rate.

    Rule: take every ROC point (``drop_intermediate=False``), in order of decreasing
    threshold. Along it FPR never decreases and FNR = 1 - TPR never increases, so
    ``d = FPR - FNR`` goes from -1 at (0, 0) to +1 at (1, 1). If a point has ``d == 0`` its FPR
    is the EER. Otherwise the curve crosses FPR = FNR on the straight segment between the last
    point with ``d < 0`` and the first with ``d > 0``; we interpolate linearly along that
    segment (the ROC convex-combination of the two thresholds) to where ``d = 0`` and return
    the FPR (= FNR) there.
    """
    y, s = _check(labels, scores)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    fnr = 1.0 - tpr
    d = fpr - fnr  # non-decreasing along the curve; d[0] = -1, d[-1] = +1
    i = int(np.argmax(d >= 0))
    if d[i] == 0:
        return float(fpr[i])
    t = -d[i - 1] / (d[i] - d[i - 1])  # fraction of the way from point i-1 to point i
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def _check_frame_table(scores: pd.DataFrame) -> None:
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise MetricError(f"score table: missing columns {missing}; expected {SCORE_COLUMNS}")


def video_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean frame score per video, videos keyed by (dataset, method, video).

    Args:
        scores: one row per frame with at least :data:`SCORE_COLUMNS`.

    Returns:
        One row per video: dataset, method, video, label, score (mean), n_frames.

    Raises:
        MetricError: a video has frames with different labels.
    """
    _check_frame_table(scores)
    g = scores.groupby(VIDEO_KEYS, sort=True, dropna=False)
    out = g.agg(label=("label", "first"), n_labels=("label", "nunique"),
                score=("score", "mean"), n_frames=("score", "size")).reset_index()
    mixed = out[out["n_labels"] > 1]
    if len(mixed):
        first = mixed.iloc[0]
        raise MetricError(f"video {tuple(first[VIDEO_KEYS])} has frames labelled both real "
                          f"and fake ({len(mixed)} such videos)")
    return out.drop(columns="n_labels")


def video_auc(scores: pd.DataFrame) -> float:
    """AUC of the per-video mean fake score (videos keyed by dataset, method and video)."""
    vid = video_scores(scores)
    y, s = _check(vid["label"], vid["score"], "video scores")
    return float(roc_auc_score(y, s))


def per_method(scores: pd.DataFrame, methods: Sequence[str] = FFPP_METHODS) -> pd.DataFrame:
    """FF++: each manipulation's fakes against all originals of the split.

    Args:
        scores: frame rows of one FF++ split (only ``dataset == "ffpp"`` rows are used).
        methods: manipulations to report; any other fake method present is added.

    Returns:
        One row per method: method, n_frames_fake, n_videos_fake, frame_auc, video_auc and
        ``reason`` (empty when measured; otherwise why the AUCs are NaN).
    """
    _check_frame_table(scores)
    ff = scores[scores["dataset"] == "ffpp"]
    real = ff[ff["label"] == 0]
    fakes = ff[ff["label"] == 1]
    present = [m for m in sorted(fakes["method"].unique()) if m not in methods]
    rows = []
    for method in [*methods, *present]:
        fake = fakes[fakes["method"] == method]
        row = {"method": method, "n_frames_fake": len(fake),
               "n_videos_fake": fake["video"].nunique(), "frame_auc": np.nan,
               "video_auc": np.nan, "reason": ""}
        if fake.empty:
            row["reason"] = f"no fake frames of {method} in these scores"
        elif real.empty:
            row["reason"] = f"no real ({FFPP_ORIGINAL}) frames in these scores"
        else:
            both = pd.concat([real, fake])
            row["frame_auc"] = frame_auc(both["label"], both["score"])
            row["video_auc"] = video_auc(both)
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(scores: pd.DataFrame, threshold: float = DECISION_THRESHOLD) -> dict:
    """All metrics of one scored split.

    Args:
        scores: one row per frame with columns dataset, method, video, frame, label, score.
        threshold: decision threshold of ``acc`` (fake if score >= threshold).

    Returns:
        ``frame_auc`` (the paper's metric), ``video_auc``, ``ap``, ``eer``, ``acc`` (all
        fractions in [0, 1]), ``threshold``, frame and video counts per class, and for FF++
        ``per_method``: {method: {frame_auc, video_auc, n_frames_fake, n_videos_fake, reason}}
        with NaN AUCs where a method cannot be measured.

    Raises:
        MetricError: missing columns, empty input, one class only, NaN scores, or a video
            whose frames disagree on the label.
    """
    _check_frame_table(scores)
    y, s = _check(scores["label"].to_numpy(), scores["score"].to_numpy(), "frame scores")
    vid = video_scores(scores)
    out = {
        "frame_auc": frame_auc(y, s),
        "video_auc": video_auc(scores),
        "ap": average_precision(y, s),
        "eer": equal_error_rate(y, s),
        "acc": accuracy(y, s, threshold),
        "threshold": threshold,
        "n_frames": int(len(y)),
        "n_frames_real": int((y == 0).sum()),
        "n_frames_fake": int((y == 1).sum()),
        "n_videos": int(len(vid)),
        "n_videos_real": int((vid["label"] == 0).sum()),
        "n_videos_fake": int((vid["label"] == 1).sum()),
    }
    if (scores["dataset"] == "ffpp").any():
        out["per_method"] = {r.method: _method_entry(r) for r in per_method(scores).itertuples()}
    return out


def _method_entry(row) -> dict:
    """One per-method row as plain JSON values (NaN AUC -> None, explained by ``reason``)."""
    return {"frame_auc": None if np.isnan(row.frame_auc) else float(row.frame_auc),
            "video_auc": None if np.isnan(row.video_auc) else float(row.video_auc),
            "n_frames_fake": int(row.n_frames_fake), "n_videos_fake": int(row.n_videos_fake),
            "reason": row.reason}
