"""The paper's scale on 2 CPU cores: what each stage costs in time and memory (issue 18).

The paper profile means 300 frames of ~11,600 videos (~3.5 million 299 px crops; Table 1 uses
~0.66 million). This rehearsal builds indexes of those sizes over a small pool of real 299 px
PNG crops on disk (repeated paths: the point is the row counts and the file sizes, not
distinct images) and measures each stage in a fresh process, so its peak memory is its own:

- ``index``: reading and checking the index (``read_index``, ``load_split``: disjoint splits),
  for Table 1's counts and for every crop of 300 frames per video;
- ``loader``: the training DataLoader over the 3.5 million rows at 299 px with 0, 2 and 8
  workers: images per second (decode + normalise + flip), and the memory of each process
  (proportional set size, shared pages split between the processes that share them) after
  warm-up and again later, to show it does not grow;
- ``score``: ``evaluate``'s scoring pass over a 53k-frame test set (Celeb-DF's, Table 1) with a
  stand-in model (one pooling layer: the pass's own cost, decoding and batching, not a
  network's), then the bootstrap of its frame AUC over test videos;
- ``report``: ``report``'s tables and figures from the committed demo grid's result files (the
  paper's grid: the same runs and test sets), each ROC file replaced by one of a 53k-frame
  test set (what ``evaluate`` writes at the paper's size; the tables read only the JSONs).

    .venv/bin/python benchmarks/bench_scale.py                 # ~10-15 min on 2 cores
    .venv/bin/python benchmarks/bench_scale.py --quick         # small sizes, ~1 min
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

TABLE1_ROWS = 662_278  # Table 1's train + test faces of the three datasets
ALL_ROWS = 3_480_000  # 300 frames x ~11,600 videos
TEST_FRAMES = 52_942  # Celeb-DF's test faces (Table 1): the largest test set
TEST_VIDEOS = 178  # 53k frames / 300 per video
POOL = 64  # distinct crops on disk
SIZE = 299


def peak_rss_mb() -> float:
    """This process' peak resident memory (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pss_mb(pid: int) -> float:
    """A process' proportional set size (MiB): shared pages divided among their sharers."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_pool(folder: Path, n: int) -> list[str]:
    """``n`` distinct 299 px PNG crops that compress like faces (smooth shapes + noise)."""
    import cv2

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    paths = []
    for i in range(n):
        cy, cx = rng.uniform(100, 200, 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 70.0 ** 2))
        img = 40 + blob[..., None] * rng.uniform(80, 200, 3) + rng.normal(0, 5, (SIZE, SIZE, 3))
        rel = f"crops/pool/{i:04d}.png"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / rel), np.clip(img, 0, 255).astype(np.uint8))
        paths.append(rel)
    return paths


def build_index(root: Path, rows: int, pool: list[str]) -> dict:
    """A prepared folder of ``rows`` crops: 300 frames a video, splits 70/15/15 by video."""
    import pandas as pd

    from jdfd_lib.faces.index import write_prepared_index

    n_videos = -(-rows // 300)
    video = np.arange(rows) // 300
    split = np.array(["train", "val", "test"])[np.searchsorted([0.70, 0.85], (
        video * 0.6180339887) % 1.0, side="right")]
    label = (video % 5 != 0).astype(np.int64)  # 1 real : 4 fake, as FF++
    df = pd.DataFrame({"dataset": "folder", "method": np.where(label, "fake", "real"),
                       "video": [f"v{v:06d}" for v in video], "frame": np.arange(rows) % 300,
                       "label": label, "split": split, "identity": [f"g{v:06d}" for v in video],
                       "path": np.array(pool)[np.arange(rows) % len(pool)]})
    start = time.perf_counter()
    path = write_prepared_index(df, root, {"profile": "bench"})
    return {"rows": rows, "videos": n_videos, "write_s": round(time.perf_counter() - start, 1),
            "csv_mb": round(path.stat().st_size / 2**20, 1)}


def stage_setup(work: Path, quick: bool) -> dict:
    pool = write_pool(work / "table1", POOL)
    (work / "all").mkdir(exist_ok=True)
    os.symlink(work / "table1" / "crops", work / "all" / "crops")
    sizes = (20_000, 60_000) if quick else (TABLE1_ROWS, ALL_ROWS)
    crop_kb = np.mean([(work / "table1" / p).stat().st_size for p in pool]) / 1024
    return {"crop_kb": round(crop_kb, 1),
            "table1": build_index(work / "table1", sizes[0], pool),
            "all": build_index(work / "all", sizes[1], pool)}


def stage_index(work: Path, which: str) -> dict:
    from jdfd_lib.faces.index import read_index
    from jdfd_lib.training.data import load_split

    start = time.perf_counter()
    df = read_index(work / which)
    read_s = time.perf_counter() - start
    train = load_split(work / which, "train")
    return {"rows": len(df), "train_rows": len(train), "read_s": round(read_s, 1),
            "read_and_check_s": round(time.perf_counter() - start, 1),
            "peak_rss_mb": round(peak_rss_mb())}


def stage_loader(work: Path, workers: int, batches: int) -> dict:
    from torch.utils.data import DataLoader

    from jdfd_lib.training.data import CropDataset, load_split

    torch.set_num_threads(1)
    train = load_split(work / "all", "train")
    data = CropDataset(train, SIZE, (0.5,) * 3, (0.5,) * 3, hflip=True)
    loader = DataLoader(data, 4, shuffle=True, num_workers=workers, persistent_workers=workers > 0,
                        generator=torch.Generator().manual_seed(0))
    it = iter(loader)

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            next(it)
        return 4 * n / (time.perf_counter() - start)

    run(max(8, batches // 4))  # warm-up: workers started, caches filling
    kids = [p.pid for p in getattr(it, "_workers", [])]
    early = [pss_mb(os.getpid())] + [pss_mb(k) for k in kids]
    rate = run(batches)
    late = [pss_mb(os.getpid())] + [pss_mb(k) for k in kids]
    return {"workers": workers, "rows": len(data), "img_per_s": round(rate, 1),
            "main_pss_mb": [round(early[0]), round(late[0])],
            "worker_pss_mb": [round(np.mean(early[1:])) if kids else 0,
                              round(np.mean(late[1:])) if kids else 0],
            "total_pss_mb": [round(sum(early)), round(sum(late))]}


class _Pool(torch.nn.Module):
    """The stand-in model: the fake score is a pooled colour, so scoring costs no network."""

    name, reconstructs = "pool", False
    pretrained_cfg = {"mean": (0.5,) * 3, "std": (0.5,) * 3, "input_size": (3, SIZE, SIZE)}

    def forward(self, x):
        v = x.mean(dim=(2, 3))  # (B, 3)
        return {"logits": v[:, :2]}

    def fake_score(self, out):
        return out["logits"].softmax(1)[:, 1]


def stage_score(work: Path, frames: int) -> dict:
    import pandas as pd

    from jdfd_lib.evaluation.scoring import ScoreSettings, score_paths
    from jdfd_lib.evaluation.stats import bootstrap_interval
    from jdfd_lib.faces.index import read_index

    torch.set_num_threads(2)
    paths = list(read_index(work / "table1")["abs_path"][:frames])
    start = time.perf_counter()
    table = score_paths(_Pool(), paths, ScoreSettings(torch.device("cpu"), 64, 2))
    score_s = time.perf_counter() - start
    rss = peak_rss_mb()
    video = np.arange(frames) * TEST_VIDEOS // frames
    scores = pd.DataFrame({"dataset": "folder", "method": np.where(video % 2, "fake", "real"),
                           "video": [f"v{v}" for v in video], "frame": np.arange(frames) % 300,
                           "label": video % 2, "score": table["score"].to_numpy()})
    start = time.perf_counter()
    interval = bootstrap_interval(scores)
    return {"frames": frames, "score_s": round(score_s, 1),
            "score_img_per_s": round(frames / score_s, 1), "peak_rss_mb_after_scoring": round(rss),
            "bootstrap_s": round(time.perf_counter() - start, 1),
            "frame_auc_interval": [round(x, 3) for x in interval["frame_auc"]],
            "peak_rss_mb": round(peak_rss_mb())}


def stage_report(work: Path, frames: int) -> dict:
    import shutil

    from jdfd_lib.evaluation.metrics import roc_points
    from jdfd_lib.reporting.report import write_all

    metrics = work / "metrics"
    shutil.copytree(Path(__file__).resolve().parents[1] / "results" / "demo" / "metrics", metrics)
    rng = np.random.default_rng(0)
    rocs = sorted(metrics.glob("*_roc.csv"))
    for path in rocs:  # (frames,) labels and scores of a detector with some signal
        labels = rng.integers(0, 2, frames)
        roc_points(labels, rng.normal(labels * 1.5, 1.0)).to_csv(path, index=False)
    points = len(roc_points(labels, rng.normal(labels * 1.5, 1.0)))
    start = time.perf_counter()
    results = write_all("demo", metrics, work / "results" / "demo")
    return {"result_sets": len(results), "roc_files": len(rocs), "roc_points_each": points,
            "report_s": round(time.perf_counter() - start, 1), "peak_rss_mb": round(peak_rss_mb())}


STAGES = {"setup", "index", "loader", "score", "report"}


def in_fresh_process(stage: str, work: Path, quick: bool, **kw) -> dict:
    """Run one stage in a new Python (its own peak memory) and return its figures. The crop
    cache is off: the pool's repeated paths would otherwise hit it, where the paper's
    distinct crops would not, and hide the decoding cost."""
    args = [sys.executable, __file__, "--stage", stage, "--work", str(work)]
    args += ["--quick"] if quick else []
    for k, v in kw.items():
        args += [f"--{k}", str(v)]
    env = {**os.environ, "JDFD_CROP_CACHE_MB": "0"}
    out = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if out.returncode:
        raise RuntimeError(f"stage {stage} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write every stage's figures to this "
                        "JSON file (read by benchmarks/project_paper_time.py)")
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--which", default="all", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--batches", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=TEST_FRAMES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:  # one stage, in this (fresh) process: print its figures as JSON
        figures = {"setup": lambda: stage_setup(args.work, args.quick),
                   "index": lambda: stage_index(args.work, args.which),
                   "loader": lambda: stage_loader(args.work, args.workers, args.batches),
                   "score": lambda: stage_score(args.work, args.frames),
                   "report": lambda: stage_report(args.work, args.frames)}[args.stage]()
        print(json.dumps(figures))
        return
    batches, frames = (20, 2000) if args.quick else (150, TEST_FRAMES)
    steps = [("setup", "setup", {}), ("index, Table 1", "index", {"which": "table1"}),
             ("index, all frames", "index", {"which": "all"})]
    steps += [(f"loader, {w} workers", "loader", {"workers": w, "batches": batches})
              for w in (0, 2, 8)]
    steps += [("score + bootstrap", "score", {"frames": frames}),
              ("report", "report", {"frames": frames})]
    results, load = {}, [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        for name, stage, kw in steps:
            start = time.perf_counter()
            figures = in_fresh_process(stage, Path(tmp), args.quick, **kw)
            results[name] = {**figures, "stage_s": round(time.perf_counter() - start, 1)}
            print(f"{name} ({results[name]['stage_s']:.0f} s): {json.dumps(figures)}",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps({"quick": args.quick, "loadavg_at_start": load,
                                         "stages": results}, indent=1)
                             + "\n")


if __name__ == "__main__":
    main()
