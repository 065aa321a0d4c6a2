"""Exposing the Deception (Ba et al., AAAI 2024; jdfd_lib/detectors/exposing.py): the local and
global information losses and the uncertainty weighting against hand-computed values, the
network's shapes at demo and paper sizes, its parameter groups, hidden labels, and a short
training on synthetic crops."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from jdfd_lib.detectors.base import Batch
from jdfd_lib.detectors.exposing import ExposingTheDeception, leave_one_out
from jdfd_lib.detectors.exposing_losses import (
    classification_loss,
    fixed_weighted,
    global_information_loss,
    kl_from_reference,
    local_information_loss,
    uncertainty_weighted,
)
from jdfd_lib.detectors.losses import masked_cross_entropy
from jdfd_lib.detectors.registry import create_detector, detector_config, parse_setting
from jdfd_lib.training.loop import make_optimizer
from jdfd_lib.training.train import train

SIZE = 32  # synthetic crop and network size of the fast tests
T = 1.5  # the official temperature (parameters.py --temperature)
LN3 = math.log(3.0)


def _cfg(**kw):
    # the detector's own demo recipe (resnet10t blocks, Adam) at 32 px
    return detector_config("demo", detector="exposing", image_size=SIZE, **kw)


def _model(**kw) -> ExposingTheDeception:
    torch.manual_seed(0)
    return create_detector(_cfg(**kw))


# ----------------------------------------------------------------- losses, by hand
def test_global_information_loss_by_hand() -> None:
    # fused: softmax((0, 0) / T) = (1/2, 1/2); full: softmax((0, T ln 3) / T) = (1/4, 3/4)
    fused = torch.zeros(1, 2, requires_grad=True)
    full = torch.tensor([[0.0, T * LN3]], requires_grad=True)
    got = global_information_loss(fused, full, T)
    # KL = 1/2 ln(1/2 / 1/4) + 1/2 ln(1/2 / 3/4) = 1/2 ln(4/3), averaged over B x K = 2 elements
    assert got.item() == pytest.approx(0.25 * math.log(4 / 3), rel=1e-6)
    got.backward()
    assert full.grad is None  # the full prediction is the (detached) reference
    assert fused.grad[0, 1] < 0  # descent raises the fused "fake" logit towards the full one
    assert global_information_loss(full, full, T).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # torch's own deprecation
def test_kl_is_torchs_kldivloss_as_the_official_code_calls_it() -> None:
    g = torch.Generator().manual_seed(0)
    p_logits, q_logits = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    official = nn.KLDivLoss()(F.softmax(q_logits / T, 1).log(), F.softmax(p_logits / T, 1))
    assert torch.allclose(kl_from_reference(p_logits, q_logits, T), official)


def test_local_information_loss_by_hand() -> None:
    full = torch.tensor([[0.0, T * LN3]])  # q = (1/4, 3/4)
    away = torch.zeros(1, 2, requires_grad=True)  # p = (1/2, 1/2): KL mean = 1/4 ln(4/3)
    same = full.clone().requires_grad_(True)  # p = q: KL = 0
    got = local_information_loss([away, same], full, T)
    assert got.item() == pytest.approx((3 / 4) ** 0.25, rel=1e-6)  # exp(-1/4 ln(4/3))
    stacked = torch.stack([away, same], dim=1)  # (B, N, K) as the detector returns them
    assert torch.allclose(local_information_loss(stacked, full, T), got)
    assert local_information_loss([full, full], full, T).item() == pytest.approx(1.0)
    # minimising it pushes a leave-one-out prediction *away* from the full one
    got.backward()
    with torch.no_grad():
        moved = away - 0.5 * away.grad
    assert kl_from_reference(moved, full, T) > kl_from_reference(away, full, T)


def test_uncertainty_and_fixed_weighting_by_hand() -> None:
    losses = torch.tensor([2.0, 3.0])
    # 0.5 / 1 * 2 + ln(1 + 1) + 0.5 / 4 * 3 + ln(1 + 4) = 1.375 + ln 10
    got = uncertainty_weighted(losses, torch.tensor([1.0, 2.0]))
    assert got.item() == pytest.approx(1.375 + math.log(10.0), rel=1e-6)
    assert fixed_weighted(torch.tensor([1.0, 2.0, 3.0]), (1, 2, 10)).item() == 35.0
    with pytest.raises(ValueError, match="3 loss terms but 2 weights"):
        fixed_weighted(torch.tensor([1.0, 2.0, 3.0]), (1, 2))


def test_cross_entropy_sums_the_heads_over_labelled_images() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 2, generator=g), torch.randn(4, 2, generator=g)
    labels, mask = torch.tensor([0, 1, 1, 0]), torch.tensor([True, False, True, False])
    want = F.cross_entropy(a[mask], labels[mask]) + F.cross_entropy(b[mask], labels[mask])
    assert torch.allclose(classification_loss([a, b], labels, mask), want)


# ----------------------------------------------------------------- the detector's loss
def _out_and_batch(model: ExposingTheDeception, b: int = 4):
    x = torch.randn(b, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    batch = Batch(x, torch.tensor([0, 1, 0, 1])[:b], torch.tensor([True, True, False, True])[:b])
    return model.train()(x), batch


def test_total_is_the_uncertainty_weighted_sum_of_the_three_terms() -> None:
    model, cfg = _model(), _cfg()
    out, batch = _out_and_batch(model)
    losses = model.loss(out, batch, cfg)
    assert model.terms == ("ce", "gil", "lil") and set(losses) == {"total", "ce", "gil", "lil"}
    heads = [out["logits"], out["full_logits"], *out["leave_one_out_logits"].unbind(1)]
    ce = sum(masked_cross_entropy(h, batch.labels, batch.labelled) for h in heads)
    assert torch.allclose(losses["ce"], ce)
    assert torch.allclose(losses["gil"], global_information_loss(
        out["logits"], out["full_logits"], T))
    # s_i = 1 at the start: each term weighs 1/2 and adds ln 2
    want = sum(0.5 * losses[t] + math.log(2.0) for t in ("ce", "gil", "lil"))
    assert torch.allclose(losses["total"], want)


def test_fixed_weights_and_ablations() -> None:
    cfg = _cfg(exposing_uncertainty_weights=False)
    model = _model(exposing_uncertainty_weights=False)
    assert model.loss_scales is None
    out, batch = _out_and_batch(model)
    losses = model.loss(out, batch, cfg)
    want = losses["ce"] + 2.0 * losses["gil"] + 10.0 * losses["lil"]  # --scales [1, 2, 10]
    assert torch.allclose(losses["total"], want)
    # without the global loss: no full-head CE, and the local loss keeps its own weight
    cfg = _cfg(exposing_uncertainty_weights=False, exposing_global_loss=False)
    model = _model(exposing_uncertainty_weights=False, exposing_global_loss=False)
    out, batch = _out_and_batch(model)
    losses = model.loss(out, batch, cfg)
    assert set(losses) == {"total", "ce", "lil"}
    heads = [out["logits"], *out["leave_one_out_logits"].unbind(1)]
    assert torch.allclose(losses["ce"], classification_loss(heads, batch.labels, batch.labelled))
    assert torch.allclose(losses["total"], losses["ce"] + 10.0 * losses["lil"])


def test_hidden_labels_cannot_change_the_weights() -> None:
    cfg = _cfg()
    base = _model().train()
    x = torch.randn(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    mask = torch.tensor([True, True, False, False])

    def step(labels: torch.Tensor) -> dict[str, torch.Tensor]:
        model = copy.deepcopy(base)
        opt = make_optimizer(model, cfg)
        torch.manual_seed(3)  # the same dropout masks in every copy
        loss = model.loss(model(x), Batch(x, labels, mask), cfg)
        opt.zero_grad()
        loss["total"].backward()
        opt.step()
        return model.state_dict()

    a = step(torch.tensor([0, 1, 0, 0]))
    b = step(torch.tensor([0, 1, 1, 1]))  # only hidden labels differ
    c = step(torch.tensor([1, 1, 0, 0]))  # a visible label flips
    assert all(torch.equal(a[k], b[k]) for k in a)
    for name in ("head.1.weight", "blocks.0.conv1.0.weight", "blocks.1.conv1.0.weight"):
        assert not torch.equal(a[name], c[name]), name


# ----------------------------------------------------------------- structure and groups
def test_demo_size_shapes_and_structure() -> None:
    cfg = detector_config("demo", detector="exposing")
    options = ExposingTheDeception.options_of(cfg)
    assert (cfg.image_size, options.backbone, options.num_blocks, cfg.epochs) == (
        64, "resnet10t", 2, 3)
    model = create_detector(cfg).eval()
    assert model.pretrained_cfg["input_size"] == (3, 64, 64)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    width = model.blocks[0].num_features  # 512 for resnet10t
    assert out["logits"].shape == out["full_logits"].shape == (2, 2)
    assert out["leave_one_out_logits"].shape == (2, 2, 2)
    assert out["latent"].shape == (2, width)
    assert model.full_head.in_features == 2 * width
    assert all(h.in_features == width for h in model.leave_one_out_heads)
    layers = [type(m) for m in model.fusion]
    assert layers == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout] * 2 + [nn.Linear]
    assert [m.out_features for m in model.fusion if isinstance(m, nn.Linear)] == [
        1000, 500, width]
    # the blocks are separate networks, not one shared backbone
    assert len({id(p) for blk in model.blocks for p in blk.parameters()}) == sum(
        len(list(blk.parameters())) for blk in model.blocks)


def test_leave_one_out_keeps_the_other_blocks_in_order() -> None:
    features = torch.arange(6.0).reshape(1, 3, 2)  # (B, N, C): blocks (0,1), (2,3), (4,5)
    assert leave_one_out(features, 1).tolist() == [[0.0, 1.0, 4.0, 5.0]]
    assert leave_one_out(features, 0).tolist() == [[2.0, 3.0, 4.0, 5.0]]


def test_paper_profile_is_the_official_recipe() -> None:
    cfg = detector_config("paper", detector="exposing")
    o = ExposingTheDeception.options_of(cfg)
    assert (o.num_blocks, o.backbone) == (4, "resnet34.tv_in1k")
    assert o.temperature == 1.5 and o.uncertainty_weights
    assert o.global_loss and o.local_loss
    assert (cfg.image_size, cfg.batch_size, cfg.epochs, cfg.pretrained) == (224, 256, 20, True)
    assert (cfg.optimizer, cfg.lr_autoencoder, cfg.lr_classifier) == ("adam", 1e-3, 1e-3)
    assert cfg.weight_decay == 1e-6 and tuple(cfg.adam_betas) == (0.9, 0.999)
    assert detector_config("paper").optimizer == "sgd"  # JDFD's own recipe is untouched


def test_paper_size_shapes() -> None:
    cfg = detector_config("paper", detector="exposing", pretrained=False)  # offline
    model = create_detector(cfg).eval()
    assert model.pretrained_cfg["input_size"] == (3, 224, 224)
    assert model.pretrained_cfg["mean"] == (0.485, 0.456, 0.406)  # dataset.py's normalisation
    with torch.no_grad():
        feats = model.forward_blocks(torch.randn(1, 3, 224, 224))
        out = model(torch.randn(1, 3, 224, 224))
    assert feats.shape == (1, 4, 512)  # ResNet-34's width, one feature per block
    assert out["logits"].shape == (1, 2) and out["leave_one_out_logits"].shape == (1, 4, 2)
    assert out["latent"].shape == (1, 512)


def test_param_groups_hold_every_parameter_once() -> None:
    cfg = _cfg(lr_autoencoder=0.002, lr_classifier=0.003)
    model = _model()
    groups = model.param_groups(cfg)
    assert [(g["name"], g["lr"]) for g in groups] == [
        ("backbones", 0.002), ("heads", 0.003), ("loss_weights", 0.003)]
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in model.parameters()}
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.blocks.parameters()}
    assert groups[2]["params"] == [model.loss_scales] and model.loss_scales.shape == (3,)
    fixed = _model(exposing_uncertainty_weights=False)
    assert [g["name"] for g in fixed.param_groups(cfg)] == ["backbones", "heads"]


def test_every_block_starts_from_the_weights_file(tmp_path: Path) -> None:
    import timm

    torch.manual_seed(123)
    source = timm.create_model("resnet10t", pretrained=False)
    torch.save(source.state_dict(), tmp_path / "resnet10t.pth")
    model = _model(pretrained_file=str(tmp_path / "resnet10t.pth"))
    for blk in model.blocks:  # the official code loads ImageNet weights into every block
        assert torch.equal(blk.conv1[0].weight, source.conv1[0].weight)


def test_bad_block_count_is_refused_and_options_parse() -> None:
    with pytest.raises(ValueError, match="exposing_num_blocks must be >= 2"):
        _model(exposing_num_blocks=1)
    assert parse_setting("exposing_temperature=2", "exposing") == ("exposing_temperature", 2.0)
    assert parse_setting("exposing_uncertainty_weights=false", "exposing") == (
        "exposing_uncertainty_weights", False)


# ----------------------------------------------------------------- a short training
def test_short_demo_training_lowers_the_loss(tmp_path: Path, synthetic_faces) -> None:
    synthetic_faces(tmp_path / "faces" / "ffpp", "ffpp")
    cfg = _cfg(faces_root=str(tmp_path / "faces"), runs_dir=str(tmp_path / "runs"), epochs=3,
               batch_size=8, max_frames_per_video=None, samples_per_epoch=None,
               stop_at_val_auc=None)
    log = pd.read_csv(train(cfg, progress=False) / "metrics.csv")
    assert log["epoch"].tolist() == [1, 2, 3]
    assert log["train_loss"].iloc[-1] < log["train_loss"].iloc[0], log
    assert log["train_ce"].iloc[-1] < log["train_ce"].iloc[0], log
    assert {"train_gil", "train_lil"} <= set(log.columns)
