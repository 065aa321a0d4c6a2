"""``python -m jdfd_lib prepare``: aligned face crops of a whole dataset (paper Sec. 3.1, 4.1).

For every video listed by :mod:`jdfd_lib.datasets`, N evenly spaced frames (paper: 300) are
decoded, the largest Dlib face aligned and cropped (paper: 299x299), and written to
``out/crops/{method}/{video}/{frame:06d}.png``. Per video, a metadata file
``out/meta/{method}/{video}.json`` (landmarks in crop coordinates, boxes, faces per frame,
dropped frames and why) is written last, atomically: it is the video's "done" marker.
Finally ``out/index.csv`` lists one row per crop (:mod:`jdfd_lib.index`).

Resuming: a rerun skips videos whose marker records the same extraction settings, and
redoes the rest (interrupted, failed, or extracted with other settings). Crops are written
to a temporary folder renamed into place before the marker, so an interrupted video is
never counted as done. Unreadable videos are reported in ``failures`` and skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import pandas as pd

from jdfd_lib.align import FaceAligner
from jdfd_lib.datasets import (
    DATASET_DIRS,
    FFPP_COMPRESSIONS,
    FFPP_METHODS,
    VideoRecord,
    list_videos,
)
from jdfd_lib.faces import (
    EXTRACT_PROFILES,
    ExtractConfig,
    FaceCrop,
    VideoStats,
    extract_video_faces,
    iter_video_faces,
)
from jdfd_lib.index import INDEX_COLUMNS, write_index
from jdfd_lib.progress import progress_bar
from jdfd_lib.video import VideoReadError

__all__ = ["EXTRACT_PROFILES", "ExtractConfig", "FaceCrop", "extract_video_faces", "prepare",
           "read_video_meta", "add_arguments", "run"]

SUMMARY_FILE = "prepare_summary.json"
_ALIGNERS: dict[str, FaceAligner] = {}  # per process and settings, built on first use


def _meta_path(out: Path, method: str, video: str) -> Path:
    return out / "meta" / method / f"{video}.json"


def read_video_meta(out: str | os.PathLike, method: str, video: str) -> dict:
    """Read a finished video's metadata (landmarks in crop coordinates, boxes, drops).

    Raises:
        FileNotFoundError: the video has not been extracted into ``out``.
    """
    path = _meta_path(Path(out), method, video)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metadata; video {method}/{video} was not "
                                f"extracted into {out}")
    return json.loads(path.read_text())


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _write_crop(path: Path, image, cfg: ExtractConfig) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality] if cfg.image_format == "jpg" else []
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"{path}: could not write the crop")


def _is_done(rec: VideoRecord, out: Path, cfg: ExtractConfig) -> dict | None:
    """The video's metadata if it was finished with the same settings, else None."""
    path = _meta_path(out, rec.method, rec.video)
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    crops = out / "crops" / rec.method / rec.video
    return meta if meta.get("config") == cfg.fingerprint() and crops.is_dir() else None


def _video_meta(rec: VideoRecord, cfg: ExtractConfig, stats: VideoStats,
                frames: list[dict]) -> dict:
    return {
        "dataset": rec.dataset, "method": rec.method, "video": rec.video,
        "source": str(rec.path), "label": rec.label, "split": rec.split,
        "identity": rec.identity, "config": cfg.fingerprint(), "n_frames": stats.n_frames,
        "frames_requested": stats.requested, "fallbacks": stats.fallbacks, "frames": frames,
        "dropped": sorted([{"frame": i, "reason": "no_face"} for i in stats.no_face]
                          + [{"frame": i, "reason": "read_error"} for i in stats.read_error],
                          key=lambda d: d["frame"]),
    }


