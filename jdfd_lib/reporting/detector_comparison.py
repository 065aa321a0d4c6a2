"""Every registered detector on the same crops, splits, selection rule and seeds: one table.

The JDFD paper's Table 2 compares against numbers copied from other papers, each with its own
data, crops and model selection. Here every registered detector that joins the comparison
(:attr:`~jdfd_lib.detectors.base.Detector.compared`: JDFD, its no-decoder baseline, LAE (Du et
al. 2020), Exposing the Deception (Ba et al. 2024), and any detector registered since) is
trained by the same trainer on one training set
(FF++ by default, the standard protocol) and scored on every test set: rows = detectors,
columns = test sets, cells = mean ± std over training seeds of the frame AUC (%). The figures
the papers themselves publish for the *same* protocol (frame AUC, same training set) stand
beside ours, labelled with their source, never mixed in: JDFD's Table 2 and Table 3 give JDFD's
and the baseline's; the sources this project holds for LAE and Exposing the Deception give no
figure for this protocol, so their cells say so. Which differences from JDFD exceed the spread
over seeds is decided by :func:`jdfd_lib.evaluation.stats.compare_seeds`, per test set.
Rows, their order and labels come from the detector registry (:func:`rows`), never a list
kept here.
The demo trains on FF++ only; the paper profile on each of the three training sets
(:func:`default_train_sets`), one table per training set. ROC curves per test set:
:func:`comparison_roc`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from jdfd_lib.core.atomic import write_csv, write_text
from jdfd_lib.core.config import PAPER_PROTOCOL_PROFILES, PROFILES
from jdfd_lib.datasets.registry import dataset_label, ordered
from jdfd_lib.detectors.registry import (
    compared_detectors,
    comparison_order,
    detector_class,
    detector_config,
    detector_label,
    list_detectors,
)
from jdfd_lib.evaluation import stats
from jdfd_lib.reporting import paper_reference as paper
from jdfd_lib.reporting.tables import (
    CSV_DECIMALS,
    DECIMALS,
    dataset_order,
    detector_runs,
    ours_text,
    per_seed,
)

REFERENCE = paper.TABLE2_DETECTOR  # the detector every other one is compared with: JDFD
NO_FIGURE = "no figure for this protocol in the sources"


def default_train_sets(profile: str) -> list[str]:
    """The training sets compared: FF++ (the standard protocol) in the demo, where six more
    runs per training set would not fit its time budget; the DFDC faces in the real-faces
    study; the paper's three otherwise."""
    return {"demo": ["ffpp"], "faces": ["dfdc_faces"], "faces_paper": ["dfdc_faces"]}.get(
        profile, ["ffpp", "uadfv", "celebdf"])


def rows(results: pd.DataFrame, detectors: Sequence[str] = ()) -> list[str]:
    """The comparison's rows, in the registry's order: every registered detector that joins
    the comparison (a row without runs shows the gap, and any published figure), every
    detector of ``results`` no longer registered, and ``detectors`` (those a grid just
    trained, even one that does not join by default): a detector trained is never left out."""
    gone = set(results["detector"]) - set(list_detectors())
    return comparison_order([*compared_detectors(), *gone, *detectors])


def published(train: str) -> dict[tuple[str, str], tuple[float, str]]:
    """(detector, test) -> (frame AUC %, source) that a paper publishes for training on
    ``train`` with this protocol; only JDFD's paper gives any: Table 2, else Table 3, for
    each detector behind its rows (:data:`paper.PAPER_NAMES`)."""
    out = {}
    for detector, name in paper.PAPER_NAMES.items():
        for source, table in (("Table 2", paper.TABLE2), ("Table 3", paper.TABLE3)):
            for a, b, values in table:
                method, t = (a, b) if table is paper.TABLE2 else (b, a)
                if method == name and t == train:
                    out.update({(detector, k): (v, f"JDFD paper, {source}")
                                for k, v in values.items()
                                if v is not None and (detector, k) not in out})
    return out


def compared_trains(results: pd.DataFrame, detectors: Sequence[str] | None = None
                    ) -> list[str]:
    """Training sets on which a detector besides JDFD and its baseline (the paper's own
    Tables 2-3) has runs without unlabeled data, in report order."""
    others = [d for d in (rows(results) if detectors is None else detectors)
              if d not in paper.PAPER_NAMES]
    sel = results[results["detector"].isin(others) & (results["unlabeled_ratio"] == 0)]
    present = set(sel["train_dataset"])
    return [t for t in dataset_order(present) if t in present]


