"""``python -m jdfd_lib detect`` over many videos: folders, parallel extraction, resumable
results (paper Sec. 3.1 pre-processing, Sec. 4.3 frame scores).

Each video is scored as by :mod:`jdfd_lib.detect` (evenly spaced frames, the largest Dlib face
aligned and cropped, one fake score ``softmax(logits)[:, 1]`` per face). Folders are searched
recursively for file names matching any pattern (case-insensitive; default ``*.mp4 *.avi
*.mov *.mkv``). Decoding, detection and alignment run in ``workers`` processes, one dlib
aligner each; the model runs in the main process, ``batch_size`` faces at a time. The video
score aggregates the frame scores by one of :data:`AGGREGATIONS` (``mean`` by default,
``median``, ``max``, ``vote``): "fake" at or above ``threshold`` (default 0.5), else "real";
"no face" without faces. Unreadable videos (:class:`jdfd_lib.video.VideoReadError`, OpenCV
errors) get a row with the reason and no verdict; the others are still scored.

Output in ``out``: ``detections.csv`` (one row per video, :data:`DETECTION_COLUMNS`),
``frames.csv`` (video, frame, score, and recon_error for JDFD) and ``detections.json``
(checkpoint path and sha256, run name and config, extraction settings, aggregation,
threshold, library versions, times, counts, unreadable files). Every file is replaced
atomically (temp file + rename); the CSVs at least every :data:`FLUSH_SECONDS` and when the
job ends or is interrupted. A rerun on the same ``out`` skips the videos in detections.csv if
detections.json records the same :data:`RESUME_KEYS`, and tries unreadable ones again; other
settings are refused unless ``force`` (which starts afresh).
"""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import closing
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pandas as pd

from jdfd_lib.align import FaceAligner
from jdfd_lib.datasets import VIDEO_SUFFIXES
from jdfd_lib.errors import UserError, ignore_sigint, option, require_positive
from jdfd_lib.faces import ExtractConfig, FaceCropList, extract_video_faces
from jdfd_lib.metrics import DECISION_THRESHOLD
from jdfd_lib.progress import progress_bar
from jdfd_lib.runinfo import write_json
from jdfd_lib.video import VideoReadError

DEFAULT_PATTERNS = tuple(f"*{suffix}" for suffix in VIDEO_SUFFIXES)
DETECTION_COLUMNS = ["video", "frames_sampled", "frames_scored", "frames_no_face",
                     "frames_unreadable", "video_score", "verdict", "error"]
DETECTIONS_CSV, FRAMES_CSV, DETECTIONS_JSON = "detections.csv", "frames.csv", "detections.json"
# what makes earlier results reusable: the same model file, crops, aggregation and threshold
RESUME_KEYS = ("checkpoint_sha256", "extraction", "aggregate", "threshold")
FLUSH_SECONDS = 10.0  # rewrite the CSVs at most this often (rewriting is O(videos done))
NO_FACE = "no face"
# exact float parsing, so that resumed results equal uninterrupted ones (pandas 3 parses
# exactly by default and deprecates the option)
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


class Aggregation(NamedTuple):
    """How the frame scores (N,) of a video, N >= 1, become one video score."""

    fn: Callable[[np.ndarray, float], float]  # (scores, threshold) -> video score
    description: str


AGGREGATIONS: dict[str, Aggregation] = {
    "mean": Aggregation(lambda s, t: float(np.mean(s)), "mean frame score (default)"),
    "median": Aggregation(lambda s, t: float(np.median(s)),
                          "median frame score (robust to a few outlier frames)"),
    "max": Aggregation(lambda s, t: float(np.max(s)),
                       "highest frame score (fake if any one frame looks fake)"),
    "vote": Aggregation(lambda s, t: float(np.mean(s >= t)),
                        "fraction of frames scored at or above the threshold"),
}


def check_settings(aggregate: str = "mean", threshold: float = DECISION_THRESHOLD,
                   **counts: int | None) -> None:
    """Raise :class:`UserError` for an unknown aggregation, a threshold outside (0, 1), or a
    count (``frames=...``) that is neither None nor positive. Cheap: call it first."""
    for name, value in counts.items():
        require_positive(value, name, "--" + name.replace("_", "-"))
    if aggregate not in AGGREGATIONS:
        raise UserError(f"{option('aggregate', '--aggregate')} must be one of "
                        f"{', '.join(AGGREGATIONS)}, got {aggregate!r}")
    if isinstance(threshold, bool) or not 0.0 < threshold < 1.0:
        raise UserError(f"{option('threshold', '--threshold')} must be between 0 and 1 "
                        f"(exclusive), got {threshold!r}")


