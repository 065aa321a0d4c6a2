"""The ``prepare`` job: crops, metadata, index, resume, bad videos, demo face rate."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import av
import cv2
import matplotlib
import numpy as np
import pytest

from jdfd_lib.core.errors import UserError
from jdfd_lib.faces import prepare as extract
from jdfd_lib.faces import prepare_cli
from jdfd_lib.faces.align import PREDICTOR_FILE
from jdfd_lib.faces.crops import EXTRACT_PROFILES, ExtractConfig, extract_video_faces
from jdfd_lib.faces.index import INDEX_COLUMNS, read_index
from jdfd_lib.faces.prepare import prepare, read_video_meta

CFG = ExtractConfig(frames_per_video=4, image_size=48, workers=1)


def face_frames(n: int, blank: tuple[int, ...] = ()) -> list[np.ndarray]:
    """n frames (240x200 RGB) of a real face photograph drifting sideways; ``blank`` frames
    hold no face."""
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    img = cv2.resize(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), (200, 240))
    frames = []
    for i in range(n):
        m = np.float32([[1, 0, 2 * i - n], [0, 1, 0]])
        frame = cv2.warpAffine(img, m, (200, 240), borderMode=cv2.BORDER_REFLECT)
        frames.append(np.full_like(frame, 90) if i in blank else frame)
    return frames


def write_video(path: Path, frames: list[np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 200, 240, "yuv420p"
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def uadfv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A UADFV-layout folder of 3 real + 3 fake short face videos."""
    root = tmp_path_factory.mktemp("data") / "UADFV"
    for i in range(3):
        write_video(root / f"real/{i:04d}.mp4", face_frames(10))
        write_video(root / f"fake/{i:04d}_fake.mp4", face_frames(10, blank=(6, 7, 8, 9)))
    return root


