"""``python -m jdfd_lib detect`` over many videos: folders, parallel extraction, resumable
results (paper Sec. 3.1 pre-processing, Sec. 4.3 frame scores).

Each video is scored as by :mod:`jdfd_lib.detection.detect` (evenly spaced frames, every Dlib
face aligned and cropped and linked into face tracks, or only the largest with
``faces="largest"``; one fake score ``softmax(logits)[:, 1]`` per face). Folders are searched
recursively for file names matching any pattern (case-insensitive; default: one ``*SUFFIX``
per :data:`jdfd_lib.datasets.records.VIDEO_SUFFIXES`, ``*.mp4``, ``*.webm``, ...). Decoding,
detection and alignment run in ``workers`` processes, one dlib aligner each; the model runs in
the main process, ``batch_size`` faces at a time. Each face track's score aggregates its frame
scores by one of :data:`AGGREGATIONS` (``mean`` by default, ``median``, ``max``, ``vote``); the
video gets its most suspicious track's score among those seen in enough frames
(:func:`jdfd_lib.detection.frames.track_scores`): "fake" at or above ``threshold`` (default
0.5), else "real"; "no face" without faces. Unreadable videos
(:class:`jdfd_lib.faces.video.VideoReadError`, OpenCV errors) get a row with the reason and no
verdict; the others are still scored. Symbolic links are followed
(:func:`jdfd_lib.core.walk.walk_files`); broken links, link loops, unreadable folders and the
count of files matching no pattern are printed (``skipped: PATH: reason``) and kept in
``detections.json``; a video read with PyAV because OpenCV could not
(:func:`jdfd_lib.faces.video.probe_video`) is named on stderr.

Output in ``out`` (:mod:`jdfd_lib.detection.results`): ``detections.csv`` (one row per video),
``frames.csv`` (one row per face and frame) and ``detections.json`` (provenance: checkpoint
sha256, run config, extraction settings, faces examined, aggregation, threshold, library
versions). A rerun on the same
``out`` skips the videos finished with the same settings and tries unreadable ones again;
other settings are refused unless ``force`` (which starts afresh).
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import closing
from itertools import islice
from pathlib import Path

import cv2
import pandas as pd

from jdfd_lib.core.errors import UserError, ignore_sigint, option
from jdfd_lib.core.locks import holding
from jdfd_lib.core.progress import progress_bar
from jdfd_lib.core.runinfo import file_sha256, library_versions
from jdfd_lib.core.walk import skipped_lines, walk_files
from jdfd_lib.datasets.records import VIDEO_SUFFIXES
from jdfd_lib.detection.frames import (
    AGGREGATIONS,
    MIN_TRACK_SHARE,
    check_settings,
    extraction_config,
    score_faces,
)
from jdfd_lib.detection.results import (
    DETECTION_COLUMNS,
    DETECTIONS_CSV,
    DETECTIONS_JSON,
    FRAMES_CSV,
    NO_FACE,
    Results,
)
from jdfd_lib.evaluation.metrics import DECISION_THRESHOLD
from jdfd_lib.faces.crops import ExtractConfig, FaceCropList, check_faces, extract_video_faces
from jdfd_lib.faces.tracks import FACE_POLICIES
from jdfd_lib.faces.video import VideoReadError

LOCK_FILE = ".detect.lock"  # in --out, held while a detect writes there (core.locks)
DEFAULT_PATTERNS = tuple(f"*{suffix}" for suffix in VIDEO_SUFFIXES)


def find_videos(inputs: Sequence[str | os.PathLike],
                patterns: Sequence[str] = DEFAULT_PATTERNS,
                skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Video files given, and those found in folders (recursively, symbolic links to files
    and folders followed, sorted), without repeats (a file reached twice is listed once).

    Args:
        skipped: where to add ``(path, reason)`` of what a folder holds but is not taken:
            each broken link, link loop and unreadable folder, and per folder one entry
            counting the files that match no pattern (a folder of videos with sidecar files
            is normal).

    Raises:
        UserError: a path is neither a file nor a folder, or a folder holds no matching file.
    """
    found: dict[Path, Path] = {}  # resolved -> as given or found
    skipped = [] if skipped is None else skipped
    for raw in inputs:
        path = Path(raw)
        if path.is_file():
            found.setdefault(path.resolve(), path)
        elif path.is_dir():
            walk = walk_files(path)
            matches = [p for p in walk.files if any(
                fnmatch.fnmatch(p.name.lower(), pat.lower()) for pat in patterns)]
            skipped.extend(walk.skipped)
            others = len(walk.files) - len(matches)
            if others:
                skipped.append((path, f"{others} files not matching {' '.join(patterns)} "
                                      f"skipped (pass {option('patterns', '--glob')} to take "
                                      f"them)"))
            if not matches:
                raise UserError(f"{path}: no file matching {' '.join(patterns)} in this folder "
                                f"or below; pass {option('patterns', '--glob')} to match others")
            for p in matches:
                found.setdefault(p.resolve(), p)
        elif path.is_symlink():
            raise UserError(f"{path}: broken symbolic link to {os.readlink(path)}; expected a "
                            "video or a folder of videos")
        else:
            raise UserError(f"{path}: no such file or folder; expected a video or a folder "
                            "of videos")
    return list(found.values())


