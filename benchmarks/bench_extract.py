"""Face-extraction speed: jdfd's ``prepare`` pipeline against a plain reference (Sec. 3.1).

Reference, as common preprocessing scripts do it: decode every frame in order with
``cv2.VideoCapture.read()``, and on the sampled frames detect at full resolution with one
upsampling (``detector(img, 1)``), then align exactly as jdfd does. jdfd: decode only up to
the last sampled frame, converting only the sampled ones, and detect on a reduced copy with
a full-resolution fallback (:class:`jdfd_lib.faces.crops.ExtractConfig`).

Prints extracted face frames per second for both, their ratio, and their agreement: the
share of frames with a face for each and the mean IoU of the detection boxes (frame
coordinates) on frames where both found a face. Both run over the same videos with the same
number of worker processes.

Usage:
    python benchmarks/bench_extract.py --data-root data/demo --frames 8 --videos 12
    python benchmarks/bench_extract.py --frames 300 --long-frames 500   # paper-like clips
    python benchmarks/bench_extract.py --frames 300 --long-frames 500 --height 720 --size 299
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np

from jdfd_lib.core.paths import resolve
from jdfd_lib.datasets.registry import dataset_root, list_videos
from jdfd_lib.faces.align import FaceAligner
from jdfd_lib.faces.crops import EXTRACT_PROFILES, ExtractConfig, extract_video_faces
from jdfd_lib.faces.video import frame_count, read_all_frames, read_frames, sample_frame_indices
from jdfd_lib.reporting.paper_reference import TEST_SETS

_ALIGNERS: dict[str, FaceAligner] = {}  # dlib models loaded once per process and config


def aligner_for(cfg: ExtractConfig) -> FaceAligner:
    key = repr(cfg)
    if key not in _ALIGNERS:
        _ALIGNERS[key] = cfg.make_aligner()
    return _ALIGNERS[key]


def jdfd_video(path: Path, cfg: ExtractConfig) -> tuple[dict[int, tuple], int]:
    """(frame -> detection box, frames sampled), by the project's pipeline."""
    crops = extract_video_faces(path, cfg, aligner_for(cfg))
    return {c.frame: c.box for c in crops}, len(crops.stats.requested)


def reference_config(cfg: ExtractConfig) -> ExtractConfig:
    """The reference's detector settings: full resolution, one upsampling, no tracking."""
    return replace(cfg, detect_max_side=None, upsample=1, track_expand=None)


def reference_video(path: Path, cfg: ExtractConfig) -> tuple[dict[int, tuple], int]:
    """(frame -> box, frames sampled): decode all frames, full-resolution detection,
    upsample 1."""
    aligner = aligner_for(reference_config(cfg))
    wanted = set(sample_frame_indices(frame_count(path), cfg.frames_per_video))
    boxes = {}
    for idx, frame in read_all_frames(path):  # every frame decoded and converted, in order
        if idx in wanted:
            face = aligner.align(frame)
            if face is not None:
                boxes[idx] = face.box
    return boxes, len(wanted)


def run_pool(fn, paths: list[Path], cfg: ExtractConfig, workers: int) -> tuple[list, float]:
    """Results of ``fn`` over ``paths`` and the seconds taken, the one-off loading of the
    dlib models in each worker excluded (it is amortised over a dataset's videos)."""
    loaded = cfg if fn is jdfd_video else reference_config(cfg)
    with ProcessPoolExecutor(workers, initializer=aligner_for, initargs=(loaded,)) as pool:
        list(pool.map(time.sleep, [0.5] * workers))  # all workers started and loaded
        start = time.perf_counter()
        results = list(pool.map(fn, paths, [cfg] * len(paths)))
        return results, time.perf_counter() - start


