"""Frame sampling is even; the frame read is the frame asked for; bad videos raise clearly."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from jdfd_lib.faces.video import (
    VideoReadError,
    frame_count,
    read_all_frames,
    read_frames,
    sample_frame_indices,
)

GREY_STEP = 4  # frame i is a flat grey image of level GREY_STEP * i


def write_grey_video(path: Path, n: int, size: tuple[int, int] = (96, 64)) -> Path:
    """An H.264 video (B-frames, short GOP) whose frame i is a flat grey of level 4 * i."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"g": "12", "bf": "2", "crf": "10"}
        for i in range(n):
            img = np.full((size[1], size[0], 3), GREY_STEP * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode())
    return path


def decoded_index(frame: np.ndarray) -> int:
    return int(round(float(frame.mean()) / GREY_STEP))


@pytest.mark.parametrize(("n_frames", "n"), [(500, 300), (300, 8), (10, 3), (1000, 7)])
def test_sample_frame_indices_evenly_spaced(n_frames: int, n: int) -> None:
    idx = sample_frame_indices(n_frames, n)
    assert len(idx) == n and len(set(idx)) == n
    assert 0 <= idx[0] and idx[-1] < n_frames
    gaps = np.diff(idx)
    assert gaps.max() - gaps.min() <= 1  # even up to rounding
    assert abs(gaps.mean() - n_frames / n) < 1
    # centred: the first and last frames are about half a gap from each end
    assert abs(idx[0] - (n_frames - 1 - idx[-1])) <= 1


def test_sample_frame_indices_short_video_gives_all() -> None:
    assert sample_frame_indices(5, 300) == [0, 1, 2, 3, 4]
    assert sample_frame_indices(0, 8) == []
    with pytest.raises(ValueError):
        sample_frame_indices(10, 0)


def test_read_frames_returns_the_frames_asked_for(tmp_path: Path) -> None:
    path = write_grey_video(tmp_path / "grey.mp4", 60)
    assert frame_count(path) == 60
    wanted = [59, 0, 13, 14, 37, 13]
    got = list(read_frames(path, wanted))
    assert [i for i, _ in got] == sorted(set(wanted))
    for i, frame in got:
        assert frame.shape == (64, 96, 3) and frame.dtype == np.uint8
        assert decoded_index(frame) == i
    assert [decoded_index(f) for _, f in read_all_frames(path)] == list(range(60))


def test_short_read_yields_what_exists(tmp_path: Path) -> None:
    path = write_grey_video(tmp_path / "grey.mp4", 20)
    got = [i for i, _ in read_frames(path, [5, 19, 25, 40])]
    assert got == [5, 19]  # frames past the end are not invented


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_unreadable_video_raises_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoReadError, match="bad.mp4"):
        frame_count(path)
    with pytest.raises(VideoReadError, match="bad.mp4"):
        list(read_frames(path, [0, 1]))


def test_truncated_video_raises_or_reads_short(tmp_path: Path) -> None:
    path = write_grey_video(tmp_path / "grey.mp4", 40)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # mp4 index (moov) lost: cannot be opened
    with pytest.raises(VideoReadError, match="cut.mp4"):
        list(read_frames(cut, [0, 10]))
