"""Training (paper Sec. 4.2, 4.4): data, optimiser groups, scheduler, learning, resume,
checkpoints and the command line. Runs on small synthetic crops written here, whose fakes
carry a faint checkerboard artefact that a network can learn."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

import jdfd_lib.training.train as train_mod
import jdfd_lib.training.train_cli as train_cli
from jdfd_lib.core.config import TrainConfig, config_from_overrides, parse_assignment
from jdfd_lib.core.errors import UserError, cli_command
from jdfd_lib.detectors.registry import create_detector
from jdfd_lib.faces.index import write_index
from jdfd_lib.training.checkpoint import load_checkpoint, read_checkpoint
from jdfd_lib.training.data import (
    UNLABELED,
    CropDataset,
    EpochSampler,
    cap_frames,
    foreign_unlabeled,
    load_split,
    training_frames,
)
from jdfd_lib.training.loop import make_optimizer, make_scheduler
from jdfd_lib.training.train import train

SIZE = 32  # crop and network size of these tests (the smallest Xception accepts)


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory, synthetic_faces) -> Path:
    """faces_root holding ffpp/, celebdf/, uadfv/ synthetic prepared folders."""
    root = tmp_path_factory.mktemp("faces")
    for i, name in enumerate(("ffpp", "celebdf", "uadfv")):
        synthetic_faces(root / name, name, seed=i)
    return root


def _cfg(faces: Path, out: Path, **kw) -> TrainConfig:
    # the paper's recipe (lrs, StepLR) at a tiny scale: these tests pin its mechanics
    kw = {"image_size": SIZE, "decoder_channels": (32, 16, 8), "epochs": 3,
          "max_frames_per_video": None, "samples_per_epoch": None, "stop_at_val_auc": None,
          "lr_step_size": 5, "lr_gamma": 0.8, "lr_autoencoder": 0.005, "lr_classifier": 0.0004,
          "faces_root": str(faces),
          "runs_dir": str(out), **kw}
    return config_from_overrides("demo", **kw)


@pytest.fixture(scope="module")
def trained(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, Path]:
    """One 3-epoch JDFD run, shared by the tests that only read its outputs."""
    cfg = _cfg(faces, tmp_path_factory.mktemp("runs"))
    return cfg, train(cfg, progress=False)


# --- optimiser and scheduler (Sec. 4.2) ---

def test_two_learning_rates_land_in_the_right_groups(faces, tmp_path) -> None:
    model = create_detector(_cfg(faces, tmp_path, latent_dim=64))
    opt = make_optimizer(model, get := _cfg(faces, tmp_path))
    auto, clf = opt.param_groups
    assert auto["lr"] == get.lr_autoencoder == 0.005 and clf["lr"] == get.lr_classifier == 0.0004
    ids = lambda ps: {id(p) for p in ps}  # noqa: E731
    assert ids(clf["params"]) == ids(model.classifier.parameters())
    expected = [*model.encoder.parameters(), *model.projection.parameters(),
                *model.decoder.parameters()]
    assert ids(auto["params"]) == ids(expected)
    assert all(g["momentum"] == get.momentum for g in opt.param_groups)


def test_step_lr_after_5_and_10_epochs(faces, tmp_path) -> None:
    cfg = _cfg(faces, tmp_path)
    opt = make_optimizer(create_detector(cfg), cfg)
    sched = make_scheduler(opt, cfg)
    lrs = {}
    for epoch in range(1, 11):
        opt.step()
        sched.step()
        lrs[epoch] = [g["lr"] for g in opt.param_groups]
    assert lrs[4] == pytest.approx([0.005, 0.0004])
    assert lrs[5] == pytest.approx([0.005 * 0.8, 0.0004 * 0.8])
    assert lrs[10] == pytest.approx([0.005 * 0.64, 0.0004 * 0.64])


# --- data ---

def test_dataset_items_are_normalised_tensors(faces) -> None:
    rows = load_split(faces / "ffpp", "train", "ffpp")
    ds = CropDataset(rows, 48, mean=(0.5,) * 3, std=(0.5,) * 3)
    x, y, labelled = ds[0]
    assert x.shape == (3, 48, 48) and x.dtype == torch.float32
    assert -1.0 <= x.min() and x.max() <= 1.0 and labelled is True and y in (0, 1)
    flipped = CropDataset(rows, SIZE, (0.5,) * 3, (0.5,) * 3, hflip=True)
    torch.manual_seed(0)
    seen = {torch.equal(flipped[0][0], ds.__class__(rows, SIZE, (.5,) * 3, (.5,) * 3)[0][0])
            for _ in range(20)}
    assert seen == {True, False}  # flipped about half of the time


def test_leaking_splits_and_missing_crops_are_refused(faces, tmp_path) -> None:
    df = load_split(faces / "ffpp", "train").drop(columns=["abs_path", "labelled"])
    leak = df.copy()
    leak.loc[leak.index[:2], "split"] = "test"  # one video in train and test
    write_index(leak, tmp_path / "leak")
    with pytest.raises(ValueError, match="index.csv.*more than one split"):
        load_split(tmp_path / "leak", "train")
    crop = tmp_path / "bad.png"
    crop.write_bytes(b"not a png")
    rows = pd.DataFrame({"abs_path": [str(crop), str(tmp_path / "gone.png")], "label": [0, 1]})
    ds = CropDataset(rows, SIZE, (0.5,) * 3, (0.5,) * 3)
    with pytest.raises(ValueError, match="bad.png"):
        ds[0]
    with pytest.raises(FileNotFoundError, match="gone.png"):
        ds[1]


SOURCES = ("ffpp", "celebdf", "uadfv")  # TrainConfig.unlabeled_datasets' default


def test_foreign_unlabeled_draw(faces) -> None:
    n_train = len(load_split(faces / "ffpp", "train"))
    extra = foreign_unlabeled(faces, "ffpp", n_train, 0.25, seed=0, sources=SOURCES)
    assert sorted(extra["dataset"].unique()) == ["celebdf", "uadfv"]
    per = extra.groupby("dataset").size()
    assert (per == round(0.25 * n_train)).all()
    assert (extra["split"] == "train").all() and not extra["labelled"].any()
    assert (extra["label"] == UNLABELED).all()
    # about half real, half fake (true labels looked up in the source index)
    for name, part in extra.groupby("dataset"):
        truth = load_split(faces / name, "train").set_index("path").loc[part["path"], "label"]
        assert abs(truth.mean() - 0.5) <= 0.1
    again = foreign_unlabeled(faces, "ffpp", n_train, 0.25, seed=0, sources=SOURCES)
    assert again["path"].tolist() == extra["path"].tolist()  # seeded
    with pytest.raises(ValueError, match="requested"):
        foreign_unlabeled(faces, "ffpp", n_train, 1.5, seed=0, sources=SOURCES)


def test_foreign_images_come_only_from_the_named_datasets(faces) -> None:
    """Fig. 4's sources are a config field: registering a dataset never changes them."""
    n_train = len(load_split(faces / "ffpp", "train"))
    extra = foreign_unlabeled(faces, "ffpp", n_train, 0.25, seed=0, sources=("ffpp", "uadfv"))
    assert extra["dataset"].unique().tolist() == ["uadfv"]
    assert len(extra) == round(0.25 * n_train)
    with pytest.raises(ValueError, match="needs unlabeled_datasets other than 'ffpp'"):
        training_frames(faces, "ffpp", 0.1, 0, unlabeled_datasets=("ffpp",))


