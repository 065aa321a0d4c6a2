"""Checkpoints of a JDFD training run (paper Sec. 4.2): save atomically, load safely, verify.

A checkpoint holds the model, optimiser and scheduler states, the epoch, every RNG state
(python, numpy, torch, CUDA), the resolved config as a dict, the per-epoch log and the library
versions, so that ``train --resume`` ends exactly where an uninterrupted run would, and
evaluation can rebuild the model from the checkpoint alone.

Loading never runs code from the file. ``torch.load`` unpickles, and unpickling an arbitrary
Python object can run arbitrary code (a file handed over as ``best.pt`` could delete files or
install malware the moment it is loaded). Everything in a checkpoint is therefore a tensor or
a plain value (dict, list, str, int, float, bool, None): the RNG states are stored as tensors
and numbers (:func:`rng_states`), not as the tuples and numpy arrays their libraries return,
and every file is read with ``torch.load(weights_only=True)``, which refuses anything else.
A file that holds other objects (an attack, or a checkpoint written by an older jdfd_lib,
whose RNG states were numpy arrays) is refused with a message; a person who made it or trusts
it can load it with ``allow_pickle=True`` (``--unsafe-allow-pickle`` on the command line),
which unpickles it in full and so runs whatever code it holds. Never pass that flag for a file
from someone else.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import random
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from jdfd_lib.core.atomic import atomic_path, temp_prefix
from jdfd_lib.core.config import RUNTIME_FIELDS, TrainConfig
from jdfd_lib.core.errors import UserError, command_line, option

if TYPE_CHECKING:  # the detectors import timm (seconds): only load_checkpoint needs them
    from jdfd_lib.detectors.base import Detector

REQUIRED_KEYS = ("model", "config", "epoch")
UNSAFE_FLAG = "--unsafe-allow-pickle"
UNSAFE_HELP = ("load a checkpoint that holds Python objects (e.g. one written by an older "
               "jdfd_lib) by unpickling it in full: this runs any code the file holds, so use "
               "it only for a file you made yourself or trust")
EXPECTED = f"expected best.pt or last.pt written by `{command_line('train')}`"


def rng_states() -> dict[str, Any]:
    """The python, numpy, torch and (if present) CUDA RNG states, as tensors and numbers.

    Plain values only, so that the checkpoint loads with ``weights_only=True``: the python
    state (version, 625 ints, cached gauss) becomes a dict holding a list of ints, numpy's
    ``('MT19937', uint32 array, pos, has_gauss, cached_gaussian)`` a dict holding a uint32
    tensor.
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states = {
        "python": {"version": int(version), "state": [int(v) for v in internal],
                   "gauss": None if gauss is None else float(gauss)},
        "numpy": {"name": str(name), "keys": torch.from_numpy(np.array(keys, dtype=np.uint32)),
                  "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` captured (or the tuples older checkpoints hold)."""
    python, numpy_state = states["python"], states["numpy"]
    if isinstance(python, dict):
        python = (python["version"], tuple(python["state"]), python["gauss"])
    if isinstance(numpy_state, dict):
        numpy_state = (numpy_state["name"], numpy_state["keys"].numpy().astype(np.uint32),
                       numpy_state["pos"], numpy_state["has_gauss"],
                       numpy_state["cached_gaussian"])
    random.setstate(python)
    np.random.set_state(numpy_state)
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` to a temp file in the same folder, then rename (never half a file).

    A process killed while writing leaves the temp file (``.best.pt-XXXXXXXX``,
    :func:`jdfd_lib.core.atomic.atomic_path`) behind; :func:`remove_stale_temp_files` removes
    those.
    """
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def stale_temp_files(folder: str | os.PathLike, names: tuple[str, ...] = ("best.pt", "last.pt")
                     ) -> list[Path]:
    """Temp files :func:`save_checkpoint` left in ``folder`` for checkpoints named ``names``.

    Only names of ``tempfile.mkstemp``'s pattern (prefix, then letters, digits, ``_``) match,
    so finished checkpoints and other files are never listed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = re.compile("|".join(re.escape(temp_prefix(n)) + r"[a-z0-9_]+" for n in names))
    return sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name) and p.is_file())


def remove_stale_temp_files(folder: str | os.PathLike,
                            names: tuple[str, ...] = ("best.pt", "last.pt")) -> tuple[int, int]:
    """Delete :func:`stale_temp_files`; returns (files removed, bytes freed).

    Call it only when no other process writes checkpoints into ``folder``.
    """
    count = size = 0
    for path in stale_temp_files(folder, names):
        try:
            size += path.stat().st_size
            path.unlink()
            count += 1
        except FileNotFoundError:  # removed meanwhile: nothing left to clean
            continue
    return count, size


def config_differences(saved: TrainConfig, expected: TrainConfig) -> dict[str, tuple]:
    """Fields (other than :data:`RUNTIME_FIELDS`) whose values differ: name -> (saved,
    expected). The detector's options are compared with their defaults filled in, so a config
    that leaves an option at its default matches one that names it."""
    a, b = (_complete(c).to_dict() for c in (saved, expected))
    return {k: (a[k], b[k]) for k in a if k not in RUNTIME_FIELDS and a[k] != b[k]}


def _complete(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with every option of its detector; as it is for an unregistered detector or
    options it refuses (the difference is then reported as it stands)."""
    from jdfd_lib.detectors.registry import resolve_options

    try:
        return resolve_options(cfg)
    except (UserError, ValueError):
        return cfg


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                    allow_pickle: bool = False) -> dict[str, Any]:
    """The raw checkpoint dict, read without running code from the file.

    Args:
        path: ``best.pt`` or ``last.pt`` of a run.
        map_location: where tensors are loaded.
        allow_pickle: unpickle the file in full (``torch.load(weights_only=False)``), as
            checkpoints of older jdfd_lib versions need. Unsafe: this runs any code the file
            holds; only for a file you made yourself or trust.

    Raises:
        FileNotFoundError: no such file.
        UserError: the file holds Python objects (and ``allow_pickle`` is false), is not a
            readable torch file (empty, truncated, another format), or is not a checkpoint
            written by ``jdfd_lib.training.train``; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    state = _torch_load(path, map_location, allow_pickle)
    # isinstance first: "k in state" means something else (or fails) for a list or a tensor
    if not isinstance(state, dict):
        raise UserError(f"{path}: not a jdfd training checkpoint (it holds an object of "
                        f"type {type(state).__name__}, not a dict); {EXPECTED}")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise UserError(f"{path}: not a jdfd training checkpoint (missing {missing}); {EXPECTED}")
    return state


def _torch_load(path: Path, map_location: str | torch.device, allow_pickle: bool) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=not allow_pickle)
    except (OSError, MemoryError):
        raise  # their messages name the file or the cause already
    except Exception as err:  # torch raises many types for a bad file, and never names it
        raise _load_error(path, err, allow_pickle) from err


def _load_error(path: Path, err: Exception, allow_pickle: bool) -> UserError:
    """A message for a file ``torch.load`` refused: unsafe contents, or a damaged file."""
    damage = _damage(path)
    refused = (isinstance(err, pickle.UnpicklingError)
               and "weights only load failed" in str(err).lower())
    if damage is None and refused and not allow_pickle:
        return UserError(
            f"{path}: holds Python objects besides tensors and plain values, and unpickling "
            "them can run arbitrary code, so it was not loaded; a checkpoint you made "
            "yourself or trust (e.g. one written by an older jdfd_lib) can be loaded with "
            f"{option('allow_pickle=True', UNSAFE_FLAG)}")
    reason = damage or f"{type(err).__name__}: {_first_line(err)}"
    return UserError(f"{path}: not a readable PyTorch checkpoint ({reason}); {EXPECTED}")


def _damage(path: Path) -> str | None:
    """Why the bytes of ``path`` cannot be a ``torch.save`` file; None if they may be one.

    Only called after ``torch.load`` failed, so reading the whole file (CRC check) is fine.
    """
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        return "empty file"
    if head[:1] == b"\x80":  # a pickle stream: torch.save's legacy (non-zip) format
        return None
    if head != b"PK\x03\x04":  # torch.save writes a zip archive
        return "not a torch.save file"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not any(n.endswith("/data.pkl") for n in names):
                return "a zip archive, but not a torch.save file"
            return None if archive.testzip() is None else "truncated or corrupt"
    except (zipfile.BadZipFile, EOFError):  # e.g. the end (zip directory) is cut off
        return "truncated or corrupt"


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else "no details"


def without_imagenet(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with ImageNet loading off, for a model whose weights a checkpoint gives next:
    loading or resuming a run never needs the (downloaded) ImageNet file."""
    return dataclasses.replace(cfg, pretrained=False, pretrained_file=None)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                    expected: TrainConfig | None = None, allow_pickle: bool = False
                    ) -> tuple[Detector, TrainConfig, dict]:
    """Rebuild the model of a checkpoint from its saved config and load its weights.

    Args:
        path: ``best.pt`` or ``last.pt`` of a run.
        map_location: where tensors are loaded.
        expected: if given, the checkpoint's config must match it (runtime fields such as
            paths, device and workers excepted).
        allow_pickle: see :func:`read_checkpoint` (unsafe: runs code the file holds).

    Returns:
        (model in eval mode, its config, info: epoch, best_val_auc, val_auc, versions, path).

    Raises:
        FileNotFoundError: no such file.
        UserError: see :func:`read_checkpoint`; also a config that differs from ``expected``,
            or a state dict that does not fit the model built from the saved config (names
            the file and the keys).
    """
    from jdfd_lib.detectors.registry import create_detector  # heavy import (timm)

    state = read_checkpoint(path, map_location, allow_pickle)
    cfg = saved_config(state, path)
    if expected is not None:
        diff = config_differences(cfg, expected)
        if diff:
            raise UserError(f"{path}: config does not match the expected one: "
                            + ", ".join(f"{k}: saved {a!r} != expected {b!r}"
                                        for k, (a, b) in diff.items()))
    model = create_detector(without_imagenet(cfg))  # weights come next
    _check_state_dict(model, state["model"], path)
    model.load_state_dict(state["model"])
    info = {k: state.get(k) for k in ("epoch", "best_val_auc", "val_auc", "best_epoch")}
    info.update(versions=state.get("versions", {}), path=str(path))
    return model.eval(), cfg, info


def saved_config(state: dict[str, Any], path: str | os.PathLike) -> TrainConfig:
    """The :class:`TrainConfig` stored in a checkpoint read by :func:`read_checkpoint`.

    Raises:
        UserError: the saved config has unknown fields or bad values (names the file).
    """
    try:
        return TrainConfig.from_dict(dict(state["config"]))
    except (TypeError, ValueError) as err:
        raise UserError(f"{path}: the saved config is not a valid TrainConfig ({err}); "
                        f"{EXPECTED}") from err


def _check_state_dict(model: torch.nn.Module, weights: Any, path: str | os.PathLike) -> None:
    if not isinstance(weights, dict):
        raise UserError(f"{path}: 'model' is of type {type(weights).__name__}, not a state "
                        f"dict; {EXPECTED}")
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    shapes = sorted(k for k in set(own) & set(weights) if own[k].shape != weights[k].shape)
    if missing or unexpected or shapes:
        raise UserError(
            f"{path}: weights do not match the model built from its config: "
            f"missing {missing[:5]} ({len(missing)}), unexpected {unexpected[:5]} "
            f"({len(unexpected)}), shape mismatch {shapes[:5]} ({len(shapes)})")
