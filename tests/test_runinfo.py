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
