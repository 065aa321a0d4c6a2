"""Result files of evaluate (jdfd_lib.evaluation.results): written once, read everywhere,
without torch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdfd_lib.evaluation import results as res

REPO = Path(__file__).resolve().parents[1]


def test_reading_results_and_writing_the_report_never_import_torch() -> None:
    code = ("import sys, jdfd_lib.evaluation.results, jdfd_lib.reporting.report; "
            "print(sorted(m for m in ('torch', 'timm', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def _record(run: str, test: str, split: str = "test", **extra) -> dict:
    return {"run_name": run, "test_dataset": test, "split": split, "profile": "demo",
            "detector": "jdfd", "train_dataset": "ffpp", "unlabeled_ratio": 0.0, "seed": 0,
            "metrics": {"frame_auc": 0.75, "video_auc": 0.5, "ap": 0.7, "eer": 0.3,
                        "acc": 0.6, "n_frames": 4},
            "checkpoint": {"path": f"runs/{run}/best.pt"}, **extra}


def _write(folder: Path, run: str, test: str, split: str = "test", **extra) -> dict:
    scores = pd.DataFrame({"dataset": test, "method": "m", "video": ["007", "007", "010", "010"],
                           "frame": [0, 1, 0, 1], "label": [0, 0, 1, 1],
                           "score": [0.1, 0.4, 0.35, 0.8]})
    roc = pd.DataFrame({"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 1.0, 1.0],
                        "threshold": [np.inf, 0.35, 0.1]})
    paths = res.result_paths(folder, run, test, split)
    return res.write_results(paths, scores, roc, _record(run, test, split, **extra))


def test_written_results_read_back_through_one_module(tmp_path: Path) -> None:
    _write(tmp_path, "demo-jdfd-ffpp-u00-s1", "uadfv",
           intervals={"frame_auc": [0.6, 0.9], "video_auc": [0.2, 0.8]})
    _write(tmp_path, "demo-jdfd-ffpp-u00-s0", "uadfv")  # written before intervals existed
    _write(tmp_path, "demo-jdfd-ffpp-u00-s0", "ffpp", split="val")
    json_file = tmp_path / "demo-jdfd-ffpp-u00-s0__uadfv.json"
    text = json_file.read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "checkpoint": {')  # sorted, indent 2
    table = res.load_results(tmp_path)
    assert list(table.columns) == res.RESULT_COLUMNS + res.INTERVAL_COLUMNS
    assert table["run_name"].tolist() == ["demo-jdfd-ffpp-u00-s0", "demo-jdfd-ffpp-u00-s1"]
    assert table["frame_auc_lo"].isna().tolist() == [True, False]
    assert table.loc[1, "video_auc_hi"] == 0.8 and table.loc[0, "json"] == json_file.name
    assert table.loc[0, "checkpoint"] == "runs/demo-jdfd-ffpp-u00-s0/best.pt"
    assert res.load_results(tmp_path, split="val")["test_dataset"].tolist() == ["ffpp"]
    scores = res.read_scores(tmp_path, "demo-jdfd-ffpp-u00-s0", "uadfv")
    assert scores["video"].tolist() == ["007", "007", "010", "010"]  # ids stay text
    roc = res.read_roc(tmp_path, "demo-jdfd-ffpp-u00-s0", "ffpp", split="val")
    assert list(roc.columns) == ["fpr", "tpr", "threshold"] and np.isinf(roc.loc[0, "threshold"])


def test_only_a_complete_set_counts_as_stored(tmp_path: Path) -> None:
    paths = res.result_paths(tmp_path, "r", "celebdf")
    assert res.stored_result(paths) is None
    record = _write(tmp_path, "r", "celebdf")
    assert res.stored_result(paths) == json.loads(json.dumps(record))
    paths["json"].write_text("{half")
    assert res.stored_result(paths) is None
    _write(tmp_path, "r", "celebdf")
    paths["roc"].unlink()
    assert res.stored_result(paths) is None
    with pytest.raises(FileNotFoundError, match=r"r__celebdf_roc.csv: no ROC points; run "
                                                r"`python -m jdfd_lib evaluate`"):
        res.read_roc(tmp_path, "r", "celebdf")
    with pytest.raises(FileNotFoundError, match="r__ffpp_scores.csv: no scores"):
        res.read_scores(tmp_path, "r", "ffpp")


def test_a_folder_that_is_not_a_metrics_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no metrics folder"):
        res.load_results(tmp_path / "absent")
    (tmp_path / "notes.json").write_text('{"run_name": "r"}')
    with pytest.raises(ValueError, match="notes.json: not a result file"):
        res.load_results(tmp_path)


@pytest.mark.parametrize("content, says", [
    ("", r"not JSON \(Expecting value"), ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    ("[1]", "not a result file"), (b"\xff\xfe\x00", "not text"),
])
def test_a_broken_result_file_is_named_in_one_line(tmp_path: Path, capsys, content,
                                                   says: str) -> None:
    from jdfd_lib import cli

    (tmp_path / "m").mkdir()
    bad = tmp_path / "m" / "bad.json"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert cli.main(["report", "--metrics", str(tmp_path / "m"), "--out",
                     str(tmp_path / "r"), "--profile", "demo"]) == 1
    err = capsys.readouterr().err
    assert re.search(rf"^jdfd report: error: {re.escape(str(bad))}: {says}", err), err
    assert err.count("\n") == 1


def test_a_missing_metrics_file_is_named(tmp_path: Path, capsys) -> None:
    from jdfd_lib import cli

    assert cli.main(["check-results", "--expected", str(tmp_path / "missing.json"),
                     "--actual", str(tmp_path / "missing.json")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'missing.json'}: file not found; expected a JSON list" in err


@pytest.mark.parametrize("field, value, says", [
    ("run_name", "../../../../tmp/escaped", "run_name must be a run name"),
    ("test_dataset", "../x", "test_dataset must be a key"),
    ("train_dataset", "a/b", "train_dataset must be a key"),
    ("seed", "0", "seed must be an integer"), ("split", "../test", "split must be train"),
    ("unlabeled_ratio", 7, "unlabeled_ratio must be a number in"),
    ("metrics", {"frame_auc": "0.9"}, "metrics.frame_auc must be a number"),
    ("intervals", {"frame_auc": "wide"}, "intervals must map"),
    ("checkpoint", "best.pt", "checkpoint.path must be text"),
])
def test_a_crafted_result_file_is_refused_before_it_names_a_file(tmp_path: Path, capsys,
                                                                  field: str, value,
                                                                  says: str) -> None:
    """A metrics folder from someone else: its names would name the ROC and scores files the
    report opens, its numbers fill the tables; each field is checked first, in one line."""
    from jdfd_lib import cli

    _write(tmp_path / "m", "demo-jdfd-ffpp-u00-s0", "uadfv")
    bad = tmp_path / "m" / "stranger.json"
    bad.write_text(json.dumps(_record("demo-jdfd-ffpp-u00-s1", "uadfv") | {field: value}))
    assert cli.main(["report", "--metrics", str(tmp_path / "m"), "--out",
                     str(tmp_path / "r"), "--profile", "demo"]) == 1
    err = capsys.readouterr().err
    assert re.search(rf"^jdfd report: error: {re.escape(str(bad))}: not a result file .*{says}",
                     err), err
    assert err.count("\n") == 1 and not (tmp_path / "r").exists()


def test_a_broken_roc_file_is_named_in_one_line(tmp_path: Path) -> None:
    _write(tmp_path, "demo-jdfd-ffpp-u00-s0", "uadfv")
    roc = res.result_paths(tmp_path, "demo-jdfd-ffpp-u00-s0", "uadfv")["roc"]
    roc.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(ValueError, match=rf"{re.escape(str(roc))}: not text \(binary\?\); "
                                         r"expected the ROC points evaluate writes"):
        res.read_roc(tmp_path, "demo-jdfd-ffpp-u00-s0", "uadfv")