def test_epoch_sampler_balances_and_shards() -> None:
    labels = np.array([0] * 2 + [1] * 8 + [UNLABELED] * 3)
    sampler = EpochSampler(labels, seed=0, balance=True)
    idx = list(sampler)
    assert len(idx) == len(sampler) == 8 + 8 + 3
    assert np.sum(labels[idx] == 0) == np.sum(labels[idx] == 1) == 8
    assert set(np.flatnonzero(labels == UNLABELED)) <= set(idx)
    sampler.set_epoch(1)
    assert list(sampler) != idx
    shards = [EpochSampler(labels, 0, False, num_replicas=2, rank=r) for r in (0, 1)]
    a, b = (list(s) for s in shards)
    assert len(a) == len(b) == 7 and set(a) | set(b) == set(range(13))


def test_cap_frames_keeps_evenly_spaced_frames() -> None:
    df = pd.DataFrame({"method": ["m"] * 10, "video": ["v"] * 10, "frame": range(10)})
    assert cap_frames(df, 4)["frame"].tolist() == [0, 3, 6, 9]
    assert len(cap_frames(df, None)) == len(cap_frames(df, 20)) == 10


# --- training ---

def _train_auc(model, cfg: TrainConfig) -> float:
    rows = load_split(Path(cfg.faces_root) / cfg.train_dataset, "train")
    ds = CropDataset(rows, cfg.image_size, model.pretrained_cfg["mean"],
                     model.pretrained_cfg["std"])
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    with torch.no_grad():
        score = model.eval()(x)["logits"].softmax(1)[:, 1]
    return roc_auc_score(ds.labels, score.numpy())


