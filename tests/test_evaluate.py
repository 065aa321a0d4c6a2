"""Scoring and evaluation (paper Sec. 4.3): scores match the model, files match the metrics."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from jdfd_lib.core.errors import UserError, cli_command
from jdfd_lib.core.runinfo import file_sha256
from jdfd_lib.detectors.base import Detector
from jdfd_lib.evaluation import evaluate as ev
from jdfd_lib.evaluation import stats
from jdfd_lib.evaluation.results import load_results, result_paths
from jdfd_lib.evaluation.scoring import ScoreSettings, forward_batch, score_paths, to_tensor
from jdfd_lib.faces.index import index_path, write_index
from jdfd_lib.training.data import read_crop


class TinyJDFD(Detector):
    """A tiny detector honouring the contract: x (B, 3, s, s) -> logits (B, 2), recon, latent."""

    def __init__(self, size: int = 16, with_decoder: bool = True):
        super().__init__()
        torch.manual_seed(0)
        self.pretrained_cfg = {"mean": (0.5, 0.4, 0.3), "std": (0.25, 0.2, 0.3),
                               "input_size": (3, size, size)}
        self.reconstructs = with_decoder  # per instance: both kinds from one class
        self.enc = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)
        self.dec = nn.Conv2d(4, 3, 3, padding=1) if with_decoder else None

    def forward(self, x: torch.Tensor) -> dict:
        h = torch.relu(self.enc(x))  # (B, 4, s, s)
        z = h.mean(dim=(2, 3))  # (B, 4)
        return {"logits": self.head(z), "recon": self.dec(h) if self.dec else None, "latent": z}

    # training is not what these tests exercise
    from_config = loss = param_groups = None


def _tiny_index(root: Path, dataset: str = "ffpp", size: int = 20, frames: int = 3) -> pd.DataFrame:
    """Random crops of 2 real and 2 fake videos in val and test; FF++ fakes share an id."""
    rng = np.random.default_rng(0)
    videos = [("original", "000", 0), ("original", "001", 0), ("Deepfakes", "000_001", 1),
              ("Face2Face", "000_001", 1)]
    rows = []
    for split in ("val", "test"):
        for method, video, label in videos:
            for f in range(frames):
                rel = f"crops/{split}/{method}/{video}/{f:06d}.png"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / rel), rng.integers(0, 256, (size, size, 3), np.uint8))
                rows.append({"dataset": dataset, "method": method, "video": video,
                             "frame": 10 * f, "label": label, "split": split,
                             "identity": video, "path": rel})
    df = pd.DataFrame(rows)
    write_index(df, root)
    return df


def _cpu(batch_size: int = 3) -> ScoreSettings:
    return ScoreSettings(device=torch.device("cpu"), batch_size=batch_size)


def test_scores_are_the_models_softmax_in_file_order(tmp_path: Path) -> None:
    _tiny_index(tmp_path)
    frames = ev.split_frames(tmp_path, "ffpp", "test")
    model = TinyJDFD(size=16)  # crops are 20 px: resized to the model's 16 px input
    scored = score_paths(model, frames["abs_path"].tolist(), _cpu(batch_size=5))
    assert list(scored.columns) == ["score", "recon_error"] and len(scored) == len(frames) == 12
    x = torch.stack([to_tensor(read_crop(p), model) for p in frames["abs_path"]])
    with torch.no_grad():
        out = model(x)
    np.testing.assert_allclose(scored["score"], out["logits"].softmax(1)[:, 1], rtol=1e-5)
    mse = ((out["recon"] - x) ** 2).mean(dim=(1, 2, 3))
    np.testing.assert_allclose(scored["recon_error"], mse, rtol=1e-5)
    assert not model.training  # scored in eval mode


def test_input_is_normalised_with_the_models_mean_and_std() -> None:
    model = TinyJDFD(size=4)
    model.pretrained_cfg.update(mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    x = to_tensor(np.full((6, 6, 3), 255, np.uint8), model)  # 6 px resized to the 4 px input
    assert x.shape == (3, 4, 4)
    np.testing.assert_allclose(x[:, 0, 0], [2.0, 1.0, 0.5])


def test_baseline_without_decoder_has_no_recon_error(tmp_path: Path) -> None:
    _tiny_index(tmp_path)
    frames = ev.split_frames(tmp_path, "ffpp", "val")
    scored = score_paths(TinyJDFD(with_decoder=False), frames["abs_path"].tolist(), _cpu())
    assert list(scored.columns) == ["score"]
    out = forward_batch(TinyJDFD(with_decoder=False).eval(), torch.zeros(2, 3, 16, 16), _cpu())
    assert out["recon"] is None and out["score"].shape == (2,)


def test_missing_crops_are_refused_naming_the_index(tmp_path: Path) -> None:
    df = _tiny_index(tmp_path)
    (tmp_path / df[df["split"] == "test"]["path"].iloc[4]).unlink()
    with pytest.raises(FileNotFoundError, match=r"index\.csv: 1 of 12 test crops are missing"):
        ev.split_frames(tmp_path, "ffpp", "test")
    ev.split_frames(tmp_path, "ffpp", "val")  # the other split is intact


def test_wrong_dataset_empty_split_and_bad_split_are_refused(tmp_path: Path) -> None:
    _tiny_index(tmp_path)
    with pytest.raises(ValueError, match="expected only dataset 'uadfv'"):
        ev.split_frames(tmp_path, "uadfv", "test")
    with pytest.raises(ValueError, match="no frames in split 'train'"):
        ev.split_frames(tmp_path, "ffpp", "train")
    with pytest.raises(ValueError, match="split must be one of"):
        ev.evaluate(tmp_path / "x.pt", tmp_path, ["ffpp"], tmp_path / "out", split="train")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        ev.evaluate(tmp_path / "x.pt", tmp_path, ["ffpp"], tmp_path / "out")


def test_result_file_names_follow_the_run_name(tmp_path: Path) -> None:
    paths = result_paths(tmp_path, "demo-jdfd-ffpp-u00-s0", "uadfv")
    assert paths["json"].name == "demo-jdfd-ffpp-u00-s0__uadfv.json"
    assert paths["scores"].name == "demo-jdfd-ffpp-u00-s0__uadfv_scores.csv"
    assert paths["roc"].name == "demo-jdfd-ffpp-u00-s0__uadfv_roc.csv"
    assert result_paths(tmp_path, "r", "uadfv", "val")["json"].name == "r__uadfv__val.json"


# --- end to end with a real (untrained, tiny) JDFD checkpoint -------------------------------

def _checkpoint(path: Path, detector: str = "jdfd", weights_detector: str | None = None) -> Path:
    """A checkpoint as train.py writes it: model weights, resolved config, epoch."""
    from jdfd_lib.core.config import config_from_overrides
    from jdfd_lib.detectors.registry import create_detector
    from jdfd_lib.training.checkpoint import save_checkpoint

    cfg = config_from_overrides("demo", detector=detector, image_size=32,
                                decoder_channels=(32, 16, 8), classifier_hidden=(16,))
    weights_cfg = config_from_overrides(
        **{**cfg.to_dict(), "detector": weights_detector or detector})
    torch.manual_seed(0)
    model = create_detector(weights_cfg)
    return save_checkpoint({"model": model.state_dict(), "config": cfg.to_dict(), "epoch": 1},
                           path)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("run") / "best.pt")


def test_evaluate_writes_files_whose_metrics_match_sklearn(tmp_path: Path, tiny_ckpt: Path,
                                                           capsys) -> None:
    _tiny_index(tmp_path / "faces" / "ffpp")
    out = tmp_path / "metrics"
    res = ev.evaluate(tiny_ckpt, tmp_path / "faces", ["ffpp"], out)
    rec = json.loads((out / "demo-jdfd-ffpp-u00-s0__ffpp.json").read_text())
    assert rec == json.loads(json.dumps(res["ffpp"]))
    scores = pd.read_csv(out / "demo-jdfd-ffpp-u00-s0__ffpp_scores.csv", dtype={"video": str})
    assert list(scores.columns) == ["dataset", "method", "video", "frame", "label", "score",
                                    "recon_error"]
    assert len(scores) == 12 and scores["score"].between(0, 1).all()
    m = rec["metrics"]
    assert m["frame_auc"] == pytest.approx(roc_auc_score(scores["label"], scores["score"]))
    vid = scores.groupby(["method", "video"]).agg(label=("label", "first"), s=("score", "mean"))
    assert len(vid) == m["n_videos"] == 4  # the FF++ id 000_001 counts once per method
    assert m["video_auc"] == pytest.approx(roc_auc_score(vid["label"], vid["s"]))
    roc = pd.read_csv(out / "demo-jdfd-ffpp-u00-s0__ffpp_roc.csv")
    assert list(roc.columns) == ["fpr", "tpr", "threshold"]
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(m["frame_auc"])
    assert rec["checkpoint_sha256"] == file_sha256(tiny_ckpt)
    assert rec["index_sha256"] == file_sha256(index_path(tmp_path / "faces" / "ffpp"))
    assert rec["split"] == "test" and rec["config"]["image_size"] == 32
    assert {"torch", "timm", "numpy", "sklearn", "dlib", "cv2", "python"} <= set(rec["versions"])
    ci = rec["intervals"]  # bootstrap over the 4 test videos, stratified by class
    assert ci == stats.bootstrap_interval(scores)
    assert ci["n_boot"] == 1000 and ci["level"] == 0.95
    assert 0 <= ci["frame_auc"][0] <= ci["frame_auc"][1] <= 1
    table = load_results(out)
    assert table.loc[0, "run_name"] == "demo-jdfd-ffpp-u00-s0"
    assert table.loc[0, "frame_auc_lo"] == ci["frame_auc"][0]
    assert table.loc[0, "video_auc_hi"] == ci["video_auc"][1]
    assert table.loc[0, "frame_auc"] == pytest.approx(m["frame_auc"])
    assert table.loc[0, "n_frames"] == 12 and table.loc[0, "detector"] == "jdfd"


def test_finished_results_are_skipped_unless_stale_or_forced(tmp_path: Path, tiny_ckpt: Path,
                                                             capsys) -> None:
    _tiny_index(tmp_path / "ffpp")
    out = tmp_path / "metrics"
    json_file = out / "demo-jdfd-ffpp-u00-s0__ffpp.json"
    ev.evaluate(tiny_ckpt, {"ffpp": tmp_path / "ffpp"}, ["ffpp"], out)
    first = json_file.read_text()
    capsys.readouterr()
    ev.evaluate(tiny_ckpt, {"ffpp": tmp_path / "ffpp"}, ["ffpp"], out)
    assert "up to date, skipped" in capsys.readouterr().out
    assert json_file.read_text() == first  # not rewritten (its time stamp would differ)
    ev.evaluate(tiny_ckpt, {"ffpp": tmp_path / "ffpp"}, ["ffpp"], out, force=True)
    assert f"{json_file.name}: stale (--force); scoring again" in capsys.readouterr().out
    other = _checkpoint(tmp_path / "other.pt")  # same run name, new weights file
    torch.save({**torch.load(other, weights_only=True), "epoch": 2}, other)
    ev.evaluate(other, {"ffpp": tmp_path / "ffpp"}, ["ffpp"], out)
    said = capsys.readouterr().out  # which result is recomputed, and why, before it is
    old, new = file_sha256(tiny_ckpt)[:12], file_sha256(other)[:12]
    assert f"{json_file.name}: stale (the checkpoint changed ({old} -> {new}))" in said
    assert json.loads(json_file.read_text())["checkpoint_sha256"] == file_sha256(other)
    json_file.with_name(json_file.stem + "_roc.csv").unlink()
    ev.evaluate(other, {"ffpp": tmp_path / "ffpp"}, ["ffpp"], out)
    assert "stale (incomplete (" in capsys.readouterr().out


def test_a_checkpoint_whose_weights_do_not_fit_its_config_is_refused(tmp_path: Path) -> None:
    _tiny_index(tmp_path / "ffpp")
    bad = _checkpoint(tmp_path / "bad.pt", detector="jdfd", weights_detector="baseline")
    with pytest.raises(ValueError, match="weights do not match the model built from its config"):
        ev.evaluate(bad, tmp_path, ["ffpp"], tmp_path / "metrics")
    assert not (tmp_path / "metrics").exists()


def test_cli_prints_the_metrics(tmp_path: Path, tiny_ckpt: Path, capsys) -> None:
    _tiny_index(tmp_path / "faces" / "ffpp")
    parser = argparse.ArgumentParser()
    ev.add_arguments(parser)
    args = parser.parse_args(["--checkpoint", str(tiny_ckpt), "--faces-root",
                              str(tmp_path / "faces"), "--test-datasets", "ffpp", "--out",
                              str(tmp_path / "m"), "--split", "val", "--batch-size", "5"])
    assert ev.run(args) == 0
    assert "frame AUC" in capsys.readouterr().out
    assert (tmp_path / "m" / "demo-jdfd-ffpp-u00-s0__ffpp__val.json").is_file()
    assert load_results(tmp_path / "m").empty  # only "test" rows by default
    assert len(load_results(tmp_path / "m", split="val")) == 1


@pytest.mark.parametrize("flag, value", [("--batch-size", "-1"), ("--batch-size", "0"),
                                         ("--num-workers", "-1")])
def test_bad_batch_size_or_workers_are_usage_errors(flag: str, value: str, capsys) -> None:
    parser = argparse.ArgumentParser()
    ev.add_arguments(parser)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--checkpoint", "best.pt", "--faces-root", "faces", "--test-datasets",
                           "ffpp", "--out", "m", flag, value])
    assert exit_info.value.code == 2
    assert f"argument {flag}: expected" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": -1}, "batch_size must be a positive number, got -1"),
    ({"batch_size": 0}, "batch_size must be a positive number, got 0"),
    ({"num_workers": -1}, "num_workers must be 0 or more, got -1")])
def test_bad_batch_size_or_workers_are_refused_before_the_model_loads(
        kwargs: dict, message: str, tmp_path: Path, tiny_ckpt: Path, monkeypatch) -> None:
    def no_loading(*args, **kw):
        raise AssertionError("the checkpoint was loaded before the arguments were checked")

    monkeypatch.setattr(ev, "load_checkpoint", no_loading)
    with pytest.raises(UserError, match=f"^{message}$"):
        ev.evaluate(tiny_ckpt, tmp_path, ["ffpp"], tmp_path / "m", **kwargs)
    flag = "--" + next(iter(kwargs)).replace("_", "-")
    with cli_command("evaluate"), pytest.raises(UserError, match=f"^{flag} must be"):
        ev.evaluate(tiny_ckpt, tmp_path, ["ffpp"], tmp_path / "m", **kwargs)


def test_a_legacy_checkpoint_is_scored_only_with_allow_pickle(tmp_path: Path,
                                                            tiny_ckpt: Path) -> None:
    _tiny_index(tmp_path / "ffpp")
    legacy = tmp_path / "legacy.pt"  # as older jdfd_lib wrote: numpy RNG state inside
    state = torch.load(tiny_ckpt, weights_only=True)
    torch.save({**state, "rng": {"numpy": np.random.get_state()}}, legacy)
    with pytest.raises(UserError, match=r"legacy\.pt: holds Python objects.*allow_pickle=True"):
        ev.evaluate(legacy, tmp_path, ["ffpp"], tmp_path / "m")
    assert not (tmp_path / "m").exists()
    res = ev.evaluate(legacy, tmp_path, ["ffpp"], tmp_path / "m", allow_pickle=True)
    assert res["ffpp"]["metrics"]["n_frames"] == 12


def test_crops_smaller_than_the_input_are_named_and_their_size_recorded(
        tmp_path: Path, tiny_ckpt: Path) -> None:
    _tiny_index(tmp_path / "small" / "ffpp", size=16)
    with pytest.warns(UserWarning, match=r"index.csv: its crops are 16 px and the model reads "
                                         r"32 px: they are upscaled 2.0x.*--size 32"):
        res = ev.evaluate(tiny_ckpt, tmp_path / "small", ["ffpp"], tmp_path / "m1")
    assert res["ffpp"]["index"]["crop_size"] == 16
    _tiny_index(tmp_path / "fit" / "ffpp", size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # crops at the input size: nothing to say
        res = ev.evaluate(tiny_ckpt, tmp_path / "fit", ["ffpp"], tmp_path / "m2")
    assert res["ffpp"]["index"]["crop_size"] == 32
