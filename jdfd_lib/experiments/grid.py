"""The experiment grids behind Tables 2-3 and Fig. 4 (paper Sec. 4.3-4.4).

A grid is a set of trainings (train set x variant x unlabelled ratio) each evaluated on the
test split of every test set. Finished trainings and evaluations are skipped (``train`` and
``evaluate`` both check their outputs), so the notebooks can be re-run cheaply and an
interrupted grid resumes where it stopped. A grid can run several training seeds; after each
grid the report (tables as mean ± std over seeds, comparisons, figures, metrics.json) is
rewritten from *all* metric files of the profile.

On a CPU, trainings of a grid run ``jobs`` at a time in separate processes, each with
``cpu_count // jobs`` torch threads: the models of the demo are small enough that one process
does not keep two cores busy (two 1-thread processes train 1.2-1.3x faster than one 2-thread
process, BENCHMARKS.md). Each run is still seeded and deterministic for its thread count,
which its ``config.json`` records (``num_threads``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from jdfd_lib.core.config import TrainConfig
from jdfd_lib.core.errors import UserError
from jdfd_lib.detectors.registry import detector_config
from jdfd_lib.evaluation.evaluate import evaluate
from jdfd_lib.reporting import report
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


JOBS_ENV = "JDFD_JOBS"  # environment override of the number of parallel trainings


def grid_jobs(jobs: int | None, device: str = "auto", cpus: int | None = None) -> int:
    """How many trainings of a grid run at once.

    Args:
        jobs: the caller's choice; None reads ``JDFD_JOBS``, and without it: 1 on CUDA (one
            GPU trains one run at a time), else 2 when there are at least 2 CPU cores.
        device: the runs' ``device`` setting ("auto" means CUDA when available).
        cpus: CPU cores available (default: ``os.cpu_count()``).

    Raises:
        UserError: ``jobs`` or ``JDFD_JOBS`` is not a positive integer.
    """
    if jobs is None and os.environ.get(JOBS_ENV):
        text = os.environ[JOBS_ENV]
        if not text.isdigit() or int(text) < 1:
            raise UserError(f"{JOBS_ENV}={text!r}: expected a positive integer")
        jobs = int(text)
    if jobs is not None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise UserError(f"jobs: expected a positive integer, got {jobs!r}")
        return jobs
    import torch  # heavy; only to ask whether CUDA will be used

    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return 1 if cuda else min(2, cpus or os.cpu_count() or 1)


def grid_configs(profile: str, paths: Paths, train_sets: Sequence[str],
                 variants: Sequence[str], ratios: Sequence[float],
                 seeds: Sequence[int]) -> list[TrainConfig]:
    """The grid's run configs, seed-major (all of seed 0 first, so an interrupted sequential
    grid already holds complete seeds)."""
    if isinstance(seeds, int) or not len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    return [detector_config(profile, train_dataset=train_set, variant=variant,
                            unlabeled_ratio=ratio, seed=int(seed),
                            faces_root=str(paths.faces), out_dir=str(paths.runs))
            for seed in seeds for train_set in train_sets for variant in variants
            for ratio in ratios]


def train_and_evaluate(cfg: TrainConfig, faces: dict[str, Path], test_sets: Sequence[str],
                       metrics_dir: Path, progress: bool = True) -> str:
    """Train (or reuse, or resume) one run and evaluate its ``best.pt`` on every test set.

    Returns:
        The run name.
    """
    from jdfd_lib.training.train import train  # heavy import, only when a grid runs

    run_dir = train(cfg, resume=True, progress=progress)  # an interrupted run continues
    evaluate(run_dir / "best.pt", faces, list(test_sets), metrics_dir)
    return cfg.run_name


def _in_worker(cfg: TrainConfig, faces: dict[str, Path], test_sets: Sequence[str],
               metrics_dir: Path) -> tuple[str, float]:
    """One grid task in a worker process: quiet (the parent reports), with the run's threads."""
    import torch

    torch.set_num_threads(cfg.num_threads)  # evaluation too; train() sets it for training
    os.environ["TQDM_DISABLE"] = "1"  # two processes' bars would interleave
    start = time.perf_counter()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        name = train_and_evaluate(cfg, faces, test_sets, metrics_dir, progress=False)
    return name, time.perf_counter() - start


