"""Parametric people for the demo datasets: identity, scene, motion and 68-point geometry.

A face is a 2-D landmark layout in dlib's 68-point order (face units: half the cheek width,
x right, y down, eye line at y = 0) with a depth per point, posed per frame by yaw, roll,
scale and position (orthographic projection). :mod:`jdfd_lib.demo.render` paints it; the
manipulations of :mod:`jdfd_lib.demo.fakes` reuse the landmarks for warps and masks. Identities
and scenes are drawn from a numpy Generator, so a seed fixes every frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

N_LANDMARKS = 68
# Colour palettes (BGR, 0..1) the identities draw from.
SKIN_TONES = np.array([[0.76, 0.84, 0.96], [0.62, 0.74, 0.90], [0.50, 0.63, 0.82],
                       [0.38, 0.50, 0.70], [0.26, 0.36, 0.52], [0.58, 0.72, 0.86]])
HAIR_COLOURS = np.array([[0.08, 0.08, 0.09], [0.10, 0.16, 0.26], [0.16, 0.26, 0.40],
                         [0.35, 0.55, 0.72], [0.12, 0.22, 0.55], [0.55, 0.56, 0.58]])
IRIS_COLOURS = np.array([[0.10, 0.20, 0.32], [0.55, 0.40, 0.20], [0.30, 0.45, 0.25],
                         [0.15, 0.30, 0.40], [0.40, 0.40, 0.38]])


@dataclass(frozen=True)
class Identity:
    """Shape and appearance of one person (all lengths in face half-widths)."""

    jaw_width: float  # width of the lower jaw relative to the cheeks
    jaw_power: float  # < 1 round jaw, > 1 square jaw
    chin_y: float  # chin below the eye line
    eye_x: float  # half the distance between the eye centres
    eye_y: float
    eye_w: float
    eye_h: float
    brow_gap: float  # brow above the eye centre
    brow_thick: float
    brow_arch: float
    nose_y: float  # nose tip below the eye line
    nose_w: float
    mouth_y: float
    mouth_w: float
    lip_upper: float
    lip_lower: float
    fringe_y: float  # hair line (negative: above the eyes)
    hair_volume: float
    long_hair: bool
    skin: tuple[float, float, float]
    lips: tuple[float, float, float]
    hair: tuple[float, float, float]
    iris: tuple[float, float, float]
    sclera: float
    skin_texture_seed: int = 0  # seeds the fine skin texture (pores, shading grain)


@dataclass(frozen=True)
class Scene:
    """Background, light and motion of one video (pixel units where stated)."""

    bg_a: tuple[float, float, float]
    bg_b: tuple[float, float, float]
    bg_angle: float
    bg_texture_seed: int
    clothes: tuple[float, float, float]
    light: tuple[float, float]  # direction (x, y) of the brighter side, unit length
    light_strength: float
    cx: float  # mean face centre, px
    cy: float
    scale: float  # face half-width, px
    drift: tuple[float, float, float, float]  # x amplitude, y amplitude (px), x/y frequencies
    phase: tuple[float, float, float, float]
    yaw0: float  # degrees
    yaw_amp: float
    roll0: float
    roll_amp: float
    talk_rate: float  # Hz of the mouth movement
    talk_amp: float
    blinks: tuple[float, ...]  # blink start times, s


@dataclass(frozen=True)
class Pose:
    """Pose and expression of one frame."""

    cx: float
    cy: float
    scale: float
    yaw: float  # degrees
    roll: float  # degrees
    mouth_open: float  # face half-widths
    blink: float  # 0 open .. 1 closed


def _pick(rng: np.random.Generator, palette: np.ndarray, jitter: float) -> tuple:
    colour = palette[rng.integers(len(palette))] + rng.normal(0, jitter, 3)
    return tuple(float(c) for c in np.clip(colour, 0.02, 0.98))


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw one identity."""
    u = rng.uniform
    skin = np.array(_pick(rng, SKIN_TONES, 0.03))
    lips = np.clip(skin * np.array([0.62, 0.58, 0.92]) + rng.normal(0, 0.02, 3), 0, 1)
    return Identity(
        jaw_width=u(0.72, 0.92), jaw_power=u(0.8, 1.3), chin_y=u(0.95, 1.1),
        eye_x=u(0.36, 0.44), eye_y=u(-0.04, 0.04), eye_w=u(0.26, 0.32), eye_h=u(0.10, 0.13),
        brow_gap=u(0.2, 0.27), brow_thick=u(0.05, 0.085), brow_arch=u(0.03, 0.08),
        nose_y=u(0.36, 0.46), nose_w=u(0.16, 0.22), mouth_y=u(0.66, 0.74),
        mouth_w=u(0.26, 0.34), lip_upper=u(0.05, 0.075), lip_lower=u(0.06, 0.09),
        fringe_y=u(-0.95, -0.6), hair_volume=u(1.04, 1.2), long_hair=bool(rng.random() < 0.4),
        skin=tuple(float(c) for c in skin), lips=tuple(float(c) for c in lips),
        hair=_pick(rng, HAIR_COLOURS, 0.03), iris=_pick(rng, IRIS_COLOURS, 0.04),
        sclera=u(0.82, 0.94), skin_texture_seed=int(rng.integers(2**31)),
    )


