"""The exploration figures work with any registered detector: reconstruction rows only for a
detector that reconstructs, its interpretation map when it has one (LAE), and the forgery mask
crop when a shown frame has one (browse.mistake_figure, face_views, mask_crops)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from jdfd_lib.detectors.registry import create_detector, detector_config
from jdfd_lib.experiments import browse
from jdfd_lib.faces.index import read_index

SIZE = 32  # synthetic crop and network side
# small networks of each detector's demo recipe at 32 px
SMALL = {"jdfd": {"decoder_channels": (32, 16, 8), "classifier_hidden": (16,)},
         "baseline": {"classifier_hidden": (16,)}, "lae": {}, "exposing": {}}
RECON = ["input", "reconstruction", "error"]


def _cfg(detector: str):
    return detector_config("demo", detector=detector, image_size=SIZE, **SMALL[detector])


def _model(detector: str):
    torch.manual_seed(0)
    return create_detector(_cfg(detector))


def _worst(root: Path) -> pd.DataFrame:
    """One real and one fake test video, each by its worst frame, as the notebook lists them."""
    test = read_index(root).query("split == 'test'")
    scores = test[["dataset", "method", "video", "frame", "label"]].assign(
        score=np.linspace(0.1, 0.9, len(test)))
    return browse.worst_mistakes(scores, 1)


def _grid(fig) -> list:
    """The face axes of a plot.face_rows figure, row by row (not its colour bars)."""
    return [ax for ax in fig.axes if ax.get_subplotspec() is not None]


def _rows(fig) -> list[str]:
    """The row names of a plot.face_rows figure (the y labels of its first column)."""
    return [ax.get_ylabel() for ax in _grid(fig) if ax.get_subplotspec().is_first_col()]


def _cell(fig, row: int, col: int, ncols: int) -> np.ndarray:
    return np.asarray(_grid(fig)[row * ncols + col].images[0].get_array())


@pytest.fixture
def masked(tmp_path: Path, synthetic_faces) -> Path:
    """Synthetic FF++-like crops whose fakes have forgery masks (the central square)."""
    return synthetic_faces(tmp_path / "ffpp", "ffpp", videos=(1, 1, 2), frames=2, masks=True)


@pytest.fixture
def unmasked(tmp_path: Path, synthetic_faces) -> Path:
    """The same kind of crops without any mask (as Celeb-DF or UADFV are prepared)."""
    return synthetic_faces(tmp_path / "celebdf", "celebdf", videos=(1, 1, 2), frames=2)


@pytest.mark.parametrize(("detector", "expected"), [
    ("jdfd", [*RECON, "forgery mask"]),
    ("baseline", ["input", "forgery mask"]),  # no decoder: no reconstruction rows
    ("lae", [*RECON, "interpretation", "forgery mask"]),  # interpretation beside the mask
    ("exposing", ["input", "forgery mask"]),
])
def test_mistake_figure_rows_follow_the_detector(detector, expected, masked) -> None:
    import matplotlib.pyplot as plt

    fig = browse.mistake_figure(_worst(masked), _model(detector), masked)
    assert _rows(fig) == expected
    assert len(_grid(fig)) == 2 * len(expected)  # one column per shown frame
    plt.close(fig)


@pytest.mark.parametrize(("detector", "expected"), [
    ("jdfd", RECON), ("baseline", ["input"]), ("lae", [*RECON, "interpretation"])])
def test_no_mask_row_when_no_shown_frame_has_a_mask(detector, expected, unmasked) -> None:
    import matplotlib.pyplot as plt

    fig = browse.mistake_figure(_worst(unmasked), _model(detector), unmasked)
    assert _rows(fig) == expected
    plt.close(fig)
    assert browse.mask_crops(read_index(unmasked)) is None


def test_a_lae_checkpoint_shows_its_interpretation_beside_the_true_mask(masked, tmp_path) -> None:
    """From a run's checkpoint, as the notebook calls it: the interpretation row holds the
    model's own maps, the mask row the fake's mask crop (white square) and black for the
    real frame (nothing manipulated)."""
    import matplotlib.pyplot as plt

    from jdfd_lib.detection.frames import interpretations
    from jdfd_lib.training.checkpoint import save_checkpoint

    model = _model("lae")
    ckpt = save_checkpoint({"model": model.state_dict(), "config": _cfg("lae").to_dict(),
                            "epoch": 1}, tmp_path / "run" / "best.pt")
    worst = _worst(masked)
    assert worst["label"].tolist() == [0, 1]
    fig = browse.mistake_figure(worst, ckpt, masked)
    rows = _rows(fig)
    assert rows[-2:] == ["interpretation", "forgery mask"]
    index = read_index(masked).set_index(["method", "video", "frame"])
    paths = [index.loc[(m, v, f), "abs_path"] for m, v, f in
             zip(worst["method"], worst["video"], worst["frame"], strict=True)]
    images = browse._load_crops(paths)
    maps = interpretations(model.eval(), images)  # (2, 32, 32) in [0, 1]
    for col in range(2):
        np.testing.assert_allclose(_cell(fig, len(rows) - 2, col, 2), maps[col], atol=1e-6)
    square = np.zeros((SIZE, SIZE), np.uint8)
    square[SIZE // 4:3 * SIZE // 4, SIZE // 4:3 * SIZE // 4] = 255
    assert (_cell(fig, len(rows) - 1, 0, 2) == 0).all()  # the real frame: nothing forged
    np.testing.assert_array_equal(_cell(fig, len(rows) - 1, 1, 2)[..., 0], square)
    plt.close(fig)


def test_mask_crops_tell_pristine_from_a_fake_without_a_mask(masked) -> None:
    """A fake whose mask is unknown is a blank cell, not a black (pristine) one; a mask the
    index names but that is missing is an error."""
    index = read_index(masked)
    fakes = index.index[index["label"] == 1]
    index.loc[fakes[0], "mask"] = ""  # e.g. a fake prepare could derive no mask for
    masks = browse.mask_crops(index)
    assert masks[fakes[0]] is None and masks[fakes[1]].max() == 255
    assert all(m is not None and not m.any() for m, lab in zip(masks, index["label"],
                                                                 strict=True) if lab == 0)
    shown = [index.index[0], fakes[0]]  # a real frame and the fake without a mask
    images = browse._load_crops(index.loc[shown, "abs_path"].tolist())
    name, cells, _ = browse.face_views(_model("baseline"), images, [masks[i] for i in shown])[-1]
    assert name == "forgery mask" and cells[1].shape == (SIZE, SIZE, 4) and not cells[1].any()
    Path(index.loc[fakes[1], "abs_path"].replace(".png", "_mask.png")).unlink()
    with pytest.raises(FileNotFoundError, match="mask crop missing"):
        browse.mask_crops(index)


def test_reconstruction_figure_works_without_a_decoder(masked) -> None:
    """Notebook 02's figure: a baseline used to fail in reconstruct (no decoder)."""
    import matplotlib.pyplot as plt

    fig = browse.reconstruction_figure(_model("baseline"), masked, split="test", n=2)
    assert _rows(fig) == ["input"]
    plt.close(fig)
    fig = browse.reconstruction_figure(_model("jdfd"), masked, split="test", n=2, masks=True)
    assert _rows(fig) == [*RECON, "forgery mask"]
    plt.close(fig)


