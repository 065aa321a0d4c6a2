"""``python -m jdfd_lib detect``: is one new video fake? (paper Sec. 3.1 pipeline, Sec. 4.3 score)

The video goes through the same pre-processing as the training data: evenly spaced frames,
the largest Dlib face aligned and cropped (:func:`jdfd_lib.faces.extract_video_faces`, with
the extraction profile named like the checkpoint's profile, and crops cut directly at the
model's input size ``image_size`` of the run's config, the size the training crops are
prepared at: 64 px demo, 299 px paper), then the same normalisation as ``evaluate``
(:mod:`jdfd_lib.scoring`; a crop of another size is resized as in evaluation). Each face
gets a fake score ``softmax(logits)[:, 1]``; the video score is their mean, called fake at
or above 0.5. Frames without a face are counted, not scored. With a decoder,
:func:`reconstruct` also shows what the autoencoder rebuilds.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from jdfd_lib.data import normalise
from jdfd_lib.faces import EXTRACT_PROFILES, ExtractConfig
from jdfd_lib.metrics import DECISION_THRESHOLD
from jdfd_lib.scoring import ScoreSettings, forward_batch, input_spec, score_batches, to_tensor

PICTURE_FRAMES = 6  # faces shown (in columns) in the optional picture


def _batches(images: list[np.ndarray], model: torch.nn.Module, batch_size: int):
    """Yield normalised input batches (B, 3, h, w) of RGB uint8 images, in order."""
    for i in range(0, len(images), batch_size):
        yield torch.stack([to_tensor(img, model) for img in images[i:i + batch_size]])


def reconstruct(model: torch.nn.Module, images_uint8_rgb: list[np.ndarray],
                batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The autoencoder's reconstructions of face crops and their per-pixel error.

    Runs on the model's current device, in eval mode, without autocast.

    Args:
        model: a JDFD model with a decoder (``with_decoder``).
        images_uint8_rgb: crops (H, W, 3) RGB uint8; resized to the model's input if needed.
        batch_size: crops per forward pass.

    Returns:
        ``recon_uint8`` (N, h, w, 3): reconstructions de-normalised back to RGB uint8;
        ``error_map`` (N, h, w) float32: squared error averaged over channels, in the
        normalised space (its mean over pixels is the ``recon_error`` of ``evaluate``).

    Raises:
        ValueError: the model has no decoder, or no images were given.
    """
    if not getattr(model, "with_decoder", False):
        raise ValueError("this model has no decoder (baseline variant): nothing to reconstruct")
    if len(images_uint8_rgb) == 0:
        raise ValueError("no images to reconstruct")
    settings = ScoreSettings(device=next(model.parameters()).device, batch_size=batch_size)
    _, mean, std = input_spec(model)
    was_training = model.training
    model.eval()
    recons, errors = [], []
    for x in _batches(list(images_uint8_rgb), model, batch_size):
        out = forward_batch(model, x, settings)
        r = out["recon"].cpu()  # (B, 3, h, w) normalised
        errors.append((r - x).square().mean(dim=1).numpy())  # (B, h, w)
        rgb = r.permute(0, 2, 3, 1).numpy() * std + mean  # (B, h, w, 3) in [0, 1] nominally
        recons.append(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))
    model.train(was_training)
    return np.concatenate(recons), np.concatenate(errors).astype(np.float32)


def extraction_config(profile: str, frames: int | None = None, crop_size: int | None = None,
                      predictor: str | os.PathLike | None = None) -> ExtractConfig:
    """The extraction settings of ``profile`` with optional overrides.

    Raises:
        ValueError: no extraction profile of that name.
    """
    if profile not in EXTRACT_PROFILES:
        raise ValueError(f"no extraction profile {profile!r}; expected one of "
                         f"{list(EXTRACT_PROFILES)} (pass crop_size and frames explicitly)")
    overrides = {"frames_per_video": frames, "image_size": crop_size,
                 "predictor_path": None if predictor is None else str(predictor)}
    return replace(EXTRACT_PROFILES[profile],
                   **{k: v for k, v in overrides.items() if v is not None}, workers=1)


