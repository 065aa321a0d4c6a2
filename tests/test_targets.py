"""Per-image training targets (forgery masks) and the active learning that rations them
(:mod:`jdfd_lib.training.targets`), through the real trainer with LAE. The crops and masks
are conftest's ``synthetic_faces`` (fakes forged in the central square, masks marking it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.core.errors import UserError
from jdfd_lib.detectors.base import ActiveLearning, Detector
from jdfd_lib.detectors.registry import detector_config
from jdfd_lib.training.checkpoint import read_checkpoint
from jdfd_lib.training.data import CropDataset
from jdfd_lib.training.targets import MaskTargets, budget_after_round, select_round
from jdfd_lib.training.train import train

SIZE = 32  # conftest's synthetic crops
INNER = slice(SIZE // 4, 3 * SIZE // 4)  # where the fakes are forged (and masked)


def _rows(root: Path) -> pd.DataFrame:
    from jdfd_lib.training.data import load_split

    return load_split(root, "train")


def test_masks_are_read_flipped_with_their_image(tmp_path, synthetic_faces) -> None:
    rows = _rows(synthetic_faces(tmp_path / "ffpp", "ffpp", masks=True))
    targets = MaskTargets(rows, SIZE, "test")
    fake = int(np.flatnonzero(rows["label"].to_numpy() == 1)[0])
    item = targets.item(fake, flip=False)
    assert item["has_mask"] and item["mask"].shape == (1, SIZE, SIZE)
    assert item["mask"][0, INNER, INNER].min() == 1 and item["mask"].sum() == (SIZE // 2) ** 2
    half = np.zeros((SIZE, SIZE), np.uint8)
    half[:, : SIZE // 4] = 255  # an asymmetric mask shows the flip
    cv2.imwrite(targets.paths[fake], half)
    flipped = targets.item(fake, flip=True)["mask"][0]
    assert flipped[:, -SIZE // 4:].min() == 1 and flipped[:, : SIZE // 4].max() == 0
    real = int(np.flatnonzero(rows["label"].to_numpy() == 0)[0])
    assert targets.item(real, flip=False) == {"mask": pytest.approx(torch.zeros(1, SIZE, SIZE)),
                                              "has_mask": False}
    rationed = MaskTargets(rows, SIZE, "test", allow_all=False)
    assert not rationed.item(fake, flip=False)["has_mask"]  # not chosen yet


def test_no_mask_at_all_is_refused_naming_the_index(tmp_path, synthetic_faces) -> None:
    rows = _rows(synthetic_faces(tmp_path / "ffpp", "ffpp"))
    with pytest.raises(UserError, match="faces/ffpp.*no crop has a forgery mask"):
        MaskTargets(rows, SIZE, "faces/ffpp")


def test_budget_is_spread_evenly_over_the_rounds() -> None:
    schedule = ActiveLearning(share=0.03, every=2)
    assert [budget_after_round(schedule, 1000, 6, r) for r in range(3)] == [10, 20, 30]
    assert budget_after_round(ActiveLearning(0.03, 1), 90, 1, 0) == 2  # floor(2.7)


class _ByBrightness(Detector):
    """A stub whose hardness is the image's mean: the selection order is known."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    @classmethod
    def from_config(cls, cfg):
        return cls()

    def forward(self, x):
        return {"logits": torch.zeros(len(x), 2) + self.w, "mean": x.mean(dim=(1, 2, 3))}

    def loss(self, out, batch, cfg):
        return {"total": self.w * 0}

    def param_groups(self, cfg):
        return [{"name": "all", "params": [self.w], "lr": 0.1}]

    def hardness(self, out, labels):
        return out["mean"]


def test_a_round_picks_exactly_the_hardest_labelled_fakes_with_masks(tmp_path,
                                                                     synthetic_faces) -> None:
    rows = _rows(synthetic_faces(tmp_path / "ffpp", "ffpp", frames=5, masks=True))
    rows.loc[rows.index[-1], "mask"] = ""  # one fake without a mask: never a candidate
    labelled = np.ones(len(rows), bool)
    labelled[np.flatnonzero(rows["label"].to_numpy() == 1)[:3]] = False  # hidden labels
    rows = rows.assign(labelled=labelled)
    targets = MaskTargets(rows, SIZE, "test", allow_all=False)
    data = CropDataset(rows, SIZE, (0.5,) * 3, (0.5,) * 3, hflip=True, targets=targets)
    model = _ByBrightness()
    picked = select_round(model, data, data.labels, data.labelled, targets, 4, 8,
                          torch.device("cpu"))
    candidates = np.flatnonzero(targets.available & labelled & (data.labels == 1))
    means = np.array([float(data[i][0].mean()) for i in candidates])
    assert picked.tolist() == sorted(candidates[np.argsort(-means, kind="stable")[:4]].tolist())
    assert targets.allowed.sum() == 4 and data.hflip  # flips restored after the ranking
    again = select_round(model, data, data.labels, data.labelled, targets, 6, 8,
                         torch.device("cpu"))
    assert len(again) == 2 and not set(again) & set(picked)  # chosen rows stay chosen


def test_lae_trains_with_a_rationed_share_of_masks_and_resumes_with_them(
        tmp_path, synthetic_faces) -> None:
    faces = tmp_path / "faces"
    synthetic_faces(faces / "ffpp", "ffpp", masks=True)
    cfg = detector_config("demo", detector="lae", faces_root=str(faces),
                          runs_dir=str(tmp_path / "runs"), image_size=SIZE, epochs=2,
                          samples_per_epoch=None, max_frames_per_video=None,
                          stop_at_val_auc=None, lae_mask_budget=0.25, lae_select_every=1,
                          batch_size=8)
    run = train(cfg, progress=False)
    log = pd.read_csv(run / "metrics.csv")
    n_train = 6 * 2 * 4
    assert log["masks_used"].tolist() == [n_train * 0.25 // 2, n_train * 0.25 // 1]
    assert log["train_loss"].iloc[-1] < log["train_loss"].iloc[0]
    state = read_checkpoint(run / "last.pt")
    assert int(state["targets_allowed"].sum()) == 12
    cfg3 = TrainConfig.from_dict({**cfg.to_dict(), "epochs": 3})
    resumed = pd.read_csv(train(cfg3, resume=True, progress=False) / "metrics.csv")
    assert resumed["masks_used"].tolist()[:2] == log["masks_used"].tolist()
    assert resumed["masks_used"].iloc[-1] == 12  # the budget of a 3-epoch run is 12 too


def test_lae_refuses_training_data_without_masks(tmp_path, synthetic_faces) -> None:
    faces = tmp_path / "faces"
    synthetic_faces(faces / "ffpp", "ffpp")
    cfg = detector_config("demo", detector="lae", faces_root=str(faces),
                          runs_dir=str(tmp_path / "runs"), image_size=SIZE, epochs=1)
    with pytest.raises(UserError, match=r"ffpp \(train\): no crop has a forgery mask"):
        train(cfg, progress=False)
