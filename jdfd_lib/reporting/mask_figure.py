"""Official beside derived forgery masks of FF++ face crops: an IoU table and a figure.

Issue 10: where a dataset ships no masks (Celeb-DF, UADFV), ``prepare --masks derived`` derives
one from the difference between a fake frame and the same frame of its pristine source
(:func:`jdfd_lib.faces.masks.derive_mask`, threshold ``ExtractConfig.mask_threshold``). FF++
ships mask videos, so on FF++ the derivation can be checked against them:
:func:`jdfd_lib.faces.masks.derived_vs_true` derives masks for crops that have an official one
and warps both with the crop's alignment (paper Sec. 3.1: the similarity transform of the
68 dlib landmarks). Such masks are the pixel-level forgery targets of LAE (Du et al. 2020), one
of the detectors compared with JDFD. This module turns that comparison into what notebook 01
shows: the IoU summary (:func:`iou_summary`) and a figure of a few crops (:func:`mask_figure`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from jdfd_lib.evaluation.stats import format_mean_std, seed_mean_std  # noqa: E402
from jdfd_lib.faces.index import INDEX_NAME  # noqa: E402
from jdfd_lib.faces.masks import (  # noqa: E402
    DEFAULT_MASK_THRESHOLD,
    NoOfficialMasksError,
    derived_vs_true,
)

COMPARE_CROPS = 200  # crops the notebook compares (seeded draw): ~10 s on 2 cores for 128 px
FIGURE_ROWS = 4  # crops the figure shows: one per FF++ method
PANEL_INCHES = 2.2  # side of one panel; four columns make 8.8 in, a notebook column
PICKS = ("median", "worst", "first")  # which crops of each method the figure shows
ALL = "all"  # the summary's row over every compared crop
COLUMNS = ["method", "video", "frame", "iou", "true_area", "derived_area", "image", "true",
           "derived", "pristine"]  # those of derived_vs_true


def compare_masks(faces_root: str | os.PathLike, n: int | None = COMPARE_CROPS,
                  threshold: float = DEFAULT_MASK_THRESHOLD, seed: int = 0) -> pd.DataFrame:
    """:func:`~jdfd_lib.faces.masks.derived_vs_true`, or no rows where there is nothing to compare.

    A folder that was never prepared, or that holds no official mask (FF++ without its mask
    videos, Celeb-DF, UADFV), gives an empty frame and a warning saying why, so that a
    notebook run on such data goes on.

    Args:
        faces_root: a prepared dataset folder (FF++, with official mask crops).
        n: crops to compare, a seeded draw (None: all).
        threshold: the derivation's difference threshold (``ExtractConfig.mask_threshold``).
        seed: seed of the draw.

    Returns:
        One row per compared crop, the columns of ``derived_vs_true`` (:data:`COLUMNS`).
    """
    root = Path(faces_root)
    if not (root / INDEX_NAME).is_file():
        warnings.warn(f"{root}: not a prepared folder (no {INDEX_NAME}); no masks compared",
                      stacklevel=2)
        return pd.DataFrame(columns=COLUMNS)
    try:
        return derived_vs_true(root, n=n, threshold=threshold, seed=seed)
    except NoOfficialMasksError as err:
        warnings.warn(f"{err}; no masks compared", stacklevel=2)
        return pd.DataFrame(columns=COLUMNS)


def iou_summary(compared: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """IoU of derived with official masks: mean ± std (ddof=1) and count, per method and all.

    Args:
        compared: rows of :func:`~jdfd_lib.faces.masks.derived_vs_true` (at least ``method``,
            ``iou``, ``true_area``, ``derived_area``).
        decimals: decimals of the formatted ``iou`` column.

    Returns:
        Indexed by method (sorted), then :data:`ALL`: ``n``, ``iou_mean``, ``iou_std``,
        ``iou`` (``"0.797 ± 0.091"``), and the mean shares of the crop each mask covers,
        ``true_area`` and ``derived_area``. No rows when ``compared`` has none.
    """
    groups = [] if compared.empty else [
        *((str(m), g) for m, g in compared.groupby("method", sort=True)), (ALL, compared)]
    rows = []
    for name, grp in groups:
        mean, std, n = seed_mean_std(grp["iou"].to_numpy(dtype=np.float64))
        rows.append({"method": name, "n": n, "iou_mean": mean, "iou_std": std,
                     "iou": format_mean_std(mean, std, decimals),
                     "true_area": float(grp["true_area"].astype(float).mean()),
                     "derived_area": float(grp["derived_area"].astype(float).mean())})
    columns = ["n", "iou_mean", "iou_std", "iou", "true_area", "derived_area"]
    return pd.DataFrame(rows, columns=["method", *columns]).set_index("method")


def pick_examples(compared: pd.DataFrame, rows: int = FIGURE_ROWS,
                  pick: str = "median") -> pd.DataFrame:
    """A few compared crops, one per method in turn (methods sorted) until ``rows``.

    Args:
        compared: rows of :func:`~jdfd_lib.faces.masks.derived_vs_true`.
        rows: crops to pick (fewer when fewer were compared).
        pick: which crops of a method come first: ``median`` (IoU nearest the method's
            median: typical ones), ``worst`` (lowest IoU) or ``first`` (as listed).

    Returns:
        The picked rows of ``compared``, in the order to show them.

    Raises:
        ValueError: ``pick`` is not one of :data:`PICKS`.
    """
    if pick not in PICKS:
        raise ValueError(f"pick must be one of {PICKS}, got {pick!r}")
    if compared.empty:
        return compared
    ranked = []
    for _, grp in compared.groupby("method", sort=True):
        iou = grp["iou"].astype(float)
        key = {"median": (iou - iou.median()).abs(), "worst": iou,
               "first": pd.Series(np.arange(len(grp)), index=grp.index)}[pick]
        order = key.sort_values(kind="stable").index
        ranked.append(pd.Series(np.arange(len(order)), index=order))
    rank = pd.concat(ranked)  # position of each crop within its method
    order = sorted(rank.index, key=lambda i: (rank[i], compared.at[i, "method"]))
    return compared.loc[order[:rows]]


def mask_figure(compared: pd.DataFrame, rows: int = FIGURE_ROWS,
                pick: str = "median") -> plt.Figure:
    """Fake crops, their pristine source, the official and the derived mask, one crop a row.

    Columns: the fake face crop (titled method, video and frame), the same frame of its
    pristine source warped like it (left out when no row has one), the official mask and the
    derived mask, titled with its IoU with the official one; the official mask's outline is
    drawn in red over the derived one.

    Args:
        compared: rows of :func:`~jdfd_lib.faces.masks.derived_vs_true` (with the images).
        rows: crops to show (:func:`pick_examples`).
        pick: which crops (:data:`PICKS`).

    Returns:
        The figure, at most 10 in wide (:data:`PANEL_INCHES` per panel). Without any compared
        crop, one panel that says so.
    """
    sel = pick_examples(compared, rows, pick)
    if sel.empty:
        fig, ax = plt.subplots(figsize=(4 * PANEL_INCHES, 1.0))
        ax.axis("off")
        ax.text(0.5, 0.5, "no crop with an official mask to compare", ha="center", va="center")
        return fig
    with_pristine = "pristine" in sel and bool(sel["pristine"].notna().any())
    panels = ["image", "pristine", "true", "derived"] if with_pristine else [
        "image", "true", "derived"]
    fig, axes = plt.subplots(len(sel), len(panels), squeeze=False,
                             figsize=(PANEL_INCHES * len(panels), PANEL_INCHES * len(sel) + 0.3))
    for ax_row, row in zip(axes, sel.itertuples(), strict=True):
        for ax, panel in zip(ax_row, panels, strict=True):
            ax.set_xticks([])
            ax.set_yticks([])
            _panel(ax, panel, row)
    fig.suptitle("official vs derived forgery masks (red: official outline)", fontsize=9)
    fig.tight_layout()
    return fig


def _panel(ax: plt.Axes, panel: str, row: tuple) -> None:
    """Draw one panel of :func:`mask_figure` for one compared crop (an ``itertuples`` row)."""
    image = getattr(row, panel)
    if panel == "image":
        ax.imshow(image)
        ax.set_title(f"{row.method} {row.video} #{row.frame}", fontsize=8)
    elif panel == "pristine":
        if image is not None:
            ax.imshow(image)
        ax.set_title("pristine source" if image is not None else "pristine: unreadable",
                     fontsize=8)
    else:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        if panel == "true":
            ax.set_title(f"official mask ({row.true_area:.0%} of crop)", fontsize=8)
            return
        true = np.asarray(row.true) > 127
        if true.any() and not true.all():
            ax.contour(true, levels=[0.5], colors="red", linewidths=0.8)
        ax.set_title(f"derived mask, IoU {row.iou:.2f}", fontsize=8)
