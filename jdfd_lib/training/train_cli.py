"""``python -m jdfd_lib train``: the command line of :func:`jdfd_lib.training.train.train`.

The run's config comes from the profile, the chosen detector's own profile, the flags and
``--set NAME=VALUE`` (typed from ``TrainConfig`` or the detector's options); its folders from
``--faces-root`` / ``--runs-dir``, else the settings the notebooks read
(:func:`jdfd_lib.core.settings.command_folder`), which the command names on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jdfd_lib.core.config import PROFILES, TrainConfig
from jdfd_lib.core.errors import non_negative_int, positive_int
from jdfd_lib.core.settings import COMMAND_DEFAULTS, command_folder
from jdfd_lib.datasets.registry import list_datasets
from jdfd_lib.detectors.registry import detector_config, list_detectors, parse_setting
from jdfd_lib.training.checkpoint import UNSAFE_FLAG, UNSAFE_HELP
from jdfd_lib.training.train import train


def _ratio(text: str) -> float:
    """argparse ``type=`` for ``--unlabeled-ratio``: a fraction in [0, 1], the range
    :meth:`TrainConfig.validate` accepts (a usage error names the flag, the config's does not)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m jdfd_lib train``."""
    parser.add_argument("--profile", required=True, choices=PROFILES)
    parser.add_argument("--train-dataset", choices=list_datasets(),
                        help="default: the profile's (paper, demo: ffpp; faces: dfdc_faces)")
    parser.add_argument("--faces-root", help="folder with one prepared folder per dataset "
                        "(default: JDFD_FACES_ROOT, jdfd.env, data/<profile>_faces)")
    detectors = list_detectors()
    parser.add_argument("--detector", choices=detectors,
                        help="the registered detector to train (default: jdfd)")
    parser.add_argument("--variant", dest="detector", choices=detectors,
                        help=argparse.SUPPRESS)  # the old name of --detector
    parser.add_argument("--unlabeled-ratio", type=_ratio, help="Fig. 4: 0.05, 0.10, 0.15")
    parser.add_argument("--seed", type=non_negative_int)
    parser.add_argument("--epochs", type=positive_int, help="default: the profile's")
    parser.add_argument("--runs-dir", dest="runs_dir",
                        help="runs root (default: JDFD_RUNS_DIR, jdfd.env, runs)")
    parser.add_argument("--out", dest="runs_dir", help=argparse.SUPPRESS)  # its old name
    parser.add_argument("--resume", action="store_true", help="continue from last.pt")
    parser.add_argument("--force", action="store_true", help="retrain a finished run")
    parser.add_argument(UNSAFE_FLAG, dest="allow_pickle", action="store_true",
                        help=f"on --resume or over an existing run, {UNSAFE_HELP}")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--set", dest="assignments", action="append", default=[],
                        metavar="NAME=VALUE", help="any other TrainConfig field, or an option "
                        "of the detector as <detector>_<option> (lae_depth=3; repeatable)")


def train_folders(args: argparse.Namespace) -> dict[str, tuple[Path, str]]:
    """``faces_root`` and ``runs_dir`` -> (folder, where it came from): the flag, else
    ``JDFD_FACES_ROOT`` / ``JDFD_RUNS_DIR``, ``jdfd.env``, the profile's default, as the
    notebooks resolve them (:func:`jdfd_lib.core.settings.command_folder`)."""
    return {name: command_folder(name, args.profile, getattr(args, name))
            for name in COMMAND_DEFAULTS}


def config_from_args(args: argparse.Namespace,
                     folders: dict[str, tuple[Path, str]] | None = None) -> TrainConfig:
    """The run's config from parsed ``train`` arguments: ``--set`` names are typed from
    ``TrainConfig`` or the chosen detector's options (:func:`parse_setting`); the folders
    from :func:`train_folders` unless given.

    Raises:
        ValueError: an unknown name or a bad value in ``--set`` (one line).
    """
    named = [a.partition("=")[2].strip() for a in args.assignments
             if a.partition("=")[0].strip() in ("detector", "variant")]
    detector = args.detector or (named[-1] if named else TrainConfig.detector)
    overrides = dict(parse_setting(a, detector) for a in args.assignments)
    for name in ("train_dataset", "detector", "unlabeled_ratio", "seed", "epochs"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    for name, (folder, _) in (folders or train_folders(args)).items():
        overrides[name] = str(folder)
    return detector_config(args.profile, **overrides)


def run(args: argparse.Namespace) -> int:
    """Run ``train`` from parsed arguments; prints the run folder."""
    folders = train_folders(args)
    cfg = config_from_args(args, folders)
    if int(os.environ.get("RANK", "0")) == 0:  # where the run reads and writes, and why
        print("; ".join(f"{name} {path} ({source})" for name, (path, source) in folders.items()),
              file=sys.stderr)
    run_dir = train(cfg, resume=args.resume, progress=not args.no_progress, force=args.force,
                    allow_pickle=args.allow_pickle)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one line rather than one per rank
        print(run_dir)
    return 0
