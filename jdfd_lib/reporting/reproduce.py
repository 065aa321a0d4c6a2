"""Compare re-trained results with committed ones, within the spread that the seeds show.

Training on CPU is deterministic on one machine but not across processors (kernels round
differently; training amplifies it), so a fresh machine re-running the demo gets other trained
numbers. This checks they agree as well as the seeds justify, from two ``metrics.json`` written
by ``report`` (one record per run and test set). A *cell* is one ``(detector, train_dataset,
unlabeled_ratio, test_dataset)``; its seeds are its repeated runs.

For every cell of the expected file, the mean frame AUC (%) over the seeds must agree::

    |mean_actual - mean_expected| <= tol,
    tol = max(Z * sqrt(2) * std_expected / sqrt(n), FLOOR)

``std_expected`` is the larger of the sample standard deviation over the cell's ``n``
committed seeds and the spread pooled over all cells (root mean of their variances: with
3 seeds a cell's own estimate has 2 degrees of freedom and is often far too small, the pooled
one has about twice the number of cells). If a
machine's numbers scatter like one more draw of the seeds, the difference of two ``n``-seed
means has standard deviation ``sqrt(2) * sigma / sqrt(n)``; ``Z`` such deviations bound it.

* ``Z = 4``: about 30 cells are checked at once, and one false alarm fails the whole check.
  Were the spread known, a 4-sigma deviation would be a false alarm of 6e-5 per cell, 2e-3
  (1 in 500) for the whole check, where 3 sigma would give 8e-2. ``std_expected`` is only
  estimated from the seeds, though: with 3 seeds the standardised difference follows
  Student's t with 2 degrees of freedom, which exceeds 4 with probability 0.057 (0.016 with
  5 seeds). Those false alarms come from seeds that happen to agree closely, which the pooled
  spread and ``FLOOR`` cap; pass a larger ``z`` where they still bite.
* ``FLOOR = 1.0`` AUC point, ten times the tables' rounding (one decimal): cells where every
  seed scores the same (e.g. 100.0) have ``std_expected = 0``, and one point is about 2.6
  discordant fake/real frame pairs in the smallest demo test set (UADFV: 16 x 16 frames), so
  a few frames ranked differently never fail a cell. A single seed has no spread: ``FLOOR``.

What does not depend on the processor is compared exactly: the set of cells, each cell's
seeds, and per record the frame and video counts (``n_frames``, ``n_videos`` and their
fake/real parts, where both files have them), which come from the data and the face
extraction and reproduce byte for byte.

Run it as ``python -m jdfd_lib check-results --expected A/metrics.json --actual B/metrics.json``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jdfd_lib.core.paths import read_json
from jdfd_lib.evaluation.results import current_names

Z = 4.0  # deviations of the difference of two n-seed means (see the module docstring)
FLOOR = 1.0  # AUC points: the least tolerance, for cells whose seeds agree exactly
CELL_KEYS = ("detector", "train_dataset", "unlabeled_ratio", "test_dataset")
COUNT_KEYS = ("n_frames", "n_frames_fake", "n_frames_real", "n_videos", "n_videos_fake",
              "n_videos_real")

Cell = tuple[str, str, float, str]
Records = Sequence[dict[str, Any]]


@dataclass(frozen=True)
class CellResult:
    """The comparison of one cell.

    Attributes:
        cell: ``(detector, train_dataset, unlabeled_ratio, test_dataset)``.
        n: number of seeds in the expected file (0 for a cell found only in the actual one).
        expected_mean: mean frame AUC (%) over the expected seeds.
        expected_std: sample standard deviation of those (0 for a single seed).
        actual_mean: mean frame AUC (%) over the actual seeds (NaN when the cell is missing).
        diff: ``actual_mean - expected_mean``.
        tol: the tolerance on ``|diff|``.
        ok: within tolerance and no exact check failed.
        problems: the exact checks that failed (cells, seeds, counts), in words.
    """

    cell: Cell
    n: int
    expected_mean: float
    expected_std: float
    actual_mean: float
    diff: float
    tol: float
    ok: bool
    problems: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The cell in words, e.g. ``jdfd train=ffpp u=0.05 test=celebdf``."""
        detector, train, ratio, test = self.cell
        return f"{detector} train={train} u={ratio:g} test={test}"


def tolerance(std: float, n: int, z: float = Z, floor: float = FLOOR) -> float:
    """The allowed ``|mean_actual - mean_expected|`` of a cell, in AUC points.

    Args:
        std: sample standard deviation of the expected seeds (AUC points).
        n: number of seeds.
        z: deviations of the difference of two ``n``-seed means.
        floor: the least tolerance.

    Returns:
        ``max(z * sqrt(2) * std / sqrt(n), floor)``; ``floor`` when ``n < 2``.
    """
    if n < 2 or not math.isfinite(std):
        return floor
    return max(z * math.sqrt(2.0) * std / math.sqrt(n), floor)


def load_records(source: str | os.PathLike | Records) -> list[dict[str, Any]]:
    """Read a ``metrics.json`` (a JSON list of records), or pass records through.

    Args:
        source: path of the file, or the records themselves.

    Returns:
        The records, with today's field names (a file written before issue 20 says
        ``variant`` for ``detector``).

    Raises:
        ValueError: the file holds no list of records.
    """
    if isinstance(source, (str, os.PathLike)):
        data = read_json(source, "a JSON list of metric records (results/<profile>/metrics.json)")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError(f"{source}: expected a JSON list of metric records")
        source = data
    return [current_names(r) for r in source]


def _cell(record: dict[str, Any]) -> Cell:
    detector, train, ratio, test = (current_names(record)[k] for k in CELL_KEYS)
    return (str(detector), str(train), round(float(ratio), 6), str(test))


