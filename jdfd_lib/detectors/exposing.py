"""Exposing the Deception (Ba et al., "Exposing the Deception: Uncovering More Forgery Clues for
Deepfake Detection", AAAI 2024) as a registered detector, ``exposing``.

What it implements, following the official code (github.com/QingyuLiu/Exposing-the-Deception;
file names below are that repository's) where the paper leaves a choice open:

- **Local Information Blocks** (``models/MI_Net.py``): N separate backbones (N = 4, ResNet-34
  with torchvision's ImageNet weights: ``parameters.py``, ``models/resnet.py``), each on the
  *whole* face crop (not on regions), each globally average-pooled into one feature f_i (B, C).
- **Heads** (``models/MI_Net.py``): a linear head on all features concatenated gives the full
  prediction p(y | f_1..f_N); one linear head per block on the other N - 1 features gives
  the leave-one-block-out predictions p(y | f_{-i}); the **fusion** MLP (Linear-BN-ReLU-
  Dropout to 1000, then to 500, then Linear to C; ``ChannelCompress``) maps the concatenation
  to a global feature z, and Dropout + Linear give the detector's prediction p(y | z), the
  ``logits`` of the contract.
- **Losses** (``losses/mi_loss.py``, ``losses/AutomaticWeightedLoss.py``; formulas in
  :mod:`jdfd_lib.detectors.exposing_losses`): cross-entropy on the fused head, the full head
  and every leave-one-out head; the Global Information Loss KL(p_z || p_full) and the Local
  Information Loss exp(-sum_i KL(p_{-i} || p_full)) between softened predictions (T = 1.5,
  p_full detached); the three terms balanced by learned uncertainty weights (default) or by
  fixed weights (1, 2, 10).

Where the issue text and the official code differ, the code is followed: the issue speaks of
"cross-entropy on the heads" and of leave-one-out predictions pushed away from the full one;
the code adds the cross-entropy of the full head only with the global loss, that of the
leave-one-out heads only with the local loss, and pushes them away through ``exp(-KL)``, not a
margin. Not reproduced (the generic training loop has no hook for them): mixup of inputs
(``parameters.py --mixup True``, alpha 0.5), the albumentations augmentations of
``dataset.py``, and ``training.py``'s schedule (a per-batch cosine learning rate, T_max = 150,
with optimiser and scheduler rebuilt every epoch, the lr halved when the test loss rose within
the last 5 epochs): the paper profile keeps the lr constant.

Profiles (:attr:`ExposingTheDeception.profiles`): ``paper`` is the official recipe; ``demo``
uses two ``resnet10t`` blocks for 3 epochs, measured to train in about the time of JDFD's demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.detectors.base import NUM_CLASSES, Batch, Detector
from jdfd_lib.detectors.exposing_losses import (
    classification_loss,
    fixed_weighted,
    global_information_loss,
    local_information_loss,
    uncertainty_weighted,
)
from jdfd_lib.detectors.parts import create_encoder
from jdfd_lib.detectors.registry import register_detector

# hidden widths of the fusion MLP (official models/MI_Net.py, ChannelCompress: 1000 then 500)
FUSION_HIDDEN = (1000, 500)
# the loss terms, in the order losses/mi_loss.py returns them (and --scales weighs them)
TERMS = ("ce", "gil", "lil")


def make_fusion(in_dim: int, out_dim: int, hidden: Sequence[int] = FUSION_HIDDEN,
                dropout: float = 0.5) -> nn.Sequential:
    """Fusion MLP: (Linear, BatchNorm1d, ReLU, Dropout) per hidden width, then a Linear.

    Maps the concatenated block features (B, in_dim) to the global feature z (B, out_dim).
    """
    layers: list[nn.Module] = []
    widths = [in_dim, *hidden]
    for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(c_in, c_out), nn.BatchNorm1d(c_out), nn.ReLU(),
                   nn.Dropout(dropout)]
    layers.append(nn.Linear(widths[-1], out_dim))
    return nn.Sequential(*layers)


def leave_one_out(features: torch.Tensor, i: int) -> torch.Tensor:
    """Concatenate every block's feature but block i's: (B, N, C) -> (B, (N - 1) * C)."""
    keep = [j for j in range(features.shape[1]) if j != i]
    return features[:, keep].flatten(1)


@dataclass(frozen=True)
class ExposingOptions:
    """Exposing the Deception's own options (``--set exposing_<option>=...``). Defaults are the
    official code's (github.com/QingyuLiu/Exposing-the-Deception); the paper leaves them open."""

    num_blocks: int = 4  # Local Information Blocks: separate backbones, each on the whole
    #   face (official parameters.py --num_LIBs 4; models/MI_Net.py); >= 2
    backbone: str = "resnet34.tv_in1k"  # timm name of every block's backbone: ResNet-34 with
    #   torchvision's ImageNet weights (official parameters.py --model resnet ->
    #   models/MI_Net.py resnet34(pretrained=True), models/resnet.py's torchvision URL)
    dropout: float = 0.5  # dropout of the fusion MLP and before the fused head
    #   (official models/MI_Net.py, ChannelCompress and MI_Net.linear)
    temperature: float = 1.5  # T of the softened predictions softmax(logits / T) in both
    #   information losses (official parameters.py --temperature 1.5)
    global_loss: bool = True  # Global Information Loss and the CE of the head on all blocks'
    #   features (official parameters.py --gil_loss True)
    local_loss: bool = True  # Local Information Loss and the CE of the leave-one-block-out
    #   heads (official parameters.py --lil_loss True)
    uncertainty_weights: bool = True  # learn the balance of the loss terms as uncertainty
    #   weights (official --balance_loss_method auto); False: the fixed weights below
    weight_ce: float = 1.0  # fixed weight of the cross-entropy terms (official --scales
    #   [1,2,10], first entry; used with uncertainty_weights=False)
    weight_global: float = 2.0  # fixed weight of the Global Information Loss (--scales second
    #   entry: the order in which losses/mi_loss.py returns the terms)
    weight_local: float = 10.0  # fixed weight of the Local Information Loss (--scales third)

    def __post_init__(self) -> None:
        if self.num_blocks < 2:
            raise ValueError(f"exposing_num_blocks must be >= 2 (leave-one-block-out heads "
                             f"need another block), got {self.num_blocks}")
        if not 0.0 <= self.dropout < 1.0 or self.temperature <= 0:
            raise ValueError(f"exposing_dropout must be in [0, 1) and exposing_temperature > 0, "
                             f"got {self.dropout} and {self.temperature}")


