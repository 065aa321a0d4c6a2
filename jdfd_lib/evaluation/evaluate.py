"""``python -m jdfd_lib evaluate``: score test frames with a checkpoint (paper Sec. 4.3).

Every face crop of the chosen split ("test" for Tables 2-3 and Fig. 3; "val" allowed) of each
prepared test set is scored with the checkpoint's model; the fake score of a frame is
``softmax(logits)[:, 1]``. Per (run, test set) the result files of
:mod:`jdfd_lib.evaluation.results` are written, named from the run name: the JSON record
(:func:`jdfd_lib.evaluation.metrics.summarize`, bootstrap intervals, and provenance: config,
checkpoint and index sha256, split, library versions, time), the per-frame scores (with
``recon_error``, the reconstruction MSE in the normalised input space, for JDFD) and the ROC
points of Fig. 3.

A (run, test set) whose JSON records the same checkpoint sha256, index sha256 and split is
skipped unless ``force``, so the notebooks can be re-run cheaply.

The checkpoint is read with ``torch.load(weights_only=True)`` (:mod:`jdfd_lib.training.checkpoint`):
a file holding Python objects is refused unless ``allow_pickle`` (``--unsafe-allow-pickle``),
which unpickles it in full and so runs any code it holds.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import cv2
import pandas as pd

from jdfd_lib.core.errors import non_negative_int, positive_int, require_positive
from jdfd_lib.core.paths import portable
from jdfd_lib.core.runinfo import file_sha256, library_versions
from jdfd_lib.datasets.registry import list_datasets
from jdfd_lib.evaluation import metrics, stats
from jdfd_lib.evaluation.results import RUN_FIELDS, result_paths, stored_result, write_results
from jdfd_lib.evaluation.scoring import ScoreSettings, score_paths
from jdfd_lib.faces.index import index_path, split_frames
from jdfd_lib.training.checkpoint import UNSAFE_FLAG, UNSAFE_HELP, load_checkpoint

EVAL_SPLITS = ("val", "test")


FINGERPRINT_WHAT = {"checkpoint_sha256": "the checkpoint", "index_sha256": "the face index",
                    "split": "the split"}


def _stored_or_why(paths: dict[str, Path], fingerprint: dict) -> tuple[dict | None, str]:
    """(the stored result, "") if it can be reused, else (None, why not): no result,
    incomplete, or the checkpoint, index or split it was computed from differs."""
    if not paths["json"].is_file():
        return None, "no result yet"
    stored = stored_result(paths)
    if stored is None:
        missing = [p.name for p in paths.values() if not p.is_file()]
        return None, f"incomplete ({', '.join(missing) or 'unreadable JSON'})"
    changed = [k for k, v in fingerprint.items() if stored.get(k) != v]
    if not changed:
        return stored, ""
    return None, " and ".join(f"{FINGERPRINT_WHAT.get(k, k)} changed" + (
        f" ({str(stored.get(k))[:12]} -> {str(fingerprint[k])[:12]})" if k.endswith("sha256")
        else f" ({stored.get(k)} -> {fingerprint[k]})") for k in changed)


def _resolve_roots(faces_roots: dict[str, os.PathLike] | os.PathLike,
                   test_datasets: list[str]) -> dict[str, Path]:
    if isinstance(faces_roots, dict):
        absent = [t for t in test_datasets if t not in faces_roots]
        if absent:
            raise ValueError(f"no prepared face folder given for {absent}; got {list(faces_roots)}")
        return {t: Path(faces_roots[t]) for t in test_datasets}
    return {t: Path(faces_roots) / t for t in test_datasets}


def evaluate(checkpoint: str | os.PathLike,
             faces_roots: dict[str, os.PathLike] | os.PathLike,
             test_datasets: list[str], out_dir: str | os.PathLike, split: str = "test",
             batch_size: int | None = None, num_workers: int | None = None,
             force: bool = False, allow_pickle: bool = False) -> dict[str, dict]:
    """Score one checkpoint on the given split of several prepared datasets.

    Args:
        checkpoint: a ``best.pt`` written by ``python -m jdfd_lib train``.
        faces_roots: dataset key -> prepared folder (with ``index.csv``), or one folder
            holding a prepared sub-folder per dataset key (``faces/ffpp``, ...).
        test_datasets: registered dataset keys to score ("ffpp", "uadfv", "celebdf", "dfdc", ...).
        out_dir: folder for the JSON, scores and ROC files.
        split: "test" (default) or "val".
        batch_size: frames per forward pass (default: the run's ``batch_size``).
        num_workers: data-loading processes (default: the run's ``num_workers``).
        force: rescore even when matching results exist.
        allow_pickle: read a checkpoint that holds Python objects (one written by an older
            jdfd_lib) in full. Unsafe: runs any code the file holds; only for files you made
            yourself or trust.

    Returns:
        Test dataset -> the stored JSON content (``metrics`` holds :func:`metrics.summarize`).

    Raises:
        FileNotFoundError: the checkpoint, an index, or a listed crop is missing.
        ValueError: a bad split, batch size or worker count, or a checkpoint that is
            unreadable, unsafe (see ``allow_pickle``) or whose config does not match its
            weights (:class:`jdfd_lib.core.errors.UserError`, naming the file).
    """
    # checked first: a bad value would otherwise fail deep in torch, after the model loaded
    require_positive(batch_size, "batch_size", "--batch-size")
    require_positive(num_workers, "num_workers", "--num-workers", allow_zero=True)
    if split not in EVAL_SPLITS:
        raise ValueError(f"split must be one of {EVAL_SPLITS}, got {split!r}")
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: checkpoint not found")
    roots = _resolve_roots(faces_roots, list(test_datasets))
    ckpt_sha = file_sha256(checkpoint)
    # refuses an unreadable or unsafe file, or weights that do not fit its config (UserError)
    model, cfg, info = load_checkpoint(checkpoint, allow_pickle=allow_pickle)
    results = {}
    for test in test_datasets:
        frames = split_frames(roots[test], test, split)  # refuses missing crops up front
        finger = {"checkpoint_sha256": ckpt_sha, "split": split,
                  "index_sha256": file_sha256(index_path(roots[test]))}
        paths = result_paths(out_dir, cfg.run_name, test, split)
        stored, why = (None, "--force") if force else _stored_or_why(paths, finger)
        if stored is not None:
            print(f"{paths['json'].name}: up to date, skipped")
            results[test] = stored
            continue
        if why != "no result yet":  # say why a result on disk is computed again
            print(f"{paths['json'].name}: stale ({why}); scoring again")
        settings = ScoreSettings.from_config(cfg, batch_size, num_workers)
        crop = crop_size(frames["abs_path"].iloc[0])
        if crop < cfg.image_size:
            warnings.warn(f"{index_path(roots[test])}: its crops are {crop} px and the model "
                          f"reads {cfg.image_size} px: they are upscaled "
                          f"{cfg.image_size / crop:.1f}x, which blurs the traces detectors "
                          f"learn (prepare them at --size {cfg.image_size})", stacklevel=2)
        start = time.perf_counter()
        scored = score_paths(model, frames["abs_path"].tolist(), settings)
        table = pd.concat([frames[list(metrics.SCORE_COLUMNS[:-1])], scored], axis=1)
        results[test] = _write_results(table, paths, cfg, test, finger, checkpoint, info,
                                       {"path": portable(index_path(roots[test])),
                                        "crop_size": crop}, time.perf_counter() - start)
    return results


def crop_size(path: str | os.PathLike) -> int:
    """The side of a prepared crop in pixels (its image header; crops are square).

    Raises:
        ValueError: the file does not decode as an image.
    """
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path}: crop does not decode as an image")
    return int(image.shape[0])


def _write_results(table: pd.DataFrame, paths: dict[str, Path], cfg, test: str, finger: dict,
                   checkpoint: Path, info: dict, index: dict, seconds: float) -> dict:
    """Compute the metrics of a scored table and write the result set
    (:func:`jdfd_lib.evaluation.results.write_results`: scores, ROC, then the JSON).

    The JSON holds :func:`metrics.summarize` under ``metrics`` and the 95% bootstrap
    intervals over test videos of frame and video AUC under ``intervals``
    (:func:`jdfd_lib.evaluation.stats.bootstrap_interval`).
    """
    summary = metrics.summarize(table)
    roc = metrics.roc_points(table["label"], table["score"])
    record = {
        "run_name": cfg.run_name, "test_dataset": test,
        **{k: getattr(cfg, k) for k in RUN_FIELDS}, **finger, "metrics": summary,
        "intervals": stats.bootstrap_interval(table),  # over test videos (evaluation.stats)
        "config": {**cfg.to_dict(), "faces_root": portable(cfg.faces_root),
                   "runs_dir": portable(cfg.runs_dir)},
        "checkpoint": {**{k: v for k, v in info.items()
                          if isinstance(v, int | float | str | bool)},
                       "path": portable(checkpoint), "size": checkpoint.stat().st_size},
        "index": index,  # its path and the crops' size (px) the model was given
        "files": {k: p.name for k, p in paths.items() if k != "json"},
        "versions": library_versions(), "seconds": round(seconds, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_results(paths, table, roc, record)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m jdfd_lib evaluate``."""
    parser.add_argument("--checkpoint", required=True, type=Path, help="e.g. runs/X/best.pt")
    parser.add_argument("--faces-root", required=True, type=Path,
                        help="folder holding one prepared sub-folder per dataset key")
    parser.add_argument("--test-datasets", nargs="+", required=True,
                        choices=list_datasets(), help="any registered dataset prepared "
                        "under --faces-root")
    parser.add_argument("--out", required=True, type=Path, help="metrics folder")
    parser.add_argument("--split", default="test", choices=EVAL_SPLITS)
    parser.add_argument("--batch-size", type=positive_int, help="default: the run's batch size")
    parser.add_argument("--num-workers", type=non_negative_int,
                        help="default: the run's num_workers (0: load in this process)")
    parser.add_argument("--force", action="store_true", help="rescore finished results")
    parser.add_argument(UNSAFE_FLAG, dest="allow_pickle", action="store_true", help=UNSAFE_HELP)


def run(args: argparse.Namespace) -> int:
    """Run ``evaluate`` from parsed arguments and print the metrics (AUC in %)."""
    results = evaluate(args.checkpoint, args.faces_root, args.test_datasets, args.out,
                       args.split, args.batch_size, args.num_workers, args.force,
                       args.allow_pickle)
    print(f"{'test set':>10} {'frame AUC':>10} {'video AUC':>10} {'AP':>7} {'EER':>7} "
          f"{'acc':>7} {'frames':>7}")
    for test, rec in results.items():
        m = rec["metrics"]
        print(f"{test:>10} {100 * m['frame_auc']:>10.1f} {100 * m['video_auc']:>10.1f} "
              f"{100 * m['ap']:>7.1f} {100 * m['eer']:>7.1f} {100 * m['acc']:>7.1f} "
              f"{m['n_frames']:>7}")
    return 0
