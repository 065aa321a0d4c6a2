"""The shared pieces of every results table: dataset order and labels, one detector's runs,
"mean ± std" cells and the paper's wide layout. Imported by :mod:`jdfd_lib.reporting.report`
(Tables 2-3, Fig. 4), :mod:`jdfd_lib.reporting.detector_comparison`,
:mod:`jdfd_lib.reporting.plot`, :mod:`jdfd_lib.reporting.display` and
:mod:`jdfd_lib.experiments.grid`; it imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from jdfd_lib.datasets.registry import dataset_label, ordered
from jdfd_lib.evaluation import stats
from jdfd_lib.reporting import paper_reference as paper

DECIMALS = 1  # the paper prints AUC (%) with one decimal
CSV_DECIMALS = 3  # numeric CSVs: enough to recompute, no float noise
OURS = ["ours_mean", "ours_std", "ours_n"]  # frame AUC (%) over seeds, in every long table


def dataset_order(*keys: Iterable[str]) -> list[str]:
    """Rows, columns, panels and curves: the paper's three datasets always, in its Table 2
    order (FF++, UADFV, Celeb-DF), then each other dataset present in ``keys`` in registry
    order (:func:`jdfd_lib.datasets.registry.ordered`)."""
    return ordered(set(paper.TEST_SETS).union(*map(set, keys)), first=paper.TEST_SETS)


def detector_runs(results: pd.DataFrame, detector: str) -> pd.DataFrame:
    """Rows of ``results`` for one detector trained without unlabeled foreign data."""
    sel = results[(results["detector"] == detector) & (results["unlabeled_ratio"] == 0)]
    return unique_settings(sel, ["train_dataset", "test_dataset", "seed"])


def unique_settings(sel: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``sel`` itself, after checking it holds one row per ``keys`` (one result per setting)."""
    dup = sel.duplicated(keys)
    if dup.any():
        raise ValueError(f"several results for one setting: {sel[dup]['run_name'].tolist()}")
    return sel


def ours_text(table: pd.DataFrame) -> list[str | None]:
    """The "mean ± std" strings of a long table's ``ours_*`` columns (None where missing)."""
    return [stats.format_mean_std(m, s, DECIMALS) if n else None
            for m, s, n in zip(table["ours_mean"], table["ours_std"], table["ours_n"],
                               strict=True)]


def wide(table: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """The paper's layout: ours ("mean ± std" text) and the paper's numbers per test set."""
    parts = []
    rows = table[index].drop_duplicates()  # the long table's order (the paper's), not sorted
    rows = pd.MultiIndex.from_frame(rows) if len(index) > 1 else pd.Index(rows[index[0]])
    cells = table.assign(ours=ours_text(table), paper=table["paper_frame_auc"])
    for source in ("ours", "paper"):
        p = cells.set_index([*index, "test"])[source].unstack("test")
        p = p.reindex(index=rows, columns=dataset_order(table["test"]))
        p.columns = [f"{dataset_label(c)} ({source})" for c in p.columns]
        parts.append(p.astype(float) if source == "paper" else p)
    out = pd.concat(parts, axis=1).reset_index()
    if "train" in index:
        out["train"] = out["train"].map(dataset_label)
    return out


def fig4_wide(table: pd.DataFrame) -> pd.DataFrame:
    """The Fig. 4 table as shown: one row per ratio, "mean ± std" per test set."""
    cells = table.assign(ours=ours_text(table))
    out = cells.pivot(index="unlabeled_ratio", columns="test_dataset", values="ours")
    out = out.sort_index().rename(index=lambda r: f"{round(100 * r)}%")
    out = out.reindex(columns=[c for c in dataset_order(out.columns) if c in out.columns])
    out.columns = [f"{dataset_label(c)} (ours)" for c in out.columns]
    out.index.name = "unlabeled foreign data (%)"
    return out.reset_index()


def per_seed(sel: pd.DataFrame) -> dict[int, float]:
    """seed -> frame AUC (%) of the rows of one setting (one row per seed)."""
    return {int(k): 100.0 * float(v) for k, v in zip(sel["seed"], sel["frame_auc"], strict=True)}
