"""What the notebooks display: overviews of videos and crops, runs, scores and mistakes.

Thin helpers so that the notebooks hold narrative, parameters, calls and displays only.
Covers the paper's Fig. 2 (real and fake samples after pre-processing, Sec. 4.1) and the
interactive exploration of a trained model (scores, reconstructions, error maps). Figures
are drawn by :mod:`jdfd_lib.reporting.plot` and result files read by
:mod:`jdfd_lib.evaluation.results`; the notebooks call those directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from jdfd_lib.faces.index import read_index
from jdfd_lib.reporting.plot import reconstructions


def show(fig) -> None:
    """Display a matplotlib figure in the notebook as a PNG, and free it.

    The PNG is rendered here rather than left to IPython's figure formatter, which is only
    registered under the inline backend: headless runs (papermill with ``MPLBACKEND=Agg``)
    would otherwise keep a text placeholder instead of the picture.
    """
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buf.getvalue(), format="png"))


def show_png(path: str | os.PathLike) -> None:
    """Display a PNG written by the report."""
    from IPython.display import Image, display

    display(Image(filename=str(path)))


def video_table(records: dict[str, Sequence]) -> pd.DataFrame:
    """Videos per dataset, split, method and class from the adapters' records."""
    rows = [{"dataset": name, "split": r.split, "method": r.method,
             "class": "fake" if r.label else "real"}
            for name, recs in records.items() for r in recs]
    df = pd.DataFrame(rows)
    table = df.pivot_table(index=["dataset", "method", "class"], columns="split",
                           aggfunc="size", fill_value=0)
    return table.reindex(columns=["train", "val", "test"], fill_value=0)