def sample_scene(rng: np.random.Generator, width: int, height: int,
                 face_height: tuple[float, float]) -> Scene:
    """Draw a background, light and motion for a ``width`` x ``height`` video.

    Args:
        rng: the video's random stream.
        width, height: frame size, px.
        face_height: range of the brow-to-chin height as a fraction of the frame height.
    """
    u = rng.uniform
    # brow-to-chin spans about 1.45 face half-widths
    scale = u(*face_height) * height / 1.45
    angle = u(0, 2 * np.pi)
    return Scene(
        bg_a=tuple(float(c) for c in rng.uniform(0.1, 0.9, 3)),
        bg_b=tuple(float(c) for c in rng.uniform(0.1, 0.9, 3)),
        bg_angle=u(0, 2 * np.pi), bg_texture_seed=int(rng.integers(2**31)),
        clothes=tuple(float(c) for c in rng.uniform(0.05, 0.8, 3)),
        light=(float(np.cos(angle)), float(np.sin(angle))), light_strength=u(0.08, 0.22),
        cx=width / 2 + u(-0.12, 0.12) * width, cy=height * u(0.5, 0.56), scale=scale,
        drift=(u(0.01, 0.04) * width, u(0.005, 0.02) * height, u(0.1, 0.35), u(0.1, 0.35)),
        phase=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 4)),
        yaw0=u(-8, 8), yaw_amp=u(2, 8), roll0=u(-5, 5), roll_amp=u(1, 4),
        talk_rate=u(2.0, 4.0), talk_amp=u(0.05, 0.12),
        blinks=tuple(float(t) for t in np.sort(rng.uniform(0, 6, rng.integers(1, 4)))),
    )


def pose_at(scene: Scene, t: float) -> Pose:
    """The pose and expression at time ``t`` (seconds): smooth drift, sway, talk, blinks."""
    ax, ay, fx, fy = scene.drift
    p = scene.phase
    talk = max(0.0, np.sin(2 * np.pi * scene.talk_rate * t + p[2]) +
               0.5 * np.sin(2 * np.pi * 1.7 * scene.talk_rate * t + p[3]))
    blink = max([max(0.0, 1 - abs(t - b - 0.08) / 0.08) for b in scene.blinks] + [0.0])
    return Pose(
        cx=scene.cx + ax * np.sin(2 * np.pi * fx * t + p[0]),
        cy=scene.cy + ay * np.sin(2 * np.pi * fy * t + p[1]),
        scale=scene.scale * (1 + 0.02 * np.sin(2 * np.pi * 0.3 * t + p[2])),
        yaw=scene.yaw0 + scene.yaw_amp * np.sin(2 * np.pi * 0.23 * t + p[1]),
        roll=scene.roll0 + scene.roll_amp * np.sin(2 * np.pi * 0.17 * t + p[0]),
        mouth_open=scene.talk_amp * min(talk, 1.0), blink=float(blink),
    )


# ----------------------------------------------------------------------------- geometry
def _depth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth of a point on the face surface: a rounded ellipsoid-like front."""
    return 0.55 * np.sqrt(np.clip(1 - 0.85 * x**2 - 0.12 * y**2, 0, 1))


def _eye(cx: float, cy: float, w: float, h: float) -> list:
    """Six eye points in dlib order: left corner, two upper, right corner, two lower."""
    return [(cx - w / 2, cy), (cx - w / 6, cy - h / 2), (cx + w / 6, cy - h / 2),
            (cx + w / 2, cy), (cx + w / 6, cy + h / 2), (cx - w / 6, cy + h / 2)]


def landmarks_2d(ident: Identity, mouth_open: float, blink: float) -> np.ndarray:
    """(68, 2) frontal landmarks in face units, dlib's order (x right, y down, eye line y=0)."""
    t = np.linspace(0, np.pi, 17)
    c = np.cos(t)
    # jaw 0-16: from the right temple of the image (x=-1) round the chin to x=+1
    shape = np.sign(c) * np.abs(c) ** ident.jaw_power
    narrow = 1 - (1 - ident.jaw_width) * np.sin(t) ** 2
    jaw = np.stack([-shape * narrow, -0.05 + (ident.chin_y + 0.05) * np.sin(t)], 1)
    brow_u = np.linspace(0, 1, 5)
    brow_y = ident.eye_y - ident.brow_gap - ident.brow_arch * np.sin(np.pi * brow_u)
    brow_r = np.stack([-ident.eye_x - 0.22 + 0.38 * brow_u, brow_y], 1)
    brow_l = np.stack([ident.eye_x - 0.16 + 0.38 * brow_u, brow_y[::-1]], 1)
    nose = [(0.0, ident.eye_y - 0.02 + k * (ident.nose_y - ident.eye_y - 0.02) / 3)
            for k in range(4)]
    nw = ident.nose_w
    nostrils = [(-nw, ident.nose_y + 0.02), (-nw / 2, ident.nose_y + 0.05),
                (0.0, ident.nose_y + 0.06), (nw / 2, ident.nose_y + 0.05),
                (nw, ident.nose_y + 0.02)]
    eh = ident.eye_h * (1 - 0.9 * blink)
    eyes = (_eye(-ident.eye_x, ident.eye_y, ident.eye_w, eh) +
            _eye(ident.eye_x, ident.eye_y, ident.eye_w, eh))
    return np.concatenate([jaw, brow_r, brow_l, nose, nostrils, eyes,
                           _mouth(ident, mouth_open)]).astype(np.float64)


