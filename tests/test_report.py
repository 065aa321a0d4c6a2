"""Tables 2-3 and Fig. 4 are built from our metric rows; the paper's numbers sit beside."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdfd_lib.evaluation import metrics
from jdfd_lib.evaluation.results import result_paths, write_results
from jdfd_lib.reporting import display, paper_reference, plot, readme, report, tables

SETS = ("ffpp", "uadfv", "celebdf")
SEEDS = (0, 1, 2)
# JDFD minus Baseline (AUC points) per seed: constructed to be significant / within noise
SIGNIFICANT = ("uadfv", "celebdf"), (6.0, 6.5, 5.5)
NOISY = ("ffpp", "uadfv"), (3.0, -2.0, 1.0)
DEFAULT_GAP = (2.0, -1.0, 2.0)  # mean 1, std 1.7: within noise with 3 seeds


def _row(detector: str, train: str, test: str, ratio: float, seed: int, auc: float) -> dict:
    return {"run_name": f"demo-{detector}-{train}-u{round(ratio * 100):02d}-s{seed}",
            "profile": "demo", "detector": detector, "train_dataset": train,
            "unlabeled_ratio": ratio, "seed": seed, "test_dataset": test, "split": "test",
            "frame_auc": auc, "video_auc": auc - 0.05, "ap": 0.5, "eer": 0.4, "acc": 0.5}


def _results(seeds: tuple[int, ...] = SEEDS) -> pd.DataFrame:
    """JDFD cell k (train-major) scores 60 + 2k + seed points (mean 61 + 2k, std 1 over 3
    seeds); the baseline lies below by the constructed gaps; the unlabeled runs on FF++
    beat 0 % by 5.0, 6.0, 5.5 points on UADFV at 15 % and by 1, -1, 0.5 elsewhere."""
    rows = []
    for seed in seeds:
        for k, (train, test) in enumerate(itertools.product(SETS, SETS)):
            jdfd = (60 + 2 * k + seed) / 100
            gap = {SIGNIFICANT[0]: SIGNIFICANT[1], NOISY[0]: NOISY[1]}.get((train, test),
                                                                         DEFAULT_GAP)
            rows.append(_row("jdfd", train, test, 0.0, seed, jdfd))
            rows.append(_row("baseline", train, test, 0.0, seed, jdfd - gap[seed] / 100))
            if train != "ffpp":
                continue
            for ratio in report.UNLABELED_RATIOS:
                up = (5.0, 6.0, 5.5) if (ratio, test) == (0.15, "uadfv") else (1.0, -1.0, 0.5)
                rows.append(_row("jdfd", train, test, ratio, seed, jdfd + up[seed] / 100))
    return pd.DataFrame(rows)


def test_table2_is_mean_and_std_over_seeds_beside_the_paper() -> None:
    t2 = report.table2(_results())
    assert len(t2) == 9
    row = t2[(t2["train"] == "uadfv") & (t2["test"] == "celebdf")].iloc[0]
    # cell k = 1 * 3 + 2 = 5: 70, 71, 72 points
    assert row["ours_mean"] == pytest.approx(71.0) and row["ours_std"] == pytest.approx(1.0)
    assert row["ours_n"] == 3
    assert row["ours_video_mean"] == pytest.approx(66.0)  # video AUC 5 points lower
    assert row["paper_frame_auc"] == 64.9  # Table 2 as printed
    assert "ours_frame_auc" not in t2


def test_one_seed_gives_std_zero() -> None:
    t2 = report.table2(_results(seeds=(0,)))
    row = t2[(t2["train"] == "ffpp") & (t2["test"] == "ffpp")].iloc[0]
    assert (row["ours_mean"], row["ours_std"], row["ours_n"]) == (60.0, 0.0, 1)


def test_table3_keeps_the_papers_inconsistent_number_as_printed() -> None:
    t3 = report.table3(_results())
    jdfd = t3[(t3["train"] == "uadfv") & (t3["method"] == "JDFD") & (t3["test"] == "celebdf")]
    assert jdfd["paper_frame_auc"].iloc[0] == 65.2  # Table 3 says 65.2, Table 2 says 64.9
    base = t3[(t3["train"] == "uadfv") & (t3["method"] == "Baseline") & (t3["test"] == "celebdf")]
    # JDFD 71 on average, the baseline 6 points below
    assert base["ours_mean"].iloc[0] == pytest.approx(65.0)
    assert base["ours_std"].iloc[0] == pytest.approx(np.std([64, 64.5, 66.5], ddof=1))
    assert base["paper_frame_auc"].iloc[0] == 63.7


def test_unlabeled_runs_stay_out_of_tables_2_and_3() -> None:
    res = _results()
    t2 = report.table2(res)
    ffpp = t2[(t2["train"] == "ffpp") & (t2["test"] == "ffpp")]
    assert ffpp["ours_mean"].iloc[0] == pytest.approx(61.0)
    f4 = report.fig4_table(res)
    assert sorted(f4["unlabeled_ratio"].unique()) == [0.0, 0.05, 0.10, 0.15]
    hit = f4[(f4["unlabeled_ratio"] == 0.15) & (f4["test_dataset"] == "uadfv")].iloc[0]
    assert hit["ours_mean"] == pytest.approx(63.0 + 5.5) and hit["ours_n"] == 3


def test_duplicate_settings_are_refused() -> None:
    res = _results()
    with pytest.raises(ValueError, match="several results"):
        report.table2(pd.concat([res, res.iloc[:1]]))


def test_comparisons_separate_a_real_difference_from_noise() -> None:
    comp = report.comparisons(_results())
    assert list(comp.columns) == report.COMPARISON_COLUMNS
    assert len(comp) == 9 + 9  # every Table 3 cell, every (ratio, test set) of Fig. 4
    dec = comp[comp["setting"] == "decoder: JDFD vs Baseline"].set_index(["train", "test"])
    sig = dec.loc[SIGNIFICANT[0]]
    assert sig["mean"] == pytest.approx(6.0) and sig["n"] == 3 and sig["significant"]
    assert sig["sentence"].startswith("JDFD above Baseline on UADFV -> Celeb-DF by 6.0 ± 0.5 ")
    assert sig["sentence"].endswith(": significant")
    noisy = dec.loc[NOISY[0]]
    assert noisy["mean"] == pytest.approx(2 / 3) and not noisy["significant"]
    assert noisy["sentence"].endswith(": within noise")
    unl = comp[comp["setting"] == "unlabeled: 15% vs 0%"].set_index("test")
    assert unl.loc["uadfv", "significant"] and not unl.loc["ffpp", "significant"]
    assert unl.loc["uadfv", "sentence"].startswith(
        "JDFD + 15% unlabeled above JDFD + 0% on FF++ -> UADFV by 5.5 ± 0.5 points")


def test_comparisons_need_two_seeds() -> None:
    comp = report.comparisons(_results(seeds=(0,)))
    assert len(comp) == 18 and (comp["n"] == 1).all() and comp["mean"].isna().all()
    md = report.comparisons_markdown(comp, _results(seeds=(0,)), "demo")
    assert "needs at least 2 training seeds" in md


def _write_metric_files(folder: Path, results: pd.DataFrame) -> None:
    """The JSON, scores and ROC files evaluate writes, for every row of ``results``."""
    folder.mkdir(parents=True)
    for i, r in enumerate(results.itertuples()):
        rng = np.random.default_rng(i)
        labels = np.repeat([0, 1], 20)
        scores = pd.DataFrame({"dataset": r.test_dataset, "method": "m",
                               "video": [f"v{j // 4}" for j in range(40)], "frame": 0,
                               "label": labels, "score": rng.normal(labels * r.frame_auc, 1)})
        rec = {k: getattr(r, k) for k in ("run_name", "profile", "detector", "train_dataset",
                                          "unlabeled_ratio", "seed", "test_dataset", "split")}
        m = {k: getattr(r, k) for k in ("frame_auc", "video_auc", "ap", "eer", "acc")}
        rec.update(metrics=m, checkpoint={"path": f"runs/{r.run_name}/best.pt"},
                   intervals={"frame_auc": [r.frame_auc - 0.1, r.frame_auc + 0.1],
                              "video_auc": [0.4, 0.9]})
        write_results(result_paths(folder, r.run_name, r.test_dataset), scores,
                      metrics.roc_points(labels, scores["score"]), rec)


def test_written_report_over_three_seeds(tmp_path: Path) -> None:
    _write_metric_files(tmp_path / "metrics", _results())
    res = report.write_all("demo", tmp_path / "metrics", tmp_path / "demo")
    assert len(res) == 3 * (18 + 9) and res["frame_auc_lo"].notna().all()
    out = tmp_path / "demo"
    # a command writes under the folders it was given: the paper's numbers go in out too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "metrics"]
    assert (out / "paper_reference" / "table2.md").is_file()
    md = (out / "table2.md").read_text()
    assert "FF++ (ours)" in md and "FF++ (paper)" in md and "98.2" in md
    assert "71.0 ± 1.0" in md and "over 3 training seeds" in md
    csv = pd.read_csv(out / "table2.csv")
    assert {"ours_mean", "ours_std", "ours_n", "paper_frame_auc"} <= set(csv.columns)
    assert pd.api.types.is_float_dtype(csv["ours_mean"]) and (csv["ours_n"] == 3).all()
    assert "65.0 ± 1.3" in (out / "table3.md").read_text()
    f4 = pd.read_csv(out / "fig4.csv")
    assert list(f4.columns) == ["unlabeled_ratio", "test_dataset", *tables.OURS]
    assert "68.5 ± 1.3" in (out / "fig4.md").read_text()
    comp = pd.read_csv(out / "comparisons.csv")
    assert list(comp.columns) == report.COMPARISON_COLUMNS
    text = (out / "comparisons.md").read_text()
    assert "- JDFD above Baseline on UADFV -> Celeb-DF by 6.0 ± 0.5 points" in text
    assert text.count(": significant") == 2 and text.count(": within noise") == 16
    for png in ("fig3_roc.png", "fig4_unlabeled.png"):
        assert (out / png).stat().st_size > 10_000
    block = readme.readme_block(out)
    assert block.index("Fig. 4 data") < block.index("Comparisons over training seeds")
    ref = pd.read_csv(out / "paper_reference" / "table2.csv")
    assert len(ref) == len(paper_reference.TABLE2)
    assert (out / "paper_reference" / "fig4_statements.md").read_text().count("- ") == 4


def test_written_report_with_one_seed_says_so(tmp_path: Path) -> None:
    res = _results(seeds=(0,)).assign(frame_auc_lo=float("nan"))  # a file without intervals
    report.write_report(res, tmp_path, "demo")
    strict = json.loads((tmp_path / "metrics.json").read_text(),
                        parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert strict[0]["frame_auc_lo"] is None and strict[0]["seed"] == 0
    assert "60.0 ± 0.0" in (tmp_path / "table2.md").read_text()
    assert "over 1 training seed " in (tmp_path / "table2.md").read_text()
    assert "needs at least 2 training seeds" in (tmp_path / "comparisons.md").read_text()


def test_mean_roc_by_hand() -> None:
    perfect = pd.DataFrame({"fpr": [0.0, 0.0, 1.0], "tpr": [0.0, 1.0, 1.0]})
    chance = pd.DataFrame({"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    grid = np.array([0.0, 0.5, 1.0])
    mean, std = plot.mean_roc([perfect, chance], grid)
    np.testing.assert_allclose(mean, [0.0, 0.75, 1.0])
    np.testing.assert_allclose(std, [0.0, np.std([1.0, 0.5], ddof=1), 0.0])
    _, one = plot.mean_roc([chance], grid)
    np.testing.assert_array_equal(one, 0.0)


def _committed(path: Path) -> str | None:
    """A file's text as the last commit holds it (None: absent there, or no git checkout)."""
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(root), "show",
                              f"HEAD:{path.relative_to(root).as_posix()}"],
                             capture_output=True, text=True, check=False)
    except OSError:
        return None
    return out.stdout if out.returncode == 0 else None