def comparison_table(results: pd.DataFrame, train: str = "ffpp",
                     detectors: Sequence[str] | None = None,
                     with_published: bool = True) -> pd.DataFrame:
    """The long comparison table.

    Args:
        results: the tidy table of :func:`jdfd_lib.evaluation.results.load_results`.
        train: the training set of every run compared.
        detectors: registered detector names, in row order (None: :func:`rows`).
        with_published: columns for the paper's three test sets and its published figures
            (the paper's protocol); False: only the test sets with results, no figures.

    Returns:
        One row per (detector, test set): ``train``, ``detector``, ``label``, ``test``,
        ``ours_mean``,
        ``ours_std``, ``ours_n`` (frame AUC %, over seeds; NaN / 0 without runs),
        ``published`` (the paper's figure or NaN) and ``published_source``.
    """
    detectors = rows(results) if detectors is None else list(detectors)
    ours = {d: stats.mean_std_by(_runs(results, d, train), ["test_dataset"], "frame_auc")
            for d in detectors}
    keys = [k[0] for d in detectors for k in ours[d]]
    tests = dataset_order(keys) if with_published else ordered(set(keys))
    figures = published(train) if with_published else {}
    out = []
    for d in detectors:
        for test in tests:
            value, source = figures.get((d, test), (None, NO_FIGURE))
            out.append({"train": train, "detector": d, "label": detector_label(d), "test": test,
                         **ours[d].get((test,), stats.empty_mean_std()),
                         "published": value, "published_source": source})
    return pd.DataFrame(out)


def _runs(results: pd.DataFrame, detector: str, train: str) -> pd.DataFrame:
    sel = detector_runs(results, detector)
    return sel[sel["train_dataset"] == train]


def comparison_wide(table: pd.DataFrame, with_published: bool = True) -> pd.DataFrame:
    """One row per detector: "mean ± std" of ours, then (``with_published``) the published
    figure, per test set."""
    cells = table.assign(ours=ours_text(table))
    order = list(dict.fromkeys(table["label"]))
    parts = []
    sources = (("ours", "ours"), ("published", "published"))[:2 if with_published else 1]
    for source, column in sources:
        part = cells.pivot(index="label", columns="test", values=column).reindex(order)
        part = part.reindex(columns=list(dict.fromkeys(table["test"])))
        part.columns = [f"{dataset_label(c)} ({source})" for c in part.columns]
        parts.append(part.astype(float) if source == "published" else part)
    out = pd.concat(parts, axis=1).rename_axis("detector").reset_index()
    return out.astype(object).where(out.notna(), None)  # no figure: "-" in Markdown, not nan


def differences(results: pd.DataFrame, train: str = "ffpp",
                detectors: Sequence[str] | None = None, reference: str = REFERENCE
                ) -> pd.DataFrame:
    """Each detector against ``reference`` per test set: paired over common seeds
    (:func:`jdfd_lib.evaluation.stats.compare_seeds`; frame-AUC points, detector minus
    reference), with the sentence saying whether the difference exceeds the seeds' spread."""
    ref = _runs(results, reference, train)
    out = []
    for d in rows(results) if detectors is None else detectors:
        if d == reference:
            continue
        runs = _runs(results, d, train)
        for test in dataset_order(runs["test_dataset"], ref["test_dataset"]):
            a, b = (per_seed(r[r["test_dataset"] == test]) for r in (runs, ref))
            if not a or not b:
                continue
            out.append({"detector": d, "reference": reference, "train": train, "test": test,
                        **stats.compare_seeds(a, b, detector_label(d),
                                              detector_label(reference),
                                              f"{dataset_label(train)} -> {dataset_label(test)}")})
    return pd.DataFrame(out, columns=["detector", "reference", "train", "test", "mean", "std",
                                       "n", "lo", "hi", "p", "significant", "sentence"])



def _notes(profile: str, detectors: Sequence[str]) -> str:
    """What each registered detector says of how the profile runs it
    (:meth:`~jdfd_lib.detectors.base.Detector.comparison_note`), one sentence each."""
    if profile not in PROFILES:
        return ""
    notes = [detector_class(d).comparison_note(detector_config(profile, detector=d))
             for d in detectors if d in list_detectors()]
    return "".join(f" {n}" for n in notes if n)


