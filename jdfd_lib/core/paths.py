"""Resolve the notebooks' relative paths against the project root.

The notebooks run with different working directories (JupyterLab: ``notebooks/``;
papermill: wherever ``run_all.sh`` starts it; nbval: the executed copy's folder), so their
parameters (``DATA_ROOT = "data/demo"`` ...) are relative to the project root, never to the
working directory, and never absolute.
"""

from __future__ import annotations

import json
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


def read_json(path: str | os.PathLike, expected: str) -> object:
    """The JSON value in ``path``, or one line naming the file and what was expected.

    Args:
        path: the file.
        expected: what it should hold, for the message (e.g. "a metrics.json of report").

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable, not JSON, or nested too deeply to read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found; expected {expected}")
    try:
        return json.loads(path.read_bytes())
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not text (binary?); expected {expected}") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to read; expected {expected}") from None
    except ValueError as err:
        raise ValueError(f"{path}: not JSON ({err}); expected {expected}") from None


def file_identity(path: str | os.PathLike) -> list[int] | None:
    """``[size, mtime_ns]`` of a file, what finished work on it is keyed on (a file replaced
    under the same name differs), or None if it is absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def is_file_name(name: object) -> bool:
    """Whether ``name`` is one file name: text, not empty, ``.`` or ``..``, without ``/``,
    ``\\`` or NUL."""
    return (isinstance(name, str) and name not in ("", ".", "..")
            and not any(c in name for c in "/\\\0"))


def inside(folder: str | os.PathLike, *names: str) -> Path:
    """``folder / names[0] / names[1] ...`` where each name is one file name, so that the
    path stays inside ``folder`` whatever the names came from (a dataset's metadata, a
    checkpoint's config): what a writer builds a file name from passes here.

    Raises:
        ValueError: a name is empty, ``.`` or ``..``, or holds a separator or NUL, naming
            the folder and the name.
    """
    for name in names:
        if not is_file_name(name):
            raise ValueError(f"{folder}: refusing to write under the name {name!r}: a file "
                             f"name is expected, not a path")
    return Path(folder).joinpath(*names)


def read_csv(path: str | os.PathLike, expected: str, **options):
    """``pandas.read_csv(path, **options)``, or one line naming the file and what was expected
    (a binary file, a broken quote, an empty file) instead of the parser's message alone.

    Raises:
        ValueError: unreadable as CSV, naming ``path``.
    """
    import pandas as pd  # here: this module is imported by tools that never read a table

    try:
        return pd.read_csv(path, **options)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not text (binary?); expected {expected}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path}: not a CSV table ({' '.join(str(err).split())}); expected "
                         f"{expected}") from None
