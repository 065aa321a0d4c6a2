"""``python -m jdfd_lib prepare``'s command line (the job itself: :mod:`jdfd_lib.faces.prepare`).

One machine: ``prepare --dataset D --root R --out O`` (``--workers K`` processes). Many:
``--shard I/N`` on each machine (a Slurm array), then ``--merge`` once
(:mod:`jdfd_lib.faces.shards`); or ``--dask ADDRESS`` runs the shards on a Dask cluster and
merges them (:mod:`jdfd_lib.faces.cluster`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from jdfd_lib.core.errors import UserError, positive_int
from jdfd_lib.datasets.registry import get_dataset, list_datasets
from jdfd_lib.faces import masks as M
from jdfd_lib.faces.crops import CROP_FORMATS, EXTRACT_PROFILES
from jdfd_lib.faces.prepare import prepare
from jdfd_lib.faces.prepare_summary import (
    NoFaceError,
    closing_line,
    failure_message,
    reader_flags,
    report_lines,
)
from jdfd_lib.faces.shards import parse_shard

LOSSLESS_PROFILES = ("paper", "faces_paper")  # their crops are never recompressed lossily
DEFAULT_SHARDS = 64  # with --dask: several shards per worker even on a large cluster


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except UserError as err:  # argparse prints its own usage line with this message
        raise argparse.ArgumentTypeError(str(err)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m jdfd_lib prepare``."""
    parser.add_argument("--dataset", required=True, choices=list_datasets())
    parser.add_argument("--root", required=True, type=Path,
                        help="the dataset's own folder (only read)")
    parser.add_argument("--out", required=True, type=Path, help="output root for the crops")
    parser.add_argument("--profile", default="paper", choices=list(EXTRACT_PROFILES))
    parser.add_argument("--frames", type=positive_int, help="frames per video (paper: 300)")
    parser.add_argument("--size", type=positive_int, help="crop side in pixels, 8-2048 "
                        "(paper: 299)")
    parser.add_argument("--workers", type=positive_int, help="parallel processes")
    parser.add_argument("--predictor", help="dlib 68-point shape predictor .dat file")
    parser.add_argument("--image-format", choices=list(CROP_FORMATS),
                        help="crop files: png (default), webp (lossless) or jpg (lossy)")
    parser.add_argument("--masks", choices=M.MASK_MODES,
                        help="manipulation masks of fake crops: none, official (default: the "
                             "dataset's mask videos, e.g. FF++'s), derived (from the pristine "
                             "source video), official+derived")
    parser.add_argument("--mask-threshold", type=float,
                        help="difference threshold (0..1) of derived masks (default "
                             f"{M.DEFAULT_MASK_THRESHOLD})")
    parser.add_argument("--verify", action="store_true",
                        help="decode every crop of finished videos; redo videos with a "
                             "broken one")
    parser.add_argument("--allow-missing", action="store_true",
                        help="go on when a split file names videos absent from --root "
                             "(they are counted and left out)")
    many = parser.add_argument_group("many machines (the same folders seen by each)")
    many.add_argument("--shard", type=_shard, metavar="I/N",
                      help="extract only shard I of N (0 <= I < N; by a stable hash of each "
                           "video) and write no index; then run --merge once")
    many.add_argument("--merge", action="store_true",
                      help="write the index of the videos the shards prepared (extracts "
                           "nothing; refuses while a video is unfinished)")
    many.add_argument("--dask", metavar="ADDRESS",
                      help="run the shards on a Dask cluster (tcp://host:8786, or local:K for "
                           "K processes here), then merge")
    many.add_argument("--shards", type=positive_int,
                      help=f"shards with --dask (default {DEFAULT_SHARDS})")
    for opt in reader_flags().values():  # each registered reader's own options
        parser.add_argument(opt.flag, dest=opt.name, help=opt.help, **opt.kwargs)


def reader_options(args: argparse.Namespace) -> dict:
    """The chosen dataset's reader options from ``args`` (each flag left out: its default).

    Raises:
        UserError: a reader flag was given that the chosen dataset does not take.
    """
    spec = get_dataset(args.dataset)
    mine = {o.name for o in spec.options}
    for opt in reader_flags().values():
        if opt.name not in mine and getattr(args, opt.name) is not None:
            raise UserError(f"{opt.flag} does not apply to --dataset {args.dataset} "
                            f"({spec.label} takes {', '.join(sorted(mine)) or 'no options'})")
    return {o.name: o.default if getattr(args, o.name) is None else getattr(args, o.name)
            for o in spec.options}


def _check_modes(args: argparse.Namespace) -> None:
    chosen = [flag for flag, on in (("--shard", args.shard is not None), ("--merge", args.merge),
                                    ("--dask", args.dask is not None)) if on]
    if len(chosen) > 1:
        raise UserError(f"{' and '.join(chosen)} exclude each other: --shard runs one shard, "
                        f"--merge finishes them, --dask does both on a cluster")
    if args.shards is not None and args.dask is None:
        raise UserError("--shards applies to --dask only (a Slurm array gives --shard I/N)")


def run(args: argparse.Namespace) -> int:
    """Run ``prepare`` from parsed arguments; prints the summary, one line per failed,
    faceless or short video, and a closing line.

    Returns:
        0 when every video was read (videos without a face are warnings).

    Raises:
        UserError: a video could not be read (after finishing the others), not one face
            was found, a split file names absent videos without ``--allow-missing``, or
            ``--merge`` finds unfinished videos.
    """
    _check_modes(args)
    overrides = {k: v for k, v in {"frames_per_video": args.frames, "image_size": args.size,
                                   "workers": args.workers, "predictor_path": args.predictor,
                                   "image_format": args.image_format, "masks": args.masks,
                                   "mask_threshold": args.mask_threshold}.items()
                 if v is not None}
    cfg = replace(EXTRACT_PROFILES[args.profile], **overrides)
    if args.profile in LOSSLESS_PROFILES and cfg.image_format == "jpg":
        raise UserError(f"--image-format jpg is lossy, and --profile {args.profile} keeps the "
                        f"very pixels the detectors learn from: use webp (its default) or png")
    options = {**reader_options(args), "allow_missing": args.allow_missing}
    try:
        if args.dask is not None:
            from jdfd_lib.faces.cluster import prepare_on_dask  # imports distributed

            summary = prepare_on_dask(args.dataset, args.root, args.out, cfg, address=args.dask,
                                      shards=args.shards or DEFAULT_SHARDS, verify=args.verify,
                                      **options)
        else:
            summary = prepare(args.dataset, args.root, args.out, cfg, verify=args.verify,
                              shard=args.shard, merge=args.merge, **options)
    except NoFaceError as err:
        print("\n".join(report_lines(err.summary)))
        raise
    print("\n".join(report_lines(summary)))
    if summary["failures"]:
        raise UserError(failure_message(summary))
    if args.shard is not None:
        print(f"shard {args.shard[0]}/{args.shard[1]} finished: {summary['videos']} videos; "
              f"when every shard has run: the same command with --merge instead of --shard")
        return 0
    print(closing_line(summary))
    return 0
