"""Tables 2-3 and Figs 3-4 of the paper, regenerated from our metric files (Sec. 4.3-4.4).

Inputs: the result files ``evaluate`` writes, read by :mod:`jdfd_lib.evaluation.results`. Each
cell of ours is the mean ± sample std of the frame AUC (%) over the training seeds present. Outputs
in ``results/<profile>/``: ``table2``, ``table3``, ``fig4`` (``.csv`` long and numeric:
``ours_mean``, ``ours_std``, ``ours_n``; ``.md``: "mean ± std" beside the paper),
``comparisons.{csv,md}`` (paired t tests over seeds: JDFD vs Baseline, each unlabeled ratio
vs 0 %), ``fig3_roc.png``, ``fig4_unlabeled.png``, ``metrics.json``, and when the related
detectors have runs the comparison of :mod:`jdfd_lib.reporting.detector_comparison`. The
paper's numbers are written to ``results/<profile>/paper_reference/`` (inside the folder given,
as everything a command writes) and stand beside ours under "paper"; they never enter a
computation of ours.
"""

from __future__ import annotations

import argparse
import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from jdfd_lib.core.atomic import write_csv, write_json, write_text
from jdfd_lib.core.config import PAPER_PROTOCOL_PROFILES
from jdfd_lib.datasets.registry import dataset_label, ordered
from jdfd_lib.evaluation import stats
from jdfd_lib.evaluation.results import load_results
from jdfd_lib.reporting import paper_reference as paper
from jdfd_lib.reporting.tables import (
    CSV_DECIMALS,
    DECIMALS,
    OURS,
    dataset_order,
    detector_runs,
    fig4_wide,
    per_seed,
    unique_settings,
    wide,
)

UNLABELED_RATIOS = (0.05, 0.10, 0.15)  # Fig. 4 (Sec. 4.4)
COMPARISON_COLUMNS = ["setting", "a", "b", "train", "test", "mean", "std", "n", "lo", "hi",
                      "p", "significant", "sentence"]


def _ratio_runs(results: pd.DataFrame, train: str,
                detector: str = paper.FIG4_DETECTOR) -> pd.DataFrame:
    """Rows of ``detector`` trained on ``train`` with an unlabeled ratio of Fig. 4 (0 %
    included)."""
    sel = results[(results["detector"] == detector) & (results["train_dataset"] == train)]
    sel = sel[sel["unlabeled_ratio"].round(4).isin((0.0, *UNLABELED_RATIOS))]
    sel = sel.assign(unlabeled_ratio=sel["unlabeled_ratio"].round(4))
    return unique_settings(sel, ["unlabeled_ratio", "test_dataset", "seed"])


def table2(results: pd.DataFrame, detector: str = paper.TABLE2_DETECTOR) -> pd.DataFrame:
    """Table 2 for one detector (the paper's: JDFD): frame-level AUC (%) over seeds, ours
    beside the paper's, long format.

    Args:
        results: the tidy table of :func:`jdfd_lib.evaluation.results.load_results` (any
            number of seeds).
        detector: the registered detector whose runs fill the table.

    Returns:
        One row per (train, test): ``ours_mean``, ``ours_std``, ``ours_n`` (frame AUC, %,
        mean and sample std over the seeds, number of seeds), ``ours_video_mean``,
        ``ours_video_std`` (video AUC, %) and ``paper_frame_auc``.
    """
    sel = detector_runs(results, detector)
    keys = ["train_dataset", "test_dataset"]
    frame = stats.mean_std_by(sel, keys, "frame_auc")
    video = stats.mean_std_by(sel, keys, "video_auc", "ours_video")
    label = paper.PAPER_NAMES.get(detector, detector)
    ref = {(t, k): v for m, t, vals in paper.TABLE2 if m == label for k, v in vals.items()}
    rows = []
    order = dataset_order(sel["train_dataset"], sel["test_dataset"])
    for train in order:
        for test in order:
            rows.append({"train": train, "test": test,
                         **frame.get((train, test), stats.empty_mean_std()),
                         **video.get((train, test), stats.empty_mean_std("ours_video")),
                         "paper_frame_auc": ref.get((train, test))})
    return pd.DataFrame(rows).drop(columns="ours_video_n")  # = ours_n


