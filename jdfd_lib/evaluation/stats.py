"""Uncertainty of our results: spread over training seeds and over test videos.

The paper (Sec. 4.3-4.4, Tables 2-3, Fig. 4) prints single AUC values without any error
estimate. This module adds the two sources of uncertainty a reproduction has to state:

- **Training seeds**: every cell of our tables is the mean ± sample standard deviation over
  the seeds trained (:func:`seed_mean_std`, :func:`format_mean_std`); two settings are
  compared by a paired t test over the seeds they share (:func:`paired_difference`,
  :func:`describe_difference`).
- **Test sampling**: for one trained model, a percentile bootstrap over the test *videos*
  (frames of a video are not independent), stratified by class
  (:func:`bootstrap_interval`). It is vectorised: all replicates come from one sort of the
  scores (:func:`weighted_auc`), with exactly scikit-learn's treatment of tied scores.

Only numpy, scipy and pandas (no torch), so the report can use it without the model stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from jdfd_lib.evaluation.metrics import VIDEO_KEYS, MetricError, video_scores

BOOTSTRAP_METHOD = "percentile bootstrap over test videos, stratified by class"


def seed_mean_std(values: Sequence[float] | np.ndarray) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof=1) and count of per-seed values.

    Args:
        values: one value per training seed (NaN values are ignored).

    Returns:
        ``(mean, std, n)``; ``std`` is 0.0 for a single value; ``(nan, nan, 0)`` if empty.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return float("nan"), float("nan"), 0
    std = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    return float(np.mean(x)), std, int(len(x))


def format_mean_std(mean: float, std: float, decimals: int = 1) -> str:
    """``"97.3 ± 1.2"`` (values already in the unit to print, e.g. AUC in %); "-" if NaN."""
    if mean is None or np.isnan(mean):
        return "-"
    std = 0.0 if std is None or np.isnan(std) else std
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def mean_std_by(table: pd.DataFrame, keys: list[str], value: str, prefix: str = "ours",
                scale: float = 100.0) -> dict[tuple, dict]:
    """:func:`seed_mean_std` of ``scale * value`` per group (one row per seed in a group).

    Returns:
        (group key tuple) -> ``{prefix_mean, prefix_std, prefix_n}``.
    """
    out = {}
    for key, grp in table.groupby(keys, sort=False):
        mean, std, n = seed_mean_std(scale * grp[value].to_numpy(dtype=np.float64))
        out[key] = {f"{prefix}_mean": mean, f"{prefix}_std": std, f"{prefix}_n": n}
    return out


def empty_mean_std(prefix: str = "ours") -> dict:
    """The :func:`mean_std_by` entry of a group without results (NaN, n = 0)."""
    return {f"{prefix}_mean": np.nan, f"{prefix}_std": np.nan, f"{prefix}_n": 0}


def weighted_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC under many weightings of the same samples at once.

    ``AUC = sum_p w_p * (W_neg(score < s_p) + 0.5 * W_neg(score == s_p)) / (W_pos * W_neg)``:
    a tied (positive, negative) pair counts one half, as in ``sklearn.metrics.roc_auc_score``
    (whose ``sample_weight`` it reproduces for every row of ``weights``).

    Args:
        labels: (N,) 0/1, 1 = positive (fake).
        scores: (N,) finite scores.
        weights: (B, N) or (N,) non-negative sample weights, one row per replicate.

    Returns:
        (B,) AUCs (a 0-d array for 1-D ``weights``); NaN where a class has zero weight.
    """
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    w = np.asarray(weights)
    one = w.ndim == 1
    w = np.atleast_2d(w)
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    # a few (rows, N) temporaries per row block: blocks of ROW_BLOCK_ELEMENTS keep the memory
    # of 1000 replicates of a 53k-frame test set near 0.3 GB instead of 3.6 GB (BENCHMARKS.md,
    # scale); each row is computed alone, so the blocks change no value
    rows = max(1, ROW_BLOCK_ELEMENTS // max(len(s), 1))
    auc = np.concatenate([_sorted_weighted_auc(y, s, w[i:i + rows][:, order].astype(np.float64))
                          for i in range(0, len(w), rows)] or [np.zeros(0)])
    return auc[0] if one else auc


ROW_BLOCK_ELEMENTS = 4_000_000  # weights handled at once by weighted_auc (32 MB of float64)


def _sorted_weighted_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:func:`weighted_auc` of samples sorted by score: ``y`` (N,) bool, ``s`` (N,) sorted,
    ``w`` (B, N) weights in the same order; returns (B,) AUCs."""
    # tie groups of the sorted scores: first and one-past-last position of each group
    new = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(new) - 1  # (N,) group of each sorted sample
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(s)]
    neg = np.cumsum(w * ~y, axis=1)  # (B, N) negative weight up to and including i
    neg0 = np.concatenate([np.zeros((len(w), 1)), neg], axis=1)  # (B, N + 1), neg0[:, 0] = 0
    below = neg0[:, starts]  # (B, G) negative weight strictly below each group
    tied = neg0[:, ends] - below  # (B, G) negative weight inside each group
    credit = below[:, group] + 0.5 * tied[:, group]  # (B, N)
    w_pos = (w * y).sum(axis=1)
    w_neg = neg0[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * y * credit).sum(axis=1) / (w_pos * w_neg)


def video_counts(video_labels: np.ndarray, n_boot: int, rng: np.random.Generator
                 ) -> np.ndarray:
    """How often each video is drawn in each replicate of a class-stratified bootstrap.

    Args:
        video_labels: (V,) 0/1 label of each video.
        n_boot: number of replicates B.
        rng: the random generator.

    Returns:
        (B, V) int counts; each row draws as many real (fake) videos, with replacement,
        among the real (fake) videos as there are, so row sums per class are fixed.
    """
    labels = np.asarray(video_labels)
    counts = np.zeros((n_boot, len(labels)), dtype=np.int64)
    for cls in (0, 1):
        members = np.flatnonzero(labels == cls)
        k = len(members)
        if k == 0:
            continue
        draws = rng.integers(0, k, size=(n_boot, k))
        flat = (draws + k * np.arange(n_boot)[:, None]).ravel()
        counts[:, members] = np.bincount(flat, minlength=n_boot * k).reshape(n_boot, k)
    return counts


def bootstrap_replicates(scores: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """The replicates behind :func:`bootstrap_interval`.

    Args:
        scores: one row per frame with dataset, method, video, frame, label, score.
        n_boot: number of replicates.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        ``videos`` (one row per video, :func:`jdfd_lib.evaluation.metrics.video_scores`, in
        the column order of ``counts``), ``counts`` (B, V), ``frame_auc`` (B,) and ``video_auc``
        (B,). All frames of a video carry its count as weight: they are drawn together.

    Raises:
        MetricError: missing columns, a video with mixed labels, or a class without videos.
    """
    videos = video_scores(scores)  # validates the columns and the labels of each video
    if videos["label"].nunique() < 2:
        raise MetricError("bootstrap: needs real and fake videos")
    vid = scores.groupby(VIDEO_KEYS, sort=True, dropna=False).ngroup().to_numpy()
    counts = video_counts(videos["label"].to_numpy(), n_boot, np.random.default_rng(seed))
    rows = max(1, ROW_BLOCK_ELEMENTS // max(len(vid), 1))  # (rows, frames) weights at a time
    frame = np.concatenate([weighted_auc(scores["label"].to_numpy(), scores["score"].to_numpy(),
                                         counts[i:i + rows][:, vid])
                            for i in range(0, n_boot, rows)] or [np.zeros(0)])
    video = weighted_auc(videos["label"].to_numpy(), videos["score"].to_numpy(), counts)
    return {"videos": videos, "counts": counts, "frame_auc": frame, "video_auc": video}


def bootstrap_interval(scores: pd.DataFrame, n_boot: int = 1000, level: float = 0.95,
                       seed: int = 0) -> dict:
    """Percentile bootstrap interval of frame and video AUC over the test videos.

    Videos (keyed by :data:`jdfd_lib.evaluation.metrics.VIDEO_KEYS`) are resampled with replacement,
    real among real and fake among fake; a video drawn k times weighs k (all its frames).

    Args:
        scores: one row per frame with dataset, method, video, frame, label, score.
        n_boot: number of replicates.
        level: coverage of the interval.
        seed: seed of the resampling (the result is deterministic given it).

    Returns:
        ``{"method", "n_boot", "level", "seed", "frame_auc": [lo, hi], "video_auc": [lo, hi]}``
        with AUCs as fractions.
    """
    rep = bootstrap_replicates(scores, n_boot, seed)
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    out = {"method": BOOTSTRAP_METHOD, "n_boot": int(n_boot), "level": float(level),
           "seed": int(seed)}
    for key in ("frame_auc", "video_auc"):
        out[key] = [float(v) for v in np.quantile(rep[key], q)]
    return out


def paired_difference(a_by_seed: Mapping[int, float], b_by_seed: Mapping[int, float],
                      level: float = 0.95) -> dict:
    """Paired comparison of two settings over the training seeds they share.

    Args:
        a_by_seed: seed -> value of setting a (e.g. JDFD's AUC in %).
        b_by_seed: seed -> value of setting b (e.g. the baseline's).
        level: coverage of the t interval.

    Returns:
        ``seeds`` (the common seeds), ``mean``, ``std`` (ddof=1), ``n`` of ``a - b``,
        ``lo``/``hi`` (Student t interval of the mean difference), ``p`` (two-sided paired t
        test; 0 when all differences are equal and nonzero, 1 when all are zero), ``level``
        and ``significant`` (the interval excludes 0).

    Raises:
        ValueError: fewer than 2 common seeds.
    """
    seeds = sorted(set(a_by_seed) & set(b_by_seed))
    if len(seeds) < 2:
        raise ValueError(f"a paired comparison needs at least 2 common seeds, got {seeds}")
    d = np.array([a_by_seed[s] - b_by_seed[s] for s in seeds], dtype=np.float64)
    n = len(d)
    mean, std = float(d.mean()), float(d.std(ddof=1))
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * std / np.sqrt(n)
    if std == 0:
        p = 1.0 if mean == 0 else 0.0
    else:
        p = float(2 * sps.t.sf(abs(mean) / (std / np.sqrt(n)), n - 1))
    lo, hi = mean - half, mean + half
    return {"seeds": seeds, "mean": mean, "std": std, "n": n, "lo": lo, "hi": hi, "p": p,
            "level": float(level), "significant": bool(lo > 0 or hi < 0)}


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def describe_difference(a_name: str, b_name: str, where: str, diff: dict,
                        unit: str = "points") -> str:
    """One sentence stating a :func:`paired_difference` (values in the caller's unit).

    Example: ``"JDFD above Baseline on UADFV -> Celeb-DF by 6.1 ± 2.0 points (95% CI 1.2 to
    11.0, paired t over 3 seeds, p = 0.030): significant"``.
    """
    mean, std = diff["mean"], diff["std"]
    if mean == 0:
        head = f"{a_name} level with {b_name} on {where}, difference 0.0 ± {std:.1f} {unit}"
    else:
        direction = "above" if mean > 0 else "below"
        head = f"{a_name} {direction} {b_name} on {where} by {abs(mean):.1f} ± {std:.1f} {unit}"
    level = f"{100 * diff.get('level', 0.95):g}%"
    verdict = "significant" if diff["significant"] else "within noise"
    return (f"{head} ({level} CI {diff['lo']:.1f} to {diff['hi']:.1f}, paired t over "
            f"{diff['n']} seeds, {_p_text(diff['p'])}): {verdict}")


def compare_seeds(a_by_seed: Mapping[int, float], b_by_seed: Mapping[int, float], a_name: str,
                  b_name: str, where: str) -> dict:
    """:func:`paired_difference` and its sentence, or NaNs and why when it cannot be made.

    Returns:
        ``mean``, ``std``, ``n``, ``lo``, ``hi``, ``p``, ``significant`` and ``sentence``;
        with fewer than 2 common seeds the numbers are NaN, ``n`` is the common count,
        ``significant`` False and the sentence says a comparison needs at least 2 seeds.
    """
    common = len(set(a_by_seed) & set(b_by_seed))
    if common < 2:
        return {**dict.fromkeys(["mean", "std"], np.nan), "n": common,
                **dict.fromkeys(["lo", "hi", "p"], np.nan), "significant": False,
                "sentence": f"{a_name} vs {b_name} on {where}: not compared, {common} common "
                            f"seed{'' if common == 1 else 's'} (a comparison needs at least 2)"}
    diff = paired_difference(a_by_seed, b_by_seed)
    keep = ("mean", "std", "n", "lo", "hi", "p", "significant")
    return {**{k: diff[k] for k in keep},
            "sentence": describe_difference(a_name, b_name, where, diff)}
