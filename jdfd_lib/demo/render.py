"""Painting procedural talking faces for the demo datasets (stand-ins for paper Sec. 4.1 data).

The real FF++, Celeb-DF v2 and UADFV videos are gated, so the demo renders its own people.
The geometry of :mod:`jdfd_lib.demo.face_model` is painted with OpenCV: a shaded skin (soft
radial falloff plus a directional light), darker eye sockets, brows, a nose shadow and
nostrils, lips darker than the skin, eyes with sclera, iris and pupil, hair framing the
forehead, ears, neck and clothes, on a textured gradient background. These are the cues
dlib's HOG detector keys on (measured by ``benchmarks/demo_detection_rate.py``). The
renderer returns its own 68 landmarks per frame, which :mod:`jdfd_lib.demo.fakes` needs.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import cv2
import numpy as np

from jdfd_lib.demo.face_model import (
    Identity,
    Pose,
    Scene,
    face_landmarks,
    fringe,
    head_outline,
    landmarks_2d,
    project,
)

SUPERSAMPLE = 1  # faces may be painted at this multiple of the frame size, then area-reduced
# Fine skin grain (pores, uneven shading): real skin has detail at a few pixels that a face
# generator working at a lower resolution loses, the cue that detectors of swapped faces
# learn. The grain is band-pass noise (a difference of Gaussians, sigmas TEXTURE_GRAIN and
# twice that, in face half-widths): 0.025 is ~1.3 px at the demo's face sizes, so its energy
# lies at periods of ~4-12 px, which the 64 px network input keeps (2 frame px per input px)
# and a generator at a quarter of the face's resolution loses. Amplitude: relative to the
# skin shade; stronger grain costs dlib detections (frontal detector, 60 test frames: 58
# found at 0.05, 57 at 0.06 with grain 0.035; 31 of 40 at 0.10).
SKIN_TEXTURE = 0.06
TEXTURE_GRAIN = 0.025
TEXTURE_SPAN, TEXTURE_TEXELS = 3.2, 192  # the texture covers +-1.6 half-widths, 192 texels


# ----------------------------------------------------------------------------- painting
def background(scene: Scene, width: int, height: int) -> np.ndarray:
    """(H, W, 3) float32 BGR: a two-colour gradient with a low-frequency texture."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    d = (np.cos(scene.bg_angle) * xx + np.sin(scene.bg_angle) * yy) / max(width, height)
    d = (d - d.min()) / max(float(np.ptp(d)), 1e-6)
    img = (1 - d)[..., None] * np.float32(scene.bg_a) + d[..., None] * np.float32(scene.bg_b)
    tex_rng = np.random.default_rng(scene.bg_texture_seed)
    tex = tex_rng.normal(0, 0.06, (6, 8, 3)).astype(np.float32)
    img += cv2.resize(tex, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 1).astype(np.float32)


