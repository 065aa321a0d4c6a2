"""Checkpoints of a JDFD training run (paper Sec. 4.2): save atomically, load and verify.

A checkpoint holds the model, optimiser and scheduler states, the epoch, every RNG state
(python, numpy, torch, CUDA), the resolved config as a dict and the library versions, so
that ``train --resume`` ends exactly where an uninterrupted run would, and evaluation can
rebuild the model from the checkpoint alone.
"""

from __future__ import annotations

import os
import platform
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jdfd_lib.config import RUNTIME_FIELDS, TrainConfig
from jdfd_lib.model import JDFD, build_model


def library_versions() -> dict[str, str]:
    """Versions of the libraries a trained model depends on."""
    import timm

    return {"torch": torch.__version__, "timm": timm.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def rng_states() -> dict[str, Any]:
    """The python, numpy, torch and (if present) CUDA RNG states."""
    states = {"python": random.getstate(), "numpy": np.random.get_state(),
              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` captured."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` to a temp file in the same folder, then rename (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def config_differences(saved: TrainConfig, expected: TrainConfig) -> dict[str, tuple]:
    """Fields (other than :data:`RUNTIME_FIELDS`) whose values differ: name -> (saved,
    expected)."""
    a, b = saved.to_dict(), expected.to_dict()
    return {k: (a[k], b[k]) for k in a if k not in RUNTIME_FIELDS and a[k] != b[k]}


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """The raw checkpoint dict.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a checkpoint written by ``jdfd_lib.train``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    # weights_only=False: the checkpoint holds RNG states (numpy arrays, python tuples)
    state = torch.load(path, map_location=map_location, weights_only=False)
    missing = [k for k in ("model", "config", "epoch") if k not in state]
    if not isinstance(state, dict) or missing:
        raise ValueError(f"{path}: not a jdfd training checkpoint (missing {missing})")
    return state


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                    expected: TrainConfig | None = None) -> tuple[JDFD, TrainConfig, dict]:
    """Rebuild the model of a checkpoint from its saved config and load its weights.

    Args:
        path: ``best.pt`` or ``last.pt`` of a run.
        map_location: where tensors are loaded.
        expected: if given, the checkpoint's config must match it (runtime fields such as
            paths, device and workers excepted).

    Returns:
        (model in eval mode, its config, info: epoch, best_val_auc, val_auc, versions, path).

    Raises:
        ValueError: the config differs from ``expected``, or the state dict does not fit the
            model built from the saved config (names the file and the keys).
    """
    state = read_checkpoint(path, map_location)
    cfg = TrainConfig.from_dict(state["config"])
    if expected is not None:
        diff = config_differences(cfg, expected)
        if diff:
            raise ValueError(f"{path}: config does not match the expected one: "
                             + ", ".join(f"{k}: saved {a!r} != expected {b!r}"
                                         for k, (a, b) in diff.items()))
    model = build_model(cfg.__class__(**{**cfg.to_dict(), "pretrained": False,
                                         "pretrained_file": None}))  # weights come next
    _check_state_dict(model, state["model"], path)
    model.load_state_dict(state["model"])
    info = {k: state.get(k) for k in ("epoch", "best_val_auc", "val_auc", "best_epoch")}
    info.update(versions=state.get("versions", {}), path=str(path))
    return model.eval(), cfg, info


def _check_state_dict(model: torch.nn.Module, weights: dict[str, torch.Tensor],
                      path: str | os.PathLike) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    shapes = sorted(k for k in set(own) & set(weights) if own[k].shape != weights[k].shape)
    if missing or unexpected or shapes:
        raise ValueError(
            f"{path}: weights do not match the model built from its config: "
            f"missing {missing[:5]} ({len(missing)}), unexpected {unexpected[:5]} "
            f"({len(unexpected)}), shape mismatch {shapes[:5]} ({len(shapes)})")
