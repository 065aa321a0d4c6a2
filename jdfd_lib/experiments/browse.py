"""What the notebooks display: overviews of videos and crops, runs, scores and mistakes.

Thin helpers so that the notebooks hold narrative, parameters, calls and displays only.
Covers the paper's Fig. 2 (real and fake samples after pre-processing, Sec. 4.1) and the
interactive exploration of a trained model of any registered detector (scores, and per face:
reconstruction and error map when it reconstructs, its interpretation map when it has one,
e.g. LAE's, and the forgery mask when the crop has one). Figures are drawn by
:mod:`jdfd_lib.reporting.plot` and result files read by :mod:`jdfd_lib.evaluation.results`;
the notebooks call those directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd

from jdfd_lib.faces.index import MASK_COLUMN, read_index
from jdfd_lib.reporting.plot import face_rows

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

    from jdfd_lib.detectors.base import Detector

# (name, images, colour map or None for RGB): one row of plot.face_rows
FaceRow = tuple[str, list[np.ndarray], str | None]


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


def _load_model(checkpoint: str | os.PathLike | Detector) -> Detector:
    """A detector as given, or rebuilt from a run's checkpoint."""
    import torch

    if isinstance(checkpoint, torch.nn.Module):
        return checkpoint
    from jdfd_lib.training.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint)[0]


def mask_crops(rows: pd.DataFrame) -> list[np.ndarray | None] | None:
    """The forgery mask crops of index rows, for a mask row beside the faces.

    Args:
        rows: rows of :func:`~jdfd_lib.faces.index.read_index` (``abs_path``, ``path``,
            ``label`` and, where prepare wrote masks, ``mask``).

    Returns:
        One entry per row: the mask crop (H, W) uint8 (255 manipulated) where the row has
        one; zeros (nothing manipulated) for a pristine crop; None for a fake without one.
        None when no row has a mask (no mask row to show).

    Raises:
        FileNotFoundError: a mask the index names is missing or unreadable.
    """
    names = rows[MASK_COLUMN] if MASK_COLUMN in rows else pd.Series([""] * len(rows))
    if not names.astype(bool).any():
        return None
    read: dict[int, np.ndarray] = {}
    for i, (a, p, m) in enumerate(zip(rows["abs_path"], rows["path"], names, strict=True)):
        if m:  # relative to the index root, as the crop's path is
            path = Path(a[:len(a) - len(p)]) / m
            mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if mask is None:
                raise FileNotFoundError(f"{path}: mask crop missing or unreadable; expected "
                                        f"the one-channel PNG prepare wrote")
            read[i] = mask
    pristine = np.zeros_like(next(iter(read.values())))  # crops of one root share a size
    return [read.get(i, None if label else pristine) for i, label in enumerate(rows["label"])]


