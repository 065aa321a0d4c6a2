"""Face tracks within one video: which face of one sampled frame is which face of the next.

``detect --faces all`` examines every face of every sampled frame
(:meth:`jdfd_lib.faces.align.FaceAligner.align_all`); scoring then needs to know which faces
are one person's so that each person gets a score (:mod:`jdfd_lib.detection.frames`).
:class:`FaceTracker` links the faces of consecutive sampled frames by their boxes only:

- each track predicts its box at the new frame from its last two boxes (constant velocity per
  frame number, at most one step of the last two's spacing ahead; none after one box), so two
  faces that cross keep their tracks;
- a face and a track may be linked when the face's box overlaps the prediction (IoU at least
  :data:`LINK_IOU`) or its centre lies within :data:`LINK_DISTANCE` face widths of the
  prediction's; the links are chosen greedily, best first (highest IoU, then nearest centre,
  then lower track id, then larger face), each track and face at most once;
- a face linked to no track starts a new one. Track ids count 0, 1, ... in order of first
  appearance, and within one frame larger faces first, so the ids are deterministic.

A track missing from a frame keeps its last box and may be linked again later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jdfd_lib.faces.align import box_iou

Box = tuple[float, float, float, float]  # (left, top, right, bottom), frame pixels

# Which faces a video is scored on (``detect --faces``).
FACE_POLICIES: dict[str, str] = {
    "all": "every face of every sampled frame, linked into face tracks; the video gets its "
           "most suspicious track's score (default)",
    "largest": "the largest face of each frame, tracked as for training (the paper's "
               "pre-processing; other faces are not examined)",
}
LINK_IOU = 0.2  # a face overlapping a track's predicted box this much may continue it
LINK_DISTANCE = 1.0  # ... or one whose centre is within this many face widths of it


def _centre(box: Sequence[float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _width(box: Sequence[float]) -> float:
    return max(box[2] - box[0], 1.0)


@dataclass
class _Track:
    box: Box  # last box
    frame: int  # frame number of the last box
    velocity: Box = (0.0, 0.0, 0.0, 0.0)  # box change per frame number
    step: int = 0  # frames between the last two boxes

    def predict(self, frame: int) -> Box:
        # at most one step ahead: a face missing for a while is looked for near where it was
        step = min(frame - self.frame, self.step)
        return tuple(b + v * step for b, v in zip(self.box, self.velocity, strict=True))

    def update(self, box: Box, frame: int) -> None:
        self.step = max(frame - self.frame, 1)
        self.velocity = tuple((n - o) / self.step for n, o in zip(box, self.box, strict=True))
        self.box, self.frame = tuple(box), frame


class FaceTracker:
    """Assigns the faces of each sampled frame of one video to tracks (see module doc)."""

    def __init__(self) -> None:
        self.tracks: list[_Track] = []  # index = track id

    def assign(self, frame: int, boxes: Sequence[Sequence[float]]) -> list[int]:
        """The track id of each face box of ``frame`` (frames given in increasing order).

        Args:
            frame: the frame number in the video.
            boxes: the frame's face boxes (left, top, right, bottom), any order.

        Returns:
            One track id per box, in the order of ``boxes``; no two alike.
        """
        boxes = [tuple(float(v) for v in b) for b in boxes]
        pairs = []  # (sort key, track, face) of the faces that may continue a track
        for t, track in enumerate(self.tracks):
            pred = track.predict(frame)
            for f, box in enumerate(boxes):
                iou = box_iou(pred, box)
                (px, py), (fx, fy) = _centre(pred), _centre(box)
                dist = ((px - fx) ** 2 + (py - fy) ** 2) ** 0.5 / max(_width(pred), _width(box))
                if iou >= LINK_IOU or dist <= LINK_DISTANCE:
                    pairs.append(((-iou, dist, t, -_area(box), f), t, f))
        ids: list[int | None] = [None] * len(boxes)
        used: set[int] = set()
        for _, t, f in sorted(pairs):
            if t not in used and ids[f] is None:
                ids[f] = t
                used.add(t)
        # new tracks: larger faces first, then from the left, for deterministic ids
        for f in sorted((f for f, i in enumerate(ids) if i is None),
                        key=lambda f: (-_area(boxes[f]), boxes[f][0], boxes[f][1])):
            ids[f] = len(self.tracks)
            self.tracks.append(_Track(boxes[f], frame))
        for f, t in enumerate(ids):
            if self.tracks[t].frame != frame:  # an existing track, continued
                self.tracks[t].update(boxes[f], frame)
        return ids


def _area(box: Sequence[float]) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def assign_tracks(frames: Sequence[tuple[int, Sequence[Sequence[float]]]]) -> list[list[int]]:
    """Track ids of the face boxes of a video's frames, ``[(frame, boxes), ...]`` in frame
    order (:class:`FaceTracker` over them)."""
    tracker = FaceTracker()
    return [tracker.assign(frame, boxes) for frame, boxes in frames]
