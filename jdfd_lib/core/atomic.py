"""Atomic file writes: a crash or an error never leaves half a file under its final name.

Every file a stage writes (split files, crop metadata, the index, checkpoints, metrics,
scores; paper Sec. 4.1-4.3) is written to a temporary file in the destination's folder (so the
rename stays within one file system), then renamed over the destination with ``os.replace``,
which is atomic on POSIX and Windows. The temporary file is named ``.{name}-XXXXXXXX``
(:func:`temp_prefix`, then ``tempfile.mkstemp``'s random letters) and is removed whenever the
write fails; only a process killed mid-write leaves one behind (see
:func:`jdfd_lib.training.checkpoint.stale_temp_files`). Finished files get the usual
permissions (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.

Text is written as given (UTF-8, ``\\n`` never translated); CSVs are written by pandas
itself, so their bytes are those of ``DataFrame.to_csv(path)``.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # write_csv only calls the table's own to_csv
    import pandas as pd


def temp_prefix(name: str) -> str:
    """The start of the temporary names used while writing the file ``name``."""
    return f".{name}-"


@functools.cache
def _file_mode() -> int:
    """``0o666`` less the process umask (read once: ``os.umask`` can only be set to read it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync(path: str | os.PathLike, directory: bool = False) -> None:
    if directory and os.name != "posix":  # Windows cannot open a folder to sync it
        return
    fd = os.open(path, os.O_RDONLY if directory else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = False, suffix: str = ""
                ) -> Iterator[Path]:
    """A temporary path to write to; it replaces ``path`` when the block ends without error.

    For writers that want a file name (``torch.save``, ``cv2.imwrite``, ``fig.savefig``,
    an encoder): the temporary file exists, empty, when the block starts. The parent folder
    is created if needed.

    Args:
        path: the final file.
        fsync: flush the file (and on POSIX its folder) to disk before and after the rename.
        suffix: appended to the temporary name, for writers that pick the format from it
            (``cv2.imwrite``, ``savefig``): pass ``path.suffix``.

    Yields:
        The temporary file ``.{name}-XXXXXXXX{suffix}`` in the folder of ``path``; it is
        removed if the block raises (the exception propagates; ``path`` is left as it was).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name),
                                    suffix=suffix)
    except OSError as err:
        raise _named(err, path) from None
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, _file_mode())
        yield tmp
        if fsync:
            _fsync(tmp)
        os.replace(tmp, path)
        if fsync:
            _fsync(path.parent, directory=True)
    except OSError as err:
        raise _named(err, path) from None
    finally:
        tmp.unlink(missing_ok=True)


def _named(err: OSError, path: Path) -> OSError:
    """``err``, or for a full disk one that names the file being written (not the
    temporary file, nor "[Errno 28]")."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return OSError(f"{path}: cannot be written: no space left on its device (or quota "
                       f"exceeded); free some and run the same command again")
    return err


def write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`); returns ``path``."""
    with atomic_path(path, fsync) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, fsync: bool = False) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically, line ends as given; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"), fsync)


def json_text(obj: Any) -> str:
    """The project's JSON layout: 2-space indent, sorted keys, ``str()`` of anything else
    (paths, numpy scalars), one final newline."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"


def write_json(obj: Any, path: str | os.PathLike, fsync: bool = False) -> Path:
    """Write ``obj`` as :func:`json_text` to ``path`` atomically; returns ``path``."""
    return write_text(path, json_text(obj), fsync)


def write_csv(table: pd.DataFrame, path: str | os.PathLike, fsync: bool = False,
              **options: Any) -> Path:
    """``table.to_csv`` (``index=False`` unless ``options`` say otherwise) to ``path``
    atomically; returns ``path``. The temporary name never implies a compression: pass
    ``compression`` in ``options`` for one."""
    with atomic_path(path, fsync) as tmp:
        table.to_csv(tmp, **{"index": False, **options})
    return Path(path)
