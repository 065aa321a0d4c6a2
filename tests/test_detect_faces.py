"""Several faces in one video: every face is aligned, linked into face tracks and scored; the
video gets its most suspicious track (``detect --faces all``, the default)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from jdfd_lib.core.errors import UserError
from jdfd_lib.detection import frames as df
from jdfd_lib.detectors.base import Detector
from jdfd_lib.faces.tracks import FaceTracker, assign_tracks

FRAMES = 4  # sampled per video


# --- face tracks from boxes alone ------------------------------------------------------------

def _box(x: float, y: float = 50, w: float = 60) -> tuple[float, float, float, float]:
    return x, y, x + w, y + w


def test_two_faces_side_by_side_keep_their_tracks_in_any_listing_order() -> None:
    frames = [(i, [_box(300 - i), _box(20 + 2 * i, w=80)][:: 1 if i % 2 else -1])
              for i in range(6)]
    ids = assign_tracks(frames)
    # the larger face (left) appears first as track 0, whatever the order of the boxes
    for (_, boxes), got in zip(frames, ids, strict=True):
        assert sorted(zip(got, [b[0] < 200 for b in boxes], strict=True)) == [(0, True),
                                                                               (1, False)]


def test_crossing_faces_keep_their_tracks() -> None:
    """Two faces walk past each other (a box moves 25 px a frame, 60 px wide): at the frame
    where they swap sides, the nearest last box would swap them; the predicted boxes do not."""
    tracker = FaceTracker()
    for i in range(8):
        a, b = _box(40 + 25 * i), _box(215 - 25 * i, y=60)
        assert tracker.assign(10 * i, [a, b]) == [0, 1]


def test_a_face_appearing_mid_video_starts_a_new_track_and_a_lost_one_comes_back() -> None:
    frames = [(0, [_box(20)]), (1, [_box(22)]), (2, [_box(24), _box(200, w=90)]),
              (3, [_box(200, w=90)]), (4, [_box(203, w=90), _box(26)])]
    assert assign_tracks(frames) == [[0], [0], [0, 1], [1], [1, 0]]


def test_a_far_away_face_is_another_track_even_when_alone() -> None:
    assert assign_tracks([(0, [_box(0)]), (5, [_box(400)])]) == [[0], [1]]


def test_a_moving_face_missing_for_a_while_is_looked_for_near_where_it_was() -> None:
    """A face moving 30 px a frame, lost for 8 frames, back 20 px further on: the same track
    (its velocity is not extrapolated over the gap, which would put it 240 px away)."""
    frames = [(0, [_box(20)]), (1, [_box(50)]), (9, [_box(70)])]
    assert assign_tracks(frames) == [[0], [0], [0]]


def test_a_spurious_one_frame_detection_is_scored_but_does_not_decide() -> None:
    """30 frames of one face (score 0.2) and, in one frame, a false detection scoring 0.99:
    the video stays real. A track needs 10 % of the frames with a face (3 here), and at least
    2 (so 2 of 4 frames suffice)."""
    rows = [(f, 0, 0.2) for f in range(30)] + [(4, 1, 0.99)]
    table = pd.DataFrame(rows, columns=["frame", "track", "score"])
    res = df.track_scores(table)
    assert res.tracks["decides"].tolist() == [True, False]
    assert (res.track, res.score, res.verdict) == (0, pytest.approx(0.2), "real")
    assert res.tracks["score"].tolist() == pytest.approx([0.2, 0.99])
    # the share is an option: 0 lets a track of 2 faces decide among 30 frames
    table = pd.DataFrame(rows + [(5, 1, 0.99)], columns=["frame", "track", "score"])
    assert df.track_scores(table).track == 0
    assert df.track_scores(table, min_track_share=0.0).track == 1
    short = pd.DataFrame([(0, 0, 0.1), (1, 0, 0.1), (1, 1, 0.9), (2, 1, 0.9)],
                         columns=["frame", "track", "score"])
    assert (df.track_scores(short).track, df.track_scores(short).verdict) == (1, "fake")


def test_the_longest_tracks_decide_when_none_is_long_enough() -> None:
    table = pd.DataFrame([(f, f // 2, 0.9 if f // 2 == 1 else 0.1) for f in range(20)]
                         + [(20, 10, 0.99)], columns=["frame", "track", "score"])
    res = df.track_scores(table)  # needs 3 faces; tracks hold 2 (and 1)
    assert res.tracks["decides"].sum() == 10 and (res.track, res.verdict) == (1, "fake")
    assert df.deciding_length(1) == 1 and df.deciding_length(4) == 2
    assert df.deciding_length(300) == 30 and df.deciding_length(300, 0.0) == 2


def test_bad_face_settings_are_refused_in_one_line(tmp_path: Path) -> None:
    from jdfd_lib.detection import videos as dv

    with pytest.raises(UserError, match="faces must be one of all, largest, got 'each'"):
        dv.detect_videos([tmp_path], tmp_path / "x.pt", tmp_path / "out", faces="each")
    with pytest.raises(UserError, match="min_track_share must be from 0 to 1, got 1.5"):
        df.track_scores(pd.DataFrame(columns=["frame", "track", "score"]), min_track_share=1.5)


# --- real videos with two faces, real dlib ---------------------------------------------------

def _photo() -> np.ndarray:
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return cv2.resize(cv2.imread(str(path)), (200, 240))  # BGR


def two_face_frames(n: int = 8) -> list[np.ndarray]:
    """(240, 400) BGR frames: the photograph's face on the left and, on the right, a smaller,
    brighter mirror copy drifting sideways."""
    face = _photo()
    small = np.clip(cv2.resize(face[:, ::-1], (150, 180)).astype(int) + 60, 0, 255)
    frames = []
    for i in range(n):
        frame = np.full((240, 400, 3), 100, np.uint8)
        frame[:, :200] = face
        frame[30:210, 230 + i:380 + i] = small
        frames.append(frame)
    return frames


class _Brightness(Detector):
    """A deterministic stand-in model: the fake logit grows with the crop's mean brightness,
    so the brightened (smaller) face is the suspicious one."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(40.0))
        self.pretrained_cfg = {"mean": (0.0,) * 3, "std": (1.0,) * 3, "input_size": (3, 64, 64)}
        self.reconstructs = False

    def forward(self, x: torch.Tensor) -> dict:
        fake = self.gain * (x.mean(dim=(1, 2, 3)) - 0.5)
        return {"logits": torch.stack([torch.zeros_like(fake), fake], 1)}

    from_config = loss = param_groups = None


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory, face_clips: dict[str, Path]) -> Path:
    from jdfd_lib.demo.video_io import write_video

    root = tmp_path_factory.mktemp("faces")
    write_video(root / "two.mp4", two_face_frames(), fps=8)
    (root / "one.mp4").write_bytes(face_clips["face"].read_bytes())
    return root


