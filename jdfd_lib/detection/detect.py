"""``python -m jdfd_lib detect``: are new videos fake? (paper Sec. 3.1 pipeline, Sec. 4.3 score)

A video goes through the same pre-processing as the training data: evenly spaced frames, each
Dlib face aligned and cropped (:func:`jdfd_lib.faces.crops.extract_video_faces`, with the
extraction profile named like the checkpoint's profile, and crops cut directly at the model's
input size ``image_size`` of the run's config, the size the training crops are prepared at:
64 px demo, 299 px paper), then the same normalisation as ``evaluate``
(:mod:`jdfd_lib.evaluation.scoring`; a crop of another size is resized as in evaluation).
Each face gets a fake score ``softmax(logits)[:, 1]``. Training kept only the largest face of a
frame; ``detect`` examines every face (``--faces all``, the default): the faces are linked
into face tracks across frames (:mod:`jdfd_lib.faces.tracks`), each track's score aggregates
its faces' scores (default: their mean; see :data:`jdfd_lib.detection.frames.AGGREGATIONS`),
and the video gets its most suspicious track's score among the tracks seen in at least
``--min-track-share`` of the frames with a face (:func:`jdfd_lib.detection.frames.track_scores`;
a one-face video: the aggregated frame scores, as before). It is called fake at or above the
threshold (default 0.5). ``--faces largest`` scores the largest face only, as in training.
Frames without a face are counted, not scored. With a decoder,
:func:`reconstruct` also shows what the autoencoder rebuilds.

One video without ``--out`` (:func:`detect_video`) prints its per-frame table; several
videos, folders or ``--out`` run the resumable job of :mod:`jdfd_lib.detection.videos`
(parallel extraction, ``detections.csv``, ``frames.csv``, ``detections.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from jdfd_lib.core.errors import positive_int
from jdfd_lib.detection.frames import (
    AGGREGATIONS,
    MIN_TRACK_SHARE,
    check_settings,
    extraction_config,
    model_views,
    score_faces,
)
from jdfd_lib.detection.results import DETECTIONS_CSV, DETECTIONS_JSON, FRAMES_CSV
from jdfd_lib.detection.videos import DEFAULT_PATTERNS, detect_videos
from jdfd_lib.detectors.base import Detector
from jdfd_lib.evaluation.metrics import DECISION_THRESHOLD
from jdfd_lib.evaluation.scoring import (
    ScoreSettings,
    input_spec,
)
from jdfd_lib.faces.tracks import FACE_POLICIES
from jdfd_lib.training.checkpoint import UNSAFE_FLAG, UNSAFE_HELP
from jdfd_lib.training.data import normalise

PICTURE_FRAMES = 6  # faces shown (in columns) in the optional picture


def detect_video(video: str | os.PathLike, checkpoint: str | os.PathLike,
                 frames: int | None = None, picture: str | os.PathLike | None = None,
                 predictor: str | os.PathLike | None = None, crop_size: int | None = None,
                 batch_size: int | None = None, aggregate: str = "mean",
                 threshold: float = DECISION_THRESHOLD, allow_pickle: bool = False,
                 faces: str = "all", min_track_share: float = MIN_TRACK_SHARE) -> dict:
    """Score one video with a trained checkpoint.

    Args:
        video: the video file.
        checkpoint: a ``best.pt`` written by ``python -m jdfd_lib train``.
        frames: frames to sample (default: the extraction profile of the run's profile).
        picture: optional PNG path: faces, reconstructions and error maps (JDFD), or the
            faces with their scores (baseline).
        predictor: dlib 68-point model (default: the one of ``face_recognition_models``).
        crop_size: aligned crop side (default: the run's ``image_size``); a crop of another
            size is resized to the model input as in evaluation.
        batch_size: faces per forward pass (default: the run's batch size).
        aggregate: how a face track's frame scores become its score, a name of
            :data:`jdfd_lib.detection.frames.AGGREGATIONS` (default: their mean).
        threshold: a video score at or above it is "fake", in (0, 1).
        allow_pickle: unpickle a checkpoint holding Python objects (older jdfd versions);
            this runs code from the file, so only for files you trust.
        faces: "all" (every face, in tracks) or "largest" (the training pre-processing);
            :data:`jdfd_lib.faces.tracks.FACE_POLICIES`.
        min_track_share: a track decides the video score when it holds at least this share
            of the frames with a face (:data:`jdfd_lib.detection.frames.MIN_TRACK_SHARE`).

    Returns:
        ``frames`` (DataFrame: frame, track, n_faces, box, score, and recon_error with a
        decoder), ``tracks`` (DataFrame: track, faces, score, decides), ``track`` (the one
        the video score comes from; None without faces), ``video_score`` (the most
        suspicious deciding track's score; NaN without faces), ``verdict`` ("fake", "real",
        or None without faces), ``faces``, ``aggregate``, ``threshold``, ``n_sampled``,
        ``n_faces`` (frames with a face), ``max_faces`` (most faces in one frame),
        ``no_face_frames``, ``read_error_frames``, ``run_name``, ``video``, ``checkpoint``,
        ``picture`` (the deciding track's faces).

    Raises:
        UserError: a count is not positive, an unknown aggregation or face policy, or a bad
            threshold or track share.
        FileNotFoundError: the video or checkpoint does not exist.
        jdfd_lib.faces.video.VideoReadError: the video cannot be decoded.
    """
    check_settings(aggregate, threshold, min_track_share, frames=frames, crop_size=crop_size,
                   batch_size=batch_size)
    from jdfd_lib.faces.crops import check_faces, extract_video_faces

    check_faces(faces)
    video, checkpoint = Path(video), Path(checkpoint)
    for path, what in ((video, "video"), (checkpoint, "checkpoint")):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: {what} not found")
    from jdfd_lib.training.checkpoint import load_checkpoint  # heavy import (timm)
    model, cfg, _ = load_checkpoint(checkpoint, allow_pickle=allow_pickle)
    ecfg = extraction_config(cfg.profile, frames, crop_size or cfg.image_size, predictor,
                             model_size=cfg.image_size)
    crops = extract_video_faces(video, ecfg, faces=faces)
    settings = ScoreSettings.from_config(cfg, batch_size, num_workers=0)
    res = score_faces(crops, model, settings, aggregate, threshold, min_track_share)
    table = res.frames
    result = {
        "video": str(video), "checkpoint": str(checkpoint), "run_name": cfg.run_name,
        "frames": table, "tracks": res.tracks, "track": res.track, "video_score": res.score,
        "verdict": res.verdict, "faces": faces, "aggregate": aggregate, "threshold": threshold,
        "n_sampled": len(crops.stats.requested), "n_faces": table["frame"].nunique(),
        "max_faces": int(table["n_faces"].max()) if len(table) else 0,
        "no_face_frames": list(crops.stats.no_face),
        "read_error_frames": list(crops.stats.read_error), "picture": None,
    }
    if picture is not None and len(crops):
        shown = (table["track"] == res.track).to_numpy()  # the deciding track's faces
        images = [c.image for c, keep in zip(crops, shown, strict=True) if keep]
        result["picture"] = str(_save_picture(model, images, table[shown], Path(picture)))
    return result


def _save_picture(model: Detector, images: list[np.ndarray], table: pd.DataFrame,
                  path: Path) -> Path:
    """Up to :data:`PICTURE_FRAMES` evenly spaced faces (columns) with their scores."""
    from jdfd_lib.reporting.plot import (  # matplotlib, Agg unless MPLBACKEND
        face_rows,
        image_grid,
    )

    pick = np.unique(np.linspace(0, len(images) - 1, min(PICTURE_FRAMES, len(images))).round()
                     .astype(int))
    size, _, _ = input_spec(model)
    shown = [images[i] for i in pick]
    tracks = table["track"] if "track" in table else None  # absent: one face a frame
    titles = [f"frame {table['frame'].iat[i]}"
              + ("" if tracks is None else f", track {tracks.iat[i]}")
              + f"\nscore {table['score'].iat[i]:.2f}" for i in pick]
    # (s, s, 3) in [0, 1]: resized as the model saw them, without the normalisation
    inputs = [normalise(img, size, (0.0,) * 3, (1.0,) * 3).permute(1, 2, 0).numpy()
              for img in shown]
    rows = [("input", inputs, None), *model_views(model, shown)]
    fig = face_rows(rows, titles) if len(rows) > 1 else image_grid(shown, titles,
                                                                    cols=len(shown))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m jdfd_lib detect``."""
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help=(
        "video files and/or folders searched recursively for videos (see --glob); one video "
        "without --out prints its per-frame scores"))
    parser.add_argument("--checkpoint", required=True, type=Path, help="e.g. runs/X/best.pt")
    parser.add_argument("--frames", type=positive_int,
                        help="frames to sample per video (default: the profile's)")
    parser.add_argument("--picture", type=Path,
                        help="one video without --out: write faces and reconstructions here")
    parser.add_argument("--predictor", type=Path, help="dlib 68-point shape predictor .dat")
    parser.add_argument("--crop-size", type=positive_int,
                        help="aligned crop side (default: the run's image_size)")
    parser.add_argument("--batch-size", type=positive_int,
                        help="faces per forward pass (default: the run's batch size)")
    parser.add_argument("--out", type=Path, help=(
        f"folder for {DETECTIONS_CSV} (one row per video), {FRAMES_CSV} (per-frame scores) "
        f"and {DETECTIONS_JSON} (provenance); required with several videos or a folder. "
        "The same command run again resumes: videos already there are skipped (results of "
        "another checkpoint, frames, faces, aggregation or threshold are refused; see --force)"))
    parser.add_argument("--glob", action="append", metavar="PATTERN", help=(
        "file-name pattern of the videos in folders (case-insensitive); repeatable or "
        f"comma-separated (default: {','.join(DEFAULT_PATTERNS)})"))
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="processes decoding and aligning videos in parallel (default 1)")
    aggregations = "; ".join(f"{k}: {a.description}" for k, a in AGGREGATIONS.items())
    parser.add_argument("--aggregate", choices=list(AGGREGATIONS), default="mean",
                        help=f"how a face track's frame scores become its score: {aggregations}")
    policies = "; ".join(f"{k}: {v}" for k, v in FACE_POLICIES.items())
    parser.add_argument("--faces", choices=list(FACE_POLICIES), default="all",
                        help=f"which faces are scored: {policies}")
    parser.add_argument("--min-track-share", type=share, default=MIN_TRACK_SHARE, help=(
        "a face track decides the video score when it holds at least this share of the "
        f"frames with a face, and at least 2 of them (default {MIN_TRACK_SHARE}); shorter "
        "tracks are scored and reported only (when none is long enough, the longest decide)"))
    parser.add_argument("--threshold", type=probability, default=DECISION_THRESHOLD,
                        help=f"a video score at or above it is fake (default "
                             f"{DECISION_THRESHOLD})")
    parser.add_argument("--force", action="store_true",
                        help="replace results in --out that were made with other settings")
    parser.add_argument(UNSAFE_FLAG, dest="unsafe_allow_pickle", action="store_true",
                        help=UNSAFE_HELP)
    # run() needs the parser for usage errors that depend on the paths (is one a folder?)
    parser.set_defaults(detect_parser=parser)


def split_patterns(values: list[str] | None) -> tuple[str, ...]:
    """``--glob`` values, repeated and/or comma-separated; the default video patterns if none."""
    patterns = tuple(p.strip() for v in values or () for p in v.split(",") if p.strip())
    return patterns or DEFAULT_PATTERNS


def probability(text: str) -> float:
    """argparse ``type=`` for a threshold strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (exclusive), "
                                         f"got {text!r}")
    return value


def share(text: str) -> float:
    """argparse ``type=`` for a share from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Score one video (per-frame table) or many (``--out``); see :func:`_run_one`,
    :func:`_run_many` for the exit statuses."""
    many = args.out is not None or len(args.videos) > 1 or Path(args.videos[0]).is_dir()
    if many and args.out is None:
        args.detect_parser.error("several videos or a folder need --out DIR for the results")
    if many and args.picture is not None:
        args.detect_parser.error("--picture works for one video without --out")
    return _run_many(args) if many else _run_one(args)


def _run_one(args: argparse.Namespace) -> int:
    """Print per-frame scores, the video score and the verdict; exit 1 if no face was found."""
    res = detect_video(args.videos[0], args.checkpoint, args.frames, args.picture,
                       args.predictor, args.crop_size, args.batch_size, args.aggregate,
                       args.threshold, args.unsafe_allow_pickle, args.faces,
                       args.min_track_share)
    print(f"{res['video']} (model {res['run_name']})")
    if res["n_faces"]:
        shown = res["frames"].drop(columns=["left", "top", "right", "bottom"])
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"sampled frames: {res['n_sampled']}, with a face: {res['n_faces']}, "
          f"no face: {len(res['no_face_frames'])}, unreadable: {len(res['read_error_frames'])}")
    if res["verdict"] is None:
        print("no face found in the sampled frames: no verdict")
        return 1
    tracks = res["tracks"]
    if len(tracks) > 1:
        print(f"{len(tracks)} face tracks (up to {res['max_faces']} faces in one frame); "
              f"video score from track {res['track']} (the most suspicious):")
        for t in tracks.itertuples():
            print(f"  track {t.track}: {t.faces} faces, score {t.score:.4f}"
                  + ("" if t.decides else " (seen in too few frames to decide)"))
    print(f"video score ({res['aggregate']} of the frame fake probabilities"
          f"{', most suspicious face track' if len(tracks) > 1 else ''}): "
          f"{res['video_score']:.4f}")
    print(f"verdict at {res['threshold']}: {res['verdict'].upper()}")
    if res["picture"]:
        print(f"picture: {res['picture']}")
    return 0


def _run_many(args: argparse.Namespace) -> int:
    """Score videos into ``--out``; print the counts, and each unreadable file on stderr.

    Returns:
        0 when every video was read, 1 when any could not be (the others are scored).
    """
    res = detect_videos(args.videos, args.checkpoint, args.out,
                        patterns=split_patterns(args.glob), frames=args.frames,
                        predictor=args.predictor, crop_size=args.crop_size,
                        batch_size=args.batch_size, workers=args.workers,
                        aggregate=args.aggregate, threshold=args.threshold, force=args.force,
                        allow_pickle=args.unsafe_allow_pickle, faces=args.faces,
                        min_track_share=args.min_track_share)
    c = res["counts"]
    print(f"{res['done']} videos processed now, {res['skipped']} done before in "
          f"{res['detections']}")
    print(f"{c['videos']} videos: {c['fake']} fake, {c['real']} real, {c['no_face']} no face, "
          f"{c['unreadable']} unreadable (video score: {args.aggregate}, threshold "
          f"{args.threshold})")
    if c["several_faces"]:
        print(f"{c['several_faces']} videos with several face tracks: each scored by its most "
              f"suspicious one (columns face_tracks, max_faces, track)")
    print(f"results: {res['detections']}; per frame: {res['frames']}; provenance: {res['json']}")
    for bad in res["unreadable"]:
        print(f"unreadable: {bad['video']}: {bad['reason']}", file=sys.stderr)
    return int(bool(res["unreadable"]))