def aggregate_scores(scores: Sequence[float], aggregate: str = "mean",
                     threshold: float = DECISION_THRESHOLD) -> tuple[float, str | None]:
    """A video's score and verdict from its frame scores.

    Returns:
        (score, "fake" if score >= threshold else "real"); (NaN, None) without scores.
    """
    check_settings(aggregate, threshold)
    scores = np.asarray(scores, dtype=np.float64)  # (N,)
    if scores.size == 0:
        return float("nan"), None
    score = AGGREGATIONS[aggregate].fn(scores, threshold)
    return score, "fake" if score >= threshold else "real"


def find_videos(inputs: Sequence[str | os.PathLike],
                patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[Path]:
    """Video files given, and those found in folders (recursively, sorted), without repeats.

    Raises:
        UserError: a path is neither a file nor a folder, or a folder holds no matching file.
    """
    found: dict[Path, Path] = {}  # resolved -> as given or found
    for raw in inputs:
        path = Path(raw)
        if path.is_file():
            found.setdefault(path.resolve(), path)
        elif path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.is_file() and any(
                fnmatch.fnmatch(p.name.lower(), pat.lower()) for pat in patterns))
            if not matches:
                raise UserError(f"{path}: no file matching {' '.join(patterns)} in this folder "
                                f"or below; pass {option('patterns', '--glob')} to match others")
            for p in matches:
                found.setdefault(p.resolve(), p)
        else:
            raise UserError(f"{path}: no such file or folder; expected a video or a folder "
                            "of videos")
    return list(found.values())


_ALIGNERS: dict[str, FaceAligner] = {}  # per process and settings: dlib models load once


def _extract(video: str, ecfg: ExtractConfig) -> tuple[str, FaceCropList | None, str]:
    """(video, its faces, "") or (video, None, one-line reason it cannot be read); runs in
    a worker process."""
    key = json.dumps(ecfg.fingerprint(), sort_keys=True)
    if key not in _ALIGNERS:
        _ALIGNERS[key] = ecfg.make_aligner()
    try:
        return video, extract_video_faces(video, ecfg, _ALIGNERS[key]), ""
    except (VideoReadError, cv2.error) as err:
        text = " ".join(str(err).split())  # OpenCV messages span lines
        return video, None, text.removeprefix(f"{video}: ")