def test_training_lowers_the_loss_and_learns_the_artefact(trained) -> None:
    cfg, run_dir = trained
    log = pd.read_csv(run_dir / "metrics.csv")
    assert log["epoch"].tolist() == [1, 2, 3]
    assert log["train_loss"].iloc[-1] < log["train_loss"].iloc[0]
    assert log["train_rec"].iloc[-1] < log["train_rec"].iloc[0]
    assert log["lr_autoencoder"].tolist() == [0.005] * 3
    model, saved, info = load_checkpoint(run_dir / "last.pt")
    assert saved == cfg and info["epoch"] == 3
    assert _train_auc(model, cfg) > 0.6  # eval mode, every train crop, no flips
    assert (run_dir / "best.pt").is_file() and (run_dir / "config.json").is_file()
    _, _, best = load_checkpoint(run_dir / "best.pt")
    assert best["val_auc"] == log["val_auc"].max() == best["best_val_auc"]


def test_finished_run_is_not_retrained(trained) -> None:
    cfg, run_dir = trained
    stamp = (run_dir / "last.pt").stat().st_mtime_ns
    assert train(cfg, progress=False) == run_dir
    assert (run_dir / "last.pt").stat().st_mtime_ns == stamp
    other = TrainConfig.from_dict({**cfg.to_dict(), "momentum": 0.5})
    with pytest.raises(UserError, match=r"another config.*another runs_dir or force=True"):
        train(other, progress=False)
    with cli_command("train"), pytest.raises(UserError, match=r"another --runs-dir or --force"):
        train(other, progress=False)


def test_a_finished_run_on_crops_prepared_again_is_trained_again(synthetic_faces, tmp_path,
                                                                  capsys) -> None:
    """Finished work is keyed on what was read: a run whose training crops were prepared
    again from other videos (prepare's ``sources_sha256``, or another index) is not reused
    but trained again, saying so; unchanged crops reuse it."""
    import json

    from jdfd_lib.core.runinfo import file_sha256

    root = tmp_path / "faces"
    synthetic_faces(root / "ffpp", "ffpp", videos=(4, 1, 1), frames=2)
    record = root / "ffpp" / "extraction.json"

    def prepared(sources: str) -> None:  # what prepare writes beside its index
        record.write_text(json.dumps({"index_sha256": file_sha256(root / "ffpp" / "index.csv"),
                                      "sources_sha256": sources}))

    prepared("videos-of-monday")
    cfg = _cfg(root, tmp_path / "runs", epochs=1, decoder_channels=(8, 8, 8), batch_size=4)
    run_dir = train(cfg, progress=False)
    state = read_checkpoint(run_dir / "last.pt")
    assert state["data"] == {"ffpp": {"index_sha256": file_sha256(root / "ffpp" / "index.csv"),
                                      "sources_sha256": "videos-of-monday"}}
    stamp = (run_dir / "last.pt").stat().st_mtime_ns
    assert train(cfg, progress=True) == run_dir  # the same crops: reused
    assert (run_dir / "last.pt").stat().st_mtime_ns == stamp
    assert "finished (1 epochs), skipped" in capsys.readouterr().out
    prepared("videos-of-tuesday")  # a replaced video, extracted again
    train(cfg, progress=True)
    assert ("demo-jdfd-ffpp-u00-s0: its training crops changed since it was trained (prepared "
            "again: ffpp); training again from scratch") in capsys.readouterr().out
    assert read_checkpoint(run_dir / "last.pt")["data"]["ffpp"]["sources_sha256"] == (
        "videos-of-tuesday")


