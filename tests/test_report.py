"""Tables 2-3 and Fig. 4 are built from our metric rows; the paper's numbers sit beside."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from jdfd_lib import paper_reference, report

SETS = ("ffpp", "uadfv", "celebdf")


def _results() -> pd.DataFrame:
    rows = []
    for k, (variant, train, test) in enumerate(itertools.product(("jdfd", "baseline"), SETS, SETS)):
        rows.append({"run_name": f"demo-{variant}-{train}-u00-s0", "profile": "demo",
                     "variant": variant, "train_dataset": train, "unlabeled_ratio": 0.0,
                     "seed": 0, "test_dataset": test, "frame_auc": 0.5 + k / 100,
                     "video_auc": 0.6, "ap": 0.5, "eer": 0.4, "acc": 0.5})
    for ratio in (0.05, 0.10, 0.15):
        for test in SETS:
            rows.append({"run_name": f"demo-jdfd-ffpp-u{round(ratio * 100):02d}-s0",
                         "profile": "demo", "variant": "jdfd", "train_dataset": "ffpp",
                         "unlabeled_ratio": ratio, "seed": 0, "test_dataset": test,
                         "frame_auc": 0.7 + ratio, "video_auc": 0.7, "ap": 0.5, "eer": 0.3,
                         "acc": 0.6})
    return pd.DataFrame(rows)


def test_table2_puts_ours_beside_the_paper() -> None:
    t2 = report.table2(_results())
    assert len(t2) == 9
    row = t2[(t2["train"] == "uadfv") & (t2["test"] == "celebdf")].iloc[0]
    # ours: jdfd, uadfv row is k = 1*3+2 = 5 -> 0.55 -> 55.0 %
    assert row["ours_frame_auc"] == pytest.approx(55.0)
    assert row["paper_frame_auc"] == 64.9  # Table 2 as printed


def test_table3_keeps_the_papers_inconsistent_number_as_printed() -> None:
    t3 = report.table3(_results())
    jdfd = t3[(t3["train"] == "uadfv") & (t3["method"] == "JDFD") & (t3["test"] == "celebdf")]
    assert jdfd["paper_frame_auc"].iloc[0] == 65.2  # Table 3 says 65.2, Table 2 says 64.9
    base = t3[(t3["train"] == "ffpp") & (t3["method"] == "Baseline") & (t3["test"] == "uadfv")]
    # baseline rows come after the 9 jdfd rows: k = 9 + 1*3 ... ffpp is index 0 -> k = 9 + 1
    assert base["ours_frame_auc"].iloc[0] == pytest.approx(60.0)
    assert base["paper_frame_auc"].iloc[0] == 80.7


def test_unlabelled_runs_stay_out_of_tables_2_and_3() -> None:
    res = _results()
    t2 = report.table2(res)
    ffpp = t2[(t2["train"] == "ffpp") & (t2["test"] == "ffpp")]
    assert ffpp["ours_frame_auc"].iloc[0] == pytest.approx(50.0)
    f4 = report.fig4_table(res)
    assert sorted(f4["unlabeled_ratio"].unique()) == [0.0, 0.05, 0.10, 0.15]
    assert f4[(f4["unlabeled_ratio"] == 0.15) & (f4["test_dataset"] == "uadfv")][
        "frame_auc"].iloc[0] == pytest.approx(85.0)


def test_duplicate_settings_are_refused() -> None:
    res = _results()
    with pytest.raises(ValueError, match="several results"):
        report.table2(pd.concat([res, res.iloc[:1]]))


def test_written_report_labels_both_sources(tmp_path) -> None:
    report.write_report(_results(), tmp_path / "demo", "demo")
    md = (tmp_path / "demo" / "table2.md").read_text()
    assert "FF++ (ours)" in md and "FF++ (paper)" in md and "98.2" in md
    report.write_paper_reference(tmp_path / "paper_reference")
    ref = pd.read_csv(tmp_path / "paper_reference" / "table2.csv")
    assert len(ref) == len(paper_reference.TABLE2)
    assert (tmp_path / "paper_reference" / "fig4_statements.md").read_text().count("- ") == 4


def test_readme_shows_the_committed_demo_results() -> None:
    """The README's results section is the committed demo tables, never typed in by hand
    (after a new demo run: ``python -m jdfd_lib report ... --readme README.md``)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    block = report.readme_block(root / "results" / "demo")
    assert block.strip() in readme
    assert "(paper)" in block and "(ours)" in block


def test_sync_readme_replaces_only_the_marked_section(tmp_path) -> None:
    out = tmp_path / "results" / "demo"
    out.mkdir(parents=True)
    for name in ("table2", "table3", "fig4"):
        (out / f"{name}.md").write_text(f"## {name} title\n\n| a |\n|---|\n| 1 |\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_BEGIN}\nold\n{report.README_END}\noutro\n")
    assert report.sync_readme(readme, out)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert "#### table3 title" in text
    assert not report.sync_readme(readme, out)  # idempotent
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="README.md.*markers"):
        report.sync_readme(readme, out)
