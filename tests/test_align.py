"""Dlib alignment puts the landmarks at their canonical positions, upright and centred."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest

from jdfd_lib.faces import align
from jdfd_lib.faces.align import (
    FaceAligner,
    canonical_points,
    landmark_points,
    similarity_transform,
)


def face_image() -> np.ndarray:
    """A real photograph with one frontal face (shipped with matplotlib), RGB uint8."""
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def aligner() -> FaceAligner:
    return FaceAligner(image_size=128, margin=0.15)


def centres(landmarks: np.ndarray) -> np.ndarray:
    """(3, 2): left eye centre, right eye centre, mouth centre."""
    p = landmark_points(landmarks)
    return np.stack([p[0], p[1], (p[3] + p[4]) / 2])


def test_default_predictor_is_the_68_point_model() -> None:
    path = align.default_predictor_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 1e6
    with pytest.raises(FileNotFoundError, match="missing.dat: dlib 68-point"):
        FaceAligner(predictor_path="missing.dat")


def test_similarity_transform_recovers_a_known_one() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    theta, scale, shift = np.deg2rad(30), 1.7, np.array([12.0, -4.0])
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    dst = src @ (scale * rot).T + shift
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], scale * rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], shift, atol=1e-9)


@pytest.mark.parametrize("degrees", [0, 20, -30])
def test_landmarks_land_on_canonical_positions(aligner: FaceAligner, degrees: float) -> None:
    img = rotate(face_image(), degrees)
    face = aligner.align(img)
    assert face is not None and face.n_faces == 1
    assert face.image.shape == (128, 128, 3) and face.image.dtype == np.uint8
    assert face.landmarks.shape == (68, 2)
    target = canonical_points(128, 0.15)
    want = np.stack([target[0], target[1], (target[3] + target[4]) / 2])
    tol = 0.03 * 128  # a few pixels: five points cannot all fit a similarity exactly
    assert np.abs(centres(face.landmarks) - want).max() < tol
    # refit the predictor on the crop itself: the face really sits there, upright
    refit = FaceAligner(image_size=128, detect_max_side=None, upsample=1).align(face.image)
    assert refit is not None
    assert np.abs(centres(refit.landmarks) - want).max() < 2 * tol
    eyes = centres(refit.landmarks)[:2]
    tilt = np.degrees(np.arctan2(*(eyes[1] - eyes[0])[::-1]))
    assert abs(tilt) < 3  # de-rotated
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= img.shape[1] and 0 <= y0 < y1 <= img.shape[0]


def test_reduced_detection_falls_back_to_full_resolution() -> None:
    img = face_image()
    # a copy so small the face is below the HOG window: the fallback must find it
    tiny = FaceAligner(image_size=64, detect_max_side=80, upsample=0, fallback_upsample=1)
    face = tiny.align(img)
    assert face is not None and face.fallback and tiny.n_fallbacks == 1
    full = FaceAligner(image_size=64, detect_max_side=None, upsample=1).align(img)
    assert full is not None and face.box == full.box  # the same detection


def test_no_face_gives_none(aligner: FaceAligner) -> None:
    blank = np.full((240, 320, 3), 127, np.uint8)
    before = aligner.n_fallbacks
    assert aligner.align(blank) is None
    assert aligner.n_fallbacks == before + 1  # the full-resolution retry ran and is counted
