"""Run records carry provenance and stage timings; JSON writes are atomic."""

from __future__ import annotations

import json

import pandas as pd

from jdfd_lib.core import runinfo
from jdfd_lib.experiments import browse


def test_record_stage_accumulates_stages_with_provenance(tmp_path) -> None:
    path = tmp_path / "run_record.json"
    runinfo.record_stage(path, "00_demo_data", 12.34, profile="demo")
    runinfo.record_stage(path, "01_preprocess", 5.0, profile="demo")
    record = json.loads(path.read_text())
    assert record["stages"]["00_demo_data"] == {"seconds": 12.3, "profile": "demo"}
    assert set(record["stages"]) == {"00_demo_data", "01_preprocess"}
    assert "torch" in record["packages"] and record["hardware"]["cpu_count"] >= 1
    assert not list(tmp_path.glob(".run_record.json-*")), "no temp file left behind"


def test_worst_mistakes_orders_each_kind_of_error() -> None:
    scores = pd.DataFrame({
        "dataset": "uadfv", "method": ["real"] * 3 + ["fake"] * 3,
        "video": ["a", "b", "c", "d", "e", "f"], "frame": 0,
        "label": [0, 0, 0, 1, 1, 1], "score": [0.1, 0.9, 0.5, 0.2, 0.95, 0.05],
    })
    worst = browse.worst_mistakes(scores, 2)
    assert worst["video"].tolist() == ["b", "c", "f", "d"]
    assert worst["mistake"].tolist()[:2] == ["real scored fake"] * 2


def test_worst_mistakes_are_videos_each_shown_by_its_worst_frame() -> None:
    """Video "a" has the six worst real frames; it is listed once (by its worst frame), and
    the other worst real videos follow, ranked by their mean score as a video verdict is."""
    frames = [("a", f, 0.9 + f / 100) for f in range(6)] + [("b", 0, 0.8), ("b", 1, 0.1),
                                                             ("c", 0, 0.5), ("c", 1, 0.5)]
    scores = pd.DataFrame({"dataset": "ffpp", "method": "original",
                           "video": [v for v, _, _ in frames], "frame": [f for _, f, _ in frames],
                           "label": 0, "score": [s for _, _, s in frames]})
    worst = browse.worst_mistakes(scores, 3)
    assert worst["video"].tolist() == ["a", "c", "b"]  # means 0.925, 0.5, 0.45
    assert worst["frame"].tolist() == [5, 0, 0]  # each video's most fake-looking frame
    assert worst["video_score"].round(3).tolist() == [0.925, 0.5, 0.45]


def test_library_versions_are_plain_strings_for_checkpoints_and_metrics() -> None:
    import torch

    model = runinfo.library_versions(runinfo.MODEL_LIBRARIES)
    assert list(model) == ["torch", "timm", "numpy", "python"]
    assert model["torch"] == torch.__version__ and type(model["torch"]) is str  # not TorchVersion
    full = runinfo.library_versions()
    assert list(full) == [*runinfo.SCORE_LIBRARIES, "python"]
    assert {"sklearn", "dlib", "cv2", "pandas"} <= set(full)
    assert all(type(v) is str and v for v in full.values())
    assert full["pandas"] == pd.__version__


def test_file_sha256_reads_the_whole_file_in_chunks(tmp_path) -> None:
    import hashlib

    data = bytes(range(256)) * 5000  # > 1 MiB: more than one chunk
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert runinfo.file_sha256(path) == hashlib.sha256(data).hexdigest()
