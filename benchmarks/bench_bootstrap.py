"""Bootstrap speed: every metric file carries intervals over test videos (Sec. 4.3 metrics).

jdfd: :func:`jdfd_lib.evaluation.stats.bootstrap_replicates`, all replicates at once (one
sort, weighted cumulative sums). Plain reference: one ``sklearn.metrics.roc_auc_score`` with
``sample_weight`` per replicate, on the same draws (``counts``). Prints seconds for both,
their ratio, and the largest difference of the replicate AUCs (they must agree to float
rounding). Scales: the demo's test sets (~50 videos x 4 frames) and a paper-like one (FF++
test: 140 videos x 300 frames).

Usage:
    python benchmarks/bench_bootstrap.py
    python benchmarks/bench_bootstrap.py --videos 140 --frames 300 --boot 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from jdfd_lib.evaluation.stats import bootstrap_replicates


def score_table(videos: int, frames: int, seed: int = 0) -> pd.DataFrame:
    """Half real, half fake videos; fake frames score higher on average (AUC ~0.8)."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(videos):
        label = v % 2
        centre = rng.normal(0.6 if label else 0.4, 0.15)
        for f in range(frames):
            rows.append(("demo", "fake" if label else "real", f"v{v:04d}", f, label,
                         float(np.clip(centre + rng.normal(0, 0.1), 0, 1))))
    return pd.DataFrame(rows, columns=["dataset", "method", "video", "frame", "label", "score"])


def reference(scores: pd.DataFrame, videos: pd.DataFrame, counts: np.ndarray) -> np.ndarray:
    """Frame AUC of each replicate with sklearn, frames weighted by their video's count."""
    keys = ["dataset", "method", "video"]
    column = {tuple(k): i for i, k in enumerate(videos[keys].itertuples(index=False))}
    vid = np.array([column[tuple(k)] for k in scores[keys].itertuples(index=False)])
    labels, values = scores["label"].to_numpy(), scores["score"].to_numpy()
    return np.array([roc_auc_score(labels, values, sample_weight=row[vid]) for row in counts])


def bench(videos: int, frames: int, n_boot: int) -> None:
    scores = score_table(videos, frames)
    bootstrap_replicates(scores, 10)  # warm-up (imports, caches)
    start = time.perf_counter()
    rep = bootstrap_replicates(scores, n_boot)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    ref = reference(scores, rep["videos"], rep["counts"])
    plain = time.perf_counter() - start
    diff = float(np.abs(ref - rep["frame_auc"]).max())
    print(f"{videos:>5} videos x {frames:>3} frames, {n_boot} replicates: jdfd {ours:7.3f} s, "
          f"sklearn loop {plain:7.3f} s, ratio {plain / ours:6.1f}x, max |diff| {diff:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, nargs="+", default=[50, 140])
    parser.add_argument("--frames", type=int, nargs="+", default=[4, 300])
    parser.add_argument("--boot", type=int, default=1000)
    args = parser.parse_args()
    for videos, frames in zip(args.videos, args.frames, strict=True):
        bench(videos, frames, args.boot)


if __name__ == "__main__":
    main()