def _shown_blocks(page: str, block: str) -> list[str]:
    """``block`` as ``page`` should show it, from the result files on disk and from the
    committed ones: after ``./run_all.sh`` on another processor, results/<profile> holds that
    machine's retrained numbers while the pages show the committed ones (the README's order:
    run_all, then run_tests)."""
    root = Path(__file__).resolve().parents[1]
    out = root / "results" / block.removesuffix("-headline")
    link = readme.page_link(root / page, out)
    blocks = [readme.readme_block(out, block, link=link)]
    if _committed(out / "run_record.json"):
        blocks.append(readme.readme_block(out, block, read=_committed, link=link))
    return blocks


def _page(name: str) -> str:
    return (Path(__file__).resolve().parents[1] / name).read_text()


def test_readme_shows_the_committed_demo_results() -> None:
    """The README's headline and docs/results.md's demo section are the committed demo
    tables, never typed in by hand (after a new demo run: ``python -m jdfd_lib report ...
    --readme README.md``)."""
    headline = _shown_blocks("README.md", "demo-headline")
    assert any(block.strip() in _page("README.md") for block in headline)
    assert "Table 2" in headline[0] and "Table 3" not in headline[0]
    whole = _shown_blocks("docs/results.md", "demo")
    assert any(block.strip() in _page("docs/results.md") for block in whole)
    assert "(paper)" in whole[0] and "(ours)" in whole[0] and "Table 3" in whole[0]
    assert " s |" not in whole[0]  # no stage time: it differs from machine to machine
    assert "](../results/demo/fig3_roc.png)" in whole[0]  # links from docs/