def _extract_one(rec: VideoRecord, out: Path, cfg: ExtractConfig) -> dict:
    """Extract one video into a temp folder, move it into place, then write the marker."""
    key = json.dumps(cfg.fingerprint(), sort_keys=True)
    if key not in _ALIGNERS:
        _ALIGNERS[key] = cfg.make_aligner()
    _meta_path(out, rec.method, rec.video).unlink(missing_ok=True)  # not done until rewritten
    final = out / "crops" / rec.method / rec.video
    tmp = final.with_name(f".{rec.video}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    stats, frames = VideoStats(), []
    try:
        for face in iter_video_faces(rec.path, cfg, _ALIGNERS[key], stats):
            name = f"{face.frame:06d}.{cfg.image_format}"
            _write_crop(tmp / name, face.image, cfg)
            frames.append({"frame": face.frame, "file": name, "n_faces": face.n_faces,
                           "box": list(face.box), "fallback": face.fallback,
                           "landmarks": face.landmarks.round(2).tolist()})
    except (VideoReadError, cv2.error) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        return {"status": "failed", "path": str(rec.path), "reason": str(err)}
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    meta = _video_meta(rec, cfg, stats, frames)
    _write_json_atomic(_meta_path(out, rec.method, rec.video), meta)
    return {"status": "done", "meta": meta}


def _run_all(todo: list[VideoRecord], out: Path, cfg: ExtractConfig):
    """Yield each video's result as it finishes (in-process when ``workers == 1``)."""
    if cfg.workers == 1 or len(todo) <= 1:
        for rec in todo:
            yield _extract_one(rec, out, cfg)
        return
    with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
        futures = [pool.submit(_extract_one, rec, out, cfg) for rec in todo]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        except BaseException:  # Ctrl-C or a bug: stop queued videos, keep the finished ones
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _index_rows(meta: dict, out: Path) -> list[dict]:
    base = f"crops/{meta['method']}/{meta['video']}"
    return [{"dataset": meta["dataset"], "method": meta["method"], "video": meta["video"],
             "frame": f["frame"], "label": meta["label"], "split": meta["split"],
             "identity": meta["identity"], "path": f"{base}/{f['file']}",
             "n_faces": f["n_faces"], "fallback": f["fallback"]} for f in meta["frames"]]


def _summarise(dataset: str, metas: list[dict], counts: dict, failures: list[dict],
               seconds: float) -> dict:
    drops = [d["reason"] for m in metas for d in m["dropped"]]
    return {
        "dataset": dataset, "videos": len(metas) + len(failures), **counts,
        "failed": len(failures),
        "frames_requested": sum(len(m["frames_requested"]) for m in metas),
        "faces_found": sum(len(m["frames"]) for m in metas),
        "dropped_no_face": drops.count("no_face"),
        "dropped_read_error": drops.count("read_error"),
        "fallbacks": sum(m["fallbacks"] for m in metas),
        "seconds": round(seconds, 2), "failures": failures,
    }


def prepare(dataset: str, root: str | os.PathLike, out: str | os.PathLike,
            cfg: ExtractConfig | None = None, **adapter_options) -> dict:
    """Extract aligned face crops of every video of a dataset and write the index.

    Args:
        dataset: "ffpp", "celebdf" or "uadfv".
        root: the dataset's folder (e.g. ``data/demo/UADFV``).
        out: output root (crops/, meta/, index.csv, prepare_summary.json).
        cfg: extraction settings (default: the "paper" profile).
        **adapter_options: passed to :func:`jdfd_lib.datasets.list_videos`.

    Returns:
        Summary: videos done / skipped / failed, frames requested, faces found, frames
        dropped (no face, read error), fallbacks, seconds, and ``failures`` (path, reason).
        Frame counts cover every finished video, skipped ones included.
    """
    cfg = cfg or EXTRACT_PROFILES["paper"]
    out, start = Path(out), time.perf_counter()
    records = list_videos(dataset, root, **adapter_options)
    for stale in out.glob("crops/*/.*.tmp-*"):  # left by an interrupted run
        shutil.rmtree(stale, ignore_errors=True)
    metas = {(r.method, r.video): _is_done(r, out, cfg) for r in records}
    todo = [r for r in records if metas[(r.method, r.video)] is None]
    failures = []
    for result in progress_bar(_run_all(todo, out, cfg), total=len(todo), desc=f"prepare {dataset}",
                       unit="video"):
        if result["status"] == "failed":
            failures.append({"path": result["path"], "reason": result["reason"]})
        else:
            metas[(result["meta"]["method"], result["meta"]["video"])] = result["meta"]
    finished = [m for m in metas.values() if m is not None]
    rows = [row for m in finished for row in _index_rows(m, out)]
    write_index(pd.DataFrame(rows, columns=[*INDEX_COLUMNS, "n_faces", "fallback"]), out)
    counts = {"done": len(todo) - len(failures), "skipped": len(records) - len(todo)}
    summary = _summarise(dataset, finished, counts, failures, time.perf_counter() - start)
    summary["config"] = asdict(cfg)
    _write_json_atomic(out / SUMMARY_FILE, summary)
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m jdfd_lib prepare``."""
    parser.add_argument("--dataset", required=True, choices=list(DATASET_DIRS))
    parser.add_argument("--root", required=True, type=Path, help="the dataset's own folder")
    parser.add_argument("--out", required=True, type=Path, help="output root for the crops")
    parser.add_argument("--profile", default="paper", choices=list(EXTRACT_PROFILES))
    parser.add_argument("--frames", type=int, help="frames per video (paper: 300)")
    parser.add_argument("--size", type=int, help="crop side in pixels (paper: 299)")
    parser.add_argument("--workers", type=int, help="parallel processes")
    parser.add_argument("--predictor", help="dlib 68-point shape predictor .dat file")
    parser.add_argument("--image-format", choices=["png", "jpg"])
    parser.add_argument("--compression", default="c23", choices=FFPP_COMPRESSIONS,
                        help="FF++ only (paper: c23)")
    parser.add_argument("--methods", nargs="+", default=list(FFPP_METHODS), choices=FFPP_METHODS,
                        help="FF++ only: manipulations to include")
    parser.add_argument("--split-file", type=Path, help="UADFV only: the split JSON file")


def run(args: argparse.Namespace) -> int:
    """Run ``prepare`` from parsed arguments; prints the summary. Exit 1 if no video
    could be extracted."""
    overrides = {k: v for k, v in {"frames_per_video": args.frames, "image_size": args.size,
                                   "workers": args.workers, "predictor_path": args.predictor,
                                   "image_format": args.image_format}.items() if v is not None}
    cfg = replace(EXTRACT_PROFILES[args.profile], **overrides)
    options = {"ffpp": {"compression": args.compression, "methods": args.methods},
               "uadfv": {"split_file": args.split_file}}.get(args.dataset, {})
    summary = prepare(args.dataset, args.root, args.out, cfg, **options)
    for key in ("videos", "done", "skipped", "failed", "frames_requested", "faces_found",
                "dropped_no_face", "dropped_read_error", "fallbacks", "seconds"):
        print(f"{key:>20}: {summary[key]}")
    for fail in summary["failures"]:
        print(f"FAILED {fail['path']}: {fail['reason']}")
    return int(summary["done"] + summary["skipped"] == 0)