def test_a_second_train_of_one_run_is_refused(trained) -> None:
    """Two processes training one run would overwrite each other's checkpoints: while one
    holds the run folder, another train of that run is refused in one line."""
    from jdfd_lib.core.locks import holding

    cfg, run_dir = trained
    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()}
    with holding(train_mod.lock_path(cfg), run_dir, "held by the test"):
        with pytest.raises(UserError, match=rf"{run_dir}: another train of this run is "
                                            r"writing in it; wait for it to finish"):
            train(cfg, progress=False, force=True)
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()} == before
    assert train(cfg, progress=False) == run_dir  # free again: finished, skipped


def test_stale_checkpoint_temp_files_are_removed_at_start(trained, capsys) -> None:
    cfg, run_dir = trained
    stale = [run_dir / ".best.pt-k3j_9x2a", run_dir / ".last.pt-0abcdefg"]  # mkstemp names
    for path in stale:
        path.write_bytes(b"\0" * 3 * 2**19)  # half-written checkpoints, 1.5 MiB each
    kept = [run_dir / n for n in ("best.pt", "last.pt", "metrics.csv", "config.json")]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept}
    assert train(cfg, progress=True) == run_dir  # finished: nothing else is done
    assert not any(p.exists() for p in stale)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept} == before
    assert "removed 2 unfinished checkpoint temp file(s) (3.0 MiB)" in capsys.readouterr().out


def test_resume_matches_an_uninterrupted_run(trained, faces, tmp_path, monkeypatch) -> None:
    cfg, run_dir = trained
    cfg2 = _cfg(faces, tmp_path)
    original = train_mod._save_epoch

    def crash_after_two(*args, **kwargs):
        original(*args, **kwargs)
        if args[5][-1]["epoch"] == 2:
            raise KeyboardInterrupt  # the job dies right after epoch 2 is saved

    monkeypatch.setattr(train_mod, "_save_epoch", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        train(cfg2, progress=False)
    monkeypatch.setattr(train_mod, "_save_epoch", original)
    with pytest.raises(FileExistsError, match=r"resume=True to continue it or force=True"):
        train(cfg2, progress=False)
    with cli_command("train"), pytest.raises(FileExistsError, match=r"--resume .* --force"):
        train(cfg2, progress=False)
    legacy = _legacy_copy(tmp_path / cfg2.run_name, tmp_path / "legacy" / cfg2.run_name)
    train(cfg2, resume=True, progress=False)
    # every checkpoint loads without unpickling Python objects (weights_only=True)
    a = torch.load(run_dir / "last.pt", weights_only=True)
    b = torch.load(tmp_path / cfg2.run_name / "last.pt", weights_only=True)
    assert a["model"].keys() == b["model"].keys()
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    log = pd.read_csv(tmp_path / cfg2.run_name / "metrics.csv")
    assert log["epoch"].tolist() == [1, 2, 3]  # no duplicated rows after the resume
    # a last.pt of an older jdfd_lib (tuple and numpy RNG states) resumes only on request
    cfg3 = _cfg(faces, legacy.parent)
    with pytest.raises(UserError, match=r"last\.pt: holds Python objects.*allow_pickle=True"):
        train(cfg3, resume=True, progress=False)
    train(cfg3, resume=True, progress=False, allow_pickle=True)
    c = torch.load(legacy / "last.pt", weights_only=True)  # rewritten in the safe format
    assert all(torch.equal(a["model"][k], c["model"][k]) for k in a["model"])


def test_resume_needs_no_imagenet_file(faces, tmp_path) -> None:
    """A resumed run takes every weight from last.pt: the ImageNet file may be gone."""
    import timm

    cfg = _cfg(faces, tmp_path / "runs", epochs=1)
    weights = tmp_path / "imagenet.pth"  # stands for the encoder's ImageNet file
    torch.save(timm.create_model(cfg.encoder, pretrained=False).state_dict(), weights)
    cfg = dataclasses.replace(cfg, pretrained_file=str(weights))
    train(cfg, progress=False)
    weights.unlink()  # offline, or the file moved
    run_dir = train(dataclasses.replace(cfg, epochs=2), resume=True, progress=False)
    assert torch.load(run_dir / "last.pt", weights_only=True)["epoch"] == 2


def _legacy_copy(run_dir: Path, to: Path) -> Path:
    """A copy of a run folder whose last.pt holds the RNG states as older jdfd_lib wrote
    them: python's ``random.getstate()`` tuple and numpy's ``get_state()`` (an ndarray)."""
    shutil.copytree(run_dir, to)
    state = torch.load(to / "last.pt", weights_only=True)
    py, np_state = state["rng"]["python"], state["rng"]["numpy"]
    state["rng"]["python"] = (py["version"], tuple(py["state"]), py["gauss"])
    state["rng"]["numpy"] = (np_state["name"], np_state["keys"].numpy(), np_state["pos"],
                             np_state["has_gauss"], np_state["cached_gaussian"])
    torch.save(state, to / "last.pt")
    return to


def test_load_checkpoint_refuses_mismatches(trained, tmp_path) -> None:
    cfg, run_dir = trained
    state = torch.load(run_dir / "best.pt", weights_only=True)
    state["config"]["classifier_hidden"] = [256]  # weights were trained with (512,)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"bad\.pt.*classifier\.0\.weight"):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"best\.pt.*detector"):
        load_checkpoint(run_dir / "best.pt",
                        expected=config_from_overrides("demo", detector="baseline"))
    other_paths = TrainConfig.from_dict({**cfg.to_dict(), "faces_root": "elsewhere"})
    model, _, _ = load_checkpoint(run_dir / "best.pt", expected=other_paths)
    assert not model.training


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--epochs", "two"),
                                         ("--unlabeled-ratio", "1.5"), ("--seed", "-1")])
