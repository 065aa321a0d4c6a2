"""Aligned face crops of one video: sample, decode, detect, align (paper Sec. 3.1).

The extraction settings (:class:`ExtractConfig`) and the single-video pipeline live here;
:mod:`jdfd_lib.extract` runs it over a whole dataset, and ``python -m jdfd_lib detect``
over one new video.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from jdfd_lib.align import FaceAligner, default_predictor_path
from jdfd_lib.video import frame_count, read_frames, sample_frame_indices


@dataclass
class ExtractConfig:
    """Face-extraction settings. Paper values: 300 frames per video, 299x299 crops, Dlib's
    68-point landmarks; the rest is not stated in the paper and has documented defaults.

    Attributes:
        frames_per_video: evenly spaced frames taken per video (paper: 300).
        image_size: crop side in pixels (paper: 299).
        margin: context around the tight face template on each side, as a fraction of it.
        detect_max_side: longer side of the reduced copy the detector first runs on
            (None: detect at full resolution).
        upsample: dlib upsampling steps of that first detection.
        fallback_upsample: upsampling of the full-resolution retry when the first finds none.
        predictor_path: 68-point dlib model (None: the one of ``face_recognition_models``).
        image_format: "png" (lossless, default) or "jpg".
        jpeg_quality: JPEG quality when ``image_format == "jpg"``.
        track_expand: within a video, search first around the last face box grown by this
            fraction of its width per side (None: search whole frames only).
        track_face_px: that region is reduced so the last face is at most this wide (80:
            dlib's HOG window, the smallest face it finds without upsampling).
        workers: processes extracting videos in parallel.
    """

    frames_per_video: int = 300
    image_size: int = 299
    margin: float = 0.15
    detect_max_side: int | None = 640
    upsample: int = 0
    fallback_upsample: int = 1
    predictor_path: str | None = None
    image_format: str = "png"
    jpeg_quality: int = 95
    track_expand: float | None = 0.5
    track_face_px: int = 80
    workers: int = 1

    def __post_init__(self) -> None:
        if self.image_format not in ("png", "jpg"):
            raise ValueError(f"image_format must be 'png' or 'jpg', got {self.image_format!r}")
        if self.frames_per_video < 1 or self.image_size < 8 or self.workers < 1:
            raise ValueError(f"invalid extraction settings: {self}")

    def fingerprint(self) -> dict:
        """The settings that shape the crops (not ``workers``; the predictor by file name)."""
        d = asdict(self)
        del d["workers"]
        d["predictor_path"] = Path(self.predictor_path or default_predictor_path()).name
        return d

    def make_aligner(self) -> FaceAligner:
        """A :class:`FaceAligner` with these settings (loads the dlib models)."""
        return FaceAligner(self.image_size, self.margin, self.detect_max_side, self.upsample,
                           self.fallback_upsample, self.predictor_path, self.track_expand,
                           self.track_face_px)


EXTRACT_PROFILES: dict[str, ExtractConfig] = {
    "paper": ExtractConfig(frames_per_video=300, image_size=299),
    "demo": ExtractConfig(frames_per_video=4, image_size=128),  # 8-frame clips: 4 suffice
}


@dataclass
class FaceCrop:
    """The aligned face of one frame."""

    frame: int  # frame number in the video (0-based)
    image: np.ndarray  # (S, S, 3) RGB uint8
    landmarks: np.ndarray  # (68, 2) crop coordinates
    box: tuple[int, int, int, int]  # detection (left, top, right, bottom), frame coordinates
    n_faces: int  # faces found in the frame
    fallback: bool  # found by the full-resolution retry


@dataclass
class VideoStats:
    """What happened to the requested frames of one video."""

    n_frames: int = 0  # frames the container reports
    requested: list[int] = field(default_factory=list)
    no_face: list[int] = field(default_factory=list)
    read_error: list[int] = field(default_factory=list)  # requested but never decoded
    fallbacks: int = 0  # frames where the full-resolution retry ran


class FaceCropList(list):
    """A list of :class:`FaceCrop` with the video's :class:`VideoStats` as ``.stats``."""

    stats: VideoStats


def iter_video_faces(video_path: str | os.PathLike, cfg: ExtractConfig, aligner: FaceAligner,
                     stats: VideoStats) -> Iterator[FaceCrop]:
    """Yield the aligned faces of the sampled frames one at a time, filling ``stats``.

    Raises:
        VideoReadError: the video cannot be opened or decoded.
    """
    stats.n_frames = frame_count(video_path)
    stats.requested = sample_frame_indices(stats.n_frames, cfg.frames_per_video)
    aligner.reset()  # no face box carried over from another video
    fallbacks_before, seen = aligner.n_fallbacks, set()
    for idx, frame in read_frames(video_path, stats.requested):
        seen.add(idx)
        face = aligner.align(frame)
        stats.fallbacks = aligner.n_fallbacks - fallbacks_before
        if face is None:
            stats.no_face.append(idx)
            continue
        yield FaceCrop(idx, face.image, face.landmarks, face.box, face.n_faces, face.fallback)
    stats.read_error = [i for i in stats.requested if i not in seen]


def extract_video_faces(video_path: str | os.PathLike, cfg: ExtractConfig,
                        aligner: FaceAligner | None = None) -> FaceCropList:
    """Aligned face crops of the evenly sampled frames of one video.

    Args:
        video_path: the video.
        cfg: extraction settings.
        aligner: reuse loaded dlib models (default: built from ``cfg``).

    Returns:
        One :class:`FaceCrop` per frame with a face; frames without one are absent and
        listed in the result's ``.stats`` (:class:`VideoStats`).

    Raises:
        VideoReadError: the video cannot be opened or decoded.
    """
    stats = VideoStats()
    crops = FaceCropList(iter_video_faces(video_path, cfg, aligner or cfg.make_aligner(), stats))
    crops.stats = stats
    return crops
