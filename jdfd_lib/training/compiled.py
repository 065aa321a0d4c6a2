"""The training step through ``torch.compile``, with a fallback to eager mode.

At the paper's batch of 4 a CUDA training step is bound by kernel launches, not arithmetic
(BENCHMARKS.md, GPU): ``torch.compile`` fuses the small kernels and, in ``reduce-overhead``
mode, replays the forward and backward passes as CUDA graphs. The recipe is unchanged (same
batch, loss, optimiser, seeds); only the kernels that compute it differ, so a compiled run
rounds differently from an eager one, within the seeds' spread.

Compilation happens during the first step (the forward pass at its first call, the backward
pass at its first ``backward()``) and can fail where eager mode works: no C++ compiler or
Triton, an operator the compiler does not support, an old torch. The first step is therefore
guarded: if it raises, the module's buffers (BatchNorm statistics) and the random generators
are put back as they were, the step is run again in eager mode, one line says why, and the run
goes on in eager mode. A missing compiler costs speed, never a run, and the run is then the
eager run bit for bit. An error of the model itself is raised again by the eager step; errors
after the first successful step are not caught.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from jdfd_lib.core.config import COMPILE_MODES

T = TypeVar("T")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`COMPILE_MODES`, else a ValueError naming them."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode must be one of {COMPILE_MODES}, got {mode!r}")
    return mode


class _Snapshot:
    """A module's buffers and the random generators' states, to undo a failed first step."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.buffers = [(b, b.detach().clone()) for b in module.buffers()]
        self.cpu_rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None

    def restore(self) -> None:
        with torch.no_grad():
            for buf, saved in self.buffers:
                buf.copy_(saved)
        torch.set_rng_state(self.cpu_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


class TrainingForward:
    """Runs training steps with ``module`` or ``torch.compile(module, mode=mode)``.

    A step is a function of the forward callable (``step(forward) -> result``) that runs the
    forward pass, the loss, ``backward()`` and the optimiser. :meth:`run` gives it the
    compiled module while compilation works, else the module itself (see the module docs).

    Args:
        module: the module to run (a detector, or its DistributedDataParallel wrapper).
        mode: a :data:`COMPILE_MODES` entry; ``"none"`` runs eagerly.
        where: names the run in the fallback message.
        compiler: the compile function (default ``torch.compile``; tests pass a failing one).
    """

    def __init__(self, module: torch.nn.Module, mode: str = "none", where: str = "train",
                 compiler: Callable[..., Any] | None = None) -> None:
        self.module, self.mode, self.where = module, check_mode(mode), where
        self.fallback_reason: str | None = None  # why eager mode is used after a failure
        self._checked = False  # a first step ran through the compiled module
        self._compiled = None
        if mode == "none":
            return
        try:
            self._compiled = (compiler or torch.compile)(module, mode=mode)
        except Exception as err:  # torch.compile itself refused (e.g. an unsupported Python)
            self._fall_back(err)

    @property
    def compiled(self) -> bool:
        """True while steps go through the compiled module."""
        return self._compiled is not None

    def _fall_back(self, err: BaseException) -> None:
        self.fallback_reason = _first_line(err)
        self._compiled = None
        print(f"{self.where}: torch.compile(mode={self.mode!r}) failed "
              f"({self.fallback_reason}); training goes on in eager mode", file=sys.stderr)

    def run(self, step: Callable[[Callable[..., Any]], T]) -> T:
        """``step(forward)`` with the compiled module, the first time guarded (module docs)."""
        if self._compiled is None:
            return step(self.module)
        if self._checked:
            return step(self._compiled)
        snapshot = _Snapshot(self.module)
        try:
            result = step(self._compiled)
        except Exception as err:
            snapshot.restore()
            self._fall_back(err)
            return step(self.module)
        self._checked = True
        return result
