"""The two-branch autoencoder (paper Sec. 3.2, Eq. 1-2, Sec. 4.2): shapes and structure."""

from __future__ import annotations

import timm
import torch
from torch import nn

from jdfd_lib.core.config import config_from_overrides, get_profile
from jdfd_lib.detectors.model import JDFD, build_model


def _small(**kw) -> JDFD:
    # the paper's encoder (Xception) at a tiny size: these tests pin what it exposes
    kw = {"encoder": "legacy_xception", "image_size": 32, "decoder_channels": (32, 16, 8), **kw}
    return build_model(config_from_overrides("demo", **kw))


def test_paper_size_shapes() -> None:
    model = build_model(get_profile("paper")).eval()
    x = torch.randn(1, 3, 299, 299)
    with torch.no_grad():
        out = model(x)
        feats = model.forward_features(x)
    assert feats.shape == (1, model.encoder.num_features, 10, 10)  # 299 / 32, rounded up
    assert out["logits"].shape == (1, 2)
    assert out["latent"].shape == (1, 2048)
    assert out["recon"].shape == x.shape  # resized from 256 px to 299 px (bilinear)
    assert torch.isfinite(out["recon"]).all()


def test_demo_size_shapes_in_training_mode() -> None:
    cfg = get_profile("demo")
    model = build_model(cfg).train()
    x = torch.randn(2, 3, cfg.image_size, cfg.image_size)
    out = model(x)
    assert out["logits"].shape == (2, 2)
    assert out["recon"].shape == (2, 3, cfg.image_size, cfg.image_size)
    assert out["latent"].shape == (2, model.latent_dim)
    out["logits"].sum().backward()  # the head reaches the shared encoder
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_preprocessing_comes_from_timm() -> None:
    model = _small()
    ref = timm.create_model("legacy_xception", pretrained=False).pretrained_cfg
    assert model.pretrained_cfg["mean"] == ref["mean"]
    assert model.pretrained_cfg["std"] == ref["std"]
    assert model.pretrained_cfg["input_size"] == (3, 32, 32)
    assert model.latent_dim == model.encoder.num_features == 2048
    assert model.reduction == 32


def test_baseline_has_no_decoder() -> None:
    model = _small(variant="baseline")
    assert not model.with_decoder and model.decoder is None
    out = model.eval()(torch.randn(2, 3, 32, 32))
    assert out["recon"] is None and out["logits"].shape == (2, 2)
    assert not any(n.startswith("decoder") for n, _ in model.named_parameters())


def test_latent_projection_when_z_differs() -> None:
    model = _small(latent_dim=64).eval()
    assert isinstance(model.projection, nn.Linear)
    assert model.forward_latent(torch.randn(2, 3, 32, 32)).shape == (2, 64)
    assert isinstance(_small().projection, nn.Identity)


def test_decoder_and_classifier_layout() -> None:
    model = _small(classifier_hidden=(64, 32))
    dec = list(model.decoder)
    convs = [m for m in dec if isinstance(m, nn.ConvTranspose2d)]
    assert len(convs) == 4 and dec[-1] is convs[-1]  # last layer: no BatchNorm, no ReLU
    for i, m in enumerate(dec[:-1]):
        if isinstance(m, nn.ConvTranspose2d):
            assert isinstance(dec[i + 1], nn.BatchNorm2d) and isinstance(dec[i + 2], nn.ReLU)
    head = list(model.classifier)
    assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert head[-1].out_features == 2


def test_param_groups_partition_the_parameters() -> None:
    model = _small(latent_dim=64)
    groups = model.param_groups()
    auto = {id(p) for p in groups["autoencoder"]}
    clf = {id(p) for p in groups["classifier"]}
    assert not auto & clf
    assert auto | clf == {id(p) for p in model.parameters()}
    assert {id(p) for p in model.classifier.parameters()} == clf
    assert {id(p) for p in model.projection.parameters()} <= auto


def test_local_pretrained_file_is_loaded(tmp_path) -> None:
    torch.manual_seed(123)
    source = timm.create_model("legacy_xception", pretrained=False)
    path = tmp_path / "xception.pth"
    torch.save(source.state_dict(), path)
    model = _small(pretrained_file=str(path))
    assert torch.equal(model.encoder.conv1.weight, source.conv1.weight)
    assert torch.equal(model.encoder.block12.skip.weight, source.block12.skip.weight)


def test_missing_pretrained_file_is_named(tmp_path) -> None:
    import pytest

    missing = tmp_path / "none.pth"
    with pytest.raises(FileNotFoundError, match="none.pth"):
        _small(pretrained_file=str(missing))
