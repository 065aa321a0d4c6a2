"""The detector comparison (issue: the related detectors in the same harness): every detector
trained on FF++, mean ± std over seeds per test set, the papers' own figures beside, and which
differences from JDFD exceed the seeds' spread, decided by code."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from jdfd_lib.detectors.registry import compared_detectors, detector_label
from jdfd_lib.reporting import detector_comparison as dc

SETS = ("ffpp", "uadfv", "celebdf")
# frame AUC (%) per seed 0, 1, 2: LAE clearly below JDFD on Celeb-DF, Exposing within noise
JDFD = {"ffpp": (98, 99, 100), "uadfv": (90, 92, 94), "celebdf": (80, 82, 84)}
LAE = {"ffpp": (97, 99, 98), "uadfv": (89, 93, 92), "celebdf": (70, 71, 73)}
EXPOSING = {"ffpp": (99, 98, 100), "uadfv": (93, 90, 92), "celebdf": (83, 80, 82)}


def _results(table: dict[str, dict[str, tuple]], train: str = "ffpp") -> pd.DataFrame:
    return pd.DataFrame([
        {"run_name": f"demo-{d}-{train}-u00-s{seed}", "profile": "demo", "detector": d,
         "train_dataset": train, "unlabeled_ratio": 0.0, "seed": seed, "test_dataset": test,
         "split": "test", "frame_auc": auc / 100}
        for d, by_test in table.items() for test, aucs in by_test.items()
        for seed, auc in enumerate(aucs)])


RESULTS = _results({"jdfd": JDFD, "lae": LAE, "exposing": EXPOSING})


def test_table_is_mean_and_std_per_detector_and_test_set_with_published_figures() -> None:
    table = dc.comparison_table(RESULTS)  # rows: every registered detector that joins
    assert table["detector"].unique().tolist() == compared_detectors() == [
        "jdfd", "baseline", "lae", "exposing"]
    assert table["test"].unique().tolist() == ["ffpp", "uadfv", "celebdf"]  # paper order
    lae = table[(table["detector"] == "lae") & (table["test"] == "celebdf")].iloc[0]
    assert lae["ours_mean"] == pytest.approx(71 + 1 / 3) and lae["ours_n"] == 3
    assert lae["ours_std"] == pytest.approx(pd.Series([70, 71, 73]).std())
    assert math.isnan(lae["published"]) and lae["published_source"] == dc.NO_FIGURE
    jdfd = table[(table["detector"] == "jdfd") & (table["test"] == "celebdf")].iloc[0]
    assert (jdfd["published"], jdfd["published_source"]) == (78.0, "JDFD paper, Table 2")
    base = table[table["detector"] == "baseline"]  # no runs of ours: empty, paper beside
    assert (base["ours_n"] == 0).all() and base["published"].tolist() == [97.4, 80.7, 75.4]


def test_wide_table_keeps_ours_and_published_apart() -> None:
    wide = dc.comparison_wide(dc.comparison_table(RESULTS))
    assert wide["detector"].tolist() == ["JDFD", "Baseline", "LAE", "Exposing the Deception"]
    assert list(wide.columns)[1:4] == ["FF++ (ours)", "UADFV (ours)", "Celeb-DF (ours)"]
    assert list(wide.columns)[4:] == ["FF++ (published)", "UADFV (published)",
                                      "Celeb-DF (published)"]
    assert wide.loc[0, "FF++ (ours)"] == "99.0 ± 1.0" and wide.loc[0, "FF++ (published)"] == 98.2
    assert wide.loc[1, "FF++ (ours)"] is None and wide.loc[2, "FF++ (published)"] is None


def test_code_says_which_differences_exceed_the_seed_spread() -> None:
    diffs = dc.differences(RESULTS).set_index(["detector", "test"])
    assert set(diffs.index) == {(d, t) for d in ("lae", "exposing") for t in SETS}
    lae = diffs.loc[("lae", "celebdf")]
    assert lae["mean"] == pytest.approx(71 + 1 / 3 - 82) and bool(lae["significant"])
    assert lae["sentence"].startswith("LAE below JDFD on FF++ -> Celeb-DF by 10.7")
    assert lae["sentence"].endswith(": significant")
    assert not diffs.loc[("exposing", "celebdf"), "significant"]  # 83-80, 80-82, 82-84
    assert not diffs.loc[("exposing", "ffpp"), "significant"]


def test_only_runs_of_the_training_set_enter() -> None:
    other = _results({"jdfd": {"ffpp": (10, 11, 12)}}, train="uadfv")
    table = dc.comparison_table(pd.concat([RESULTS, other], ignore_index=True))
    row = table[(table["detector"] == "jdfd") & (table["test"] == "ffpp")].iloc[0]
    assert row["ours_mean"] == pytest.approx(99.0)
    assert dc.differences(RESULTS, train="celebdf").empty


def test_files_are_written_with_ours_and_published_apart(tmp_path) -> None:
    out = dc.write_comparison(RESULTS, tmp_path, "demo")
    md = (tmp_path / "detectors.md").read_text()
    assert md.startswith("## Detectors compared, demo")
    assert "| LAE " in md and "Celeb-DF (published)" in md and "seeds (0, 1, 2" in md
    assert "nan" not in md  # a missing published figure reads "-"
    long = pd.read_csv(tmp_path / "detectors.csv")
    assert len(long) == len(out["table"]) == 4 * 3
    diffs = (tmp_path / "detector_differences.md").read_text()
    assert diffs.count("\n- ") == 6 and "LAE below JDFD on FF++ -> Celeb-DF" in diffs


def test_each_training_set_gets_its_own_table_and_differences(tmp_path) -> None:
    both = pd.concat([RESULTS, _results({"jdfd": JDFD, "lae": LAE}, train="celebdf")],
                     ignore_index=True)
    out = dc.write_comparison(both, tmp_path, "paper", trains=["ffpp", "celebdf"])
    assert set(out["table"]["train"]) == {"ffpp", "celebdf"} and len(out["table"]) == 24
    md = (tmp_path / "detectors.md").read_text()
    assert md.index("### Trained on FF++") < md.index("### Trained on Celeb-DF")
    assert set(out["differences"]["train"]) == {"ffpp", "celebdf"}
    assert "LAE below JDFD on Celeb-DF -> Celeb-DF" in (tmp_path / "detector_differences.md"
                                                        ).read_text()
    assert dc.default_train_sets("demo") == ["ffpp"]
    assert dc.default_train_sets("paper") == ["ffpp", "uadfv", "celebdf"]


def test_roc_figure_has_a_panel_per_test_set_and_a_curve_per_detector(tmp_path) -> None:
    from jdfd_lib.reporting.plot import comparison_roc

    for run in RESULTS["run_name"].unique():
        for test in SETS:
            pd.DataFrame({"fpr": [0, 0.2, 1], "tpr": [0, 0.7, 1]}).to_csv(
                tmp_path / f"{run}__{test}_roc.csv", index=False)
    fig = comparison_roc(RESULTS, tmp_path, ["ffpp"], dc.rows(RESULTS),
                         {d: detector_label(d) for d in dc.rows(RESULTS)})
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["FF++ -> FF++", "FF++ -> UADFV",
                                              "FF++ -> Celeb-DF"]
    legend = [t.get_text() for t in axes[2].get_legend().get_texts()]
    assert len(legend) == 3 and legend[1].startswith("LAE AUC 71.3 ± 1.5 (n=3)")
    dc.write_comparison(RESULTS, tmp_path, "demo", metrics_dir=tmp_path)
    assert (tmp_path / "detectors_roc.png").stat().st_size > 10_000
