"""Shared fixtures: a tiny embedded demo dataset, generated once per test session.

Tests never download anything (HF_HUB_OFFLINE=1) and never need a GPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

DATASETS = ("ffpp", "celebdf", "uadfv")


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``tiny`` demo data root holding FaceForensics++/, Celeb-DF-v2/ and UADFV/."""
    from jdfd_lib.demo.generate import generate_demo_data

    out = tmp_path_factory.mktemp("demo")
    generate_demo_data(out, size="tiny", seed=0)
    return out


@pytest.fixture(scope="session")
def demo_faces(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Face crops of the tiny demo data: dataset key -> prepared root (with index.csv)."""
    from jdfd_lib.datasets.adapters import dataset_root
    from jdfd_lib.faces.prepare import ExtractConfig, prepare

    faces = tmp_path_factory.mktemp("faces")
    cfg = ExtractConfig(frames_per_video=4, image_size=64, workers=1)
    roots = {}
    for name in DATASETS:
        out = faces / name
        prepare(name, dataset_root(demo_root, name), out, cfg)
        roots[name] = out
    return roots


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint as train.py writes it (weights, resolved demo config, epoch) of a real,
    untrained JDFD with a small decoder: for scoring tests that need a model, not a trained one."""
    import torch

    from jdfd_lib.core.config import config_from_overrides
    from jdfd_lib.detectors.model import build_model
    from jdfd_lib.training.checkpoint import save_checkpoint

    cfg = config_from_overrides("demo", decoder_channels=(32, 16, 8, 8), classifier_hidden=(16,))
    torch.manual_seed(0)
    state = {"model": build_model(cfg).state_dict(), "config": cfg.to_dict(), "epoch": 1}
    return save_checkpoint(state, tmp_path_factory.mktemp("run") / "best.pt")