@register_detector("exposing")
class ExposingTheDeception(Detector):
    """N Local Information Blocks, full / leave-one-out / fused heads (Ba et al. 2024).

    Attributes:
        blocks: the N backbones (timm, without head), each on the whole face.
        full_head: Linear on the N concatenated features -> p(y | f_1..f_N).
        leave_one_out_heads: N Linears on the N - 1 other features -> p(y | f_{-i}).
        fusion: the MLP from the concatenation to z (B, C).
        head: Dropout + Linear, z -> the detector's logits.
        terms: names of the active loss terms (``ce`` and, when enabled, ``gil``, ``lil``).
        loss_scales: (len(terms),) learned s_i of the uncertainty weights, or None (fixed).
        pretrained_cfg: the backbone's timm preprocessing, ``input_size`` = (3, S, S).
    """

    label = "Exposing the Deception"
    order = 3
    options = ExposingOptions
    profiles = {
        # The official recipe (github.com/QingyuLiu/Exposing-the-Deception); the options'
        # defaults are already the official ones (ExposingOptions).
        "paper": dict(
            image_size=224,  # parameters.py --size 224 (dataset.py resizes every crop to it)
            pretrained=True,  # models/MI_Net.py: resnet34(pretrained=True), torchvision weights
            optimizer="adam",  # training.py update_lr: torch.optim.Adam
            adam_betas=(0.9, 0.999),  # training.py update_lr: betas (0.9, 0.999)
            lr_autoencoder=1e-3,  # parameters.py --lr 1e-3 (all network parameters)
            lr_classifier=1e-3,  # parameters.py --lr 1e-3; the uncertainty weights get
            #   Adam's default lr, also 1e-3 (training.py update_lr, second group)
            weight_decay=1e-6,  # parameters.py --weight_decay 1e-6 (both groups)
            batch_size=256,  # parameters.py --bs 256
            epochs=20,  # README.md's training command --epoch 20 (parameters.py default: 10)
            # training.py steps CosineAnnealingLR(T_max=150) every batch and rebuilds it every
            # epoch; the generic loop has only StepLR per epoch: a constant lr here
            lr_step_size=1,
            lr_gamma=1.0,
        ),
        # a step of N blocks costs ~N times JDFD's: 2 blocks for 3 epochs take about JDFD's
        # demo time and learn best in it on FF++ validation (docs/assumptions.md, Profiles)
        "demo": dict(
            exposing_backbone="resnet10t",  # JDFD's demo encoder, the one that learns the
            #   demo task from random weights (docs/assumptions.md, Profiles)
            exposing_num_blocks=2,  # the fewest that keep leave-one-block-out heads: ~2x
            #   JDFD's cost per image instead of 4x
            epochs=3,  # half JDFD's 6 epochs: the same time at ~2x the cost per image
            optimizer="adam",  # the official optimiser, lr and weight decay (paper profile)
            lr_autoencoder=1e-3,
            lr_classifier=1e-3,
            weight_decay=1e-6,
            lr_step_size=1,  # constant lr, as in the paper profile
            lr_gamma=1.0,
        ),
    }
    # Real faces: the demo's recipe (2 resnet10t blocks, the official optimiser) on the faces
    # profile's epochs and images; with the paper's recipe, the official one
    profiles["faces"] = {k: v for k, v in profiles["demo"].items() if k != "epochs"}
    profiles["faces_paper"] = profiles["paper"]

    def __init__(self, backbone: str = "resnet34.tv_in1k", num_blocks: int = 4,
                 image_size: int = 224, dropout: float = 0.5, global_loss: bool = True,
                 local_loss: bool = True, uncertainty_weights: bool = True,
                 pretrained: bool = False, pretrained_file: str | None = None):
        super().__init__()
        if num_blocks < 2:
            raise ValueError(f"exposing_num_blocks must be >= 2 (leave-one-block-out heads "
                             f"need another block), got {num_blocks}")
        # the same weights file (or ImageNet weights) for every block, as the official code
        self.blocks = nn.ModuleList(create_encoder(backbone, pretrained, pretrained_file)
                                    for _ in range(num_blocks))
        width = self.blocks[0].num_features  # C: 512 for ResNet-34
        self.full_head = nn.Linear(num_blocks * width, NUM_CLASSES)
        self.leave_one_out_heads = nn.ModuleList(
            nn.Linear((num_blocks - 1) * width, NUM_CLASSES) for _ in range(num_blocks))
        self.fusion = make_fusion(num_blocks * width, width, FUSION_HIDDEN, dropout)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, NUM_CLASSES))
        self.terms = tuple(t for t, on in zip(TERMS, (True, global_loss, local_loss),
                                              strict=True) if on)
        # s_i initialised to 1 (official losses/AutomaticWeightedLoss.py)
        self.loss_scales = nn.Parameter(torch.ones(len(self.terms))) \
            if uncertainty_weights else None
        self.pretrained_cfg = {**self.blocks[0].pretrained_cfg,
                               "input_size": (3, image_size, image_size)}

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> ExposingTheDeception:
        """The network its :class:`ExposingOptions` (and ``image_size``, ``pretrained``)
        describe."""
        o = cls.options_of(cfg)
        return cls(backbone=o.backbone, num_blocks=o.num_blocks, image_size=cfg.image_size,
                   dropout=o.dropout, global_loss=o.global_loss, local_loss=o.local_loss,
                   uncertainty_weights=o.uncertainty_weights, pretrained=cfg.pretrained,
                   pretrained_file=cfg.pretrained_file)

    def forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) -> block features (B, N, C), each globally average-pooled."""
        return torch.stack([blk.forward_features(x).mean(dim=(2, 3)) for blk in self.blocks],
                           dim=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, 3, H, W) normalised.

        Returns:
            ``logits`` (B, 2) of the fused head p(y | z), ``full_logits`` (B, 2),
            ``leave_one_out_logits`` (B, N, 2) and ``latent`` z (B, C).
        """
        features = self.forward_blocks(x)  # (B, N, C)
        flat = features.flatten(1)  # (B, N * C), block order
        loo = torch.stack([head(leave_one_out(features, i))
                           for i, head in enumerate(self.leave_one_out_heads)], dim=1)
        z = self.fusion(flat)  # (B, C)
        return {"logits": self.head(z), "full_logits": self.full_head(flat),
                "leave_one_out_logits": loo, "latent": z}

    def loss_terms(self, out: dict[str, torch.Tensor], batch: Batch,
                   temperature: float) -> dict[str, torch.Tensor]:
        """The active terms: ``ce`` (labelled images only), ``gil`` and ``lil`` (all images)."""
        heads = [out["logits"]]
        terms: dict[str, torch.Tensor] = {}
        if "gil" in self.terms:
            heads.append(out["full_logits"])
            terms["gil"] = global_information_loss(out["logits"], out["full_logits"],
                                                   temperature)
        if "lil" in self.terms:
            heads += list(out["leave_one_out_logits"].unbind(dim=1))
            terms["lil"] = local_information_loss(out["leave_one_out_logits"],
                                                  out["full_logits"], temperature)
        return {"ce": classification_loss(heads, batch.labels, batch.labelled), **terms}

    def loss(self, out: dict[str, torch.Tensor], batch: Batch, cfg: TrainConfig
             ) -> dict[str, torch.Tensor]:
        """``total``: the terms balanced by uncertainty weights (or fixed ones); each term."""
        o = self.options_of(cfg)
        terms = self.loss_terms(out, batch, o.temperature)
        stacked = torch.stack([terms[t] for t in self.terms])  # (n,)
        if self.loss_scales is not None:
            total = uncertainty_weighted(stacked, self.loss_scales)
        else:
            fixed = {"ce": o.weight_ce, "gil": o.weight_global, "lil": o.weight_local}
            total = fixed_weighted(stacked, [fixed[t] for t in self.terms])
        return {"total": total, **terms}

    def param_groups(self, cfg: TrainConfig) -> list[dict[str, Any]]:
        """``backbones`` (the blocks) at ``lr_autoencoder``; ``heads`` (full, leave-one-out,
        fusion, fused head) and ``loss_weights`` (the s_i, if learned) at ``lr_classifier``.

        The official code trains everything with one Adam learning rate (1e-3, the paper
        profile sets both fields to it); two groups keep the fields' meaning of the other
        detectors (encoder vs. heads).
        """
        heads = [*self.full_head.parameters(), *self.leave_one_out_heads.parameters(),
                 *self.fusion.parameters(), *self.head.parameters()]
        groups = [{"name": "backbones", "params": list(self.blocks.parameters()),
                   "lr": cfg.lr_autoencoder},
                  {"name": "heads", "params": heads, "lr": cfg.lr_classifier}]
        if self.loss_scales is not None:
            groups.append({"name": "loss_weights", "params": [self.loss_scales],
                           "lr": cfg.lr_classifier})
        return groups