def _extract(video: str, ecfg: ExtractConfig,
             faces: str) -> tuple[str, FaceCropList | None, str]:
    """(video, its faces, "") or (video, None, one-line reason it cannot be read); runs in
    a worker process."""
    try:
        return video, extract_video_faces(video, ecfg, ecfg.shared_aligner(), faces), ""
    except (VideoReadError, cv2.error) as err:
        text = " ".join(str(err).split())  # OpenCV messages span lines
        return video, None, text.removeprefix(f"{video}: ")


def _extractions(videos: list[str], ecfg: ExtractConfig, workers: int,
                 faces: str) -> Iterator[tuple[str, FaceCropList | None, str]]:
    """Yield each video's faces as it finishes (in-process when one worker suffices)."""
    if workers == 1 or len(videos) <= 1:
        for video in videos:
            yield _extract(video, ecfg, faces)
        return
    # spawn, not fork: the main process may hold CUDA and torch threads; workers ignore
    # SIGINT so that Ctrl-C is answered once, here
    pool = ProcessPoolExecutor(min(workers, len(videos)), initializer=ignore_sigint,
                               mp_context=multiprocessing.get_context("spawn"))
    queue, pending = iter(videos), set()
    try:
        while True:  # at most 2 videos per worker in flight: finished faces wait in memory
            pending |= {pool.submit(_extract, v, ecfg, faces)
                        for v in islice(queue, 2 * workers - len(pending))}
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:  # also on Ctrl-C or close(): cancel queued videos, let running ones end
        pool.shutdown(wait=True, cancel_futures=True)


def _score_video(video: str, crops: FaceCropList | None, error: str, model, settings,
                 aggregate: str, threshold: float,
                 min_track_share: float) -> tuple[dict, pd.DataFrame]:
    """The detections.csv row and frames.csv rows of one extracted video."""

    if crops is None:
        return {"video": video, **dict.fromkeys(DETECTION_COLUMNS[1:7], 0), "track": "",
                "video_score": float("nan"), "verdict": "", "error": error}, pd.DataFrame()
    res = score_faces(crops, model, settings, aggregate, threshold, min_track_share)
    table = res.frames
    table.insert(0, "video", video)
    st = crops.stats
    return {"video": video, "frames_sampled": len(st.requested),
            "frames_scored": table["frame"].nunique(), "frames_no_face": len(st.no_face),
            "frames_unreadable": len(st.read_error), "face_tracks": len(res.tracks),
            "max_faces": int(table["n_faces"].max()) if len(table) else 0,
            "track": "" if res.track is None else res.track, "video_score": res.score,
            "verdict": res.verdict or NO_FACE, "error": ""}, table