def test_the_readme_check_reads_the_committed_tables_after_a_local_rerun(tmp_path) -> None:
    """A rerun's tables on disk (other numbers) do not hide the committed ones from the check."""
    out = Path(__file__).resolve().parents[1] / "results" / "demo"
    on_disk = readme.readme_block(out)
    changed = {out / "table2.md": "## Table 2\n\n| 1 |\n"}
    rerun = readme.readme_block(out, read=lambda p: changed.get(p, readme._read_file(p)))
    assert rerun != on_disk and "| 1 |" in rerun


def test_readme_shows_the_committed_faces_results() -> None:
    """docs/results.md's "On real faces" section is the committed results/faces tables
    (notebook 08 on the DFDC crops): no figure of the paper beside them, the trivial reference
    and the learning curve below."""
    blocks = _shown_blocks("docs/results.md", "faces")
    assert any(block.strip() in _page("docs/results.md") for block in blocks)
    block = blocks[0]
    assert "DFDC faces (ours)" in block and "(paper)" not in block
    assert "trivial reference" in block and "Learning curve" in block


def test_each_profile_has_its_own_readme_section(tmp_path) -> None:
    out = tmp_path / "results" / "faces"
    out.mkdir(parents=True)
    for name in readme.FACES_SECTIONS:
        (out / f"{name}.md").write_text(f"## {name} title\n\nbody\n")
    demo_begin, demo_end = readme.markers("demo")
    begin, end = readme.markers("faces")
    path = tmp_path / "README.md"
    path.write_text(f"a\n{demo_begin}\ndemo\n{demo_end}\nb\n{begin}\nold\n{end}\nc\n")
    assert readme.sync_readme(path, out, "faces")
    text = path.read_text()
    assert "\ndemo\n" in text and "old" not in text  # the demo's section is left alone
    assert text.index("#### trivial title") < text.index("#### learning_curve title")
    with pytest.raises(ValueError, match="markers"):
        readme.sync_readme(tmp_path / "README.md", out, "paper")


