"""Scoring one video's face crops, shared by ``detect`` (:mod:`jdfd_lib.detection.detect`), its
many-video job (:mod:`jdfd_lib.detection.videos`) and the notebooks' browser
(:mod:`jdfd_lib.experiments.browse`).

- :func:`score_faces`: the fake score ``softmax(logits)[:, 1]`` of each face, ``batch_size`` at a
  time, with the same normalisation as ``evaluate`` (:mod:`jdfd_lib.evaluation.scoring`); each
  face track's score by one of :data:`AGGREGATIONS` (:func:`aggregate_scores`), and the video
  score: the most suspicious deciding track's (:func:`track_scores`; :func:`score_video` is
  the same without the track table);
- :func:`model_views`: what a detector shows of the crops (reconstruction and its error,
  interpretation maps), through the detector contract only;
- :func:`extraction_config`: the pre-processing of a checkpoint's profile.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from jdfd_lib.core.errors import UserError, option, require_positive
from jdfd_lib.detectors.base import Detector
from jdfd_lib.evaluation.metrics import DECISION_THRESHOLD
from jdfd_lib.evaluation.scoring import (
    ScoreSettings,
    forward_batch,
    input_spec,
    score_batches,
    to_tensor,
)
from jdfd_lib.faces.crops import EXTRACT_PROFILES, MAX_CROP, ExtractConfig, FaceCrop

# A face track decides the video score when it holds at least this share of the frames with a
# face, and at least 2 of them (1 when only one frame has a face): a face seen in one frame
# of many (often a false detection: a pattern, a poster) is scored and reported but cannot
# make the video fake by itself. When no track is that long, the longest tracks decide.
MIN_TRACK_SHARE = 0.1
BOX_COLUMNS = ["left", "top", "right", "bottom"]  # a face's detection box, frame pixels


class Aggregation(NamedTuple):
    """How the frame scores (N,) of a video, N >= 1, become one video score."""

    fn: Callable[[np.ndarray, float], float]  # (scores, threshold) -> video score
    description: str


AGGREGATIONS: dict[str, Aggregation] = {
    "mean": Aggregation(lambda s, t: float(np.mean(s)), "mean frame score (default)"),
    "median": Aggregation(lambda s, t: float(np.median(s)),
                          "median frame score (robust to a few outlier frames)"),
    "max": Aggregation(lambda s, t: float(np.max(s)),
                       "highest frame score (fake if any one frame looks fake)"),
    "vote": Aggregation(lambda s, t: float(np.mean(s >= t)),
                        "fraction of frames scored at or above the threshold"),
}


def check_settings(aggregate: str = "mean", threshold: float = DECISION_THRESHOLD,
                   min_track_share: float = MIN_TRACK_SHARE, **counts: int | None) -> None:
    """Raise :class:`UserError` for an unknown aggregation, a threshold outside (0, 1), a
    ``min_track_share`` outside [0, 1], a count (``frames=...``) that is neither None nor
    positive, or a ``crop_size`` outside 8 to :data:`~jdfd_lib.faces.crops.MAX_CROP`. Cheap:
    call it first."""
    for name, value in counts.items():
        require_positive(value, name, "--" + name.replace("_", "-"))
    crop = counts.get("crop_size")
    if crop is not None and not 8 <= crop <= MAX_CROP:  # else every video fails to align
        raise UserError(f"{option('crop_size', '--crop-size')} must be from 8 to {MAX_CROP} "
                        f"pixels, got {crop}")
    if aggregate not in AGGREGATIONS:
        raise UserError(f"{option('aggregate', '--aggregate')} must be one of "
                        f"{', '.join(AGGREGATIONS)}, got {aggregate!r}")
    if isinstance(threshold, bool) or not 0.0 < threshold < 1.0:
        raise UserError(f"{option('threshold', '--threshold')} must be between 0 and 1 "
                        f"(exclusive), got {threshold!r}")
    if isinstance(min_track_share, bool) or not 0.0 <= min_track_share <= 1.0:
        raise UserError(f"{option('min_track_share', '--min-track-share')} must be from 0 to 1, "
                        f"got {min_track_share!r}")


def aggregate_scores(scores: Sequence[float], aggregate: str = "mean",
                     threshold: float = DECISION_THRESHOLD) -> tuple[float, str | None]:
    """A video's score and verdict from its frame scores.

    Returns:
        (score, "fake" if score >= threshold else "real"); (NaN, None) without scores.
    """
    check_settings(aggregate, threshold)
    scores = np.asarray(scores, dtype=np.float64)  # (N,)
    if scores.size == 0:
        return float("nan"), None
    score = AGGREGATIONS[aggregate].fn(scores, threshold)
    return score, "fake" if score >= threshold else "real"


def _batches(images: list[np.ndarray], model: Detector, batch_size: int):
    """Yield normalised input batches (B, 3, h, w) of RGB uint8 images, in order."""
    for i in range(0, len(images), batch_size):
        yield torch.stack([to_tensor(img, model) for img in images[i:i + batch_size]])


def reconstruct(model: Detector, images_uint8_rgb: list[np.ndarray],
                batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The autoencoder's reconstructions of face crops and their per-pixel error.

    Runs on the model's current device, in eval mode, without autocast.

    Args:
        model: a detector that reconstructs (``reconstructs``, e.g. JDFD).
        images_uint8_rgb: crops (H, W, 3) RGB uint8; resized to the model's input if needed.
        batch_size: crops per forward pass.

    Returns:
        ``recon_uint8`` (N, h, w, 3): reconstructions de-normalised back to RGB uint8;
        ``error_map`` (N, h, w) float32: squared error averaged over channels, in the
        normalised space (its mean over pixels is the ``recon_error`` of ``evaluate``).

    Raises:
        ValueError: the model has no decoder, or no images were given.
    """
    if not model.reconstructs:
        raise ValueError(f"detector {model.name!r} has no decoder: nothing to reconstruct")
    if len(images_uint8_rgb) == 0:
        raise ValueError("no images to reconstruct")
    settings = ScoreSettings(device=next(model.parameters()).device, batch_size=batch_size)
    _, mean, std = input_spec(model)
    was_training = model.training
    model.eval()
    recons, errors = [], []
    for x in _batches(list(images_uint8_rgb), model, batch_size):
        out = forward_batch(model, x, settings)
        r = out["recon"].cpu()  # (B, 3, h, w) normalised
        errors.append((r - x).square().mean(dim=1).numpy())  # (B, h, w)
        rgb = r.permute(0, 2, 3, 1).numpy() * std + mean  # (B, h, w, 3) in [0, 1] nominally
        recons.append(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))
    model.train(was_training)
    return np.concatenate(recons), np.concatenate(errors).astype(np.float32)


