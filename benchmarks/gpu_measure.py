"""The measurements of ``gpu_check.py``: training steps, packed trainings, scoring, loading.

Every figure is images per second, measured after warm-up steps and with the device
synchronised before the clock stops. Each function returns a plain dict (JSON-ready).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from jdfd_lib.detectors.base import Batch
from jdfd_lib.detectors.registry import create_detector, detector_config
from jdfd_lib.training.compiled import TrainingForward
from jdfd_lib.training.data import CropDataset
from jdfd_lib.training.loop import make_optimizer, train_step
from jdfd_lib.training.runtime import Runtime

# how a step runs: (amp, channels_last, compile_mode). With channels-last, reduce-overhead
# fell back to eager on the H200 (an inductor stride assertion; BENCHMARKS.md, GPU), so the
# compiled modes are measured in both layouts.
MODES = {"fp32": (False, False, "none"), "bf16_cl": (True, True, "none"),
         "compiled": (True, False, "reduce-overhead"), "compiled_cl": (True, True,
                                                                        "reduce-overhead")}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def paper_step(device: torch.device, batch: int, mode: str, image_size: int = 299,
               detector: str = "jdfd"):
    """The paper's training step on a fixed synthetic batch: (run one step, forward, model).

    Xception at ``image_size``, the detector's loss (JDFD: Eq. 3, 0.8 CE + 0.2 MSE), SGD with
    the two parameter groups; the step is :func:`jdfd_lib.training.loop.train_step` itself.
    """
    amp, channels_last, compile_mode = MODES[mode]
    cuda = device.type == "cuda"
    # pretrained=False: the GPU machine is offline, and a step's speed does not depend on the
    # starting weights
    cfg = detector_config("paper", detector=detector, image_size=image_size, device=str(device),
                          amp=amp, channels_last=channels_last, compile_mode=compile_mode,
                          pretrained=False)
    rt = Runtime(device, amp=cuda and amp, channels_last=cuda and channels_last)
    model = create_detector(cfg).to(device)
    if rt.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, image_size, image_size, generator=g).to(device)
    if rt.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    b = Batch(x, torch.arange(batch, device=device) % 2,
              torch.ones(batch, dtype=torch.bool, device=device), {})
    forward = TrainingForward(model, compile_mode, f"bench {mode} b{batch}")
    model.train()

    def step():
        return forward.run(lambda f: train_step(model, f, b, optimizer, cfg, rt))
    return step, forward, model


def timed_steps(step, device: torch.device, batch: int, warmup: int, seconds: float,
                max_steps: int = 100_000) -> dict:
    """Run ``warmup`` steps (timed: the first one compiles), then steps for ``seconds``."""
    t0 = time.perf_counter()
    step()
    sync(device)
    first = time.perf_counter() - t0
    for _ in range(warmup - 1):
        step()
    sync(device)
    start, n = time.perf_counter(), 0
    while n < max_steps and (n < 3 or time.perf_counter() - start < seconds):
        step()
        n += 1
    sync(device)
    elapsed = time.perf_counter() - start
    return {"img_per_s": round(n * batch / elapsed, 1), "ms_per_step": round(
        1000 * elapsed / n, 2), "steps": n, "first_step_s": round(first, 2)}


def step_rates(device: torch.device, batch: int, modes: list[str], image_size: int,
               warmup: int, seconds: float) -> dict:
    """Images per second of the paper step in each mode, with peak memory."""
    out = {}
    for mode in modes:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        step, forward, _ = paper_step(device, batch, mode, image_size)
        row = timed_steps(step, device, batch, warmup, seconds)
        row["compiled"] = forward.compiled
        if forward.fallback_reason:
            row["fallback"] = forward.fallback_reason
        if device.type == "cuda":
            row["peak_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
        out[mode] = row
        del step, forward
    return out


def _pack_worker(idx: int, ks: list[int], mode: str, image_size: int, seconds: float,
                 start, end, results) -> None:
    """One of the packed trainings: warm up, then in each phase K train if idx < K and put
    one result (a rate, or the error that stopped this process)."""
    torch.set_num_threads(1)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    step, error = None, ""
    try:
        step, _, _ = paper_step(device, 4, mode, image_size)
        for _ in range(3):
            step()
        sync(device)
    except Exception as err:  # reported by the parent; the barriers must still be met
        error = f"{type(err).__name__}: {err}"[:300]
    for k in ks:
        start.wait(timeout=BARRIER_S)
        if idx < k:
            if step is None:
                results.put((k, idx, error))
            else:
                t0, n = time.perf_counter(), 0
                while n < 3 or time.perf_counter() - t0 < seconds:
                    step()
                    n += 1
                sync(device)
                results.put((k, idx, 4 * n / (time.perf_counter() - t0)))
        end.wait(timeout=BARRIER_S)


BARRIER_S = 300  # longest wait for the packed processes (start-up and compilation included)


def packing(ks: list[int], mode: str, image_size: int, seconds: float) -> dict:
    """Aggregate images per second of K batch-4 trainings at once (K processes, one GPU).

    The processes start and warm up together; then for each K in turn the first K of them
    train for ``seconds`` while the others wait, and each reports its own rate.
    """
    ctx = multiprocessing.get_context("spawn")
    n = max(ks)
    start, end, results = ctx.Barrier(n + 1), ctx.Barrier(n + 1), ctx.Queue()
    procs = [ctx.Process(target=_pack_worker, daemon=True,
                         args=(i, ks, mode, image_size, seconds, start, end, results))
             for i in range(n)]
    for p in procs:
        p.start()
    out, errors = {}, []
    try:
        for k in ks:
            start.wait(timeout=BARRIER_S)
            rates = []
            for _ in range(k):  # one result from each of the first k processes
                _, idx, value = results.get(timeout=BARRIER_S)
                if isinstance(value, str):
                    errors.append(f"process {idx}: {value}")
                else:
                    rates.append(value)
            end.wait(timeout=BARRIER_S)
            out[k] = {"aggregate_img_per_s": round(sum(rates), 1), "runs": len(rates),
                      "per_run_img_per_s": round(sum(rates) / max(len(rates), 1), 1)}
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    if errors:
        raise RuntimeError("; ".join(sorted(set(errors))))
    return out


def crop_rows(faces: Path, n: int) -> pd.DataFrame:
    """``n`` rows over the prepared crops of ``faces`` (repeated): path and label."""
    from jdfd_lib.faces.index import read_index

    index = read_index(faces)
    paths = [str(p) for p in index["abs_path"]]
    reps = -(-n // len(paths))
    return pd.DataFrame({"abs_path": (paths * reps)[:n],
                         "label": (list(index["label"]) * reps)[:n]})


def loader_rate(rows: pd.DataFrame, image_size: int, workers: int, batch: int,
                pin: bool) -> dict:
    """Decode + normalise rate of the training loader (hflip on), after its first batch."""
    data = CropDataset(rows.assign(labelled=True), image_size, (0.5,) * 3, (0.5,) * 3,
                       hflip=True)
    loader = DataLoader(data, batch, shuffle=True, num_workers=workers, pin_memory=pin,
                        drop_last=True, generator=torch.Generator().manual_seed(0))
    it = iter(loader)
    next(it)
    start, n = time.perf_counter(), 0
    for x, _, _ in it:
        n += len(x)
    elapsed = time.perf_counter() - start
    return {"img_per_s": round(n / elapsed, 1), "images": n, "workers": workers}


def scoring_rates(model, rows: pd.DataFrame, device: torch.device, batches: list[int],
                  workers: int) -> dict:
    """``evaluate``'s scoring (crops read from disk) and ``detect``'s (crops in memory)."""
    from jdfd_lib.detection.frames import score_video
    from jdfd_lib.evaluation.scoring import ScoreSettings, score_paths
    from jdfd_lib.faces.crops import FaceCrop
    from jdfd_lib.faces.images import read_image

    cuda = device.type == "cuda"
    images = [read_image(p) for p in rows["abs_path"].unique()]
    crops = [FaceCrop(i, images[i % len(images)], np.zeros((0, 2)), (0, 0, 1, 1), 1, False)
             for i in range(len(rows))]
    out = {}
    for bs in batches:
        settings = ScoreSettings(device, bs, workers, amp=cuda, channels_last=cuda)
        score_paths(model, list(rows["abs_path"][: 2 * bs]), settings)  # warm-up
        sync(device)
        t0 = time.perf_counter()
        table = score_paths(model, list(rows["abs_path"]), settings)
        sync(device)
        t1 = time.perf_counter()
        frames, _, _ = score_video(crops, model, settings)
        sync(device)
        t2 = time.perf_counter()
        if not (np.isfinite(table["score"]).all() and np.isfinite(frames["score"]).all()):
            raise RuntimeError(f"batch {bs}: non-finite scores")
        out[bs] = {"evaluate_img_per_s": round(len(table) / (t1 - t0), 1),
                   "detect_img_per_s": round(len(frames) / (t2 - t1), 1)}
    return out


def environment(device: torch.device) -> dict:
    """What ran: versions and the device."""
    import timm

    env = {"torch": torch.__version__, "timm": timm.__version__, "device": str(device),
           "cpus": os.cpu_count()}
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        env.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1),
                   cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   sms=p.multi_processor_count)
    return env
