"""Building blocks shared by the detectors (paper Sec. 3.2, Sec. 4.2): a timm encoder
without its head, the transposed-convolution decoder, and the shallow classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import timm
from torch import nn

from jdfd_lib.detectors.base import NUM_CLASSES


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
