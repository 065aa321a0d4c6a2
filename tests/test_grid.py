"""The experiment grid (notebooks 03-06): run configs, parallel trainings, their results."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.core.errors import UserError
from jdfd_lib.experiments import grid, tasks
from jdfd_lib.training.checkpoint import read_checkpoint

SIZE = 32


def test_grid_jobs_explicit_env_and_default(monkeypatch) -> None:
    monkeypatch.delenv(tasks.JOBS_ENV, raising=False)
    assert tasks.grid_jobs(3) == 3
    assert tasks.grid_jobs(None, "cpu", cpus=2) == 2
    assert tasks.grid_jobs(None, "cpu", cpus=16) == 2  # more processes do not pay at demo size
    assert tasks.grid_jobs(None, "cpu", cpus=1) == 1
    per_gpu = tasks.CUDA_JOBS_PER_GPU  # batch-4 runs packed on one GPU (BENCHMARKS.md)
    assert tasks.grid_jobs(None, "cuda", cpus=16, gpus=1) == per_gpu
    assert tasks.grid_jobs(None, "cuda:1", cpus=16, gpus=1) == per_gpu
    assert tasks.grid_jobs(None, "cuda", cpus=16, gpus=2) == 2 * per_gpu
    monkeypatch.setenv(tasks.JOBS_ENV, "1")
    assert tasks.grid_jobs(None, "cpu", cpus=2) == 1
    assert tasks.grid_jobs(2, "cpu", cpus=2) == 2  # the caller's choice wins over the variable


@pytest.mark.parametrize("bad", ["0", "two", "-1", "1.5"])
def test_grid_jobs_refuses_a_bad_variable(monkeypatch, bad: str) -> None:
    monkeypatch.setenv(tasks.JOBS_ENV, bad)
    with pytest.raises(UserError, match=rf"JDFD_JOBS='{bad}'.*positive integer"):
        tasks.grid_jobs(None)


@pytest.mark.parametrize("bad", [0, -2, True, 1.0])
def test_grid_jobs_refuses_a_bad_argument(bad) -> None:
    with pytest.raises(UserError, match="jobs: expected a positive integer"):
        tasks.grid_jobs(bad)


def test_grid_configs_are_seed_major(tmp_path: Path) -> None:
    paths = grid.Paths(faces=tmp_path / "f", runs=tmp_path / "r", results=tmp_path / "res")
    cfgs = grid.grid_configs("demo", paths, ["ffpp", "uadfv"], ["jdfd", "lae"], [0.0], [0, 1])
    names = [c.run_name for c in cfgs]
    assert names[:4] == ["demo-jdfd-ffpp-u00-s0", "demo-lae-ffpp-u00-s0",
                         "demo-jdfd-uadfv-u00-s0", "demo-lae-uadfv-u00-s0"]
    assert all(n.endswith("-s1") for n in names[4:]) and len(set(names)) == 8
    assert {c.runs_dir for c in cfgs} == {str(tmp_path / "r")}
    with pytest.raises(ValueError, match="seeds must be a non-empty sequence"):
        grid.grid_configs("demo", paths, ["ffpp"], ["jdfd"], [0.0], [])


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory, synthetic_faces) -> Path:
    root = tmp_path_factory.mktemp("faces")
    synthetic_faces(root / "ffpp", "ffpp", seed=0)
    return root


def _cfg(faces: Path, out: Path, detector: str, seed: int):
    return config_from_overrides(
        "demo", detector=detector, seed=seed, train_dataset="ffpp", image_size=SIZE,
        decoder_channels=(16, 8, 8), epochs=1, samples_per_epoch=None,
        max_frames_per_video=None, stop_at_val_auc=None, faces_root=str(faces),
        runs_dir=str(out))


@pytest.mark.slow  # spawns two worker processes that import torch
def test_parallel_runs_equal_the_same_runs_in_this_process(faces: Path, tmp_path: Path) -> None:
    """Two runs trained at once in worker processes (1 thread each), each worker on its own
    device slot (two CPU slots stand in for a GPU's), hold the same weights, configs and metric
    files as the same runs trained here with 1 thread: packing changes the wall time, not the
    results."""
    cfgs = [_cfg(faces, tmp_path / "par", "jdfd", 0), _cfg(faces, tmp_path / "par", "baseline", 1)]
    assert {c.device for c in cfgs} == {"auto"}
    tasks.run_parallel(cfgs, 2, {"ffpp": faces / "ffpp"}, ["ffpp"], tmp_path / "par_metrics",
                       devices=["cpu", "cpu"])
    for cfg in cfgs:
        run = Path(cfg.runs_dir) / cfg.run_name
        saved = json.loads((run / "config.json").read_text())
        assert (saved["num_threads"], saved["device"]) == (1, "cpu")  # the worker's slot
        assert (tmp_path / "par_metrics" / f"{cfg.run_name}__ffpp.json").is_file()
        alone = replace(cfg, runs_dir=str(tmp_path / "seq"), num_threads=1)
        grid.train_and_evaluate(alone, {"ffpp": faces / "ffpp"}, ["ffpp"],
                                tmp_path / "seq_metrics", progress=False)
        a = read_checkpoint(run / "best.pt")["model"]
        b = read_checkpoint(tmp_path / "seq" / cfg.run_name / "best.pt")["model"]
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), cfg.run_name
        scores = [json.loads((tmp_path / m / f"{cfg.run_name}__ffpp.json").read_text())
                  ["metrics"]["frame_auc"] for m in ("par_metrics", "seq_metrics")]
        assert scores[0] == scores[1]


@pytest.mark.slow  # spawns worker processes that import torch
def test_a_failing_run_stops_the_grid_with_its_error(faces: Path, tmp_path: Path) -> None:
    bad = replace(_cfg(faces, tmp_path / "runs", "jdfd", 0),
                       faces_root=str(tmp_path / "absent"))
    with pytest.raises(Exception, match="absent"):
        tasks.run_parallel([bad, bad], 2, {"ffpp": faces / "ffpp"}, ["ffpp"], tmp_path / "m")


def test_worker_slots_spread_the_workers_over_the_devices() -> None:
    assert tasks.worker_slots(4, ["cuda:0"]) == ["cuda:0"] * 4
    assert tasks.worker_slots(5, ["cuda:0", "cuda:1"]) == ["cuda:0", "cuda:1"] * 2 + ["cuda:0"]
    with pytest.raises(ValueError, match="no device"):
        tasks.worker_slots(2, [])


def test_packed_runs_share_the_cores_and_change_runtime_fields_only(tmp_path: Path) -> None:
    from jdfd_lib.core.config import RUNTIME_FIELDS

    paper = config_from_overrides("paper", faces_root=str(tmp_path))  # 4 loader workers
    packed = tasks.packed_configs([paper, paper], jobs=4, cpus=16)
    assert [(c.num_threads, c.num_workers) for c in packed] == [(4, 4), (4, 4)]
    packed8 = tasks.packed_configs([paper], jobs=8, cpus=16)[0]
    assert (packed8.num_threads, packed8.num_workers) == (2, 2)
    demo = config_from_overrides("demo")  # loads in the main process: never given workers
    assert tasks.packed_configs([demo], jobs=2, cpus=2)[0].num_workers == 0
    changed = {k for k, v in packed8.to_dict().items() if paper.to_dict()[k] != v}
    assert changed and changed <= set(RUNTIME_FIELDS)


def test_a_grid_evaluates_with_a_larger_batch_on_cuda_only(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert tasks.eval_batch_size("auto") is None and tasks.eval_batch_size("cpu") is None
    assert tasks.eval_batch_size("cuda:0") == tasks.CUDA_EVAL_BATCH == 64
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert tasks.eval_batch_size("auto") == 64
