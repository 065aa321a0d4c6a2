"""Detection on one video and the reconstruction helper (paper Sec. 3.1 pipeline, Fig. 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from jdfd_lib.detection import detect, frames
from jdfd_lib.detectors.base import Detector


class _Mirror(Detector):
    """Reconstructs ``gain * x``: gain 1 is a perfect autoencoder, gain 0 outputs the mean."""

    def __init__(self, gain: float, size: int = 8):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(float(gain)))
        self.pretrained_cfg = {"mean": (0.5, 0.25, 0.75), "std": (0.5, 0.25, 0.2),
                               "input_size": (3, size, size)}
        self.reconstructs = True

    def forward(self, x: torch.Tensor) -> dict:
        return {"logits": torch.zeros(len(x), 2), "recon": self.gain * x, "latent": x.mean((2, 3))}

    # training is not what these tests exercise
    from_config = loss = param_groups = None


def _images(n: int = 3, size: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size, size, 3), np.uint8) for _ in range(n)]


def test_perfect_reconstruction_gives_the_input_and_zero_error() -> None:
    images = _images()
    recon, err = frames.reconstruct(_Mirror(1.0), images, batch_size=2)
    assert recon.dtype == np.uint8 and recon.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(recon, np.stack(images))  # de-normalised back to RGB
    assert err.shape == (3, 8, 8) and np.abs(err).max() < 1e-10


def test_mean_reconstruction_error_is_the_normalised_energy() -> None:
    images = _images(2)
    model = _Mirror(0.0)
    recon, err = frames.reconstruct(model, images)
    mean, std = (np.asarray(model.pretrained_cfg[k]) for k in ("mean", "std"))
    np.testing.assert_array_equal(recon[0, 0, 0], np.rint(mean * 255).astype(np.uint8))
    x = (np.stack(images) / 255.0 - mean) / std  # (N, h, w, 3)
    np.testing.assert_allclose(err, (x ** 2).mean(axis=-1), rtol=1e-5)


def test_reconstruct_resizes_to_the_model_input_and_refuses_a_baseline() -> None:
    recon, err = frames.reconstruct(_Mirror(1.0, size=8), _images(size=20))
    assert recon.shape == (3, 8, 8, 3) and err.shape == (3, 8, 8)
    baseline = _Mirror(1.0)
    baseline.reconstructs = False
    with pytest.raises(ValueError, match="no decoder"):
        frames.reconstruct(baseline, _images())


def test_extraction_settings_follow_the_profile_with_overrides() -> None:
    cfg = frames.extraction_config("demo", frames=5, crop_size=64)
    assert (cfg.frames_per_video, cfg.image_size) == (5, 64)
    from jdfd_lib.faces.crops import EXTRACT_PROFILES

    assert cfg.margin == EXTRACT_PROFILES["demo"].margin
    assert frames.extraction_config("paper").frames_per_video == 300  # paper Sec. 4.1
    with pytest.raises(ValueError, match="no extraction profile"):
        frames.extraction_config("huge")


def test_missing_video_or_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"nope\.mp4: video not found"):
        detect.detect_video(tmp_path / "nope.mp4", ckpt)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"none\.pt: checkpoint not found"):
        detect.detect_video(video, tmp_path / "none.pt")


def test_bad_settings_are_refused_before_any_file_is_read(tmp_path: Path) -> None:
    from jdfd_lib.core.errors import UserError

    missing = tmp_path / "nope.mp4", tmp_path / "none.pt"
    with pytest.raises(UserError, match="frames must be a positive number, got 0"):
        detect.detect_video(*missing, frames=0)
    with pytest.raises(UserError, match="batch_size must be a positive number, got -1"):
        detect.detect_video(*missing, batch_size=-1)
    with pytest.raises(UserError, match="aggregate must be one of"):
        detect.detect_video(*missing, aggregate="average")
    with pytest.raises(UserError, match="threshold must be between 0 and 1"):
        detect.detect_video(*missing, threshold=0.0)


# --- on a face clip with a real (untrained, tiny) JDFD checkpoint ----------------------------

@pytest.fixture(scope="module")
def demo_ckpt(tiny_checkpoint: Path) -> Path:
    """The session's tiny untrained JDFD checkpoint (tests/conftest.py)."""
    return tiny_checkpoint


