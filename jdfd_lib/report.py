"""Tables 2-3 and Figs 3-4 of the paper, regenerated from our metric files (Sec. 4.3-4.4).

Inputs are the JSON/CSV files that ``jdfd_lib.evaluate`` writes (one per run and test set).
Outputs, per profile, in ``results/<profile>/``: ``table2.{csv,md}``, ``table3.{csv,md}``,
``fig3_roc.png``, ``fig4_unlabeled.png``, ``fig4.{csv,md}`` and ``metrics.json``. The paper's
own numbers are written separately to ``results/paper_reference/`` and appear beside ours
in the Markdown tables under a "paper" heading; they never enter a computation of ours.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pandas as pd

from jdfd_lib import paper_reference as paper
from jdfd_lib.paths import portable
from jdfd_lib.runinfo import write_json

TEST_ORDER = list(paper.TEST_SETS)  # Table 2 column order: FF++, UADFV, Celeb-DF
TRAIN_ORDER = ["ffpp", "uadfv", "celebdf"]
UNLABELED_RATIOS = (0.05, 0.10, 0.15)  # Fig. 4 (Sec. 4.4)
DECIMALS = 1  # the paper prints AUC (%) with one decimal


def _pct(x: pd.Series) -> pd.Series:
    return (100.0 * x).round(DECIMALS)


def _label(key: str) -> str:
    return paper.DATASET_LABELS[key]


def jdfd_runs(results: pd.DataFrame, variant: str = "jdfd") -> pd.DataFrame:
    """Rows of ``results`` for one variant trained without unlabelled foreign data."""
    sel = results[(results["variant"] == variant) & (results["unlabeled_ratio"] == 0)]
    dup = sel.duplicated(["train_dataset", "test_dataset", "seed"])
    if dup.any():
        raise ValueError(f"several results for one setting: {sel[dup]['run_name'].tolist()}")
    return sel


def table2(results: pd.DataFrame) -> pd.DataFrame:
    """Table 2 for JDFD: frame-level AUC (%) ours beside the paper's, long format.

    Args:
        results: the tidy table of ``jdfd_lib.evaluate.load_results``.

    Returns:
        One row per (train, test) with ``ours_frame_auc``, ``ours_video_auc`` and
        ``paper_frame_auc`` in percent.
    """
    ours = jdfd_runs(results).groupby(["train_dataset", "test_dataset"], as_index=False)[
        ["frame_auc", "video_auc"]
    ].mean()
    ref = {(t, k): v for m, t, vals in paper.TABLE2 if m == "JDFD" for k, v in vals.items()}
    rows = []
    for train in TRAIN_ORDER:
        for test in TEST_ORDER:
            hit = ours[(ours["train_dataset"] == train) & (ours["test_dataset"] == test)]
            rows.append({
                "train": train, "test": test,
                "ours_frame_auc": _pct(hit["frame_auc"]).iloc[0] if len(hit) else None,
                "ours_video_auc": _pct(hit["video_auc"]).iloc[0] if len(hit) else None,
                "paper_frame_auc": ref.get((train, test)),
            })
    return pd.DataFrame(rows)


def table3(results: pd.DataFrame) -> pd.DataFrame:
    """Table 3 (decoder ablation): frame AUC (%) of Baseline and JDFD, ours beside paper's."""
    ref = {(t, m, k): v for t, m, vals in paper.TABLE3 for k, v in vals.items()}
    rows = []
    ours_by = {variant: jdfd_runs(results, variant).groupby(["train_dataset", "test_dataset"])[
        "frame_auc"].mean() for variant in ("baseline", "jdfd")}
    for train in TRAIN_ORDER:  # the paper groups Table 3 by training set
        for variant, name in (("baseline", "Baseline"), ("jdfd", "JDFD")):
            ours = ours_by[variant]
            for test in TEST_ORDER:
                val = ours.get((train, test))
                rows.append({
                    "train": train, "method": name, "test": test,
                    "ours_frame_auc": None if val is None else round(100 * val, DECIMALS),
                    "paper_frame_auc": ref.get((train, name, test)),
                })
    return pd.DataFrame(rows)


