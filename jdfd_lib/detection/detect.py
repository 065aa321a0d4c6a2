"""``python -m jdfd_lib detect``: are new videos fake? (paper Sec. 3.1 pipeline, Sec. 4.3 score)

A video goes through the same pre-processing as the training data: evenly spaced frames, the
largest Dlib face aligned and cropped (:func:`jdfd_lib.faces.crops.extract_video_faces`, with the
extraction profile named like the checkpoint's profile, and crops cut directly at the model's
input size ``image_size`` of the run's config, the size the training crops are prepared at:
64 px demo, 299 px paper), then the same normalisation as ``evaluate``
(:mod:`jdfd_lib.evaluation.scoring`; a crop of another size is resized as in evaluation).
Each face gets a fake score ``softmax(logits)[:, 1]``; the video score aggregates them (default:
their mean; see :data:`jdfd_lib.detection.frames.AGGREGATIONS`) and is called fake at or above the
threshold (default 0.5). Frames without a face are counted, not scored. With a decoder,
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
    check_settings,
    extraction_config,
    model_views,
    score_video,
)
from jdfd_lib.detection.results import DETECTIONS_CSV, DETECTIONS_JSON, FRAMES_CSV
from jdfd_lib.detection.videos import DEFAULT_PATTERNS, detect_videos
from jdfd_lib.detectors.base import Detector
from jdfd_lib.evaluation.metrics import DECISION_THRESHOLD
from jdfd_lib.evaluation.scoring import (
    ScoreSettings,
    input_spec,
)
from jdfd_lib.training.checkpoint import UNSAFE_FLAG, UNSAFE_HELP
from jdfd_lib.training.data import normalise

PICTURE_FRAMES = 6  # faces shown (in columns) in the optional picture


def detect_video(video: str | os.PathLike, checkpoint: str | os.PathLike,
                 frames: int | None = None, picture: str | os.PathLike | None = None,
                 predictor: str | os.PathLike | None = None, crop_size: int | None = None,
                 batch_size: int | None = None, aggregate: str = "mean",
                 threshold: float = DECISION_THRESHOLD, allow_pickle: bool = False) -> dict:
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
        aggregate: how frame scores become the video score, a name of
            :data:`jdfd_lib.detection.frames.AGGREGATIONS` (default: their mean).
        threshold: a video score at or above it is "fake", in (0, 1).
        allow_pickle: unpickle a checkpoint holding Python objects (older jdfd versions);
            this runs code from the file, so only for files you trust.

    Returns:
        ``frames`` (DataFrame: frame, score, and recon_error with a decoder), ``video_score``
        (the aggregated frame scores; NaN without faces), ``verdict`` ("fake", "real", or
        None without faces), ``aggregate``, ``threshold``, ``n_sampled``, ``n_faces``,
        ``no_face_frames``, ``read_error_frames``, ``run_name``, ``video``, ``checkpoint``,
        ``picture``.

    Raises:
        UserError: a count is not positive, or an unknown aggregation or bad threshold.
        FileNotFoundError: the video or checkpoint does not exist.
        jdfd_lib.faces.video.VideoReadError: the video cannot be decoded.
    """
    check_settings(aggregate, threshold, frames=frames, crop_size=crop_size,
                   batch_size=batch_size)
    video, checkpoint = Path(video), Path(checkpoint)
    for path, what in ((video, "video"), (checkpoint, "checkpoint")):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: {what} not found")
    from jdfd_lib.faces.crops import extract_video_faces
    from jdfd_lib.training.checkpoint import load_checkpoint  # heavy import (timm)
    model, cfg, _ = load_checkpoint(checkpoint, allow_pickle=allow_pickle)
    ecfg = extraction_config(cfg.profile, frames, crop_size or cfg.image_size, predictor)
    crops = extract_video_faces(video, ecfg)
    settings = ScoreSettings.from_config(cfg, batch_size, num_workers=0)
    table, score, verdict = score_video(crops, model, settings, aggregate, threshold)
    result = {
        "video": str(video), "checkpoint": str(checkpoint), "run_name": cfg.run_name,
        "frames": table, "video_score": score, "verdict": verdict, "aggregate": aggregate,
        "threshold": threshold, "n_sampled": len(crops.stats.requested), "n_faces": len(crops),
        "no_face_frames": list(crops.stats.no_face),
        "read_error_frames": list(crops.stats.read_error), "picture": None,
    }
    if picture is not None and len(crops):
        images = [c.image for c in crops]
        result["picture"] = str(_save_picture(model, images, table, Path(picture)))
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
    titles = [f"frame {table['frame'].iat[i]}\nscore {table['score'].iat[i]:.2f}" for i in pick]
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
        "another checkpoint, frames, aggregation or threshold are refused; see --force)"))
    parser.add_argument("--glob", action="append", metavar="PATTERN", help=(
        "file-name pattern of the videos in folders (case-insensitive); repeatable or "
        f"comma-separated (default: {','.join(DEFAULT_PATTERNS)})"))
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="processes decoding and aligning videos in parallel (default 1)")
    aggregations = "; ".join(f"{k}: {a.description}" for k, a in AGGREGATIONS.items())
    parser.add_argument("--aggregate", choices=list(AGGREGATIONS), default="mean",
                        help=f"how frame scores become the video score: {aggregations}")
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
                       args.threshold, args.unsafe_allow_pickle)
    print(f"{res['video']} (model {res['run_name']})")
    if res["n_faces"]:
        print(res["frames"].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"sampled frames: {res['n_sampled']}, with a face: {res['n_faces']}, "
          f"no face: {len(res['no_face_frames'])}, unreadable: {len(res['read_error_frames'])}")
    if res["verdict"] is None:
        print("no face found in the sampled frames: no verdict")
        return 1
    print(f"video score ({res['aggregate']} of the frame fake probabilities): "
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
                        allow_pickle=args.unsafe_allow_pickle)
    c = res["counts"]
    print(f"{res['done']} videos processed now, {res['skipped']} done before in "
          f"{res['detections']}")
    print(f"{c['videos']} videos: {c['fake']} fake, {c['real']} real, {c['no_face']} no face, "
          f"{c['unreadable']} unreadable (video score: {args.aggregate}, threshold "
          f"{args.threshold})")
    print(f"results: {res['detections']}; per frame: {res['frames']}; provenance: {res['json']}")
    for bad in res["unreadable"]:
        print(f"unreadable: {bad['video']}: {bad['reason']}", file=sys.stderr)
    return int(bool(res["unreadable"]))