def test_sync_readme_replaces_only_the_marked_section(tmp_path) -> None:
    out = tmp_path / "results" / "demo"
    out.mkdir(parents=True)
    for name in ("table2", "table3", "fig4", "comparisons"):
        (out / f"{name}.md").write_text(f"## {name} title\n\n| a |\n|---|\n| 1 |\n")
    path = tmp_path / "README.md"
    begin, end = readme.markers("demo")
    path.write_text(f"intro\n{begin}\nold\n{end}\noutro\n")
    assert readme.sync_readme(path, out)
    text = path.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert "#### table3 title" in text
    assert text.index("#### fig4 title") < text.index("#### comparisons title")
    assert not readme.sync_readme(path, out)  # idempotent
    path.write_text("no markers")
    with pytest.raises(ValueError, match="README.md.*markers"):
        readme.sync_readme(path, out)


def test_sync_writes_the_headline_in_the_readme_and_the_whole_in_docs(tmp_path) -> None:
    out = tmp_path / "results" / "demo"
    out.mkdir(parents=True)
    for name in ("table2", "table3", "fig4"):
        (out / f"{name}.md").write_text(f"## {name} title\n\n| a |\n|---|\n| 1 |\n")
    (out / "fig3_roc.png").write_bytes(b"png")
    head, whole = readme.markers("demo-headline"), readme.markers("demo")
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(f"{head[0]}\n{head[1]}\n")
    (tmp_path / "docs" / "results.md").write_text(f"{whole[0]}\n{whole[1]}\n")
    assert readme.sync_readme(tmp_path / "README.md", out)
    front, page = (tmp_path / "README.md").read_text(), (tmp_path / "docs/results.md").read_text()
    assert "table2 title" in front and "table3 title" not in front
    assert "](results/demo/fig3_roc.png)" in front
    assert "table3 title" in page and "](../results/demo/fig3_roc.png)" in page


