"""One writer per output: advisory ``flock`` locks on files in the folders commands write.

A second ``prepare`` on one ``--out``, a second ``detect --out`` on one results folder, or a
second ``train`` of one run would each overwrite the other's files (the later writer's
temporary-file cleanup or table wins, and finished work is lost). Each command takes its lock
before it writes and is refused in one line while another holds it. ``flock`` locks are held by
the open file and released when the process ends, however it ends (kill -9 included), so a
lock is never left stale; Linux also takes them on NFS.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from jdfd_lib.core.errors import UserError


def take(path: Path, folder: Path, why: str, shared: bool = False) -> IO[str]:
    """Take the lock file ``path`` (created if absent) without waiting; the returned handle
    holds it until closed.

    Args:
        path: the lock file.
        folder: the output folder it guards, named in the message.
        why: what holds it, e.g. "another detect is writing in it".
        shared: a shared lock (several holders) rather than an exclusive one.

    Raises:
        UserError: another process holds it, or the folder cannot be written (one line
            naming the folder).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as err:  # read-only, not a folder, no permission: before any work
        raise UserError(f"{folder}: cannot write in it ({err.strerror or err}); expected a "
                        f"folder this user may write") from None
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(f"{folder}: {why}; wait for it to finish, or use another folder") from None
    return handle


@contextlib.contextmanager
def holding(path: Path, folder: Path, why: str) -> Iterator[None]:
    """The exclusive lock :func:`take` gives, for the duration of a ``with`` block."""
    handle = take(path, folder, why)
    try:
        yield
    finally:
        handle.close()  # closing the file releases its lock
