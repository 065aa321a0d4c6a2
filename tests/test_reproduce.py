"""check-results: trained numbers within the seeds' spread, data-derived counts exactly."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from jdfd_lib import cli
from jdfd_lib.evaluation.results import current_names
from jdfd_lib.reporting.reproduce import FLOOR, Z, check_results, format_report, tolerance

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "results" / "demo" / "metrics.json"
SEEDS = (0, 1, 2)
# (detector, train, unlabeled ratio, test) -> frame AUC (fraction) of seeds 0, 1, 2
CELLS = {
    ("baseline", "ffpp", 0.0, "ffpp"): (0.90, 0.92, 0.94),
    ("baseline", "ffpp", 0.0, "celebdf"): (0.60, 0.55, 0.65),
    ("jdfd", "ffpp", 0.05, "uadfv"): (1.0, 1.0, 1.0),  # every seed the same: FLOOR applies
    ("jdfd", "celebdf", 0.0, "ffpp"): (0.70, 0.71, 0.69),
}
COUNTS = {"ffpp": (160, 20), "celebdf": (104, 13), "uadfv": (32, 4)}


def _records() -> list[dict]:
    records = []
    for (detector, train, ratio, test), aucs in CELLS.items():
        for seed, auc in zip(SEEDS, aucs, strict=True):
            n_frames, n_videos = COUNTS[test]
            records.append({"profile": "demo", "detector": detector, "train_dataset": train,
                            "unlabeled_ratio": ratio, "seed": seed, "test_dataset": test,
                            "frame_auc": auc, "video_auc": auc, "n_frames": n_frames,
                            "n_videos": n_videos})
    return records


def _write(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2))
    return path


def _std(aucs: tuple[float, ...]) -> float:
    pts = [100 * a for a in aucs]
    mean = sum(pts) / len(pts)
    return math.sqrt(sum((p - mean) ** 2 for p in pts) / (len(pts) - 1))


def _tol(aucs: tuple[float, ...]) -> float:
    """By hand: the larger of the cell's own and the pooled spread of all CELLS."""
    pooled = math.sqrt(sum(_std(a) ** 2 for a in CELLS.values()) / len(CELLS))
    return max(Z * math.sqrt(2) * max(_std(aucs), pooled) / math.sqrt(len(aucs)), FLOOR)


def _find(records: list[dict], cell: tuple, seed: int) -> dict:
    return next(r for r in records if (r["detector"], r["train_dataset"], r["unlabeled_ratio"],
                                       r["test_dataset"], r["seed"]) == (*cell, seed))


def test_tolerance_formula() -> None:
    assert tolerance(2.0, 3) == pytest.approx(4 * math.sqrt(2) * 2.0 / math.sqrt(3))
    assert tolerance(0.0, 3) == FLOOR
    assert tolerance(5.0, 1) == FLOOR  # one seed: no spread to go by
    assert tolerance(2.0, 3, z=1.0, floor=0.0) == pytest.approx(math.sqrt(2) * 2.0 / math.sqrt(3))