def test_video_scores_name_what_each_number_is() -> None:
    scores = pd.DataFrame({"dataset": "ffpp", "method": ["m"] * 4 + ["original"] * 2,
                           "video": ["a", "a", "b", "b", "c", "c"], "frame": [0, 1] * 3,
                           "label": [1, 1, 1, 1, 0, 0],
                           "score": [0.9, 0.3, 0.2, 0.4, 0.7, 0.1]})
    table = browse.video_scores(scores)
    assert list(table.columns) == ["dataset", "method", "video", "label", "video_score",
                                   "worst_frame_score", "frames"]
    assert table["video"].tolist() == ["a", "c", "b"]  # most fake first
    a, c, b = (table.set_index("video").loc[v] for v in ("a", "c", "b"))
    assert a["video_score"] == pytest.approx(0.6) and a["worst_frame_score"] == 0.3
    assert c["worst_frame_score"] == 0.7 and b["worst_frame_score"] == 0.2  # against the label
    assert set(table["frames"]) == {2}


def _write_meta(root: Path, method: str, video: str, frames: list[dict]) -> None:
    import json

    path = root / "meta" / method / f"{video}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"config": {"image_size": 32, "margin": 0.15},
                                "frames": frames}))


def _landmarks(shift: float = 0.0) -> list[list[float]]:
    """68 points whose five canonical groups sit on the template (plus ``shift`` px)."""
    from jdfd_lib.faces.align import LANDMARK_GROUPS, canonical_points

    points = np.zeros((68, 2))
    for (_, idx), target in zip(LANDMARK_GROUPS.items(), canonical_points(32, 0.15), strict=True):
        points[list(idx)] = target + shift
    return points.tolist()