@pytest.fixture
def brightness(monkeypatch: pytest.MonkeyPatch, tiny_checkpoint: Path) -> Path:
    """``load_checkpoint`` answers the tiny checkpoint's config with :class:`_Brightness`."""
    from jdfd_lib.training import checkpoint

    real = checkpoint.load_checkpoint

    def load(path, allow_pickle=False):
        _, cfg, extra = real(path, allow_pickle=allow_pickle)
        return _Brightness(), cfg, extra

    monkeypatch.setattr(checkpoint, "load_checkpoint", load)
    return tiny_checkpoint


def _run(videos: Path, ckpt: Path, out: Path, **kw) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    from jdfd_lib.detection import videos as dv

    dv.detect_videos([videos / "two.mp4", videos / "one.mp4"], ckpt, out, frames=FRAMES, **kw)
    return (pd.read_csv(out / "detections.csv", keep_default_na=False).set_index("video"),
            pd.read_csv(out / "frames.csv"), json.loads((out / "detections.json").read_text()))


def test_every_face_is_scored_and_the_video_gets_its_most_suspicious_track(
        videos: Path, brightness: Path, tmp_path: Path) -> None:
    det, frames, prov = _run(videos, brightness, tmp_path / "all")
    two = frames[frames["video"] == str(videos / "two.mp4")]
    # both faces in every sampled frame: 2 tracks, the smaller (right) face is track 1
    assert len(two) == 2 * FRAMES and (two["n_faces"] == 2).all()
    assert two.groupby("frame")["track"].apply(sorted).tolist() == [[0, 1]] * FRAMES
    left = two[two["track"] == 0]
    assert (left["right"] < 200).all() and (two[two["track"] == 1]["left"] > 200).all()
    per_track = two.groupby("track")["score"].mean()  # independently of the library
    assert per_track[1] > 0.5 > per_track[0]
    row = det.loc[str(videos / "two.mp4")]
    assert (row["face_tracks"], row["max_faces"], row["track"]) == (2, 2, 1)
    assert row["frames_scored"] == FRAMES and row["verdict"] == "fake"
    assert float(row["video_score"]) == pytest.approx(per_track.max(), abs=1e-6)
    assert prov["faces"]["faces"] == "all" and prov["counts"]["several_faces"] == 1
    # the paper's largest-face pre-processing misses the suspicious face
    det_l, frames_l, prov_l = _run(videos, brightness, tmp_path / "largest", faces="largest")
    row_l = det_l.loc[str(videos / "two.mp4")]
    assert (row_l["face_tracks"], row_l["track"], row_l["verdict"]) == (1, 0, "real")
    two_l = frames_l[frames_l["video"] == str(videos / "two.mp4")]
    np.testing.assert_array_equal(two_l["score"], left["score"])  # the same larger face