def _middle_frame(path: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.set(cv2.CAP_PROP_POS_FRAMES, max(n // 2, 0))
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise OSError(f"{path}: could not read a frame (expected a readable video)")
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def sample_frames(records: Sequence, per_method: int = 1) -> tuple[list[np.ndarray], list[str]]:
    """A middle frame of the first ``per_method`` videos of every method of one dataset."""
    seen: dict[str, int] = {}
    images, titles = [], []
    for rec in sorted(records, key=lambda r: (r.label, r.method, r.video)):
        if seen.get(rec.method, 0) >= per_method:
            continue
        seen[rec.method] = seen.get(rec.method, 0) + 1
        images.append(_middle_frame(rec.path))
        titles.append(f"{rec.method}\n{rec.video} ({'fake' if rec.label else 'real'})")
    return images, titles


def index_table(faces_root: str | os.PathLike, datasets: Iterable[str]) -> pd.DataFrame:
    """Crops per dataset, split and class, with the videos they come from."""
    parts = []
    for name in datasets:
        df = read_index(Path(faces_root) / name)
        df["class"] = np.where(df["label"] == 1, "fake", "real")
        df["key"] = df["method"] + "/" + df["video"].astype(str)  # FF++ fakes share names
        g = df.groupby(["dataset", "split", "class"])
        parts.append(pd.DataFrame({"videos": g["key"].nunique(), "crops": g.size()}))
    return pd.concat(parts)


SUMMARY_COLUMNS = ["videos", "failed", "frames_requested", "faces_found", "dropped_no_face",
                   "dropped_read_error", "fallbacks"]


def extraction_summary(summaries: dict[str, dict]) -> pd.DataFrame:
    """The closing summaries of ``prepare`` (one row per dataset), without run-specific counts
    (done / skipped / seconds), so that a re-run shows the same table."""
    table = pd.DataFrame([{k: s[k] for k in SUMMARY_COLUMNS} for s in summaries.values()],
                         index=pd.Index(list(summaries), name="dataset"))
    table["face_rate_%"] = (100 * table["faces_found"] / table["frames_requested"]).round(1)
    return table


def sample_crops(root: str | os.PathLike, n: int = 6
                 ) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """``n`` crops of one prepared dataset (alternating real/fake) with their landmarks."""
    from jdfd_lib.faces.prepare import read_video_meta

    root = Path(root)
    df = read_index(root)
    picks = pd.concat([df[df["label"] == lab].drop_duplicates(["method", "video"]).head(n // 2)
                       for lab in (0, 1)])
    images, landmarks, titles = [], [], []
    for row in picks.itertuples():
        img = cv2.cvtColor(cv2.imread(row.abs_path), cv2.COLOR_BGR2RGB)
        meta = read_video_meta(root, row.method, row.video)
        by_frame = {f["frame"]: f for f in meta["frames"]}  # landmarks in crop coordinates
        images.append(img)
        # (68, 2) in crop coordinates; (0, 2) for a crop given aligned (no landmarks found)
        landmarks.append(np.asarray(by_frame[int(row.frame)]["landmarks"],
                                    dtype=float).reshape(-1, 2))
        titles.append(f"{row.method} {row.video}\nframe {row.frame}")
    return images, landmarks, titles


def epoch_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """The per-epoch log, rounded for display (losses 4 decimals, AUC in % to 1 decimal)."""
    cols = [c for c in metrics.columns if c.startswith(("train_", "val_")) or c == "epoch"]
    out = metrics[cols].copy()
    for c in cols:
        if c == "val_auc":
            out[c] = (100 * out[c]).round(1)
        elif c != "epoch":
            out[c] = out[c].round(4)
    return out


def _load_crops(paths: Sequence[str]) -> list[np.ndarray]:
    return [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in paths]


def reconstruction_figure(checkpoint: str | os.PathLike, faces_root: str | os.PathLike,
                          split: str = "val", n: int = 6):
    """Crops of one split next to the model's reconstructions and error maps."""
    from jdfd_lib.detection.detect import reconstruct
    from jdfd_lib.training.checkpoint import load_checkpoint

    model, _, _ = load_checkpoint(checkpoint)
    df = read_index(faces_root)
    df = df[df["split"] == split]
    picks = pd.concat([df[df["label"] == lab].drop_duplicates("video").head(n // 2)
                       for lab in (0, 1)])
    images = _load_crops(picks["abs_path"].tolist())
    recon, err = reconstruct(model, images)
    titles = [f"{m} {v}" for m, v in zip(picks["method"], picks["video"], strict=True)]
    return reconstructions(images, recon, err, titles)


def default_run_name(profile: str, train_dataset: str, variant: str = "jdfd") -> str:
    """The run name of a profile's run without unlabelled data and with the default seed."""
    from jdfd_lib.detectors.registry import detector_config

    return detector_config(profile, train_dataset=train_dataset, variant=variant).run_name


def video_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean frame score per video (method kept apart), most suspicious first."""
    g = scores.groupby(["dataset", "method", "video", "label"], as_index=False)["score"]
    return g.mean().sort_values("score", ascending=False).reset_index(drop=True)


def worst_mistakes(scores: pd.DataFrame, n: int = 6) -> pd.DataFrame:
    """The ``n`` real videos scored most fake and the ``n`` fake videos scored most real, each
    shown by its worst frame.

    A video is judged by its mean frame score (``video_score``, as ``detect`` and the video
    AUC judge it), so the list names ``n`` different videos per kind, not ``n`` frames of one.

    Args:
        scores: frame scores (``evaluate``'s scores file): ``method``, ``video``, ``frame``,
            ``label`` (0 real, 1 fake) and ``score`` (the fake probability, 0-1).
        n: videos per kind of mistake.

    Returns:
        The worst frame's row of each video, plus ``video_score`` and ``mistake`` ("real
        scored fake" first, most fake first; then "fake scored real", most real first).
    """
    keys = [k for k in ("dataset", "method", "video") if k in scores.columns]
    frames = scores.join(scores.groupby(keys)["score"].mean().rename("video_score"), on=keys)
    parts = []
    for label, most_fake, name in ((0, True, "real scored fake"), (1, False, "fake scored real")):
        kind = frames[frames["label"] == label].sort_values(
            ["video_score", "score", *keys, "frame"],
            ascending=[not most_fake, not most_fake, *[True] * (len(keys) + 1)], kind="stable")
        parts.append(kind.drop_duplicates(keys).head(n).assign(mistake=name))  # worst frame
    return pd.concat(parts).reset_index(drop=True)


def mistake_figure(worst: pd.DataFrame, checkpoint: str | os.PathLike,
                   faces_root: str | os.PathLike):
    """The worst mistakes with reconstructions and error maps (JDFD runs)."""
    from jdfd_lib.detection.detect import reconstruct
    from jdfd_lib.training.checkpoint import load_checkpoint

    model, _, _ = load_checkpoint(checkpoint)
    df = read_index(faces_root).set_index(["method", "video", "frame"])
    keys = list(zip(worst["method"], worst["video"].astype(str), worst["frame"], strict=True))
    images = _load_crops([df.loc[k, "abs_path"] for k in keys])
    recon, err = reconstruct(model, images)
    titles = [f"{m} {v} f{f}\nscore {s:.2f}" for (m, v, f), s in zip(keys, worst["score"],
                                                                     strict=True)]
    return reconstructions(images, recon, err, titles)