def detect_video(video: str | os.PathLike, checkpoint: str | os.PathLike,
                 frames: int | None = None, picture: str | os.PathLike | None = None,
                 predictor: str | os.PathLike | None = None, crop_size: int | None = None,
                 batch_size: int | None = None) -> dict:
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

    Returns:
        ``frames`` (DataFrame: frame, score, and recon_error with a decoder), ``video_score``
        (mean frame score; NaN without faces), ``verdict`` ("fake", "real", or None without
        faces), ``threshold``, ``n_sampled``, ``n_faces``, ``no_face_frames``,
        ``read_error_frames``, ``run_name``, ``video``, ``checkpoint``, ``picture``.

    Raises:
        FileNotFoundError: the video or checkpoint does not exist.
        jdfd_lib.video.VideoReadError: the video cannot be decoded.
    """
    video, checkpoint = Path(video), Path(checkpoint)
    for path, what in ((video, "video"), (checkpoint, "checkpoint")):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: {what} not found")
    from jdfd_lib.checkpoint import load_checkpoint  # heavy import (timm)
    from jdfd_lib.faces import extract_video_faces
    model, cfg, _ = load_checkpoint(checkpoint)
    ecfg = extraction_config(cfg.profile, frames, crop_size or cfg.image_size, predictor)
    crops = extract_video_faces(video, ecfg)
    settings = ScoreSettings.from_config(cfg, batch_size, num_workers=0)
    images = [c.image for c in crops]
    table = score_batches(model, _batches(images, model, settings.batch_size), settings)
    table.insert(0, "frame", [c.frame for c in crops])
    score = float(table["score"].mean()) if len(table) else float("nan")
    result = {
        "video": str(video), "checkpoint": str(checkpoint), "run_name": cfg.run_name,
        "frames": table, "video_score": score, "threshold": DECISION_THRESHOLD,
        "verdict": None if np.isnan(score) else
        ("fake" if score >= DECISION_THRESHOLD else "real"),
        "n_sampled": len(crops.stats.requested), "n_faces": len(crops),
        "no_face_frames": list(crops.stats.no_face),
        "read_error_frames": list(crops.stats.read_error), "picture": None,
    }
    if picture is not None and images:
        result["picture"] = str(_save_picture(model, images, table, Path(picture)))
    return result


def _save_picture(model: torch.nn.Module, images: list[np.ndarray], table: pd.DataFrame,
                  path: Path) -> Path:
    """Up to :data:`PICTURE_FRAMES` evenly spaced faces (columns) with their scores."""
    from jdfd_lib.plot import image_grid, reconstructions  # matplotlib, Agg unless MPLBACKEND

    pick = np.unique(np.linspace(0, len(images) - 1, min(PICTURE_FRAMES, len(images))).round()
                     .astype(int))
    size, _, _ = input_spec(model)
    shown = [images[i] for i in pick]
    titles = [f"frame {table['frame'].iat[i]}\nscore {table['score'].iat[i]:.2f}" for i in pick]
    if getattr(model, "with_decoder", False):
        recon, err = reconstruct(model, shown)
        # (s, s, 3) in [0, 1]: resized as the model saw them, without the normalisation
        inputs = [normalise(img, size, (0.0,) * 3, (1.0,) * 3).permute(1, 2, 0).numpy()
                  for img in shown]
        fig = reconstructions(inputs, list(recon), list(err), titles)
    else:
        fig = image_grid(shown, titles, cols=len(shown))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m jdfd_lib detect``."""
    parser.add_argument("video", type=Path, help="the video to check")
    parser.add_argument("--checkpoint", required=True, type=Path, help="e.g. runs/X/best.pt")
    parser.add_argument("--frames", type=int, help="frames to sample (default: the profile's)")
    parser.add_argument("--picture", type=Path, help="write faces and reconstructions here")
    parser.add_argument("--predictor", type=Path, help="dlib 68-point shape predictor .dat")
    parser.add_argument("--crop-size", type=int,
                        help="aligned crop side (default: the run's image_size)")
    parser.add_argument("--batch-size", type=int, help="default: the run's batch size")


def run(args: argparse.Namespace) -> int:
    """Print per-frame scores, the video score and the verdict; exit 1 if no face was found."""
    res = detect_video(args.video, args.checkpoint, args.frames, args.picture, args.predictor,
                       args.crop_size, args.batch_size)
    print(f"{res['video']} (model {res['run_name']})")
    if res["n_faces"]:
        print(res["frames"].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"sampled frames: {res['n_sampled']}, with a face: {res['n_faces']}, "
          f"no face: {len(res['no_face_frames'])}, unreadable: {len(res['read_error_frames'])}")
    if res["verdict"] is None:
        print("no face found in the sampled frames: no verdict")
        return 1
    print(f"video score (mean fake probability): {res['video_score']:.4f}")
    print(f"verdict at {res['threshold']}: {res['verdict'].upper()}")
    if res["picture"]:
        print(f"picture: {res['picture']}")
    return 0
