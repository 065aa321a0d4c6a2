"""A learning curve: validation and test AUC against the number of training images used.

Would more data (or a GPU, which buys more of it per hour) help? A detector is trained on
seeded, nested subsets of its training split (``TrainConfig.train_images``: for one seed the
first 1,000 images are among the first 3,000) with the same recipe and steps, its ``best.pt``
chosen on the full validation split as always, then evaluated on the test split. ``None`` in
the sizes stands for the whole split: the study's own runs, reused. The curve's runs keep
their metric files apart (``<results>/learning_curve/metrics``), so they never enter the
study's tables; the curve is written as ``learning_curve.{csv,md,png}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from jdfd_lib.core.atomic import write_csv, write_text
from jdfd_lib.core.config import TrainConfig
from jdfd_lib.detectors.registry import detector_config
from jdfd_lib.evaluation.results import load_results
from jdfd_lib.evaluation.stats import format_mean_std, seed_mean_std
from jdfd_lib.experiments.tasks import grid_jobs, run_parallel, train_and_evaluate
from jdfd_lib.training.data import load_split

CURVE_DIR = "learning_curve"  # under the results folder: the curve's own metric files


def curve_configs(profile: str, faces: Path, runs: Path, train_set: str,
                  sizes: Sequence[int | None], seeds: Sequence[int], detector: str = "jdfd",
                  overrides: Mapping[str, Any] | None = None) -> list[TrainConfig]:
    """One run per (size, seed), seed-major; ``None`` is the whole training split."""
    return [detector_config(profile, detector=detector, train_dataset=train_set, seed=int(seed),
                            train_images=size, faces_root=str(faces), runs_dir=str(runs),
                            **dict(overrides or {}))
            for seed in seeds for size in sizes]


def _best_val_auc(run_dir: Path) -> float:
    """The validation AUC of the run's ``best.pt`` (the highest of its ``metrics.csv``)."""
    return float(pd.read_csv(run_dir / "metrics.csv")["val_auc"].max())


def learning_curve(profile: str, faces: Path, runs: Path, results: Path, train_set: str,
                   test_set: str, sizes: Sequence[int | None], seeds: Sequence[int],
                   detector: str = "jdfd", jobs: int | None = None,
                   overrides: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Train (or reuse) and evaluate the curve's runs; write and return the curve.

    Args:
        profile: the study's profile.
        faces: the prepared crops (one folder per dataset key).
        runs: the runs folder (the curve's runs are named ``...-n<size>``).
        results: the study's results folder (``learning_curve.*`` go there).
        train_set: the dataset whose training split is subsampled.
        test_set: the dataset whose test split scores the runs.
        sizes: training images per run (``None``: all of them).
        seeds: training seeds (each size once per seed).
        detector: the registered detector.
        jobs: trainings at once (:func:`~jdfd_lib.experiments.tasks.grid_jobs`).
        overrides: ``TrainConfig`` fields set on every run.

    Returns:
        One row per size: ``train_images``, ``n_seeds``, ``val_auc`` and ``test_auc`` mean
        and std over seeds (%), and the test AUC's bootstrap interval averaged over seeds.
    """
    configs = curve_configs(profile, faces, runs, train_set, sizes, seeds, detector, overrides)
    metrics = results / CURVE_DIR / "metrics"
    where = {train_set: faces / train_set, test_set: faces / test_set}
    jobs = min(grid_jobs(jobs, configs[0].device), len(configs))
    if jobs == 1:
        for cfg in configs:
            train_and_evaluate(cfg, where, [test_set], metrics)
    else:
        run_parallel(configs, jobs, where, [test_set], metrics)
    scored = load_results(metrics).set_index("run_name")
    whole = len(load_split(faces / train_set, "train", train_set))
    rows = [{"train_images": min(cfg.train_images or whole, whole), "seed": cfg.seed,
             "val_auc": _best_val_auc(runs / cfg.run_name),
             **scored.loc[cfg.run_name, ["frame_auc", "frame_auc_lo", "frame_auc_hi"]]}
            for cfg in configs]
    curve = summarize_curve(pd.DataFrame(rows))
    write_curve(curve, results, profile, detector, train_set, test_set)
    return curve


def summarize_curve(per_run: pd.DataFrame) -> pd.DataFrame:
    """Per size: mean ± std over seeds of the val and test AUC (%), the mean interval."""
    rows = []
    for n, group in per_run.groupby("train_images", sort=True):
        val = seed_mean_std(100 * group["val_auc"])
        test = seed_mean_std(100 * group["frame_auc"])
        rows.append({"train_images": int(n), "n_seeds": test[2],
                     "val_auc_mean": val[0], "val_auc_std": val[1],
                     "test_auc_mean": test[0], "test_auc_std": test[1],
                     "test_auc_lo": 100 * group["frame_auc_lo"].mean(),
                     "test_auc_hi": 100 * group["frame_auc_hi"].mean()})
    return pd.DataFrame(rows)


def write_curve(curve: pd.DataFrame, results: Path, profile: str, detector: str,
                train_set: str, test_set: str) -> None:
    """``learning_curve.csv`` (numbers), ``.md`` (mean ± std) and ``.png`` (the plot)."""
    from jdfd_lib.reporting.plot import save_learning_curve  # matplotlib: only to draw

    write_csv(curve.round(4), results / "learning_curve.csv")
    shown = pd.DataFrame({
        "training images": curve["train_images"],
        "val AUC": [format_mean_std(m, s) for m, s in zip(curve["val_auc_mean"],
                                                            curve["val_auc_std"], strict=True)],
        "test AUC": [format_mean_std(m, s) for m, s in zip(
            curve["test_auc_mean"], curve["test_auc_std"], strict=True)],
        "test 95% bootstrap (mean of seeds)": [f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(
            curve["test_auc_lo"], curve["test_auc_hi"], strict=True)],
        "seeds": curve["n_seeds"]})
    write_text(results / "learning_curve.md",
               f"## Learning curve, {profile}: {detector} trained on {train_set}, tested on "
               f"{test_set}\n\n{shown.to_markdown(index=False)}\n\nFrame AUC (%), mean ± std "
               f"over training seeds; every run has the same recipe and steps, on a nested "
               f"seeded subset of the training split; best.pt chosen on the whole validation "
               f"split.\n")
    save_learning_curve(curve, results / "learning_curve.png",
                        f"{detector}, {train_set} -> {test_set}")