def _poly(canvas: np.ndarray, pts: np.ndarray, colour, s: int) -> None:
    colour = tuple(float(c) for c in np.atleast_1d(colour))
    cv2.fillPoly(canvas, [np.round(pts * s * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)


def _mask(shape: tuple[int, int], pts: np.ndarray, s: int) -> np.ndarray:
    m = np.zeros(shape, np.float32)
    _poly(m, pts, 1.0, s)
    return m


def _blend(canvas: np.ndarray, mask: np.ndarray, colour) -> None:
    canvas *= 1 - mask[..., None]
    canvas += mask[..., None] * np.asarray(colour, np.float32)


def paint_face(canvas: np.ndarray, ident: Identity, scene: Scene, pose: Pose,
               s: int = SUPERSAMPLE) -> np.ndarray:
    """Paint the person of ``ident`` in ``pose`` onto ``canvas`` (supersampled ``s`` times).

    Args:
        canvas: (s*H, s*W, 3) float32 BGR in 0..1, modified in place.

    Returns:
        (68, 2) landmark pixels at frame (not supersampled) resolution.
    """
    hw = canvas.shape[:2]
    lm = face_landmarks(ident, pose)
    pts2d = landmarks_2d(ident, pose.mouth_open, pose.blink)
    head = project(head_outline(ident, pts2d[:17]), pose)
    hair = np.float32(ident.hair)
    skin = np.float32(ident.skin)
    sc = pose.scale
    # hair behind the head, neck and clothes
    back = project(fringe(ident, ident.hair_volume)[:21], pose)
    if ident.long_hair:
        back = np.concatenate([back, project(np.array([[-1.15, 1.4], [1.15, 1.4]]), pose)])
    _poly(canvas, back, hair * 0.8, s)
    neck = project(np.array([[-0.5, 0.6], [0.5, 0.6], [0.55, 2.5], [-0.55, 2.5]]), pose)
    _poly(canvas, neck, skin * 0.62, s)
    body = project(np.array([[-2.4, 3.5], [-2.0, 1.75], [-0.5, 1.45], [0.5, 1.45],
                             [2.0, 1.75], [2.4, 3.5]]), pose)
    _poly(canvas, body, scene.clothes, s)
    for side in (-1, 1):  # ears
        ear = project(np.array([[side * 0.93, 0.0], [side * 1.1, -0.05], [side * 1.12, 0.25],
                                [side * 0.95, 0.42]]), pose)
        _poly(canvas, ear, skin * 0.8, s)
    # everything else is painted inside the head's bounding box (a view of the canvas)
    x0, y0, x1, y1 = _box(np.concatenate([head, back]), s, hw, margin=0.15 * sc)
    roi = canvas[y0:y1, x0:x1]
    shift = np.array([x0, y0]) / s
    local = replace(pose, cx=pose.cx - shift[0], cy=pose.cy - shift[1])
    _paint_skin(roi, skin, scene, local, head - shift, s, ident.skin_texture_seed)
    _paint_features(roi, ident, local, lm - shift, s)
    _poly(roi, project(fringe(ident), local), hair, s)
    return lm


def _box(pts: np.ndarray, s: int, hw: tuple[int, int], margin: float) -> tuple[int, ...]:
    """Integer (x0, y0, x1, y1) canvas box around frame-pixel points, clipped to the canvas."""
    lo = np.floor((pts.min(0) - margin) * s).astype(int)
    hi = np.ceil((pts.max(0) + margin) * s).astype(int)
    return (max(lo[0], 0), max(lo[1], 0), min(hi[0], hw[1]), min(hi[1], hw[0]))


@functools.lru_cache(maxsize=256)
def skin_texture(seed: int) -> np.ndarray:
    """(T, T) float32 zero-mean, unit-std grain of one identity, in face coordinates."""
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((TEXTURE_TEXELS, TEXTURE_TEXELS)).astype(np.float32)
    sigma = TEXTURE_GRAIN / (TEXTURE_SPAN / TEXTURE_TEXELS)  # in texels
    t = cv2.GaussianBlur(t, (0, 0), sigma) - cv2.GaussianBlur(t, (0, 0), 2 * sigma)  # band-pass
    return (t - t.mean()) / max(float(t.std()), 1e-6)


def texture_at(seed: int, pose: Pose, hw: tuple[int, int], s: int) -> np.ndarray:
    """(H, W) grain of identity ``seed`` as it lies on the face in ``pose`` (moves, turns and
    scales with the head; the inverse of :func:`jdfd_lib.demo.face_model.project` without yaw)."""
    ys, xs = np.mgrid[0:hw[0], 0:hw[1]].astype(np.float32)
    dx, dy = xs / s - np.float32(pose.cx), ys / s - np.float32(pose.cy)
    roll = np.radians(pose.roll)
    cr, sr = np.float32(np.cos(roll)), np.float32(np.sin(roll))
    to_texel = np.float32(TEXTURE_TEXELS / TEXTURE_SPAN / pose.scale)
    u = (cr * dx + sr * dy) * to_texel + TEXTURE_TEXELS / 2  # face units -> texels
    v = (-sr * dx + cr * dy) * to_texel + TEXTURE_TEXELS / 2
    return cv2.remap(skin_texture(seed), u, v, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT_101)


def _paint_skin(canvas: np.ndarray, skin: np.ndarray, scene: Scene, pose: Pose,
                head: np.ndarray, s: int, texture_seed: int = 0) -> None:
    """Skin inside the head contour, shaded by a radial falloff and a directional light, with
    the identity's fine grain."""
    hw = canvas.shape[:2]
    sc = pose.scale
    face_m = _mask(hw, head, s)
    dist = cv2.distanceTransform((face_m > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    round_ = np.sqrt(np.clip(dist / (0.45 * sc * s), 0, 1))
    # light term: signed distance from the face centre along the light direction, (H, W)
    lx, ly = np.float32(scene.light) / np.float32(sc * s)
    xs = (np.arange(hw[1], dtype=np.float32) - np.float32(pose.cx * s)) * lx
    ys = (np.arange(hw[0], dtype=np.float32) - np.float32(pose.cy * s)) * ly
    direc = np.clip(ys[:, None] + xs[None, :], -1.3, 1.3)
    shade = (0.62 + 0.38 * round_) * (1 + np.float32(scene.light_strength) * direc)
    shade *= 1 + np.float32(SKIN_TEXTURE) * texture_at(texture_seed, pose, hw, s)
    canvas *= 1 - face_m[..., None]
    canvas += face_m[..., None] * (skin * shade[..., None])


def _darken(canvas: np.ndarray, shapes: list, amount: float, blur: float, s: int) -> None:
    """Multiply the canvas by ``1 - amount * blurred mask`` of ``shapes``, within their box.

    Args:
        shapes: ``(points, width)`` pairs in frame pixels: width None fills the polygon,
            otherwise a polyline of that width (canvas pixels) is drawn.
    """
    pts = np.concatenate([p for p, _ in shapes])
    x0, y0, x1, y1 = _box(pts, s, canvas.shape[:2], margin=2 * blur / s + 2)
    roi = canvas[y0:y1, x0:x1]
    m = np.zeros(roi.shape[:2], np.float32)
    shift = np.array([x0, y0]) / s
    for p, width in shapes:
        if width is None:
            _poly(m, p - shift, 1.0, s)
        else:
            cv2.polylines(m, [np.round((p - shift) * s * 16).astype(np.int32)], False, 1.0,
                          max(1, int(width)), cv2.LINE_AA, 4)
    k = int(blur) * 2 + 1
    m = cv2.GaussianBlur(m, (k, k), blur / 2)
    roi *= (1 - amount * m)[..., None]


def _paint_features(canvas: np.ndarray, ident: Identity, pose: Pose, lm: np.ndarray,
                    s: int) -> None:
    sc = pose.scale * s
    # eye sockets and the shadow under the brows
    for eye, brow in ((lm[36:42], lm[17:22]), (lm[42:48], lm[22:27])):
        socket = np.concatenate([brow, eye[[4, 5]][::-1] * 0.5 + eye[[3, 0]][::-1] * 0.5 +
                                 np.array([0, 0.06 * pose.scale])])
        _darken(canvas, [(socket, None)], 0.28, 0.12 * sc, s)
    # nose: shadow along the side away from the light, nostrils, and under the nose
    side = 1 if pose.yaw > 0 else -1
    ridge = lm[27:31] + np.array([side * 0.07 * pose.scale, 0])
    under = lm[31:36] + np.array([0, 0.02 * pose.scale])
    _darken(canvas, [(ridge, 0.06 * sc), (under, None)], 0.35, 0.05 * sc, s)
    for k in (32, 34):
        cv2.ellipse(canvas, (int(lm[k, 0] * s), int(lm[k, 1] * s)),
                    (max(1, int(0.035 * sc)), max(1, int(0.02 * sc))), pose.roll, 0, 360,
                    tuple(float(c) for c in np.float32(ident.skin) * 0.35), -1, cv2.LINE_AA)
    # brows: thick bars along the brow points, always darker than the skin (a HOG cue)
    brow_colour = np.minimum(np.float32(ident.hair) * 0.85, np.float32(ident.skin) * 0.5)
    for brow in (lm[17:22], lm[22:27]):
        thick = np.array([0, ident.brow_thick * pose.scale])
        _poly(canvas, np.concatenate([brow - thick / 2, (brow + thick / 2)[::-1]]),
              brow_colour, s)
    for eye in (lm[36:42], lm[42:48]):
        _paint_eye(canvas, ident, eye, pose, s)
    # lips and the open mouth
    _poly(canvas, lm[48:60], ident.lips, s)
    _poly(canvas, lm[60:68], (0.1, 0.08, 0.2), s)
    cv2.polylines(canvas, [np.round(lm[[48, 60, 61, 62, 63, 64, 54]] * s * 16).astype(np.int32)],
                  False, tuple(float(c) for c in np.float32(ident.lips) * 0.5),
                  max(1, int(0.02 * sc)), cv2.LINE_AA, 4)


def _paint_eye(canvas: np.ndarray, ident: Identity, eye: np.ndarray, pose: Pose, s: int) -> None:
    x0, y0, x1, y1 = _box(eye, s, canvas.shape[:2], margin=2.0)
    canvas = canvas[y0:y1, x0:x1]  # a view: painting it paints the frame
    eye = eye - np.array([x0, y0]) / s
    m = _mask(canvas.shape[:2], eye, s)
    iris_layer = np.full_like(canvas, ident.sclera)
    centre = eye.mean(0) * s
    r = 0.4 * np.linalg.norm(eye[3] - eye[0]) * s
    cv2.circle(iris_layer, (int(centre[0]), int(centre[1])), int(r), ident.iris, -1, cv2.LINE_AA)
    cv2.circle(iris_layer, (int(centre[0]), int(centre[1])), int(r * 0.45), (0.03, 0.03, 0.03),
               -1, cv2.LINE_AA)
    canvas *= 1 - m[..., None]
    canvas += m[..., None] * iris_layer
    # upper lid and lashes: a dark line along the top of the eye
    cv2.polylines(canvas, [np.round(eye[[0, 1, 2, 3]] * s * 16).astype(np.int32)], False,
                  (0.06, 0.05, 0.05), max(1, int(0.025 * pose.scale * s)), cv2.LINE_AA, 4)


def render_frame(ident: Identity, scene: Scene, pose: Pose, bg: np.ndarray,
                 s: int = SUPERSAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """Render one frame.

    Args:
        bg: (H, W, 3) float32 background from :func:`background`.

    Returns:
        (H, W, 3) float32 BGR image in 0..1 and the (68, 2) landmark pixels.
    """
    h, w = bg.shape[:2]
    canvas = cv2.resize(bg, (w * s, h * s), interpolation=cv2.INTER_LINEAR)
    lm = paint_face(canvas, ident, scene, pose, s)
    img = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return img, lm


def to_uint8(img: np.ndarray, rng: np.random.Generator | None = None,
             noise: float = 0.0) -> np.ndarray:
    """float BGR 0..1 -> uint8 BGR, with optional Gaussian sensor noise (sigma in 0..1 units)."""
    if rng is not None and noise > 0:
        img = img + noise * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