def table3(results: pd.DataFrame,
           detectors: tuple[str, ...] = paper.TABLE3_DETECTORS) -> pd.DataFrame:
    """Table 3 (decoder ablation; the paper's: Baseline and JDFD): frame AUC (%) over seeds
    of each detector, beside the paper's; columns train, method, test, ``ours_mean``,
    ``ours_std``, ``ours_n``, ``paper_frame_auc``."""
    ref = {(t, m, k): v for t, m, vals in paper.TABLE3 for k, v in vals.items()}
    keys = ["train_dataset", "test_dataset"]
    ours_by = {d: stats.mean_std_by(detector_runs(results, d), keys, "frame_auc")
               for d in detectors}
    rows = []
    order = dataset_order([k for v in detectors for pair in ours_by[v] for k in pair])
    for train in order:  # the paper groups Table 3 by training set
        for d in detectors:
            name = paper.PAPER_NAMES.get(d, d)
            for test in order:
                rows.append({"train": train, "method": name, "test": test,
                             **ours_by[d].get((train, test), stats.empty_mean_std()),
                             "paper_frame_auc": ref.get((train, name, test))})
    return pd.DataFrame(rows)


def fig4_table(results: pd.DataFrame, train: str = "ffpp") -> pd.DataFrame:
    """Fig. 4: frame AUC (%) over seeds per test set against the unlabeled foreign-data ratio.

    Returns:
        Columns ``unlabeled_ratio``, ``test_dataset``, ``ours_mean``, ``ours_std``,
        ``ours_n``; one row per (ratio, test set) present, by ratio then test set.
    """
    ours = stats.mean_std_by(_ratio_runs(results, train), ["unlabeled_ratio", "test_dataset"],
                             "frame_auc")
    rows = [{"unlabeled_ratio": r, "test_dataset": t, **v} for (r, t), v in ours.items()]
    out = pd.DataFrame(rows, columns=["unlabeled_ratio", "test_dataset", *OURS])
    order = {k: i for i, k in enumerate(dataset_order(out["test_dataset"]))}
    out = out.sort_values(["unlabeled_ratio", "test_dataset"],
                          key=lambda s: s.map(order) if s.name == "test_dataset" else s)
    return out.reset_index(drop=True)


def seed_note(table: pd.DataFrame, results: pd.DataFrame) -> str:
    """How many training seeds each cell of a long table averages (from its ``ours_n``)."""
    n = table.loc[table["ours_n"] > 0, "ours_n"]
    seeds = ", ".join(str(s) for s in sorted(results["seed"].unique()))
    if n.empty:
        return "No results of ours yet."
    count = f"{n.iloc[0]}" if n.min() == n.max() else f"{n.min()}-{n.max()} (per cell: `ours_n`)"
    one = " With one seed there is no spread: std 0.0 means not measured." if n.max() == 1 else ""
    return (f"Ours: mean ± std (sample std) over {count} training seed"
            f"{'' if n.max() == 1 else 's'} (seeds in these results: {seeds}).{one}")


def _write_table(df: pd.DataFrame, stem: Path, title: str, note: str,
                 csv: pd.DataFrame | None = None) -> None:
    """Markdown of ``df``; CSV of ``csv`` (the numeric long table) or else of ``df``."""
    write_csv(df if csv is None else csv.round(CSV_DECIMALS), stem.with_suffix(".csv"))
    md = df.to_markdown(index=False, floatfmt=f".{DECIMALS}f", missingval="-")
    write_text(stem.with_suffix(".md"), f"## {title}\n\n{md}\n\n{note}\n")