def copy_layout(src: Path, dst: Path) -> Path:
    for p in src.rglob("*.mp4"):
        (dst / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
        (dst / p.relative_to(src)).write_bytes(p.read_bytes())
    return dst


def test_paper_profile_values() -> None:
    paper = EXTRACT_PROFILES["paper"]
    assert paper.frames_per_video == 300 and paper.image_size == 299
    assert paper.image_format == "webp"  # lossless, chosen by measurement (BENCHMARKS.md)
    assert Path(paper.fingerprint()["predictor_path"]).name == PREDICTOR_FILE


def test_prepare_writes_crops_meta_and_index(uadfv: Path, tmp_path: Path) -> None:
    out = tmp_path / "faces"
    summary = prepare("uadfv", uadfv, out, CFG)
    assert (summary["videos"], summary["done"], summary["skipped"], summary["failed"]) == (
        6, 6, 0, 0)
    assert summary["frames_requested"] == 24
    # fake videos: sampled frames 1, 3, 6, 8 -> the last two are blank
    assert summary["dropped_no_face"] == 3 * 2 and summary["dropped_read_error"] == 0
    assert summary["faces_found"] == 24 - 6
    df = read_index(out)
    assert list(df.columns[: len(INDEX_COLUMNS)]) == list(INDEX_COLUMNS)
    assert len(df) == 18 and "n_faces" in df.columns
    assert set(df["frame"][df["method"] == "real"]) == {1, 3, 6, 8}
    for p in df["abs_path"]:
        img = cv2.imread(p)
        assert img is not None and img.shape == (48, 48, 3)
    meta = read_video_meta(out, "fake", "0000_fake")
    assert meta["label"] == 1 and meta["frames_requested"] == [1, 3, 6, 8]
    assert [d["reason"] for d in meta["dropped"]] == ["no_face", "no_face"]
    assert np.array(meta["frames"][0]["landmarks"]).shape == (68, 2)
    assert json.loads((out / extract.SUMMARY_FILE).read_text())["faces_found"] == 18
    with pytest.raises(FileNotFoundError, match="was not extracted"):
        read_video_meta(out, "fake", "0099_fake")


def test_resume_after_interruption(uadfv: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "faces"
    real_write, calls = extract._write_crop, {"n": 0}

    def crash_in_second_video(path, image, cfg):
        calls["n"] += 1
        if calls["n"] == 4:  # second crop of the second video (fakes: 2 faces each)
            raise KeyboardInterrupt
        real_write(path, image, cfg)

    monkeypatch.setattr(extract, "_write_crop", crash_in_second_video)
    with pytest.raises(KeyboardInterrupt):
        prepare("uadfv", uadfv, out, CFG)
    first, second = out / "meta/fake/0000_fake.json", out / "meta/fake/0001_fake.json"
    assert first.is_file() and not second.is_file()
    assert not (out / "crops/fake/0001_fake").exists()  # half-written video not in place
    stamp = first.stat().st_mtime_ns
    monkeypatch.setattr(extract, "_write_crop", real_write)
    summary = prepare("uadfv", uadfv, out, CFG)
    assert (summary["done"], summary["skipped"]) == (5, 1)
    assert first.stat().st_mtime_ns == stamp  # finished video skipped, not redone
    assert len(list((out / "crops/fake/0001_fake").iterdir())) == 2
    assert not list(out.glob("crops/*/.*tmp*"))
    assert len(read_index(out)) == 18
    # a rerun with other settings redoes everything
    again = prepare("uadfv", uadfv, out, ExtractConfig(frames_per_video=2, image_size=32))
    assert (again["done"], again["skipped"], again["frames_requested"]) == (6, 0, 12)


def test_corrupt_videos_are_reported_and_skipped(uadfv: Path, tmp_path: Path) -> None:
    root = copy_layout(uadfv, tmp_path / "UADFV")
    (root / "real/0007.mp4").write_bytes(b"")
    (root / "fake/0007_fake.mp4").write_bytes(b"\x00garbage" * 500)
    summary = prepare("uadfv", root, tmp_path / "faces", CFG)
    assert (summary["videos"], summary["done"], summary["failed"]) == (8, 6, 2)
    failed = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert set(failed) == {"0007.mp4", "0007_fake.mp4"}
    assert "zero-byte" in failed["0007.mp4"] and "0007_fake.mp4" in failed["0007_fake.mp4"]
    assert "0007" not in set(read_index(tmp_path / "faces")["identity"])


def test_extract_video_faces_counts_frames_without_face(uadfv: Path) -> None:
    cfg = ExtractConfig(frames_per_video=10, image_size=64)
    crops = extract_video_faces(uadfv / "fake/0001_fake.mp4", cfg)
    assert [c.frame for c in crops] == list(range(6))
    assert crops.stats.no_face == [6, 7, 8, 9] and crops.stats.read_error == []
    c = crops[0]
    assert c.image.shape == (64, 64, 3) and c.landmarks.shape == (68, 2) and len(c.box) == 4


def test_cli_runs_prepare(uadfv: Path, tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    prepare_cli.add_arguments(parser)
    args = parser.parse_args(["--dataset", "uadfv", "--root", str(uadfv), "--out",
                              str(tmp_path / "o"), "--profile", "demo", "--frames", "2",
                              "--size", "40", "--split-file", str(tmp_path / "split.json")])
    assert prepare_cli.run(args) == 0
    assert "faces_found" in capsys.readouterr().out
    assert len(read_index(tmp_path / "o")) == 6 * 2 - 3  # fakes: frame 7 blank
    assert (tmp_path / "split.json").is_file()


@pytest.mark.parametrize("dataset", ["ffpp", "celebdf", "uadfv"])
def test_demo_faces_found_on_95_percent(demo_faces: dict[str, Path], dataset: str) -> None:
    summary = json.loads((demo_faces[dataset] / extract.SUMMARY_FILE).read_text())
    assert summary["failed"] == 0 and summary["dropped_read_error"] == 0
    assert summary["faces_found"] >= 0.95 * summary["frames_requested"] > 0
    df = read_index(demo_faces[dataset])
    assert len(df) == summary["faces_found"]
    assert set(df["split"]) == {"train", "val", "test"} and set(df["label"]) == {0, 1}


def test_parallel_workers_match_serial(uadfv: Path, tmp_path: Path) -> None:
    prepare("uadfv", uadfv, tmp_path / "one", CFG)
    summary = prepare("uadfv", uadfv, tmp_path / "two", replace(CFG, workers=2))
    assert (summary["done"], summary["failed"]) == (6, 0)
    cols = ["method", "video", "frame", "label", "split", "path"]
    one, two = read_index(tmp_path / "one")[cols], read_index(tmp_path / "two")[cols]
    assert one.reset_index(drop=True).equals(two.reset_index(drop=True))


def test_tracking_finds_the_same_faces(uadfv: Path) -> None:
    cfg = ExtractConfig(frames_per_video=10, image_size=48)
    tracked = extract_video_faces(uadfv / "real/0002.mp4", cfg)
    full = extract_video_faces(uadfv / "real/0002.mp4", replace(cfg, track_expand=None))
    assert [c.frame for c in tracked] == [c.frame for c in full] == list(range(10))
    for a, b in zip(tracked, full, strict=True):
        assert np.abs(np.array(a.box) - np.array(b.box)).max() <= 0.2 * (b.box[2] - b.box[0])


# --- crop file formats ---

def test_webp_crops_are_lossless(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    face = cv2.resize(face_frames(1)[0], (299, 299))
    for i, image in enumerate([face, rng.integers(0, 256, (299, 299, 3), dtype=np.uint8)]):
        path = tmp_path / f"{i}.webp"
        extract._write_crop(path, image, replace(CFG, image_format="webp"))
        assert np.array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), image)


def test_prepare_writes_webp_crops_the_loader_reads(uadfv: Path, tmp_path: Path) -> None:
    from jdfd_lib.training.data import CropDataset, load_split

    prepare("uadfv", uadfv, tmp_path / "png", CFG)
    summary = prepare("uadfv", uadfv, tmp_path / "webp", replace(CFG, image_format="webp"))
    assert (summary["done"], summary["failed"], summary["faces_found"]) == (6, 0, 18)
    png, webp = read_index(tmp_path / "png"), read_index(tmp_path / "webp")
    assert webp["path"].str.endswith(".webp").all() and len(webp) == len(png) == 18
    for a, b in zip(png["abs_path"], webp["abs_path"], strict=True):
        assert np.array_equal(cv2.imread(a), cv2.imread(b))  # the same pixels as the PNGs
    rows = load_split(tmp_path / "webp", "train", "uadfv")
    x, y, labelled = CropDataset(rows, 32, (0.5,) * 3, (0.5,) * 3)[0]
    assert x.shape == (3, 32, 32) and y in (0, 1) and labelled is True
    assert prepare("uadfv", uadfv, tmp_path / "webp", replace(CFG, image_format="webp"),
                   verify=True)["skipped"] == 6  # every crop decodes


def test_unknown_crop_format_is_refused() -> None:
    from jdfd_lib.core.errors import UserError

    with pytest.raises(UserError, match=r"image_format must be one of 'png', 'webp', 'jpg', "
                                        r"got 'tiff'$"):
        ExtractConfig(image_format="tiff")


def test_the_paper_profiles_refuse_lossy_crops(uadfv: Path, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    prepare_cli.add_arguments(parser)
    for profile in ("paper", "faces_paper"):
        args = parser.parse_args(["--dataset", "uadfv", "--root", str(uadfv), "--out",
                                  str(tmp_path / "o"), "--profile", profile, "--image-format",
                                  "jpg"])
        with pytest.raises(UserError, match=f"--image-format jpg is lossy, and --profile "
                                            f"{profile} keeps the very pixels"):
            prepare_cli.run(args)
    assert not (tmp_path / "o").exists()