def iou(a: tuple, b: tuple) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def lengthen(paths: list[Path], n_frames: int, out: Path, height: int | None = None
             ) -> list[Path]:
    """Re-encode each clip played forth and back until it has ``n_frames`` frames, resized
    to ``height`` pixels (even width, same aspect) when given: most FF++ originals are 480p
    to 1080p, larger than the demo clips."""
    long_paths = []
    for i, path in enumerate(paths):
        frames = [f for _, f in read_frames(path, range(100_000))]
        if height:
            h, w = frames[0].shape[:2]
            size = (2 * round(w * height / h / 2), height)
            frames = [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in frames]
        cycle = frames + frames[::-1]
        dst = out / f"long_{i:03d}.mp4"
        with av.open(str(dst), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.height, stream.width = frames[0].shape[:2]
            stream.pix_fmt = "yuv420p"
            for k in range(n_frames):
                img = cycle[k % len(cycle)]
                container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
            container.mux(stream.encode())
        long_paths.append(dst)
    return long_paths


def pick_videos(data_root: Path, n: int) -> list[Path]:
    """Up to ``n`` videos, taken in turn from each dataset present under ``data_root``."""
    # the paper's three (DFD shares FaceForensics++'s folder, and may be absent from it)
    per_dataset = [[r.path for r in list_videos(key, dataset_root(data_root, key))]
                   for key in TEST_SETS if dataset_root(data_root, key).is_dir()]
    if not per_dataset:
        raise FileNotFoundError(f"{data_root}: no dataset folders of {list(TEST_SETS)}")
    mixed = [p for group in zip(*per_dataset, strict=False) for p in group]
    return mixed[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default="data/demo",
                        help="demo or real data root (generated with size 'small' if absent)")
    parser.add_argument("--frames", type=int, default=EXTRACT_PROFILES["demo"].frames_per_video)
    parser.add_argument("--size", type=int, default=EXTRACT_PROFILES["demo"].image_size)
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--long-frames", type=int, default=0,
                        help="benchmark on clips looped to this many frames")
    parser.add_argument("--height", type=int, default=None,
                        help="with --long-frames: resize the clips to this height (e.g. 720)")
    args = parser.parse_args()

    data_root = resolve(args.data_root)
    if not data_root.is_dir():
        from jdfd_lib.demo.generate import generate_demo_data

        generate_demo_data(data_root, size="small", seed=0)
    paths = pick_videos(data_root, args.videos)
    cfg = replace(EXTRACT_PROFILES["demo"], frames_per_video=args.frames, image_size=args.size)
    with tempfile.TemporaryDirectory() as tmp:
        if args.long_frames:
            paths = lengthen(paths, args.long_frames, Path(tmp), args.height)
        ours, t_ours = run_pool(jdfd_video, paths, cfg, args.workers)
        ref, t_ref = run_pool(reference_video, paths, cfg, args.workers)
    report(paths, ours, t_ours, ref, t_ref, args)


def report(paths, ours, t_ours, ref, t_ref, args) -> None:
    requested = sum(n for _, n in ours)
    ours, ref = [b for b, _ in ours], [b for b, _ in ref]
    n_ours, n_ref = sum(map(len, ours)), sum(map(len, ref))
    ious = [iou(o[f], r[f]) for o, r in zip(ours, ref, strict=True) for f in o.keys() & r.keys()]
    fps_ours, fps_ref = n_ours / t_ours, n_ref / t_ref
    print(f"videos: {len(paths)}, frames per video: {args.frames}, workers: {args.workers}, "
          f"long clips: {args.long_frames or 'no'}, height: {args.height or 'as generated'}")
    print(f"jdfd      : {n_ours} faces in {t_ours:.2f}s = {fps_ours:.1f} face frames/s")
    print(f"reference : {n_ref} faces in {t_ref:.2f}s = {fps_ref:.1f} face frames/s")
    print(f"speed-up  : {fps_ours / max(fps_ref, 1e-9):.1f}x")
    print(f"faces found: jdfd {n_ours}, reference {n_ref} (of {requested} sampled frames); "
          f"mean box IoU on {len(ious)} common frames: {np.mean(ious) if ious else 0:.3f}")


if __name__ == "__main__":
    main()
