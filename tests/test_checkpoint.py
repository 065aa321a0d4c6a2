"""Checkpoints: loading never runs code from the file; damaged, foreign and older files are
refused naming the file; RNG states survive the safe format exactly; stale temp files."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from jdfd_lib.core import paths
from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.core.errors import UserError
from jdfd_lib.detectors.registry import create_detector
from jdfd_lib.training.checkpoint import (
    load_checkpoint,
    read_checkpoint,
    remove_stale_temp_files,
    restore_rng_states,
    rng_states,
    save_checkpoint,
    stale_temp_files,
)

EXPECTED = r"expected best\.pt or last\.pt written by `python -m jdfd_lib train`"


class Evil:
    """Unpickling this runs ``touch <marker>``: what a hostile ``best.pt`` would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + str(self.marker),))


@pytest.fixture
def evil(tmp_path: Path) -> tuple[Path, Path]:
    """(malicious checkpoint, the marker file its payload would create)."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": Evil(marker), "config": {}, "epoch": 1}, path)
    return path, marker


def _state(legacy_rng: bool = False) -> dict:
    """A checkpoint as train.py writes it (tiny demo model); RNG states as older jdfd_lib
    stored them (python tuple, numpy ndarray) if ``legacy_rng``."""
    cfg = config_from_overrides("demo", image_size=32, decoder_channels=(32, 16, 8),
                                classifier_hidden=(16,))
    torch.manual_seed(0)
    rng = ({"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()} if legacy_rng else rng_states())
    return {"model": create_detector(cfg).state_dict(), "config": cfg.to_dict(), "epoch": 1,
            "rng": rng, "history": [{"epoch": 1, "val_auc": float("nan")}]}


@pytest.fixture(scope="module")
def real_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_checkpoint(_state(), tmp_path_factory.mktemp("run") / "best.pt")


# --- malicious files -------------------------------------------------------------------------

def test_a_malicious_checkpoint_is_refused_without_running_its_code(evil) -> None:
    path, marker = evil
    for load in (read_checkpoint, load_checkpoint):
        with pytest.raises(UserError) as info:
            load(path)
        assert not marker.exists()
        message = str(info.value)
        assert message.startswith(f"{path}: holds Python objects")
        assert "arbitrary code" in message and "allow_pickle=True" in message
    # the payload is live: the unsafe opt-in unpickles it in full and runs it
    read_checkpoint(path, allow_pickle=True)
    assert marker.exists()


def _jdfd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jdfd_lib", *map(str, args)],
                          capture_output=True, text=True, cwd=paths.project_root(),
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)


@pytest.mark.parametrize("command", ["evaluate", "detect", "train"])
def test_no_command_runs_code_from_a_malicious_checkpoint(command, evil, demo_root, demo_faces,
                                                          tmp_path) -> None:
    path, marker = evil
    faces_root = demo_faces["uadfv"].parent
    if command == "evaluate":
        args = ["--checkpoint", path, "--faces-root", faces_root, "--test-datasets", "uadfv",
                "--out", tmp_path / "metrics"]
    elif command == "detect":
        video = sorted((demo_root / "UADFV" / "real").glob("*.mp4"))[0]
        args = [video, "--checkpoint", path]
    else:  # the hostile file waits in a run folder as its last.pt
        run_name = config_from_overrides("demo", train_dataset="uadfv").run_name
        last = tmp_path / "runs" / run_name / "last.pt"
        last.parent.mkdir(parents=True)
        path = path.replace(last)
        args = ["--profile", "demo", "--train-dataset", "uadfv", "--faces-root", faces_root,
                "--out", tmp_path / "runs", "--resume", "--no-progress"]
    done = _jdfd(command, *args)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"jdfd {command}: error: {path}: holds Python objects")
    assert "--unsafe-allow-pickle" in last_line and "arbitrary code" in last_line
    assert not marker.exists()


# --- checkpoints of older jdfd_lib versions --------------------------------------------------

def test_a_legacy_checkpoint_loads_only_with_allow_pickle(tmp_path) -> None:
    state = _state(legacy_rng=True)
    path = tmp_path / "last.pt"
    torch.save(state, path)
    with pytest.raises(UserError, match=r"last\.pt: holds Python objects.*older jdfd_lib.*"
                                        r"allow_pickle=True"):
        read_checkpoint(path)
    model, cfg, info = load_checkpoint(path, allow_pickle=True)
    assert cfg.image_size == 32 and info["epoch"] == 1
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state["model"].items())
    # its tuple RNG states still restore (a resume of an old run, see test_train)
    restore_rng_states(read_checkpoint(path, allow_pickle=True)["rng"])
    random.random(), np.random.random()  # move away from the saved states
    restore_rng_states(state["rng"])
    assert (random.getstate(), np.random.get_state()[2]) == (state["rng"]["python"],
                                                              state["rng"]["numpy"][2])


def test_rng_states_survive_a_weights_only_file_exactly(tmp_path) -> None:
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    random.gauss(0, 1), np.random.standard_normal()  # both now cache a second gaussian
    save_checkpoint({"rng": rng_states()}, tmp_path / "rng.pt")

    def draws() -> list:
        return [random.random(), random.gauss(0, 1), np.random.standard_normal(),
                np.random.random(3).tolist(), torch.rand(3).tolist()]

    expected = draws()
    restore_rng_states(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    assert draws() == expected


# --- damaged and foreign files ---------------------------------------------------------------

def _zero(path: Path, real: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path, real: Path) -> None:
    data = real.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _text(path: Path, real: Path) -> None:
    path.write_text("epoch,val_auc\n1,0.93\n")


def _plain_zip(path: Path, real: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")


@pytest.mark.parametrize("write, reason", [
    (_zero, "empty file"), (_truncated, "truncated or corrupt"),
    (_text, "not a torch.save file"), (_plain_zip, "a zip archive, but not a torch.save file")])
def test_a_damaged_file_is_refused_naming_it(write, reason, real_ckpt, tmp_path) -> None:
    path = tmp_path / "best.pt"
    write(path, real_ckpt)
    for allow_pickle in (False, True):  # same diagnosis whichever way it is read
        with pytest.raises(UserError) as info:
            read_checkpoint(path, allow_pickle=allow_pickle)
        assert str(info.value).startswith(
            f"{path}: not a readable PyTorch checkpoint ({reason}); expected best.pt or last.pt")


@pytest.mark.parametrize("content, what", [
    ([1, 2], r"it holds an object of type list, not a dict"),
    ({"model": {}, "epoch": 1}, r"missing \['config'\]")])
def test_a_torch_file_that_is_no_jdfd_checkpoint_is_refused(content, what, tmp_path) -> None:
    path = tmp_path / "other.pt"
    torch.save(content, path)
    with pytest.raises(UserError, match=rf"other\.pt: not a jdfd training checkpoint "
                                        rf"\({what}\); {EXPECTED}"):
        read_checkpoint(path)


@pytest.mark.slow  # python -m jdfd_lib evaluate in a subprocess
def test_a_damaged_checkpoint_is_one_line_from_the_command_line(tmp_path) -> None:
    empty = tmp_path / "best.pt"
    empty.write_bytes(b"")
    done = _jdfd("evaluate", "--checkpoint", empty, "--faces-root", tmp_path,
                 "--test-datasets", "uadfv", "--out", tmp_path / "metrics")
    assert done.returncode == 1
    assert done.stderr == (f"jdfd evaluate: error: {empty}: not a readable PyTorch checkpoint "
                           "(empty file); expected best.pt or last.pt written by "
                           "`python -m jdfd_lib train`\n")


def test_a_real_checkpoint_loads_without_pickle(real_ckpt) -> None:
    state = read_checkpoint(real_ckpt)  # weights_only=True
    assert state["epoch"] == 1 and set(state["rng"]) >= {"python", "numpy", "torch"}
    model, cfg, _ = load_checkpoint(real_ckpt)
    assert not model.training and cfg.encoder == "resnet10t"


# --- temp files of interrupted saves ---------------------------------------------------------

def test_only_temp_files_of_save_checkpoint_are_stale(tmp_path) -> None:
    stale = [".best.pt-a1b2_c3d", ".last.pt-zz9y8x7w"]
    kept = ["best.pt", "last.pt", ".metrics.csv.tmp", ".best.pt-", ".other.pt-abc12345",
            "x.best.pt-abc12345", ".last.pt-ABCDEFGH"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"12345")
    (tmp_path / ".best.pt-dir00000").mkdir()  # not a file: left alone
    assert [p.name for p in stale_temp_files(tmp_path)] == sorted(stale)
    assert remove_stale_temp_files(tmp_path) == (2, 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + [".best.pt-dir00000"])
    assert remove_stale_temp_files(tmp_path / "absent") == (0, 0)


@pytest.mark.slow  # a subprocess importing torch
def test_a_save_killed_mid_write_leaves_a_temp_file_that_is_found(tmp_path) -> None:
    # the process dies inside torch.save, as under kill -9: no finally block runs
    code = ("import os, sys, torch\n"
            "from jdfd_lib.training.checkpoint import save_checkpoint\n"
            "def dying_save(state, f):\n"
            "    open(f, 'wb').write(b'PK half a checkpoint')\n"
            "    os._exit(9)\n"
            "torch.save = dying_save\n"
            "save_checkpoint({'epoch': 1}, sys.argv[1])\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "last.pt")],
                          cwd=paths.project_root(), capture_output=True, timeout=120)
    assert done.returncode == 9, done.stderr
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".last.pt-")
    assert [p.name for p in stale_temp_files(tmp_path)] == left
    assert remove_stale_temp_files(tmp_path) == (1, len(b"PK half a checkpoint"))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("field, value", [("train_dataset", "../../../../tmp/escaped"),
                                          ("detector", "../x"), ("train_dataset", "a/b"),
                                          ("unlabeled_datasets", ["ffpp", "../up"]),
                                          # the other parts of the run name, by their type
                                          ("seed", "0/../../../../tmp/escaped"),
                                          ("train_images", "2/../../x"),
                                          ("profile", "../demo")])
def test_a_crafted_config_never_names_a_path(tmp_path: Path, monkeypatch, field: str,
                                              value) -> None:
    """A best.pt whose config makes the run name a path (``evaluate --out A/B/C/metrics``
    would have written ``A/B/tmp/escaped-...``) is refused on load, naming the file."""
    from jdfd_lib import cli

    cfg = config_from_overrides("demo", decoder_channels=(32, 16, 8, 8), classifier_hidden=(16,))
    state = {"model": create_detector(cfg).state_dict(),
             "config": {**cfg.to_dict(), field: value}, "epoch": 1}
    ckpt = save_checkpoint(state, tmp_path / "stranger" / "best.pt")
    work = tmp_path / "work"
    (work / "A" / "B" / "C").mkdir(parents=True)
    monkeypatch.chdir(work)
    assert cli.main(["evaluate", "--checkpoint", str(ckpt), "--faces-root", "faces",
                     "--test-datasets", "uadfv", "--out", "A/B/C/metrics"]) == 1
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file()) == ["stranger/best.pt"]
    with pytest.raises(ValueError, match=rf"{ckpt}: the saved config is not a valid "
                                         r"TrainConfig .*must be (dataset keys|a dataset key|"
                                         r"a registered detector's name|int|one of)"):
        load_checkpoint(ckpt)


def test_result_files_are_never_named_by_a_path(tmp_path: Path) -> None:
    from jdfd_lib.evaluation.results import result_paths

    assert result_paths(tmp_path, "demo-jdfd-ffpp-u00-s0", "uadfv")["json"].parent == tmp_path
    for run, test in (("../../x", "uadfv"), ("run", "../y"), ("..", "")):
        with pytest.raises(ValueError, match="refusing to write result files named"):
            result_paths(tmp_path, run, test)
