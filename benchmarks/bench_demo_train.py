"""Training throughput of the demo profile, before and after issue 7, images per second.

"before" is the demo profile as it was (``legacy_xception``, batch 4, 64 px, decoder widths
(256, 128, 64, 32)); "after" is today's ``demo`` profile (``resnet10t``, batch 16, 64 px,
decoder (64, 32, 16, 8)). Both run the project's own training step (``CropDataset`` loading
PNG crops in the main process, the joint loss of Eq. 3, the two SGD groups) on the same
synthetic 128 px crops in the same process, alternating, each keeping its best round; the
script prints both figures and their ratio.

    .venv/bin/python benchmarks/bench_demo_train.py            # CPU, 2 threads, ~1 min
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from bench_train import write_crops  # this folder: run as benchmarks/bench_demo_train.py
from torch.utils.data import DataLoader

from jdfd_lib.core.config import TrainConfig, config_from_overrides
from jdfd_lib.detectors.losses import joint_loss
from jdfd_lib.detectors.registry import create_detector
from jdfd_lib.training.data import CropDataset
from jdfd_lib.training.loop import make_optimizer

BEFORE = dict(encoder="legacy_xception", batch_size=4, decoder_channels=(256, 128, 64, 32))


def step_rate(cfg: TrainConfig, rows: pd.DataFrame, steps: int) -> float:
    """Images per second of ``steps`` training steps (after two warm-up steps)."""
    torch.manual_seed(0)
    model = create_detector(cfg).train()
    optimizer = make_optimizer(model, cfg)
    pc = model.pretrained_cfg
    data = CropDataset(rows, cfg.image_size, pc["mean"], pc["std"], hflip=cfg.hflip)
    loader = DataLoader(data, cfg.batch_size, shuffle=True, drop_last=True)
    done, start = 0, None
    while done < steps + 2:
        for x, y, labelled in loader:
            if done == 2:
                start = time.perf_counter()
            out = model(x)
            loss = joint_loss(out["logits"], out["recon"], x, y, labelled, cfg.beta1, cfg.beta2)
            optimizer.zero_grad(set_to_none=True)
            loss["total"].backward()
            optimizer.step()
            done += 1
            if done == steps + 2:
                break
    return steps * cfg.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps of batch 16")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (best kept)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfgs = {"before": config_from_overrides("demo", **BEFORE), "after": config_from_overrides(
        "demo")}
    best = dict.fromkeys(cfgs, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        rows = write_crops(Path(tmp), 64, 128)
        for _ in range(args.rounds):
            for name, cfg in cfgs.items():
                # the same number of images for both: 16 / batch_size steps per batch of 16
                steps = args.steps * 16 // cfg.batch_size
                best[name] = max(best[name], step_rate(cfg, rows, steps))
    for name, cfg in cfgs.items():
        print(f"{name:>6}: {cfg.encoder:<16} batch {cfg.batch_size:>2}, {cfg.image_size} px: "
              f"{best[name]:6.1f} img/s")
    print(f"after/before: {best['after'] / best['before']:.1f}x ({args.threads} threads)")


if __name__ == "__main__":
    main()