def write_paper_reference(out_dir: str | os.PathLike) -> None:
    """Write the paper's Tables 2-3 and Fig. 4 statements to their own folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    note = f"Transcribed from {paper.SOURCE}; not measured by this project."
    _write_table(paper.table2_frame(), out / "table2", "Paper Table 2: AUC (%)", note)
    _write_table(paper.table3_frame(), out / "table3", "Paper Table 3: AUC (%)", note)
    write_text(out / "fig4_statements.md", "## Paper Fig. 4, as stated in Sec. 4.4\n\n"
               + "".join(f"- {s}\n" for s in paper.FIG4_STATEMENTS) + f"\n{note}\n")


def comparisons(results: pd.DataFrame, train_fig4: str = "ffpp") -> pd.DataFrame:
    """Paired t tests over training seeds of the differences the paper draws conclusions from.

    (a) the last of Table 3's detectors vs the first (JDFD vs Baseline) for every (train,
    test) cell; (b) Fig. 4's detector (JDFD) trained on ``train_fig4`` with 5/10/15 %
    unlabeled foreign data vs 0 %, per test set.
    Differences are in frame-AUC points (%), ``a - b``.

    Args:
        results: the tidy table of :func:`jdfd_lib.evaluation.results.load_results`.
        train_fig4: training set of the Fig. 4 study.

    Returns:
        Columns :data:`COMPARISON_COLUMNS`, one row per pair of settings that both have
        results; where they share fewer than 2 seeds the numbers are NaN and ``sentence``
        says so.
    """
    first, last = paper.TABLE3_DETECTORS[0], paper.TABLE3_DETECTORS[-1]
    la, lb, lf = (paper.PAPER_NAMES.get(d, d) for d in (last, first, paper.FIG4_DETECTOR))
    base, ours, runs = (detector_runs(results, first), detector_runs(results, last),
                        _ratio_runs(results, train_fig4))
    pairs = []  # (setting, a, b, train, test, rows of a, rows of b)
    order = dataset_order(results["train_dataset"], results["test_dataset"])
    for train, test in itertools.product(order, order):
        a, b = (s[(s["train_dataset"] == train) & (s["test_dataset"] == test)]
                for s in (ours, base))
        pairs.append((f"decoder: {la} vs {lb}", la, lb, train, test, a, b))
    for ratio, test in itertools.product(UNLABELED_RATIOS, order):
        a, b = (runs[(runs["unlabeled_ratio"] == round(r, 4)) & (runs["test_dataset"] == test)]
                for r in (ratio, 0.0))
        pct = round(100 * ratio)
        pairs.append((f"unlabeled: {pct}% vs 0%", f"{lf} + {pct}% unlabeled", f"{lf} + 0%",
                      train_fig4, test, a, b))
    rows = [{"setting": setting, "a": a_name, "b": b_name, "train": train, "test": test,
             **stats.compare_seeds(per_seed(a), per_seed(b), a_name, b_name,
                                   f"{dataset_label(train)} -> {dataset_label(test)}")}
            for setting, a_name, b_name, train, test, a, b in pairs if len(a) and len(b)]
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def comparisons_markdown(comp: pd.DataFrame, results: pd.DataFrame, profile: str) -> str:
    """``comparisons.md``: one bullet per comparison, or why there is none."""
    done = comp[comp["n"] >= 2] if len(comp) else comp
    seeds = sorted(results["seed"].unique())
    lines = [f"## Comparisons over training seeds, {profile}", ""]
    if comp.empty:
        lines.append("No pairs of settings (JDFD and Baseline, or unlabeled ratios) to "
                     "compare in these results.")
    elif done.empty:
        lines.append(f"A comparison needs at least 2 training seeds per setting; these results "
                     f"have {len(seeds)} (seeds {', '.join(map(str, seeds))}), so none is "
                     f"made. Train more seeds (`run_grid(..., seeds=[0, 1, 2])`).")
    else:
        lines += [f"- {s}" for s in done["sentence"]]
        skipped = comp[comp["n"] < 2]
        if len(skipped):
            lines += ["", f"Not compared (fewer than 2 common seeds): {len(skipped)} pairs."]
        lines += ["", f"Frame-AUC points (%), a minus b, paired over common seeds, 95% t "
                      f"interval. {len(done)} tests at 5%: about {0.05 * len(done):.1f} pass by "
                      f"chance alone (no multiple-comparison correction). Spread over training "
                      f"seeds only; each run's bootstrap interval over test videos is in its "
                      f"metric file (`intervals`)."]
    return "\n".join(lines) + "\n"


def write_report(results: pd.DataFrame, out_dir: str | os.PathLike, profile: str) -> dict:
    """Write Tables 2-3, the Fig. 4 table, the comparisons and ``metrics.json``.

    Args:
        results: the tidy table of :func:`jdfd_lib.evaluation.results.load_results` for this
            profile (all seeds: each cell becomes mean ± std over them).
        out_dir: ``results/<profile>``.
        profile: profile name, recorded in the titles.

    Returns:
        The long tables, keyed ``table2``, ``table3``, ``fig4`` and ``comparisons``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t2, t3, f4 = table2(results), table3(results), fig4_table(results)

    def note(table: pd.DataFrame) -> str:
        return (f"{seed_note(table, results)} Profile `{profile}`, frame-level AUC (%), "
                f"measured by this project; numbers in the CSV (`ours_mean`, `ours_std`, "
                f"`ours_n`). Paper: transcribed from {paper.SOURCE} "
                f"(`paper_reference/` in this folder), single values as printed.")

    _write_table(wide(t2, ["train"]), out / "table2", f"Table 2 (JDFD), {profile}", note(t2),
                 csv=t2)
    _write_table(wide(t3, ["train", "method"]), out / "table3", f"Table 3, {profile}",
                 note(t3), csv=t3)
    _write_table(fig4_wide(f4), out / "fig4", f"Fig. 4 data, {profile}", note(f4), csv=f4)
    comp = comparisons(results)
    write_csv(comp.round(CSV_DECIMALS), out / "comparisons.csv")
    write_text(out / "comparisons.md", comparisons_markdown(comp, results, profile))
    write_metrics_json(results, out)
    return {"table2": t2, "table3": t3, "fig4": f4, "comparisons": comp}