def interpretations(model: Detector, images_uint8_rgb: list[np.ndarray],
                    batch_size: int = 8) -> np.ndarray | None:
    """Where the detector looked: its ``interpretation`` output (LAE: the fake half's
    activation map, in [0, 1]) for each crop, or None for a detector without one.

    Returns:
        (N, h, w) float32 maps at the model's input size, or None.
    """
    if len(images_uint8_rgb) == 0:
        raise ValueError("no images to interpret")
    settings = ScoreSettings(device=next(model.parameters()).device, batch_size=batch_size)
    was_training = model.training
    model.eval()
    maps = []
    try:
        for x in _batches(list(images_uint8_rgb), model, batch_size):
            out = forward_batch(model, x, settings)
            if out["interpretation"] is None:
                return None
            maps.append(out["interpretation"].float().cpu()[:, 0].numpy())  # (B, h, w)
    finally:
        model.train(was_training)
    return np.concatenate(maps).astype(np.float32)


def extraction_config(profile: str, frames: int | None = None, crop_size: int | None = None,
                      predictor: str | os.PathLike | None = None,
                      model_size: int | None = None) -> ExtractConfig:
    """The extraction settings of ``profile`` with optional overrides.

    Args:
        model_size: the model's input side: crops cut smaller are upscaled to it, which
            blurs the traces detectors learn, and a warning says so (as ``evaluate`` does).

    Raises:
        ValueError: no extraction profile of that name.
    """
    if profile not in EXTRACT_PROFILES:
        raise ValueError(f"no extraction profile {profile!r}; expected one of "
                         f"{list(EXTRACT_PROFILES)} (pass crop_size and frames explicitly)")
    overrides = {"frames_per_video": frames, "image_size": crop_size,
                 "predictor_path": None if predictor is None else str(predictor)}
    ecfg = replace(EXTRACT_PROFILES[profile],
                   **{k: v for k, v in overrides.items() if v is not None}, workers=1)
    if model_size is not None and ecfg.image_size < model_size:
        warnings.warn(f"{option('crop_size', '--crop-size')} {ecfg.image_size}: faces are cut at "
                      f"{ecfg.image_size} px and the model reads {model_size} px: they are "
                      f"upscaled {model_size / ecfg.image_size:.1f}x, which blurs the traces "
                      f"detectors learn (leave it unset: the model's size)", stacklevel=2)
    return ecfg


