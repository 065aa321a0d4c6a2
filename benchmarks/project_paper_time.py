"""The whole paper reproduction's GPU time, projected from measured rates (README, paper).

Reads the figures of ``benchmarks/gpu_check.sh`` (a ``gpu_check.json``) and prints, for each
way of running the grid, the hours that the 45 trainings of the reproduction take at the
paper's data size (Table 1 counts, 300 frames per video) with the paper profile's epochs:

- Tables 2 and 3: JDFD and the no-decoder baseline, trained on FF++, UADFV and Celeb-DF,
  3 seeds each (18 runs); Fig. 4: JDFD on FF++ with 5, 10 and 15 % foreign unlabelled
  images from each other dataset, 3 seeds (9 runs); the detector comparison: LAE and Exposing
  the Deception on the three training sets, 3 seeds (18 runs).
- An epoch is one class-balanced pass: twice the larger class of the training set
  (``EpochSampler``), plus the foreign images of Fig. 4; each epoch validates a split the
  size of the dataset's test split (a stand-in: Table 1 gives no validation counts), at the
  training batch (packed, assumed to scale as packed training does); each run is then
  evaluated on the three test sets at batch 64.
- Every run is costed at JDFD's measured step rate: the baseline (no decoder) is faster, and
  LAE's and Exposing's rates are not measured yet, so their rows are estimates.

    python benchmarks/project_paper_time.py benchmarks/results/gpu_check_h200.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from jdfd_lib.core.config import get_profile
from jdfd_lib.reporting.paper_reference import TABLE1

TRAIN_SETS = ("ffpp", "uadfv", "celebdf")
SEEDS = 3
FIG4_RATIOS = (0.05, 0.10, 0.15)


def grid_runs() -> list[tuple[str, str, float]]:
    """(detector, training set, unlabelled ratio) of each of the 45 trainings."""
    runs = [(d, t, 0.0) for d in ("jdfd", "baseline") for t in TRAIN_SETS]  # Tables 2-3
    runs += [("jdfd", "ffpp", r) for r in FIG4_RATIOS]  # Fig. 4
    runs += [(d, t, 0.0) for d in ("lae", "exposing") for t in TRAIN_SETS]  # comparison
    return [r for r in runs for _ in range(SEEDS)]


def run_images(train_set: str, ratio: float) -> dict[str, float]:
    """Images one run trains on, validates and tests, over all its epochs."""
    real, fake, test_real, test_fake = TABLE1[train_set]
    size = real + fake
    foreign = ratio * size * (len(TRAIN_SETS) - 1)  # from EACH other dataset
    epochs = get_profile("paper").epochs
    tests = sum(r + f for _, _, r, f in TABLE1.values())
    return {"train": epochs * (2 * max(real, fake) + foreign),
            "val": epochs * (test_real + test_fake), "test": tests}


def project(train_rate: float, val_rate: float, test_rate: float) -> dict[str, float]:
    """Hours of the 45 runs at the given aggregate images per second of each pass."""
    totals = {"train": 0.0, "val": 0.0, "test": 0.0}
    for _, train_set, ratio in grid_runs():
        for k, v in run_images(train_set, ratio).items():
            totals[k] += v
    hours = {k: totals[k] / rate / 3600 for k, rate in
             (("train", train_rate), ("val", val_rate), ("test", test_rate))}
    return {**{f"{k}_images_m": round(v / 1e6, 1) for k, v in totals.items()},
            **{f"{k}_h": round(v, 1) for k, v in hours.items()},
            "total_h": round(sum(hours.values()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gpu_check", type=Path, help="a gpu_check.json")
    args = parser.parse_args()
    sections = json.loads(args.gpu_check.read_text())["sections"]
    steps = sections["steps_batch4"]["result"]
    packed = sections["packing_bf16_cl"]["result"]
    scoring = sections["scoring"]["result"]
    val4, test64 = scoring["4"]["evaluate_img_per_s"], scoring["64"]["evaluate_img_per_s"]
    best_k = max(packed, key=lambda k: packed[k]["aggregate_img_per_s"])
    ways = {
        "one run at a time, fp32": (steps["fp32"]["img_per_s"], val4),
        "one run at a time, bf16 + channels-last (profile default)":
            (steps["bf16_cl"]["img_per_s"], val4),
        f"{best_k} runs at a time (packed), bf16 + channels-last":
            (packed[best_k]["aggregate_img_per_s"], val4 * int(best_k) * packed[best_k][
                "per_run_img_per_s"] / packed["1"]["per_run_img_per_s"]),
    }
    n = len(grid_runs())
    print(f"{n} trainings, {get_profile('paper').epochs} epochs each, Table 1 sizes\n")
    print("| way | train img/s | training h | validation h | test h | total h | x 24 h |")
    print("|---|---|---|---|---|---|---|")
    for name, (train_rate, val_rate) in ways.items():
        p = project(train_rate, val_rate, test64)
        print(f"| {name} | {train_rate:.0f} | {p['train_h']} | {p['val_h']} | {p['test_h']} "
              f"| {p['total_h']} | {p['total_h'] / 24:.1f} |")
    p = project(1, 1, 1)
    print(f"\nimages: training {p['train_images_m']} M, validation {p['val_images_m']} M, "
          f"test {p['test_images_m']} M")


if __name__ == "__main__":
    main()
