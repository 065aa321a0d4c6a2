"""Aligned face crops of one video: sample, decode, detect, align (paper Sec. 3.1).

The extraction settings (:class:`ExtractConfig`) and the single-video pipeline live here;
:mod:`jdfd_lib.faces.prepare` runs it over a whole dataset, and ``python -m jdfd_lib detect``
over one new video. A fake's manipulation mask, when one applies, is warped like its face
(:mod:`jdfd_lib.faces.masks`). A still image is a one-frame video
(:mod:`jdfd_lib.faces.images`); an image that is already an aligned crop is only resized
(:func:`iter_aligned_image`).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from jdfd_lib.core.errors import UserError, current_command, option
from jdfd_lib.faces.align import FaceAligner, default_predictor_path
from jdfd_lib.faces.images import is_image, read_image, resize_crop
from jdfd_lib.faces.masks import DEFAULT_MASK_THRESHOLD, MASK_MODES, MaskMaker
from jdfd_lib.faces.tracks import FACE_POLICIES, FaceTracker
from jdfd_lib.faces.video import probe_video, read_frames, sample_frame_indices

_ALIGNERS: dict[tuple, FaceAligner] = {}  # ExtractConfig.shared_aligner's, per process
# Crop file formats (``ExtractConfig.image_format``): png and webp are lossless, jpg is lossy.
CROP_FORMATS = ("png", "webp", "jpg")
MAX_CROP = 2048  # crop side in pixels: far above any detector's input, still a face's size
WEBP_METHOD = 0  # libwebp's effort for lossless crops: 0 (fastest) .. 6 (smallest files)


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
        image_format: file format of the crops: "png" (lossless, default; the demo's),
            "webp" (lossless WebP: the very pixels written, a third smaller; the paper
            profiles'; :data:`CROP_FORMATS`) or "jpg" (lossy: recompressing a crop changes
            the very artifacts detectors learn; refused for the paper profiles).
        jpeg_quality: JPEG quality when ``image_format == "jpg"``.
        track_expand: within a video, search first around the last face box grown by this
            fraction of its width per side (None: search whole frames only).
        track_face_px: that region is reduced so the last face is at most this wide (80:
            dlib's HOG window, the smallest face it finds without upsampling).
        workers: processes extracting videos in parallel.
        masks: manipulation masks of fake crops (:mod:`jdfd_lib.faces.masks`): "none";
            "official" (default: the dataset's mask videos where it ships them, e.g. FF++;
            nothing elsewhere); "derived" (from the difference with the pristine source
            video, for every fake whose source is known); "official+derived" (official where
            shipped, derived elsewhere).
        mask_threshold: difference threshold (0..1) of derived masks
            (:data:`jdfd_lib.faces.masks.DEFAULT_MASK_THRESHOLD`).

    Raises:
        UserError: naming every invalid setting and what it must be (with its
            ``prepare`` flag, e.g. ``--frames``, when run from the command line).
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
    masks: str = "official"
    mask_threshold: float = DEFAULT_MASK_THRESHOLD

    def __post_init__(self) -> None:
        problems = [f"{_spell(name, flag)} must be {expected}, got {value!r}"
                    for name, flag, expected, ok in _FIELD_CHECKS
                    if not ok(value := getattr(self, name))]
        if problems:
            raise UserError(f"invalid extraction settings: {'; '.join(problems)}")

    def fingerprint(self) -> dict:
        """The settings that shape the crops (not ``workers``; the predictor by file name)."""
        d = asdict(self)
        del d["workers"]
        d["predictor_path"] = Path(self.predictor_path or default_predictor_path()).name
        return d

    def write_crop(self, path: str | os.PathLike, image: np.ndarray) -> None:
        """Write an (S, S, 3) RGB crop to ``path`` in :attr:`image_format`: PNG at OpenCV's
        default compression, lossless WebP at libwebp effort :data:`WEBP_METHOD` (Pillow:
        OpenCV's lossless WebP has no effort setting and takes its slow default), or JPEG at
        :attr:`jpeg_quality`.

        Raises:
            OSError: the file could not be written.
        """
        if self.image_format == "webp":
            Image.fromarray(image).save(path, "WEBP", lossless=True, method=WEBP_METHOD,
                                        quality=0)
            return
        params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality] if self.image_format == "jpg" else []
        if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params):
            raise OSError(f"{path}: could not write the crop")

    def make_aligner(self) -> FaceAligner:
        """A :class:`FaceAligner` with these settings (loads the dlib models)."""
        return FaceAligner(self.image_size, self.margin, self.detect_max_side, self.upsample,
                           self.fallback_upsample, self.predictor_path, self.track_expand,
                           self.track_face_px)

    def shared_aligner(self) -> FaceAligner:
        """This process's aligner for these settings, built on first use: the dlib models
        load once per worker process, however many videos it extracts."""
        key = tuple(v for k, v in sorted(asdict(self).items()) if k != "workers")
        if key not in _ALIGNERS:
            _ALIGNERS[key] = self.make_aligner()
        return _ALIGNERS[key]


def _is_int(v: object, low: int, high: int | None = None) -> bool:
    return (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low
            and (high is None or v <= high))


def _is_number(v: object, low: float) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and v >= low


def _spell(name: str, flag: str) -> str:
    """A setting as the caller wrote it: the field, or the flag of the running command."""
    flag = _COMMAND_FLAGS.get(current_command() or "", {}).get(name, flag)
    return option(name, flag) if flag else name


# flags of other commands that build an ExtractConfig, where they differ from prepare's
_COMMAND_FLAGS = {"detect": {"image_size": "--crop-size"}}
# (field, prepare's flag or "" when it has none, what is expected, the test)
_FIELD_CHECKS = [
    ("frames_per_video", "--frames", "a positive integer", lambda v: _is_int(v, 1)),
    ("image_size", "--size", f"an integer from 8 to {MAX_CROP} (pixels)",
     lambda v: _is_int(v, 8, MAX_CROP)),
    ("workers", "--workers", "a positive integer", lambda v: _is_int(v, 1)),
    ("image_format", "--image-format", f"one of {', '.join(map(repr, CROP_FORMATS))}",
     lambda v: v in CROP_FORMATS),
    ("margin", "", "a number >= 0", lambda v: _is_number(v, 0)),
    ("detect_max_side", "", "None or a positive integer",
     lambda v: v is None or _is_int(v, 1)),
    ("upsample", "", "an integer >= 0", lambda v: _is_int(v, 0)),
    ("fallback_upsample", "", "an integer >= 0", lambda v: _is_int(v, 0)),
    ("jpeg_quality", "", "an integer from 0 to 100", lambda v: _is_int(v, 0, 100)),
    ("track_expand", "", "None or a number >= 0", lambda v: v is None or _is_number(v, 0)),
    ("track_face_px", "", "a positive integer", lambda v: _is_int(v, 1)),
    ("masks", "--masks", f"one of {', '.join(map(repr, MASK_MODES))}", lambda v: v in MASK_MODES),
    ("mask_threshold", "--mask-threshold", "a number in (0, 1)",
     lambda v: _is_number(v, 0) and 0 < v < 1),
]


EXTRACT_PROFILES: dict[str, ExtractConfig] = {
    # lossless WebP: the PNG's very pixels in a third fewer bytes, decoded faster
    # (BENCHMARKS.md, "Preparing at the paper's settings"); never a lossy format here
    "paper": ExtractConfig(frames_per_video=300, image_size=299, image_format="webp"),
    "demo": ExtractConfig(frames_per_video=4, image_size=128),  # 8-frame clips: 4 suffice
    # DFDC face crops (one 224 px face per video, already aligned): resized to 128 px, room
    # for every input size the faces profile tries (BENCHMARKS.md, real faces)
    "faces": ExtractConfig(frames_per_video=1, image_size=128),
    # the same crops at the paper's 299 px, for the paper's recipe on a GPU
    "faces_paper": ExtractConfig(frames_per_video=1, image_size=299, image_format="webp"),
}


@dataclass
class FaceCrop:
    """The aligned face of one frame."""

    frame: int  # frame number in the video (0-based)
    image: np.ndarray  # (S, S, 3) RGB uint8
    landmarks: np.ndarray  # (68, 2) crop coordinates; (0, 2) for an already aligned image
    box: tuple[int, int, int, int]  # detection (left, top, right, bottom), frame coordinates
    n_faces: int  # faces found in the frame (faces="largest": in the tracked region)
    fallback: bool  # found by the full-resolution retry
    matrix: np.ndarray | None = None  # (2, 3) frame -> crop similarity; None: not aligned here
    mask: np.ndarray | None = None  # (S, S) uint8 0/255 manipulation mask, when one applies
    mask_source: str | None = None  # "official" | "derived" (jdfd_lib.faces.masks)
    track: int = 0  # face track within the video (jdfd_lib.faces.tracks); 0 for "largest"


@dataclass
class VideoStats:
    """What happened to the requested frames of one video."""

    n_frames: int = 0  # frames the container reports
    requested: list[int] = field(default_factory=list)
    no_face: list[int] = field(default_factory=list)
    read_error: list[int] = field(default_factory=list)  # requested but never decoded
    fallbacks: int = 0  # frames where the full-resolution retry ran
    decoder: str = "opencv"  # "opencv" or "pyav" (jdfd_lib.faces.video.probe_video)
    decoder_note: str = ""  # why not OpenCV


class FaceCropList(list):
    """A list of :class:`FaceCrop` with the video's :class:`VideoStats` as ``.stats``."""

    stats: VideoStats


def _sampled_frames(path: str | os.PathLike, cfg: ExtractConfig,
                    stats: VideoStats) -> Iterator[tuple[int, np.ndarray]]:
    """The sampled frames of a video, or frame 0 of a still image; fills the frame counts."""
    if is_image(path):
        image = read_image(path)
        stats.n_frames, stats.requested = 1, [0]
        return iter([(0, image)])
    info = probe_video(path)
    stats.n_frames, stats.decoder, stats.decoder_note = info.n_frames, info.decoder, info.note
    stats.requested = sample_frame_indices(stats.n_frames, cfg.frames_per_video)
    return read_frames(path, stats.requested, info.decoder)


def check_faces(faces: str) -> None:
    """Raise :class:`UserError` unless ``faces`` is one of :data:`FACE_POLICIES`."""
    if faces not in FACE_POLICIES:
        raise UserError(f"{option('faces', '--faces')} must be one of "
                        f"{', '.join(FACE_POLICIES)}, got {faces!r}")


def iter_video_faces(video_path: str | os.PathLike, cfg: ExtractConfig, aligner: FaceAligner,
                     stats: VideoStats, masks: MaskMaker | None = None,
                     faces: str = "largest") -> Iterator[FaceCrop]:
    """Yield the aligned faces of the sampled frames one at a time, filling ``stats``.

    A still image (:func:`jdfd_lib.faces.images.is_image`) is a video of one frame.

    Args:
        masks: the video's mask maker (:func:`jdfd_lib.faces.masks.mask_maker`): each crop
            gets the mask of its frame, warped like the face, where one exists.
        faces: "largest" (the training pre-processing: one face per frame, track 0) or "all"
            (every face, :meth:`FaceAligner.align_all`, with its track id from
            :class:`jdfd_lib.faces.tracks.FaceTracker`; a frame's faces by track id).

    Raises:
        UserError: an unknown ``faces``.
        VideoReadError: the video (or image), or a video the masks read, cannot be opened or
            decoded.
    """
    check_faces(faces)
    frames = _sampled_frames(video_path, cfg, stats)
    aligner.reset()  # no face box carried over from another video
    tracker = FaceTracker() if faces == "all" else None
    fallbacks_before, seen = aligner.n_fallbacks, set()
    for idx, frame in frames:
        seen.add(idx)
        found = aligner.align_all(frame) if tracker else [aligner.align(frame)]
        stats.fallbacks = aligner.n_fallbacks - fallbacks_before
        if not found or found[0] is None:
            stats.no_face.append(idx)
            continue
        tracks = tracker.assign(idx, [f.box for f in found]) if tracker else [0]
        for track, face in sorted(zip(tracks, found, strict=True), key=lambda p: p[0]):
            crop = FaceCrop(idx, face.image, face.landmarks, face.box, face.n_faces,
                            face.fallback, face.matrix, track=track)
            made = masks(idx, frame, face.box, face.matrix, cfg.image_size) if masks else None
            if made is not None:
                crop.mask, crop.mask_source = made
            yield crop
    stats.read_error = [i for i in stats.requested if i not in seen]


def iter_aligned_image(image_path: str | os.PathLike, cfg: ExtractConfig,
                       stats: VideoStats) -> Iterator[FaceCrop]:
    """Yield the one crop of an image that is already an aligned face: no detection, no
    landmarks; the image resized to ``cfg.image_size`` (box: the whole image, one face).

    Raises:
        VideoReadError: the image cannot be read.
    """
    image = read_image(image_path)
    stats.n_frames, stats.requested = 1, [0]
    height, width = image.shape[:2]
    yield FaceCrop(0, resize_crop(image, cfg.image_size), np.zeros((0, 2)),
                   (0, 0, width, height), 1, False)


def extract_video_faces(video_path: str | os.PathLike, cfg: ExtractConfig,
                        aligner: FaceAligner | None = None,
                        faces: str = "largest") -> FaceCropList:
    """Aligned face crops of the evenly sampled frames of one video.

    Args:
        video_path: the video.
        cfg: extraction settings.
        aligner: reuse loaded dlib models (default: built from ``cfg``).
        faces: "largest" or "all" (:data:`jdfd_lib.faces.tracks.FACE_POLICIES`).

    Returns:
        One :class:`FaceCrop` per frame with a face ("all": per face and frame, in frame
        then track order); frames without one are absent and listed in the result's
        ``.stats`` (:class:`VideoStats`).

    Raises:
        UserError: an unknown ``faces``.
        VideoReadError: the video cannot be opened or decoded.
    """
    stats = VideoStats()
    crops = FaceCropList(iter_video_faces(video_path, cfg, aligner or cfg.make_aligner(), stats,
                                          faces=faces))
    crops.stats = stats
    return crops
