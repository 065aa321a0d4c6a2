"""Uncertainty statistics (jdfd_lib.evaluation.stats) against hand-computed cases and
scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel
from sklearn.metrics import roc_auc_score

from jdfd_lib.evaluation import stats
from jdfd_lib.evaluation.metrics import MetricError

T_975_DF2 = 4.302652729911275  # Student t quantile 0.975 with 2 degrees of freedom (tables)


def _frames(videos: dict[str, tuple[int, list[float]]]) -> pd.DataFrame:
    """Score table from {video: (label, frame scores)}."""
    rows = [{"dataset": "uadfv", "method": "fake" if label else "real", "video": v, "frame": i,
             "label": label, "score": s}
            for v, (label, scores) in videos.items() for i, s in enumerate(scores)]
    return pd.DataFrame(rows)


def test_seed_mean_std_by_hand() -> None:
    assert stats.seed_mean_std([97, 98, 99]) == (98.0, 1.0, 3)
    assert stats.seed_mean_std([97.3]) == (97.3, 0.0, 1)  # one seed: no spread
    mean, std, n = stats.seed_mean_std([])
    assert np.isnan(mean) and np.isnan(std) and n == 0
    assert stats.format_mean_std(98.0, 1.0) == "98.0 ± 1.0"
    assert stats.format_mean_std(97.26, 1.23) == "97.3 ± 1.2"
    assert stats.format_mean_std(97.26, 1.23, decimals=2) == "97.26 ± 1.23"
    assert stats.format_mean_std(float("nan"), 1.0) == "-"


def test_mean_std_by_groups_in_percent() -> None:
    df = pd.DataFrame({"cell": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0],
                       "frame_auc": [0.97, 0.98, 0.99, 0.5]})
    out = stats.mean_std_by(df, ["cell"], "frame_auc")
    assert out[("a",)]["ours_mean"] == pytest.approx(98.0)
    assert out[("a",)]["ours_std"] == pytest.approx(1.0) and out[("a",)]["ours_n"] == 3
    assert out[("b",)] == {"ours_mean": 50.0, "ours_std": 0.0, "ours_n": 1}


def test_weighted_auc_by_hand_with_a_tie() -> None:
    # fakes 0.5 and 0.9 against reals 0.1 and 0.5: 1 + 0.5 (tie) + 1 + 1 = 3.5 of 4 pairs
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.5, 0.5, 0.9])
    assert stats.weighted_auc(y, s, np.ones(4)) == pytest.approx(0.875)
    # weight 2 on the tied real: pairs (0.5 fake: 1 + 2 * 0.5) + (0.9 fake: 3) = 5 of 6
    assert stats.weighted_auc(y, s, np.array([1, 2, 1, 1])) == pytest.approx(5 / 6)


def test_weighted_auc_equals_sklearn_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    s = np.round(rng.normal(0.3 * y, 1.0), 1)  # one decimal: many tied scores
    assert len(np.unique(s)) < 100
    assert stats.weighted_auc(y, s, np.ones(400)) == pytest.approx(roc_auc_score(y, s),
                                                                   abs=1e-12)
    w = rng.integers(0, 4, (6, 400))
    got = stats.weighted_auc(y, s, w)
    want = [roc_auc_score(y, s, sample_weight=row) for row in w]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_perfectly_separated_videos_give_the_interval_one_one() -> None:
    df = _frames({"r1": (0, [0.1, 0.2]), "r2": (0, [0.15, 0.3]), "r3": (0, [0.05]),
                  "f1": (1, [0.7, 0.8]), "f2": (1, [0.9, 0.95, 0.6])})
    out = stats.bootstrap_interval(df, n_boot=200)
    assert out["frame_auc"] == [1.0, 1.0] and out["video_auc"] == [1.0, 1.0]
    assert out == {"method": stats.BOOTSTRAP_METHOD, "n_boot": 200, "level": 0.95, "seed": 0,
                   "frame_auc": [1.0, 1.0], "video_auc": [1.0, 1.0]}


def test_one_video_out_of_rank_widens_the_interval_around_the_point() -> None:
    # f1 (0.5) lies below r3 (0.6): 8 of 9 (fake, real) pairs ordered, AUC 8/9
    df = _frames({"r1": (0, [0.1]), "r2": (0, [0.2]), "r3": (0, [0.6]),
                  "f1": (1, [0.5]), "f2": (1, [0.8]), "f3": (1, [0.9])})
    point = roc_auc_score(df["label"], df["score"])
    assert point == pytest.approx(8 / 9)
    out = stats.bootstrap_interval(df, n_boot=2000)
    lo, hi = out["frame_auc"]
    assert lo < point < hi
    assert hi == 1.0  # replicates without r3 or without f1 are perfectly ordered
    assert out["video_auc"] == out["frame_auc"]  # one frame per video


def test_count_matrix_is_stratified_and_frames_of_a_video_move_together() -> None:
    df = _frames({"r1": (0, [0.1, 0.7, 0.3]), "r2": (0, [0.4]), "r3": (0, [0.55, 0.2]),
                  "f1": (1, [0.5, 0.45]), "f2": (1, [0.8, 0.35, 0.9, 0.6])})
    rep = stats.bootstrap_replicates(df, n_boot=50, seed=1)
    counts, videos = rep["counts"], rep["videos"]
    assert counts.shape == (50, 5) and list(videos["video"]) == ["f1", "f2", "r1", "r2", "r3"]
    real = (videos["label"] == 0).to_numpy()
    assert (counts[:, real].sum(axis=1) == 3).all() and (counts[:, ~real].sum(axis=1) == 2).all()
    assert len({tuple(r) for r in counts}) > 10  # replicates differ
    # each replicate is exactly the data set with every drawn video's frames repeated k times
    for b in range(50):
        k = dict(zip(videos["video"], counts[b], strict=True))
        boot = df.loc[df.index.repeat(df["video"].map(k))]
        assert rep["frame_auc"][b] == pytest.approx(roc_auc_score(boot["label"], boot["score"]))
        vb = videos.loc[videos.index.repeat(counts[b])]
        assert rep["video_auc"][b] == pytest.approx(roc_auc_score(vb["label"], vb["score"]))


def test_videos_with_one_id_under_two_methods_are_two_videos() -> None:
    df = _frames({"000": (0, [0.1, 0.2]), "001": (0, [0.3])})
    fake = _frames({"000_001": (1, [0.6, 0.7])})
    both = pd.concat([df, fake.assign(method="Deepfakes"), fake.assign(method="Face2Face")])
    rep = stats.bootstrap_replicates(both, n_boot=5)
    assert rep["counts"].shape == (5, 4)


def test_bootstrap_is_deterministic_given_the_seed_and_refuses_one_class() -> None:
    rng = np.random.default_rng(0)
    df = _frames({f"v{i}": (i % 2, list(rng.random(4) + 0.2 * (i % 2))) for i in range(12)})
    a, b = stats.bootstrap_interval(df, seed=5), stats.bootstrap_interval(df, seed=5)
    assert a == b and a["frame_auc"] != stats.bootstrap_interval(df, seed=6)["frame_auc"]
    with pytest.raises(MetricError, match="real and fake"):
        stats.bootstrap_interval(df[df["label"] == 1])


def test_paired_difference_that_must_be_significant() -> None:
    a = {0: 96.0, 1: 96.5, 2: 95.5, 7: 50.0}  # seed 7 has no partner: ignored
    b = {0: 90.0, 1: 90.0, 2: 90.0}
    d = stats.paired_difference(a, b)  # differences 6, 6.5, 5.5
    assert d["seeds"] == [0, 1, 2] and d["n"] == 3
    assert d["mean"] == pytest.approx(6.0) and d["std"] == pytest.approx(0.5)
    half = T_975_DF2 * 0.5 / np.sqrt(3)
    assert (d["lo"], d["hi"]) == pytest.approx((6 - half, 6 + half))
    t = 6.0 / (0.5 / np.sqrt(3))
    assert d["p"] == pytest.approx(1 - t / np.sqrt(t * t + 2))  # two-sided p, 2 dof, closed form
    assert d["p"] == pytest.approx(ttest_rel([96, 96.5, 95.5], [90, 90, 90]).pvalue)
    assert d["significant"] and d["p"] < 0.01


def test_paired_difference_that_must_not_be_significant() -> None:
    d = stats.paired_difference({0: 83.0, 1: 78.0, 2: 81.0}, {0: 80.0, 1: 80.0, 2: 80.0})
    assert d["mean"] == pytest.approx(2 / 3)  # differences 3, -2, 1
    assert d["std"] == pytest.approx(np.sqrt(19 / 3))
    t = (2 / 3) / (np.sqrt(19 / 3) / np.sqrt(3))
    assert d["p"] == pytest.approx(1 - t / np.sqrt(t * t + 2))
    assert d["lo"] < 0 < d["hi"] and not d["significant"]


def test_paired_difference_edge_cases() -> None:
    same = stats.paired_difference({0: 1.0, 1: 2.0}, {0: 0.0, 1: 1.0})  # always +1
    assert same["p"] == 0.0 and same["significant"] and same["lo"] == same["hi"] == 1.0
    zero = stats.paired_difference({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})
    assert zero["p"] == 1.0 and not zero["significant"]
    with pytest.raises(ValueError, match="at least 2 common seeds"):
        stats.paired_difference({0: 1.0, 1: 2.0}, {1: 1.0, 2: 2.0})


def test_describe_difference_wording() -> None:
    sig = stats.paired_difference({0: 96.0, 1: 96.5, 2: 95.5}, {0: 90.0, 1: 90.0, 2: 90.0})
    assert stats.describe_difference("JDFD", "Baseline", "UADFV -> Celeb-DF", sig) == (
        "JDFD above Baseline on UADFV -> Celeb-DF by 6.0 ± 0.5 points (95% CI 4.8 to 7.2, "
        "paired t over 3 seeds, p = 0.002): significant")
    noisy = stats.paired_difference({0: 80.0, 1: 80.0, 2: 80.0}, {0: 83.0, 1: 78.0, 2: 81.0})
    assert stats.describe_difference("JDFD", "Baseline", "FF++ -> UADFV", noisy) == (
        "JDFD below Baseline on FF++ -> UADFV by 0.7 ± 2.5 points (95% CI -6.9 to 5.6, "
        "paired t over 3 seeds, p = 0.691): within noise")


def test_compare_seeds_explains_a_missing_comparison() -> None:
    one = stats.compare_seeds({0: 90.0}, {0: 80.0}, "JDFD", "Baseline", "FF++ -> FF++")
    assert one["n"] == 1 and np.isnan(one["mean"]) and not one["significant"]
    assert "needs at least 2" in one["sentence"]
    two = stats.compare_seeds({0: 90.0, 1: 91.0}, {0: 80.0, 1: 82.0}, "JDFD", "Baseline", "X")
    assert two["n"] == 2 and two["mean"] == pytest.approx(9.5)
    assert two["sentence"].startswith("JDFD above Baseline on X by 9.5 ± 0.7 points")


def test_the_replicates_in_blocks_give_exactly_the_values_of_one_block(monkeypatch) -> None:
    """weighted_auc and the bootstrap handle the (replicates x frames) weights a block of rows
    at a time, to bound their memory at the paper's size (issue 18); each row is computed
    alone, so any block size gives the same values to the bit."""
    rng = np.random.default_rng(3)
    n_videos, frames = 40, 25
    scores = pd.DataFrame({
        "dataset": "ffpp", "method": "m", "video": np.repeat([f"v{i}" for i in range(n_videos)],
                                                             frames),
        "frame": np.tile(np.arange(frames), n_videos),
        "label": np.repeat(np.arange(n_videos) % 2, frames),
        "score": np.round(rng.random(n_videos * frames), 2)})  # rounded: many ties
    whole = stats.bootstrap_replicates(scores, n_boot=64, seed=1)
    monkeypatch.setattr(stats, "ROW_BLOCK_ELEMENTS", 3 * n_videos * frames)  # 3 rows a block
    blocks = stats.bootstrap_replicates(scores, n_boot=64, seed=1)
    assert np.array_equal(whole["frame_auc"], blocks["frame_auc"])
    assert np.array_equal(whole["video_auc"], blocks["video_auc"])
    assert len(stats.weighted_auc([0, 1], [0.1, 0.2], np.zeros((0, 2)))) == 0
