"""The detectors: the contract every registered one honours (as timm's tests run over
``list_models()``), then JDFD's own structure (paper Sec. 3.2, Eq. 1-2, Sec. 4.2)."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn

from jdfd_lib.core.config import config_from_overrides, get_profile
from jdfd_lib.core.errors import UserError
from jdfd_lib.detectors.base import Batch, Detector
from jdfd_lib.detectors.jdfd import JDFD
from jdfd_lib.detectors.registry import (
    create_detector,
    detector_class,
    detector_config,
    list_detectors,
    register_detector,
    unregister_detector,
)

SIZE = 32


def _small(**kw) -> JDFD:
    # the paper's encoder (Xception) at a tiny size: these tests pin what it exposes
    kw = {"encoder": "legacy_xception", "image_size": SIZE, "decoder_channels": (32, 16, 8), **kw}
    return create_detector(config_from_overrides("demo", **kw))


# ----------------------------------------------------------------- the contract, per detector
@pytest.mark.parametrize("name", list_detectors())
def test_detector_honours_the_contract(name: str) -> None:
    cfg = detector_config("demo", detector=name, image_size=SIZE, decoder_channels=(32, 16, 8))
    model = create_detector(cfg).train()
    assert isinstance(model, Detector) and model.name == name == cfg.detector
    pc = model.pretrained_cfg
    assert pc["input_size"] == (3, SIZE, SIZE) and len(pc["mean"]) == len(pc["std"]) == 3
    torch.manual_seed(0)
    x = torch.randn(4, 3, SIZE, SIZE)
    out = model(x)
    assert out["logits"].shape == (4, 2)
    assert (out.get("recon") is not None) == model.reconstructs
    if model.reconstructs:
        assert out["recon"].shape == x.shape
    score = model.fake_score(out)
    assert score.shape == (4,) and ((score >= 0) & (score <= 1)).all()
    # one labelled image and three hidden ones: the loss is finite and reaches every group
    batch = Batch(x, torch.tensor([0, 1, 0, 1]), torch.tensor([True, False, False, False]))
    losses = model.loss(out, batch, cfg)
    assert losses["total"].ndim == 0 and torch.isfinite(losses["total"])
    losses["total"].backward()
    groups = model.param_groups(cfg)
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)), "a parameter sits in two groups"
    assert set(ids) == {id(p) for p in model.parameters() if p.requires_grad}
    assert all({"name", "params", "lr"} <= set(g) and g["lr"] > 0 for g in groups)
    assert all(any(p.grad is not None for p in g["params"]) for g in groups)


def test_unknown_detector_lists_the_registered_ones(tmp_path) -> None:
    from jdfd_lib.training.train import train

    with pytest.raises(UserError, match="no detector named 'nosuch'.*baseline, exposing, jdfd, "
                                        "lae"):
        detector_class("nosuch")
    cfg = config_from_overrides("demo", detector="nosuch", runs_dir=str(tmp_path / "runs"))
    with pytest.raises(UserError, match="detector: no detector named 'nosuch'"):
        train(cfg, progress=False)  # refused before the run folder is made
    assert not (tmp_path / "runs").exists()


def test_a_new_detector_registers_without_touching_other_files() -> None:
    @register_detector("toy_test")
    class Toy(JDFD):
        reconstructs = False

    try:
        assert "toy_test" in list_detectors()
        cfg = config_from_overrides("demo", detector="toy_test", image_size=SIZE)
        model = create_detector(cfg)
        assert isinstance(model, Toy) and model.decoder is None
        assert cfg.run_name.startswith("demo-toy_test-")
    finally:
        unregister_detector("toy_test")
    assert "toy_test" not in list_detectors()


def test_a_name_cannot_be_taken_twice() -> None:
    with pytest.raises(ValueError, match="taken"):
        register_detector("jdfd")(type("Other", (JDFD,), {}))


# ----------------------------------------------------------------- JDFD's structure
@pytest.mark.slow  # the 299 px model: about 4 s
def test_paper_size_shapes() -> None:
    cfg = config_from_overrides("paper", pretrained=False)  # offline; shapes need no weights
    model = create_detector(cfg).eval()
    x = torch.randn(1, 3, 299, 299)
    with torch.no_grad():
        out = model(x)
        feats = model.forward_features(x)
    assert feats.shape == (1, model.encoder.num_features, 10, 10)  # 299 / 32, rounded up
    assert out["latent"].shape == (1, 2048)
    assert out["recon"].shape == x.shape  # resized from 256 px to 299 px (bilinear)
    assert torch.isfinite(out["recon"]).all()


def test_the_head_reaches_the_shared_encoder() -> None:
    cfg = get_profile("demo")
    model = create_detector(cfg).train()
    out = model(torch.randn(2, 3, cfg.image_size, cfg.image_size))
    assert out["latent"].shape == (2, model.latent_dim)
    out["logits"].sum().backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_preprocessing_comes_from_timm() -> None:
    model = _small()
    ref = timm.create_model("legacy_xception", pretrained=False).pretrained_cfg
    assert model.pretrained_cfg["mean"] == ref["mean"]
    assert model.pretrained_cfg["std"] == ref["std"]
    assert model.latent_dim == model.encoder.num_features == 2048
    assert model.reduction == 32


def test_baseline_is_jdfd_without_the_decoder() -> None:
    model = _small(detector="baseline")
    assert not model.reconstructs and model.decoder is None
    assert not any(n.startswith("decoder") for n, _ in model.named_parameters())
    jdfd = _small()
    shared = {n for n, _ in jdfd.named_parameters() if not n.startswith("decoder")}
    assert {n for n, _ in model.named_parameters()} == shared


def test_latent_projection_when_z_differs() -> None:
    model = _small(latent_dim=64).eval()
    assert isinstance(model.projection, nn.Linear)
    assert model.forward_latent(torch.randn(2, 3, SIZE, SIZE)).shape == (2, 64)
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


def test_param_groups_are_the_two_learning_rates_of_sec_4_2() -> None:
    cfg = config_from_overrides("demo", image_size=SIZE, decoder_channels=(32, 16, 8),
                                latent_dim=64, lr_autoencoder=0.005, lr_classifier=0.0004)
    model = create_detector(cfg)
    auto, clf = model.param_groups(cfg)
    assert (auto["name"], auto["lr"], clf["name"], clf["lr"]) == (
        "autoencoder", 0.005, "classifier", 0.0004)
    assert {id(p) for p in clf["params"]} == {id(p) for p in model.classifier.parameters()}
    autoencoder = [*model.encoder.parameters(), *model.projection.parameters(),
                   *model.decoder.parameters()]
    assert {id(p) for p in auto["params"]} == {id(p) for p in autoencoder}


def test_local_pretrained_file_is_loaded(tmp_path) -> None:
    torch.manual_seed(123)
    source = timm.create_model("legacy_xception", pretrained=False)
    path = tmp_path / "xception.pth"
    torch.save(source.state_dict(), path)
    model = _small(pretrained_file=str(path))
    assert torch.equal(model.encoder.conv1.weight, source.conv1.weight)
    assert torch.equal(model.encoder.block12.skip.weight, source.block12.skip.weight)


def test_missing_pretrained_file_is_named(tmp_path) -> None:
    missing = tmp_path / "none.pth"
    with pytest.raises(FileNotFoundError, match="none.pth"):
        _small(pretrained_file=str(missing))


@pytest.fixture
def no_downloads(tmp_path, monkeypatch):
    """Empty weight caches, and both of timm's download paths (a URL through torch.hub, the
    Hugging Face Hub) fail as they do offline: deterministic, and never a real download."""
    import urllib.error

    from huggingface_hub.errors import LocalEntryNotFoundError

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    def hub_offline(*args, **kwargs):
        raise LocalEntryNotFoundError("cannot find the requested files in the local cache")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-cache"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    monkeypatch.setattr(timm.models._hub, "hf_hub_download", hub_offline)


@pytest.mark.parametrize("encoder, source", [
    ("legacy_xception", "xception-43020ad28.pth"),  # the paper's: a URL file
    ("resnet10t", "huggingface.co/timm/resnet10t.c3_in1k")])  # the demo's: the Hub
def test_imagenet_weights_offline_fail_in_one_line_naming_pretrained_file(
        no_downloads, encoder: str, source: str) -> None:
    """Never a silent fallback to random weights: one line naming the file to fetch and the
    two ways out, spelled as the CLI's user types them."""
    from jdfd_lib.cli import describe
    from jdfd_lib.core.errors import cli_command

    with pytest.raises(UserError) as err:
        _small(encoder=encoder, pretrained=True)
    text = str(err.value)
    assert "\n" not in text and describe(err.value) == text
    assert f"encoder {encoder}" in text and source in text
    assert "pretrained_file=PATH" in text and "pretrained=False" in text
    flags = "--set pretrained_file=PATH.*--set pretrained=false"
    with cli_command("train"), pytest.raises(UserError, match=flags):
        _small(encoder=encoder, pretrained=True)


def test_checkpoint_of_a_pretrained_run_loads_offline(no_downloads, tmp_path) -> None:
    """The checkpoint holds every weight: loading it never fetches ImageNet's."""
    from jdfd_lib.training.checkpoint import load_checkpoint, save_checkpoint

    cfg = config_from_overrides("demo", image_size=SIZE, decoder_channels=(32, 16, 8),
                                pretrained=True)
    with pytest.raises(UserError):
        create_detector(cfg)
    source = create_detector(config_from_overrides("demo", image_size=SIZE,
                                                   decoder_channels=(32, 16, 8)))
    path = save_checkpoint({"model": source.state_dict(), "config": cfg.to_dict(),
                            "epoch": 1}, tmp_path / "best.pt")
    model, saved, _ = load_checkpoint(path)
    assert saved.pretrained  # the run's config is kept as it was
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 source.state_dict().values(), strict=True))
