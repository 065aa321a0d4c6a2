"""Trivial reference detector: tiny-pixel logistic regression gives sane, reproducible AUCs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from jdfd_lib.evaluation.metrics import SCORE_COLUMNS
from jdfd_lib.evaluation.trivial import (
    REFERENCE_COLUMNS,
    TrivialConfig,
    features,
    fit_trivial,
    reference_table,
    score_trivial,
    trivial_reference,
    trivial_scores,
)
from jdfd_lib.faces.index import write_index
from jdfd_lib.training.data import load_split


def _synthetic_root(root: Path, dataset: str, real_level: int, fake_level: int,
                    videos: int = 3, frames: int = 2, size: int = 24) -> Path:
    """A prepared root whose real crops are near ``real_level`` and fakes near ``fake_level``.

    Each crop is the level plus noise in [0, 20), so two distinct levels at least 20 apart
    make the classes separable by mean brightness; equal levels with noise 0 give identical
    crops.
    """
    rng = np.random.default_rng(0)
    noise = 20 if real_level != fake_level else 1
    rows = []
    for split in ("train", "test"):
        for label, level in ((0, real_level), (1, fake_level)):
            for v in range(videos):
                video = f"{split}_{label}_{v}"
                for f in range(frames):
                    rel = f"crops/{split}/{video}/{f:06d}.png"
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    img = level + rng.integers(0, noise, (size, size, 3))
                    cv2.imwrite(str(root / rel), img.astype(np.uint8))
                    rows.append({"dataset": dataset, "method": "real" if label == 0 else "fake",
                                 "video": video, "frame": f, "label": label, "split": split,
                                 "identity": video, "path": rel})
    write_index(pd.DataFrame(rows), root)
    return root


def test_features_shape_and_range(demo_faces: dict[str, Path]) -> None:
    rows = load_split(demo_faces["uadfv"], "test", "uadfv")
    x = features(rows["abs_path"], pixels=4)
    assert x.shape == (len(rows), 4 * 4 * 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0
    assert features([], pixels=3).shape == (0, 27)


def test_separable_crops_give_auc_one(tmp_path: Path) -> None:
    roots = {"synth": _synthetic_root(tmp_path / "synth", "synth", 30, 200)}
    table = trivial_reference(roots, ["synth"], ["synth"], TrivialConfig(pixels=2))
    assert list(table.columns) == list(REFERENCE_COLUMNS) and len(table) == 1
    row = table.iloc[0]
    assert row["frame_auc"] == 1.0 and row["video_auc"] == 1.0
    assert (row["n_frames"], row["n_videos"]) == (12, 6)


def test_identical_crops_give_auc_half(tmp_path: Path) -> None:
    root = _synthetic_root(tmp_path / "same", "same", 120, 120)
    cfg = TrivialConfig(pixels=3)
    model = fit_trivial(load_split(root, "train", "same"), cfg)
    scores = score_trivial(model, load_split(root, "test", "same"), cfg)
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert scores["score"].nunique() == 1
    table = reference_table({("same", "same"): scores})
    assert table.loc[0, "frame_auc"] == 0.5 and table.loc[0, "video_auc"] == 0.5


def test_fit_needs_both_classes(tmp_path: Path) -> None:
    root = _synthetic_root(tmp_path / "synth", "synth", 30, 200)
    real = load_split(root, "train", "synth").query("label == 0")
    with pytest.raises(ValueError, match="real .* and fake"):
        fit_trivial(real, TrivialConfig())


def test_demo_pairs_are_complete_and_deterministic(demo_faces: dict[str, Path]) -> None:
    cfg = TrivialConfig(max_frames_per_video=2)
    train, test = ["uadfv", "celebdf"], ["uadfv", "celebdf", "ffpp"]
    scores = trivial_scores(demo_faces, train, test, cfg)
    assert list(scores) == [(a, b) for a in train for b in test]
    for table in scores.values():
        assert list(table.columns) == list(SCORE_COLUMNS)
        assert table["score"].between(0, 1).all()
    table = reference_table(scores)
    assert list(table.columns) == list(REFERENCE_COLUMNS) and "scores" not in table
    assert list(zip(table["train_dataset"], table["test_dataset"], strict=True)) == list(scores)
    assert table[["frame_auc", "video_auc"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (table["n_frames"] > 0).all() and (table["n_videos"] > 0).all()
    again = trivial_reference(demo_faces, train, test, cfg)
    pd.testing.assert_frame_equal(table, again)


def test_unknown_dataset_is_refused(tmp_path: Path) -> None:
    roots = {"uadfv": _synthetic_root(tmp_path / "uadfv", "uadfv", 30, 200)}
    with pytest.raises(KeyError, match="no prepared root"):
        trivial_scores(roots, ["dfdc"], ["uadfv"])


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"pixels": 0}, "pixels"), ({"C": 0.0}, "C"), ({"C": -1.0}, "C"),
    ({"max_iter": 0}, "max_iter"), ({"max_frames_per_video": 0}, "max_frames_per_video"),
])
def test_config_validation_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"TrivialConfig\.{field} "):
        TrivialConfig(**kwargs)
