"""Resolve the notebooks' relative paths against the project root.

The notebooks run with different working directories (JupyterLab: ``notebooks/``;
papermill: wherever ``run_all.sh`` starts it; nbval: the executed copy's folder), so their
parameters (``DATA_ROOT = "data/demo"`` ...) are relative to the project root, never to the
working directory, and never absolute.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "JDFD_ROOT"


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The project root: ``$JDFD_ROOT`` if set, else the nearest parent of ``start`` (the
    working directory by default) holding both ``pyproject.toml`` and ``jdfd_lib/``.

    Raises:
        FileNotFoundError: no such folder above ``start`` and ``$JDFD_ROOT`` unset.
    """
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "jdfd_lib").is_dir():
            return folder
    raise FileNotFoundError(
        f"no jdfd project root above {here} (a folder with pyproject.toml and jdfd_lib/); "
        f"set {ROOT_ENV} to the repository folder"
    )


def resolve(path: str | os.PathLike) -> Path:
    """``path`` itself if absolute, else relative to :func:`project_root`."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else project_root() / p


def portable(path: str | os.PathLike) -> str:
    """``path`` relative to the project root when it lies inside it (as recorded in result
    files, so that committed results name no machine's absolute paths), else unchanged.

    The path is taken as given, without following symbolic links: ``data/`` linked to a
    disk elsewhere (the usual way to keep large datasets out of the repository) stays
    ``data/...``. Only a path that is outside the project as written but inside it once its
    links are followed is resolved.
    """
    try:
        root = project_root()
    except FileNotFoundError:  # no project around
        return str(path)
    given = Path(os.path.abspath(Path(path).expanduser()))  # lexical: links kept
    for candidate in (given, given.resolve()):
        try:
            return candidate.relative_to(root).as_posix()
        except ValueError:
            continue
    return str(path)
