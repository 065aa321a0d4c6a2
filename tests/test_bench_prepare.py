"""benchmarks/bench_prepare.py (issue 18): its projection, and a smoke run with --quick."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_prepare",
                                                  REPO / "benchmarks" / "bench_prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_projection_scales_with_videos_and_takes_each_format_encode() -> None:
    bench = load_bench()
    run = {"bytes_per_crop": 100_000, "meta_bytes_per_video": 0, "index_bytes_per_crop": 0.0}
    per_res = {r: {"runs": {"png": run, "webp": {**run, "bytes_per_crop": 60_000}},
                   "cpu_split": {"decode_s": 1.0, "detect_align_s": 2.0, "encode_s": 0.6}}
               for r in bench.RESOLUTIONS}
    formats = {"png": {"encode_ms": 2.0}, f"webp-m{bench.WEBP_METHOD}": {"encode_ms": 4.0}}
    rows = {r["dataset"]: r for r in bench.project(per_res, formats, 300)}
    ffpp = rows["FF++ c23"]  # 5,000 videos x (3 s + 300 x 2 or 4 ms)
    assert ffpp["png_core_h"] == pytest.approx(5000 * 3.6 / 3600, abs=0.05)
    assert ffpp["webp_core_h"] == pytest.approx(5000 * 4.2 / 3600, abs=0.05)
    assert ffpp["png_gb"] == pytest.approx(5000 * 300 * 1e5 / 1e9)
    assert rows["UADFV"]["webp_gb"] == pytest.approx(98 * 300 * 6e4 / 1e9, abs=0.05)


@pytest.mark.slow  # renders a clip and prepares it twice (~15 s)
def test_quick_run_measures_prepare_and_every_lossless_format(tmp_path: Path) -> None:
    load_bench().main(["--quick", "--work", str(tmp_path / "work"), "--results-dir",
                       str(tmp_path / "results")])
    res = json.loads((tmp_path / "results" / "bench_prepare_quick.json").read_text())
    runs = res["per_resolution"]["480p"]["runs"]
    assert runs["png"]["faces"] == runs["webp"]["faces"] > 0
    assert runs["png"]["faces_per_s_per_core"] > 0 and runs["webp"]["bytes_per_crop"] > 0
    assert all(f["lossless"] for f in res["formats"]["by_format"].values())
    assert [p["dataset"] for p in res["projection"]] == ["FF++ c23", "Celeb-DF v2", "UADFV"]
    assert (tmp_path / "results" / "bench_prepare_quick.md").read_text().startswith("Machine:")