def test_bad_counts_are_usage_errors_naming_the_flag(flag, value, capsys) -> None:
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--profile", "demo", "--train-dataset", "ffpp", flag, value])
    assert exit_info.value.code == 2
    assert f"argument {flag}: expected" in capsys.readouterr().err


def test_unlabeled_baseline_run_from_the_command_line(faces, tmp_path) -> None:
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    args = parser.parse_args([
        "--profile", "demo", "--train-dataset", "uadfv", "--faces-root", str(faces),
        "--detector", "baseline", "--unlabeled-ratio", "0.25", "--epochs", "1",
        "--out", str(tmp_path), "--no-progress", "--set", f"image_size={SIZE}",
        "--set", "max_frames_per_video=none", "--set", "decoder_channels=8,8,8"])
    assert train_cli.run(args) == 0
    run_dir = tmp_path / "demo-baseline-uadfv-u25-s0"
    log = pd.read_csv(run_dir / "metrics.csv")
    assert log["train_rec"].tolist() == [0.0]  # no decoder: the hidden images add nothing
    _, cfg, _ = load_checkpoint(run_dir / "best.pt")
    assert cfg.detector == "baseline" and cfg.unlabeled_ratio == 0.25


@pytest.mark.parametrize("dataset, test_may_share", [("celebdf", True), ("ffpp", False),
                                                      ("uadfv", False)])
def test_identity_rule_follows_the_dataset(dataset: str, test_may_share: bool) -> None:
    from jdfd_lib.training.data import check_disjoint

    def index(splits: dict[str, str]) -> pd.DataFrame:  # video -> split, all of identity "id0"
        return pd.DataFrame([dict(dataset=dataset, method="m", video=v, frame=0, label=0,
                                  split=s, identity="id0", path=f"{v}.png")
                             for v, s in splits.items()])

    # train and val never share an identity, for every dataset
    with pytest.raises(ValueError, match="identity"):
        check_disjoint(index({"a": "train", "b": "val"}), "x/index.csv")
    # Celeb-DF's official test list shares identities with its other videos; the rest do not
    shared_with_test = index({"a": "train", "b": "test"})
    if test_may_share:
        check_disjoint(shared_with_test, "x/index.csv")
    else:
        with pytest.raises(ValueError, match="identity"):
            check_disjoint(shared_with_test, "x/index.csv")


