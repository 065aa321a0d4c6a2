"""Metrics against scikit-learn and hand-computed cases (paper Sec. 4.3: frame-level AUC)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from jdfd_lib.evaluation import metrics


def _random(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * (2 * y - 1))))
    return y, s


def _frames(rows: list[tuple[str, str, str, int, list[float]]]) -> pd.DataFrame:
    """(dataset, method, video, label, frame scores) -> one row per frame."""
    out = [{"dataset": d, "method": m, "video": v, "frame": f, "label": lab, "score": s}
           for d, m, v, lab, scores in rows for f, s in enumerate(scores)]
    return pd.DataFrame(out)


def test_frame_metrics_match_sklearn() -> None:
    y, s = _random()
    assert metrics.frame_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert metrics.average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    assert metrics.accuracy(y, s) == pytest.approx(np.mean((s >= 0.5) == y))
    roc = metrics.roc_points(y, s)
    fpr, tpr, thr = roc_curve(y, s)
    np.testing.assert_allclose(roc["fpr"], fpr)
    np.testing.assert_allclose(roc["tpr"], tpr)
    np.testing.assert_allclose(roc["threshold"], thr)


def test_accuracy_hand_case_and_threshold() -> None:
    y = [0, 0, 1, 1]
    s = [0.1, 0.5, 0.49, 0.9]  # 0.5 counts as fake (score >= threshold)
    assert metrics.accuracy(y, s) == pytest.approx(0.5)
    assert metrics.accuracy(y, s, threshold=0.45) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("labels", "scores", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.0),  # perfectly separable
        ([0, 0, 1, 1], [0.8, 0.9, 0.1, 0.2], 1.0),  # perfectly inverted: FPR = FNR = 1
        ([0, 1], [0.5, 0.5], 0.5),  # one tie: the ROC is the diagonal
        # ROC points (FPR, FNR): (0,1) (0,.5) (1/3,.5) (1/3,0) (2/3,0) (1,0): the crossing lies
        # on the vertical segment from (1/3, .5) to (1/3, 0), where FNR passes 1/3.
        ([0, 0, 0, 1, 1], [0.1, 0.2, 0.7, 0.5, 0.9], 1 / 3),
        # (0,1) (0,2/3) (1,0): on the diagonal segment FPR = t, FNR = 2/3 (1 - t) -> t = 0.4
        ([0, 1, 1, 1], [0.5, 0.5, 0.5, 0.9], 0.4),
    ],
)
def test_eer_hand_cases(labels: list[int], scores: list[float], expected: float) -> None:
    assert metrics.equal_error_rate(labels, scores) == pytest.approx(expected)


def test_eer_agrees_with_a_fine_threshold_sweep() -> None:
    y, s = _random(n=3000, seed=1)
    thr = np.unique(s)
    fpr = np.array([np.mean(s[y == 0] >= t) for t in thr])
    fnr = np.array([np.mean(s[y == 1] < t) for t in thr])
    swept = np.min(np.maximum(fpr, fnr))  # best achievable max error over real thresholds
    eer = metrics.equal_error_rate(y, s)
    assert eer <= swept + 1e-12
    assert swept - eer < 2 / min(np.sum(y == 0), np.sum(y == 1))


def test_video_grouping_keeps_ffpp_methods_apart() -> None:
    # FF++ reuses "000_003" under each manipulation: these are two different fake videos.
    scores = _frames([
        ("ffpp", "original", "000", 0, [0.2, 0.2]),
        ("ffpp", "original", "001", 0, [0.6, 0.6]),
        ("ffpp", "Deepfakes", "000_003", 1, [0.9, 0.9]),
        ("ffpp", "Face2Face", "000_003", 1, [0.5, 0.5]),
    ])
    vid = metrics.video_scores(scores)
    assert len(vid) == 4
    kept = roc_auc_score([0, 0, 1, 1], [0.2, 0.6, 0.9, 0.5])  # = 0.75
    merged = roc_auc_score([0, 0, 1], [0.2, 0.6, 0.7])  # grouping by id alone: = 1.0
    assert kept != merged
    assert metrics.video_auc(scores) == pytest.approx(kept)


def test_per_method_and_its_nan_with_reason() -> None:
    scores = _frames([
        ("ffpp", "original", "000", 0, [0.2, 0.3]),
        ("ffpp", "original", "001", 0, [0.6, 0.7]),
        ("ffpp", "Deepfakes", "000_003", 1, [0.9, 0.8]),
        ("ffpp", "Face2Face", "000_003", 1, [0.5, 0.4]),
    ])
    table = metrics.per_method(scores).set_index("method")
    assert table.loc["Deepfakes", "frame_auc"] == pytest.approx(1.0)
    f2f = roc_auc_score([0, 0, 0, 0, 1, 1], [0.2, 0.3, 0.6, 0.7, 0.5, 0.4])
    assert table.loc["Face2Face", "frame_auc"] == pytest.approx(f2f)
    assert table.loc["Face2Face", "video_auc"] == pytest.approx(0.5)  # 0.45 vs 0.25 and 0.65
    assert np.isnan(table.loc["FaceSwap", "frame_auc"])
    assert "no fake frames of FaceSwap" in table.loc["FaceSwap", "reason"]
    no_real = metrics.per_method(scores[scores["label"] == 1]).set_index("method")
    assert "no real" in no_real.loc["Deepfakes", "reason"]


def test_summarize_matches_sklearn_and_counts() -> None:
    y, s = _random(n=120, seed=2)
    df = pd.DataFrame({"dataset": "ffpp", "method": np.where(y == 1, "Deepfakes", "original"),
                       "video": [f"{i // 6:03d}" for i in range(len(y))], "frame": 0,
                       "label": y, "score": s})
    df["video"] = df["video"] + df["label"].astype(str)  # a video holds one class only
    out = metrics.summarize(df)
    assert out["frame_auc"] == pytest.approx(roc_auc_score(y, s))
    assert out["ap"] == pytest.approx(average_precision_score(y, s))
    vid = df.groupby(["method", "video"]).agg(label=("label", "first"), score=("score", "mean"))
    assert out["video_auc"] == pytest.approx(roc_auc_score(vid["label"], vid["score"]))
    assert out["n_frames"] == 120 and out["n_frames_fake"] == int(y.sum())
    assert out["n_videos"] == len(vid) == out["n_videos_real"] + out["n_videos_fake"]
    assert out["per_method"]["Deepfakes"]["frame_auc"] == pytest.approx(out["frame_auc"])
    assert out["per_method"]["FaceSwap"]["frame_auc"] is None
    assert "per_method" not in metrics.summarize(df.assign(dataset="uadfv"))


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([], [], "empty"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "only real"),
        ([1, 1], [0.1, 0.2], "only fake"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "labels must be 0"),
        ([0, 1], [0.1], "equal length"),
    ],
)
def test_degenerate_input_is_refused(labels: list, scores: list, message: str) -> None:
    for fn in (metrics.frame_auc, metrics.equal_error_rate, metrics.average_precision,
               metrics.accuracy, metrics.roc_points):
        with pytest.raises(metrics.MetricError, match=message):
            fn(labels, scores)


def test_bad_score_tables_are_refused() -> None:
    with pytest.raises(metrics.MetricError, match="missing columns"):
        metrics.summarize(pd.DataFrame({"label": [0, 1], "score": [0.1, 0.9]}))
    mixed = _frames([("uadfv", "real", "a", 0, [0.1]), ("uadfv", "real", "a", 1, [0.9])])
    with pytest.raises(metrics.MetricError, match="both real and fake"):
        metrics.video_auc(mixed)
