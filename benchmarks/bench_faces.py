"""What examining every face costs ``detect``: ``--faces all`` against ``--faces largest``.

``largest`` is the paper's pre-processing (the largest face, searched near its last box);
``all`` also searches the whole frame for other faces at the detection resolution and aligns
each (:meth:`jdfd_lib.faces.align.FaceAligner.align_all`). Both run the project's extraction
(:func:`jdfd_lib.faces.crops.extract_video_faces`) on the same clips, written here: a photograph's
face, and the same clip with a second, smaller face beside it, at the given height (16:9).

Prints milliseconds per sampled frame for each policy and clip, the faces found per frame, and
the ratio all / largest.

Usage:
    python benchmarks/bench_faces.py                      # 720p, 24 frames, 3 repeats
    python benchmarks/bench_faces.py --height 1080 --frames 48
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import matplotlib
import numpy as np

from jdfd_lib.demo.video_io import write_video
from jdfd_lib.faces.crops import EXTRACT_PROFILES, extract_video_faces


def clip(height: int, frames: int, second_face: bool) -> list[np.ndarray]:
    """(height, 16/9 height) BGR frames: a face (its box a third of the height) at the left,
    drifting right by 1 px a frame; with ``second_face``, a mirrored copy at 0.8x its size at
    the right, large enough for the whole-frame search at 640 px (dlib: about 80 px)."""
    width = height * 16 // 9
    photo = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    photo = photo[60:430, 90:450]  # (370, 360): the face and some hair and collar around it
    side = height // 2
    face = cv2.resize(photo, (side * 5 // 6, side))
    small = cv2.resize(face[:, ::-1], (face.shape[1] * 8 // 10, side * 8 // 10))
    out = []
    for i in range(frames):
        frame = np.full((height, width, 3), 90, np.uint8)
        top, left = height // 4, width // 6 + i
        frame[top:top + side, left:left + face.shape[1]] = face
        if second_face:
            x = width * 2 // 3 - i
            frame[top:top + small.shape[0], x:x + small.shape[1]] = small
        out.append(frame)
    return out


def measure(path: Path, faces: str, repeats: int) -> tuple[float, float]:
    """(best ms per sampled frame over ``repeats``, faces found per sampled frame)."""
    cfg = EXTRACT_PROFILES["paper"]
    aligner = cfg.make_aligner()  # dlib models loaded once, outside the timing
    best, found = float("inf"), 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        crops = extract_video_faces(path, cfg, aligner, faces=faces)
        per_frame = 1000 * (time.perf_counter() - t0) / len(crops.stats.requested)
        best, found = min(best, per_frame), len(crops) / len(crops.stats.requested)
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--frames", type=int, default=24, help="frames in each clip (all sampled)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, second in (("one face", False), ("two faces", True)):
            path = Path(tmp) / f"{second}.mp4"
            write_video(path, clip(args.height, args.frames, second), fps=25)
            times = {}
            for faces in ("largest", "all"):
                times[faces], found = measure(path, faces, args.repeats)
                print(f"{args.height}p, {name}, --faces {faces:<7}: {times[faces]:6.1f} ms per "
                      f"sampled frame, {found:.2f} faces per frame")
            print(f"{args.height}p, {name}: all / largest = {times['all'] / times['largest']:.2f}x")


if __name__ == "__main__":
    main()
