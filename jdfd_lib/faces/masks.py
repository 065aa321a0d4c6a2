"""Manipulation masks of the face crops: official, derived, warped like the face (LAE targets).

A mask says which pixels of a fake frame were manipulated (255) and which are pristine (0).
It reaches a crop in two ways, chosen by ``ExtractConfig.masks``
(:class:`jdfd_lib.faces.crops.ExtractConfig`):

- ``official``: the dataset's mask video (FF++ ships one per fake of its four methods,
  ``manipulated_sequences/<Method>/masks/videos/<target>_<source>.mp4``; the demo writes them
  too), frame ``i`` for frame ``i``, read as luma > 127 (a binary mask survives H.264).
- ``derived``: where the dataset ships none (Celeb-DF, UADFV, DFDC), from the difference of the
  fake frame and the same frame of its pristine source video (``VideoRecord.source``), computed
  on the full frames around the detected face, thresholded and cleaned (:func:`derive_mask`).

Either way the frame mask is then warped with the very similarity transform that made the face
crop (:meth:`jdfd_lib.faces.align.FaceAligner.crop_matrix`; bilinear, then thresholded at one
half, so its edge lands where the frame's edge maps, to a fraction of a pixel; outside the frame
is pristine) and stored beside the crop as a one-channel 0/255 PNG ``<frame>_mask.png``.
Pristine videos get no mask file: nothing of them is manipulated.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from jdfd_lib.datasets.records import VideoRecord
from jdfd_lib.faces.index import read_index
from jdfd_lib.faces.video import FrameReader, VideoReadError

MASK_MODES = ("none", "official", "derived", "official+derived")
MASK_SUFFIX = "_mask.png"
# Default difference threshold of derived masks (0..1 intensity: the local mean of the largest
# channel difference, :func:`derive_mask`). Not stated by any dataset; chosen on the tiny
# demo's FF++ fakes (c23) against their exact masks (tests/test_masks.py): mean IoU 0.77 at
# 0.015, 0.81 at 0.02 (5 grey levels), 0.77 at 0.025, 0.70 at 0.03. Half of the changed pixels
# of the subtlest demo manipulations (Face2Face, NeuralTextures) differ by less than 0.02-0.03;
# codec errors on a real photograph reach ~0.04 at single pixels (~0.015 at the 99th
# percentile). Real footage may want more: calibrate on FF++'s official masks with
# :func:`derived_vs_true`.
DEFAULT_MASK_THRESHOLD = 0.02
# Sizes of the derivation in face widths (the detection box's width w; demo faces: ~120 px).
ROI_GROW = 0.6  # the search region: the box grown by 0.6 w per side (the crop lies inside)
BLUR = 0.008  # Gaussian sigma of both frames before the difference (at least 1 px)
AVERAGE = 0.008  # Gaussian sigma of the local mean of the difference (at least 1 px)
CLOSE = 0.12  # closing kernel: joins the sparse patches of a manipulation that changed little
OPEN = 0.03  # opening kernel: smooths the final outline (drops slivers)


def binarize(frame: np.ndarray) -> np.ndarray:
    """(H, W) bool of a mask frame ((H, W) grey or (H, W, 3) RGB uint8): luma > 127."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    return grey > 127