def _run_parallel(configs: list[TrainConfig], jobs: int, faces: dict[str, Path],
                  test_sets: Sequence[str], metrics_dir: Path) -> None:
    """Run the grid's tasks ``jobs`` at a time; the first failure stops the grid (the
    finished runs stay, and the next call resumes)."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    configs = [replace(c, num_threads=threads) for c in configs]
    print(f"grid: {len(configs)} runs, {jobs} at a time, {threads} thread(s) each")
    # spawn, not fork: the parent (a Jupyter kernel) may hold torch threads
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        pending = {pool.submit(_in_worker, c, faces, test_sets, metrics_dir) for c in configs}
        done_count = 0
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    name, seconds = future.result()  # re-raises a worker's error here
                    done_count += 1
                    print(f"grid: [{done_count}/{len(configs)}] {name} done ({seconds:.0f} s)")
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def run_grid(profile: str, paths: Paths, train_sets: Sequence[str], test_sets: Sequence[str],
             variants: Sequence[str] = ("jdfd",), ratios: Sequence[float] = (0.0,),
             seeds: Sequence[int] = (0,), jobs: int | None = None) -> pd.DataFrame:
    """Train (or reuse) every model of a grid, evaluate it on every test set, rewrite the report.

    Args:
        profile: "demo" or "paper" (``jdfd_lib.core.config`` profiles).
        paths: the profile's folders.
        train_sets: dataset keys to train on.
        test_sets: dataset keys to test on (test split only).
        variants: registered detector names (``jdfd_lib.detectors.registry``).
        ratios: unlabelled foreign-data ratios (0.0 = none).
        seeds: training seeds; each (train set, variant, ratio) is trained once per seed.
        jobs: trainings at once (:func:`grid_jobs`; default ``JDFD_JOBS``, else 2 on a CPU
            with 2+ cores, 1 on CUDA).

    Returns:
        The tidy results of all metric files of the profile
        (:func:`jdfd_lib.evaluation.results.load_results`), one row per (run, test set):
        several seeds give several rows per setting.
    """
    configs = grid_configs(profile, paths, train_sets, variants, ratios, seeds)
    faces = {name: paths.faces / name for name in set(train_sets) | set(test_sets)}
    jobs = min(grid_jobs(jobs, configs[0].device), len(configs))
    if jobs == 1:
        for cfg in configs:
            train_and_evaluate(cfg, faces, test_sets, paths.metrics)
    else:
        _run_parallel(configs, jobs, faces, test_sets, paths.metrics)
    return report.write_all(profile, paths.metrics, paths.results)


def show_table(paths: Paths, name: str) -> ResultTable:
    """A written table (``table2``, ``table3``, ``fig4``, ``detectors``) or sentence list
    (``comparisons``, ``detector_differences``), for display: HTML in JupyterLab, the written
    Markdown as text (:class:`jdfd_lib.reporting.display.ResultTable`)."""
    return ResultTable(paths.results, name)


def metric_table(results: pd.DataFrame, variant: str = "jdfd") -> pd.DataFrame:
    """All metrics of one variant without unlabelled data, by (train, test), over seeds.

    Args:
        results: the tidy table of :func:`jdfd_lib.evaluation.results.load_results`
            (any number of seeds).
        variant: a registered detector name.

    Returns:
        One row per (train, test): ``n_seeds``, the mean over seeds of each of
        :data:`METRIC_COLUMNS` (%, one decimal) and ``frame_auc_std`` (sample std over seeds,
        0.0 for one seed).
    """
    sel = report.detector_runs(results, variant)
    keys = ["train_dataset", "test_dataset"]
    grp = sel.groupby(keys)
    out = (100 * grp[METRIC_COLUMNS].mean()).round(report.DECIMALS)
    out.insert(0, "n_seeds", grp["seed"].nunique())
    std = (100 * grp["frame_auc"].std(ddof=1)).fillna(0.0).round(report.DECIMALS)
    out.insert(out.columns.get_loc("frame_auc") + 1, "frame_auc_std", std)
    order = report.dataset_order(sel["train_dataset"], sel["test_dataset"])
    order = {k: i for i, k in enumerate(order)}
    return out.reset_index().sort_values(keys, key=lambda s: s.map(order)).reset_index(drop=True)
