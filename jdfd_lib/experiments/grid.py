"""The experiment grids behind Tables 2-3 and Fig. 4 (paper Sec. 4.3-4.4).

A grid is a set of trainings (train set x detector x unlabeled ratio) each evaluated on the
test split of every test set. Finished trainings and evaluations are skipped (``train`` and
``evaluate`` both check their outputs), so the notebooks can be re-run cheaply and an
interrupted grid resumes where it stopped. A grid can run several training seeds; after each
grid the report (tables as mean ± std over seeds, comparisons, figures, metrics.json) is
rewritten from *all* metric files of the profile.

Trainings of a grid run ``jobs`` at a time in separate processes
(:mod:`jdfd_lib.experiments.tasks`): 2 on a CPU, several per GPU on CUDA. Each run is still
the run it would be alone, seeded and deterministic for its thread count, which its
``config.json`` records (``num_threads``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.detectors.registry import compared_detectors, detector_config
from jdfd_lib.experiments.tasks import grid_jobs, run_parallel, train_and_evaluate
from jdfd_lib.reporting import report, tables
from jdfd_lib.reporting.display import ResultTable

METRIC_COLUMNS = ["frame_auc", "video_auc", "ap", "eer", "acc"]


@dataclass(frozen=True)
class Paths:
    """Where a profile's face crops, runs and results live."""

    faces: Path  # one prepared folder per dataset: faces/ffpp, faces/uadfv, faces/celebdf
    runs: Path  # one folder per run name (checkpoints, metrics.csv, config.json)
    results: Path  # results/<profile>: tables, figures; metric files under metrics/

    @classmethod
    def of(cls, settings) -> Paths:
        """The folders of :class:`jdfd_lib.core.settings.Settings` (the notebooks' settings)."""
        return cls(faces=settings.faces, runs=settings.runs, results=settings.results)

    @property
    def metrics(self) -> Path:
        """Folder of the per-(run, test set) metric, score and ROC files."""
        return self.results / "metrics"


def grid_configs(profile: str, paths: Paths, train_sets: Sequence[str],
                 detectors: Sequence[str], ratios: Sequence[float],
                 seeds: Sequence[int], overrides: Mapping[str, Any] | None = None
                 ) -> list[TrainConfig]:
    """The grid's run configs, seed-major (all of seed 0 first, so an interrupted sequential
    grid already holds complete seeds). ``overrides``: ``TrainConfig`` fields set on every
    run and the detectors' options as ``<detector>_<option>`` (each detector takes its own; a
    shorter exploration; a finished run of other values is refused, not reused)."""
    if isinstance(seeds, int) or not len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    return [detector_config(profile, train_dataset=train_set, detector=detector,
                            unlabeled_ratio=ratio, seed=int(seed),
                            faces_root=str(paths.faces), runs_dir=str(paths.runs),
                            **dict(overrides or {}))
            for seed in seeds for train_set in train_sets for detector in detectors
            for ratio in ratios]


def run_grid(profile: str, paths: Paths, train_sets: Sequence[str], test_sets: Sequence[str],
             detectors: Sequence[str] | None = ("jdfd",), ratios: Sequence[float] = (0.0,),
             seeds: Sequence[int] = (0,), jobs: int | None = None,
             overrides: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Train (or reuse) every model of a grid, evaluate it on every test set, rewrite the report.

    Args:
        profile: a ``jdfd_lib.core.config`` profile ("demo", "paper", "faces", ...).
        paths: the profile's folders.
        train_sets: dataset keys to train on.
        test_sets: dataset keys to test on (test split only).
        detectors: registered detector names (``jdfd_lib.detectors.registry``); None: every
            one that joins the comparison (notebooks 06, 08). The report's detector
            comparison shows each of them.
        ratios: unlabeled foreign-data ratios (0.0 = none).
        seeds: training seeds; each (train set, detector, ratio) is trained once per seed.
        jobs: trainings at once (:func:`~jdfd_lib.experiments.tasks.grid_jobs`; default
            ``JDFD_JOBS``, else 2 on a CPU with 2+ cores, several per GPU on CUDA).
        overrides: ``TrainConfig`` fields and detector options set on every run (see
            :func:`grid_configs`).

    Returns:
        The tidy results of all metric files of the profile
        (:func:`jdfd_lib.evaluation.results.load_results`), one row per (run, test set):
        several seeds give several rows per setting.
    """
    detectors = compared_detectors() if detectors is None else list(detectors)
    configs = grid_configs(profile, paths, train_sets, detectors, ratios, seeds, overrides)
    faces = {name: paths.faces / name for name in set(train_sets) | set(test_sets)}
    jobs = min(grid_jobs(jobs, configs[0].device), len(configs))
    if jobs == 1:
        for cfg in configs:
            train_and_evaluate(cfg, faces, test_sets, paths.metrics)
    else:
        run_parallel(configs, jobs, faces, test_sets, paths.metrics)
    return report.write_all(profile, paths.metrics, paths.results, detectors)


def show_table(paths: Paths, name: str) -> ResultTable:
    """A written table (``table2``, ``table3``, ``fig4``, ``detectors``) or sentence list
    (``comparisons``, ``detector_differences``), for display: HTML in JupyterLab, the written
    Markdown as text (:class:`jdfd_lib.reporting.display.ResultTable`)."""
    return ResultTable(paths.results, name)


def metric_table(results: pd.DataFrame, detector: str = "jdfd") -> pd.DataFrame:
    """All metrics of one detector without unlabeled data, by (train, test), over seeds.

    Args:
        results: the tidy table of :func:`jdfd_lib.evaluation.results.load_results`
            (any number of seeds).
        detector: a registered detector name.

    Returns:
        One row per (train, test): ``n_seeds``, the mean over seeds of each of
        :data:`METRIC_COLUMNS` (%, one decimal) and ``frame_auc_std`` (sample std over seeds,
        0.0 for one seed).
    """
    sel = tables.detector_runs(results, detector)
    keys = ["train_dataset", "test_dataset"]
    grp = sel.groupby(keys)
    out = (100 * grp[METRIC_COLUMNS].mean()).round(tables.DECIMALS)
    out.insert(0, "n_seeds", grp["seed"].nunique())
    std = (100 * grp["frame_auc"].std(ddof=1)).fillna(0.0).round(tables.DECIMALS)
    out.insert(out.columns.get_loc("frame_auc") + 1, "frame_auc_std", std)
    order = tables.dataset_order(sel["train_dataset"], sel["test_dataset"])
    order = {k: i for i, k in enumerate(order)}
    return out.reset_index().sort_values(keys, key=lambda s: s.map(order)).reset_index(drop=True)