def _extractions(videos: list[str], ecfg: ExtractConfig,
                 workers: int) -> Iterator[tuple[str, FaceCropList | None, str]]:
    """Yield each video's faces as it finishes (in-process when one worker suffices)."""
    if workers == 1 or len(videos) <= 1:
        for video in videos:
            yield _extract(video, ecfg)
        return
    # spawn, not fork: the main process may hold CUDA and torch threads; workers ignore
    # SIGINT so that Ctrl-C is answered once, here
    pool = ProcessPoolExecutor(min(workers, len(videos)), initializer=ignore_sigint,
                               mp_context=multiprocessing.get_context("spawn"))
    queue, pending = iter(videos), set()
    try:
        while True:  # at most 2 videos per worker in flight: finished faces wait in memory
            pending |= {pool.submit(_extract, v, ecfg)
                        for v in islice(queue, 2 * workers - len(pending))}
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:  # also on Ctrl-C or close(): cancel queued videos, let running ones end
        pool.shutdown(wait=True, cancel_futures=True)


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically: temp file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            table.to_csv(f, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _fix() -> str:
    """The way out of refused results, as the caller spells options (CLI or Python)."""
    return f"pass {option('force=True', '--force')} or choose another {option('out', '--out')}"


def _read_csv(path: Path, columns: list[str], **options) -> pd.DataFrame:
    """A results CSV as written here, floats parsed exactly; UserError if unreadable."""
    try:
        table = pd.read_csv(path, keep_default_na=False, **options, **_EXACT_FLOATS)
    except (OSError, ValueError) as err:  # pandas' ParserError is a ValueError
        raise UserError(f"{path}: cannot be read ({' '.join(str(err).split())}); {_fix()}"
                        ) from None
    if not set(columns) <= set(table.columns):
        raise UserError(f"{path}: expected the columns {', '.join(columns)}; {_fix()}")
    return table


def _difference(old, new) -> tuple:
    """(old, new), for two dicts only their differing entries (a setting, not all 12)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in {**old, **new} if old.get(k) != new.get(k)]
        return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}
    return old, new


class Results:
    """``detections.csv``, ``frames.csv`` and ``detections.json`` of one output folder."""

    def __init__(self, out: Path, provenance: dict, videos: list[str], force: bool = False):
        """Open ``out`` for ``videos``, keeping those finished with the same settings.

        Raises:
            UserError: ``out`` holds results made with other settings and ``force`` is False.
        """
        self.out, self.provenance = out, dict(provenance)
        self.rows: dict[str, dict] = {}  # video -> its detections.csv row
        self.frames: dict[str, pd.DataFrame] = {}  # video -> its frames.csv rows
        self.order = {v: i for i, v in enumerate(videos)}  # rows follow the inputs
        self.last_flush = time.monotonic()
        out.mkdir(parents=True, exist_ok=True)
        previous = self._previous_provenance(force)
        if previous is None:  # nothing to keep: no CSV may outlive the provenance it had
            for name in (DETECTIONS_CSV, FRAMES_CSV):
                (out / name).unlink(missing_ok=True)
        else:
            self.provenance["created"] = previous.get("created", self.provenance["created"])
            self._load()
        self._write_json()

    def _previous_provenance(self, force: bool) -> dict | None:
        path = self.out / DETECTIONS_JSON
        if force or not (self.out / DETECTIONS_CSV).exists():  # no results: nothing to keep
            return None
        try:
            previous = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"{path}: cannot read the settings of the results in {self.out} "
                            f"({type(err).__name__}); {_fix()}") from None
        diff = [f"{k} {old!r} there, {new!r} now" for k in RESUME_KEYS
                for old, new in [_difference(previous.get(k), self.provenance[k])] if old != new]
        if diff:
            raise UserError(f"{path}: the results in {self.out} were made with other settings "
                            f"({'; '.join(diff)}); {_fix()}")
        return previous

    def _load(self) -> None:
        """Keep the rows of read videos (unreadable ones are tried again) and their frames."""
        table = _read_csv(self.out / DETECTIONS_CSV, DETECTION_COLUMNS, na_values={
            "video_score": [""]}, dtype={"video": str, "verdict": str, "error": str})
        self.rows = {r["video"]: r for r in table.to_dict("records") if not r["error"]}
        if (self.out / FRAMES_CSV).exists():
            frames = _read_csv(self.out / FRAMES_CSV, ["video", "frame", "score"], dtype={
                "video": str, "score": np.float32, "recon_error": np.float32})
            # rows of a video missing from detections.csv (a stop between the two writes)
            # are dropped: that video is done again
            self.frames = {v: t for v, t in frames.groupby("video", sort=False)
                           if v in self.rows}

    def add(self, row: dict, frames: pd.DataFrame) -> None:
        """Record one finished video; the files follow at the next :meth:`flush`."""
        self.rows[row["video"]] = row
        self.frames[row["video"]] = frames

    def flush(self, force: bool = True) -> None:
        """Rewrite frames.csv, then detections.csv (its rows mark videos done), then the JSON;
        unless ``force``, only when :data:`FLUSH_SECONDS` have passed since the last time."""
        if not force and time.monotonic() - self.last_flush < FLUSH_SECONDS:
            return
        videos = self._ordered()
        frames = [self.frames[v] for v in videos if len(self.frames.get(v, ()))]
        _write_csv(pd.concat(frames, ignore_index=True) if frames
                   else pd.DataFrame(columns=["video", "frame", "score"]),
                   self.out / FRAMES_CSV)
        _write_csv(pd.DataFrame([self.rows[v] for v in videos], columns=DETECTION_COLUMNS),
                   self.out / DETECTIONS_CSV)
        self._write_json()
        self.last_flush = time.monotonic()

    def counts(self) -> dict[str, int]:
        """Videos, scored (fake or real), fake, real, no face and unreadable."""
        verdicts = [r["verdict"] for r in self.rows.values()]
        return {"videos": len(verdicts), "scored": verdicts.count("fake") + verdicts.count("real"),
                "fake": verdicts.count("fake"), "real": verdicts.count("real"),
                "no_face": verdicts.count(NO_FACE), "unreadable": len(self.unreadable())}

    def unreadable(self) -> list[dict]:
        """``{"video", "reason"}`` of each video that could not be read."""
        return [{"video": v, "reason": self.rows[v]["error"]} for v in self._ordered()
                if self.rows[v]["error"]]

    def _ordered(self) -> list[str]:
        """Videos in the order of the current inputs (any others after, as they were)."""
        return sorted(self.rows, key=lambda v: self.order.get(v, len(self.order)))

    def _write_json(self) -> None:
        write_json({**self.provenance, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "counts": self.counts(), "unreadable": self.unreadable()},
                   self.out / DETECTIONS_JSON)


def _score_video(video: str, crops: FaceCropList | None, error: str, model, settings,
                 aggregate: str, threshold: float) -> tuple[dict, pd.DataFrame]:
    """The detections.csv row and frames.csv rows of one extracted video."""
    from jdfd_lib.detect import score_video

    if crops is None:
        return {"video": video, **dict.fromkeys(DETECTION_COLUMNS[1:5], 0),
                "video_score": float("nan"), "verdict": "", "error": error}, pd.DataFrame()
    table, score, verdict = score_video(crops, model, settings, aggregate, threshold)
    table.insert(0, "video", video)
    st = crops.stats
    return {"video": video, "frames_sampled": len(st.requested), "frames_scored": len(table),
            "frames_no_face": len(st.no_face), "frames_unreadable": len(st.read_error),
            "video_score": score, "verdict": verdict or NO_FACE, "error": ""}, table


def _provenance(checkpoint: Path, cfg, ecfg: ExtractConfig, aggregate: str,
                threshold: float) -> dict:
    """What produced the results: model file, run, crops, aggregation, libraries."""
    from jdfd_lib.evaluate import file_sha256, library_versions

    return {"checkpoint": str(checkpoint), "checkpoint_sha256": file_sha256(checkpoint),
            "run_name": cfg.run_name, "run_config": cfg.to_dict(),
            "extraction": ecfg.fingerprint(), "aggregate": aggregate,
            "aggregate_description": AGGREGATIONS[aggregate].description,
            "threshold": float(threshold), "versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def detect_videos(inputs: Sequence[str | os.PathLike], checkpoint: str | os.PathLike,
                  out: str | os.PathLike, *, patterns: Sequence[str] = DEFAULT_PATTERNS,
                  frames: int | None = None, predictor: str | os.PathLike | None = None,
                  crop_size: int | None = None, batch_size: int | None = None,
                  workers: int = 1, aggregate: str = "mean",
                  threshold: float = DECISION_THRESHOLD, force: bool = False,
                  allow_pickle: bool = False) -> dict:
    """Score videos and folders of videos; write (or resume) the results in ``out``.

    Args:
        inputs: video files and folders (searched recursively for ``patterns``).
        checkpoint: a ``best.pt`` written by ``python -m jdfd_lib train``.
        out: folder for detections.csv, frames.csv and detections.json.
        workers: processes decoding and aligning videos in parallel.
        force: replace results in ``out`` made with other settings.
        Others: as for :func:`jdfd_lib.detect.detect_video`.

    Returns:
        ``counts`` (videos, scored, fake, real, no_face, unreadable: all of ``out``),
        ``unreadable`` (video, reason), ``done`` (videos processed now), ``skipped`` (done
        before), and the paths ``detections``, ``frames``, ``json``.

    Raises:
        UserError: a bad setting, a missing input, or results of other settings in ``out``.
    """
    check_settings(aggregate, threshold, frames=frames, crop_size=crop_size,
                   batch_size=batch_size, workers=workers)
    checkpoint, out = Path(checkpoint), Path(out)
    if not checkpoint.is_file():
        raise UserError(f"{checkpoint}: checkpoint not found")
    videos = [str(v) for v in find_videos(inputs, patterns)]
    from jdfd_lib.checkpoint import load_checkpoint  # heavy imports (torch, timm)
    from jdfd_lib.detect import extraction_config
    from jdfd_lib.scoring import ScoreSettings, prepare_model

    model, cfg, _ = load_checkpoint(checkpoint, allow_pickle=allow_pickle)
    ecfg = extraction_config(cfg.profile, frames, crop_size or cfg.image_size, predictor)
    results = Results(out, _provenance(checkpoint, cfg, ecfg, aggregate, threshold), videos,
                      force)
    todo = [v for v in videos if v not in results.rows]
    settings = ScoreSettings.from_config(cfg, batch_size, num_workers=0)
    model = prepare_model(model, settings)
    try:
        with closing(_extractions(todo, ecfg, workers)) as stream:  # closed on Ctrl-C too
            for ext in progress_bar(stream, total=len(todo), desc="detect", unit="video"):
                results.add(*_score_video(*ext, model, settings, aggregate, threshold))
                results.flush(force=False)
    finally:  # keep every finished video, also when interrupted
        results.flush()
    return {"counts": results.counts(), "unreadable": results.unreadable(), "done": len(todo),
            "skipped": len(videos) - len(todo), "detections": out / DETECTIONS_CSV,
            "frames": out / FRAMES_CSV, "json": out / DETECTIONS_JSON}

