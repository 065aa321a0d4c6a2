"""Frame sampling and reading for the pre-processing step (paper Sec. 3.1, 4.1).

The paper takes 300 frames per video; we take N evenly spaced frame numbers and decode only
up to the last of them: OpenCV's ``grab()`` advances past unwanted frames without the colour
conversion and copy, ``retrieve()`` converts only the wanted ones, so no more than one frame
is ever held. Sequential grabbing is frame-exact; container seeking is not for every codec,
and for H.264 with long GOPs it is also slower (each seek decodes from the previous keyframe;
BENCHMARKS.md, face extraction), so it is not used.

OpenCV is the first decoder (the paper's pipeline, and the committed results). Where it cannot
open a file, the container reports no frame count (a browser's WebM, written live, has no
duration) or not one frame decodes (AV1: this OpenCV build has no AV1 decoder), the video is
read with PyAV (its wheel has dav1d, libvpx, ...): :func:`probe_video` says so (``decoder``,
``note``: prepare's summary lists those videos, ``detect`` prints one line each), and when
neither decoder reads the file the error names it and what each found.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
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


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise VideoReadError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(f"{path}: zero-byte file; expected a video")


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` found: the frames, and the decoder that reads them."""

    n_frames: int
    decoder: str  # "opencv" or "pyav"
    note: str = ""  # why not OpenCV ("" when OpenCV reads it)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """The frame count of a video and the decoder to read it with: OpenCV if it opens the
    file, the container reports a frame count and the first frame decodes; else PyAV.

    PyAV's count is the container's where it has one, else (a WebM written live by a
    browser, without duration or index) one decoding pass over the whole video: it costs a
    full decode (one frame held at a time), once per such video.

    Raises:
        VideoReadError: the file is missing or empty, or neither decoder reads it (the message
            says what each found: no container, no video stream, no decoder for its codec,
            no decodable frame).
    """
    path = Path(path)
    _check_file(path)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            why = "OpenCV cannot open it"
        elif int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) <= 0:
            why = "OpenCV: the container reports no frame count"
        elif not cap.grab():
            why = "OpenCV decodes no frame"
        else:
            return VideoInfo(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), "opencv")
    finally:
        cap.release()
    with _PyAVFrames(path, why) as frames:
        n = frames.count()
        return VideoInfo(n, "pyav", f"{why} ({frames.codec}); decoded with PyAV")


def frame_count(path: str | os.PathLike) -> int:
    """Number of frames the container reports (may be off; :func:`read_frames` copes);
    counted by decoding with PyAV when OpenCV cannot tell (:func:`probe_video`).

    Raises:
        VideoReadError: the file is missing, empty, or unreadable by OpenCV and PyAV.
    """
    return probe_video(path).n_frames


class _PyAVFrames:
    """The frames of a video's first video stream decoded in order by PyAV (no seeking)."""

    def __init__(self, path: Path, why: str):
        self.path, self.why, self.pos, self.last = path, why, 0, None
        try:
            self.container = av.open(str(path))
        except (av.error.FFmpegError, OSError, ValueError):
            # neither OpenCV nor PyAV knows the container: the message of old, kept
            raise VideoReadError(f"{path}: cannot be opened as a video (corrupt or "
                                 f"unsupported)") from None
        if not self.container.streams.video:
            self.container.close()
            raise VideoReadError(f"{path}: holds no video stream ({why}; PyAV finds none)")
        self.stream = self.container.streams.video[0]
        context = self.stream.codec_context
        if context is None:  # FFmpeg knows the container but has no decoder for the codec
            self.container.close()
            raise VideoReadError(f"{path}: codec of its video stream: no decoder in OpenCV or "
                                 f"PyAV ({why})")
        # the format's name ("av1"), then the decoder's ("libdav1d")
        name = getattr(context.codec, "canonical_name", context.name)  # older PyAV: none
        self.codec = f"codec {name}, PyAV decoder {context.name}"
        self.stream.thread_type = "AUTO"
        self.frames = self.container.decode(self.stream)

    def __enter__(self) -> _PyAVFrames:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.container.close()

    def _next(self) -> bool:
        try:
            self.last = next(self.frames)
        except StopIteration:
            self.last = None
        except (av.error.FFmpegError, ValueError) as err:
            if self.pos == 0:
                raise VideoReadError(f"{self.path}: no frame could be decoded by OpenCV or "
                                     f"PyAV (corrupt?): {self.why}; PyAV ({self.codec}): "
                                     f"{getattr(err, 'strerror', None) or err}") from None
            self.last = None  # a damaged tail: a short read, as with OpenCV
        if self.last is None:
            if self.pos == 0:
                raise VideoReadError(f"{self.path}: no frame could be decoded by OpenCV or "
                                     f"PyAV ({self.codec}; corrupt?)")
            return False
        self.pos += 1
        return True

    def count(self) -> int:
        """The container's frame count, else the frames decoded to the end."""
        if self.stream.frames > 0:
            self._next()  # the first frame must decode
            return int(self.stream.frames)
        while self._next():
            pass
        return self.pos

    def get(self, index: int) -> np.ndarray | None:
        """RGB frame ``index`` (>= the last one asked), None past the end."""
        while self.pos <= index:
            if not self._next():
                return None
        return self.last.to_ndarray(format="rgb24")


