"""A grid of demo trainings run one at a time (2 threads) and two at a time (1 thread each).

Trains the same runs (JDFD and the baseline on the demo FF++ crops, two seeds, and the same
for LAE and Exposing the Deception with --all) twice, into two temporary run folders, with
``jdfd_lib.experiments.grid.run_grid(jobs=1)`` and ``jobs=2``, and prints the wall time of
each and their ratio. Needs the prepared demo crops (``./run_all.sh --only 01_preprocess``).

    .venv/bin/python benchmarks/bench_grid_jobs.py            # 4 runs each way, ~4 min
    .venv/bin/python benchmarks/bench_grid_jobs.py --all      # 8 runs each way, ~10 min
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from jdfd_lib.experiments import grid


def timed_grid(faces: Path, detectors: list[str], seeds: list[int], jobs: int) -> float:
    """Wall seconds of one grid (training and evaluation on the FF++ test set) from scratch."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = grid.Paths(faces=faces, runs=Path(tmp) / "runs", results=Path(tmp) / "results")
        start = time.perf_counter()
        grid.run_grid("demo", paths, ["ffpp"], ["ffpp"], detectors=detectors, seeds=seeds,
                      jobs=jobs)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=Path("data/demo_faces"))
    parser.add_argument("--all", action="store_true", help="also LAE and Exposing")
    args = parser.parse_args()
    detectors = ["jdfd", "baseline"] + (["lae", "exposing"] if args.all else [])
    seeds = [0, 1]
    one = timed_grid(args.faces, detectors, seeds, jobs=1)
    two = timed_grid(args.faces, detectors, seeds, jobs=2)
    runs = len(detectors) * len(seeds)
    print(f"\n{runs} runs ({', '.join(detectors)}; seeds {seeds}), trained and evaluated:")
    print("| jobs | threads each | wall s | s per run |\n|---|---|---|---|")
    print(f"| 1 | 2 | {one:.1f} | {one / runs:.1f} |")
    print(f"| 2 | 1 | {two:.1f} | {two / runs:.1f} |")
    print(f"ratio (1 job / 2 jobs): {one / two:.2f}x")


if __name__ == "__main__":
    main()
