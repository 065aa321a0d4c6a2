"""Command line: ``python -m jdfd_lib <command>`` (or the ``jdfd`` script).

Commands, in pipeline order: ``demo-data`` (embedded demo datasets, Sec. 4.1 layouts),
``prepare`` (Dlib face extraction, Sec. 3.1), ``train`` (Sec. 4.2), ``evaluate``
(frame-level AUC, Sec. 4.3), ``detect`` (one new video), ``report`` (Tables 2-3, Figs 3-4);
then ``check-results`` (re-trained metrics against committed ones, within the seeds' spread).
Each command lives in its own module, imported only when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo-data": ("jdfd_lib.demo_data", "generate the embedded demo datasets"),
    "prepare": ("jdfd_lib.extract", "extract aligned face crops from a dataset"),
    "train": ("jdfd_lib.train", "train JDFD or the no-decoder baseline"),
    "evaluate": ("jdfd_lib.evaluate", "score test frames and write metrics"),
    "detect": ("jdfd_lib.detect", "score one video with a trained checkpoint"),
    "report": ("jdfd_lib.report", "build Tables 2-3 and Figs 3-4 from metrics"),
    "check-results": ("jdfd_lib.reproduce",
                      "compare re-trained metrics with committed ones within the seeds' spread"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; only the chosen command's module is imported.

    Args:
        command: the sub-command about to run, or None for the top-level help.

    Returns:
        The argument parser.
    """
    parser = argparse.ArgumentParser(prog="python -m jdfd_lib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    args = build_parser(command).parse_args(argv)
    return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
