"""Training-step and inference speed of the JDFD paper profile (299x299), images per second.

Compares the project's path (``jdfd_lib``'s loader, optimiser groups, joint loss; on CUDA
bf16 autocast + channels_last + pinned-memory workers) with a plain reference written the
simple way (float32, default memory format, ``num_workers=0``, one SGD group, CE + MSE) in
the same process, on the same synthetic 299 px PNG crops, and prints the ratio.

    .venv/bin/python benchmarks/bench_train.py                      # CPU, batch 4, ~1-2 min
    .venv/bin/python benchmarks/bench_train.py --device cuda --batch-sizes 4 64 --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.detectors.losses import joint_loss
from jdfd_lib.detectors.registry import create_detector
from jdfd_lib.training.data import CropDataset
from jdfd_lib.training.loop import make_optimizer
from jdfd_lib.training.runtime import Runtime, resolve_device, seed_worker


def write_crops(folder: Path, n: int, size: int) -> pd.DataFrame:
    """``n`` random-noise RGB PNG crops, half labelled fake."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"{i:04d}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        paths.append(str(path))
    return pd.DataFrame({"abs_path": paths, "label": np.arange(n) % 2})


def cycle(loader: DataLoader):
    while True:
        yield from loader


def timed(step, batches, steps: int, batch_size: int, device: torch.device) -> float:
    """Images per second over ``steps`` calls after one warm-up call."""
    step(next(batches))
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step(next(batches))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def project_path(cfg, rows, device, batch_size, workers):
    """The project's step and inference functions and loader."""
    cuda = device.type == "cuda"
    rt = Runtime(device, amp=cuda and cfg.amp, channels_last=cuda and cfg.channels_last)
    model = create_detector(cfg).to(device)
    if rt.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, cfg)
    pc = model.pretrained_cfg
    loader = DataLoader(CropDataset(rows.assign(labelled=True), cfg.image_size, pc["mean"],
                                    pc["std"], hflip=True), batch_size, shuffle=True,
                        drop_last=True, num_workers=workers, pin_memory=cuda,
                        worker_init_fn=seed_worker, persistent_workers=workers > 0)

    def to_dev(batch):
        x, y, lab = (t.to(device, non_blocking=True) for t in batch)
        return (x.contiguous(memory_format=torch.channels_last) if rt.channels_last else x), y, lab

    def train_step(batch):
        x, y, lab = to_dev(batch)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=rt.amp):
            out = model.train()(x)
        loss = joint_loss(out["logits"], out["recon"], x, y, lab, cfg.beta1, cfg.beta2)
        opt.zero_grad(set_to_none=True)
        loss["total"].backward()
        opt.step()

    @torch.inference_mode()
    def infer(batch):
        x, _, _ = to_dev(batch)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=rt.amp):
            model.eval()(x)["logits"].float().softmax(1)

    return train_step, infer, loader


def reference_path(cfg, rows, device, batch_size):
    """The simple way: float32, NCHW, main-process loading, one SGD group, CE + MSE."""
    model = create_detector(cfg).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr_autoencoder, momentum=cfg.momentum)
    pc = model.pretrained_cfg
    loader = DataLoader(CropDataset(rows, cfg.image_size, pc["mean"], pc["std"], hflip=True),
                        batch_size, shuffle=True, drop_last=True, num_workers=0)

    def train_step(batch):
        x, y, _ = (t.to(device) for t in batch)
        out = model.train()(x)
        loss = 0.8 * F.cross_entropy(out["logits"], y) + 0.2 * F.mse_loss(out["recon"], x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer(batch):
        model.eval()(batch[0].to(device))["logits"].softmax(1)

    return train_step, infer, loader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (best kept)")
    parser.add_argument("--image-size", type=int, default=299)
    parser.add_argument("--num-workers", type=int, help="project loader workers "
                        "(default: the profile's on CUDA, 0 on CPU)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file "
                        "(read by benchmarks/project_paper_time.py)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    # pretrained=False: runs offline, and speed does not depend on the starting weights
    cfg = config_from_overrides("paper", image_size=args.image_size, device=str(device),
                                pretrained=False)
    workers = args.num_workers if args.num_workers is not None else (
        cfg.num_workers if device.type == "cuda" else 0)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else ''}"
          f"{torch.get_num_threads()} threads), image {args.image_size}, project workers "
          f"{workers}, amp {cfg.amp and device.type == 'cuda'}")
    figures = {"device": str(device), "threads": torch.get_num_threads(),
               "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
               "image_size": args.image_size, "batch": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for bs in args.batch_sizes:
            rows = write_crops(Path(tmp), bs * 2, args.image_size)
            paths = {"reference": reference_path(cfg, rows, device, bs),
                     "project": project_path(cfg, rows, device, bs, workers)}
            best = {name: [0.0, 0.0] for name in paths}
            # alternate the two paths and keep each one's best round: a shared machine's
            # load then hits both alike
            for _ in range(args.rounds):
                for name, (train_step, infer, loader) in paths.items():
                    batches = cycle(loader)
                    rates = (timed(train_step, batches, args.steps, bs, device),
                             timed(infer, batches, args.steps, bs, device))
                    best[name] = [max(a, b) for a, b in zip(best[name], rates, strict=True)]
            for name, (t, i) in best.items():
                print(f"batch {bs:>3} {name:>9}: train {t:8.1f} img/s   inference {i:8.1f} img/s")
            (pt, pi), (rt, ri) = best["project"], best["reference"]
            print(f"batch {bs:>3} project/reference: train {pt / rt:.2f}x   "
                  f"inference {pi / ri:.2f}x")
            figures["batch"][str(bs)] = {name: {"train_img_per_s": round(t, 2),
                                                "inference_img_per_s": round(i, 2)}
                                         for name, (t, i) in best.items()}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")

if __name__ == "__main__":
    main()
