"""Dlib face detection, 68 landmarks, similarity alignment and cropping (paper Sec. 3.1).

"We use Dlib to locate the face region in each frame [...] according to 68 facial landmarks
and crop the image [...] the faces are aligned at a centre position": the HOG detector finds
the faces, the largest is kept, the 68-point shape predictor fits its landmarks, and a
similarity transform (rotation, uniform scale, translation; closed-form Umeyama fit on five
stable points) maps the eyes, nose tip and mouth corners to canonical crop positions, so every
crop has the face upright and centred. The paper's crop size is 299x299.

Detection may run on a reduced copy of the frame for speed; when that finds no face the full
frame is searched again (with upsampling), so no face that full resolution finds is lost.
Within one video (:meth:`FaceAligner.reset` between videos), the face is first searched in a
region around its last box, scaled so the face is about ``track_face_px`` wide; the whole
frame is searched only when that region holds no face. ``n_faces`` then counts the faces of
that region. :meth:`FaceAligner.align_all` (``detect --faces all``) keeps that tracked face as
it is and adds every other face of the whole frame.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
N_LANDMARKS = 68

# Canonical positions of five stable points in a tight face crop, as (x, y) crop fractions.
# From the ArcFace 5-point template (insightface, 112x112 crop) moved up by 0.06 so that the
# face from brows to chin sits at the centre. "left" = image left (the subject's right eye).
CANONICAL_POINTS: dict[str, tuple[float, float]] = {
    "eye_left": (0.342, 0.402),
    "eye_right": (0.657, 0.400),
    "nose_tip": (0.500, 0.580),
    "mouth_left": (0.371, 0.765),
    "mouth_right": (0.632, 0.763),
}
# Which of the 68 dlib landmarks make each canonical point (their mean).
LANDMARK_GROUPS: dict[str, tuple[int, ...]] = {
    "eye_left": tuple(range(36, 42)),
    "eye_right": tuple(range(42, 48)),
    "nose_tip": (30,),
    "mouth_left": (48,),
    "mouth_right": (54,),
}


def default_predictor_path() -> Path:
    """The 68-point model shipped by ``face_recognition_models`` (found without importing it,
    since its ``__init__`` needs ``pkg_resources``).

    Raises:
        FileNotFoundError: the package or its model file is missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package face_recognition_models not installed; it ships "
                                f"{PREDICTOR_FILE} (or pass predictor_path)")
    path = Path(spec.submodule_search_locations[0]) / "models" / PREDICTOR_FILE
    return check_predictor(path)


def check_predictor(path: str | os.PathLike) -> Path:
    """Return ``path`` if it is a file, else raise a FileNotFoundError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: dlib 68-point shape predictor not found; expected "
                                f"{PREDICTOR_FILE}")
    return path


def landmark_points(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) landmarks -> (5, 2) points in :data:`CANONICAL_POINTS` order."""
    return np.stack([landmarks[list(LANDMARK_GROUPS[k])].mean(axis=0) for k in CANONICAL_POINTS])


def canonical_points(image_size: int, margin: float) -> np.ndarray:
    """(5, 2) canonical pixel positions in a crop of ``image_size`` with ``margin`` added on
    each side (as a fraction of the tight face crop), scaled about the crop centre."""
    tight = np.array(list(CANONICAL_POINTS.values()), dtype=np.float64)
    return (0.5 + (tight - 0.5) / (1.0 + 2.0 * margin)) * image_size


# A crop whose five canonical landmarks lie further than this from their template positions
# (mean distance, as a fraction of the crop side) is flagged as a suspect alignment: the 68
# points did not fit a face (e.g. a detection on an eye or a background patch). On the demo
# data the worst crop is at 0.034 and the median at 0.016; a true face fits far better than
# 0.08, which is about a third of the distance between the eyes.
SUSPECT_RESIDUAL = 0.08


def alignment_residual(landmarks: np.ndarray, image_size: int, margin: float) -> float:
    """Mean distance of a crop's five canonical points (from its (68, 2) landmarks in crop
    pixels) to their template positions, as a fraction of the crop side (0 = exact fit)."""
    target = canonical_points(image_size, margin)
    return float(np.linalg.norm(landmark_points(landmarks) - target, axis=1).mean() / image_size)