def test_metric_table_is_one_row_per_cell_in_the_papers_order() -> None:
    """experiments.grid.metric_table (notebook 03): every metric's mean over seeds, the frame
    AUC's std, rows in Table 2's order."""
    from jdfd_lib.experiments.grid import metric_table

    table = metric_table(_results(), detector="jdfd")
    order = list(report.paper.TEST_SETS)
    assert table[["train_dataset", "test_dataset"]].values.tolist() == \
        [[a, b] for a in order for b in order]
    cell = table.iloc[0]  # ffpp -> ffpp, the first cell: 60 + seed points over seeds 0, 1, 2
    assert (cell["n_seeds"], cell["frame_auc"], cell["frame_auc_std"]) == (3, 61.0, 1.0)
    assert cell["video_auc"] == 56.0 and cell["acc"] == 50.0


@pytest.mark.parametrize("epochs", [1, 6])
def test_training_curves_have_whole_epoch_ticks(epochs: int) -> None:
    log = pd.DataFrame({"epoch": range(1, epochs + 1), "train_loss": np.linspace(1, 0.5, epochs),
                        "val_auc": np.linspace(0.6, 0.9, epochs)})
    fig = plot.training_curves(log)
    assert fig.get_size_inches()[0] <= plot.NOTEBOOK_WIDTH
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        assert ax.get_xlim() == (0.5, epochs + 0.5)
    plt_close(fig)


def test_face_rows_fit_a_notebook_column_and_label_their_colours() -> None:
    faces = [np.zeros((8, 8, 3), np.uint8)] * 6
    maps = [np.full((8, 8), float(i)) for i in range(6)]
    fig = plot.face_rows([("input", faces, None), ("squared error", maps, "magma")],
                         [f"f{i}" for i in range(6)])
    assert fig.get_size_inches()[0] <= plot.NOTEBOOK_WIDTH + 1e-9
    bars = [ax for ax in fig.axes if ax.get_ylabel() == "squared error" and not ax.images]
    assert len(bars) == 1  # one colour bar, for the one-channel row only
    row = [ax.images[0] for ax in fig.axes[6:12]]
    assert {im.get_clim() for im in row} == {(0.0, 5.0)}  # one scale for the whole row
    plt_close(fig)


def plt_close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_tables_render_as_html_with_the_papers_columns_set_apart(tmp_path: Path) -> None:
    """Notebooks show written tables as HTML (JupyterLab wraps printed Markdown into stray
    pipes); the text form stays the written Markdown, byte for byte."""
    report.write_report(_results(), tmp_path, "demo")
    t2 = display.ResultTable(tmp_path, "table2")
    assert repr(t2) == (tmp_path / "table2.md").read_text()
    page = t2._repr_html_()
    assert page.count("<table") == 1 and "<h4>Table 2 (JDFD), demo</h4>" in page
    assert "61.0 ± 1.0" in page and "FF++ (paper)" in page and "|" not in page
    first_paper = list(tables.wide(report.table2(_results()), ["train"]).columns).index(
        "FF++ (paper)")
    # the rule is inline on every cell of the first paper column (header and 3 rows), and
    # only there: JupyterLab keeps a cell's style attribute in an untrusted notebook
    ruled = re.findall(r'<t([hd]) [^>]*class="([^"]*)" style="border-left: 2px solid #888"',
                       page)
    assert [kind for kind, _ in ruled] == ["h", "d", "d", "d"]
    assert all(f"col{first_paper}" in classes.split() for _, classes in ruled)
    assert page.count("border-left") == 4
    assert page == display.ResultTable(tmp_path, "table2")._repr_html_()  # stable output
    assert display.ResultTable(tmp_path, "table3")._repr_html_().count("<tr>") == 1 + 3 * 2
    assert "5%" in display.ResultTable(tmp_path, "fig4")._repr_html_()
    bullets = display.ResultTable(tmp_path, "comparisons")
    assert bullets._repr_html_() is None and bullets._repr_markdown_().startswith("## ")


def test_image_grid_fits_a_notebook_column() -> None:
    images = [np.zeros((8, 8, 3), np.uint8)] * 8
    fig = plot.image_grid(images, [str(i) for i in range(8)], cols=8)
    assert fig.get_size_inches()[0] <= plot.NOTEBOOK_WIDTH + 1e-9
    small = plot.image_grid(images[:2], ["a", "b"], cols=2)
    assert small.get_size_inches()[0] == pytest.approx(4.0)  # 2 in each when there is room
    plt_close(fig)
    plt_close(small)