def test_alignment_flags_by_hand() -> None:
    from jdfd_lib.faces.align import alignment_flags, alignment_residual

    assert alignment_residual(np.asarray(_landmarks()), 32, 0.15) == pytest.approx(0.0)
    assert alignment_residual(np.asarray(_landmarks(3.2)), 32, 0.15) == pytest.approx(
        np.hypot(3.2, 3.2) / 32)  # every point 0.1 crop sides off in x and y
    assert alignment_flags({"landmarks": _landmarks(), "n_faces": 1}, 32, 0.15) == []
    assert alignment_flags({"landmarks": _landmarks(3.2), "n_faces": 2, "fallback": True},
                           32, 0.15) == ["suspect alignment (0.14)", "2 faces", "found on retry"]
    assert alignment_flags({"n_faces": 1}, 32, 0.15) == ["no landmarks"]


def test_reconstruction_figure_skips_suspect_crops_and_says_how_many_it_shows(masked) -> None:
    """A crop whose landmarks do not fit a face is skipped (another frame of the video is
    shown); the figure's title says when it shows fewer faces than asked, and why."""
    import matplotlib.pyplot as plt

    index = read_index(masked)
    for (method, video), _ in index.groupby(["method", "video"]):
        good = {"landmarks": _landmarks(), "n_faces": 1}
        bad = {"landmarks": _landmarks(6.0), "n_faces": 1}  # 0.27 crop sides off: suspect
        first = bad if (method, video) == ("original", "test0") else {**good, "fallback": True}
        _write_meta(masked, method, video, [{"frame": 0, **first}, {"frame": 1, **good}])
    fig = browse.reconstruction_figure(_model("jdfd"), masked, split="test", n=6)
    titles = [ax.get_title() for ax in _grid(fig)[:4]]
    assert titles == ["original test0", "original test1\nfound on retry",
                      "Deepfakes test0\nfound on retry",
                      "Deepfakes test1\nfound on retry"]  # frame 1 of original test0
    assert fig._suptitle.get_text() == ("4 of 6 faces asked: the test split has 2 real and 2 "
                                        "fake videos with a well-aligned crop; 1 suspect "
                                        "crop(s) skipped")
    plt.close(fig)


def test_mistake_figure_shows_each_crops_extraction_flags(masked) -> None:
    """A mistake on a badly aligned crop says so under its title."""
    import matplotlib.pyplot as plt

    worst = _worst(masked)
    (real_video, real_frame), (fake_video, fake_frame) = zip(
        worst["video"], worst["frame"], strict=True)
    index = read_index(masked)
    for (method, video), _ in index.groupby(["method", "video"]):
        frames = [{"frame": f, "landmarks": _landmarks(), "n_faces": 1} for f in (0, 1)]
        if video == real_video and method == "original":
            frames[real_frame] = {**frames[real_frame], "landmarks": _landmarks(6.0)}
        if video == fake_video and method != "original":
            frames[fake_frame] = {**frames[fake_frame], "n_faces": 2}
        _write_meta(masked, method, video, frames)
    fig = browse.mistake_figure(worst, _model("jdfd"), masked)
    titles = [ax.get_title() for ax in _grid(fig)[:2]]
    assert titles[0].endswith("\nsuspect alignment (0.27)"), titles
    assert titles[1].endswith("\n2 faces") and "suspect" not in titles[1], titles
    plt.close(fig)