def alignment_flags(frame: dict, image_size: int, margin: float) -> list[str]:
    """The extraction's quality flags of one crop (a frame of a video's meta JSON): a suspect
    alignment (:data:`SUSPECT_RESIDUAL`), no landmarks (given aligned), several faces in the
    frame (the largest was taken), or a face found only by the full-resolution retry."""
    flags = []
    points = np.asarray(frame.get("landmarks", []), dtype=float).reshape(-1, 2)
    if len(points) != N_LANDMARKS:
        flags.append("no landmarks")
    else:
        residual = alignment_residual(points, image_size, margin)
        if residual > SUSPECT_RESIDUAL:
            flags.append(f"suspect alignment ({residual:.2f})")
    if frame.get("n_faces", 1) > 1:
        flags.append(f"{frame['n_faces']} faces")
    if frame.get("fallback"):
        flags.append("found on retry")
    return flags


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping ``src`` (N, 2) onto ``dst`` (N, 2).

    Returns:
        (2, 3) matrix ``M`` with ``dst ~ src @ M[:, :2].T + M[:, 2]``.
    """
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))  # 2x2 cross-covariance
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])  # no reflections
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / s.var(axis=0).sum()
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


@dataclass
class AlignedFace:
    """The aligned crop of one face of a frame (:meth:`FaceAligner.align`: the largest)."""

    image: np.ndarray  # (S, S, 3) RGB uint8
    landmarks: np.ndarray  # (68, 2) float, crop coordinates
    box: tuple[int, int, int, int]  # detection (left, top, right, bottom), frame coordinates
    n_faces: int  # faces the detector found in the frame
    fallback: bool  # found by the full-resolution fallback search
    matrix: np.ndarray | None = None  # (2, 3) frame -> crop similarity (warp masks alike)


class FaceAligner:
    """Dlib HOG detector + 68-point predictor + similarity alignment (built once per process).

    Args:
        image_size: crop side in pixels (paper: 299).
        margin: context added on each side of the tight face template, as a fraction of it.
        detect_max_side: detection runs on a copy whose longer side is at most this
            (None: full resolution).
        upsample: dlib upsampling steps of that first detection.
        fallback_upsample: upsampling of the full-resolution retry when the first finds none.
        predictor_path: the 68-point model (default :func:`default_predictor_path`).
        track_expand: search first around the last face box, grown by this fraction of its
            width on each side (None: always search the whole frame).
        track_face_px: that region is reduced so the last face is at most this wide.
    """

    def __init__(self, image_size: int = 299, margin: float = 0.15,
                 detect_max_side: int | None = 640, upsample: int = 0,
                 fallback_upsample: int = 1, predictor_path: str | os.PathLike | None = None,
                 track_expand: float | None = None, track_face_px: int = 80):
        path = check_predictor(predictor_path) if predictor_path else default_predictor_path()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(path))
        self.image_size, self.margin = image_size, margin
        self.detect_max_side, self.upsample = detect_max_side, upsample
        self.fallback_upsample = fallback_upsample
        self.target = canonical_points(image_size, margin)  # (5, 2)
        self.track_expand, self.track_face_px = track_expand, track_face_px
        self.n_fallbacks = 0  # frames where the full-resolution retry ran
        self._last: dlib.rectangle | None = None  # last face box of the current video
        # the faces of the last whole-frame search of detect(), None when the region sufficed
        self._frame_rects: list[dlib.rectangle] | None = None

    def reset(self) -> None:
        """Forget the last face box (call between videos)."""
        self._last = None

    def _detect_near_last(self, frame: np.ndarray) -> list[dlib.rectangle]:
        """Faces in the region around the last box, reduced so that face is small."""
        last, h, w = self._last, *frame.shape[:2]
        pad = self.track_expand * last.width()
        x0, y0 = max(0, round(last.left() - pad)), max(0, round(last.top() - pad))
        x1, y1 = min(w, round(last.right() + pad)), min(h, round(last.bottom() + pad))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return []
        scale = min(1.0, self.track_face_px / max(last.width(), 1))
        roi = np.ascontiguousarray(frame[y0:y1, x0:x1])
        if scale < 1.0:
            roi = cv2.resize(roi, (max(1, round((x1 - x0) * scale)),
                                   max(1, round((y1 - y0) * scale))), interpolation=cv2.INTER_AREA)
        return [_scale_rect(r, 1 / scale, (x0, y0)) for r in self.detector(roi, 0)]

    def detect(self, frame: np.ndarray) -> tuple[list[dlib.rectangle], bool]:
        """Face boxes in frame coordinates, and whether the full-resolution retry ran."""
        self._frame_rects = None
        if self.track_expand is not None and self._last is not None:
            rects = self._detect_near_last(frame)
            if rects:
                return rects, False
        rects, fallback = self._detect_frame(frame, retry=True)
        self._frame_rects = rects
        return rects, fallback

    def _detect_frame(self, frame: np.ndarray, retry: bool) -> tuple[list[dlib.rectangle], bool]:
        """Faces of the whole frame (reduced copy; with ``retry``, the full-resolution retry
        when that finds none), and whether the retry ran."""
        h, w = frame.shape[:2]
        scale = 1.0
        if self.detect_max_side and max(h, w) > self.detect_max_side:
            scale = self.detect_max_side / max(h, w)
        small = frame if scale == 1.0 else cv2.resize(
            frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        rects = [_scale_rect(r, 1 / scale) for r in self.detector(small, self.upsample)]
        if rects or not retry or (scale == 1.0 and self.upsample >= self.fallback_upsample):
            return rects, False
        self.n_fallbacks += 1
        return list(self.detector(frame, self.fallback_upsample)), True

    def landmarks(self, frame: np.ndarray, rect: dlib.rectangle) -> np.ndarray:
        """(68, 2) float landmarks of the face in ``rect``, frame coordinates."""
        shape = self.predictor(frame, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def crop_matrix(self, landmarks: np.ndarray) -> np.ndarray:
        """(2, 3) similarity mapping frame pixels to crop pixels for ``landmarks`` (68, 2)."""
        return similarity_transform(landmark_points(landmarks), self.target)

    def warp(self, frame: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crop aligned on ``landmarks`` (68, 2) and the landmarks in crop coordinates."""
        m = self.crop_matrix(landmarks)
        size = (self.image_size, self.image_size)
        crop = cv2.warpAffine(frame, m, size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        return crop, landmarks @ m[:, :2].T + m[:, 2]

    def align(self, frame: np.ndarray) -> AlignedFace | None:
        """Detect, keep the largest face, fit landmarks and warp; None when no face is found.

        Args:
            frame: (H, W, 3) RGB uint8.
        """
        frame = np.ascontiguousarray(frame)
        rects, fallback = self.detect(frame)
        self._last = max(rects, key=lambda r: r.width() * r.height()) if rects else None
        if not rects:
            return None
        rect = self._last
        landmarks = self.landmarks(frame, rect)
        crop, points = self.warp(frame, landmarks)
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        return AlignedFace(crop, points, box, len(rects), fallback, self.crop_matrix(landmarks))

    def align_all(self, frame: np.ndarray) -> list[AlignedFace]:
        """Every face of a frame: first the one :meth:`align` keeps (tracked, unchanged), then
        the other faces of the whole frame, largest first; ``n_faces`` of each is their count.

        A face of the whole-frame search overlapping the tracked one (:func:`same_face`) is that
        face. The whole frame is searched on the reduced copy; the full-resolution retry runs
        only when no face at all is found, as in :meth:`align`.

        Args:
            frame: (H, W, 3) RGB uint8.
        """
        frame = np.ascontiguousarray(frame)
        first = self.align(frame)
        if first is None:  # align searched the whole frame, retry included
            return []
        rects, fallback = self._frame_rects, first.fallback  # align's whole-frame search
        if rects is None:  # the tracked region sufficed: search the rest of the frame
            (rects, _), fallback = self._detect_frame(frame, retry=False), False
        others = sorted((r for r in rects if not same_face(_box(r), first.box)),
                        key=lambda r: -r.width() * r.height())
        faces = [first]
        for rect in others:
            landmarks = self.landmarks(frame, rect)
            crop, points = self.warp(frame, landmarks)
            faces.append(AlignedFace(crop, points, _box(rect), 0, fallback,
                                     self.crop_matrix(landmarks)))
        for face in faces:
            face.n_faces = len(faces)
        return faces


def _box(rect: dlib.rectangle) -> tuple[int, int, int, int]:
    return rect.left(), rect.top(), rect.right(), rect.bottom()


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes (0 when disjoint)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# Two detections of one frame are one face when they overlap at least this much (IoU), or
# when either's centre lies inside the other: the tracked region's detection (of a reduced
# region) and the whole frame's of the same face differ by a few pixels, two people's faces
# side by side do not overlap.
SAME_FACE_IOU = 0.3


def same_face(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two (left, top, right, bottom) boxes of one frame are one face."""
    def inside(p: tuple[float, ...], q: tuple[float, ...]) -> bool:
        cx, cy = (p[0] + p[2]) / 2, (p[1] + p[3]) / 2
        return q[0] <= cx <= q[2] and q[1] <= cy <= q[3]
    return box_iou(a, b) >= SAME_FACE_IOU or inside(a, b) or inside(b, a)


def _scale_rect(rect: dlib.rectangle, factor: float,
                offset: tuple[int, int] = (0, 0)) -> dlib.rectangle:
    """``rect`` scaled by ``factor`` then shifted by ``offset`` (x, y)."""
    dx, dy = offset
    return dlib.rectangle(round(rect.left() * factor) + dx, round(rect.top() * factor) + dy,
                          round(rect.right() * factor) + dx, round(rect.bottom() * factor) + dy)
