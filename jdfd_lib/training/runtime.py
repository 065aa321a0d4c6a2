"""Where and how a training process runs: device, DDP rank, precision, seeds (Sec. 4.2).

CPU runs are made deterministic by the caller (fixed seeds and thread count, deterministic
algorithms); CUDA runs use bf16 autocast and channels_last; ``torchrun`` (``WORLD_SIZE`` > 1)
starts one process per device, joined here into a process group (NCCL on CUDA, else gloo).
A one-process ``torchrun`` launch joins a group of one too, so that it runs the code of a
multi-GPU run (DistributedDataParallel) on a machine with one GPU.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from jdfd_lib.core.config import TrainConfig


@dataclass(frozen=True)
class Runtime:
    """Where and how this process trains: device, DDP rank, precision and layout."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp: bool = False  # bf16 autocast, CUDA only
    channels_last: bool = False  # NHWC, CUDA only
    distributed: bool = False  # in a process group (torchrun): the model is wrapped in DDP

    @property
    def is_main(self) -> bool:
        """Rank 0 validates, logs and saves."""
        return self.rank == 0


def resolve_device(name: str) -> torch.device:
    """The device a run's ``device`` setting names, for training and scoring alike.

    ``"auto"`` gives CUDA when it is available, else the CPU; any other name is passed to
    ``torch.device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...). A CUDA device is refused
    here when CUDA is not available, rather than deep inside the first ``.to(device)``.

    Raises:
        RuntimeError: a CUDA device is named but CUDA is not available.
        RuntimeError: ``name`` is not a device torch knows (torch's own message).
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available")
    return device


def launched_by_torchrun() -> bool:
    """True in a process started by ``torchrun`` (one or more processes)."""
    return "TORCHELASTIC_RUN_ID" in os.environ and "LOCAL_RANK" in os.environ


def setup_runtime(cfg: TrainConfig) -> Runtime:
    """Device, and DDP when launched by ``torchrun`` (``WORLD_SIZE`` > 1, or one process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(cfg.device)
    distributed = world > 1 or launched_by_torchrun()
    if distributed:
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank = dist.get_rank()
    else:
        rank = 0
    cuda = device.type == "cuda"
    return Runtime(device, rank, world, amp=cuda and cfg.amp,
                   channels_last=cuda and cfg.channels_last, distributed=distributed)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    # torch seeds each worker from the loader's generator; derive numpy/python from it
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
