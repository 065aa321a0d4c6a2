"""Figures: Fig. 3 (ROC curves), Fig. 4 (unlabeled foreign data) and notebook displays.

Fig. 3 of the paper shows the ROC curves of JDFD for the nine (train, test) pairs; Fig. 4
the AUC on each test set for 5%, 10% and 15% unlabeled foreign data (Sec. 4.3-4.4). Ours
show the spread over training seeds: mean ROC with a ± 1 std band, bars with ± 1 std error
bars (``jdfd_lib.evaluation.stats``). The other helpers draw what the notebooks show: sample frames,
aligned crops with their 68 landmarks, loss curves and reconstructions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from jdfd_lib.core.atomic import atomic_path  # noqa: E402
from jdfd_lib.datasets.registry import dataset_label, get_dataset, list_datasets  # noqa: E402
from jdfd_lib.evaluation.results import read_roc  # noqa: E402
from jdfd_lib.evaluation.stats import format_mean_std, seed_mean_std  # noqa: E402
from jdfd_lib.reporting.paper_reference import PAPER_NAMES, TABLE2_DETECTOR  # noqa: E402
from jdfd_lib.reporting.tables import dataset_order  # noqa: E402

PANELS_PER_ROW = 3  # Fig. 3: the paper's three training sets side by side; more wrap
FPR_GRID = np.linspace(0.0, 1.0, 201)  # common FPR points of the seed-averaged ROC (Fig. 3)
NOTEBOOK_WIDTH = 9.0  # inches: a figure this wide shows at its size in a JupyterLab column


def mean_roc(rocs: Sequence[pd.DataFrame], grid: np.ndarray = FPR_GRID
             ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample std (ddof=1; 0 for one curve) of TPR over seeds on a common FPR grid.

    Each ROC (columns ``fpr``, ``tpr`` as ``jdfd_lib.evaluation.metrics.roc_points`` writes them) is
    linearly interpolated at ``grid`` (``np.interp``; at an FPR with a vertical step it takes
    the top of the step); every curve starts at (0, 0).
    """
    tprs = np.stack([np.interp(grid, r["fpr"], r["tpr"]) for r in rocs])
    if grid[0] == 0:
        tprs[:, 0] = 0.0
    std = tprs.std(axis=0, ddof=1) if len(tprs) > 1 else np.zeros_like(grid)
    return tprs.mean(axis=0), std


def _letter(key: str) -> str:
    """A dataset's Fig. 3 legend letter (the paper's F, U, C; each spec names its own)."""
    return get_dataset(key).letter if key in list_datasets() else key


def fig3(results: pd.DataFrame, metrics_dir: str | os.PathLike,
         detector: str = TABLE2_DETECTOR) -> plt.Figure:
    """ROC curves of one detector (the paper's: JDFD), one panel per training set, one curve
    per test set (Fig. 3).

    With several training seeds a curve is the mean TPR over seeds on a common FPR grid,
    shaded ± 1 std; the legend gives the frame AUC (%) as mean ± std and the seed count.
    """
    sel = results[(results["detector"] == detector) & (results["unlabeled_ratio"] == 0)]
    trains = dataset_order(sel["train_dataset"])  # the paper's three panels, then any other
    tests = dataset_order(sel["test_dataset"])
    ncols = min(PANELS_PER_ROW, len(trains))
    nrows = -(-len(trains) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13 * ncols / PANELS_PER_ROW, 4.3 * nrows),
                             sharey=True, squeeze=False)
    for ax in axes.flat[len(trains):]:
        ax.set_visible(False)
    n_max = 0
    for ax, train in zip(axes.flat, trains, strict=False):
        for test in tests:
            hit = sel[(sel["train_dataset"] == train) & (sel["test_dataset"] == test)]
            if hit.empty:
                continue
            n_max = max(n_max, _seed_roc(ax, hit, metrics_dir, test,
                                         f"({_letter(train)}, {_letter(test)})"))
        ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
        ax.set(title=f"trained on {dataset_label(train)}", xlabel="false positive rate",
               xlim=(0, 1), ylim=(0, 1.01))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=7, title="mean over seeds, band ± 1 std",
                      title_fontsize=7)
        else:  # a paper training set without results yet
            ax.text(0.5, 0.5, "no results yet", ha="center", va="center", color="grey")
    for row in axes:
        row[0].set_ylabel("true positive rate")
    fig.suptitle(f"Fig. 3 (ours): frame-level ROC of {PAPER_NAMES.get(detector, detector)}"
                 f", (train, test), mean ± std over "
                 f"{n_max} training seed{'' if n_max == 1 else 's'}")
    fig.tight_layout()
    return fig


