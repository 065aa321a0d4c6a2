"""Face manipulations of the demo datasets, one family per dataset (paper Sec. 4.1 data).

Each function turns one pristine frame into its fake, using renderings the demo controls
(:class:`FakeInputs`): the source identity painted in the target's pose and scene, the target
identity with the source's expression, and the source's own frame. The families follow the
real datasets so that cross-dataset evaluation (paper Table 2) measures a real shift:

- FF++ (four methods): ``deepfakes`` (identity swap of the inner face with autoencoder-like
  loss of detail and a colour mismatch), ``face2face`` (expression re-enactment by a
  landmark-driven piecewise-affine warp of mouth and eyes), ``faceswap`` (Delaunay-triangle
  warp of the source face, Poisson blending with ``cv2.seamlessClone``), ``neuraltextures``
  (re-rendered, smoothed and texture-shifted mouth region under a soft mask).
- UADFV: ``uadfv_swap``: low-resolution swapped face, colour mismatch, hard-ish elliptic edge.
- Celeb-DF v2: ``celebdf_swap``: Lab mean/std colour-corrected swap, feathered mask, small
  frame-to-frame jitter of mask and colour (temporal flicker).

Each function returns the fake and its alpha: the (H, W) float32 weight in 0..1 of the
manipulated content at every pixel (the blending masks it painted with; for Face2Face also the
warped triangles). :func:`true_mask` makes it the binary mask the demo writes in FF++'s
``masks/videos`` layout (:mod:`jdfd_lib.demo.generate`).

All images are (H, W, 3) float32 BGR in 0..1; landmarks (68, 2) pixels in dlib's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from jdfd_lib.datasets.ffpp import FFPP_METHODS

JAW, BROWS, MOUTH = slice(0, 17), slice(17, 27), slice(48, 68)
# The alpha above which a pixel counts as manipulated in the true mask: where the fake's
# content weighs at least as much as the pristine frame's.
MASK_ALPHA = 0.5
# A warped Face2Face triangle counts as manipulated when a corner moves this far (px): the
# warp moves the whole face a little, and sub-pixel shifts change no visible pixel.
WARP_MOVE_PX = 0.5

Fake = tuple[np.ndarray, np.ndarray]  # (H, W, 3) fake image, (H, W) alpha in 0..1


@dataclass(frozen=True)
class FakeConfig:
    """Strengths of the manipulations (none is stated by the datasets; demo defaults).

    Attributes:
        ae_pixels: side the Deepfakes face is squeezed to (its autoencoder's resolution).
        colour_mismatch: largest per-channel gain offset of the swapped face's colour.
        inner_scale: shrink of the swapped region about its centre (Deepfakes, Celeb-DF), so
            the target's own jaw line stays.
        feather: mask edge blur, as a fraction of the face width (Deepfakes, FaceSwap).
        celebdf_feather: the wider feathering of the Celeb-DF-like swap.
        celebdf_jitter: frame-to-frame jitter of the Celeb-DF mask size and colour gain.
        uadfv_pixels: side the UADFV face is squeezed to (its low-resolution generator).
        uadfv_edge: blur (px) of the UADFV elliptic mask edge: small, so the seam shows.
        uadfv_correction: share of the Lab colour correction applied to the UADFV swap
            (< 1 leaves a colour mismatch).
        mouth_blur: Gaussian sigma (px) smoothing the NeuralTextures mouth.
        texture_shift: shift (px) of the NeuralTextures texture.
        face2face_pixels: side the re-rendered Face2Face face is squeezed to (its model's
            texture resolution); the squeezed face replaces the inner face.
        faceswap_pixels: side the FaceSwap source face is squeezed to (the graphics model's
            texture resolution) before Poisson blending.
        neuraltextures_pixels: side the NeuralTextures face is squeezed to (its neural
            renderer's resolution) before the mouth is cut from it.
        celebdf_pixels: side the Celeb-DF face is squeezed to (its generator's resolution;
            closer to the frame's, so subtler than Deepfakes).

    Every generator here renders the face at a lower resolution than the frame's, as real
    ones do; the renderer's skin grain (:data:`jdfd_lib.demo.render.SKIN_TEXTURE`) is what that
    loses. Squeezes are face-box sides in pixels for the demo's face sizes (~110-130 px):
    about a quarter of them, as FF++'s 64 px Deepfakes generator on its ~250 px faces.
    """

    ae_pixels: int = 32
    colour_mismatch: float = 0.06
    inner_scale: float = 0.92
    feather: float = 0.06
    celebdf_feather: float = 0.12
    celebdf_jitter: float = 0.015
    uadfv_pixels: int = 36
    uadfv_edge: float = 1.5
    uadfv_correction: float = 0.5
    mouth_blur: float = 1.2
    texture_shift: float = 0.7
    face2face_pixels: int = 40
    faceswap_pixels: int = 36
    celebdf_pixels: int = 44
    neuraltextures_pixels: int = 30


@dataclass
class FakeInputs:
    """The pristine frame and the renderings a manipulation may draw on.

    Attributes:
        target, target_lm: the pristine frame and its landmarks.
        swapped, swapped_lm: the source identity in the target's pose, light and background.
        reenacted, reenacted_lm: the target identity with the source's mouth and eyes.
        source, source_lm: the source's own frame (its own pose and scene).
        gain: per-video colour gain (3,) of an uncorrected swap, near 1.
    """

    target: np.ndarray
    target_lm: np.ndarray
    swapped: np.ndarray | None = None
    swapped_lm: np.ndarray | None = None
    reenacted: np.ndarray | None = None
    reenacted_lm: np.ndarray | None = None
    source: np.ndarray | None = None
    source_lm: np.ndarray | None = None
    gain: np.ndarray | None = None


# ----------------------------------------------------------------------------- helpers
def face_width(lm: np.ndarray) -> float:
    """Jaw width in pixels (landmarks 0 to 16)."""
    return float(np.linalg.norm(lm[16] - lm[0]))


def inner_face(lm: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Points bounding the swapped region: jaw 1-15 and the brows (raised a little), shrunk
    by ``scale`` about their centre (< 1 keeps the target's own jaw line)."""
    up = np.array([0.0, -0.04 * face_width(lm)])
    pts = np.concatenate([lm[1:16], lm[BROWS] + up])
    c = pts.mean(0)
    return c + scale * (pts - c)


def hull_mask(shape: tuple[int, ...], pts: np.ndarray, blur: float = 0.0) -> np.ndarray:
    """(H, W) float32 mask of the convex hull of ``pts``, edge blurred by sigma ``blur`` px."""
    m = np.zeros(shape[:2], np.float32)
    hull = cv2.convexHull(np.round(pts * 16).astype(np.int32))
    cv2.fillConvexPoly(m, hull, 1.0, cv2.LINE_AA, 4)
    return _soften(m, blur)


def _soften(m: np.ndarray, blur: float) -> np.ndarray:
    if blur <= 0:
        return m
    k = 2 * int(3 * blur) + 1
    return cv2.GaussianBlur(m, (k, k), blur)


def composite(base: np.ndarray, top: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``top`` over ``base`` under a (H, W) alpha mask."""
    a = mask[..., None]
    return base * (1 - a) + top * a


def squeeze(img: np.ndarray, lm: np.ndarray, pixels: int) -> np.ndarray:
    """Reduce the face box to about ``pixels`` wide and back: a low-resolution generator."""
    x0, y0 = np.floor(lm.min(0) - 0.1 * face_width(lm)).astype(int).clip(0)
    x1, y1 = np.ceil(lm.max(0) + 0.1 * face_width(lm)).astype(int)
    out = img.copy()
    crop = out[y0:y1, x0:x1]
    f = pixels / max(crop.shape[1], 1)
    small = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    crop[:] = cv2.resize(small, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)
    return out


def triangles(pts: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(T, 3) vertex indices of the Delaunay triangulation of ``pts`` (N, 2) pixels."""
    h, w = shape[:2]
    sub = cv2.Subdiv2D((-w, -h, 3 * w, 3 * h))
    for p in pts:
        sub.insert((float(p[0]), float(p[1])))
    tri = sub.getTriangleList().reshape(-1, 3, 2)
    # vertex coordinates back to point indices (the outer virtual vertices match none)
    d = np.linalg.norm(tri[:, :, None, :] - pts[None, None].astype(np.float32), axis=-1)
    idx, near = d.argmin(-1), d.min(-1) < 1e-2
    return idx[near.all(1)]


def warp_triangles(src: np.ndarray, src_pts: np.ndarray, dst: np.ndarray, dst_pts: np.ndarray,
                   tris: np.ndarray, coverage: np.ndarray | None = None) -> np.ndarray:
    """Piecewise-affine warp: each triangle of ``src`` moved onto its ``dst_pts`` place.

    Triangles whose corners do not move are left as they are in ``dst``.

    Args:
        coverage: optional (H, W) float32, raised in place to the alpha of every triangle
            whose corners move more than :data:`WARP_MOVE_PX` (where the warp repaints).
    """
    out = dst.copy()
    for t in tris:
        s, d = src_pts[t].astype(np.float32), dst_pts[t].astype(np.float32)
        if src is dst and np.abs(s - d).max() < 0.05:
            continue
        x, y, w, h = cv2.boundingRect(np.round(d).astype(np.int32))
        x, y = max(x - 1, 0), max(y - 1, 0)
        w, h = min(w + 2, dst.shape[1] - x), min(h + 2, dst.shape[0] - y)
        if w <= 0 or h <= 0:
            continue
        m = cv2.getAffineTransform(s, d - np.float32([x, y]))
        patch = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
        tri_m = np.zeros((h, w), np.float32)
        cv2.fillConvexPoly(tri_m, np.round((d - [x, y]) * 16).astype(np.int32), 1.0,
                           cv2.LINE_AA, 4)
        roi = out[y:y + h, x:x + w]
        roi[:] = composite(roi, patch, tri_m)
        if coverage is not None and np.abs(s - d).max() > WARP_MOVE_PX:
            np.maximum(coverage[y:y + h, x:x + w], tri_m, out=coverage[y:y + h, x:x + w])
    return out


def with_border(lm: np.ndarray, grow: float = 0.35) -> np.ndarray:
    """The 68 landmarks plus 8 points on a box around the face, so a warp stays local."""
    c, r = lm.mean(0), (lm.max(0) - lm.min(0)) * (0.5 + grow)
    box = [(-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0)]
    return np.concatenate([lm, c + np.array(box) * r])


# ----------------------------------------------------------------------------- FF++
def deepfakes(x: FakeInputs, cfg: FakeConfig) -> Fake:
    """Identity swap into the inner face: autoencoder-like blur and a colour mismatch."""
    region = inner_face(x.target_lm, cfg.inner_scale)
    face = lab_transfer(x.swapped, x.target, hull_mask(x.target.shape, region))
    face = squeeze(face, x.target_lm, cfg.ae_pixels) * x.gain
    mask = hull_mask(x.target.shape, region, cfg.feather * face_width(x.target_lm))
    return composite(x.target, face, mask), mask


def face2face(x: FakeInputs, cfg: FakeConfig) -> Fake:
    """Expression re-enactment: warp the target's mouth and eyes onto the source's expression."""
    src, dst = with_border(x.target_lm), with_border(x.reenacted_lm)
    moved = np.zeros(x.target.shape[:2], np.float32)  # (H, W) alpha of the warped triangles
    warped = warp_triangles(x.target, src, x.target, dst, triangles(dst, x.target.shape), moved)
    face = squeeze(warped, x.reenacted_lm, cfg.face2face_pixels)
    region = inner_face(x.reenacted_lm, cfg.inner_scale)
    mask = hull_mask(x.target.shape, region, cfg.feather * face_width(x.reenacted_lm))
    # the warp's moves inside the face outline (before or after): the chin follows the mouth
    outline = hull_mask(x.target.shape, np.concatenate([x.target_lm[:27], x.reenacted_lm[:27]]))
    return composite(warped, face, mask), np.maximum(mask, moved * outline)


def faceswap(x: FakeInputs, cfg: FakeConfig) -> Fake:
    """Graphics swap: triangle warp of the source's own face, Poisson-blended into the target."""
    tris = triangles(x.target_lm, x.target.shape)
    warped = warp_triangles(x.source, x.source_lm, x.target, x.target_lm, tris)
    warped = squeeze(warped, x.target_lm, cfg.faceswap_pixels)
    mask = (hull_mask(x.target.shape, x.target_lm[:27]) > 0.5).astype(np.uint8) * 255
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    bx, by, bw, bh = cv2.boundingRect(mask)
    centre = (bx + bw // 2, by + bh // 2)
    alpha = mask.astype(np.float32) / 255  # Poisson blending changes the inside only
    out = cv2.seamlessClone(_u8(warped), _u8(x.target), mask, centre, cv2.NORMAL_CLONE)
    return out.astype(np.float32) / 255, alpha  # (seamlessClone erodes ``mask`` in place)


def neuraltextures(x: FakeInputs, cfg: FakeConfig) -> Fake:
    """Mouth re-rendering: the source's mouth motion, smoothed and texture-shifted."""
    k = 2 * int(3 * cfg.mouth_blur) + 1
    mouth = squeeze(x.reenacted, x.reenacted_lm, cfg.neuraltextures_pixels)
    mouth = cv2.GaussianBlur(mouth, (k, k), cfg.mouth_blur)
    shift = np.float32([[1, 0, cfg.texture_shift], [0, 1, cfg.texture_shift / 2]])
    mouth = cv2.warpAffine(mouth, shift, mouth.shape[1::-1], borderMode=cv2.BORDER_REFLECT_101)
    lm = x.reenacted_lm
    w = face_width(lm)
    region = np.concatenate([lm[MOUTH], lm[[5, 6, 7, 8, 9, 10, 11]], lm[[31, 35]]])
    c = region.mean(0)
    mask = hull_mask(x.target.shape, c + 1.25 * (region - c), 0.05 * w)
    return composite(x.target, mouth, mask), mask


# FF++ method (datasets.ffpp.FFPP_METHODS, in its order) -> its demo manipulation
FFPP_FAKES = dict(zip(FFPP_METHODS, (deepfakes, face2face, faceswap, neuraltextures),
                      strict=True))
# the renderings each manipulation reads from FakeInputs
NEEDS = {"Deepfakes": ("swapped",), "Face2Face": ("reenacted",), "FaceSwap": ("source",),
         "NeuralTextures": ("reenacted",), "uadfv": ("swapped",), "celebdf": ("swapped",)}


# ----------------------------------------------------------------------------- UADFV, Celeb-DF
def uadfv_swap(x: FakeInputs, cfg: FakeConfig) -> Fake:
    """Low-resolution swap with an uncorrected colour and a visible elliptic boundary."""
    pts = inner_face(x.target_lm).astype(np.float32)
    corrected = lab_transfer(x.swapped, x.target, hull_mask(x.target.shape, pts))
    a = cfg.uadfv_correction
    face = squeeze(a * corrected + (1 - a) * x.swapped, x.target_lm, cfg.uadfv_pixels) * x.gain
    (cx, cy), (a, b), angle = cv2.fitEllipse(pts)
    mask = np.zeros(x.target.shape[:2], np.float32)
    cv2.ellipse(mask, (int(cx), int(cy)), (int(a * 0.47), int(b * 0.47)), angle, 0, 360, 1.0, -1,
                cv2.LINE_AA)
    mask = _soften(mask, cfg.uadfv_edge)
    return composite(x.target, face, mask), mask


def lab_transfer(src: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Match ``src``'s Lab mean and std inside ``mask`` to ``ref``'s (Reinhard transfer)."""
    s_lab, r_lab = cv2.cvtColor(src, cv2.COLOR_BGR2Lab), cv2.cvtColor(ref, cv2.COLOR_BGR2Lab)
    sel = mask > 0.5
    s_mu, s_sd = s_lab[sel].mean(0), s_lab[sel].std(0) + 1e-3
    r_mu, r_sd = r_lab[sel].mean(0), r_lab[sel].std(0) + 1e-3
    out = (s_lab - s_mu) * (r_sd / s_sd) + r_mu
    return np.clip(cv2.cvtColor(out.astype(np.float32), cv2.COLOR_Lab2BGR), 0, 1)


def celebdf_swap(x: FakeInputs, cfg: FakeConfig, rng: np.random.Generator) -> Fake:
    """Colour-corrected swap with a feathered mask that flickers slightly from frame to frame."""
    lm = x.target_lm
    pts = inner_face(lm, cfg.inner_scale * (1 + rng.uniform(-1, 1) * cfg.celebdf_jitter))
    hard = hull_mask(x.target.shape, pts)
    face = squeeze(lab_transfer(x.swapped, x.target, hard), lm, cfg.celebdf_pixels)
    face = face * (1 + rng.uniform(-1, 1, 3).astype(np.float32) * cfg.celebdf_jitter)
    erode = int(cfg.celebdf_feather * face_width(lm))
    hard = cv2.erode(hard, np.ones((erode, erode), np.uint8))
    mask = _soften(hard, cfg.celebdf_feather * face_width(lm) / 2)
    return composite(x.target, face, mask), mask


def true_mask(alpha: np.ndarray) -> np.ndarray:
    """(H, W) uint8 mask, 255 where ``alpha`` >= :data:`MASK_ALPHA` (the manipulated pixels)."""
    return np.where(alpha >= MASK_ALPHA, np.uint8(255), np.uint8(0))


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
