"""Building blocks shared by the detectors (paper Sec. 3.2, Sec. 4.2): a timm encoder
without its head, the transposed-convolution decoder, and the shallow classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import timm
from timm.models import get_pretrained_cfg
from torch import nn

from jdfd_lib.core.errors import UserError, option
from jdfd_lib.detectors.base import NUM_CLASSES


def create_encoder(name: str, pretrained: bool = False,
                   pretrained_file: str | None = None) -> nn.Module:
    """A timm backbone without pooling and classifier: x (B,3,H,W) -> (B,C,H/r,W/r).

    Args:
        name: timm model name, e.g. ``legacy_xception``.
        pretrained: load timm's ImageNet weights (downloaded on first use, then cached).
        pretrained_file: a local weights file, loaded through timm's own mechanism
            (``pretrained_cfg_overlay``); implies ``pretrained``. Never touches the network.

    Raises:
        FileNotFoundError: ``pretrained_file`` does not exist.
        UserError: ``pretrained`` without a file, and the weights cannot be fetched (offline)
            or timm has none for ``name``; one line naming the file to fetch and the options
            (never a silent fallback to random weights).
    """
    kwargs: dict = dict(num_classes=0, global_pool="")
    if pretrained_file is not None:
        if not Path(pretrained_file).is_file():
            raise FileNotFoundError(f"{pretrained_file}: encoder weights file not found "
                                    f"(expected a {name} state dict, .pth or .safetensors)")
        kwargs["pretrained_cfg_overlay"] = dict(file=str(pretrained_file))
        return timm.create_model(name, pretrained=True, **kwargs)
    if not pretrained:
        return timm.create_model(name, pretrained=False, **kwargs)
    source = weights_source(name)
    if source is None:
        raise UserError(f"encoder {name}: timm has no ImageNet weights for it; "
                        f"{_fix_options()}")
    try:
        return timm.create_model(name, pretrained=True, **kwargs)
    except OSError as err:  # URLError, huggingface_hub's LocalEntryNotFoundError, timeouts
        reason = " ".join(str(err).split())[:100].rstrip()
        raise UserError(f"encoder {name}: its ImageNet weights could not be fetched (offline? "
                        f"{type(err).__name__}: {reason}); download {source} elsewhere, then "
                        f"{_fix_options(source)}") from err


def weights_source(name: str) -> str | None:
    """Where timm fetches ``name``'s pretrained weights from: the Hugging Face Hub page of
    its ``hf_hub_id`` (timm's first choice), else its ``url``; None when timm has none."""
    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return None
    if cfg.hf_hub_id:
        filename = cfg.hf_hub_filename or "model.safetensors"
        return f"https://huggingface.co/{cfg.hf_hub_id} ({filename})"
    return cfg.url or None


def _fix_options(source: str = "") -> str:
    """The ways out, spelled as the caller writes options (CLI flag or Python field)."""
    fixes = [f"give a weights file with "
             f"{option('pretrained_file=PATH', '--set pretrained_file=PATH')}"]
    if source.startswith("http") and "huggingface.co" not in source:
        # a URL file is found again in torch's hub cache: the way for notebooks and
        # run_all.sh, which pass no --set (the Hub's cache has a layout of its own)
        import torch

        cache = Path(torch.hub.get_dir()) / "checkpoints"
        fixes.append(f"put it in {cache}/ where timm looks")
    fixes.append(f"train from random weights knowingly with "
                 f"{option('pretrained=False', '--set pretrained=false')}")
    return ", or ".join(fixes)


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
