"""Provenance for every result: git commit, package versions, hardware, timings, hashes.

Results in ``results/<profile>/`` are written by code only; each carries a run record so a
reader can tell which code, libraries and machine produced it (reproducibility of Sec. 4).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from jdfd_lib.core.atomic import write_json

PACKAGES = (
    "torch", "torchvision", "timm", "dlib-bin", "dlib", "opencv-python-headless", "av",
    "numpy", "pandas", "scikit-learn", "matplotlib", "seaborn", "papermill", "nbval", "jdfd",
)
# import names whose versions a checkpoint records (what a trained model depends on) ...
MODEL_LIBRARIES = ("torch", "timm", "numpy")
# ... and a metrics or detection file (the model, face extraction, metrics, tables)
SCORE_LIBRARIES = (*MODEL_LIBRARIES, "sklearn", "dlib", "cv2", "pandas")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages results depend on (absent ones are omitted)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    out["python"] = platform.python_version()
    return out


def git_commit(repo: str | os.PathLike | None = None) -> str | None:
    """The current commit of the repository holding ``repo`` (None outside git)."""
    cwd = Path(repo) if repo else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        # results/ holds what a run writes (committed demo results among them): a run
        # rewriting them does not make the code it ran from dirty
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
             ":(exclude)results"],
            cwd=cwd, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha + ("-dirty" if dirty else "")


def hardware() -> dict[str, Any]:
    """CPU count, platform and, where present, the CUDA devices."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file (a checkpoint, an index), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def library_versions(modules: Sequence[str] = SCORE_LIBRARIES) -> dict[str, str]:
    """``__version__`` of each named module (imported here) and the Python version.

    Plain ``str`` values (``torch.__version__`` is a ``TorchVersion``, which a checkpoint
    read with ``weights_only=True`` refuses).

    Args:
        modules: import names; :data:`MODEL_LIBRARIES` for a checkpoint (what a trained
            model depends on), :data:`SCORE_LIBRARIES` (default) for scores and metrics.
    """
    out = {name: str(importlib.import_module(name).__version__) for name in modules}
    out["python"] = platform.python_version()
    return out


def record_stage(record_path: str | os.PathLike, stage: str, seconds: float,
                 **extra: Any) -> dict[str, Any]:
    """Add one stage's timing to a run record (creating it with provenance if new).

    Args:
        record_path: the run record JSON, e.g. ``results/demo/run_record.json``.
        stage: stage name, e.g. ``"02_train"``.
        seconds: wall time the stage took.
        **extra: anything else worth keeping about the stage (config, counts).

    Returns:
        The updated record.
    """
    path = Path(record_path)
    record = json.loads(path.read_text()) if path.is_file() else {}
    record.update(
        git_commit=git_commit(), packages=package_versions(), hardware=hardware(),
        updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    record.setdefault("stages", {})[stage] = {"seconds": round(seconds, 1), **extra}
    write_json(record, path)
    return record
