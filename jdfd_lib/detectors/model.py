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

The Table 3 baseline is the same network without the decoder (``with_decoder=False``).
"""

from __future__ import annotations

from collections.abc import Sequence

import timm
import torch
import torch.nn.functional as F
from torch import nn

from jdfd_lib.core.config import TrainConfig

NUM_CLASSES = 2  # logits order: (real, fake); label 0 = real, 1 = fake


def create_encoder(name: str, pretrained: bool = False,
                   pretrained_file: str | None = None) -> nn.Module:
    """A timm backbone without pooling and classifier: x (B,3,H,W) -> (B,C,H/r,W/r).

    Args:
        name: timm model name, e.g. ``legacy_xception``.
        pretrained: load timm's ImageNet weights (downloads them where online).
        pretrained_file: a local weights file, loaded through timm's own mechanism
            (``pretrained_cfg_overlay``); implies ``pretrained``. Never touches the network.

    Raises:
        FileNotFoundError: ``pretrained_file`` does not exist.
    """
    kwargs: dict = dict(num_classes=0, global_pool="")
    if pretrained_file is not None:
        from pathlib import Path

        if not Path(pretrained_file).is_file():
            raise FileNotFoundError(f"{pretrained_file}: encoder weights file not found "
                                    f"(expected a {name} state dict, .pth or .safetensors)")
        kwargs["pretrained_cfg_overlay"] = dict(file=str(pretrained_file))
        pretrained = True
    return timm.create_model(name, pretrained=pretrained, **kwargs)


def make_decoder(latent_dim: int, channels: Sequence[int], out_channels: int = 3) -> nn.Sequential:
    """Transposed convolutions from v (B, z, 1, 1) to an image (B, 3, 4*2^n, 4*2^n).

    Layer 1 maps 1x1 -> 4x4 (kernel 4, stride 1); every later layer doubles the side (kernel
    4, stride 2, padding 1). BatchNorm + ReLU follow each layer except the last (Sec. 4.2).
    """
    layers: list[nn.Module] = []
    widths = [latent_dim, *channels]
    for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        stride, padding = (1, 0) if i == 0 else (2, 1)
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False),
                   nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    layers.append(nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1))  # last: no BN/ReLU
    return nn.Sequential(*layers)


def make_classifier(latent_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """Fully connected layers z -> hidden... -> 2, ReLU after each but the last (Sec. 4.2)."""
    widths = [latent_dim, *hidden, NUM_CLASSES]
    layers: list[nn.Module] = []
    for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(c_in, c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers[:-1])  # drop the ReLU after the last layer


class JDFD(nn.Module):
    """Shared Xception encoder + decoder (optional) + shallow classifier.

    Attributes:
        with_decoder: False for the Table 3 baseline (classifier only).
        pretrained_cfg: timm's preprocessing (mean, std) with ``input_size`` set to the
            configured image size.
        latent_dim: z, the size of v.
    """

    def __init__(self, encoder: str = "legacy_xception", image_size: int = 299,
                 latent_dim: int | None = None, decoder_channels: Sequence[int] = (512, 256),
                 classifier_hidden: Sequence[int] = (512,), with_decoder: bool = True,
                 pretrained: bool = False, pretrained_file: str | None = None):
        super().__init__()
        self.encoder = create_encoder(encoder, pretrained, pretrained_file)
        width = self.encoder.num_features  # channels of the last feature map (2048)
        self.latent_dim = latent_dim or width
        # projection to z only when z differs from the encoder width (Eq. 1)
        self.projection = nn.Identity() if self.latent_dim == width else nn.Linear(
            width, self.latent_dim)
        self.with_decoder = with_decoder
        self.decoder = make_decoder(self.latent_dim, decoder_channels) if with_decoder else None
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
            raise RuntimeError("this model has no decoder (baseline variant)")
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
        recon = self.forward_decoder(v, tuple(x.shape[-2:])) if self.with_decoder else None
        return {"logits": self.forward_head(v), "recon": recon, "latent": v}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters by learning-rate group: ``autoencoder`` (encoder, projection, decoder)
        and ``classifier`` (Sec. 4.2)."""
        auto = [*self.encoder.parameters(), *self.projection.parameters()]
        if self.decoder is not None:
            auto += list(self.decoder.parameters())
        return {"autoencoder": auto, "classifier": list(self.classifier.parameters())}


def build_model(cfg: TrainConfig) -> JDFD:
    """The JDFD network (or the no-decoder baseline) described by a config."""
    return JDFD(encoder=cfg.encoder, image_size=cfg.image_size, latent_dim=cfg.latent_dim,
                decoder_channels=cfg.decoder_channels, classifier_hidden=cfg.classifier_hidden,
                with_decoder=cfg.with_decoder, pretrained=cfg.pretrained,
                pretrained_file=cfg.pretrained_file)
