"""One grid task (train, then evaluate) and how many run at once, on CPU cores or GPUs.

A task trains (or reuses, or resumes) one run and evaluates its ``best.pt``. A grid runs its
tasks one at a time in this process, or ``jobs`` at a time in worker processes:

- On a CPU each worker trains with ``cpu_count // jobs`` torch threads: the demo's models are
  small enough that one process does not keep two cores busy (two 1-thread processes train
  1.2-1.3x faster than one 2-thread process, BENCHMARKS.md).
- On CUDA the workers share the GPUs, :data:`CUDA_JOBS_PER_GPU` per device: the paper's
  batch of 4 leaves a GPU mostly waiting for kernel launches, and several trainings at once
  fill those gaps (BENCHMARKS.md, GPU). Each worker owns one device for its lifetime (its
  *slot*), and its runs' loaders share the CPU cores (``num_workers`` at most
  ``cpu_count // jobs``).

A packed run is the run it would be alone: its own process, model, BatchNorm statistics,
optimiser, seed and batch of 4. Only its runtime fields (device, threads, loader workers)
are set by the packing, and those never change what a run learns (``RUNTIME_FIELDS``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.core.errors import UserError
from jdfd_lib.evaluation.evaluate import evaluate

JOBS_ENV = "JDFD_JOBS"  # environment override of the number of parallel trainings
CUDA_JOBS_PER_GPU = 4  # batch-4 trainings packed on one GPU (BENCHMARKS.md, GPU packing)
CPU_JOBS = 2  # trainings at once on a CPU with 2+ cores (BENCHMARKS.md, grid jobs)
CUDA_EVAL_BATCH = 64  # frames per forward pass when a grid evaluates on CUDA: 2.3x the
#   frames per second of the training batch of 4 (BENCHMARKS.md, GPU); eval mode, so the
#   batch changes the kernels' rounding only


def uses_cuda(device: str) -> bool:
    """Whether a run's ``device`` setting trains on CUDA here ("auto": if available)."""
    if device.startswith("cuda"):
        return True
    if device != "auto":
        return False
    import torch  # heavy; only to ask whether CUDA will be used

    return torch.cuda.is_available()


def cuda_devices(device: str) -> list[str]:
    """The CUDA devices a grid may use: the one ``device`` names ("cuda:1"), else all."""
    if ":" in device:
        return [device]
    import torch

    return [f"cuda:{i}" for i in range(max(1, torch.cuda.device_count()))]


def grid_jobs(jobs: int | None, device: str = "auto", cpus: int | None = None,
              gpus: int | None = None) -> int:
    """How many trainings of a grid run at once.

    Args:
        jobs: the caller's choice; None reads ``JDFD_JOBS``, and without it:
            :data:`CUDA_JOBS_PER_GPU` per GPU on CUDA, else :data:`CPU_JOBS` when there are
            that many CPU cores.
        device: the runs' ``device`` setting ("auto" means CUDA when available).
        cpus: CPU cores available (default: ``os.cpu_count()``).
        gpus: GPUs the grid may use (default: those ``device`` names, :func:`cuda_devices`).

    Raises:
        UserError: ``jobs`` or ``JDFD_JOBS`` is not a positive integer.
    """
    if jobs is None and os.environ.get(JOBS_ENV):
        text = os.environ[JOBS_ENV]
        if not text.isdigit() or int(text) < 1:
            raise UserError(f"{JOBS_ENV}={text!r}: expected a positive integer")
        jobs = int(text)
    if jobs is not None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise UserError(f"jobs: expected a positive integer, got {jobs!r}")
        return jobs
    if uses_cuda(device):
        return CUDA_JOBS_PER_GPU * (gpus or len(cuda_devices(device)))
    return min(CPU_JOBS, cpus or os.cpu_count() or 1)


def eval_batch_size(device: str) -> int | None:
    """The grid's evaluation batch: :data:`CUDA_EVAL_BATCH` on CUDA, else None (the run's)."""
    return CUDA_EVAL_BATCH if uses_cuda(device) else None