class VideoScore(NamedTuple):
    """One video's scores (:func:`score_faces`)."""

    frames: pd.DataFrame  # one row per face: frame, track, n_faces, box, score[, recon_error]
    tracks: pd.DataFrame  # one row per face track: track, faces, score, decides
    score: float  # the video score: the deciding track's (NaN without faces)
    verdict: str | None  # "fake" at or above the threshold, "real"; None without faces
    track: int | None  # the track the video score comes from (None without faces)


def deciding_length(n_face_frames: int, min_track_share: float = MIN_TRACK_SHARE) -> int:
    """Faces a track needs to decide the video score (:data:`MIN_TRACK_SHARE`)."""
    return max(min(2, n_face_frames), int(np.ceil(min_track_share * n_face_frames - 1e-9)))


def track_scores(frames: pd.DataFrame, aggregate: str = "mean",
                 threshold: float = DECISION_THRESHOLD,
                 min_track_share: float = MIN_TRACK_SHARE) -> VideoScore:
    """Each face track's score and the video score from a frame table (frame, track, score).

    A track's score aggregates its faces' scores by ``aggregate``; the tracks with at least
    :func:`deciding_length` faces (all of the longest when none has that many) decide, and
    the video gets the highest deciding score, the most suspicious face (ties: lower id).
    """
    check_settings(aggregate, threshold, min_track_share)
    need = deciding_length(frames["frame"].nunique(), min_track_share)
    rows = [{"track": int(t), "faces": len(g),
             "score": aggregate_scores(g["score"].to_numpy(), aggregate, threshold)[0]}
            for t, g in frames.groupby("track", sort=True)]
    tracks = pd.DataFrame(rows, columns=["track", "faces", "score"])
    tracks["decides"] = tracks["faces"] >= min(need, tracks["faces"].max() if rows else 0)
    if not rows:
        return VideoScore(frames, tracks, float("nan"), None, None)
    best = tracks[tracks["decides"]].sort_values(["score", "track"], ascending=[False, True],
                                                 kind="stable").iloc[0]
    score = float(best["score"])
    return VideoScore(frames, tracks, score, "fake" if score >= threshold else "real",
                      int(best["track"]))


def score_faces(crops: list[FaceCrop], model: Detector, settings: ScoreSettings,
                aggregate: str = "mean", threshold: float = DECISION_THRESHOLD,
                min_track_share: float = MIN_TRACK_SHARE) -> VideoScore:
    """Score the faces of one video, ``settings.batch_size`` at a time, and its face tracks.

    Returns:
        The frame table (frame, track, n_faces, box, score and, with a decoder,
        recon_error; scores float32 as the model computes them), the track table, the video
        score and verdict (:func:`track_scores`) and the deciding track.
    """
    check_settings(aggregate, threshold, min_track_share)
    images = [c.image for c in crops]
    table = score_batches(model, _batches(images, model, settings.batch_size), settings)
    table = table.astype(np.float32)  # (N, 1 or 2) even when N == 0
    boxes = np.array([c.box for c in crops], dtype=np.int64).reshape(-1, 4)
    for i, (name, values) in enumerate([
            ("frame", [c.frame for c in crops]), ("track", [c.track for c in crops]),
            ("n_faces", [c.n_faces for c in crops]), *zip(BOX_COLUMNS, boxes.T, strict=True)]):
        table.insert(i, name, np.asarray(values, dtype=np.int64))
    return track_scores(table, aggregate, threshold, min_track_share)


def score_video(crops: list[FaceCrop], model: Detector, settings: ScoreSettings,
                aggregate: str = "mean", threshold: float = DECISION_THRESHOLD
                ) -> tuple[pd.DataFrame, float, str | None]:
    """:func:`score_faces` as (frame table, video score, verdict): with one face a frame,
    the aggregated frame scores (NaN and None without faces)."""
    res = score_faces(crops, model, settings, aggregate, threshold)
    return res.frames, res.score, res.verdict


def model_views(model: Detector, images: list[np.ndarray]
                ) -> list[tuple[str, list[np.ndarray], str | None]]:
    """What a detector shows of face crops, as rows of :func:`jdfd_lib.reporting.plot.face_rows`
    (name, images, colour map or None for RGB): ``reconstruction`` and ``error`` when it
    reconstructs (JDFD, LAE), ``interpretation`` when its forward output has one (LAE: where
    its fake decision rests, in [0, 1]); none for a plain classifier."""
    rows = []
    if model.reconstructs:
        recon, err = reconstruct(model, images)
        rows += [("reconstruction", list(recon), None), ("error", list(err), "magma")]
    maps = interpretations(model, images)
    if maps is not None:
        rows.append(("interpretation", list(maps), "inferno"))
    return rows