def write_comparison(results: pd.DataFrame, out_dir: str | os.PathLike, profile: str,
                     trains: Sequence[str] = ("ffpp",), detectors: Sequence[str] | None = None,
                     metrics_dir: str | os.PathLike | None = None) -> dict:
    """Write ``detectors.{csv,md}`` (the long table of every training set; in Markdown one
    wide table per training set) and ``detector_differences.{csv,md}`` into ``out_dir``
    (``results/<profile>``), and with ``metrics_dir`` (where the ROC files are) the ROC
    curves ``detectors_roc.png``. ``detectors``: the rows (None: :func:`rows`).

    Returns:
        ``table`` and ``differences`` (the DataFrames written, all training sets).
    """
    out = Path(out_dir)
    detectors = rows(results) if detectors is None else list(detectors)
    paper_protocol = profile in PAPER_PROTOCOL_PROFILES  # else another dataset: no figures
    tables = [comparison_table(results, t, detectors, paper_protocol) for t in trains]
    diffs = pd.concat([differences(results, t, detectors) for t in trains], ignore_index=True)
    seeds = ", ".join(str(s) for s in sorted(results["seed"].unique())) or "none"
    note = (f"Profile `{profile}`, every detector trained by the same trainer, splits and "
            f"validation-only selection; frame AUC (%), mean ± std over training seeds "
            f"({seeds}; per cell `ours_n` in the CSV). " + (
                "Published: the paper's own figure for the same protocol, with its source in "
                "the CSV; never ours." if paper_protocol else "No published figure exists for "
                "this data, so none stands beside ours.")) + _notes(profile, detectors)
    sections = [f"### Trained on {dataset_label(t)}\n\n" + comparison_wide(
        table, paper_protocol).to_markdown(
        index=False, floatfmt=f".{DECIMALS}f", missingval="-") for t, table in zip(
        trains, tables, strict=True)]
    table = pd.concat(tables, ignore_index=True)
    write_csv(table.round(CSV_DECIMALS), out / "detectors.csv")
    write_text(out / "detectors.md", f"## Detectors compared, {profile}\n\n"
               + "\n\n".join(sections) + f"\n\n{note}\n")
    write_csv(diffs.round(CSV_DECIMALS), out / "detector_differences.csv")
    lines = [f"- {s}" for s in diffs["sentence"]] or ["No pair of detectors to compare."]
    write_text(out / "detector_differences.md",
               f"## Differences from {detector_label(REFERENCE)}, {profile}\n\n" + "\n".join(lines)
               + "\n\nFrame-AUC points (%), detector minus JDFD, paired over common seeds, 95% t "
                 "interval; a difference is significant when the interval excludes 0.\n")
    if metrics_dir is not None:
        from jdfd_lib.reporting.plot import save_comparison_roc  # matplotlib: only to draw

        save_comparison_roc(results, metrics_dir, out / "detectors_roc.png", list(trains),
                            detectors, {d: detector_label(d) for d in detectors})
    return {"table": table, "differences": diffs}



def against_trivial(results: pd.DataFrame, reference: pd.DataFrame,
                    detectors: Sequence[str] | None = None) -> pd.DataFrame:
    """Does each detector clearly beat the trivial reference (8x8-pixel logistic regression,
    :func:`jdfd_lib.evaluation.trivial.reference_with_intervals`)?

    The rule, decided here: a detector beats it on a (train, test) pair when *every* seed's
    frame AUC lies above the upper end of the reference's 95 % bootstrap interval (over test
    videos), i.e. the difference exceeds both the test set's sampling noise and the seeds'
    spread.

    Returns:
        One row per (detector, train, test) with runs: ``mean``, ``std``, ``lowest`` (the
        lowest seed, %), the reference's ``trivial``, ``trivial_lo``, ``trivial_hi`` (%) and
        ``beats`` (bool), and the sentence that says so.
    """
    out = []
    for ref in reference.itertuples():
        for d in rows(results) if detectors is None else detectors:
            runs = _runs(results, d, ref.train_dataset)
            auc = 100 * runs.loc[runs["test_dataset"] == ref.test_dataset, "frame_auc"]
            if auc.empty:
                continue
            mean, std, n = stats.seed_mean_std(auc)
            beats = bool(auc.min() > ref.ci_high)
            where = f"{dataset_label(ref.train_dataset)} -> {dataset_label(ref.test_dataset)}"
            verdict = "clearly beats" if beats else "does not clearly beat"
            out.append({"detector": d, "train": ref.train_dataset, "test": ref.test_dataset,
                         "mean": mean, "std": std, "n": n, "lowest": float(auc.min()),
                         "trivial": ref.frame_auc, "trivial_lo": ref.ci_low,
                         "trivial_hi": ref.ci_high, "beats": beats,
                         "sentence": f"{detector_label(d)} {verdict} the trivial reference on "
                                     f"{where}: {stats.format_mean_std(mean, std)} over {n} "
                                     f"seeds (lowest {auc.min():.1f}) against "
                                     f"{ref.frame_auc:.1f} ({ref.ci_low:.1f}-{ref.ci_high:.1f})"})
    return pd.DataFrame(out, columns=["detector", "train", "test", "mean", "std", "n",
                                       "lowest", "trivial", "trivial_lo", "trivial_hi",
                                       "beats", "sentence"])


def write_trivial(results: pd.DataFrame, reference: pd.DataFrame, out_dir: str | os.PathLike,
                  profile: str, detectors: Sequence[str] | None = None) -> pd.DataFrame:
    """Write ``trivial.{csv,md}``: the reference and each detector against it
    (:func:`against_trivial`)."""
    out = Path(out_dir)
    table = against_trivial(results, reference, detectors)
    write_csv(table.round(CSV_DECIMALS), out / "trivial.csv")
    lines = [f"- {s}" for s in table["sentence"]] or ["No detector has results to compare."]
    write_text(out / "trivial.md", f"## Against the trivial reference, {profile}\n\n"
               + "\n".join(lines) + "\n\nFrame AUC (%). Trivial reference: logistic regression "
               "on crops shrunk to 8x8 pixels (colour and coarse layout, no texture), 95% "
               "bootstrap interval over test videos. A detector clearly beats it when every "
               "seed's AUC lies above that interval.\n")
    return table
