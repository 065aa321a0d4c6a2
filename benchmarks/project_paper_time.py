"""The whole paper reproduction's time and disk, projected from measured rates (README, paper).

Every stage of the paper profile at the paper's data size, from the figures the benchmarks
wrote (nothing typed in):

- ``--prepare`` (``benchmarks/bench_prepare.py``): CPU seconds per frame decoded, per face
  detected and aligned, per crop encoded, and bytes per crop, at 480p, 720p and 1080p;
- ``--cpu-train`` (``benchmarks/bench_train.py --json``): the paper step and inference on
  this machine's 2 cores;
- ``--gpu`` (``benchmarks/gpu_check.sh``): the paper step packed 4 to a GPU, evaluation;
- ``--scale`` (``benchmarks/bench_scale.py --json``): ``report``'s time at the grid's size.

Stages: prepare FF++, Celeb-DF v2 and UADFV (every video, ``--frames`` a video); the 45
trainings: Tables 2-3 (JDFD and the no-decoder baseline on each training set, 3 seeds: 18),
Fig. 4 (JDFD on FF++ with 5, 10, 15 % foreign unlabeled images, 3 seeds: 9), the detector
comparison (LAE and Exposing on each training set, 3 seeds: 18); their validation, the
evaluation of each on the three test sets; the report. A training epoch is one
class-balanced pass over Table 1's training images (twice the larger class), plus Fig. 4's
foreign images; each epoch validates a split the size of the test split (Table 1 gives no
validation counts). Table 1's counts were drawn at 300 frames a video: ``--frames F`` scales
them by F / 300. Every run is costed at JDFD's measured step rate (the baseline's is lower;
LAE's and Exposing's are not measured: their rows are estimates). On the GPU machine,
``prepare`` runs on its CPU cores (``--gpu-machine-cores``, 16 on the H200 measured).

    python benchmarks/project_paper_time.py --prepare benchmarks/results/bench_prepare.json \
        --cpu-train benchmarks/results/bench_train_cpu.json \
        --gpu benchmarks/results/gpu_check_h200.json --scale benchmarks/results/bench_scale.json
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
from pathlib import Path

from jdfd_lib.core.config import get_profile
from jdfd_lib.reporting.paper_reference import TABLE1


@functools.cache  # executed once, however many tables are projected
def _bench_prepare():
    """benchmarks/bench_prepare.py as a module: its datasets' assumptions and format keys."""
    spec = importlib.util.spec_from_file_location(
        "bench_prepare", Path(__file__).resolve().parent / "bench_prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRAIN_SETS = ("ffpp", "uadfv", "celebdf")
SEEDS = 3
FIG4_RATIOS = (0.05, 0.10, 0.15)
PAPER_FRAMES = 300
# Mean frames in a video, read to the last sampled frame whatever --frames is (decoding cost).
# Assumptions, approximately as the datasets' papers describe them (not checked against the
# files): FF++ ~510 (about 510k frames in 1,000 originals), Celeb-DF v2 ~390 (about 13 s at
# 30 fps), UADFV ~334 (about 11 s at 30 fps).
VIDEO_FRAMES = {"FF++ c23": 510, "Celeb-DF v2": 390, "UADFV": 334}
STUDIES = {"Tables 2-3": 18, "Fig. 4": 9, "detector comparison": 18}


def grid_runs() -> list[tuple[str, str, str, float]]:
    """(study, detector, training set, unlabeled ratio) of each of the 45 trainings."""
    runs = [("Tables 2-3", d, t, 0.0) for d in ("jdfd", "baseline") for t in TRAIN_SETS]
    runs += [("Fig. 4", "jdfd", "ffpp", r) for r in FIG4_RATIOS]
    runs += [("detector comparison", d, t, 0.0) for d in ("lae", "exposing") for t in TRAIN_SETS]
    return [r for r in runs for _ in range(SEEDS)]


def run_images(train_set: str, ratio: float, frames: int) -> dict[str, float]:
    """Images one run trains on, validates and tests, over all its epochs."""
    scale = frames / PAPER_FRAMES
    real, fake, test_real, test_fake = (n * scale for n in TABLE1[train_set])
    foreign = ratio * (real + fake) * (len(TRAIN_SETS) - 1)  # from EACH other dataset
    epochs = get_profile("paper").epochs
    tests = sum(r + f for _, _, r, f in TABLE1.values()) * scale
    return {"train": epochs * (2 * max(real, fake) + foreign),
            "val": epochs * (test_real + test_fake), "test": tests}


def prepare_rates(bench: dict, fmt: str) -> dict[str, dict[str, float]]:
    """Per frame size: CPU s per decoded frame, per face (detect + align + encode), bytes."""
    key = _bench_prepare().PREPARED[fmt]  # the format's row in the comparison
    rates = {}
    for res, d in bench["per_resolution"].items():
        split, run = d["cpu_split"], d["runs"][fmt]
        clip_frames = bench["frames"]  # the clip holds as many frames as are sampled
        faces = run["faces"] / run["videos"]
        encode = bench["formats"]["by_format"][key]["encode_ms"] / 1e3
        rates[res] = {"decode_s": split["decode_s"] / clip_frames,
                      "face_s": split["detect_align_s"] / faces + encode,
                      "bytes": run["bytes_per_crop"]}
    return rates


def prepare_cost(rates: dict, datasets: dict, frames: int) -> dict[str, dict[str, float]]:
    """Core-hours and GB of preparing each dataset (videos, frame-size mix: bench_prepare's
    assumptions), ``frames`` crops a video."""
    out = {}
    for name, d in datasets.items():
        mix = {r: w for r, w in d["mix"].items() if r in rates}
        total = sum(mix.values())
        per_video = sum(w / total * (VIDEO_FRAMES[name] * rates[r]["decode_s"]
                                     + min(frames, VIDEO_FRAMES[name]) * rates[r]["face_s"])
                        for r, w in mix.items())
        crop_bytes = sum(w / total * rates[r]["bytes"] for r, w in mix.items())
        crops = d["videos"] * min(frames, VIDEO_FRAMES[name])
        out[name] = {"videos": d["videos"], "crops": crops,
                     "core_h": d["videos"] * per_video / 3600, "gb": crops * crop_bytes / 1e9}
    return out


def training_cost(frames: int, rates: dict[str, float]) -> dict[str, dict[str, float]]:
    """Hours of each study's trainings (train + validation) and of all evaluations."""
    out = {s: {"images": 0.0, "h": 0.0} for s in [*STUDIES, "evaluation"]}
    for study, _, train_set, ratio in grid_runs():
        n = run_images(train_set, ratio, frames)
        out[study]["images"] += n["train"] + n["val"]
        out[study]["h"] += (n["train"] / rates["train"] + n["val"] / rates["val"]) / 3600
        out["evaluation"]["images"] += n["test"]
        out["evaluation"]["h"] += n["test"] / rates["test"] / 3600
    return out


def project(train_rate: float, val_rate: float, test_rate: float,
            frames: int = PAPER_FRAMES) -> dict[str, float]:
    """Hours of the 45 runs (training, validation, test) at the given images per second."""
    totals = {"train": 0.0, "val": 0.0, "test": 0.0}
    for _, _, train_set, ratio in grid_runs():
        for k, v in run_images(train_set, ratio, frames).items():
            totals[k] += v
    hours = {k: totals[k] / rate / 3600 for k, rate in
             (("train", train_rate), ("val", val_rate), ("test", test_rate))}
    return {**{f"{k}_images_m": round(v / 1e6, 1) for k, v in totals.items()},
            **{f"{k}_h": round(v, 1) for k, v in hours.items()},
            "total_h": round(sum(hours.values()), 1)}


def gpu_ways(gpu: dict) -> list[str]:
    """The 45 runs' hours on the GPU one at a time (fp32; bf16 + channels-last) and packed."""
    s = gpu["sections"]
    steps, packed = s["steps_batch4"]["result"], s["packing_bf16_cl"]["result"]
    scoring = s["scoring"]["result"]
    val4, test64 = scoring["4"]["evaluate_img_per_s"], scoring["64"]["evaluate_img_per_s"]
    k = max(packed, key=lambda n: packed[n]["aggregate_img_per_s"])
    ways = {"one run at a time, fp32": (steps["fp32"]["img_per_s"], val4),
            "one run at a time, bf16 + channels-last (profile default)":
                (steps["bf16_cl"]["img_per_s"], val4),
            f"{k} runs at a time (packed), bf16 + channels-last":
                (packed[k]["aggregate_img_per_s"], val4 * packed[k]["aggregate_img_per_s"]
                 / packed["1"]["aggregate_img_per_s"])}
    rows = ["| way | train img/s | training h | validation h | test h | total h | x 24 h |",
            "|---|---|---|---|---|---|---|"]
    for name, (train_rate, val_rate) in ways.items():
        p = project(train_rate, val_rate, test64)
        rows.append(f"| {name} | {train_rate:.0f} | {p['train_h']} | {p['val_h']} | "
                    f"{p['test_h']} | {p['total_h']} | {p['total_h'] / 24:.1f} |")
    return rows


def rates_of(cpu: dict, gpu: dict) -> dict[str, dict[str, float]]:
    """Training, validation and test images per second, on 2 CPU cores and on the GPU."""
    cpu4 = cpu["batch"]["4"]["project"]
    s = gpu["sections"]
    packed = s["packing_bf16_cl"]["result"]
    k = max(packed, key=lambda n: packed[n]["aggregate_img_per_s"])
    scoring = s["scoring"]["result"]
    return {"cpu": {"train": cpu4["train_img_per_s"], "val": cpu4["inference_img_per_s"],
                    "test": cpu4["inference_img_per_s"], "label": f"{cpu['threads']} threads"},
            "gpu": {"train": packed[k]["aggregate_img_per_s"],
                    # validation at the packed runs' batch of 4: scaled as training packs
                    "val": scoring["4"]["evaluate_img_per_s"] * packed[k]["aggregate_img_per_s"]
                    / packed["1"]["aggregate_img_per_s"],
                    "test": scoring["64"]["evaluate_img_per_s"],
                    "label": f"{s['environment']['result']['gpu']}, {k} runs packed"}}


def table(args: argparse.Namespace, frames: int) -> tuple[list[str], dict[str, float]]:
    """The stage table at ``frames`` a video, and its totals (hours, GB)."""
    bench = json.loads(args.prepare.read_text())
    prep = prepare_cost(prepare_rates(bench, args.format), _bench_prepare().DATASETS, frames)
    rates = rates_of(json.loads(args.cpu_train.read_text()), json.loads(args.gpu.read_text()))
    cpu, gpu = (training_cost(frames, rates[d]) for d in ("cpu", "gpu"))
    report_s = json.loads(args.scale.read_text())["stages"]["report"]["report_s"]
    cores = args.gpu_machine_cores
    rows = ["| stage | work | 2 CPU cores (h) | one GPU machine (h) |", "|---|---|---|---|"]
    totals = {"cpu_h": 0.0, "gpu_h": 0.0, "gb": 0.0}
    for name, p in prep.items():
        rows.append(f"| prepare {name} | {p['videos']:,} videos, {p['crops'] / 1e6:.2f} M crops,"
                    f" {p['gb']:.0f} GB | {p['core_h'] / 2:,.1f} | {p['core_h'] / cores:,.1f} |")
        totals["cpu_h"] += p["core_h"] / 2
        totals["gpu_h"] += p["core_h"] / cores
        totals["gb"] += p["gb"]
    for study in [*STUDIES, "evaluation"]:
        what = (f"{STUDIES[study]} trainings" if study in STUDIES else "45 runs x 3 test sets")
        note = " (estimate: costed at JDFD's rate)" if study == "detector comparison" else ""
        rows.append(f"| {study}{note} | {what}, {cpu[study]['images'] / 1e6:.1f} M images | "
                    f"{cpu[study]['h']:,.0f} | {gpu[study]['h']:,.1f} |")
        totals["cpu_h"] += cpu[study]["h"]
        totals["gpu_h"] += gpu[study]["h"]
    rows.append(f"| report | 99 result sets | {report_s / 3600:.3f} | {report_s / 3600:.3f} |")
    rows.append(f"| **total** | {totals['gb']:.0f} GB of crops | **{totals['cpu_h']:,.0f}** "
                f"(**{totals['cpu_h'] / 24 / 365:.1f} years**) | **{totals['gpu_h']:,.0f}** "
                f"(**{totals['gpu_h'] / 24:.1f} days**) |")
    return rows, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    results = Path(__file__).resolve().parent / "results"
    parser.add_argument("--prepare", type=Path, default=results / "bench_prepare.json")
    parser.add_argument("--cpu-train", type=Path, default=results / "bench_train_cpu.json")
    parser.add_argument("--gpu", type=Path, default=results / "gpu_check_h200.json")
    parser.add_argument("--scale", type=Path, default=results / "bench_scale.json")
    parser.add_argument("--format", default="webp", help="the crops' format (png, webp)")
    parser.add_argument("--frames", type=int, nargs="+", default=[300, 100, 32])
    parser.add_argument("--gpu-machine-cores", type=int, default=16)
    args = parser.parse_args()
    rows, _ = table(args, args.frames[0])
    core_h = sum(p["core_h"] for p in prepare_cost(prepare_rates(
        json.loads(args.prepare.read_text()), args.format), _bench_prepare().DATASETS,
        args.frames[0]).values())
    print(f"The paper profile at {args.frames[0]} frames a video ({args.format} crops; "
          f"{get_profile('paper').epochs} epochs a training); preparing the three datasets: "
          f"{core_h:.1f} core-hours:\n")
    print("\n".join(rows))
    print("\n| frames a video | crops (GB) | 2 CPU cores (h) | one GPU machine (h) |")
    print("|---|---|---|---|")
    for frames in args.frames:
        _, t = table(args, frames)
        print(f"| {frames} | {t['gb']:.0f} | {t['cpu_h']:,.0f} | {t['gpu_h']:,.0f} |")
    print("\nThe 45 trainings on the GPU, by way of running them (300 frames):\n")
    print("\n".join(gpu_ways(json.loads(args.gpu.read_text()))))


if __name__ == "__main__":
    main()
