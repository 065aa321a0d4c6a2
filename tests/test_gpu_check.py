"""benchmarks/gpu_check.sh and gpu_check.py (issue 19) on a machine without a GPU: their
arguments, the time budget that skips sections, and a short rehearsal of the measurements
on the CPU. The device machine runs the real thing (BENCHMARKS.md, GPU)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"


def _load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" /
                                                  "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sh(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "JDFD_PYTHON": sys.executable, **env})


@pytest.mark.parametrize("args", [[], ["bogus"], ["run", "DIR"], ["make-faces"],
                                  ["make-faces", "a", "b"]])
def test_the_script_answers_bad_arguments_with_its_usage(args: list[str]) -> None:
    proc = _sh(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == ("usage: benchmarks/gpu_check.sh make-faces DIR | "
                                   "run DIR OUT [BUDGET_S [OPTION...]]")


@pytest.mark.parametrize("budget", ["0", "-5", "soon"])
def test_a_bad_budget_is_a_usage_error(tmp_path: Path, budget: str) -> None:
    gc = _load_gpu_check()
    with pytest.raises(SystemExit) as exit_info:
        gc.main(["run", "--faces", str(tmp_path), "--out", str(tmp_path), "--budget", budget])
    assert exit_info.value.code == 2


@pytest.mark.slow  # starts a Python that imports torch
def test_missing_faces_and_a_missing_gpu_are_one_line_each(tmp_path: Path) -> None:
    proc = _sh("run", str(tmp_path / "nothing"), str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"gpu_check: {tmp_path / 'nothing' / 'faces' / 'folder' / 'index.csv'}: no prepared "
        "face index (expected the output of 'gpu_check.sh make-faces')"]


def test_the_budget_skips_what_no_longer_fits_and_failures_are_named(tmp_path: Path) -> None:
    gc = _load_gpu_check()
    report, budget = gc.Report(tmp_path), gc.Budget(100)
    assert report.section("fits", lambda: {"x": 1}, 10, budget) == {"x": 1}
    assert report.section("too_long", lambda: 1 / 0, 1000, budget) is None
    assert report.section("broken", lambda: 1 / 0, 1, budget, check=True) is None
    assert report.section("slow_figure", lambda: [][1], 1, budget) is None
    saved = json.loads((tmp_path / "gpu_check.json").read_text())
    sections = saved["sections"]
    assert sections["fits"]["result"] == {"x": 1}
    assert sections["too_long"]["skipped"].startswith("time:")
    assert sections["broken"]["error"].startswith("ZeroDivisionError")
    assert saved["failures"] == ["broken", "slow_figure (measurement)"]
    only = gc.Report(tmp_path / "only", wanted=["fits"])
    assert only.section("other", lambda: 1, 0, budget) is None
    assert "other" not in only.data["sections"]
    gc.write_markdown(report)
    md = (tmp_path / "gpu_check.md").read_text()
    assert "| fits | x | 1 |" in md and "failures: broken, slow_figure (measurement)" in md


@pytest.mark.slow  # trains the paper model at 64 px in several processes
def test_a_cpu_rehearsal_measures_steps_packing_and_loading(synthetic_faces,
                                                            tmp_path: Path) -> None:
    """The measuring code of the device run, with --quick sizes on the CPU: every figure is
    a positive rate and the two packed trainings both report."""
    synthetic_faces(tmp_path / "gpu" / "faces" / "folder", "folder", seed=0)
    out = tmp_path / "out"
    proc = _sh("run", str(tmp_path / "gpu"), str(out), "600", "--quick", "--device", "cpu",
               "--sections", "environment", "steps_batch4", "packing_bf16_cl", "loader",
               OMP_WAIT_POLICY="PASSIVE")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    sections = json.loads((out / "gpu_check.json").read_text())["sections"]
    assert set(sections) == {"environment", "steps_batch4", "packing_bf16_cl", "loader"}
    steps = sections["steps_batch4"]["result"]
    assert steps["fp32"]["img_per_s"] > 0 and steps["bf16_cl"]["img_per_s"] > 0
    packed = sections["packing_bf16_cl"]["result"]
    assert [packed[k]["runs"] for k in ("1", "2")] == [1, 2]
    assert all(row["img_per_s"] > 0 for row in sections["loader"]["result"])


def test_the_paper_time_projection_counts_the_45_runs_and_their_images() -> None:
    spec = importlib.util.spec_from_file_location(
        "project_paper_time", REPO / "benchmarks" / "project_paper_time.py")
    proj = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(proj)
    runs = proj.grid_runs()
    assert len(runs) == 45 and runs.count(("Tables 2-3", "jdfd", "ffpp", 0.0)) == 3
    assert [sum(r[0] == s for r in runs) for s in proj.STUDIES] == list(proj.STUDIES.values())
    assert proj.run_images("ffpp", 0.0, 300)["train"] == 20 * 2 * 124429  # 20 epochs, balanced
    extra = (proj.run_images("ffpp", 0.1, 300)["train"]
             - proj.run_images("ffpp", 0.0, 300)["train"])
    assert extra == pytest.approx(20 * 0.1 * (117218 + 124429) * 2)  # from each other set
    assert proj.run_images("ffpp", 0.0, 100)["train"] == pytest.approx(20 * 2 * 124429 / 3)
    slow, fast = proj.project(100, 100, 100), proj.project(200, 200, 200)
    assert fast["total_h"] == pytest.approx(slow["total_h"] / 2, abs=0.1)