def fig4_table(results: pd.DataFrame, train: str = "ffpp") -> pd.DataFrame:
    """Fig. 4: frame AUC (%) per test set against the unlabelled foreign-data ratio."""
    sel = results[(results["variant"] == "jdfd") & (results["train_dataset"] == train)]
    sel = sel[sel["unlabeled_ratio"].round(4).isin((0.0, *UNLABELED_RATIOS))]
    out = sel.groupby(["unlabeled_ratio", "test_dataset"], as_index=False)["frame_auc"].mean()
    out["frame_auc"] = _pct(out["frame_auc"])
    return out.sort_values(["unlabeled_ratio", "test_dataset"]).reset_index(drop=True)


def wide(table: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """Pivot a long table into the paper's layout: ours and paper side by side per test set."""
    parts = []
    rows = table[index].drop_duplicates()  # the long table's order (the paper's), not sorted
    rows = pd.MultiIndex.from_frame(rows) if len(index) > 1 else pd.Index(rows[index[0]])
    for source in ("ours", "paper"):
        p = table.pivot_table(index=index, columns="test", values=f"{source}_frame_auc",
                              aggfunc="first", dropna=False)
        p = p.reindex(index=rows, columns=TEST_ORDER)
        p.columns = [f"{_label(c)} ({source})" for c in p.columns]
        parts.append(p)
    out = pd.concat(parts, axis=1).reset_index()
    for col in index:
        if col == "train":
            out[col] = out[col].map(_label)
    return out


def _write_table(df: pd.DataFrame, stem: Path, title: str, note: str) -> None:
    df.to_csv(stem.with_suffix(".csv"), index=False)
    md = df.to_markdown(index=False, floatfmt=f".{DECIMALS}f", missingval="-")
    stem.with_suffix(".md").write_text(f"## {title}\n\n{md}\n\n{note}\n")


def write_paper_reference(out_dir: str | os.PathLike) -> None:
    """Write the paper's Tables 2-3 and Fig. 4 statements to their own folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    note = f"Transcribed from {paper.SOURCE}; not measured by this project."
    _write_table(paper.table2_frame(), out / "table2", "Paper Table 2: AUC (%)", note)
    _write_table(paper.table3_frame(), out / "table3", "Paper Table 3: AUC (%)", note)
    (out / "fig4_statements.md").write_text(
        "## Paper Fig. 4, as stated in Sec. 4.4\n\n"
        + "".join(f"- {s}\n" for s in paper.FIG4_STATEMENTS) + f"\n{note}\n"
    )


def write_report(results: pd.DataFrame, out_dir: str | os.PathLike, profile: str) -> dict:
    """Write Tables 2-3, the Fig. 4 table and ``metrics.json`` for one profile.

    Args:
        results: the tidy table of ``jdfd_lib.evaluate.load_results`` for this profile.
        out_dir: ``results/<profile>``.
        profile: profile name, recorded in the titles.

    Returns:
        The three tables, keyed ``table2``, ``table3``, ``fig4``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    note = (f"Ours: profile `{profile}`, frame-level AUC (%), measured by this project. "
            f"Paper: transcribed from {paper.SOURCE} (results/paper_reference/).")
    t2, t3, f4 = table2(results), table3(results), fig4_table(results)
    _write_table(wide(t2, ["train"]), out / "table2", f"Table 2 (JDFD), {profile}", note)
    _write_table(wide(t3, ["train", "method"]), out / "table3", f"Table 3, {profile}", note)
    f4w = f4.pivot(index="unlabeled_ratio", columns="test_dataset", values="frame_auc")
    f4w = f4w.sort_index().rename(index=lambda r: f"{round(100 * r)}%")
    f4w = f4w.reindex(columns=[c for c in TEST_ORDER if c in f4w.columns])
    f4w.columns = [f"{_label(c)} (ours)" for c in f4w.columns]
    f4w.index.name = "unlabelled foreign data (%)"
    _write_table(f4w.reset_index(), out / "fig4", f"Fig. 4 data, {profile}", note)
    write_json(results.to_dict(orient="records"), out / "metrics.json")
    return {"table2": t2, "table3": t3, "fig4": f4}


README_BEGIN = "<!-- demo-results:begin (written by `python -m jdfd_lib report --readme`) -->"
README_END = "<!-- demo-results:end -->"


def readme_block(results_dir: str | os.PathLike) -> str:
    """The README's results section: the written tables and figures of one profile, and the
    stage timings of its run record, between the README markers."""
    out = Path(results_dir)
    parts = [README_BEGIN]
    for name in ("table2", "table3", "fig4"):
        text = (out / f"{name}.md").read_text().strip()
        parts.append(text.replace("## ", "#### ", 1))
    rel = portable(out)  # links relative to the project root, where the README is
    parts.append(f"![Fig. 3]({rel}/fig3_roc.png)\n![Fig. 4]({rel}/fig4_unlabeled.png)")
    record = out / "run_record.json"
    if record.is_file():
        stages = json.loads(record.read_text()).get("stages", {})
        rows = " | ".join(f"{k} {v['seconds']:.0f} s" for k, v in sorted(stages.items()))
        total = sum(v["seconds"] for v in stages.values())
        parts.append(f"Stage times of the run that wrote these files (`{rel}/run_record.json`): "
                     f"{rows}; total {total / 60:.1f} min.")
    parts.append(README_END)
    return "\n\n".join(parts) + "\n"


def sync_readme(readme: str | os.PathLike, results_dir: str | os.PathLike) -> bool:
    """Replace the README's results section by :func:`readme_block`; True if it changed.

    Raises:
        ValueError: the README lacks the begin/end markers.
    """
    path = Path(readme)
    text = path.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"{path}: expected the markers {README_BEGIN!r} and {README_END!r}")
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    new = head + readme_block(results_dir).rstrip("\n") + tail
    if new != text:
        path.write_text(new)
    return new != text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m jdfd_lib report``."""
    parser.add_argument("--metrics", required=True, help="folder of evaluate's JSON files")
    parser.add_argument("--out", required=True, help="results folder, e.g. results/demo")
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--readme", help="also rewrite this README's results section")


def write_all(profile: str, metrics_dir: str | os.PathLike,
              results_dir: str | os.PathLike) -> pd.DataFrame:
    """Rewrite one profile's tables, figures and the paper reference from every metric file.

    Args:
        profile: keep the results of this profile only.
        metrics_dir: the folder ``evaluate`` wrote to.
        results_dir: ``results/<profile>``; the paper reference goes beside it.

    Returns:
        The profile's tidy results (``jdfd_lib.evaluate.load_results``).
    """
    from jdfd_lib.evaluate import load_results  # these pull in torch and matplotlib
    from jdfd_lib.plot import save_fig3, save_fig4

    out = Path(results_dir)
    results = load_results(metrics_dir)
    results = results[results["profile"] == profile]
    tables = write_report(results, out, profile)
    save_fig3(results, metrics_dir, out / "fig3_roc.png")
    if not tables["fig4"].empty:
        save_fig4(tables["fig4"], out / "fig4_unlabeled.png")
    write_paper_reference(out.parent / "paper_reference")
    return results


def run(args: argparse.Namespace) -> int:
    """Build the tables and figures from a metrics folder."""
    write_all(args.profile, args.metrics, args.out)
    print((Path(args.out) / "table2.md").read_text())
    if args.readme and sync_readme(args.readme, args.out):
        print(f"updated {args.readme}")
    return 0