@pytest.mark.slow
def test_demo_profile_brings_the_loss_down_on_demo_crops(demo_faces, tmp_path) -> None:
    """The demo profile as run_all.sh trains it (encoder, batch, learning rates, 64 px), on
    real crops of the generated demo data, for a few seconds: the cross-entropy must fall
    clearly (a broken loss, optimiser or label path leaves it near ln 2 = 0.69)."""
    faces_root = demo_faces["ffpp"].parent
    cfg = config_from_overrides("demo", faces_root=str(faces_root), runs_dir=str(tmp_path),
                                epochs=5, samples_per_epoch=64, max_frames_per_video=None)
    log = pd.read_csv(train(cfg, progress=False) / "metrics.csv")
    assert log["train_ce"].iloc[-1] < 0.6 * log["train_ce"].iloc[0], log
    assert log["train_rec"].iloc[-1] < log["train_rec"].iloc[0], log


def test_samples_per_epoch_draws_whole_balanced_passes() -> None:
    labels = np.array([0] * 3 + [1] * 9)
    sampler = EpochSampler(labels, seed=0, balance=True, samples=40)
    order = np.array(list(sampler))
    assert len(order) == len(sampler) == 40
    first = order[:18]  # one balanced pass: every fake once, the 3 reals 3 times each
    assert sorted(np.bincount(first, minlength=12)[3:]) == [1] * 9
    assert np.bincount(first, minlength=12)[:3].tolist() == [3, 3, 3]
    sampler.set_epoch(1)
    assert list(sampler) != order.tolist()  # another order each epoch


@pytest.mark.slow  # a torchrun launch: a process that imports torch
def test_a_one_process_torchrun_launch_trains_under_ddp(faces, tmp_path) -> None:
    """Under torchrun, even with one process, the run joins a process group (gloo on the
    CPU) and trains under DistributedDataParallel: the code of a multi-GPU run, testable on
    one machine (the GPU check runs the same with NCCL, BENCHMARKS.md)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "1", "-m", "jdfd_lib", "train", "--profile", "demo", "--train-dataset", "ffpp",
           "--faces-root", str(faces), "--epochs", "1", "--out", str(tmp_path), "--no-progress",
           "--set", f"image_size={SIZE}", "--set", "max_frames_per_video=none",
           "--set", "decoder_channels=8,8,8", "--set", "num_threads=1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "demo-jdfd-ffpp-u00-s0: DistributedDataParallel over 1 process(es) (gloo)" in proc.stdout
    _, cfg, info = load_checkpoint(tmp_path / "demo-jdfd-ffpp-u00-s0" / "best.pt")
    assert info["epoch"] == 1 and cfg.train_dataset == "ffpp"


def test_a_diverging_run_stops_at_its_first_non_finite_loss(faces, tmp_path) -> None:
    cfg = _cfg(faces, tmp_path, lr_autoencoder=1e6, lr_classifier=1e6, epochs=2)
    with pytest.raises(UserError, match=rf"^{cfg.run_name}: training diverged: the loss is "
                                        r"(nan|inf) at epoch 1, step \d+ \(learning rates: "
                                        r"lr_autoencoder 1e\+06, lr_classifier 1e\+06\); lower"
                       ) as err:
        train(cfg, progress=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / cfg.run_name / "best.pt").exists()  # nothing kept of the epoch


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_set_refuses_numbers_that_are_not_finite(value: str) -> None:
    with pytest.raises(ValueError, match=rf"lr_autoencoder={value}.*not a finite number"):
        parse_assignment(f"lr_autoencoder={value}")
    with pytest.raises(ValueError, match="not a finite number"):
        parse_assignment(f"adam_betas=0.9,{value}")


@pytest.mark.parametrize("content, says", [(b"garbage\x00\xff\n", "not text"),
                                           (b'a,b\n"x,1\n', "not a CSV table"),
                                           (b"", "not a CSV table")])
def test_a_broken_index_is_named_in_one_line(tmp_path: Path, capsys, content: bytes,
                                             says: str) -> None:
    """The index is a file from the prepared folder: unreadable, it gives one line naming it
    and what was expected, not the decoder's message alone."""
    from jdfd_lib import cli

    (tmp_path / "faces" / "ffpp").mkdir(parents=True)
    (tmp_path / "faces" / "ffpp" / "index.csv").write_bytes(content)
    assert cli.main(["train", "--profile", "demo", "--train-dataset", "ffpp", "--faces-root",
                     str(tmp_path / "faces"), "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"jdfd train: error: {tmp_path / 'faces' / 'ffpp' / 'index.csv'}: "
                          f"{says}") and "expected the face index prepare writes" in err
