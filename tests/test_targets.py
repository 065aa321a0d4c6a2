"""Per-image training targets (forgery masks) and the active learning that rations them
(:mod:`jdfd_lib.training.targets`), through the real trainer with LAE."""

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
from jdfd_lib.faces.index import write_index
from jdfd_lib.training.checkpoint import read_checkpoint
from jdfd_lib.training.data import CropDataset
from jdfd_lib.training.targets import MaskTargets, budget_after_round, select_round
from jdfd_lib.training.train import train

SIZE = 32
INNER = slice(SIZE // 4, 3 * SIZE // 4)  # where the fakes are forged


def make_masked_faces(root: Path, videos=(6, 2, 2), frames: int = 4, masks: bool = True,
                      seed: int = 0) -> Path:
    """A prepared folder whose fakes carry a checkerboard in the centre and, with ``masks``,
    a mask crop marking exactly that square (index column ``mask``)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    checker = ((yy + xx) % 2 * 2 - 1)[..., None] * 30.0
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[INNER, INNER] = 255
    rows = []
    for split, n in zip(("train", "val", "test"), videos, strict=True):
        for v in range(n):
            for label, method in ((0, "original"), (1, "Deepfakes")):
                for f in range(frames):
                    img = rng.uniform(60, 200, 3) + rng.normal(0, 6, (SIZE, SIZE, 3))
                    if label:
                        img[INNER, INNER] += checker[INNER, INNER]
                    rel = f"crops/{method}/{split}{v}/{f:06d}.png"
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(root / rel), np.clip(img, 0, 255).astype(np.uint8))
                    mask_rel = ""
                    if label and masks:
                        mask_rel = rel.replace(".png", "_mask.png")
                        cv2.imwrite(str(root / mask_rel), mask)
                    rows.append(dict(dataset="ffpp", method=method, video=f"{split}{v}",
                                     frame=f, label=label, split=split,
                                     identity=f"{split}{v}", path=rel, mask=mask_rel))
    write_index(pd.DataFrame(rows), root)
    return root


def _rows(root: Path) -> pd.DataFrame:
    from jdfd_lib.training.data import load_split

    return load_split(root, "train")


def test_masks_are_read_flipped_with_their_image(tmp_path) -> None:
    rows = _rows(make_masked_faces(tmp_path / "ffpp"))
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


def test_no_mask_at_all_is_refused_naming_the_index(tmp_path) -> None:
    rows = _rows(make_masked_faces(tmp_path / "ffpp", masks=False))
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


def test_a_round_picks_exactly_the_hardest_labelled_fakes_with_masks(tmp_path) -> None:
    rows = _rows(make_masked_faces(tmp_path / "ffpp", frames=5))
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


def test_lae_trains_with_a_rationed_share_of_masks_and_resumes_with_them(tmp_path) -> None:
    faces = tmp_path / "faces"
    make_masked_faces(faces / "ffpp")
    cfg = detector_config("demo", variant="lae", faces_root=str(faces),
                          out_dir=str(tmp_path / "runs"), image_size=SIZE, epochs=2,
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


def test_lae_refuses_training_data_without_masks(tmp_path) -> None:
    faces = tmp_path / "faces"
    make_masked_faces(faces / "ffpp", masks=False)
    cfg = detector_config("demo", variant="lae", faces_root=str(faces),
                          out_dir=str(tmp_path / "runs"), image_size=SIZE, epochs=1)
    with pytest.raises(UserError, match=r"ffpp \(train\): no crop has a forgery mask"):
        train(cfg, progress=False)
