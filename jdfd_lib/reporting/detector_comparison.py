"""Every registered detector on the same crops, splits, selection rule and seeds: one table.

The JDFD paper's Table 2 compares against numbers copied from other papers, each with its own
data, crops and model selection. Here JDFD, its no-decoder baseline, LAE (Du et al. 2020) and
Exposing the Deception (Ba et al. 2024) are trained by the same trainer on one training set
(FF++ by default, the standard protocol) and scored on every test set: rows = detectors,
columns = test sets, cells = mean ± std over training seeds of the frame AUC (%). The figures
the papers themselves publish for the *same* protocol (frame AUC, trained on FF++ c23) stand
beside ours, labelled with their source, never mixed in: JDFD's Table 2 and Table 3 give JDFD's
and the baseline's; the sources this project holds for LAE and Exposing the Deception give no
figure for this protocol, so their cells say so. Which differences from JDFD exceed the spread
over seeds is decided by :func:`jdfd_lib.evaluation.stats.compare_seeds`, per test set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from jdfd_lib.core.atomic import write_csv, write_text
from jdfd_lib.datasets.registry import dataset_label
from jdfd_lib.evaluation import stats
from jdfd_lib.reporting import paper_reference as paper
from jdfd_lib.reporting.report import (
    CSV_DECIMALS,
    DECIMALS,
    dataset_order,
    detector_runs,
    ours_text,
    per_seed,
)

COMPARED = ("jdfd", "baseline", "lae", "exposing")  # the table's rows, in this order
LABELS = {"jdfd": "JDFD", "baseline": "Baseline", "lae": "LAE",
          "exposing": "Exposing the Deception"}
REFERENCE = "jdfd"  # the detector every other one is compared with
NO_FIGURE = "no figure for this protocol in the sources"


def published(train: str) -> dict[tuple[str, str], tuple[float, str]]:
    """(detector, test) -> (frame AUC %, source) that a paper publishes for training on
    ``train`` with this protocol; only JDFD's paper gives any (its Tables 2 and 3)."""
    out = {}
    for method, t, values in paper.TABLE2:
        if method == "JDFD" and t == train:
            out.update({("jdfd", k): (v, "JDFD paper, Table 2") for k, v in values.items()
                        if v is not None})
    for t, method, values in paper.TABLE3:
        if method == "Baseline" and t == train:
            out.update({("baseline", k): (v, "JDFD paper, Table 3") for k, v in values.items()})
    return out


def comparison_table(results: pd.DataFrame, train: str = "ffpp",
                     detectors: tuple[str, ...] = COMPARED) -> pd.DataFrame:
    """The long comparison table.

    Args:
        results: the tidy table of :func:`jdfd_lib.evaluation.results.load_results`.
        train: the training set of every run compared.
        detectors: registered detector names, in row order.

    Returns:
        One row per (detector, test set): ``detector``, ``label``, ``test``, ``ours_mean``,
        ``ours_std``, ``ours_n`` (frame AUC %, over seeds; NaN / 0 without runs),
        ``published`` (the paper's figure or NaN) and ``published_source``.
    """
    ours = {d: stats.mean_std_by(_runs(results, d, train), ["test_dataset"], "frame_auc")
            for d in detectors}
    tests = dataset_order([k[0] for d in detectors for k in ours[d]])
    figures = published(train)
    rows = []
    for d in detectors:
        for test in tests:
            value, source = figures.get((d, test), (None, NO_FIGURE))
            rows.append({"detector": d, "label": LABELS.get(d, d), "test": test,
                         **ours[d].get((test,), stats.empty_mean_std()),
                         "published": value, "published_source": source})
    return pd.DataFrame(rows)


def _runs(results: pd.DataFrame, detector: str, train: str) -> pd.DataFrame:
    sel = detector_runs(results, detector)
    return sel[sel["train_dataset"] == train]


def comparison_wide(table: pd.DataFrame) -> pd.DataFrame:
    """One row per detector: "mean ± std" of ours, then the published figure, per test set."""
    cells = table.assign(ours=ours_text(table))
    order = list(dict.fromkeys(table["label"]))
    parts = []
    for source, column in (("ours", "ours"), ("published", "published")):
        part = cells.pivot(index="label", columns="test", values=column).reindex(order)
        part = part.reindex(columns=list(dict.fromkeys(table["test"])))
        part.columns = [f"{dataset_label(c)} ({source})" for c in part.columns]
        parts.append(part.astype(float) if source == "published" else part)
    return pd.concat(parts, axis=1).rename_axis("detector").reset_index()


def differences(results: pd.DataFrame, train: str = "ffpp",
                detectors: tuple[str, ...] = COMPARED, reference: str = REFERENCE
                ) -> pd.DataFrame:
    """Each detector against ``reference`` per test set: paired over common seeds
    (:func:`jdfd_lib.evaluation.stats.compare_seeds`; frame-AUC points, detector minus
    reference), with the sentence saying whether the difference exceeds the seeds' spread."""
    ref = _runs(results, reference, train)
    rows = []
    for d in detectors:
        if d == reference:
            continue
        runs = _runs(results, d, train)
        for test in dataset_order(runs["test_dataset"], ref["test_dataset"]):
            a, b = (per_seed(r[r["test_dataset"] == test]) for r in (runs, ref))
            if not a or not b:
                continue
            rows.append({"detector": d, "reference": reference, "train": train, "test": test,
                         **stats.compare_seeds(a, b, LABELS.get(d, d),
                                               LABELS.get(reference, reference),
                                               f"{dataset_label(train)} -> {dataset_label(test)}")})
    return pd.DataFrame(rows, columns=["detector", "reference", "train", "test", "mean", "std",
                                       "n", "lo", "hi", "p", "significant", "sentence"])



def write_comparison(results: pd.DataFrame, out_dir: str | os.PathLike, profile: str,
                     train: str = "ffpp", detectors: tuple[str, ...] = COMPARED) -> dict:
    """Write ``detectors.{csv,md}`` (the long table; the wide one in Markdown) and
    ``detector_differences.{csv,md}`` into ``out_dir`` (``results/<profile>``).

    Returns:
        ``table`` and ``differences`` (the DataFrames written).
    """
    out = Path(out_dir)
    table = comparison_table(results, train, detectors)
    diffs = differences(results, train, detectors)
    seeds = ", ".join(str(s) for s in sorted(results["seed"].unique())) or "none"
    note = (f"Profile `{profile}`, every detector trained on {dataset_label(train)} by the same "
            f"trainer, splits and validation-only selection; frame AUC (%), mean ± std over "
            f"training seeds ({seeds}; per cell `ours_n` in the CSV). Published: the paper's "
            f"own figure for the same protocol, with its source in the CSV; never ours.")
    write_csv(table.round(CSV_DECIMALS), out / "detectors.csv")
    md = comparison_wide(table).to_markdown(index=False, floatfmt=f".{DECIMALS}f",
                                            missingval="-")
    write_text(out / "detectors.md", f"## Detectors compared, {profile}\n\n{md}\n\n{note}\n")
    write_csv(diffs.round(CSV_DECIMALS), out / "detector_differences.csv")
    lines = [f"- {s}" for s in diffs["sentence"]] or ["No pair of detectors to compare."]
    write_text(out / "detector_differences.md",
               f"## Differences from {LABELS[REFERENCE]}, {profile}\n\n" + "\n".join(lines)
               + "\n\nFrame-AUC points (%), detector minus JDFD, paired over common seeds, 95% t "
                 "interval.\n")
    return {"table": table, "differences": diffs}