def group_by_cell(records: Records) -> dict[Cell, dict[int, list[dict[str, Any]]]]:
    """Group records by cell, then by seed (a list, so that duplicates show)."""
    cells: dict[Cell, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        cells[_cell(record)][int(record["seed"])].append(record)
    return cells


def _auc_points(by_seed: dict[int, list[dict[str, Any]]]) -> list[float]:
    return [100.0 * float(r["frame_auc"]) for seed in sorted(by_seed) for r in by_seed[seed]]


def _exact_problems(expected: dict[int, list[dict[str, Any]]],
                    actual: dict[int, list[dict[str, Any]]]) -> list[str]:
    problems = []
    if sorted(expected) != sorted(actual):
        problems.append(f"seeds differ: expected {sorted(expected)}, actual {sorted(actual)}")
    for name, side in (("expected", expected), ("actual", actual)):
        for seed, records in sorted(side.items()):
            if len(records) > 1:
                problems.append(f"{len(records)} {name} records for seed {seed}")
    for seed in sorted(set(expected) & set(actual)):
        exp, act = expected[seed][0], actual[seed][0]
        for key in COUNT_KEYS:
            if key in exp and key in act and exp[key] != act[key]:
                problems.append(f"seed {seed}: {key} expected {exp[key]}, actual {act[key]}")
    return problems


def pooled_std(groups: list[list[float]]) -> float:
    """Root mean of the sample variances of the groups with 2 or more values (0 if none)."""
    variances = [statistics.variance(g) for g in groups if len(g) > 1]
    return math.sqrt(statistics.fmean(variances)) if variances else 0.0


def check_results(expected: str | os.PathLike | Records, actual: str | os.PathLike | Records,
                  z: float = Z, floor: float = FLOOR) -> tuple[bool, list[CellResult]]:
    """Compare the actual results with the expected ones, cell by cell.

    Args:
        expected: the committed ``metrics.json`` (path or records).
        actual: the re-computed ``metrics.json`` (path or records).
        z: deviations allowed for the difference of the two means (see ``tolerance``).
        floor: the least tolerance, in AUC points.

    Returns:
        Whether every cell passed, and one result per cell of the expected file (sorted),
        followed by one failing result per cell found only in the actual file.
    """
    exp_cells = group_by_cell(load_records(expected))
    act_cells = group_by_cell(load_records(actual))
    results = []
    pooled = pooled_std([_auc_points(v) for v in exp_cells.values()])
    for cell in sorted(exp_cells):
        exp_auc = _auc_points(exp_cells[cell])
        n = len(exp_auc)
        mean = statistics.fmean(exp_auc)
        std = statistics.stdev(exp_auc) if n > 1 else 0.0
        tol = tolerance(max(std, pooled), n, z, floor)
        if cell not in act_cells:
            results.append(CellResult(cell, n, mean, std, math.nan, math.nan, tol, False,
                                      ("missing from the actual results",)))
            continue
        act_mean = statistics.fmean(_auc_points(act_cells[cell]))
        diff = act_mean - mean
        problems = tuple(_exact_problems(exp_cells[cell], act_cells[cell]))
        ok = abs(diff) <= tol and not problems
        results.append(CellResult(cell, n, mean, std, act_mean, diff, tol, ok, problems))
    for cell in sorted(set(act_cells) - set(exp_cells)):
        act_mean = statistics.fmean(_auc_points(act_cells[cell]))
        results.append(CellResult(cell, 0, math.nan, math.nan, act_mean, math.nan, floor, False,
                                  ("not in the expected results",)))
    return all(r.ok for r in results), results


def format_result(result: CellResult) -> str:
    """One line for one cell: verdict, means, difference against tolerance, problems."""
    verdict = "ok  " if result.ok else "FAIL"
    line = (f"{verdict} {result.label}: n={result.n} expected {result.expected_mean:.2f}"
            f" ± {result.expected_std:.2f}, actual {result.actual_mean:.2f},"
            f" |diff| {abs(result.diff):.2f} {'<=' if abs(result.diff) <= result.tol else '>'}"
            f" tol {result.tol:.2f}")
    return "; ".join([line, *result.problems])


def format_report(results: Sequence[CellResult], verbose: bool = False) -> str:
    """The failing cells (every cell if ``verbose``), one per line, then a summary line.

    Args:
        results: the second element of ``check_results``.
        verbose: list passing cells too.

    Returns:
        The report, ending ``N cells checked, M outside tolerance`` (plus the cells failing
        only the exact checks, where there are any).
    """
    lines = [format_result(r) for r in results if verbose or not r.ok]
    outside = sum(not abs(r.diff) <= r.tol for r in results)
    exact = sum(bool(r.problems) and abs(r.diff) <= r.tol for r in results)
    summary = f"{len(results)} cells checked, {outside} outside tolerance"
    if exact:
        summary += f", {exact} more failing the exact checks (cells, seeds, counts)"
    return "\n".join([*lines, summary])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m jdfd_lib check-results``."""
    parser.add_argument("--expected", required=True, help="the committed metrics.json")
    parser.add_argument("--actual", required=True, help="the re-computed metrics.json")
    parser.add_argument("--z", type=float, default=Z,
                        help=f"deviations allowed for the difference of means (default {Z:g})")
    parser.add_argument("--floor", type=float, default=FLOOR,
                        help=f"least tolerance in AUC points (default {FLOOR:g})")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every cell")


def run(args: argparse.Namespace) -> int:
    """Print the comparison; exit status 0 when every cell passes, 1 otherwise."""
    ok, results = check_results(args.expected, args.actual, z=args.z, floor=args.floor)
    print(format_report(results, verbose=args.verbose))
    return 0 if ok else 1