def _seed_roc(ax: plt.Axes, hit: pd.DataFrame, metrics_dir: str | os.PathLike, test: str,
              name: str) -> int:
    """Draw the mean ROC over the seeds of ``hit`` (one row per run on ``test``) with a ± 1
    std band; the legend entry is ``name`` and the frame AUC as mean ± std. Returns n seeds."""
    mean, std = mean_roc([read_roc(metrics_dir, r, test) for r in hit["run_name"]])
    auc, auc_std, n = seed_mean_std(100 * hit["frame_auc"].to_numpy(dtype=float))
    line, = ax.plot(FPR_GRID, mean, lw=1.6,
                    label=f"{name} AUC {format_mean_std(auc, auc_std)} (n={n})")
    ax.fill_between(FPR_GRID, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                    color=line.get_color(), alpha=0.2, lw=0)
    return n


def comparison_roc(results: pd.DataFrame, metrics_dir: str | os.PathLike,
                   trains: Sequence[str], detectors: Sequence[str],
                   labels: dict[str, str] | None = None) -> plt.Figure:
    """ROC curves of several detectors: one row of panels per training set, one panel per
    test set, one curve per detector (mean over seeds, band ± 1 std; runs without unlabeled
    data)."""
    labels = labels or {}
    sel = results[results["detector"].isin(detectors) & (results["unlabeled_ratio"] == 0)
                  & results["train_dataset"].isin(trains)]
    tests = dataset_order(sel["test_dataset"])
    fig, axes = plt.subplots(len(trains), max(1, len(tests)), squeeze=False, sharey=True,
                             figsize=(3.4 * max(1, len(tests)), 3.4 * len(trains)))
    for row, train in zip(axes, trains, strict=True):
        for ax, test in zip(row, tests, strict=False):
            for d in detectors:
                hit = sel[(sel["detector"] == d) & (sel["train_dataset"] == train)
                          & (sel["test_dataset"] == test)]
                if not hit.empty:
                    _seed_roc(ax, hit, metrics_dir, test, labels.get(d, d))
            ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
            ax.set(title=f"{dataset_label(train)} -> {dataset_label(test)}", xlim=(0, 1),
                   ylim=(0, 1.01), xlabel="false positive rate")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="lower right", fontsize=6)
        row[0].set_ylabel("true positive rate")
    fig.suptitle("Detectors compared: frame-level ROC (train -> test), mean over seeds, "
                 "band ± 1 std", fontsize=10)
    fig.tight_layout()
    return fig


def fig4(table: pd.DataFrame) -> plt.Figure:
    """AUC (%) on each test set against the unlabeled foreign-data ratio (Fig. 4).

    Args:
        table: ``jdfd_lib.reporting.report.fig4_table``: unlabeled_ratio, test_dataset, ours_mean,
            ours_std, ours_n. Bars are the mean over seeds, error bars ± 1 std.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4))
    tests = [k for k in dataset_order(table["test_dataset"]) if k in set(table["test_dataset"])]
    ratios = sorted(table["unlabeled_ratio"].unique())
    width = 0.8 / max(1, len(ratios))
    colors = sns.color_palette(n_colors=max(1, len(ratios)))
    for j, (ratio, color) in enumerate(zip(ratios, colors, strict=True)):
        rows = table[table["unlabeled_ratio"] == ratio].set_index("test_dataset").reindex(tests)
        x = np.arange(len(tests)) - 0.4 + width * (j + 0.5)
        ax.bar(x, rows["ours_mean"], width, yerr=rows["ours_std"], capsize=3, color=color,
               label=f"{round(100 * ratio)}%", error_kw={"lw": 1})
    n = table["ours_n"]
    seeds = f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
    ax.set_xticks(np.arange(len(tests)), [dataset_label(k) for k in tests])
    ax.set(xlabel="test set",
           ylabel=f"frame AUC (%), mean ± std over {seeds} seed{'s' if n.max() > 1 else ''}",
           ylim=(0, 100), title="Fig. 4 (ours): training on FF++ + unlabeled foreign data")
    ax.legend(title="unlabeled", fontsize=8)
    fig.tight_layout()
    return fig


def save_fig3(results: pd.DataFrame, metrics_dir: str | os.PathLike, path: str | os.PathLike
              ) -> Path:
    """Draw Fig. 3 and save it as PNG."""
    return _save(fig3(results, metrics_dir), path)


def save_comparison_roc(results: pd.DataFrame, metrics_dir: str | os.PathLike,
                        path: str | os.PathLike, trains: Sequence[str],
                        detectors: Sequence[str], labels: dict[str, str] | None = None) -> Path:
    """Draw :func:`comparison_roc` and save it as PNG."""
    return _save(comparison_roc(results, metrics_dir, trains, detectors, labels), path)


def save_fig4(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Draw Fig. 4 and save it as PNG."""
    return _save(fig4(table), path)


