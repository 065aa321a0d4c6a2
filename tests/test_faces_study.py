"""The real-faces study (issue 17): the DFDC faces dataset and its committed split, the
``faces`` profile, LAE without masks, the learning curve's subsets, the trivial-reference
rule and the study's report. Everything runs on crops the tests write: the DFDC data itself
is never needed (a fresh clone has no ../shared)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from jdfd_lib.core.config import config_from_overrides, get_profile
from jdfd_lib.core.errors import UserError
from jdfd_lib.core.settings import resolve_settings
from jdfd_lib.datasets.dfdc_faces import SPLIT_FILE, list_dfdc_faces
from jdfd_lib.detectors.registry import create_detector, detector_class, detector_config
from jdfd_lib.reporting.detector_comparison import against_trivial, default_train_sets
from jdfd_lib.training.data import train_subset


def _committed_split() -> dict[str, list[str]]:
    return json.loads(SPLIT_FILE.read_text())["splits"]


def test_the_committed_split_holds_group_names_only_in_disjoint_splits() -> None:
    data = json.loads(SPLIT_FILE.read_text())
    assert set(data) == {"seed", "fractions", "splits"}
    splits = data["splits"]
    groups = [g for members in splits.values() for g in members]
    assert len(groups) == len(set(groups)) == 5223  # no group in two splits
    assert all(re.fullmatch(r"[a-z]{10}", g) for g in groups)  # DFDC video names, no paths
    shares = {k: len(v) / len(groups) for k, v in splits.items()}
    assert shares["train"] == pytest.approx(0.70, abs=0.01)
    assert shares["val"] == pytest.approx(0.15, abs=0.01)


def _write_layout(root: Path, groups: dict[str, int]) -> None:
    """A DFDC-faces layout: per group, its real face and ``fakes`` fakes (24 px JPEGs)."""
    rng = np.random.default_rng(0)
    for group, fakes in groups.items():
        for cls, name in [("real", group)] + [("fake", f"{group}x{i}") for i in range(fakes)]:
            path = root / cls / group / f"{name}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))


def test_the_reader_keeps_a_fake_with_its_source_in_the_committed_split(tmp_path) -> None:
    splits = _committed_split()
    chosen = {splits["train"][0]: 2, splits["val"][0]: 1, splits["test"][0]: 3}
    _write_layout(tmp_path, chosen)
    with pytest.raises(UserError, match="absent"):  # the other 5220 groups are not here
        list_dfdc_faces(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = list_dfdc_faces(tmp_path, allow_missing=True)
    assert len(records) == 3 + 6 and {r.dataset for r in records} == {"dfdc_faces"}
    for split, members in splits.items():
        for r in records:
            if r.identity in members:
                assert r.split == split, r
    assert all(r.aligned for r in records)  # crops of the set's authors: resized only
    assert sum(r.label for r in records) == 6


def test_the_faces_profile_needs_its_data_folder_and_keeps_its_own_results(tmp_path) -> None:
    with pytest.raises(UserError, match="the faces profile needs the datasets' folder"):
        resolve_settings("faces", environ={})
    s = resolve_settings("faces", data_root=tmp_path, environ={})
    assert (s.results_dir, s.faces_root) == ("results/faces", "data/faces_faces")
    assert get_profile("faces").train_dataset == "dfdc_faces"
    assert default_train_sets("faces") == ["dfdc_faces"]


def test_lae_runs_without_masks_where_its_mask_term_is_off() -> None:
    cfg = detector_config("faces", detector="lae")
    options = detector_class("lae").options_of(cfg)
    assert options.interpretation_weight == 0.0 and options.mask_budget == 0.0
    model = create_detector(cfg)
    assert model.training_targets(cfg) == () and model.active_learning(cfg) is None
    demo = detector_config("demo", detector="lae")  # where masks exist, they are used
    assert create_detector(demo).training_targets(demo) == ("mask",)


def test_learning_curve_subsets_are_seeded_nested_and_named() -> None:
    rows = pd.DataFrame({"path": [f"c{i}.png" for i in range(100)]})
    small, large = train_subset(rows, 10, seed=3), train_subset(rows, 40, seed=3)
    assert set(small["path"]) < set(large["path"])  # nested for one seed
    assert list(small["path"]) == sorted(small["path"], key=lambda p: int(p[1:-4]))
    assert set(train_subset(rows, 10, seed=4)["path"]) != set(small["path"])
    assert train_subset(rows, None, 0) is rows and len(train_subset(rows, 500, 0)) == 100
    cfg = config_from_overrides("faces", train_images=3000, seed=1)
    assert cfg.run_name == "faces-jdfd-dfdc_faces-u00-s1-n3000"
    assert config_from_overrides("faces").run_name == "faces-jdfd-dfdc_faces-u00-s0"


def test_a_detector_beats_the_trivial_reference_only_with_every_seed_above_it() -> None:
    results = pd.DataFrame({
        "detector": ["jdfd"] * 3 + ["baseline"] * 3, "unlabeled_ratio": 0.0,
        "train_dataset": "dfdc_faces", "test_dataset": "dfdc_faces",
        "seed": [0, 1, 2] * 2, "frame_auc": [0.70, 0.72, 0.71, 0.70, 0.72, 0.55]})
    reference = pd.DataFrame({"train_dataset": ["dfdc_faces"], "test_dataset": ["dfdc_faces"],
                              "frame_auc": [56.0], "ci_low": [53.0], "ci_high": [59.0]})
    table = against_trivial(results, reference, ["jdfd", "baseline", "lae"])
    assert list(table["detector"]) == ["jdfd", "baseline"]  # no runs, no row
    assert list(table["beats"]) == [True, False]  # the baseline's seed 2 is inside
    assert table["sentence"][0].startswith("JDFD clearly beats the trivial reference")
    assert "does not clearly beat" in table["sentence"][1]


@pytest.mark.slow  # trains the four detectors twice and a learning curve on tiny crops
def test_the_study_writes_its_own_report_without_the_papers_tables(synthetic_faces,
                                                                   tmp_path: Path) -> None:
    from jdfd_lib.experiments import grid
    from jdfd_lib.experiments.curve import learning_curve

    synthetic_faces(tmp_path / "faces" / "dfdc_faces", "dfdc_faces", seed=0)
    paths = grid.Paths(faces=tmp_path / "faces", runs=tmp_path / "runs",
                       results=tmp_path / "results")
    tiny = dict(image_size=32, decoder_channels=(16, 8, 8), epochs=1, samples_per_epoch=64,
                num_threads=1)
    grid.run_grid("faces", paths, ["dfdc_faces"], ["dfdc_faces"],
                  detectors=["jdfd", "baseline", "lae", "exposing"], seeds=[0, 1], jobs=1,
                  overrides=tiny)
    written = {p.name for p in paths.results.iterdir()}
    assert {"detectors.md", "detector_differences.md", "detectors_roc.png",
            "metrics.json"} <= written
    assert not written & {"table2.md", "table3.md", "fig4.md", "comparisons.md"}
    assert not (tmp_path / "paper_reference").exists()
    assert not any(tmp_path.rglob("paper_reference"))
    table = (paths.results / "detectors.md").read_text()
    assert "DFDC faces (ours)" in table and "published" not in table.split("\n\n")[2]
    assert "FF++" not in table
    assert "LAE ran with its mask term off" in table  # the table's note says so
    curve = learning_curve("faces", paths.faces, paths.runs, paths.results, "dfdc_faces",
                           "dfdc_faces", [16, None], [0], jobs=1, overrides=tiny)
    assert list(curve["train_images"]) == [16, 48] and (curve["n_seeds"] == 1).all()
    assert {"learning_curve.md", "learning_curve.png"} <= {p.name for p in
                                                          paths.results.iterdir()}
    assert not (paths.results / "metrics" / "faces-jdfd-dfdc_faces-u00-s0-n16__dfdc_faces"
                                                  ".json").exists()  # kept apart


@pytest.mark.slow  # prepares, trains and evaluates two small runs
def test_the_gpu_variant_rehearses_on_the_cpu(tmp_path: Path) -> None:
    """benchmarks/faces_gpu.py (the paper's recipe on a GPU) end to end with --quick on the
    CPU, on a tiny layout with a split file of its own."""
    import importlib.util

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("faces_gpu", repo / "benchmarks" /
                                                  "faces_gpu.py")
    faces_gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(faces_gpu)
    groups = {f"g{i:02d}": 2 for i in range(10)}
    _write_layout(tmp_path / "data" / "dfdc_faces", groups)
    split = tmp_path / "split.json"
    names = sorted(groups)
    split.write_text(json.dumps({"seed": 0, "fractions": {}, "splits": {
        "train": names[:6], "val": names[6:8], "test": names[8:]}}))
    out = tmp_path / "out"
    assert faces_gpu.main(["--data", str(tmp_path / "data"), "--out", str(out), "--quick",
                           "--device", "cpu", "--epochs", "1", "--split-file", str(split)]) == 0
    record = json.loads((out / "faces_gpu.json").read_text())
    assert record["encoder_init"] == "random"  # --quick: offline, a small network
    assert set(record["test_frame_auc"]) == {"faces_paper-jdfd-dfdc_faces-u00-s0",
                                             "faces_paper-baseline-dfdc_faces-u00-s0"}
    assert (out / "results" / "detectors.md").is_file()
    with pytest.raises(SystemExit):
        faces_gpu.main(["--data", str(tmp_path / "nothing"), "--out", str(out)])
