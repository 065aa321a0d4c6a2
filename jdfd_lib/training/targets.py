"""Per-image training targets beside the label, and the active learning that rations them.

A detector that names ``"mask"`` in :attr:`~jdfd_lib.detectors.base.Detector.targets` (LAE,
Du et al. 2020) trains on index rows whose ``mask`` column (:mod:`jdfd_lib.faces.index`) gives
the crop's forgery mask. :class:`MaskTargets` reads them for :class:`~jdfd_lib.training.data.
CropDataset`: ``mask`` (1, S, S) float in {0, 1} and ``has_mask`` (bool), False where the crop
has no mask *or may not use it yet*.

With a target budget (:meth:`~jdfd_lib.detectors.base.Detector.active_learning`: a share of the
training images and the epochs between rounds), no mask may be used at first; each round
(:func:`select_round`) ranks the not yet chosen training fakes that have a mask by the
detector's :meth:`~jdfd_lib.detectors.base.Detector.hardness` (which never reads a mask: the
mask is the annotation being requested) and lets the hardest use theirs, until the budget is
spent evenly over the rounds. The chosen rows travel in the checkpoint, so a resumed run uses
the same masks.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Subset

from jdfd_lib.core.errors import UserError
from jdfd_lib.detectors.base import ActiveLearning, Detector
from jdfd_lib.faces.index import MASK_COLUMN


class MaskTargets:
    """Mask crops of a frame of index rows (see the module docstring).

    Args:
        frame: index rows with ``abs_path``, ``path`` and (optionally) ``mask``; rows without
            the column, or with "", have no mask (foreign unlabeled images, pristine crops).
        size: the network input side; masks are resized with nearest-neighbour sampling.
        where: the index the rows came from (for messages).
        allow_all: every row with a mask may use it (validation; no active learning).

    Raises:
        UserError: not one row has a mask (the detector cannot train on this data).
    """

    def __init__(self, frame: pd.DataFrame, size: int, where: str, allow_all: bool = True):
        masks = (frame[MASK_COLUMN].fillna("").astype(str) if MASK_COLUMN in frame
                 else pd.Series([""] * len(frame)))
        # the index root of each row: abs_path = root / path
        roots = [a[:len(a) - len(p)] for a, p in zip(frame["abs_path"], frame["path"],
                                                      strict=True)]
        self.paths = [str(Path(r) / m) if m else "" for r, m in zip(roots, masks, strict=True)]
        self.available = np.array([bool(m) for m in masks])  # (N,) the crop has a mask
        if not self.available.any():
            raise UserError(f"{where}: no crop has a forgery mask, and this detector's loss "
                            f"needs masks; prepare the dataset with masks (FF++ ships them "
                            f"in manipulated_sequences/<method>/masks/videos; others: "
                            f"prepare's derived masks)")
        self.allowed = self.available.copy() if allow_all else np.zeros(len(frame), bool)
        self.size = size

    def item(self, i: int, flip: bool) -> dict[str, torch.Tensor | bool]:
        """``mask`` (1, S, S) float32 and ``has_mask`` for row ``i`` (flipped like its image)."""
        if not self.allowed[i]:
            return {"mask": torch.zeros(1, self.size, self.size), "has_mask": False}
        image = cv2.imread(self.paths[i], cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise FileNotFoundError(f"{self.paths[i]}: mask crop missing or unreadable; "
                                    f"expected the one-channel PNG prepare wrote")
        if image.shape != (self.size, self.size):
            image = cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_NEAREST)
        mask = torch.from_numpy((image > 127).astype(np.float32))[None]  # (1, S, S)
        return {"mask": mask.flip(-1) if flip else mask, "has_mask": True}


def budget_after_round(schedule: ActiveLearning, n_images: int, epochs: int,
                       round_index: int) -> int:
    """How many rows may use their mask once round ``round_index`` (0-based) is done: the
    budget ``share * n_images`` (rounded down) spread evenly over the run's rounds."""
    rounds = math.ceil(epochs / schedule.every)
    total = math.floor(schedule.share * n_images)
    return math.floor(total * (round_index + 1) / rounds)


@torch.inference_mode()
def select_round(model: Detector, dataset, labels: np.ndarray, labelled: np.ndarray,
                 targets: MaskTargets, wanted: int, batch_size: int,
                 device: torch.device) -> np.ndarray:
    """Let the hardest not yet chosen labelled fakes with a mask use it, until ``wanted``
    rows may; returns the newly chosen row indices (sorted).

    Args:
        model: the detector being trained (scored in eval mode, restored after).
        dataset: the training CropDataset (images read without flips for the ranking).
        labels: (N,) labels of the rows; labelled: (N,) bool.
        targets: the dataset's :class:`MaskTargets` (``allowed`` is updated in place).
        wanted: the rows that may use their mask after this round.
        batch_size: images per forward pass.
        device: where the model runs.
    """
    chosen = targets.allowed.sum()
    candidates = np.flatnonzero(targets.available & ~targets.allowed & labelled & (labels == 1))
    k = int(min(max(wanted - chosen, 0), len(candidates)))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    was_training, flips = model.training, dataset.hflip
    model.eval()
    dataset.hflip = False
    try:
        scores = []
        for batch in DataLoader(Subset(dataset, candidates.tolist()), batch_size):
            x, y = batch[0].to(device), batch[1].to(device)
            scores.append(model.hardness(model(x), y).float().cpu())
    finally:
        dataset.hflip = flips
        model.train(was_training)
    hardness = torch.cat(scores).numpy()
    order = np.lexsort((candidates, -hardness))  # hardest first; ties by row
    picked = np.sort(candidates[order[:k]])
    targets.allowed[picked] = True
    return picked
