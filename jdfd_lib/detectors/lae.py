"""LAE, the locality-aware autoencoder (Du, Pentyala, Li, Hu, CIKM 2020), as a registered detector.

Built from the paper's description (no public code exists); each choice it leaves open is an
option of :class:`LAEOptions` (``--set lae_<option>=...``; docs/assumptions.md):

- **Autoencoder** (U-net like): ``depth`` stride-2 conv levels from ``base_channels``
  (doubling per level) to a bottleneck h of ``latent_channels`` channels; the decoder
  mirrors it with transposed convolutions and, with ``skip_connections``, U-net skips at
  every level but the top one (a top-level skip would let the decoder copy the input and
  the bottleneck learn nothing). It rebuilds the normalised input.
- **Classification from the latent** (as in ForensicTransfer, which LAE builds on): h is split
  into a real half and a fake half; the activation of a half is its mean absolute value,
  a_real and a_fake (B,), and ``logits`` = (a_real, a_fake). The activation loss pulls the
  own half of a labelled image to 1 and the other to 0.
- **Local interpretation**: the fake half's activation per location, mean_c |h_fake| (B, h, w),
  upsampled to the input and divided by its maximum: it decomposes a_fake exactly (a_fake is
  its spatial mean), so it is a class activation map of the fake decision. For fakes whose
  mask may be used (``Batch.extras["has_mask"]``) it is regularised towards the pixel-wise
  forgery mask (L1), so that the decision rests on the forged region.
- **Reconstruction**: L1 pixel loss, a perceptual term on VGG-16 features (relu3_3; ImageNet
  weights from torchvision, or a local file; weight 0 turns it off, as the offline demo and
  tests do; never run with random VGG weights), and an adversarial term against a DCGAN-style
  discriminator. Both players update in one backward pass: the discriminator's loss sees the
  reconstruction detached, the generator's term sees the discriminator through detached
  parameters (``torch.func.functional_call``), so each gradient reaches only its player.
- **Active learning** (masks for a few images): :meth:`LAE.hardness` ranks training fakes by
  their classification loss (no mask needed to rank: the mask is the annotation being
  requested); the trainer lets the hardest ones use their masks, up to ``mask_budget``
  of the training images (:mod:`jdfd_lib.training.targets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.core.errors import UserError, option
from jdfd_lib.detectors.base import ActiveLearning, Batch, Detector
from jdfd_lib.detectors.registry import register_detector

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # inputs normalised as VGG-16 expects them
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG_RELU3_3 = 16  # torchvision vgg16.features[:16] ends at relu3_3


def _down(c_in: int, c_out: int) -> nn.Sequential:
    """(B, c_in, H, W) -> (B, c_out, H/2, W/2): strided conv, BatchNorm, LeakyReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.LeakyReLU(0.2, inplace=True))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """(B, c_in, H, W) -> (B, c_out, 2H, 2W): transposed conv, BatchNorm, ReLU."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Discriminator(nn.Module):
    """DCGAN-style image critic: strided 4x4 convs with LeakyReLU 0.2 to one logit per image.
    No BatchNorm, so that the generator's term can call it with detached parameters."""

    def __init__(self, channels: int = 32, levels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i in range(levels):
            layers += [nn.Conv2d(c_in, channels * 2 ** i, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c_in = channels * 2 ** i
        layers.append(nn.Conv2d(c_in, 1, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) -> (B,) realism logits (mean over the patch map)."""
        return self.net(x).mean(dim=(1, 2, 3))


@dataclass(frozen=True)
class LAEOptions:
    """LAE's own options. The paper states the parts (U-net-like autoencoder, VGG-16 perceptual
    and DCGAN adversarial terms, mask-regularised interpretation, masks for < 3 % of the
    training images picked by active learning) but no sizes or weights: every value is ours."""

    base_channels: int = 32  # U-net width at the first level, doubled per level
    depth: int = 4  # stride-2 encoder levels (bottleneck at 1/16 of the input side)
    latent_channels: int = 128  # bottleneck channels: first half real, second half fake
    skip_connections: bool = True  # U-net skips at every level but the top one
    act_weight: float = 1.0  # activation (classification) loss
    rec_weight: float = 1.0  # L1 reconstruction loss
    perceptual_weight: float = 0.1  # VGG-16 relu3_3 feature loss; 0 turns it off
    vgg_weights: str | None = None  # local vgg16 state dict; None = torchvision download
    adversarial_weight: float = 0.01  # generator's adversarial term (DCGAN critic)
    interpretation_weight: float = 1.0  # L1 of interpretation map vs forgery mask
    mask_budget: float = 0.03  # share of training images whose mask may be used (< 3 %)
    select_every: int = 1  # epochs between active-learning rounds

    def __post_init__(self) -> None:
        if not (0.0 <= self.mask_budget <= 1.0 and self.select_every >= 1):
            raise ValueError(f"lae_mask_budget must be in [0, 1] and lae_select_every >= 1, "
                             f"got {self.mask_budget} and {self.select_every}")
        if self.latent_channels % 2 or self.depth < 1 or self.base_channels < 1:
            raise ValueError(f"lae_latent_channels must be even (real and fake halves), "
                             f"lae_depth and lae_base_channels >= 1; got {self.latent_channels}, "
                             f"{self.depth}, {self.base_channels}")


@register_detector("lae")
class LAE(Detector):
    """Locality-aware autoencoder (see the module docstring)."""

    reconstructs = True
    targets = ("mask",)
    label = "LAE"
    order = 2
    options = LAEOptions
    profiles = {
        # Not stated in the paper (no code exists): Adam as in ForensicTransfer, on the
        # same 299 px crops as JDFD so that the detectors see identical inputs.
        "paper": {"optimizer": "adam", "lr_autoencoder": 1e-4, "lr_classifier": 1e-4,
                  "lr_step_size": 5, "lr_gamma": 0.8},
        # Demo: Adam 1e-3 (both groups) on the JDFD demo's StepLR(2, 0.5), which learnt on
        # FF++ validation where JDFD's SGD 0.01 did not (docs/assumptions.md, Profiles); no
        # perceptual term offline (no VGG weights).
        "demo": {"lae_perceptual_weight": 0.0, "lae_base_channels": 16,
                 "lae_latent_channels": 64, "optimizer": "adam", "lr_autoencoder": 1e-3,
                 "lr_classifier": 1e-3},
        # Real faces (DFDC crops, one per video): no forgery masks exist (no pristine frame
        # to difference against), so the interpretation term and its mask budget are off;
        # the rest as in the demo (docs/results.md, "On real faces").
        "faces": {"lae_perceptual_weight": 0.0, "lae_base_channels": 16,
                  "lae_latent_channels": 64, "optimizer": "adam", "lr_autoencoder": 1e-3,
                  "lr_classifier": 1e-3, "lae_interpretation_weight": 0.0,
                  "lae_mask_budget": 0.0},
        # the paper-size recipe on the same real faces: no masks either
        "faces_paper": {"optimizer": "adam", "lr_autoencoder": 1e-4, "lr_classifier": 1e-4,
                        "lae_interpretation_weight": 0.0, "lae_mask_budget": 0.0},
    }

    def __init__(self, image_size: int = 299, base_channels: int = 32, depth: int = 4,
                 latent_channels: int = 128, skip_connections: bool = True,
                 perceptual: bool = False, vgg_weights: str | None = None):
        super().__init__()
        if latent_channels % 2:
            raise ValueError(f"lae_latent_channels must be even (real and fake halves), got "
                             f"{latent_channels}")
        widths = [base_channels * 2 ** i for i in range(depth)]  # per encoder level
        self.encoder = nn.ModuleList(
            _down(c_in, c_out) for c_in, c_out in zip([3, *widths[:-1]], widths, strict=True))
        self.bottleneck = nn.Conv2d(widths[-1], latent_channels, 3, 1, 1)
        self.skips = skip_connections
        ups, c_in = [], latent_channels
        for level in reversed(range(1, depth)):  # up to the resolution of encoder level-1
            ups.append(_up(c_in, widths[level - 1]))
            c_in = widths[level - 1] * (2 if skip_connections else 1)
        self.decoder = nn.ModuleList(ups)
        self.to_image = nn.ConvTranspose2d(c_in, 3, 4, 2, 1)  # top level: no skip, no norm
        self.discriminator = Discriminator()
        # VGG-16 only for the perceptual loss: built on first use and kept outside the
        # module tree (a list), so checkpoints and inference never need its weights
        self._vgg: list[nn.Module] = []
        self.perceptual, self.vgg_weights = perceptual, vgg_weights
        self.image_size = image_size
        self.pretrained_cfg = {"mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                               "input_size": (3, image_size, image_size)}

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> LAE:
        """The autoencoder a config describes (its :class:`LAEOptions`)."""
        o = cls.options_of(cfg)
        return cls(image_size=cfg.image_size, base_channels=o.base_channels, depth=o.depth,
                   latent_channels=o.latent_channels, skip_connections=o.skip_connections,
                   perceptual=o.perceptual_weight > 0, vgg_weights=o.vgg_weights)

    @classmethod
    def comparison_note(cls, cfg: TrainConfig) -> str:
        """Says so when the profile runs LAE without its mask term (data without masks)."""
        if cls.options_of(cfg).interpretation_weight:
            return ""
        return ("LAE ran with its mask term off (`lae_interpretation_weight` 0): this data has "
                "no forgery masks (one crop per video leaves no pristine frame to difference "
                "against).")

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, 3, H, W) normalised.

        Returns:
            ``logits`` (B, 2) = (a_real, a_fake); ``recon`` (B, 3, H, W); ``latent`` h
            (B, L, h, w); ``interpretation`` (B, 1, H, W) in [0, 1].
        """
        feats = []
        z = x
        for level in self.encoder:
            z = level(z)
            feats.append(z)  # (B, widths[i], H / 2^(i+1), W / 2^(i+1))
        h = self.bottleneck(z)  # (B, L, H / 2^depth, W / 2^depth)
        real, fake = h.abs().chunk(2, dim=1)  # (B, L/2, h, w) each
        logits = torch.stack([real.mean(dim=(1, 2, 3)), fake.mean(dim=(1, 2, 3))], dim=1)
        y = h
        for up, skip in zip(self.decoder, reversed(feats[:-1]), strict=True):
            y = up(y)
            if y.shape[-2:] != skip.shape[-2:]:  # odd sizes (299 px): match the skip
                y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            if self.skips:
                y = torch.cat([y, skip], dim=1)
        recon = self.to_image(y)
        if recon.shape[-2:] != x.shape[-2:]:
            recon = F.interpolate(recon, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return {"logits": logits, "recon": recon, "latent": h,
                "interpretation": interpretation_map(fake, tuple(x.shape[-2:]))}

    def loss(self, out: dict[str, torch.Tensor], batch: Batch, cfg: TrainConfig
             ) -> dict[str, torch.Tensor]:
        """``total`` = act + rec + perceptual + adversarial (generator) + interpretation
        (masked fakes) + the discriminator's own loss, each term weighted by its option."""
        x, recon = batch.x.float(), out["recon"].float()
        terms = {
            "act": activation_loss(out["logits"].float(), batch.labels, batch.labelled),
            "rec": F.l1_loss(recon, x),
            "perc": self._perceptual(recon, x) if self.perceptual else recon.new_zeros(()),
            "int": interpretation_loss(out["interpretation"].float(),
                                       batch.extras.get("mask"), batch.extras.get("has_mask")),
        }
        adv_g, adv_d = adversarial_losses(self.discriminator, x, recon)
        o = self.options_of(cfg)
        total = (o.act_weight * terms["act"] + o.rec_weight * terms["rec"]
                 + o.perceptual_weight * terms["perc"] + o.adversarial_weight * adv_g
                 + o.interpretation_weight * terms["int"] + adv_d)
        return {"total": total, **terms, "adv_g": adv_g, "adv_d": adv_d}

    def _perceptual(self, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """MSE between VGG-16 relu3_3 features of the reconstruction and of the input."""
        if not self._vgg:
            self._vgg.append(_vgg_features(self.vgg_weights))
        vgg = self._vgg[0].to(x.device)
        with torch.no_grad():
            target = vgg(x)
        return F.mse_loss(vgg(recon), target)

    def training_targets(self, cfg: TrainConfig) -> tuple[str, ...]:
        """The masks, unless the interpretation term is off (``lae_interpretation_weight``
        0: data without masks, as real-face crops, trains the other terms)."""
        return self.targets if self.options_of(cfg).interpretation_weight else ()

    def active_learning(self, cfg: TrainConfig) -> ActiveLearning | None:
        """``lae_mask_budget`` of the training images may use their mask, chosen every
        ``lae_select_every`` epochs; None when no mask is used (the term is off)."""
        if not self.training_targets(cfg):
            return None
        o = self.options_of(cfg)
        return ActiveLearning(o.mask_budget, o.select_every)

    def hardness(self, out: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        """(B,) how hard each image is for the active-learning selection: its activation
        loss (labels are known for training images; masks are not needed to rank)."""
        return activation_loss(out["logits"].float(), labels, torch.ones_like(labels, dtype=bool),
                               reduction="none")

    def param_groups(self, cfg: TrainConfig) -> list[dict[str, Any]]:
        """``autoencoder`` (encoder, bottleneck, decoder) at ``lr_autoencoder``;
        ``discriminator`` at ``lr_classifier`` (LAE has no separate classifier: it classifies
        from the latent). The frozen VGG-16 is no parameter of the model."""
        auto = [p for name, p in self.named_parameters()
                if not name.startswith("discriminator.")]
        return [{"name": "autoencoder", "params": auto, "lr": cfg.lr_autoencoder},
                {"name": "discriminator", "params": list(self.discriminator.parameters()),
                 "lr": cfg.lr_classifier}]


def interpretation_map(fake_half: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """|h_fake| (B, L/2, h, w) -> (B, 1, H, W): channel mean, bilinear upsampling, divided by
    each image's maximum (a map in [0, 1]; all zeros stays zeros)."""
    local = fake_half.mean(dim=1, keepdim=True)  # (B, 1, h, w); its spatial mean is a_fake
    up = F.interpolate(local, size=size, mode="bilinear", align_corners=False)
    return up / up.amax(dim=(2, 3), keepdim=True).clamp(min=1e-6)


def activation_loss(activations: torch.Tensor, labels: torch.Tensor, labelled: torch.Tensor,
                    reduction: str = "mean") -> torch.Tensor:
    """ForensicTransfer's activation loss: |a_real - [y = 0]| + |a_fake - [y = 1]|.

    Args:
        activations: (B, 2) = (a_real, a_fake).
        labels: (B,) 0 real / 1 fake (any value where not ``labelled``).
        labelled: (B,) bool; unlabeled images add nothing.
        reduction: "mean" over labelled images (0 when none) or "none" (B,).
    """
    fake = (labels == 1).to(activations.dtype)  # (B,)
    target = torch.stack([1 - fake, fake], dim=1)  # (B, 2)
    per_image = (activations - target).abs().sum(dim=1) * labelled.to(activations.dtype)
    if reduction == "none":
        return per_image
    return per_image.sum() / labelled.sum().clamp(min=1)


def interpretation_loss(interpretation: torch.Tensor, mask: torch.Tensor | None,
                        has_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean L1 between the interpretation map and the forgery mask, over the images whose
    mask may be used (``has_mask``); 0 (with a graph) when there is none.

    Args:
        interpretation: (B, 1, H, W) in [0, 1].
        mask: (B, 1, H, W) in [0, 1] (1 = forged), or None.
        has_mask: (B,) bool, or None.
    """
    if mask is None or has_mask is None or not bool(has_mask.any()):
        return interpretation.sum() * 0.0
    per_image = (interpretation - mask.to(interpretation.dtype)).abs().mean(dim=(1, 2, 3))
    use = has_mask.to(per_image.dtype)
    return (per_image * use).sum() / use.sum()


def adversarial_losses(discriminator: nn.Module, x: torch.Tensor, recon: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """(generator term, discriminator term), non-saturating GAN losses for one backward pass.

    The generator term scores ``recon`` with the discriminator's parameters detached (its
    gradient reaches the autoencoder only); the discriminator term scores ``x`` as real and
    ``recon.detach()`` as fake (its gradient reaches the discriminator only).
    """
    frozen = {k: v.detach() for k, v in discriminator.named_parameters()}
    fooled = torch.func.functional_call(discriminator, frozen, (recon,))  # (B,)
    adv_g = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
    real, fake = discriminator(x), discriminator(recon.detach())
    adv_d = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
             + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    return adv_g, adv_d


def _vgg_features(weights: str | None) -> nn.Module:
    """VGG-16 up to relu3_3 with ImageNet weights, frozen.

    Args:
        weights: a local state-dict file (``.pth`` read with ``weights_only=True``, or
            ``.safetensors``) of torchvision's ``vgg16`` (the ``features.*`` entries up to
            relu3_3 are enough); None: torchvision's IMAGENET1K_V1
            (downloaded when online; offline it fails with a message saying how to turn the
            term off).

    Raises:
        UserError: the weights cannot be had (offline without a file), in one line.
    """
    from torchvision.models import VGG16_Weights
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["D"])[:VGG_RELU3_3]  # vgg16.features up to relu3_3
    if weights is None:
        try:
            state = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
        except OSError as err:  # URLError offline, HTTP errors, timeouts: one message for all
            give = option("lae_vgg_weights=PATH", "--set lae_vgg_weights=PATH")
            off = option("lae_perceptual_weight=0", "--set lae_perceptual_weight=0")
            raise UserError(
                "LAE's perceptual term needs ImageNet VGG-16 weights and torchvision could not "
                f"fetch them (offline? {type(err).__name__}); download "
                f"{VGG16_Weights.IMAGENET1K_V1.url} elsewhere, then give it with {give}, or "
                f"turn the term off with {off}") from None
    else:
        state = _read_state_dict(weights)
    own = {k.removeprefix("features."): v for k, v in state.items()
           if k.startswith("features.") and int(k.split(".")[1]) < VGG_RELU3_3}
    features.load_state_dict(own, strict=True)  # every layer up to relu3_3, or an error
    features.eval()
    for p in features.parameters():
        p.requires_grad_(False)
    return features


def _read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """A state dict from ``path`` without running code from the file."""
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)