def learning_curve(curve: pd.DataFrame, title: str) -> plt.Figure:
    """Val and test frame AUC (%, mean ± std over seeds) against training images (log x)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for key, label in (("val_auc", "validation"), ("test_auc", "test")):
        ax.errorbar(curve["train_images"], curve[f"{key}_mean"], yerr=curve[f"{key}_std"],
                    marker="o", capsize=3, label=label)
    ax.fill_between(curve["train_images"], curve["test_auc_lo"], curve["test_auc_hi"],
                    alpha=0.15, label="test 95% bootstrap")
    ax.set_xscale("log")
    ax.set(xlabel="training images used", ylabel="frame AUC (%)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_learning_curve(curve: pd.DataFrame, path: str | os.PathLike, title: str) -> Path:
    """Draw the learning curve (:func:`learning_curve`) and save it as PNG."""
    return _save(learning_curve(curve, title), path)


def _save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_path(path, suffix=path.suffix) as tmp:  # savefig picks the format from it
        # no timestamp in the PNG metadata, so an unchanged figure gives an unchanged file
        fig.savefig(tmp, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], cols: int = 6,
               size: float = 2.0) -> plt.Figure:
    """Show RGB images (H, W, 3) in a grid with one title each, at most
    :data:`NOTEBOOK_WIDTH` wide (each image ``size`` inches or less)."""
    rows = max(1, int(np.ceil(len(images) / cols)))
    size = min(size, NOTEBOOK_WIDTH / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, images, titles, strict=False):
        ax.imshow(img)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def crops_with_landmarks(images: Sequence[np.ndarray], landmarks: Sequence[np.ndarray],
                         titles: Sequence[str], cols: int = 6) -> plt.Figure:
    """Aligned crops with their 68 dlib landmarks (crop coordinates, shape (68, 2))."""
    fig = image_grid(images, titles, cols=cols)
    for ax, pts in zip(fig.axes, landmarks, strict=False):
        ax.scatter(pts[:, 0], pts[:, 1], s=3, c="lime")
    return fig


def _epoch_axis(ax: plt.Axes, epochs: pd.Series) -> None:
    """Whole epochs only on the x axis, with half an epoch of margin (one epoch included)."""
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, min_n_ticks=1))
    if len(epochs):
        ax.set_xlim(epochs.min() - 0.5, epochs.max() + 0.5)


def training_curves(metrics: pd.DataFrame) -> plt.Figure:
    """Loss terms and validation AUC per epoch from a run's ``metrics.csv``."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(NOTEBOOK_WIDTH, 3.2))
    for col in [c for c in metrics.columns if c.startswith(("train_", "val_loss"))]:
        a.plot(metrics["epoch"], metrics[col], marker="o", label=col)
    a.set(xlabel="epoch", ylabel="loss", title="losses (Eq. 3-5)")
    a.legend(fontsize=8)
    if "val_auc" in metrics:
        b.plot(metrics["epoch"], 100 * metrics["val_auc"], marker="o")
    b.set(xlabel="epoch", ylabel="validation frame AUC (%)", title="model selection (val only)")
    for ax in (a, b):
        _epoch_axis(ax, metrics["epoch"])
    fig.tight_layout()
    return fig


def reconstructions(inputs: Sequence[np.ndarray], recons: Sequence[np.ndarray],
                    errors: Sequence[np.ndarray], titles: Sequence[str]) -> plt.Figure:
    """Inputs, their reconstructions and the per-pixel error maps, one column each."""
    return face_rows([("input", inputs, None), ("reconstruction", recons, None),
                      ("error", errors, "magma")], titles)


def face_rows(rows: Sequence[tuple[str, Sequence[np.ndarray], str | None]],
              titles: Sequence[str], width: float = NOTEBOOK_WIDTH) -> plt.Figure:
    """One row per view of the same faces (name, images, colour map for one-channel maps;
    None for RGB), one column per face titled by ``titles``, ``width`` inches wide.

    A one-channel row shares one colour scale over its faces (its min to max), shown by a
    colour bar labelled with the row's name, so equal colours mean equal values across faces.
    """
    n = len(titles)
    side = min(2.0, width / (n + 0.4))  # one face per column, room for the colour bars
    fig, axes = plt.subplots(len(rows), n, figsize=(side * (n + 0.4), side * len(rows) + 0.3),
                             squeeze=False)
    for i, (name, images, cmap) in enumerate(rows):
        scale = {}
        if cmap is not None:  # one scale for the row
            scale = {"vmin": float(min(np.min(m) for m in images[:n])),
                     "vmax": float(max(np.max(m) for m in images[:n]))}
        for j in range(n):
            ax = axes[i, j]
            shown = ax.imshow(images[j], cmap=cmap, **scale)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(name, fontsize=8)
        if cmap is not None:
            bar = fig.colorbar(shown, ax=list(axes[i]), fraction=0.02, pad=0.01)
            bar.set_label(name, fontsize=7)
            bar.ax.tick_params(labelsize=6)
    for j in range(n):
        axes[0, j].set_title(titles[j], fontsize=7)
    return fig