def worker_slots(jobs: int, devices: Sequence[str]) -> list[str]:
    """The device of each of ``jobs`` workers, spread evenly over ``devices`` in turn."""
    if not devices:
        raise ValueError("worker_slots: no device to place the workers on")
    return [devices[i % len(devices)] for i in range(jobs)]


def train_and_evaluate(cfg: TrainConfig, faces: dict[str, Path], test_sets: Sequence[str],
                       metrics_dir: Path, progress: bool = True) -> str:
    """Train (or reuse, or resume) one run and evaluate its ``best.pt`` on every test set.

    Returns:
        The run name.
    """
    from jdfd_lib.training.train import train  # heavy import, only when a grid runs

    run_dir = train(cfg, resume=True, progress=progress)  # an interrupted run continues
    evaluate(run_dir / "best.pt", faces, list(test_sets), metrics_dir,
             batch_size=eval_batch_size(cfg.device))
    return cfg.run_name


_SLOT: str | None = None  # the device of this worker process (set by _take_slot)


def _take_slot(slots) -> None:
    """Worker initializer: take one device from the queue of slots, for this worker's life."""
    global _SLOT
    _SLOT = slots.get()


def _in_worker(cfg: TrainConfig, faces: dict[str, Path], test_sets: Sequence[str],
               metrics_dir: Path) -> tuple[str, float, str]:
    """One task in a worker process: on the worker's device, quiet (the parent reports)."""
    import torch

    if _SLOT is not None:
        cfg = replace(cfg, device=_SLOT)
    torch.set_num_threads(cfg.num_threads)  # evaluation too; train() sets it for training
    os.environ["TQDM_DISABLE"] = "1"  # several processes' bars would interleave
    start = time.perf_counter()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        name = train_and_evaluate(cfg, faces, test_sets, metrics_dir, progress=False)
    return name, time.perf_counter() - start, cfg.device


def packed_configs(configs: Sequence[TrainConfig], jobs: int, cpus: int | None = None
                   ) -> list[TrainConfig]:
    """The configs with the runtime fields of ``jobs`` workers sharing ``cpus`` cores: torch
    threads ``cpus // jobs``, and loader workers at most that (never more than asked)."""
    share = max(1, (cpus or os.cpu_count() or 1) // jobs)
    return [replace(c, num_threads=share, num_workers=min(c.num_workers, share))
            for c in configs]


def run_parallel(configs: list[TrainConfig], jobs: int, faces: dict[str, Path],
                 test_sets: Sequence[str], metrics_dir: Path,
                 devices: Sequence[str] | None = None) -> None:
    """Run the tasks ``jobs`` at a time; the first failure stops the grid (the finished runs
    stay, and the next call resumes).

    Args:
        devices: where the workers train; None: every run's own ``device`` setting, or on
            CUDA the GPUs it allows (:func:`cuda_devices`) shared evenly.
    """
    configs = packed_configs(configs, jobs)
    if devices is None and uses_cuda(configs[0].device):
        devices = cuda_devices(configs[0].device)
    slots = worker_slots(jobs, devices) if devices else None
    where = f" on {', '.join(sorted(set(slots)))}" if slots else ""
    print(f"grid: {len(configs)} runs, {jobs} at a time{where}, {configs[0].num_threads} "
          f"thread(s) and {configs[0].num_workers} loader worker(s) each")
    # spawn, not fork: the parent (a Jupyter kernel) may hold torch threads or CUDA
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    for slot in slots or []:
        queue.put(slot)
    init = dict(initializer=_take_slot, initargs=(queue,)) if slots else {}
    with ProcessPoolExecutor(jobs, mp_context=ctx, **init) as pool:
        pending = {pool.submit(_in_worker, c, faces, test_sets, metrics_dir) for c in configs}
        done_count = 0
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    name, seconds, device = future.result()  # re-raises a worker's error
                    done_count += 1
                    print(f"grid: [{done_count}/{len(configs)}] {name} done on {device} "
                          f"({seconds:.0f} s)")
        except BaseException:
            for future in pending:
                future.cancel()
            raise