def _mask_rgb(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """A mask crop as RGB (white = manipulated, shown unscaled); None -> a blank cell
    (transparent RGBA of ``shape``)."""
    if mask is None:
        return np.zeros((*shape, 4), np.uint8)
    return np.repeat(mask[..., None], 3, axis=2)


def face_views(model: Detector, images: Sequence[np.ndarray],
               masks: Sequence[np.ndarray | None] | None = None) -> list[FaceRow]:
    """The rows of a face figure for any registered detector (:func:`plot.face_rows`).

    Rows, top to bottom: ``input`` (the crops); ``reconstruction`` and ``error`` (per-pixel
    squared error) when the detector reconstructs (``reconstructs``); ``interpretation`` when
    its forward output has one (LAE: where its fake decision rests, in [0, 1]); ``forgery
    mask`` when ``masks`` are given (RGB, white = manipulated; a blank cell where a fake has
    none). The one-channel maps (error, interpretation) get one colour scale per row from
    :func:`plot.face_rows`, as in ``detect --picture``.

    Args:
        model: a detector (:mod:`jdfd_lib.detectors.registry`), on its device.
        images: face crops (H, W, 3) RGB uint8; resized to the model input when needed.
        masks: per crop, as :func:`mask_crops` returns them; None for no mask row.

    Returns:
        ``(name, images, colour map or None for RGB)`` per row.
    """
    from jdfd_lib.detection.frames import model_views

    images = list(images)
    rows: list[FaceRow] = [("input", images, None), *model_views(model, images)]
    if masks is not None:
        rows.append(("forgery mask", [_mask_rgb(m, img.shape[:2])
                                      for m, img in zip(masks, images, strict=True)], None))
    return rows


def faces_figure(model: str | os.PathLike | Detector, rows: pd.DataFrame,
                 titles: Sequence[str], masks: bool = True) -> plt.Figure:
    """Face crops of index rows, one column each, with the views of :func:`face_views`.

    Args:
        model: a run's checkpoint (``best.pt``) or a loaded detector.
        rows: index rows (:func:`~jdfd_lib.faces.index.read_index`), in display order.
        titles: one column title per row.
        masks: add the forgery mask row when any of the rows has a mask.
    """
    detector = _load_model(model)
    images = _load_crops(rows["abs_path"].tolist())
    views = face_views(detector, images, mask_crops(rows) if masks else None)
    return face_rows(views, list(titles))


def crop_flags(faces_root: str | os.PathLike, rows: pd.DataFrame) -> list[list[str]]:
    """The extraction's quality flags of each index row's crop
    (:func:`jdfd_lib.faces.align.alignment_flags`, from the video's meta JSON); a crop whose
    video has no meta JSON (crops not written by ``prepare``) is flagged "no extraction
    record"."""
    from jdfd_lib.faces.align import alignment_flags
    from jdfd_lib.faces.prepare import read_video_meta

    out, metas = [], {}
    for row in rows.itertuples():
        key = (row.method, row.video)
        if key not in metas:
            try:
                metas[key] = read_video_meta(faces_root, row.method, row.video)
            except FileNotFoundError:
                metas[key] = None
        meta = metas[key]
        frame = None if meta is None else next(
            (f for f in meta["frames"] if int(f["frame"]) == int(row.frame)), None)
        if frame is None:
            out.append(["no extraction record"])
            continue
        out.append(alignment_flags(frame, meta["config"]["image_size"], meta["config"]["margin"]))
    return out


def reconstruction_figure(checkpoint: str | os.PathLike | Detector,
                          faces_root: str | os.PathLike, split: str = "val", n: int = 6,
                          masks: bool = False) -> plt.Figure:
    """Crops of one split (half real, half fake; one per video) with the model's views
    (:func:`face_views`: reconstructions and error maps for JDFD), forgery masks if asked.

    Crops the extraction flags as suspect alignments are skipped (another frame of the video
    is taken); other flags are shown under the crop's title. When the split holds fewer
    videos than asked, the figure's title says how many it shows and why.
    """
    df = read_index(faces_root)
    df = df[df["split"] == split]
    df = df.assign(flags=crop_flags(faces_root, df))
    good = df[~df["flags"].map(lambda f: any(x.startswith("suspect") for x in f))]
    half = (n + 1) // 2
    picks = pd.concat([good[good["label"] == lab].drop_duplicates(["method", "video"]).head(k)
                       for lab, k in ((0, half), (1, n - half))])
    titles = [f"{m} {v}" + "".join(f"\n{flag}" for flag in flags) for m, v, flags in zip(
        picks["method"], picks["video"], picks["flags"], strict=True)]
    fig = faces_figure(checkpoint, picks, titles, masks=masks)
    skipped = len(df) - len(good)
    if len(picks) < n or skipped:
        videos = [len(good[good["label"] == lab].drop_duplicates(["method", "video"]))
                  for lab in (0, 1)]
        fig.suptitle(f"{len(picks)} of {n} faces asked: the {split} split has {videos[0]} real "
                     f"and {videos[1]} fake videos with a well-aligned crop"
                     + (f"; {skipped} suspect crop(s) skipped" if skipped else ""), fontsize=8)
    return fig


def default_run_name(profile: str, train_dataset: str, detector: str = "jdfd") -> str:
    """The run name of a profile's run without unlabeled data and with the default seed."""
    from jdfd_lib.detectors.registry import detector_config

    return detector_config(profile, train_dataset=train_dataset, detector=detector).run_name


def video_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per video (method kept apart), most suspicious first: ``label`` (1 fake, 0
    real), ``video_score`` (mean frame score, the fake probability as ``detect`` judges a
    video), ``worst_frame_score`` (the frame most against its label) and ``frames``."""
    keys = [k for k in ("dataset", "method", "video", "label") if k in scores.columns]
    g = scores.groupby(keys)["score"]
    out = g.agg(video_score="mean", frames="size").reset_index()
    worst = scores.assign(against=scores["score"].where(scores["label"] == 0, 1 - scores["score"]))
    out["worst_frame_score"] = worst.loc[worst.groupby(keys)["against"].idxmax(), "score"].values
    out = out[[*keys, "video_score", "worst_frame_score", "frames"]]
    return out.sort_values("video_score", ascending=False, kind="stable").reset_index(drop=True)


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


def mistake_figure(worst: pd.DataFrame, checkpoint: str | os.PathLike | Detector,
                   faces_root: str | os.PathLike, masks: bool = True) -> plt.Figure:
    """The worst mistakes (:func:`worst_mistakes`) with the model's views of each face.

    Works for any registered detector: reconstructions and error maps when it reconstructs
    (JDFD, LAE), its interpretation map when it has one (LAE), and the forgery mask crop
    when a shown frame has one (FF++ fakes; see :func:`face_views`). The extraction's
    quality flags of each crop (:func:`crop_flags`) go under its title: a mistake on a
    suspect alignment is the crop's fault as much as the detector's.

    Args:
        worst: frames with ``method``, ``video``, ``frame`` and ``score``.
        checkpoint: the run's ``best.pt`` (or a loaded detector).
        faces_root: the prepared test set the frames come from (its ``index.csv``).
        masks: add the forgery mask row when any shown frame has a mask.

    Raises:
        KeyError: a frame is not in the index of ``faces_root``.
    """
    df = read_index(faces_root).set_index(["method", "video", "frame"])
    keys = list(zip(worst["method"], worst["video"].astype(str), worst["frame"], strict=True))
    rows = df.loc[keys].reset_index()
    titles = [f"{m}\n{v} f{f}\nscore {s:.2f}" + "".join(f"\n{flag}" for flag in flags)
              for (m, v, f), s, flags in zip(keys, worst["score"], crop_flags(faces_root, rows),
                                              strict=True)]
    return faces_figure(checkpoint, rows, titles, masks=masks)