def warp_mask(mask: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """A frame mask warped like its face crop.

    Args:
        mask: (H, W) bool, frame coordinates.
        matrix: (2, 3) frame -> crop similarity of the crop.
        size: crop side.

    Returns:
        (size, size) uint8, 255 where the warped mask is at least one half.
    """
    warped = cv2.warpAffine(mask.astype(np.float32), matrix, (size, size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)  # (S, S) in 0..1
    return np.where(warped >= 0.5, np.uint8(255), np.uint8(0))


def _odd(px: float) -> int:
    return 2 * max(1, round(px / 2)) + 1


def _ellipse(px: float) -> np.ndarray:
    k = _odd(px)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """(h, w) uint8 0/255 with every region the border cannot reach filled."""
    outside = np.pad(mask, 1)  # (h + 2, w + 2): a background frame the flood starts from
    flood = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, flood, (0, 0), 128)
    return np.where(outside[1:-1, 1:-1] == 128, np.uint8(0), np.uint8(255))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """(h, w) uint8 0/255 keeping only the largest 8-connected component."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return mask
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.where(labels == best, np.uint8(255), np.uint8(0))


def derive_mask(fake: np.ndarray, pristine: np.ndarray, threshold: float,
                box: tuple[int, int, int, int]) -> np.ndarray:
    """Where a fake frame departs from its pristine frame, around the face.

    Steps (w = the face box's width):

    1. region: the box grown by :data:`ROI_GROW` w per side, clipped (the crop lies inside;
       elsewhere the mask is empty);
    2. difference: both frames blurred (Gaussian, sigma :data:`BLUR` w, at least 1 px), the
       largest absolute difference over the three channels, in 0..1, then its local mean
       (Gaussian, sigma :data:`AVERAGE` w, at least 1 px): a lost fine texture (a generator's
       low resolution) still counts, isolated codec errors (up to ~10 grey levels on real
       footage at c23) are spread thin;
    3. threshold: difference > ``threshold``;
    4. close (ellipse of :data:`CLOSE` w): joins the sparse patches of a manipulation that
       changed little in places (flat skin, where a blur or warp changes nothing);
    5. largest connected component: the manipulated face, not specks of codec noise;
    6. fill holes: eyes or mouth a manipulation kept inside the region it replaced;
    7. open (ellipse of :data:`OPEN` w): smooths the outline, drops slivers.

    Opening before closing would erase the sparse evidence of subtle manipulations (on the
    demo's Face2Face fakes the mean IoU fell from 0.8 to 0.1).

    Args:
        fake, pristine: (H, W, 3) uint8 frames of the same size (same frame index).
        threshold: difference threshold in 0..1.
        box: the detected face (left, top, right, bottom), frame coordinates.

    Returns:
        (H, W) bool.
    """
    h, w = fake.shape[:2]
    width = max(float(box[2] - box[0]), 1.0)
    grow = ROI_GROW * width
    x0, y0 = max(0, int(box[0] - grow)), max(0, int(box[1] - grow))
    x1, y1 = min(w, int(box[2] + grow) + 1), min(h, int(box[3] + grow) + 1)
    out = np.zeros((h, w), bool)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return out
    sigma = max(1.0, BLUR * width)
    a, b = (cv2.GaussianBlur(f[y0:y1, x0:x1].astype(np.float32), (0, 0), sigma)
            for f in (fake, pristine))  # (h', w', 3) each
    diff = np.abs(a - b).max(axis=2) / 255  # (h', w')
    diff = cv2.GaussianBlur(diff, (0, 0), max(1.0, AVERAGE * width))
    m = np.where(diff > threshold, np.uint8(255), np.uint8(0))
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, _ellipse(CLOSE * width))
    m = _fill_holes(_largest_component(m))
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, _ellipse(OPEN * width))
    out[y0:y1, x0:x1] = m > 0
    return out


def _as_bool(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    return mask > 127 if mask.dtype == np.uint8 else mask.astype(bool)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two same-shape masks (bool, or uint8 0/255 read as > 127);
    1.0 when both are empty (they agree: nothing manipulated)."""
    a, b = _as_bool(a), _as_bool(b)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


# ----------------------------------------------------------------------------- reading videos
class FrameCursor:
    """The frames of one video in increasing order, decoded on demand
    (:class:`jdfd_lib.faces.video.FrameReader`: OpenCV, or PyAV where OpenCV fails, with a
    warning); asking for an earlier frame starts over."""

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path, self.what = Path(path), what
        self.reader: FrameReader | None = None
        self.last = -1  # the frame asked last

    def get(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as (H, W, 3) RGB uint8, or None past the video's end.

        Raises:
            VideoReadError: the video cannot be opened (the message names it and its role).
        """
        if self.reader is None or index < self.last:
            self.close()
            try:
                self.reader = FrameReader(self.path)
            except VideoReadError as err:
                raise VideoReadError(f"{err}; expected {self.what}") from None
        self.last = index
        return self.reader.get(index)

    def close(self) -> None:
        """Release the video."""
        if self.reader is not None:
            self.reader.close()
        self.reader, self.last = None, -1


def read_frame(path: str | os.PathLike, index: int, what: str) -> np.ndarray | None:
    """Frame ``index`` of a video as (H, W, 3) RGB uint8, or None past its end."""
    cursor = FrameCursor(path, what)
    try:
        return cursor.get(index)
    finally:
        cursor.close()


@dataclass
class MaskMaker:
    """The mask crops of one video's faces: each frame's mask from the first provider that has
    one, official (the mask video) before derived (the pristine video); a context manager.

    Attributes:
        official: cursor over the record's mask video, or None.
        pristine: cursor over the record's pristine source video (derivation), or None.
        threshold: difference threshold of derived masks.
    """

    official: FrameCursor | None
    pristine: FrameCursor | None
    threshold: float = DEFAULT_MASK_THRESHOLD

    def providers(self) -> list[str]:
        """The mask sources in play, in order of preference."""
        return [n for n, c in (("official", self.official), ("derived", self.pristine)) if c]

    def frame_mask(self, index: int, frame: np.ndarray,
                   box: tuple[int, int, int, int]) -> tuple[np.ndarray, str] | None:
        """(H, W) bool mask of frame ``index`` (``frame``: (H, W, 3) RGB) and its source."""
        if self.official is not None:
            found = self.official.get(index)
            if found is not None:
                mask = binarize(found)
                if mask.shape != frame.shape[:2]:  # a mask video of another size: scaled
                    mask = cv2.resize(mask.astype(np.uint8), frame.shape[1::-1],
                                      interpolation=cv2.INTER_NEAREST) > 0
                return mask, "official"
        if self.pristine is not None:
            clean = self.pristine.get(index)
            if clean is not None and clean.shape == frame.shape:
                return derive_mask(frame, clean, self.threshold, box), "derived"
        return None

    def __call__(self, index: int, frame: np.ndarray, box: tuple[int, int, int, int],
                 matrix: np.ndarray, size: int) -> tuple[np.ndarray, str] | None:
        """The (size, size) uint8 0/255 mask crop of a face and its source, or None."""
        found = self.frame_mask(index, frame, box)
        return None if found is None else (warp_mask(found[0], matrix, size), found[1])

    def __enter__(self) -> MaskMaker:
        return self

    def __exit__(self, *exc) -> None:
        for cursor in (self.official, self.pristine):
            if cursor is not None:
                cursor.close()


def mask_maker(rec: VideoRecord, mode: str,
               threshold: float = DEFAULT_MASK_THRESHOLD) -> MaskMaker | None:
    """The :class:`MaskMaker` of a record under ``mode`` (:data:`MASK_MODES`), or None when no
    mask applies: a pristine video, ``"none"``, or no mask video / pristine source known."""
    if rec.label != 1 or mode == "none":
        return None
    official = rec.mask if mode in ("official", "official+derived") else None
    pristine = rec.source if mode in ("derived", "official+derived") else None
    if official is None and pristine is None:
        return None
    return MaskMaker(
        None if official is None else FrameCursor(official, "the fake's mask video"),
        None if pristine is None else FrameCursor(pristine, "the fake's pristine video"),
        threshold)


def mask_providers(rec: VideoRecord, mode: str) -> list[str]:
    """The mask sources a record has under ``mode`` (what its metadata must record)."""
    maker = mask_maker(rec, mode)
    return maker.providers() if maker else []


def write_mask_crop(folder: Path, frame: int, mask: np.ndarray, source: str,
                    matrix: np.ndarray) -> dict:
    """Write ``<frame:06d>_mask.png`` (one channel, 0/255, lossless) into ``folder``.

    Returns:
        The frame's metadata entries: ``mask`` (file name), ``mask_source`` and ``matrix``
        (the (2, 3) frame -> crop transform, so the mask can be made again).

    Raises:
        OSError: the file could not be written.
    """
    name = f"{frame:06d}{MASK_SUFFIX}"
    if not cv2.imwrite(str(folder / name), mask):
        raise OSError(f"{folder / name}: could not write the mask crop")
    return {"mask": name, "mask_source": source, "matrix": np.round(matrix, 6).tolist()}


# ----------------------------------------------------------------------------- comparison
class NoOfficialMasksError(ValueError):
    """A prepared folder holds no crop with an official mask and a known pristine video."""


def derived_vs_true(faces_root: str | os.PathLike, n: int | None = 8,
                    threshold: float = DEFAULT_MASK_THRESHOLD, seed: int = 0) -> pd.DataFrame:
    """Derived masks beside the official ones on the crops of a prepared dataset (FF++).

    The crops whose mask came from the mask video are drawn (``n`` of them, seeded; all with
    ``n=None``); for each, the fake and pristine frames are decoded again, a mask derived
    (:func:`derive_mask`) and warped with the crop's stored matrix.

    Args:
        faces_root: a prepared folder (``prepare``'s ``--out``) with official mask crops.
        n: crops to compare (None: all).
        threshold: the derivation's threshold.
        seed: seed of the draw.

    Returns:
        One row per crop: method, video, frame, iou, true_area and derived_area (shares of the
        crop), and the images to show: image (S, S, 3) RGB, true and derived (S, S) uint8, and
        pristine, the same frame of the pristine video warped like the crop ((S, S, 3) RGB;
        None where that frame cannot be read).

    Raises:
        NoOfficialMasksError: (a ValueError) the folder holds no crop with an official mask and
            a known pristine video.
    """
    root = Path(faces_root)
    rows = _official_rows(root)
    if not rows:
        raise NoOfficialMasksError(f"{root}: no crop with an official mask and a known "
                                   f"pristine video; expected a prepared FF++ folder (its mask "
                                   f"videos downloaded)")
    if n is not None and n < len(rows):
        pick = np.random.default_rng(seed).choice(len(rows), n, replace=False)
        rows = [rows[i] for i in sorted(pick)]
    return pd.DataFrame([_compare(root, meta, f, threshold) for meta, f in rows])


def _official_rows(root: Path) -> list[tuple[dict, dict]]:
    """(video metadata, frame entry) of every crop with an official mask, in index order."""
    df = read_index(root)
    rows = []
    for (method, video), _ in df[df["label"] == 1].groupby(["method", "video"], sort=True):
        meta = json.loads((root / "meta" / method / f"{video}.json").read_text())
        if meta.get("pristine"):
            rows += [(meta, f) for f in meta["frames"] if f.get("mask_source") == "official"]
    return rows


def _compare(root: Path, meta: dict, f: dict, threshold: float) -> dict:
    """One crop's row of :func:`derived_vs_true`."""
    folder = root / "crops" / meta["method"] / meta["video"]
    true = cv2.imread(str(folder / f["mask"]), cv2.IMREAD_GRAYSCALE)  # (S, S)
    image = cv2.cvtColor(cv2.imread(str(folder / f["file"])), cv2.COLOR_BGR2RGB)
    fake = read_frame(meta["source"], f["frame"], "the fake video")
    clean = read_frame(meta["pristine"], f["frame"], "the fake's pristine video")
    derived, matrix = np.zeros_like(true), np.array(f["matrix"])  # matrix: (2, 3) frame -> crop
    size = true.shape[0]
    pristine = None if clean is None else cv2.warpAffine(  # as FaceAligner.warp made the crop
        clean, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if fake is not None and clean is not None and fake.shape == clean.shape:
        frame_mask = derive_mask(fake, clean, threshold, tuple(f["box"]))
        derived = warp_mask(frame_mask, matrix, size)
    return {"method": meta["method"], "video": meta["video"], "frame": f["frame"],
            "iou": mask_iou(true, derived), "true_area": float((true > 127).mean()),
            "derived_area": float((derived > 127).mean()), "image": image, "true": true,
            "derived": derived, "pristine": pristine}
