"""Provenance for every result: git commit, package versions, hardware, timings.

Results in ``results/<profile>/`` are written by code only; each carries a run record so a
reader can tell which code, libraries and machine produced it (reproducibility of Sec. 4).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "torch", "torchvision", "timm", "dlib-bin", "dlib", "opencv-python-headless", "av",
    "numpy", "pandas", "scikit-learn", "matplotlib", "seaborn", "papermill", "nbval", "jdfd",
)


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


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON atomically (temp file + rename): a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    os.replace(tmp, path)
    return path


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
