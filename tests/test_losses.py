"""Eq. (3)-(5): the weighting, the masked cross-entropy and hidden labels (Sec. 4.4)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.detectors.losses import joint_loss, masked_cross_entropy
from jdfd_lib.detectors.registry import create_detector
from jdfd_lib.training.loop import make_optimizer


def _batch(seed: int = 0, b: int = 4, size: int = 8):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, 2, generator=g, requires_grad=True)
    x = torch.randn(b, 3, size, size, generator=g)
    recon = torch.randn(b, 3, size, size, generator=g, requires_grad=True)
    labels = torch.tensor([0, 1, 1, 0])[:b]
    return logits, recon, x, labels


def test_total_is_the_weighted_sum_of_eq3() -> None:
    logits, recon, x, labels = _batch()
    mask = torch.ones(4, dtype=torch.bool)
    out = joint_loss(logits, recon, x, labels, mask)  # default betas: the paper's 0.8 / 0.2
    ce = -torch.log_softmax(logits, 1)[torch.arange(4), labels].mean()
    rec = ((x - recon) ** 2).mean()
    assert torch.allclose(out["ce"], ce) and torch.allclose(out["rec"], rec)
    assert torch.allclose(out["total"], 0.8 * ce + 0.2 * rec)
    other = joint_loss(logits, recon, x, labels, mask, beta1=0.3, beta2=0.7)
    assert torch.allclose(other["total"], 0.3 * ce + 0.7 * rec)


def test_cross_entropy_averages_over_labelled_images_only() -> None:
    logits, _, _, labels = _batch()
    mask = torch.tensor([True, False, True, False])
    hidden = labels.clone()
    hidden[~mask] = -1  # hidden labels may hold any value
    got = masked_cross_entropy(logits, hidden, mask)
    assert torch.allclose(got, F.cross_entropy(logits[mask], labels[mask]))


def test_no_labelled_image_gives_zero_not_nan() -> None:
    logits, recon, x, labels = _batch()
    mask = torch.zeros(4, dtype=torch.bool)
    out = joint_loss(logits, recon, x, labels, mask)
    assert out["ce"].item() == 0.0
    assert torch.allclose(out["total"], 0.2 * ((x - recon) ** 2).mean())
    out["total"].backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))  # no signal from hidden labels
    assert torch.isfinite(recon.grad).all() and recon.grad.abs().sum() > 0


def test_baseline_without_reconstruction_is_weighted_ce() -> None:
    logits, _, x, labels = _batch()
    out = joint_loss(logits, None, x, labels, torch.ones(4, dtype=torch.bool))
    assert torch.allclose(out["total"], 0.8 * F.cross_entropy(logits, labels))
    assert out["rec"].item() == 0.0


def test_shape_mismatch_is_refused() -> None:
    logits, recon, x, labels = _batch()
    with pytest.raises(ValueError, match="same shape"):
        joint_loss(logits, recon[:, :, :4], x, labels, torch.ones(4, dtype=torch.bool))


def _step(model, x, labels, mask):
    cfg = config_from_overrides("demo", image_size=32)
    opt = make_optimizer(model, cfg)
    out = model(x)
    loss = joint_loss(out["logits"], out["recon"], x, labels, mask, cfg.beta1, cfg.beta2)
    opt.zero_grad()
    loss["total"].backward()
    opt.step()
    return model


def test_hidden_labels_cannot_change_the_weights() -> None:
    torch.manual_seed(0)
    # the demo encoder (resnet10t): a step of Xception costs seconds, and the property holds
    # for any encoder
    cfg = config_from_overrides("demo", image_size=32, decoder_channels=(16, 8, 8))
    base = create_detector(cfg).train()
    x = torch.randn(4, 3, 32, 32)
    mask = torch.tensor([True, True, False, False])
    a = _step(copy.deepcopy(base), x, torch.tensor([0, 1, 0, 0]), mask)
    b = _step(copy.deepcopy(base), x, torch.tensor([0, 1, 1, 1]), mask)  # hidden ones differ
    c = _step(copy.deepcopy(base), x, torch.tensor([1, 1, 0, 0]), mask)  # a visible one flips
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["classifier.2.weight"], sc["classifier.2.weight"])
    first = "encoder.conv1.0.weight"  # the encoder's first convolution
    assert not torch.equal(sa[first], sc[first])
    assert not torch.equal(sa[first], base.state_dict()[first])
