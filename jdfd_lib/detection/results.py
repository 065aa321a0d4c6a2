"""The result files of ``detect`` over many videos, and resuming from them (paper Sec. 4.3
frame scores, gathered per video).

:class:`Results` owns one output folder: ``detections.csv`` (one row per video,
:data:`DETECTION_COLUMNS`), ``frames.csv`` (one row per face of a frame: video, frame, track,
n_faces, box, score, and recon_error for JDFD) and ``detections.json`` (provenance, counts,
unreadable files). Every file is replaced atomically (:mod:`jdfd_lib.core.atomic`); the CSVs
at most every :data:`FLUSH_SECONDS` and when the job ends or is interrupted, so a
half-written row never counts as done. Opening a folder keeps the
videos finished with the same :data:`RESUME_KEYS` whose files are as they were read (size and
modification time, kept in the JSON's ``files``; a changed file is scored again) and refuses
other settings unless ``force``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jdfd_lib.core.atomic import write_csv, write_json
from jdfd_lib.core.errors import UserError, option
from jdfd_lib.core.paths import file_identity

# frames_scored: frames with a face; face_tracks: faces followed through the video; max_faces:
# the most faces in one frame; track: the face track the video score comes from
DETECTION_COLUMNS = ["video", "frames_sampled", "frames_scored", "frames_no_face",
                     "frames_unreadable", "face_tracks", "max_faces", "track", "video_score",
                     "verdict", "error"]
FRAME_COLUMNS = ["video", "frame", "track", "n_faces", "left", "top", "right", "bottom", "score"]
DETECTIONS_CSV, FRAMES_CSV, DETECTIONS_JSON = "detections.csv", "frames.csv", "detections.json"
# what makes earlier results reusable: the same model file, crops, faces examined (results
# made before faces were tracked have none: refused), aggregation and threshold
RESUME_KEYS = ("checkpoint_sha256", "extraction", "faces", "aggregate", "threshold")
FLUSH_SECONDS = 10.0  # rewrite the CSVs at most this often (rewriting is O(videos done))
NO_FACE = "no face"
# exact float parsing, so that resumed results equal uninterrupted ones (pandas 3 parses
# exactly by default and deprecates the option)
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


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
        self.files: dict[str, list[int]] = {}  # video -> [size, mtime_ns] when it was read
        self.changed: list[str] = []  # finished before, but the file changed since: redone
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
            self._load(previous.get("files", {}))
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
        diff = [f"{k} {old!r} there, {new!r} now" if k in previous
                else f"{k} not recorded there (an older jdfd), {new!r} now" for k in RESUME_KEYS
                for old, new in [_difference(previous.get(k), self.provenance[k])] if old != new]
        if diff:
            raise UserError(f"{path}: the results in {self.out} were made with other settings "
                            f"({'; '.join(diff)}); {_fix()}")
        return previous

    def _load(self, files: dict) -> None:
        """Keep the rows of read videos whose file is as it was read (size and modification
        time; unreadable videos are tried again, changed ones scored again) and their frames."""
        table = _read_csv(self.out / DETECTIONS_CSV, DETECTION_COLUMNS, na_values={
            "video_score": [""]}, dtype={"video": str, "verdict": str, "error": str})
        read = [r for r in table.to_dict("records") if not r["error"]]
        self.changed = [r["video"] for r in read
                        if file_identity(r["video"]) != files.get(r["video"])]
        self.rows = {r["video"]: r for r in read if r["video"] not in self.changed}
        self.files = {v: files[v] for v in self.rows}
        if (self.out / FRAMES_CSV).exists():
            frames = _read_csv(self.out / FRAMES_CSV, FRAME_COLUMNS, dtype={
                "video": str, "score": np.float32, "recon_error": np.float32})
            # rows of a video missing from detections.csv (a stop between the two writes)
            # are dropped: that video is done again
            self.frames = {v: t for v, t in frames.groupby("video", sort=False)
                           if v in self.rows}

    def add(self, row: dict, frames: pd.DataFrame) -> None:
        """Record one finished video; the files follow at the next :meth:`flush`."""
        self.rows[row["video"]] = row
        self.frames[row["video"]] = frames
        self.files[row["video"]] = file_identity(row["video"])

    def flush(self, force: bool = True) -> None:
        """Rewrite frames.csv, then detections.csv (its rows mark videos done), then the JSON;
        unless ``force``, only when :data:`FLUSH_SECONDS` have passed since the last time."""
        if not force and time.monotonic() - self.last_flush < FLUSH_SECONDS:
            return
        videos = self._ordered()
        frames = [self.frames[v] for v in videos if len(self.frames.get(v, ()))]
        write_csv(pd.concat(frames, ignore_index=True) if frames
                  else pd.DataFrame(columns=FRAME_COLUMNS),
                  self.out / FRAMES_CSV)
        write_csv(pd.DataFrame([self.rows[v] for v in videos], columns=DETECTION_COLUMNS),
                  self.out / DETECTIONS_CSV)
        self._write_json()
        self.last_flush = time.monotonic()

    def counts(self) -> dict[str, int]:
        """Videos, scored (fake or real), fake, real, no face, unreadable, and several faces
        (videos with more than one face track)."""
        verdicts = [r["verdict"] for r in self.rows.values()]
        several = sum(int(r["face_tracks"] or 0) > 1 for r in self.rows.values())
        return {"videos": len(verdicts), "scored": verdicts.count("fake") + verdicts.count("real"),
                "fake": verdicts.count("fake"), "real": verdicts.count("real"),
                "no_face": verdicts.count(NO_FACE), "unreadable": len(self.unreadable()),
                "several_faces": several}

    def unreadable(self) -> list[dict]:
        """``{"video", "reason"}`` of each video that could not be read."""
        return [{"video": v, "reason": self.rows[v]["error"]} for v in self._ordered()
                if self.rows[v]["error"]]

    def _ordered(self) -> list[str]:
        """Videos in the order of the current inputs (any others after, as they were)."""
        return sorted(self.rows, key=lambda v: self.order.get(v, len(self.order)))

    def _write_json(self) -> None:
        write_json({**self.provenance, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "counts": self.counts(), "unreadable": self.unreadable(),
                    "files": {v: self.files.get(v) for v in self._ordered()}},
                   self.out / DETECTIONS_JSON)