def _provenance(checkpoint: Path, cfg, ecfg: ExtractConfig, faces: str, min_track_share: float,
                aggregate: str, threshold: float) -> dict:
    """What produced the results: model file, run, crops, faces, aggregation, libraries."""
    return {"checkpoint": str(checkpoint), "checkpoint_sha256": file_sha256(checkpoint),
            "run_name": cfg.run_name, "run_config": cfg.to_dict(),
            "extraction": ecfg.fingerprint(),
            "faces": {"faces": faces, "min_track_share": float(min_track_share)},
            "faces_description": FACE_POLICIES[faces],
            "aggregate": aggregate,
            "aggregate_description": AGGREGATIONS[aggregate].description,
            "threshold": float(threshold), "versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def detect_videos(inputs: Sequence[str | os.PathLike], checkpoint: str | os.PathLike,
                  out: str | os.PathLike, *, patterns: Sequence[str] = DEFAULT_PATTERNS,
                  frames: int | None = None, predictor: str | os.PathLike | None = None,
                  crop_size: int | None = None, batch_size: int | None = None,
                  workers: int = 1, aggregate: str = "mean",
                  threshold: float = DECISION_THRESHOLD, force: bool = False,
                  allow_pickle: bool = False, faces: str = "all",
                  min_track_share: float = MIN_TRACK_SHARE) -> dict:
    """Score videos and folders of videos; write (or resume) the results in ``out``.

    Args:
        inputs: video files and folders (searched recursively for ``patterns``).
        checkpoint: a ``best.pt`` written by ``python -m jdfd_lib train``.
        out: folder for detections.csv, frames.csv and detections.json.
        workers: processes decoding and aligning videos in parallel.
        force: replace results in ``out`` made with other settings.
        faces: "all" (every face, in tracks; the video gets its most suspicious track) or
            "largest" (:data:`jdfd_lib.faces.tracks.FACE_POLICIES`).
        min_track_share: a track decides the video score when it holds at least this share
            of the frames with a face (:data:`jdfd_lib.detection.frames.MIN_TRACK_SHARE`).
        Others: as for :func:`jdfd_lib.detection.detect.detect_video`.

    Returns:
        ``counts`` (videos, scored, fake, real, no_face, unreadable: all of ``out``),
        ``unreadable`` (video, reason), ``done`` (videos processed now), ``skipped`` (done
        before), ``skipped_files`` (path, reason: what the folders hold but was not taken,
        printed on stderr as ``skipped: PATH: reason`` and kept in detections.json), and the
        paths ``detections``, ``frames``, ``json``.

    Raises:
        UserError: a bad setting, a missing input, or results of other settings in ``out``.
    """
    check_settings(aggregate, threshold, min_track_share, frames=frames, crop_size=crop_size,
                   batch_size=batch_size, workers=workers)
    check_faces(faces)
    checkpoint, out = Path(checkpoint), Path(out)
    if not checkpoint.is_file():
        raise UserError(f"{checkpoint}: checkpoint not found")
    skipped: list[tuple[Path, str]] = []
    videos = [str(v) for v in find_videos(inputs, patterns, skipped)]
    for line in skipped_lines(skipped):  # all of them in detections.json
        print(line, file=sys.stderr)
    from jdfd_lib.evaluation.scoring import ScoreSettings, prepare_model
    from jdfd_lib.training.checkpoint import load_checkpoint  # heavy imports (torch, timm)

    model, cfg, _ = load_checkpoint(checkpoint, allow_pickle=allow_pickle)
    ecfg = extraction_config(cfg.profile, frames, crop_size or cfg.image_size, predictor,
                             model_size=cfg.image_size)
    provenance = _provenance(checkpoint, cfg, ecfg, faces, min_track_share, aggregate,
                             threshold)
    provenance["skipped_files"] = [{"path": str(p), "reason": why} for p, why in skipped]
    with holding(out / LOCK_FILE, out, "another detect is writing its results in it"):
        results = Results(out, provenance, videos, force)
        todo = [v for v in videos if v not in results.rows]
        if results.changed:  # the same path, other content: the old verdict no longer holds
            print(f"{len(results.changed)} videos changed since they were scored (size or "
                  f"modification time, or not recorded), e.g. {results.changed[0]}: scoring "
                  f"them again")
        settings = ScoreSettings.from_config(cfg, batch_size, num_workers=0)
        model = prepare_model(model, settings)
        try:
            # closed on Ctrl-C too
            with closing(_extractions(todo, ecfg, workers, faces)) as stream:
                for ext in progress_bar(stream, total=len(todo), desc="detect", unit="video"):
                    if ext[1] is not None and ext[1].stats.decoder != "opencv":  # said, once
                        print(f"decoded with PyAV: {ext[0]}: {ext[1].stats.decoder_note}",
                              file=sys.stderr)
                    results.add(*_score_video(*ext, model, settings, aggregate, threshold,
                                              min_track_share))
                    results.flush(force=False)
        finally:  # keep every finished video, also when interrupted
            results.flush()
    return {"counts": results.counts(), "unreadable": results.unreadable(), "done": len(todo),
            "skipped": len(videos) - len(todo), "skipped_files": skipped,
            "detections": out / DETECTIONS_CSV,
            "frames": out / FRAMES_CSV, "json": out / DETECTIONS_JSON}