def test_a_one_face_video_scores_as_the_largest_face_policy(videos: Path, tiny_checkpoint: Path,
                                                             tmp_path: Path) -> None:
    """Every face = the one face, tracked as in training: the same crops, boxes and scores."""
    from jdfd_lib.detection import videos as dv

    tables = {}
    for faces in ("all", "largest"):
        out = tmp_path / faces
        dv.detect_videos([videos / "one.mp4"], tiny_checkpoint, out, frames=FRAMES, faces=faces)
        tables[faces] = ((out / "frames.csv").read_text(), (out / "detections.csv").read_text())
    assert tables["all"] == tables["largest"]
    frames = pd.read_csv(tmp_path / "all" / "frames.csv")
    assert len(frames) == FRAMES and (frames["track"] == 0).all()
    assert (frames["n_faces"] == 1).all()


def test_results_made_before_faces_were_tracked_are_refused_unless_forced(
        videos: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    from jdfd_lib.detection import videos as dv

    out = tmp_path / "out"
    dv.detect_videos([videos / "one.mp4"], tiny_checkpoint, out, frames=2)
    prov = json.loads((out / "detections.json").read_text())
    del prov["faces"]  # as an older jdfd wrote it, with its CSV columns
    (out / "detections.json").write_text(json.dumps(prov))
    old = pd.read_csv(out / "frames.csv")[["video", "frame", "score", "recon_error"]]
    old.to_csv(out / "frames.csv", index=False)
    with pytest.raises(UserError) as err:
        dv.detect_videos([videos / "one.mp4"], tiny_checkpoint, out, frames=2)
    assert str(err.value).endswith(
        "were made with other settings (faces not recorded there (an older jdfd), {'faces': "
        "'all', 'min_track_share': 0.1} now); pass force=True or choose another out")
    assert "\n" not in str(err.value)
    dv.detect_videos([videos / "one.mp4"], tiny_checkpoint, out, frames=2, force=True)
    assert "track" in pd.read_csv(out / "frames.csv").columns


@pytest.mark.slow  # two extractions, a picture: about 4 s
def test_one_video_printout_names_the_tracks_and_the_deciding_one(
        videos: Path, brightness: Path, tmp_path: Path, capsys) -> None:
    from jdfd_lib.cli import main

    assert main(["detect", str(videos / "two.mp4"), "--checkpoint", str(brightness),
                 "--frames", str(FRAMES), "--picture", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "2 face tracks (up to 2 faces in one frame); video score from track 1 (the most " \
           "suspicious)" in out
    assert "verdict at 0.5: FAKE" in out
    assert cv2.imread(str(tmp_path / "p.png")) is not None
    header = next(ln.split() for ln in out.splitlines() if ln.split()[:2] == ["frame", "track"])
    assert header == ["frame", "track", "n_faces", "score"]
    assert main(["detect", str(videos / "two.mp4"), "--checkpoint", str(brightness),
                 "--frames", str(FRAMES), "--faces", "largest"]) == 0
    out = capsys.readouterr().out
    assert "face tracks" not in out and "verdict at 0.5: REAL" in out
    # many videos: the summary counts the videos with several face tracks
    assert main(["detect", str(videos), "--checkpoint", str(brightness), "--frames", str(FRAMES),
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "2 videos: 1 fake, 1 real" in out
    assert "1 videos with several face tracks: each scored by its most suspicious one" in out


def test_align_all_adds_the_other_faces_to_the_tracked_one() -> None:
    from jdfd_lib.faces.crops import ExtractConfig

    frames = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in two_face_frames(3)]
    cfg = ExtractConfig(frames_per_video=1, image_size=64)
    tracked, every = cfg.make_aligner(), cfg.make_aligner()
    for frame in frames:  # after the first frame, the largest face is searched near its box
        one, faces = tracked.align(frame), every.align_all(frame)
        assert [f.n_faces for f in faces] == [2, 2]
        np.testing.assert_array_equal(faces[0].image, one.image)
        assert faces[0].box == one.box and faces[1].box[0] > 200
