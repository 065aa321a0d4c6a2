"""Detection over many videos: folders, aggregation, resumable CSV/JSON results, unreadable
files, parallel extraction (paper Sec. 3.1 pipeline, Sec. 4.3 frame scores)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdfd_lib.core.errors import UserError
from jdfd_lib.detection import frames as df
from jdfd_lib.detection import videos as dv

FRAMES = 3  # sampled per video: enough for a per-video mean, quick on the 15-frame clips


# --- aggregation and finding videos (no model) ----------------------------------------------

def test_each_aggregation_on_a_known_score_vector() -> None:
    scores = [0.1, 0.2, 0.6, 0.9]
    assert df.aggregate_scores(scores, "mean") == (pytest.approx(0.45), "real")
    assert df.aggregate_scores(scores, "median") == (pytest.approx(0.4), "real")
    assert df.aggregate_scores(scores, "max") == (pytest.approx(0.9), "fake")
    assert df.aggregate_scores(scores, "vote") == (0.5, "fake")  # 2 of 4 at or above 0.5
    assert df.aggregate_scores(scores, "vote", threshold=0.15) == (0.75, "fake")
    assert df.aggregate_scores(scores, "mean", threshold=0.4) == (pytest.approx(0.45), "fake")
    score, verdict = df.aggregate_scores([], "max")
    assert np.isnan(score) and verdict is None
    assert set(df.AGGREGATIONS) == {"mean", "median", "max", "vote"}
    assert all(a.description for a in df.AGGREGATIONS.values())
    with pytest.raises(UserError, match="aggregate must be one of mean, median"):
        df.aggregate_scores(scores, "mode")
    with pytest.raises(UserError, match=r"threshold must be between 0 and 1.*got 1\.0"):
        df.aggregate_scores(scores, "mean", threshold=1.0)


def test_folders_are_searched_recursively_for_matching_names(tmp_path: Path) -> None:
    for name in ("a/x.mp4", "a/b/y.MOV", "a/b/notes.txt", "a/b/c/z.webm", "one.avi"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    a = tmp_path / "a"
    assert dv.find_videos([a]) == [a / "b" / "c" / "z.webm", a / "b" / "y.MOV",
                                   a / "x.mp4"]  # sorted, any case
    assert dv.find_videos([a], ("*.webm", "*.txt")) == [a / "b" / "c" / "z.webm",
                                                         a / "b" / "notes.txt"]
    # a file as given, once, even when a folder also holds it
    assert dv.find_videos([a / "x.mp4", tmp_path / "one.avi", a]) == [
        a / "x.mp4", tmp_path / "one.avi", a / "b" / "c" / "z.webm", a / "b" / "y.MOV"]
    with pytest.raises(UserError, match=r"nothere\.mp4: no such file or folder"):
        dv.find_videos([a, tmp_path / "nothere.mp4"])
    with pytest.raises(UserError, match=r"/a: no file matching \*\.mkv in this folder"):
        dv.find_videos([a], ("*.mkv",))


def test_glob_values_are_repeatable_and_comma_separated() -> None:
    from jdfd_lib.detection.detect import split_patterns

    assert split_patterns(["*.mp4,*.avi", " *.mkv "]) == ("*.mp4", "*.avi", "*.mkv")
    assert split_patterns(None) == dv.DEFAULT_PATTERNS
    assert dv.DEFAULT_PATTERNS[:6] == ("*.mp4", "*.avi", "*.mov", "*.mkv", "*.webm", "*.m4v")


def test_bad_counts_and_usage_are_refused_before_any_work(tmp_path: Path, capsys) -> None:
    from jdfd_lib.cli import main

    with pytest.raises(UserError, match="workers must be a positive number, got 0"):
        dv.detect_videos([tmp_path], tmp_path / "missing.pt", tmp_path / "out", workers=0)
    with pytest.raises(UserError, match=r"missing\.pt: checkpoint not found"):
        dv.detect_videos([tmp_path], tmp_path / "missing.pt", tmp_path / "out")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    for argv, flag in (([str(video), str(video)], "--out"), ([str(tmp_path)], "--out"),
                       ([str(video), "--frames", "-2"], "--frames"),
                       ([str(video), "--workers", "0"], "--workers"),
                       ([str(video), "--threshold", "1.5"], "--threshold"),
                       ([str(tmp_path), "--out", "o", "--picture", "p.png"], "--picture")):
        with pytest.raises(SystemExit) as exit_info:
            main(["detect", *argv, "--checkpoint", str(tmp_path / "x.pt")])
        assert exit_info.value.code == 2
        assert flag in capsys.readouterr().err.splitlines()[-1]


# --- on tiny real videos with a real (untrained, tiny) JDFD checkpoint ----------------------

@pytest.fixture(scope="module")
def ckpt(tiny_checkpoint: Path) -> Path:
    """The session's tiny untrained JDFD checkpoint (tests/conftest.py)."""
    return tiny_checkpoint


