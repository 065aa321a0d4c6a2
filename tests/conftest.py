"""Shared fixtures: a tiny embedded demo dataset, generated once per test session.

Tests never download anything (HF_HUB_OFFLINE=1) and never need a GPU.

Two lanes. ``pytest tests -m "not slow" -n 2`` is the fast lane (about 40 s on 2 cores);
``./run_tests.sh`` runs every test, slow ones included, then nbval. A test is ``slow`` when it

- uses the session's demo data: ``demo_root`` renders the tiny demo datasets (H.264 videos)
  and ``demo_faces`` runs dlib extraction on all of them, about 15 s per xdist worker. Tests
  using either fixture, directly or through another fixture, are marked slow automatically
  (``SLOW_FIXTURES`` below): the demo-profile training, the detection and ``prepare`` tests
  on demo videos;
- runs a Python subprocess that imports torch (``python -m jdfd_lib prepare/train/evaluate/
  detect``, ``python -c "import torch; ..."``): 2-5 s of imports each;
- or takes more than about 3 s alone on 2 idle cores (the paper-size 299 px model;
  ``--durations=30`` lists the candidates).

Fast, and meant to stay fast: trainings of a few epochs on the 32 px synthetic crops a test
writes itself, dlib extraction of the six 10-frame videos test_extract.py writes, alignment
of a still photograph, scoring with tiny models, commands run in-process through
``jdfd_lib.cli.main``, and subprocesses that do not import torch (``check-results``,
``demo-data``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# Idle OpenMP threads sleep instead of spinning. Two xdist workers on 2 cores each run torch
# with 2 threads (train() sets cfg.num_threads = 2); spinning threads then steal the core the
# other worker needs, and a 2 s training took 20 s. Read by libgomp when torch loads it, so
# set before any test imports torch; subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
    from jdfd_lib.datasets.registry import dataset_root
    from jdfd_lib.faces.crops import ExtractConfig
    from jdfd_lib.faces.prepare import prepare

    faces = tmp_path_factory.mktemp("faces")
    cfg = ExtractConfig(frames_per_video=4, image_size=64, workers=1)
    roots = {}
    for name in DATASETS:
        out = faces / name
        prepare(name, dataset_root(demo_root, name), out, cfg)
        roots[name] = out
    return roots


@pytest.fixture(scope="session")
def face_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two 15-frame H.264 clips of a real face photograph (shipped with matplotlib) drifting
    sideways, ``face`` and its mirror image ``mirrored``: dlib finds the face in every frame.
    Seconds to write, unlike ``demo_root``: for detection tests of the fast lane."""
    import cv2
    import matplotlib
    import numpy as np

    from jdfd_lib.demo.video_io import write_video

    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    face = cv2.resize(cv2.imread(str(photo)), (200, 240))  # BGR, as write_video takes
    frames = [cv2.warpAffine(face, np.float32([[1, 0, i - 7], [0, 1, 0]]), (200, 240),
                             borderMode=cv2.BORDER_REFLECT) for i in range(15)]
    out = tmp_path_factory.mktemp("clips")
    write_video(out / "face.mp4", frames, fps=15)
    write_video(out / "mirrored.mp4", [np.ascontiguousarray(f[:, ::-1]) for f in frames], fps=15)
    return {"face": out / "face.mp4", "mirrored": out / "mirrored.mp4"}


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint as train.py writes it (weights, resolved demo config, epoch) of a real,
    untrained JDFD with a small decoder: for scoring tests that need a model, not a trained one."""
    import torch

    from jdfd_lib.core.config import config_from_overrides
    from jdfd_lib.detectors.registry import create_detector
    from jdfd_lib.training.checkpoint import save_checkpoint

    cfg = config_from_overrides("demo", decoder_channels=(32, 16, 8, 8), classifier_hidden=(16,))
    torch.manual_seed(0)
    state = {"model": create_detector(cfg).state_dict(), "config": cfg.to_dict(), "epoch": 1}
    return save_checkpoint(state, tmp_path_factory.mktemp("run") / "best.pt")


def write_clip_dataset(root: Path, face_clips: dict[str, Path], per_class: int) -> Path:
    """A UADFV-layout folder at ``root``: ``per_class`` real copies of the ``face`` clip and
    as many fake copies of its mirror image (a dataset of many videos in seconds)."""
    import shutil

    for folder, suffix, clip in (("real", "", "face"), ("fake", "_fake", "mirrored")):
        (root / folder).mkdir(parents=True)
        for i in range(per_class):
            shutil.copy(face_clips[clip], root / folder / f"{i:04d}{suffix}.mp4")
    return root


# the session fixtures that make every test using them slow (see the module docstring)
SLOW_FIXTURES = {"demo_root", "demo_faces"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


SYNTHETIC_SIZE = 32  # side of the synthetic crops (the smallest Xception accepts)


def write_synthetic_faces(root: Path, dataset: str, videos=(6, 2, 2), frames: int = 4,
                          seed: int = 0, masks: bool = False) -> Path:
    """Write a prepared folder of synthetic crops that a network can learn in seconds.

    Per split (train, val, test) and class, ``videos`` videos of ``frames`` 32 px crops: a
    soft blob 'face' per frame; fakes carry a +-30 grey-level checkerboard in the central
    square. With ``masks``, every fake crop gets a mask crop marking exactly that square (the
    index's ``mask`` column, as prepare writes it for forgery masks).
    """
    import cv2
    import numpy as np
    import pandas as pd

    from jdfd_lib.faces.index import write_index

    size = SYNTHETIC_SIZE
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    checker = ((yy + xx) % 2 * 2 - 1)[..., None] * 30.0
    inner = slice(size // 4, 3 * size // 4)
    square = np.zeros((size, size), np.uint8)
    square[inner, inner] = 255
    rows = []
    for split, n in zip(("train", "val", "test"), videos, strict=True):
        for v in range(n):
            for label, method in ((0, "original"), (1, "Deepfakes")):
                base = rng.uniform(60, 200, 3)
                for f in range(frames):
                    cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
                    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 4) ** 2))
                    img = 40 + blob[..., None] * base + rng.normal(0, 6, (size, size, 3))
                    if label:
                        img[inner, inner] += checker[inner, inner]
                    rel = f"crops/{method}/{split}{v}/{f:04d}.png"
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(root / rel), np.clip(img, 0, 255).astype(np.uint8))
                    row = dict(dataset=dataset, method=method, video=f"{split}{v}", frame=f,
                               label=label, split=split, identity=f"{split}{v}", path=rel)
                    if masks:
                        row["mask"] = rel.replace(".png", "_mask.png") if label else ""
                        if label:
                            cv2.imwrite(str(root / row["mask"]), square)
                    rows.append(row)
    write_index(pd.DataFrame(rows), root)
    return root


@pytest.fixture(scope="session")
def clip_dataset():
    """:func:`write_clip_dataset`, for tests that need many real-face videos quickly."""
    return write_clip_dataset


@pytest.fixture(scope="session")
def synthetic_faces():
    """:func:`write_synthetic_faces`, for tests that train on crops they write themselves."""
    return write_synthetic_faces