class FrameReader:
    """The frames of one video in increasing order, decoded on demand.

    OpenCV: ``grab()`` advances past unwanted frames, ``retrieve()`` converts the wanted
    ones. PyAV (``decoder="pyav"``, or when OpenCV cannot open the file or decode its first
    frame) decodes in order and converts only the wanted ones. ``decoder`` says which one
    reads; ``note`` why it is not OpenCV.
    """

    def __init__(self, path: str | os.PathLike, decoder: str | None = None):
        self.path, self.note = Path(path), ""
        _check_file(self.path)
        self.decoder = decoder or "opencv"
        self.auto = decoder is None  # may still fall back to PyAV at the first frame
        self.cap, self.av, self.pos = None, None, 0
        if self.decoder == "pyav":
            self.av = _PyAVFrames(self.path, "PyAV chosen")
            return
        self.cap = cv2.VideoCapture(str(self.path))
        if not self.cap.isOpened():
            self._fallback("OpenCV cannot open it", "cannot be opened as a video (corrupt or "
                                                    "unsupported)")

    def _fallback(self, why: str, error: str) -> None:
        """Read with PyAV instead (only before the first frame), saying so once; when OpenCV
        was chosen, raise ``error`` instead."""
        self.close()
        if not self.auto:
            raise VideoReadError(f"{self.path}: {error}")
        self.av = _PyAVFrames(self.path, why)
        self.av.get(0)  # raises if PyAV decodes no frame either: then no fallback to tell
        self.decoder, self.note = "pyav", f"{why} ({self.av.codec}); decoded with PyAV"
        warnings.warn(f"{self.path}: {self.note}", stacklevel=3)

    def get(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as (H, W, 3) RGB uint8 (``index`` >= the previous one asked), or
        None past the video's end."""
        if self.av is not None:
            return self.av.get(index)
        while self.pos <= index:
            if not self.cap.grab():
                if self.pos == 0:
                    self._fallback("OpenCV decodes no frame", "no frame could be decoded "
                                                              "(corrupt?)")
                    return self.av.get(index)
                return None
            self.pos += 1
        ok, bgr = self.cap.retrieve()
        if not ok:
            raise VideoReadError(f"{self.path}: frame {index} could not be decoded")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        """Release the video."""
        if self.cap is not None:
            self.cap.release()
        if self.av is not None:
            self.av.close()
        self.cap = self.av = None


def read_frames(path: str | os.PathLike, indices: Sequence[int],
                decoder: str | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame number, RGB uint8 (H, W, 3) frame)`` for the wanted frames, in order.

    A video shorter than its container claims ends early: the missing frames are simply
    not yielded (the caller counts them as read errors).

    Args:
        path: the video.
        indices: frame numbers wanted (any order; duplicates ignored).
        decoder: "opencv" or "pyav" (:func:`probe_video`'s choice); None: OpenCV, or PyAV
            with a warning naming the file when OpenCV cannot open it or decode its first
            frame.

    Raises:
        VideoReadError: the video cannot be opened, or not even its first frame decodes.
    """
    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        return
    reader = FrameReader(path, decoder)
    try:
        for target in wanted:
            frame = reader.get(target)
            if frame is None:
                return  # short read: the container over-reported its frame count
            yield target, frame
    finally:
        reader.close()


def read_all_frames(path: str | os.PathLike) -> Iterator[tuple[int, np.ndarray]]:
    """Yield every frame in order with ``cap.read()`` (the plain reference of the benchmark)."""
    path = Path(path)
    _check_file(path)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(f"{path}: cannot be opened as a video (corrupt or unsupported)")
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