@pytest.fixture(scope="module")
def folder(face_clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clips/ (two clips of a face photograph, mirrored in fake.mp4, and a faceless one), then
    two unreadable files."""
    from jdfd_lib.demo.video_io import write_video

    root = tmp_path_factory.mktemp("videos")
    (root / "clips").mkdir()
    shutil.copy(face_clips["face"], root / "clips" / "real.mp4")
    shutil.copy(face_clips["mirrored"], root / "clips" / "fake.mp4")
    write_video(root / "clips" / "wall.mp4", [np.full((64, 64, 3), 128, np.uint8)] * 8, fps=8)
    (root / "clips" / "readme.txt").write_text("not a video, not matched by the patterns")
    (root / "zz_text.mp4").write_text("a text file named like a video\n" * 20)
    data = (root / "clips" / "real.mp4").read_bytes()
    (root / "zz_truncated.mp4").write_bytes(data[: len(data) // 2])  # moov atom lost
    return root


READABLE = ("clips/fake.mp4", "clips/real.mp4", "clips/wall.mp4")
UNREADABLE = ("zz_text.mp4", "zz_truncated.mp4")


@pytest.fixture(scope="module")
def first(folder: Path, ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One uninterrupted run over the folder (one worker)."""
    out = tmp_path_factory.mktemp("first")
    return dv.detect_videos([folder], ckpt, out, frames=FRAMES)


def _tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    return (pd.read_csv(out / "detections.csv", keep_default_na=False),
            pd.read_csv(out / "frames.csv"), json.loads((out / "detections.json").read_text()))


def test_one_row_per_video_with_counts_matching_the_frame_rows(first: dict, folder: Path,
                                                               ckpt: Path) -> None:
    det, frames, _ = _tables(first["detections"].parent)
    assert det["video"].tolist() == [str(folder / v) for v in READABLE + UNREADABLE]
    assert list(det.columns) == dv.DETECTION_COLUMNS
    assert list(frames.columns) == ["video", "frame", "track", "n_faces", "left", "top", "right",
                                    "bottom", "score", "recon_error"]
    rows = det.set_index("video")
    for name in READABLE:
        row, own = rows.loc[str(folder / name)], frames[frames["video"] == str(folder / name)]
        assert row["error"] == "" and row["frames_sampled"] == FRAMES
        assert row["frames_scored"] == len(own)
        assert row["frames_scored"] + row["frames_no_face"] + row["frames_unreadable"] == FRAMES
        if len(own):
            assert float(row["video_score"]) == pytest.approx(own["score"].mean(), abs=1e-6)
            assert row["verdict"] == ("fake" if float(row["video_score"]) >= 0.5 else "real")
    wall = rows.loc[str(folder / "clips/wall.mp4")]
    assert (wall["verdict"], wall["frames_no_face"], wall["video_score"]) == ("no face", 3, "")
    for name in UNREADABLE:
        row = rows.loc[str(folder / name)]
        assert row["verdict"] == "" and "cannot be opened" in row["error"]
    # the same scores as the single-video detect of each video
    from jdfd_lib.detection.detect import detect_video

    single = detect_video(folder / "clips/fake.mp4", ckpt, frames=FRAMES)["frames"]
    own = frames[frames["video"] == str(folder / "clips/fake.mp4")]
    assert own["frame"].tolist() == single["frame"].tolist()
    np.testing.assert_allclose(own["score"], single["score"], rtol=1e-6)


def test_provenance_names_the_checkpoint_settings_and_unreadable_files(first: dict,
                                                                       folder: Path,
                                                                       ckpt: Path) -> None:
    _, _, prov = _tables(first["detections"].parent)
    assert prov["checkpoint"] == str(ckpt)
    assert prov["checkpoint_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert prov["run_name"] == "demo-jdfd-ffpp-u00-s0" and prov["run_config"]["profile"] == "demo"
    assert prov["extraction"]["frames_per_video"] == FRAMES
    assert prov["extraction"]["image_size"] == prov["run_config"]["image_size"]
    assert (prov["aggregate"], prov["threshold"]) == ("mean", 0.5)
    assert {"torch", "dlib", "cv2", "python"} <= set(prov["versions"])
    assert prov["counts"] == {"videos": 5, "scored": 2, "fake": first["counts"]["fake"],
                              "real": first["counts"]["real"], "no_face": 1, "unreadable": 2,
                              "several_faces": 0}
    assert prov["faces"] == {"faces": "all", "min_track_share": 0.1}
    assert [u["video"] for u in prov["unreadable"]] == [str(folder / v) for v in UNREADABLE]
    assert first["unreadable"] == prov["unreadable"]


def _counting(monkeypatch: pytest.MonkeyPatch, stop_at: int | None = None) -> list[str]:
    """Record every extraction; raise KeyboardInterrupt at call ``stop_at`` (1-based)."""
    calls, real, total = [], dv._extract, itertools.count(1)

    def extract(video: str, ecfg, faces):
        calls.append(Path(video).name)
        if next(total) == stop_at:
            raise KeyboardInterrupt
        return real(video, ecfg, faces)

    monkeypatch.setattr(dv, "_extract", extract)
    return calls


def test_an_interrupted_run_resumes_without_redoing_finished_videos(
        first: dict, folder: Path, ckpt: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    calls = _counting(monkeypatch, stop_at=2)
    with pytest.raises(KeyboardInterrupt):
        dv.detect_videos([folder], ckpt, out, frames=FRAMES)
    det, _, prov = _tables(out)
    assert det["video"].tolist() == [str(folder / READABLE[0])]  # kept on Ctrl-C
    assert prov["counts"]["videos"] == 1
    calls.clear()
    res = dv.detect_videos([folder], ckpt, out, frames=FRAMES)
    assert calls == ["real.mp4", "wall.mp4", *UNREADABLE]
    assert (res["done"], res["skipped"]) == (4, 1)
    for name in ("detections.csv", "frames.csv"):  # as if never interrupted
        assert (out / name).read_text() == (first["detections"].parent / name).read_text()
    calls.clear()
    dv.detect_videos([folder], ckpt, out, frames=FRAMES)
    assert calls == list(UNREADABLE)  # only the unreadable ones are tried again


def test_a_video_missing_from_detections_csv_is_done_again_once(
        first: dict, folder: Path, ckpt: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    shutil.copytree(first["detections"].parent, out)
    det = pd.read_csv(out / "detections.csv", keep_default_na=False)
    det.iloc[1:].to_csv(out / "detections.csv", index=False)  # stopped before its row
    calls = _counting(monkeypatch)
    dv.detect_videos([folder], ckpt, out, frames=FRAMES)
    assert calls == ["fake.mp4", *UNREADABLE]
    frames = pd.read_csv(out / "frames.csv")
    assert frames.equals(pd.read_csv(first["frames"]))  # no duplicated frame rows


def test_results_of_other_settings_are_refused_unless_forced(first: dict, folder: Path,
                                                             ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(first["detections"].parent, out)
    before = {name: (out / name).read_text() for name in ("detections.csv", "frames.csv")}
    with pytest.raises(UserError, match=r"detections\.json: .*aggregate 'mean' there, 'max' "
                                        r"now.*force=True"):
        dv.detect_videos([folder], ckpt, out, frames=FRAMES, aggregate="max")
    with pytest.raises(UserError) as err:
        dv.detect_videos([folder], ckpt, out, frames=FRAMES + 1)
    assert "'frames_per_video': 3} there" in str(err.value) and "margin" not in str(err.value)
    assert {name: (out / name).read_text() for name in before} == before  # left alone
    res = dv.detect_videos([folder], ckpt, out, frames=FRAMES, aggregate="max", force=True)
    assert (res["done"], res["skipped"]) == (5, 0)
    det, frames, prov = _tables(out)
    assert prov["aggregate"] == "max"
    scored = det[det["frames_scored"] > 0]
    expected = frames.groupby("video")["score"].max()
    np.testing.assert_allclose(scored["video_score"].astype(float),
                               expected.loc[scored["video"]].to_numpy(), rtol=1e-6)


def test_cli_refuses_other_settings_naming_force(first: dict, folder: Path, ckpt: Path,
                                                 capsys) -> None:
    from jdfd_lib.cli import main

    out = first["detections"].parent
    status = main(["detect", str(folder), "--checkpoint", str(ckpt), "--out", str(out),
                   "--frames", str(FRAMES), "--aggregate", "vote"])
    err = [ln for ln in capsys.readouterr().err.strip().splitlines()  # the files it skips
           if not ln.startswith("skipped: ")]  # are named first (test_files_and_decoders.py)
    assert status == 1 and len(err) == 1
    assert err[0].startswith(f"jdfd detect: error: {out / 'detections.json'}: ")
    assert "--force" in err[0] and "--out" in err[0]


@pytest.mark.slow  # python -m jdfd_lib detect with 2 worker processes: about 10 s
def test_cli_two_workers_match_one_and_unreadable_files_exit_1(first: dict, folder: Path,
                                                              ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "jdfd_lib", "detect", str(folder / "clips"),
         *(str(folder / v) for v in UNREADABLE), "--checkpoint", str(ckpt), "--out", str(out),
         "--frames", str(FRAMES), "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    unreadable = [ln for ln in proc.stderr.splitlines() if ln.startswith("unreadable: ")]
    assert unreadable == [f"unreadable: {folder / v}: cannot be opened as a video (corrupt or "
                          "unsupported)" for v in UNREADABLE]
    assert "5 videos: " in proc.stdout and "2 unreadable" in proc.stdout
    for name in ("detections.csv", "frames.csv"):
        assert (out / name).read_text() == (first["detections"].parent / name).read_text()


@pytest.mark.slow  # a Python that imports torch
def test_sigterm_keeps_the_videos_finished_before_it(ckpt: Path, clip_dataset,
                                                     face_clips: dict[str, Path],
                                                     tmp_path: Path) -> None:
    """A scheduler's stop (SIGTERM) is handled as Ctrl-C: what is finished is written, and
    the same command resumes after it."""
    import signal
    import subprocess
    import sys
    import time

    videos = clip_dataset(tmp_path / "videos", face_clips, 40)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "jdfd_lib", "detect", str(videos), "--checkpoint", str(ckpt),
            "--out", str(out), "--frames", str(FRAMES), "--workers", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # the model is loaded and the job has begun
    time.sleep(4.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1].endswith("interrupted; run the same command again "
                                                 "to resume")
    kept = pd.read_csv(out / "detections.csv")
    assert 0 < len(kept) < 80 and kept["video"].map(os.path.isfile).all()
    resumed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert len(pd.read_csv(out / "detections.csv")) == 80
    assert f"{80 - len(kept)} videos processed now, {len(kept)} done before" in resumed.stdout


def test_a_replaced_video_is_scored_again(folder: Path, ckpt: Path, tmp_path: Path,
                                          capsys) -> None:
    """Resuming keys a finished video on its file (size, modification time), not its path:
    new content under an old name gets a new verdict, and the run says so."""
    videos = Path(shutil.copytree(folder / "clips", tmp_path / "clips"))
    out = tmp_path / "out"
    dv.detect_videos([videos], ckpt, out, frames=FRAMES)
    before = _tables(out)[0].set_index("video")
    target = videos / "wall.mp4"  # faceless: no score; becomes the face clip
    shutil.copy(videos / "real.mp4", target)
    capsys.readouterr()
    res = dv.detect_videos([videos], ckpt, out, frames=FRAMES)
    assert (res["done"], res["skipped"]) == (1, 2)
    assert f"1 videos changed since they were scored (size or modification time, or not " \
           f"recorded), e.g. {target}: scoring them again" in capsys.readouterr().out
    after = _tables(out)[0].set_index("video")
    assert before.loc[str(target), "verdict"] == "no face"
    assert after.loc[str(target), "verdict"] in ("fake", "real")
    assert after.loc[str(target), "frames_scored"] == FRAMES
    again = dv.detect_videos([videos], ckpt, out, frames=FRAMES)
    assert (again["done"], again["skipped"]) == (0, 3)  # nothing changed: nothing redone


@pytest.mark.parametrize("size", ["100000", "4"])
def test_a_crop_size_no_face_fits_is_refused(size: str, tmp_path: Path, capsys) -> None:
    from jdfd_lib import cli

    assert cli.main(["detect", str(tmp_path), "--checkpoint", str(tmp_path / "x.pt"),
                     "--out", str(tmp_path / "o"), "--crop-size", size]) == 1
    assert f"--crop-size must be from 8 to 2048 pixels, got {size}" in capsys.readouterr().err


def test_a_second_detect_on_one_out_is_refused(first: dict, folder: Path, ckpt: Path,
                                               tmp_path: Path) -> None:
    """Two detect runs on one --out: the later one's tables would replace the earlier one's
    finished rows. While one writes there, another is refused in one line, changing nothing."""
    from jdfd_lib.core.locks import holding

    out = tmp_path / "out"
    shutil.copytree(first["detections"].parent, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with holding(out / dv.LOCK_FILE, out, "held by the test"):  # a detect running elsewhere
        with pytest.raises(UserError, match=rf"{re.escape(str(out))}: another detect is "
                                            r"writing its results in it; wait for it"):
            dv.detect_videos([folder], ckpt, out, frames=FRAMES)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    # free again: only the unreadable files are tried again
    assert dv.detect_videos([folder], ckpt, out, frames=FRAMES)["done"] == len(UNREADABLE)
