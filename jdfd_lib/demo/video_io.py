"""Writing H.264 videos like the datasets' compressed releases (paper Sec. 4.1: FF++ c23).

Frames are encoded with libx264 (via PyAV) in yuv420p at a constant rate factor (FF++'s
"c23" is x264 at CRF 23). The encoder runs on one thread without mb-tree rate control, so
that the same frames give the same file (see ``_open_stream``). A video is written under a
temporary name and renamed when complete (:func:`jdfd_lib.core.atomic.atomic_path`), so an
interrupted run never leaves a half-written file under its final name.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from jdfd_lib.core.atomic import atomic_path


@dataclass(frozen=True)
class EncodeConfig:
    """H.264 settings.

    Attributes:
        crf: x264 constant rate factor (23 = FF++ "c23").
        preset: x264 speed preset (not stated by the datasets; "veryfast" keeps the demo quick).
        gop: keyframe interval in frames.
    """

    crf: int = 23
    preset: str = "veryfast"
    gop: int = 50


class H264Writer:
    """Context manager writing one mp4 frame by frame; the file appears only on success.

    Args:
        path: final file name (``.mp4``); frames go to a temporary file beside it until
            closed (:func:`jdfd_lib.core.atomic.atomic_path`).
        fps: frame rate.
        config: encoder settings.
    """

    def __init__(self, path: str | os.PathLike, fps: int,
                 config: EncodeConfig | None = None) -> None:
        self.path, self.fps, self.config = Path(path), fps, config or EncodeConfig()
        self._file = atomic_path(self.path)  # entered and left with this writer
        self.container = None
        self.stream = None
        self.frames = 0

    def __enter__(self) -> H264Writer:
        part = self._file.__enter__()
        try:
            self.container = av.open(str(part), "w", format="mp4")
        except BaseException:
            self._file.__exit__(*sys.exc_info())  # removes the temporary file
            raise
        return self

    def write(self, frame: np.ndarray) -> None:
        """Encode one (H, W, 3) uint8 BGR frame (even H and W, the same for every frame)."""
        if self.stream is None:
            self.stream = _open_stream(self.container, frame, self.fps, self.config, self.path)
        _check_frame(frame, self.stream, self.path, self.frames)
        self.container.mux(self.stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        self.frames += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                if self.stream is None:
                    raise ValueError(f"{self.path}: no frames to write")
                self.container.mux(self.stream.encode())  # flush the encoder
            self.container.close()
        except BaseException:
            self._file.__exit__(*sys.exc_info())  # removes the temporary file
            raise
        # renames the temporary file into place, or removes it if the block raised
        self._file.__exit__(exc_type, exc, tb)


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: int,
                config: EncodeConfig | None = None) -> int:
    """Encode BGR uint8 frames to an H.264 mp4 at ``path`` (atomically, :class:`H264Writer`).

    Args:
        path: final file name (``.mp4``).
        frames: (H, W, 3) uint8 BGR frames, all of one size with even width and height.
        fps: frame rate.
        config: encoder settings (default :class:`EncodeConfig`).

    Returns:
        The number of frames written.

    Raises:
        ValueError: no frames, or a frame of the wrong shape, dtype or size.
    """
    with H264Writer(path, fps, config) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.frames


def _open_stream(container, frame: np.ndarray, fps: int, config: EncodeConfig, path: Path):
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] % 2 or frame.shape[1] % 2:
        raise ValueError(f"{path}: frames must be (H, W, 3) with even H and W, "
                         f"got {frame.shape}")
    stream = container.add_stream("libx264", rate=fps)
    stream.height, stream.width = frame.shape[:2]
    stream.pix_fmt = "yuv420p"
    # One encoder thread, and no macroblock tree: with x264's mb-tree rate control the bundled
    # libx264 gives different bytes (and decoded pixels up to ~70 levels apart) from run to
    # run for the same frames; without it, the same frames always give the same file.
    stream.options = {"crf": str(config.crf), "preset": config.preset, "g": str(config.gop),
                      "threads": "1", "x264-params": "no-mbtree=1"}
    return stream


def _check_frame(frame: np.ndarray, stream, path: Path, n: int) -> None:
    if frame.dtype != np.uint8 or frame.shape != (stream.height, stream.width, 3):
        raise ValueError(f"{path}: frame {n} is {frame.dtype} {frame.shape}; expected uint8 "
                         f"({stream.height}, {stream.width}, 3)")