def test_identical_results_pass(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.json", _records())
    ok, results = check_results(path, path)
    assert ok and len(results) == len(CELLS)
    by_cell = {r.cell: r for r in results}
    for cell, aucs in CELLS.items():
        assert by_cell[cell].n == 3 and by_cell[cell].tol == pytest.approx(_tol(aucs))
    summary = f"{len(CELLS)} cells checked, 0 outside tolerance"
    assert format_report(results).splitlines() == [summary]


def test_every_value_moved_within_tolerance_passes(tmp_path: Path) -> None:
    actual = _records()
    for record in actual:
        cell = (record["detector"], record["train_dataset"], record["unlabeled_ratio"],
                record["test_dataset"])
        sign = -1 if record["frame_auc"] > 0.5 else 1
        # every seed moves by 0.9 tol, so does the mean
        record["frame_auc"] += sign * 0.9 * _tol(CELLS[cell]) / 100
        record["video_auc"] = 0.0  # video AUC is not compared
    ok, results = check_results(_write(tmp_path / "e.json", _records()),
                                _write(tmp_path / "a.json", actual))
    assert ok, format_report(results)
    assert all(0.85 * r.tol < abs(r.diff) < r.tol for r in results)


def test_one_number_beyond_tolerance_fails_and_names_its_cell(tmp_path: Path) -> None:
    cell = ("baseline", "ffpp", 0.0, "celebdf")
    tol = _tol(CELLS[cell])
    actual = _records()
    # one seed moved by 3 * (tol + 0.5) points moves the 3-seed mean by tol + 0.5
    _find(actual, cell, 1)["frame_auc"] -= 3 * (tol + 0.5) / 100
    ok, results = check_results(_write(tmp_path / "e.json", _records()),
                                _write(tmp_path / "a.json", actual))
    assert not ok
    assert [r.cell for r in results if not r.ok] == [cell]
    report = format_report(results)
    assert "FAIL baseline train=ffpp u=0 test=celebdf" in report
    assert report.splitlines()[-1] == f"{len(CELLS)} cells checked, 1 outside tolerance"


def test_a_cell_whose_seeds_agree_fails_beyond_the_pooled_spread(tmp_path: Path) -> None:
    """Its own spread is 0, so the pooled spread of the other cells sets its tolerance."""
    cell = ("jdfd", "ffpp", 0.05, "uadfv")
    actual = _records()
    _find(actual, cell, 0)["frame_auc"] = 1.0 - 3 * 1.1 * _tol(CELLS[cell]) / 100
    ok, results = check_results(_records(), actual)
    assert not ok
    assert [r.label for r in results if not r.ok] == ["jdfd train=ffpp u=0.05 test=uadfv"]


def test_committed_metrics_pass_against_themselves_and_fail_when_one_auc_moves(
        tmp_path: Path) -> None:
    committed = json.loads(COMMITTED.read_text())
    expected = _write(tmp_path / "expected" / "metrics.json", committed)
    ok, results = check_results(expected, _write(tmp_path / "same" / "metrics.json", committed))
    assert ok, format_report(results)
    moved = copy.deepcopy(committed)
    record = moved[len(moved) // 2]
    target = next(r for r in results if r.cell == (current_names(record)["detector"],
                                                   record["train_dataset"],
                                                   round(record["unlabeled_ratio"], 6),
                                                   record["test_dataset"]))
    shift = target.n * (target.tol + 0.5) / 100  # moves the cell's mean by tol + 0.5 points
    record["frame_auc"] += -shift if record["frame_auc"] > 0.5 else shift
    ok, results = check_results(expected, _write(tmp_path / "moved" / "metrics.json", moved))
    assert not ok
    assert [r.cell for r in results if not r.ok] == [target.cell]


def test_missing_seed_fails(tmp_path: Path) -> None:
    actual = [r for r in _records()
              if not (r["test_dataset"] == "ffpp" and r["detector"] == "jdfd" and r["seed"] == 2)]
    ok, results = check_results(_records(), actual)
    assert not ok
    (bad,) = [r for r in results if not r.ok]
    assert bad.cell == ("jdfd", "celebdf", 0.0, "ffpp")
    assert "seeds differ: expected [0, 1, 2], actual [0, 1]" in bad.problems


def test_missing_or_extra_cell_fails() -> None:
    fewer = [r for r in _records() if r["test_dataset"] != "uadfv"]
    ok, results = check_results(_records(), fewer)
    assert not ok and "missing from the actual results" in format_report(results)
    ok, results = check_results(fewer, _records())
    assert not ok and "not in the expected results" in format_report(results)


def test_different_frame_count_fails() -> None:
    actual = _records()
    _find(actual, ("baseline", "ffpp", 0.0, "ffpp"), 0)["n_frames"] = 159
    ok, results = check_results(_records(), actual)
    assert not ok
    (bad,) = [r for r in results if not r.ok]
    assert abs(bad.diff) <= bad.tol  # the AUCs agree; the count alone fails the cell
    assert bad.problems == ("seed 0: n_frames expected 160, actual 159",)
    assert "1 more failing the exact checks" in format_report(results)


def test_cli_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _write(tmp_path / "e.json", _records())
    actual = _records()
    _find(actual, ("baseline", "ffpp", 0.0, "ffpp"), 2)["frame_auc"] = 0.5
    bad = _write(tmp_path / "a.json", actual)
    assert cli.main(["check-results", "--expected", str(expected), "--actual", str(expected)]) == 0
    assert capsys.readouterr().out.strip() == f"{len(CELLS)} cells checked, 0 outside tolerance"
    assert cli.main(["check-results", "--expected", str(expected), "--actual", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL baseline train=ffpp u=0 test=ffpp")
    assert out[-1] == f"{len(CELLS)} cells checked, 1 outside tolerance"
    # a z large enough to cover the move passes
    assert cli.main(["check-results", "--expected", str(expected), "--actual", str(bad),
                     "--z", "100"]) == 0


def test_module_entry_point_exit_code(tmp_path: Path) -> None:
    expected = _write(tmp_path / "e.json", _records())
    actual = _write(tmp_path / "a.json", [r for r in _records() if r["seed"] != 1])
    proc = subprocess.run([sys.executable, "-m", "jdfd_lib", "check-results", "--expected",
                           str(expected), "--actual", str(actual)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1].startswith(f"{len(CELLS)} cells checked")
