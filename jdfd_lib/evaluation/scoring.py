"""Scoring face crops with a JDFD model: pre-processing, batched inference (paper Sec. 4.3).

Shared by ``evaluate`` (every crop of a test split) and ``detect`` (the crops of one new
video). A crop (H, W, 3) RGB uint8 is read and prepared exactly as for training
(:mod:`jdfd_lib.training.data`: resized to the model's input size if it differs, scaled to [0, 1],
normalised with the model's mean and std); the fake score is
``softmax(logits)[:, 1]``. Inference runs in eval mode under ``torch.inference_mode()``; on
CUDA with bf16 autocast and channels_last when the run's config asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from jdfd_lib.core.progress import progress_bar
from jdfd_lib.detectors.base import Detector
from jdfd_lib.training.data import CropDataset, normalise
from jdfd_lib.training.runtime import resolve_device


@dataclass(frozen=True)
class ScoreSettings:
    """How frames go through the model: device, batch, bf16 autocast, memory layout."""

    device: torch.device
    batch_size: int
    num_workers: int = 0
    amp: bool = False  # bf16 autocast; only ever on CUDA
    channels_last: bool = False  # NHWC layout; only ever on CUDA

    @classmethod
    def from_config(cls, cfg, batch_size: int | None = None,
                    num_workers: int | None = None) -> ScoreSettings:
        """Settings from a run's ``TrainConfig`` (device, batch_size, num_workers, amp,
        channels_last), with optional batch size and worker overrides."""
        device = resolve_device(cfg.device)
        cuda = device.type == "cuda"
        return cls(device, batch_size or cfg.batch_size,
                   cfg.num_workers if num_workers is None else num_workers,
                   amp=cuda and bool(cfg.amp), channels_last=cuda and bool(cfg.channels_last))


def input_spec(model: torch.nn.Module) -> tuple[int, np.ndarray, np.ndarray]:
    """The model's (square) input side and per-channel normalisation mean and std (3,).

    Raises:
        ValueError: the model's ``pretrained_cfg`` input is not square.
    """
    pc = model.pretrained_cfg
    h, w = pc["input_size"][-2:]
    if h != w:
        raise ValueError(f"expected a square model input, got input_size {pc['input_size']}")
    return int(h), np.asarray(pc["mean"], np.float32), np.asarray(pc["std"], np.float32)


def to_tensor(image: np.ndarray, model: torch.nn.Module) -> torch.Tensor:
    """(H, W, 3) RGB uint8 -> (3, s, s) float32 model input, prepared as in training
    (:func:`jdfd_lib.training.data.normalise`: resized if needed, then normalised)."""
    size, mean, std = input_spec(model)
    return normalise(image, size, mean, std)


@torch.inference_mode()
def forward_batch(model: Detector, x: torch.Tensor,
                  settings: ScoreSettings) -> dict[str, torch.Tensor | None]:
    """Run one batch x (B, 3, h, w) of normalised inputs through a detector (already on the
    device).

    Returns:
        ``score`` (B,) fake probability; ``recon`` (B, 3, h, w) float32 and ``recon_error``
        (B,) mean squared error in the normalised space, both None without a decoder;
        ``interpretation`` (B, 1, h, w), the detector's map of where it looked (LAE), or None.
    """
    x = x.to(settings.device, non_blocking=True)
    if settings.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=settings.amp):
        out = model(x)
    score = model.fake_score(out)  # (B,) the detector's fake probability
    recon = out.get("recon") if model.reconstructs else None
    views = {"score": score, "interpretation": out.get("interpretation")}
    if recon is None:
        return {**views, "recon": None, "recon_error": None}
    recon = recon.float()
    if recon.shape != x.shape:
        raise ValueError(f"reconstruction shape {tuple(recon.shape)} differs from the input "
                         f"{tuple(x.shape)}")
    return {**views, "recon": recon,
            "recon_error": (recon - x.float()).square().mean(dim=(1, 2, 3))}


def prepare_model(model: torch.nn.Module, settings: ScoreSettings) -> torch.nn.Module:
    """Eval mode, on the device, channels_last where asked."""
    model = model.eval().to(settings.device)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def score_batches(model: torch.nn.Module, batches, settings: ScoreSettings,
                  total: int | None = None) -> pd.DataFrame:
    """Score an iterable of input batches (B, 3, h, w).

    Returns:
        One row per input: ``score`` and, with a decoder, ``recon_error``.
    """
    model = prepare_model(model, settings)
    scores, errors = [], []
    for x in progress_bar(batches, total=total, desc="score", unit="batch", leave=False):
        out = forward_batch(model, x, settings)
        scores.append(out["score"].cpu().numpy())
        if out["recon_error"] is not None:
            errors.append(out["recon_error"].cpu().numpy())
    table = pd.DataFrame({"score": np.concatenate(scores) if scores else np.zeros(0)})
    if errors:
        table["recon_error"] = np.concatenate(errors)
    return table


def score_paths(model: torch.nn.Module, paths: list[str], settings: ScoreSettings) -> pd.DataFrame:
    """Score face-crop files in order (see :func:`score_batches`)."""
    size, mean, std = input_spec(model)
    frame = pd.DataFrame({"abs_path": list(paths), "label": 0})  # labels unused here
    loader = DataLoader(CropDataset(frame, size, mean, std), batch_size=settings.batch_size,
                        shuffle=False, num_workers=settings.num_workers,
                        pin_memory=settings.device.type == "cuda")
    batches = (x for x, _, _ in loader)  # (B, 3, s, s); labels are joined back by the caller
    return score_batches(model, batches, settings, total=len(loader))