def _mouth(ident: Identity, open_: float) -> np.ndarray:
    """Points 48-67: outer lips (12) then inner lips (8)."""
    w, y, up, lo = ident.mouth_w, ident.mouth_y, ident.lip_upper, ident.lip_lower
    lo_y = y + open_  # the lower lip drops as the mouth opens
    outer = [(-w, y), (-0.6 * w, y - 0.8 * up), (-0.22 * w, y - up), (0, y - 0.85 * up),
             (0.22 * w, y - up), (0.6 * w, y - 0.8 * up), (w, y),
             (0.6 * w, lo_y + 0.85 * lo), (0.22 * w, lo_y + lo), (0, lo_y + 1.02 * lo),
             (-0.22 * w, lo_y + lo), (-0.6 * w, lo_y + 0.85 * lo)]
    inner = [(-0.85 * w, y), (-0.35 * w, y - 0.1 * up), (0, y - 0.1 * up), (0.35 * w, y - 0.1 * up),
             (0.85 * w, y), (0.35 * w, lo_y), (0, lo_y), (-0.35 * w, lo_y)]
    return np.array(outer + inner)


def head_outline(ident: Identity, jaw: np.ndarray) -> np.ndarray:
    """Closed head contour: the jaw (0-16) then the skull over the top, in face units."""
    t = np.linspace(0, np.pi, 15)[1:-1]
    top = np.stack([np.cos(t) * 1.0, -0.05 - 1.2 * np.sin(t)], 1)  # from x=+1 over to x=-1
    return np.concatenate([jaw, top])


def fringe(ident: Identity, volume: float = 1.0) -> np.ndarray:
    """Hair polygon over the forehead: the skull top (grown by ``volume``) and a wavy hair line."""
    t = np.linspace(-0.1, np.pi + 0.1, 21)
    top = np.stack([np.cos(t) * 1.02 * volume, -0.05 - 1.2 * volume * np.sin(t)], 1)
    x = np.linspace(-1.05, 1.05, 15)
    wave = 0.04 * np.sin(9 * x) - 0.5 * (1 - x**2) * (ident.fringe_y + 0.95) * 0.3
    line = np.stack([x, np.clip(ident.fringe_y + wave + 0.45 * x**4, -2, -0.15)], 1)
    return np.concatenate([top, line])


def project(points: np.ndarray, pose: Pose, depth: np.ndarray | None = None) -> np.ndarray:
    """Face units (N, 2) -> pixels (N, 2): yaw about the vertical axis, roll, scale, shift."""
    z = _depth(points[:, 0], points[:, 1]) if depth is None else depth
    yaw, roll = np.radians(pose.yaw), np.radians(pose.roll)
    x = points[:, 0] * np.cos(yaw) + z * np.sin(yaw)
    y = points[:, 1]
    cr, sr = np.cos(roll), np.sin(roll)
    return np.stack([pose.cx + pose.scale * (cr * x - sr * y),
                     pose.cy + pose.scale * (sr * x + cr * y)], 1)


def nose_depth(n: int) -> np.ndarray:
    """Extra depth of landmarks 27-35 (the nose sticks out of the face)."""
    d = np.zeros(n)
    d[27:31] = [0.05, 0.12, 0.2, 0.28]
    d[31:36] = [0.1, 0.16, 0.2, 0.16, 0.1]
    return d


def face_landmarks(ident: Identity, pose: Pose) -> np.ndarray:
    """(68, 2) landmark pixels of ``ident`` in ``pose``."""
    pts = landmarks_2d(ident, pose.mouth_open, pose.blink)
    z = _depth(pts[:, 0], pts[:, 1]) + nose_depth(len(pts))
    return project(pts, pose, z)


def with_expression(pose: Pose, other: Pose) -> Pose:
    """``pose`` with the mouth and eyes of ``other`` (used for re-enactment)."""
    return replace(pose, mouth_open=other.mouth_open, blink=other.blink)
