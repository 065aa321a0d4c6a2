"""Frame sampling and reading for the pre-processing step (paper Sec. 3.1, 4.1).

The paper takes 300 frames per video; we take N evenly spaced frame numbers and decode only
up to the last of them: OpenCV's ``grab()`` advances past unwanted frames without the colour
conversion and copy, ``retrieve()`` converts only the wanted ones, so no more than one frame
is ever held. Sequential grabbing is frame-exact; container seeking is not for every codec,
and for H.264 with long GOPs it is also slower (each seek decodes from the previous keyframe;
BENCHMARKS.md, face extraction), so it is not used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np


class VideoReadError(RuntimeError):
    """A video that cannot be opened or decoded (zero-byte, truncated, corrupt)."""


def sample_frame_indices(n_frames: int, n: int) -> list[int]:
    """N evenly spaced frame numbers in ``[0, n_frames)``; all frames if there are fewer.

    Frame ``i`` of the sample is ``floor((i + 0.5) * n_frames / n)``: the centre of the
    ``i``-th of ``n`` equal slices of the video, so the spacing is ``n_frames / n``.

    Args:
        n_frames: frames in the video.
        n: frames wanted (the paper: 300).

    Returns:
        Sorted, unique frame numbers.
    """
    if n_frames < 0 or n < 1:
        raise ValueError(f"need n_frames >= 0 and n >= 1, got {n_frames}, {n}")
    if n_frames <= n:
        return list(range(n_frames))
    return [int((i + 0.5) * n_frames / n) for i in range(n)]


def _open(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise VideoReadError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(f"{path}: zero-byte file; expected a video")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(f"{path}: cannot be opened as a video (corrupt or unsupported)")
    return cap


def frame_count(path: str | os.PathLike) -> int:
    """Number of frames the container reports (may be off; :func:`read_frames` copes).

    Raises:
        VideoReadError: the file is missing, empty, unreadable, or reports no frames.
    """
    path = Path(path)
    cap = _open(path)
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    if n <= 0:
        raise VideoReadError(f"{path}: the container reports no frames")
    return n


def read_frames(path: str | os.PathLike,
                indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame number, RGB uint8 (H, W, 3) frame)`` for the wanted frames, in order.

    A video shorter than its container claims ends early: the missing frames are simply
    not yielded (the caller counts them as read errors).

    Args:
        path: the video.
        indices: frame numbers wanted (any order; duplicates ignored).

    Raises:
        VideoReadError: the video cannot be opened, or not even its first frame decodes.
    """
    path = Path(path)
    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        return
    cap = _open(path)
    try:
        pos = 0
        for target in wanted:
            while pos <= target:
                if not cap.grab():
                    if pos == 0:
                        raise VideoReadError(f"{path}: no frame could be decoded (corrupt?)")
                    return  # short read: the container over-reported its frame count
                pos += 1
            ok, bgr = cap.retrieve()
            if not ok:
                raise VideoReadError(f"{path}: frame {target} could not be decoded")
            yield target, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def read_all_frames(path: str | os.PathLike) -> Iterator[tuple[int, np.ndarray]]:
    """Yield every frame in order with ``cap.read()`` (the plain reference of the benchmark)."""
    cap = _open(Path(path))
    try:
        pos = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            yield pos, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            pos += 1
    finally:
        cap.release()
