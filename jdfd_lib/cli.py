"""Command line: ``python -m jdfd_lib <command>`` (or the ``jdfd`` script).

Commands, in pipeline order: ``demo-data`` (embedded demo datasets, Sec. 4.1 layouts),
``prepare`` (Dlib face extraction, Sec. 3.1), ``train`` (Sec. 4.2), ``evaluate``
(frame-level AUC, Sec. 4.3), ``detect`` (new videos), ``report`` (Tables 2-3, Figs 3-4);
then ``check-results`` (re-trained metrics against committed ones, within the seeds' spread).
Each command lives in its own module, imported only when that command runs.

What a person sees when something goes wrong:

- bad input (a missing or corrupt file, a wrong setting): one line on stderr,
  ``jdfd <command>: error: <file>: <what was wrong and what was expected>``, exit status 1;
- a usage error (unknown option, ``--frames 0``): argparse's usage and one line, exit 2;
- Ctrl-C: ``jdfd <command>: interrupted; run the same command again to resume``, exit 130
  (every long command resumes where it stopped);
- the Python traceback only with ``--debug`` (before or after the command) or
  ``JDFD_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator

from jdfd_lib.core.errors import UserError, cli_command

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "settings": ("jdfd_lib.core.settings",
                 "show the profile and folders in force (jdfd.env, JDFD_* variables)"),
    "demo-data": ("jdfd_lib.demo.generate", "generate the embedded demo datasets"),
    "prepare": ("jdfd_lib.faces.prepare_cli", "extract aligned face crops from a dataset"),
    "train": ("jdfd_lib.training.train_cli",
              "train any registered detector (JDFD, its baseline, ...)"),
    "evaluate": ("jdfd_lib.evaluation.evaluate", "score test frames and write metrics"),
    "detect": ("jdfd_lib.detection.detect",
               "score videos or folders of videos with a trained checkpoint"),
    "report": ("jdfd_lib.reporting.report", "build Tables 2-3 and Figs 3-4 from metrics"),
    "check-results": ("jdfd_lib.reporting.reproduce",
                      "compare re-trained metrics with committed ones within the seeds' spread"),
}
PROG = "jdfd"
DEBUG_ENV = "JDFD_DEBUG"
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130  # 130 = 128 + SIGINT, as shells report
EXIT_TERMINATED = 143  # 128 + SIGTERM
INTERRUPTED = "interrupted; run the same command again to resume"
# errors whose message is written for the user; anything else is a bug in jdfd_lib
_USER_FACING = (UserError, OSError, ValueError, RuntimeError)
_DEBUG_HELP = f"show Python tracebacks (also {DEBUG_ENV}=1)"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; only the chosen command's module is imported.

    Args:
        command: the sub-command about to run, or None for the top-level help.

    Returns:
        The argument parser.
    """
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: without the flag here, the top-level --debug value stays in the namespace
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help=_DEBUG_HELP)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return parser


def describe(err: BaseException) -> str:
    """The one-line message for an exception raised by a command."""
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, _USER_FACING):
        return text
    return (f"internal error ({type(err).__name__}: {text}); run again with --debug for the "
            "traceback and report it")


def _one_line_warnings(command: str):
    """A ``warnings.showwarning`` that prints ``jdfd <command>: warning: <message>``."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{PROG} {command}: warning: {' '.join(str(message).split())}",
              file=file or sys.stderr)

    return show


def _debug_requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's or ``kill``'s stop), handled as Ctrl-C: finished work is kept."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Within this block (in the main thread), SIGTERM raises :class:`Terminated` where Ctrl-C
    would raise KeyboardInterrupt, so every command's interrupt path (flush what is finished,
    never count half-written output as done) also runs on a scheduler's stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the chosen command and return its exit status.

    Returns:
        The command's status (0 on success); 1 for an error, 130 after Ctrl-C, 143 after
        SIGTERM (handled as Ctrl-C: finished work kept). Usage
        errors leave through argparse's ``SystemExit(2)``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    args = build_parser(command).parse_args(argv)
    debug = _debug_requested(args)
    try:
        with cli_command(args.command), warnings.catch_warnings(), _sigterm_interrupts():
            if not debug:
                warnings.showwarning = _one_line_warnings(args.command)
            return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
    except KeyboardInterrupt as err:
        if debug:
            traceback.print_exc()
        print(f"{PROG} {args.command}: {INTERRUPTED}", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED
    except Exception as err:  # every failure of a command ends here, as one line
        if debug:
            traceback.print_exc()
        print(f"{PROG} {args.command}: error: {describe(err)}", file=sys.stderr)
        return EXIT_ERROR
