"""The two-branch convolutional autoencoder of JDFD (paper Sec. 3.2, Eq. 1-2; Sec. 4.2).

- Encoder g_e: Xception from timm (``legacy_xception``, the original architecture), shared by
  both branches; its final feature map is globally average-pooled into the latent vector v
  (Eq. 1). If ``latent_dim`` differs from the encoder width a linear projection maps to z.
- Decoder g_d (Eq. 2): v is reshaped to (z, 1, 1) and upsampled by transposed convolutions,
  each followed by BatchNorm and ReLU except the last (Sec. 4.2); the first layer makes a 4x4
  map, each later one doubles the side; the output is resized to the input size with bilinear
  interpolation (Sec. 4.2). It reconstructs the *normalised* input the network sees.
- Classifier C (Eq. 2): shallow fully connected layers, ReLU after each but the last, giving
  two logits (real, fake) for the softmax cross-entropy of Eq. (4).

Registered as two detectors (:mod:`jdfd_lib.detectors.registry`): ``jdfd`` (decoder and
classifier, trained with Eq. 3) and ``baseline``, the Table 3 ablation: the same network
without the decoder, trained with beta1 * cross-entropy alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.detectors.base import Batch, Detector
from jdfd_lib.detectors.losses import joint_loss
from jdfd_lib.detectors.parts import create_encoder, make_classifier, make_decoder
from jdfd_lib.detectors.registry import register_detector


@register_detector("jdfd")
class JDFD(Detector):
    """Shared Xception encoder + decoder + shallow classifier (Sec. 3.2).

    Attributes:
        reconstructs: True here; False for the Table 3 baseline (:class:`JDFDBaseline`).
        pretrained_cfg: timm's preprocessing (mean, std) with ``input_size`` set to the
            configured image size.
        latent_dim: z, the size of v.
    """

    reconstructs = True
    label = "JDFD"
    order = 0

    def __init__(self, encoder: str = "legacy_xception", image_size: int = 299,
                 latent_dim: int | None = None, decoder_channels: Sequence[int] = (512, 256),
                 classifier_hidden: Sequence[int] = (512,), pretrained: bool = False,
                 pretrained_file: str | None = None):
        super().__init__()
        self.encoder = create_encoder(encoder, pretrained, pretrained_file)
        width = self.encoder.num_features  # channels of the last feature map (2048)
        self.latent_dim = latent_dim or width
        # projection to z only when z differs from the encoder width (Eq. 1)
        self.projection = nn.Identity() if self.latent_dim == width else nn.Linear(
            width, self.latent_dim)
        self.decoder = make_decoder(self.latent_dim, decoder_channels) if self.reconstructs \
            else None
        self.classifier = make_classifier(self.latent_dim, classifier_hidden)
        self.image_size = image_size
        self.pretrained_cfg = {**self.encoder.pretrained_cfg,
                               "input_size": (3, image_size, image_size)}
        self.reduction = self.encoder.feature_info[-1]["reduction"]  # 32 for Xception

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) normalised -> encoder feature map (B, C, H/32, W/32)."""
        return self.encoder.forward_features(x)

    def forward_latent(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) -> v (B, z): global average pool (+ projection), Eq. (1)."""
        pooled = self.forward_features(x).mean(dim=(2, 3))  # (B, C)
        return self.projection(pooled)

    def forward_head(self, v: torch.Tensor) -> torch.Tensor:
        """v (B, z) -> logits (B, 2) (real, fake)."""
        return self.classifier(v)

    def forward_decoder(self, v: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """v (B, z) -> reconstruction (B, 3, *size), bilinear-resized (Sec. 4.2).

        Raises:
            RuntimeError: the model was built without a decoder.
        """
        if self.decoder is None:
            raise RuntimeError(f"detector {self.name!r} has no decoder")
        out = self.decoder(v[:, :, None, None])  # (B, z, 1, 1) -> (B, 3, 4*2^n, 4*2^n)
        if out.shape[-2:] != size:
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """x (B, 3, H, W) normalised.

        Returns:
            ``logits`` (B, 2), ``recon`` (B, 3, H, W) or None without decoder, ``latent``
            (B, z).
        """
        v = self.forward_latent(x)
        recon = self.forward_decoder(v, tuple(x.shape[-2:])) if self.reconstructs else None
        return {"logits": self.forward_head(v), "recon": recon, "latent": v}

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> JDFD:
        """The network a config describes (Sec. 4.2 widths; encoder by timm name)."""
        return cls(encoder=cfg.encoder, image_size=cfg.image_size, latent_dim=cfg.latent_dim,
                   decoder_channels=cfg.decoder_channels,
                   classifier_hidden=cfg.classifier_hidden, pretrained=cfg.pretrained,
                   pretrained_file=cfg.pretrained_file)

    def loss(self, out: dict[str, torch.Tensor], batch: Batch, cfg: TrainConfig
             ) -> dict[str, torch.Tensor]:
        """Eq. (3): ``total`` = beta1 * CE (labelled images) + beta2 * MSE; ``ce``, ``rec``."""
        return joint_loss(out["logits"], out.get("recon"), batch.x, batch.labels,
                          batch.labelled, cfg.beta1, cfg.beta2)

    def param_groups(self, cfg: TrainConfig) -> list[dict[str, Any]]:
        """The two learning rates of Sec. 4.2: ``autoencoder`` (encoder, projection, decoder)
        at ``lr_autoencoder``, ``classifier`` at ``lr_classifier``."""
        auto = [*self.encoder.parameters(), *self.projection.parameters()]
        if self.decoder is not None:
            auto += list(self.decoder.parameters())
        return [{"name": "autoencoder", "params": auto, "lr": cfg.lr_autoencoder},
                {"name": "classifier", "params": list(self.classifier.parameters()),
                 "lr": cfg.lr_classifier}]


@register_detector("baseline")
class JDFDBaseline(JDFD):
    """Table 3's baseline: JDFD without the decoder, trained with beta1 * CE alone."""

    reconstructs = False
    label = "Baseline"
    order = 1