@pytest.mark.slow  # four extractions and a picture: about 5 s
def test_detect_prints_frame_scores_and_writes_the_picture(face_clips: dict[str, Path],
                                                           demo_ckpt: Path, tmp_path: Path,
                                                           capsys) -> None:
    import argparse

    import cv2

    from jdfd_lib.evaluation.scoring import to_tensor
    from jdfd_lib.faces.crops import extract_video_faces
    from jdfd_lib.training.checkpoint import load_checkpoint

    video = face_clips["face"]
    parser = argparse.ArgumentParser()
    detect.add_arguments(parser)
    args = parser.parse_args([str(video), "--checkpoint", str(demo_ckpt), "--frames", "3",
                              "--picture", str(tmp_path / "faces.png")])
    assert detect.run(args) == 0
    printed = capsys.readouterr().out
    res = detect.detect_video(video, demo_ckpt, frames=3)
    table = res["frames"]
    assert res["n_sampled"] == 3 and res["n_faces"] == len(table) >= 1
    assert (len(res["tracks"]), res["track"], res["max_faces"]) == (1, 0, 1)
    assert res["n_faces"] + len(res["no_face_frames"]) + len(res["read_error_frames"]) == 3
    rows = [ln.split() for ln in printed.splitlines()]
    # frame, track, n_faces, score, recon_error: one face, track 0, in every frame
    shown = {r[0]: r[3] for r in rows if len(r) >= 4 and r[0].isdigit() and r[1:3] == ["0", "1"]}
    assert shown == {str(f): f"{v:.4f}" for f, v in zip(table["frame"], table["score"],
                                                         strict=True)}
    assert f"no face: {len(res['no_face_frames'])}" in printed
    assert res["video_score"] == pytest.approx(table["score"].mean())
    assert res["verdict"] == ("fake" if res["video_score"] >= 0.5 else "real")
    assert f"verdict at 0.5: {res['verdict'].upper()}" in printed
    # the same crops and pre-processing as training: 64 px crops straight into the model
    model, cfg, _ = load_checkpoint(demo_ckpt)
    crops = extract_video_faces(video, frames.extraction_config("demo", 3, cfg.image_size))
    assert [c.frame for c in crops] == table["frame"].tolist()
    with torch.no_grad():
        logits = model(torch.stack([to_tensor(c.image, model) for c in crops]))["logits"]
    np.testing.assert_allclose(table["score"], logits.softmax(1)[:, 1], rtol=1e-4, atol=1e-6)
    picture = cv2.imread(str(tmp_path / "faces.png"))
    assert picture is not None and picture.shape[0] > 100
    # another aggregation and threshold: the same frame scores, another video score
    top = detect.detect_video(video, demo_ckpt, frames=3, aggregate="max", threshold=0.9)
    np.testing.assert_array_equal(top["frames"]["score"], table["score"])
    assert top["video_score"] == pytest.approx(table["score"].max())
    assert top["verdict"] == ("fake" if top["video_score"] >= 0.9 else "real")
    assert (top["aggregate"], top["threshold"]) == ("max", 0.9)


def test_a_checkpoint_holding_python_objects_needs_the_unsafe_flag(
        face_clips: dict[str, Path], demo_ckpt: Path, tmp_path: Path, capsys) -> None:
    from jdfd_lib.cli import main
    from jdfd_lib.training.checkpoint import read_checkpoint

    state = read_checkpoint(demo_ckpt)
    state["rng"] = np.random.get_state()  # a numpy array and tuple: older jdfd checkpoints
    old = tmp_path / "old.pt"
    torch.save(state, old)
    argv = ["detect", str(face_clips["face"]), "--checkpoint", str(old), "--frames", "2"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"jdfd detect: error: {old}")
    assert "--unsafe-allow-pickle" in err[0]
    assert main([*argv, "--unsafe-allow-pickle"]) == 0
    assert "verdict at 0.5" in capsys.readouterr().out


def test_an_unreadable_video_is_a_clear_error(tmp_path: Path, demo_ckpt: Path) -> None:
    from jdfd_lib.faces.video import VideoReadError

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoReadError, match="broken.mp4"):
        detect.detect_video(bad, demo_ckpt, frames=2)


def test_the_picture_shows_where_a_detector_with_an_interpretation_looked(tmp_path) -> None:
    """LAE outputs an interpretation map: ``detect --picture`` adds it as a fourth row under
    input, reconstruction and error; a detector without one (the mirror) gives None."""
    import cv2
    import pandas as pd

    from jdfd_lib.detectors.registry import create_detector, detector_config

    model = create_detector(detector_config("demo", detector="lae", image_size=32))
    faces = [np.random.default_rng(i).integers(0, 255, (40, 40, 3), dtype=np.uint8)
             for i in range(3)]
    maps = frames.interpretations(model, faces)
    assert maps.shape == (3, 32, 32) and maps.min() >= 0 and maps.max() <= 1 + 1e-6
    assert frames.interpretations(_Mirror(1.0), faces) is None
    table = pd.DataFrame({"frame": [0, 1, 2], "score": [0.1, 0.5, 0.9]})
    png = cv2.imread(str(detect._save_picture(model, faces, table, tmp_path / "lae.png")))
    mirror = cv2.imread(str(detect._save_picture(_Mirror(1.0), faces, table,
                                                 tmp_path / "mirror.png")))
    # one more row of faces (each face 2 in at 110 dpi, plus 0.3 in for the titles)
    assert abs(png.shape[0] - mirror.shape[0] - 2.0 * 110) <= 2
    assert mirror.shape[0] == pytest.approx((3 * 2.0 + 0.3) * 110, abs=2)


def test_crops_cut_smaller_than_the_model_reads_are_warned_about() -> None:
    """``detect --crop-size 16`` on a 64 px model upscaled every face 4x without a word (as
    evaluate did before it warned); the crop size is in the extraction settings that
    detections.json records."""
    import warnings

    with pytest.warns(UserWarning, match=r"crop_size 16: faces are cut at 16 px and the model "
                                         r"reads 64 px: they are upscaled 4\.0x"):
        cfg = frames.extraction_config("demo", crop_size=16, model_size=64)
    assert cfg.image_size == 16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frames.extraction_config("demo", crop_size=64, model_size=64).image_size == 64
        assert frames.extraction_config("demo", crop_size=96, model_size=64).image_size == 96
