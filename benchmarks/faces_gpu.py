"""The real-faces study with the paper's recipe, on a GPU, in one command (issue 17).

JDFD and its no-decoder baseline with the paper's architecture and optimiser (profile
``faces_paper``: Xception at 299 px, batch 4, SGD 0.005 / 0.0004, StepLR(5, 0.8)) on the DFDC
face crops: prepare at 299 px, train both (packed on the GPU, ``experiments.tasks``), evaluate
on the test groups, write the comparison. Within 8 minutes of an H200's time (BENCHMARKS.md:
two packed batch-4 runs train at about 140 img/s each): **seed 0 only, 2 epochs** of one
class-balanced pass each (about 17,000 images), by default; ``--epochs`` and ``--seeds`` widen
it where there is more time. The CPU study (profile ``faces``) has 3 seeds of all four
detectors; LAE and Exposing are left out here (their official recipes need ImageNet weights
or masks).

    python benchmarks/faces_gpu.py --data DATA --out OUT            # DATA holds dfdc_faces/
    python benchmarks/faces_gpu.py --data DATA --out OUT --quick --device cpu   # a rehearsal

Xception starts from ImageNet weights, as in the profile (downloaded on first use); on a
machine without internet, ``--pretrained-file FILE`` gives them, or ``--random-init`` trains
from random weights (recorded in ``faces_gpu.json``).

Figures go to ``OUT/faces_gpu.json`` (stage seconds, the detectors' test AUC) and
``OUT/results/`` (the study's tables).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

PROFILE = "faces_paper"
DATASET = "dfdc_faces"
QUICK = dict(image_size=64, encoder="resnet10t", batch_size=16, samples_per_epoch=64,
             decoder_channels=(16, 8, 8), num_workers=0,
             pretrained=False)  # the rehearsal's small network, offline


def main(argv: list[str] | None = None) -> int:
    from jdfd_lib.experiments import grid
    from jdfd_lib.faces.crops import EXTRACT_PROFILES
    from jdfd_lib.faces.prepare import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the folder holding dfdc_faces/")
    parser.add_argument("--out", type=Path, required=True, help="crops, runs and results")
    parser.add_argument("--epochs", type=int, default=2, help="per run (default 2)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="default: 0")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--split-file", type=Path, help="another split of the groups")
    parser.add_argument("--quick", action="store_true", help="a small network: a CPU rehearsal")
    init = parser.add_mutually_exclusive_group()
    init.add_argument("--pretrained-file", type=Path,
                      help="the encoder's ImageNet weights (offline; default: timm's download)")
    init.add_argument("--random-init", action="store_true",
                      help="train the encoder from random weights (offline, without the file)")
    args = parser.parse_args(argv)
    root = args.data / DATASET
    if not root.is_dir():
        parser.error(f"{root}: no such folder (expected DATA/dfdc_faces/{{real,fake}}/...)")
    paths = grid.Paths(faces=args.out / "faces", runs=args.out / "runs",
                       results=args.out / "results")
    seconds = {}
    start = time.perf_counter()
    cfg = dataclasses.replace(EXTRACT_PROFILES[PROFILE], workers=os.cpu_count() or 1,
                              image_size=64 if args.quick else 299)
    options = {"split_file": args.split_file} if args.split_file else {}
    prepare(DATASET, root, paths.faces / DATASET, cfg, **options)
    seconds["prepare"] = round(time.perf_counter() - start, 1)
    overrides = {"epochs": args.epochs, "device": args.device, **(QUICK if args.quick else {})}
    if args.pretrained_file:
        overrides["pretrained_file"] = str(args.pretrained_file)
    elif args.random_init:
        overrides["pretrained"] = False
    start = time.perf_counter()
    results = grid.run_grid(PROFILE, paths, [DATASET], [DATASET], detectors=["jdfd", "baseline"],
                            seeds=args.seeds, overrides=overrides)
    seconds["train_and_evaluate"] = round(time.perf_counter() - start, 1)
    auc = {r.run_name: round(100 * r.frame_auc, 2) for r in results.itertuples()}
    imagenet = overrides.get("pretrained", True) or "pretrained_file" in overrides
    record = {"profile": PROFILE, "epochs": args.epochs, "seeds": args.seeds,
              "quick": args.quick, "encoder_init": "imagenet" if imagenet else "random",
              "seconds": seconds, "test_frame_auc": auc}
    (args.out / "faces_gpu.json").write_text(json.dumps(record, indent=1) + "\n")
    print((paths.results / "detectors.md").read_text())
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
