"""Does dlib find the procedural demo faces? Detection rates per dataset and class.

Decodes the generated H.264 videos with OpenCV (every ``--step``-th frame) and counts the
frames where dlib's HOG frontal detector finds exactly one face: with upsample 1 on the full
frame, and with upsample 0 on the frame (downscaled when needed, so that the face is about
``--face-px`` pixels, as at the detector's 80 px window). Also reports the share of frames on
which the 68-point shape predictor's fit agrees with the renderer's geometry (eye distance
within 25%), and the generation time when the data is generated here.

Usage:
    python benchmarks/demo_detection_rate.py --out /tmp/demo --size small --workers 2
    python benchmarks/demo_detection_rate.py --data-root data/demo --step 1
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import cv2
import dlib
import numpy as np

from jdfd_lib.datasets.registry import dataset_root, list_videos
from jdfd_lib.demo.generate import generate_demo_data
from jdfd_lib.faces.align import default_predictor_path
from jdfd_lib.reporting.paper_reference import TEST_SETS


def frames(path: Path, step: int):
    """Every ``step``-th decoded frame of a video, RGB."""
    cap = cv2.VideoCapture(str(path))
    i = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % step == 0:
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        i += 1
    cap.release()


def measure(rgb: np.ndarray, detector, predictor, face_px: int) -> tuple[bool, bool, bool]:
    """(one face at upsample 1, one face at upsample 0 on the reduced frame, landmarks fit)."""
    rects = detector(rgb, 1)
    one_up1 = len(rects) == 1
    fit = False
    if one_up1:
        shape = predictor(rgb, rects[0])
        pts = np.array([(p.x, p.y) for p in shape.parts()], float)
        eye_dist = np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0))
        fit = 0.25 < eye_dist / rects[0].width() < 0.65  # a plausible 68-point layout
        scale = min(1.0, face_px / rects[0].width())
    else:
        scale = 1.0
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    one_up0 = len(detector(small, 0)) == 1
    return one_up1, one_up0, fit


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", help="existing demo data root (skips generation)")
    p.add_argument("--out", help="where to generate demo data when --data-root is not given")
    p.add_argument("--size", default="small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--step", type=int, default=3, help="test every step-th frame")
    p.add_argument("--face-px", type=int, default=90, help="face width for the upsample-0 test")
    args = p.parse_args()
    if args.data_root is None:
        if args.out is None:
            p.error("give --data-root or --out")
        t0 = time.perf_counter()
        summary = generate_demo_data(args.out, size=args.size, seed=args.seed,
                                     workers=args.workers)
        print(f"generation: {time.perf_counter() - t0:.1f} s wall ({args.workers} workers; "
              f"stored summary says {summary['seconds']} s)")
        root = Path(args.out)
    else:
        root = Path(args.data_root)
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(default_predictor_path()))
    for key in TEST_SETS:  # the demo's datasets: the paper's three
        counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(4, int))
        for rec in list_videos(key, dataset_root(root, key)):
            for rgb in frames(rec.path, args.step):
                counts[rec.method] += (1, *measure(rgb, detector, predictor, args.face_px))
        total = sum(counts.values())
        print(f"{key}: {total[0]} frames, one face upsample 1: {total[1] / total[0]:.1%}, "
              f"upsample 0 at ~{args.face_px} px: {total[2] / total[0]:.1%}, "
              f"landmarks plausible: {total[3] / total[0]:.1%}")
        for method, c in sorted(counts.items()):
            print(f"    {method:16s} {c[0]:5d} frames  {c[1] / c[0]:.1%}  {c[2] / c[0]:.1%}  "
                  f"{c[3] / c[0]:.1%}")


if __name__ == "__main__":
    main()