def write_metrics_json(results: pd.DataFrame, out: Path) -> None:
    """``out/metrics.json``: one record per (run, test set), NaN as null (valid JSON); what
    ``check-results`` compares."""
    records = results.astype(object).where(results.notna(), None)
    write_json(records.to_dict(orient="records"), out / "metrics.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m jdfd_lib report``."""
    parser.add_argument("--metrics", required=True, help="folder of evaluate's JSON files")
    parser.add_argument("--out", required=True, help="results folder, e.g. results/demo")
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--readme", help="also rewrite this README's headline block and the "
                        "whole results in docs/results.md beside it")


def write_all(profile: str, metrics_dir: str | os.PathLike, results_dir: str | os.PathLike,
              detectors: Sequence[str] = ()) -> pd.DataFrame:
    """Rewrite one profile's tables, figures and the paper reference from every metric file
    (a profile outside the paper's protocol, ``faces``: ``metrics.json`` and the detector
    comparison only).

    Args:
        profile: keep the results of this profile only.
        metrics_dir: the folder ``evaluate`` wrote to.
        results_dir: ``results/<profile>``; the paper reference goes in its
            ``paper_reference/``.
        detectors: the detectors just trained: rows of the detector comparison besides every
            registered detector that joins it and has results
            (:func:`jdfd_lib.reporting.detector_comparison.rows`).

    Returns:
        The profile's tidy results (:func:`jdfd_lib.evaluation.results.load_results`).
    """
    from jdfd_lib.reporting.plot import save_fig3, save_fig4  # matplotlib: only when drawing

    out = Path(results_dir)
    results = load_results(metrics_dir)
    results = results[results["profile"] == profile]
    paper_protocol = profile in PAPER_PROTOCOL_PROFILES
    if paper_protocol:
        tables = write_report(results, out, profile)
        save_fig3(results, metrics_dir, out / "fig3_roc.png")
        if not tables["fig4"].empty:
            save_fig4(tables["fig4"], out / "fig4_unlabeled.png")
    else:  # another dataset than the paper's (faces): its own study, no paper tables
        out.mkdir(parents=True, exist_ok=True)
        write_metrics_json(results, out)
    from jdfd_lib.reporting import detector_comparison  # the detector registry: torch

    rows = detector_comparison.rows(results, detectors)
    trains = detector_comparison.compared_trains(results, rows)
    if not paper_protocol and not trains:  # the study's own table, whichever detectors ran
        trains = ordered(set(results["train_dataset"]))
    if trains:  # the related detectors have runs: notebook 06's table and ROC curves
        detector_comparison.write_comparison(results, out, profile, trains, rows,
                                             metrics_dir=metrics_dir)
    if paper_protocol:
        write_paper_reference(out / "paper_reference")
    return results


def run(args: argparse.Namespace) -> int:
    """Build the tables and figures from a metrics folder."""
    write_all(args.profile, args.metrics, args.out)
    main_table = "table2.md" if args.profile in PAPER_PROTOCOL_PROFILES else "detectors.md"
    print((Path(args.out) / main_table).read_text())
    from jdfd_lib.reporting.readme import sync_detector_table, sync_readme

    if args.readme and sync_readme(args.readme, args.out, args.profile):
        print(f"updated {args.readme}")
    if args.readme and sync_detector_table(args.readme):
        print(f"updated the detector table of {args.readme}")
    return 0
