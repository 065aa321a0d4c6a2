"""Errors a person can act on: option names as the caller typed them, argument checks.

The same library function is called from the command line (``python -m jdfd_lib prepare
--frames 0``) and from Python (``prepare(..., ExtractConfig(frames_per_video=0))``). A
message should name the option the way the caller wrote it, so messages build option names
with :func:`option`, which gives the CLI flag while :mod:`jdfd_lib.cli` runs a command
(:func:`cli_command`) and the Python argument otherwise.

:class:`UserError` marks an error whose message is complete for a user (what was wrong,
which file, what was expected); the CLI prints it on one line. It subclasses
``ValueError`` so that callers catching ``ValueError`` keep working.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_COMMAND: ContextVar[str | None] = ContextVar("jdfd_cli_command", default=None)


class UserError(ValueError):
    """Bad input, with a message naming the file or option and what was expected."""


@contextmanager
def cli_command(name: str) -> Iterator[None]:
    """Within this block, :func:`option` names CLI flags (the CLI wraps each command in it)."""
    token = _COMMAND.set(name)
    try:
        yield
    finally:
        _COMMAND.reset(token)


def current_command() -> str | None:
    """The CLI command running now (``"prepare"``, ...), or None when called from Python."""
    return _COMMAND.get()


def option(python: str, flag: str) -> str:
    """How the caller spells an option: ``flag`` under the CLI, ``python`` otherwise.

    Args:
        python: the Python spelling, e.g. ``"force=True"`` or ``"ExtractConfig.workers"``.
        flag: the CLI spelling, e.g. ``"--force"`` or ``"--workers"``.
    """
    return flag if _COMMAND.get() is not None else python


def command_line(command: str, *args: str) -> str:
    """A copy-pasteable command line: ``python -m jdfd_lib <command> <args>``."""
    import shlex

    return " ".join(["python -m jdfd_lib", command, *(shlex.quote(str(a)) for a in args)])


def require_positive(value: int | float | None, python: str, flag: str,
                     allow_zero: bool = False) -> None:
    """Raise :class:`UserError` unless ``value`` is None or positive (or zero if allowed).

    Args:
        value: the value given.
        python: its Python name (``"batch_size"``); ``flag``: its CLI flag (``"--batch-size"``).
        allow_zero: accept 0 (e.g. data-loading workers, where 0 means in-process).
    """
    if value is None:
        return
    if isinstance(value, bool) or not (value >= 0 if allow_zero else value > 0):
        expected = "0 or more" if allow_zero else "a positive number"
        raise UserError(f"{option(python, flag)} must be {expected}, got {value!r}")


def _int_type(minimum: int, expected: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    parse.__name__ = expected  # argparse names the type in its message
    return parse


positive_int = _int_type(1, "a positive integer")
"""argparse ``type=`` for counts that must be at least 1 (frames, workers, batch size)."""
non_negative_int = _int_type(0, "an integer >= 0")
"""argparse ``type=`` for counts where 0 is meaningful (data-loading workers)."""


def ignore_sigint() -> None:
    """Initializer of worker processes: Ctrl-C reaches the whole process group, and only the
    main process should answer it (cancel queued work, print one line, exit 130); SIGTERM
    ends a worker at once (the main process's handler, inherited by a fork, is not theirs)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
