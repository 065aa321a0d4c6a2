"""End-to-end training of any registered detector (paper Sec. 4.2); the command line
``python -m jdfd_lib train`` is :mod:`jdfd_lib.training.train_cli`.

The recipe is the config's (``--detector``, the profile, the detector's own profile, ``--set``);
for JDFD and its baseline the paper's: SGD with two parameter groups (autoencoder lr 0.005,
classifier lr 0.0004 in the paper), StepLR(step 5, factor 0.8) stepped once per epoch, batch 4,
loss Eq. (3) with the masked cross-entropy of :mod:`jdfd_lib.detectors.losses`. The model kept
as ``best.pt`` is chosen on the validation split's frame AUC only (never a test split);
``last.pt`` allows ``--resume`` to end exactly where an uninterrupted run would. CPU runs are
deterministic (seeds, deterministic algorithms, fixed thread count, per-epoch seeded samplers
and loader generators); CUDA runs use bf16 autocast, channels_last and pinned-memory loaders;
under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel and rank
0 alone validates, logs and saves.

Checkpoints hold only tensors and plain values and are read with ``weights_only=True``
(:mod:`jdfd_lib.training.checkpoint`); ``--unsafe-allow-pickle`` reads a ``last.pt`` of an older
jdfd_lib in full, which runs any code the file holds. A run killed while writing a checkpoint
leaves a temp file (``.last.pt-XXXXXXXX``), removed when training starts on that folder again.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from jdfd_lib.core.atomic import write_csv
from jdfd_lib.core.config import TrainConfig
from jdfd_lib.core.errors import UserError, option
from jdfd_lib.core.locks import holding
from jdfd_lib.core.runinfo import MODEL_LIBRARIES, library_versions
from jdfd_lib.datasets.registry import list_datasets
from jdfd_lib.detectors.base import Detector
from jdfd_lib.detectors.registry import (
    create_detector,
    detector_class,
)
from jdfd_lib.training.checkpoint import (
    config_differences,
    read_checkpoint,
    remove_stale_temp_files,
    restore_rng_states,
    rng_states,
    save_checkpoint,
    saved_config,
    without_imagenet,
)
from jdfd_lib.training.compiled import TrainingForward
from jdfd_lib.training.data import changed_data, data_read
from jdfd_lib.training.loop import (
    make_loaders,
    make_optimizer,
    make_scheduler,
    train_one_epoch,
    validate,
)
from jdfd_lib.training.runtime import Runtime, seed_everything, setup_runtime
from jdfd_lib.training.targets import budget_after_round, select_round


def _write_metrics(rows: list[dict], path: Path) -> None:
    write_csv(pd.DataFrame(rows), path)


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional; metrics.csv always has the same numbers
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


LOCKS_DIR = ".locks"  # in runs_dir: <run name>.lock, held while a train writes that run


def lock_path(cfg: TrainConfig) -> Path:
    """The lock file of a run (:mod:`jdfd_lib.core.locks`): beside the run folders, so that
    a start refused later (a missing index, say) leaves no empty run folder behind."""
    return Path(cfg.runs_dir) / LOCKS_DIR / f"{cfg.run_name}.lock"


def _existing_run(cfg: TrainConfig, last: Path, resume: bool,
                  allow_pickle: bool = False) -> dict | None:
    """The last checkpoint's state if the run can continue or is done, else None.

    Raises:
        UserError: ``last`` is unreadable or unsafe (:func:`read_checkpoint`), or the saved run
            has another config.
        FileExistsError: an unfinished run exists and neither resume nor force was asked.
    """
    state = read_checkpoint(last, allow_pickle=allow_pickle)
    diff = config_differences(saved_config(state, last), cfg)
    if resume:
        diff.pop("epochs", None)  # a resumed run may be extended to more epochs
    force = option("force=True", "--force")
    if diff:
        raise UserError(f"{last}: the saved run has another config ({diff}); use another "
                        f"{option('runs_dir', '--runs-dir')} or {force} to retrain from scratch")
    if _finished(state, cfg):
        return state
    if not resume:
        raise FileExistsError(f"{last}: unfinished run (epoch {state['epoch']} of "
                              f"{cfg.epochs}); pass {option('resume=True', '--resume')} to "
                              f"continue it or {force} to retrain from scratch")
    return state


def _remove_stale_temp_files(run_dir: Path, progress: bool) -> None:
    """Delete checkpoint temp files a killed run left (never the finished checkpoints).

    Only the first process does it: under torchrun the other ranks start at the same time.
    """
    if int(os.environ.get("RANK", "0")) != 0:
        return
    count, size = remove_stale_temp_files(run_dir)
    if count and progress:
        print(f"{run_dir}: removed {count} unfinished checkpoint temp file(s) "
              f"({size / 2**20:.1f} MiB) left by an interrupted run")


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True,
          force: bool = False, allow_pickle: bool = False) -> Path:
    """Train one run and return its folder ``runs_dir/run_name``.

    Args:
        cfg: the run's configuration.
        resume: continue an interrupted run from its ``last.pt`` (a run without checkpoint
            starts from scratch).
        progress: show tqdm bars and per-epoch lines.
        force: retrain from scratch even if the run folder holds a checkpoint.
        allow_pickle: read an existing ``last.pt`` in full even if it holds Python objects
            (one written by an older jdfd_lib). Unsafe: runs any code the file holds.

    Returns:
        The run folder with ``best.pt``, ``last.pt``, ``config.json`` and ``metrics.csv``.
        A finished run (``last.pt`` at the final epoch, same config) returns at once.

    Raises:
        UserError: ``cfg.detector`` names no registered detector; an existing ``last.pt`` is
            unreadable, unsafe or of another config.
        FileExistsError: an unfinished run exists and neither resume nor force was asked.
    """
    detector_class(cfg.detector)  # unknown detectors and datasets are refused before anything
    _check_datasets(cfg)  # is touched
    run_dir = Path(cfg.runs_dir) / cfg.run_name
    # one process trains a run at a time (under torchrun: rank 0 holds it for all ranks)
    alone = (holding(lock_path(cfg), run_dir, "another train of this run is writing in it")
             if int(os.environ.get("RANK", "0")) == 0 else contextlib.nullcontext())
    with alone:
        last = run_dir / "last.pt"
        _remove_stale_temp_files(run_dir, progress)
        state = (_existing_run(cfg, last, resume, allow_pickle)
                 if last.is_file() and not force else None)
        data = data_read(cfg)
        if state is not None and state.get("data", data) != data:  # older checkpoints: none
            # finished work is keyed on what was read, as in prepare and detect
            print(f"{cfg.run_name}: its training crops changed since it was trained (prepared "
                  f"again: {', '.join(changed_data(state['data'], data))}); training again "
                  f"from scratch")
            state = None
        if state is not None and _finished(state, cfg):
            if progress:
                print(f"{cfg.run_name}: finished ({state['epoch']} epochs), skipped")
            return run_dir
        rt = setup_runtime(cfg)
        was_deterministic = torch.are_deterministic_algorithms_enabled()
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(cfg.num_threads)
            torch.use_deterministic_algorithms(rt.device.type == "cpu" or was_deterministic)
            _fit(cfg, rt, run_dir, state, progress and rt.is_main, data)
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
            torch.set_num_threads(threads)
            if rt.distributed and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()  # the group this run joined
    return run_dir


def _fit(cfg: TrainConfig, rt: Runtime, run_dir: Path, state: dict | None,
         progress: bool, data: dict[str, dict]) -> None:
    seed_everything(cfg.seed)
    # resuming: the checkpoint gives every weight (and the random states), so the ImageNet
    # file is not needed
    model = create_detector(cfg if state is None else without_imagenet(cfg)).to(rt.device)
    if rt.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer, start = make_optimizer(model, cfg), 0
    scheduler = make_scheduler(optimizer, cfg)
    best = {"best_val_auc": float("-inf"), "best_epoch": 0}
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        best = {k: state[k] for k in best}
        start = state["epoch"]
        restore_rng_states(state["rng"])
    train_loader, val_loader, sampler, generator = make_loaders(cfg, model, rt)
    targets = train_loader.dataset.targets  # per-image masks (LAE), else None
    if targets is not None and state is not None and "targets_allowed" in state:
        targets.allowed[:] = state["targets_allowed"].numpy().astype(bool)  # same masks
    net = model
    if rt.distributed:
        ids = [rt.device.index] if rt.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        if rt.is_main:  # the one sign a torchrun launch gives that the ranks joined
            print(f"{cfg.run_name}: DistributedDataParallel over {rt.world_size} process(es) "
                  f"({torch.distributed.get_backend()})")
    forward = TrainingForward(net, cfg.compile_mode, cfg.run_name)  # eager for "none"
    metrics_path, writer = run_dir / "metrics.csv", None
    rows = list(state["history"]) if state is not None else []  # log of the saved epochs
    if rt.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(cfg.to_json() + "\n")
        writer = _tensorboard(run_dir)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        sampler.set_epoch(epoch)
        generator.manual_seed(cfg.seed * 100_003 + epoch)  # worker seeds depend on the epoch
        lrs = {f"lr_{g['name']}": g["lr"] for g in optimizer.param_groups}
        _active_round(model, train_loader.dataset, cfg, epoch, rt)
        losses = train_one_epoch(net, train_loader, optimizer, cfg, rt,
                                 f"{cfg.run_name} epoch {epoch + 1}/{cfg.epochs}", progress,
                                 forward, epoch=epoch)
        scheduler.step()
        if not rt.is_main:
            continue
        val = {"val_loss": float("nan"), "val_auc": float("nan")}
        if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs:
            val = validate(model, val_loader, cfg, rt)
        row = {"epoch": epoch + 1, **lrs, **{f"train_{k}": v for k, v in losses.items()},
               **val, "seconds": round(time.perf_counter() - t0, 2)}
        extra = {"data": data}  # what the run read (data_read), for a later rerun to compare
        if targets is not None:  # how many training masks the loss may use, and which
            row["masks_used"] = int(targets.allowed.sum())
            extra["targets_allowed"] = torch.from_numpy(targets.allowed.astype(np.uint8))
        rows.append(row)
        stop = cfg.stop_at_val_auc is not None and val["val_auc"] >= cfg.stop_at_val_auc
        _save_epoch(model, optimizer, scheduler, cfg, run_dir, rows, best, stop, extra)
        _write_metrics(rows, metrics_path)
        if writer is not None:
            for key, value in row.items():
                writer.add_scalar(key, value, epoch + 1)
        if progress:
            print(f"{cfg.run_name} epoch {epoch + 1}: loss {losses['loss']:.4f} "
                  f"val AUC {100 * val['val_auc']:.1f}% ({row['seconds']:.0f} s)")
        if stop:  # the val AUC cannot improve: later epochs could not change best.pt
            if progress:
                print(f"{cfg.run_name}: val AUC reached {cfg.stop_at_val_auc}, stopped")
            break
    if writer is not None:
        writer.close()


def _active_round(model: Detector, dataset, cfg: TrainConfig, epoch: int, rt: Runtime) -> None:
    """At a round's first epoch, let the hardest training images use their targets, up to
    the detector's budget for this round (:mod:`jdfd_lib.training.targets`)."""
    schedule = model.active_learning(cfg)
    if schedule is None or dataset.targets is None or epoch % schedule.every:
        return
    wanted = budget_after_round(schedule, len(dataset), cfg.epochs, epoch // schedule.every)
    select_round(model, dataset, dataset.labels, dataset.labelled, dataset.targets, wanted,
                 cfg.batch_size, rt.device)


def _finished(state: dict, cfg: TrainConfig) -> bool:
    """A saved run is done: all epochs, or stopped at ``stop_at_val_auc``."""
    return state["epoch"] >= cfg.epochs or bool(state.get("stopped_early", False))


def _save_epoch(model: Detector, optimizer, scheduler, cfg: TrainConfig, run_dir: Path,
                rows: list[dict], best: dict, stopped_early: bool = False,
                extra: dict | None = None) -> None:
    """Write best.pt when the val AUC improved (strictly), then last.pt (both atomic). The
    per-epoch log travels in the checkpoint, so a resumed run rewrites ``metrics.csv`` from
    the epochs it really holds (no duplicated or missing rows)."""
    row = rows[-1]
    if row["val_auc"] > best["best_val_auc"]:  # NaN (no validation this epoch) never wins
        best.update(best_val_auc=row["val_auc"], best_epoch=row["epoch"])
        is_best = True
    else:
        is_best = False
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "epoch": row["epoch"],
             "val_auc": row["val_auc"], **best, "rng": rng_states(), "config": cfg.to_dict(),
             "versions": library_versions(MODEL_LIBRARIES),
             "history": rows, "stopped_early": stopped_early, **(extra or {})}
    if is_best:
        save_checkpoint(state, run_dir / "best.pt")
    save_checkpoint(state, run_dir / "last.pt")


def _check_datasets(cfg: TrainConfig) -> None:
    """Refuse a config naming an unregistered dataset (its field, the registered keys)."""
    known = list_datasets()
    for name, keys in (("train_dataset", [cfg.train_dataset]),
                       ("unlabeled_datasets", cfg.unlabeled_datasets)):
        bad = [k for k in keys if k not in known]
        if bad:
            raise UserError(f"{option(name, '--' + name.replace('_', '-'))}: no dataset named "
                            f"{bad[0]!r}; registered: {', '.join(known)}")
