"""LAE (Du et al. 2020): its losses against hand-computed cases, shapes, the one-pass
adversarial game, the mask-regularised interpretation, and the offline perceptual term."""

from __future__ import annotations

import pytest
import torch

from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.core.errors import UserError
from jdfd_lib.detectors.base import Batch
from jdfd_lib.detectors.lae import (
    LAE,
    Discriminator,
    activation_loss,
    adversarial_losses,
    interpretation_loss,
    interpretation_map,
)
from jdfd_lib.detectors.registry import create_detector, detector_config


def _cfg(**kw):
    return detector_config("demo", detector="lae", **{"image_size": 32, **kw})


def test_activation_loss_by_hand() -> None:
    acts = torch.tensor([[0.9, 0.2], [0.3, 0.4], [5.0, 5.0]])  # (a_real, a_fake)
    labels = torch.tensor([0, 1, 1])
    labelled = torch.tensor([True, True, False])  # the third is unlabeled: ignored
    # real: |0.9 - 1| + |0.2 - 0| = 0.3; fake: |0.3 - 0| + |0.4 - 1| = 0.9
    assert activation_loss(acts, labels, labelled).item() == pytest.approx((0.3 + 0.9) / 2)
    per = activation_loss(acts, labels, labelled, reduction="none")
    assert per.tolist() == pytest.approx([0.3, 0.9, 0.0])
    none = torch.zeros(3, dtype=torch.bool)
    assert activation_loss(acts, labels, none).item() == 0.0


def test_interpretation_map_and_loss_by_hand() -> None:
    fake_half = torch.zeros(1, 2, 2, 2)
    fake_half[0, :, 0, 0] = 4.0  # all the fake activation in the top-left cell
    m = interpretation_map(fake_half, (2, 2))
    assert m[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]  # normalised by the maximum
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])  # forged: the top row
    # L1: |1-1| + |0-1| + 0 + 0 over 4 pixels = 0.25, for the one image with a usable mask
    both = torch.cat([m, m]), torch.cat([mask, mask])
    loss = interpretation_loss(*both, has_mask=torch.tensor([True, False]))
    assert loss.item() == pytest.approx(0.25)
    zero = interpretation_loss(*both, has_mask=torch.tensor([False, False]))
    assert zero.item() == 0.0
    assert interpretation_loss(m, None, None).item() == 0.0


def test_each_player_gets_only_its_own_gradient() -> None:
    torch.manual_seed(0)
    disc = Discriminator(channels=4, levels=2)
    x = torch.randn(2, 3, 16, 16)
    recon = torch.randn(2, 3, 16, 16, requires_grad=True)
    adv_g, adv_d = adversarial_losses(disc, x, recon)
    adv_g.backward(retain_graph=True)
    assert recon.grad is not None and all(p.grad is None for p in disc.parameters())
    recon.grad = None
    adv_d.backward()
    assert recon.grad is None and all(p.grad is not None for p in disc.parameters())


@pytest.mark.parametrize("size", [32, 64, 299])
def test_shapes(size: int) -> None:
    model = create_detector(_cfg(image_size=size)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out["logits"].shape == (2, 2) and out["recon"].shape == (2, 3, size, size)
    assert out["interpretation"].shape == (2, 1, size, size)
    assert float(out["interpretation"].max()) <= 1.0 + 1e-6
    assert model.fake_score(out).shape == (2,)


def test_the_mask_term_moves_the_interpretation_towards_the_mask() -> None:
    torch.manual_seed(0)
    cfg = _cfg(lae_act_weight=0.0, lae_rec_weight=0.0, lae_adversarial_weight=0.0)
    model = create_detector(cfg)
    x = torch.randn(4, 3, 32, 32)
    mask = torch.zeros(4, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1.0  # the forged square in the middle
    batch = Batch(x, torch.ones(4, dtype=torch.long), torch.ones(4, dtype=torch.bool),
                  {"mask": mask, "has_mask": torch.ones(4, dtype=torch.bool)})
    opt = torch.optim.Adam([p for g in model.param_groups(cfg) for p in g["params"]], 1e-2)
    first = None
    for _ in range(30):
        loss = model.loss(model(x), batch, cfg)
        first = first if first is not None else float(loss["int"].detach())
        opt.zero_grad()
        loss["total"].backward()
        opt.step()
    assert float(loss["int"].detach()) < 0.7 * first


def test_hidden_labels_cannot_change_the_weights() -> None:
    cfg = _cfg()
    x = torch.randn(4, 3, 32, 32)
    grads = []
    for labels in (torch.tensor([0, 1, 0, 1]), torch.tensor([0, 1, 1, 0])):
        torch.manual_seed(0)
        model = create_detector(cfg)
        batch = Batch(x, labels, torch.tensor([True, True, False, False]))
        model.loss(model(x), batch, cfg)["total"].backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()
                                if p.grad is not None]))
    assert torch.equal(grads[0], grads[1])


def _offline(*args, **kwargs):
    import urllib.error

    raise urllib.error.URLError("[Errno -2] Name or service not known")


def test_perceptual_term_never_runs_on_random_weights(tmp_path, monkeypatch) -> None:
    """Offline without a weights file: a clear error naming both ways out; a local file is
    read without running code from it; weight 0 (the demo) never touches VGG."""
    from torchvision.models.vgg import cfgs, make_layers

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))  # nothing cached
    cfg = config_from_overrides("demo", detector="lae", image_size=32,
                                lae_perceptual_weight=0.1)
    model = create_detector(cfg)
    x = torch.randn(2, 3, 32, 32)
    batch = Batch(x, torch.tensor([0, 1]), torch.ones(2, dtype=torch.bool))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _offline)  # never a real download
    with pytest.raises(UserError, match="vgg16-397923af.pth.*lae_vgg_weights=PATH.*"
                                        "lae_perceptual_weight=0") as err:
        model.loss(model(x), batch, cfg)
    assert "\n" not in str(err.value)  # the CLI prints it as one line
    weights = tmp_path / "vgg16.pth"
    features = make_layers(cfgs["D"])[:16].state_dict()
    torch.save({f"features.{k}": v for k, v in features.items()}, weights)
    cfg = config_from_overrides("demo", detector="lae", image_size=32, lae_perceptual_weight=0.1,
                                lae_vgg_weights=str(weights))
    model = create_detector(cfg)
    assert float(model.loss(model(x), batch, cfg)["perc"].detach()) > 0
    assert not any("vgg" in k for k in model.state_dict())  # never saved in checkpoints
    demo = create_detector(_cfg())
    assert float(demo.loss(demo(x), batch, _cfg())["perc"]) == 0.0


def test_demo_profile_is_the_detectors_own() -> None:
    cfg = detector_config("demo", detector="lae")
    assert LAE.options_of(cfg).perceptual_weight == 0.0  # offline: no VGG weights
    assert LAE.profiles["paper"]["optimizer"] == "adam"
    demo = detector_config("demo", detector="lae")  # chosen on validation (docs: Profiles)
    assert (demo.optimizer, demo.lr_autoencoder, demo.lr_classifier) == ("adam", 1e-3, 1e-3)
    assert detector_config("paper", detector="lae").optimizer == "adam"
    assert detector_config("paper").optimizer == "sgd"  # JDFD keeps the paper's recipe
