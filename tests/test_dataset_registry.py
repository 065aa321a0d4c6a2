"""The dataset registry: one module per dataset, everything else derived from it.

The end-to-end test registers a toy dataset *in this file* (its own folder layout and reader)
and runs prepare -> train -> evaluate -> report on it through the public functions and the
command line, without any other file knowing about it: the registry is the only door.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd
import pytest

from jdfd_lib import cli
from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets.records import VideoList, VideoRecord, finish
from jdfd_lib.datasets.registry import (
    DatasetOption,
    DatasetSpec,
    dataset_label,
    dataset_root,
    get_dataset,
    list_datasets,
    list_videos,
    ordered,
    register_dataset,
    unregister_dataset,
)

PAPER = ["ffpp", "celebdf", "uadfv"]
TOY_SPLITS = {"train": 3, "val": 2, "test": 2}  # videos per class


def read_toy(root: Path, allow_missing: bool = False) -> VideoList:
    """The toy layout: ``pristine/<split>-<n>.mp4`` real, ``forged/<split>-<n>.mp4`` fake."""
    records = [VideoRecord("toy", folder, path.stem, path, label, path.stem.split("-")[0],
                           f"{folder}/{path.stem}")
               for label, folder in ((0, "pristine"), (1, "forged"))
               for path in sorted((root / folder).glob("*.mp4"))]
    return finish(records)


TOY = DatasetSpec(key="toy", folder="Toy-Set", label="Toy", letter="T", reader=read_toy,
                  layout="pristine/<split>-<n>.mp4, forged/<split>-<n>.mp4")


@pytest.fixture
def toy() -> DatasetSpec:
    register_dataset(TOY)
    yield TOY
    unregister_dataset("toy")


def test_builtin_datasets_come_first_in_registry_order() -> None:
    keys = list_datasets()
    assert keys[:3] == PAPER
    for key in keys:
        spec = get_dataset(key)
        assert spec.key == key and spec.label and len(spec.letter) == 1
        assert spec.layout, f"{key}: the layout line is shown in help and the README"
    letters = [get_dataset(k).letter for k in keys]
    assert len(set(letters)) == len(letters), "Fig. 3 legend letters must tell datasets apart"
    assert dataset_label("ffpp") == "FF++" and dataset_label("unregistered") == "unregistered"


def test_unknown_dataset_is_one_line_naming_the_registered_ones(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no dataset named 'nope'; registered: ffpp, celebdf"):
        get_dataset("nope")


def test_order_puts_the_given_keys_first_then_the_registry(toy) -> None:
    assert ordered({"toy", "uadfv", "ffpp", "zzz"}, first=("uadfv",)) == \
        ["uadfv", "ffpp", "toy", "zzz"]


def test_registration_is_checked() -> None:
    with pytest.raises(ValueError, match="lowercase identifier"):
        register_dataset(DatasetSpec(key="Toy Set", folder="x", label="x", letter="x",
                                     reader=read_toy))
    clash = DatasetOption("compression", "another meaning", "raw", {"choices": ("raw",)})
    with pytest.raises(ValueError, match="--compression is declared differently by dataset "
                                         "'ffpp'"):
        register_dataset(DatasetSpec(key="clash", folder="x", label="x", letter="x",
                                     reader=read_toy, options=(clash,)))
    assert "clash" not in list_datasets()


def test_a_registered_dataset_is_on_every_command_line(toy) -> None:
    for command, flag in (("prepare", "--dataset"), ("train", "--train-dataset"),
                          ("evaluate", "--test-datasets")):
        parser = cli.build_parser(command)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        action = next(a for a in sub.choices[command]._actions if flag in a.option_strings)
        assert action.choices == list_datasets() and "toy" in action.choices


def test_prepare_refuses_a_reader_flag_of_another_dataset(tmp_path, capsys) -> None:
    code = cli.main(["prepare", "--dataset", "uadfv", "--root", str(tmp_path), "--out",
                     str(tmp_path / "out"), "--compression", "c40"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "--compression does not apply to --dataset uadfv (UADFV takes split_file)" in err[0]


def test_train_refuses_an_unregistered_dataset_before_writing(tmp_path) -> None:
    from jdfd_lib.training.train import train

    for field in ({"train_dataset": "nope"}, {"unlabeled_datasets": ("ffpp", "nope")}):
        cfg = config_from_overrides("demo", runs_dir=str(tmp_path / "runs"), **field)
        with pytest.raises(UserError, match=f"{next(iter(field))}: no dataset named 'nope'"):
            train(cfg, progress=False)
    assert not (tmp_path / "runs").exists()


def _toy_videos(root: Path, clips: dict[str, Path]) -> Path:
    """Copies of two real-face clips in the toy layout: the mirrored clip plays the fake."""
    for folder, clip in (("pristine", clips["face"]), ("forged", clips["mirrored"])):
        (root / folder).mkdir(parents=True)
        for split, n in TOY_SPLITS.items():
            for i in range(n):
                shutil.copy(clip, root / folder / f"{split}-{i}.mp4")
    return root


def test_toy_dataset_runs_prepare_train_evaluate_report(toy, face_clips, tmp_path) -> None:
    from jdfd_lib.evaluation.evaluate import evaluate
    from jdfd_lib.faces.crops import ExtractConfig
    from jdfd_lib.faces.prepare import prepare
    from jdfd_lib.reporting import plot
    from jdfd_lib.reporting.report import write_all
    from jdfd_lib.training.train import train

    data, faces = tmp_path / "data", tmp_path / "faces"
    root = _toy_videos(dataset_root(data, "toy"), face_clips)
    assert root == data / "Toy-Set"
    assert len(list_videos("toy", root)) == 2 * sum(TOY_SPLITS.values())
    summary = prepare("toy", root, faces / "toy", ExtractConfig(frames_per_video=3,
                                                                image_size=64, workers=1))
    assert summary["failures"] == [] and summary["faces_found"] == 3 * 14

    cfg = config_from_overrides(
        "demo", train_dataset="toy", faces_root=str(faces), runs_dir=str(tmp_path / "runs"),
        image_size=32, decoder_channels=(32, 16, 8), epochs=1, batch_size=4,
        samples_per_epoch=None, max_frames_per_video=None, stop_at_val_auc=None)
    run_dir = train(cfg, progress=False)
    assert run_dir.name == "demo-jdfd-toy-u00-s0"

    metrics = tmp_path / "metrics"
    results = evaluate(run_dir / "best.pt", faces, ["toy"], metrics)
    assert results["toy"]["metrics"]["n_frames"] == 3 * 2 * TOY_SPLITS["test"]

    out = tmp_path / "results" / "demo"
    tidy = write_all("demo", metrics, out)
    assert tidy[["train_dataset", "test_dataset"]].values.tolist() == [["toy", "toy"]]
    table2 = pd.read_csv(out / "table2.csv")
    assert table2["train"].tolist()[-4:] == ["toy"] * 4  # after the paper's three
    row = table2[(table2["train"] == "toy") & (table2["test"] == "toy")].iloc[0]
    assert row["ours_n"] == 1 and 0 <= row["ours_mean"] <= 100
    assert "Toy (ours)" in (out / "table2.md").read_text()
    fig = plot.fig3(tidy, metrics)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown][-1] == "trained on Toy"
    assert len(shown) == 4  # the paper's three panels (empty here) and the toy's
    assert "(T, T) AUC" in shown[-1].get_legend().get_texts()[0].get_text()
    assert (out / "fig3_roc.png").stat().st_size > 0
