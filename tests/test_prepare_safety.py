"""``prepare`` is safe to hand a dataset, and clear when something is wrong with it.

Every case on a copy of the tiny demo data: unreadable, truncated and faceless videos are
named (and an unreadable one makes the command exit 1 after finishing the rest); split
files naming absent videos are refused; deleted or corrupted crops are repaired by the
command the error message names; an interrupted re-extraction or a merged index is never
read; a read-only dataset folder is never written to; bad settings name their flag.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from jdfd_lib.core.errors import UserError
from jdfd_lib.datasets.registry import dataset_root
from jdfd_lib.demo.video_io import H264Writer
from jdfd_lib.faces import prepare as extract
from jdfd_lib.faces.crops import ExtractConfig
from jdfd_lib.faces.index import (
    EXTRACTION_NAME,
    RUNNING_NAME,
    prepare_command,
    read_index,
    split_frames,
    write_index,
)
from jdfd_lib.faces.prepare import prepare
from jdfd_lib.faces.prepare_summary import NoFaceError
from jdfd_lib.training.data import load_split, read_crop

REPO = Path(__file__).resolve().parents[1]
CFG = ExtractConfig(frames_per_video=2, image_size=64)
# how the CLI spells CFG: the profile needing the fewest flags (demo: PNG crops, as CFG)
CFG_FLAGS = ["--profile", "demo", "--frames", "2", "--size", "64"]


def cli(*args: str | Path) -> subprocess.CompletedProcess:
    """``python -m jdfd_lib prepare ARGS`` in a fresh process, offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "jdfd_lib", "prepare", *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def copy_dataset(demo_root: Path, tmp_path: Path, name: str = "uadfv") -> Path:
    """A writable copy of one tiny demo dataset (the session fixture stays untouched)."""
    src = dataset_root(demo_root, name)
    return Path(shutil.copytree(src, tmp_path / src.name))


def meta_stamps(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.glob("meta/*/*.json")}


def count_extractions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the videos prepare extracts (in this process: workers=1, or a single video)."""
    calls, real = [], extract._extract_one

    def counted(rec, out, cfg):
        calls.append(f"{rec.method}/{rec.video}")
        return real(rec, out, cfg)

    monkeypatch.setattr(extract, "_extract_one", counted)
    return calls


def truncate(video: Path, fraction: float) -> None:
    """Rewrite ``video`` with its index in front (faststart), then cut its frame data: the
    container still reports every frame, but only the first ones decode."""
    tmp = video.with_name("full.mp4")
    with av.open(str(video)) as src, av.open(str(tmp), "w",
                                             options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    data = tmp.read_bytes()
    video.write_bytes(data[:int(len(data) * fraction)])
    tmp.unlink()


# --------------------------------------------------------------------------- videos
def test_unreadable_video_exits_1_named_and_the_others_are_kept(demo_root: Path,
                                                                tmp_path: Path) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    bad = root / "real/0001.mp4"
    bad.write_text("this is not a video\n")
    first = cli("--dataset", "uadfv", "--root", root, "--out", out, *CFG_FLAGS)
    assert first.returncode == 1, first.stderr
    assert f"FAILED {bad}: {bad}: cannot be opened as a video" in first.stdout
    assert first.stderr.strip().splitlines()[-1] == (
        "jdfd prepare: error: 1 of 6 videos could not be read (FAILED lines above); the other "
        "5 are finished and kept. Replace or remove those files and run the same command again")
    assert set(read_index(out)["video"]) == {"0000", "0002", "0000_fake", "0001_fake",
                                             "0002_fake"}
    stamps = meta_stamps(out)
    again = cli("--dataset", "uadfv", "--root", root, "--out", out, *CFG_FLAGS)
    assert again.returncode == 1 and f"FAILED {bad}" in again.stdout
    assert "skipped: 5" in again.stdout and meta_stamps(out) == stamps  # nothing redone


@pytest.mark.slow  # python -m jdfd_lib prepare in a subprocess
def test_dataset_without_a_face_exits_1(tmp_path: Path) -> None:
    root, out = tmp_path / "UADFV", tmp_path / "faces"
    for rel in ("real/0000.mp4", "fake/0000_fake.mp4"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with H264Writer(root / rel, 10) as writer:
            for _ in range(6):
                writer.write(np.full((120, 160, 3), 90, np.uint8))
    result = cli("--dataset", "uadfv", "--root", root, "--out", out, *CFG_FLAGS)
    assert result.returncode == 1
    assert f"no face: {root / 'real/0000.mp4'}" in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"jdfd prepare: error: {root}: not one face was found in its 2 "
                           f"videos (4 frames searched; details in {out / 'prepare_summary.json'}")
    summary = json.loads((out / "prepare_summary.json").read_text())
    assert summary["no_face_videos"] == [str(root / "fake/0000_fake.mp4"),
                                         str(root / "real/0000.mp4")]
    assert read_index(out).empty
    with pytest.raises(NoFaceError, match="not one face was found"):  # the library too
        prepare("uadfv", root, out, CFG)


def test_truncated_video_is_named_for_its_lost_frames(demo_root: Path, tmp_path: Path) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    short = root / "real/0000.mp4"
    truncate(short, 0.7)  # 15 frames reported, 3 decode
    result = cli("--dataset", "uadfv", "--root", root, "--out", out, "--profile", "demo",
                 "--frames", "8", "--size", "64")
    assert result.returncode == 0, result.stderr
    assert f"lost frames: {short}: 6 of 8 unreadable" in result.stdout.splitlines()
    summary = json.loads((out / "prepare_summary.json").read_text())
    assert result.stdout.strip().splitlines()[-1] == (
        f"prepare finished: 6 videos, {summary['faces_found']} face crops; with warnings: 1 "
        f"with unreadable frames (listed above)")
    assert summary["lost_frames"] == [{"path": str(short), "lost": 6, "requested": 8}]
    assert summary["failed"] == 0 and summary["no_face_videos"] == []


# --------------------------------------------------------------------------- split files
def test_ffpp_split_naming_absent_videos_is_refused_unless_allowed(demo_root: Path,
                                                                   tmp_path: Path) -> None:
    root, out = copy_dataset(demo_root, tmp_path, "ffpp"), tmp_path / "faces"
    a, b = json.loads((root / "splits/test.json").read_text())[0]
    gone = [root / f"manipulated_sequences/Deepfakes/c23/videos/{v}.mp4"
            for v in (f"{a}_{b}", f"{b}_{a}")]
    for path in gone:
        path.unlink()
    refused = cli("--dataset", "ffpp", "--root", root, "--out", out, *CFG_FLAGS)
    assert refused.returncode == 1
    assert (f"error: {root / 'splits/test.json'} (2): 2 listed video(s) absent from {root}: "
            f"Deepfakes/{a}_{b}, Deepfakes/{b}_{a}; expected each pair") in refused.stderr
    assert "--allow-missing to go on without them" in refused.stderr
    assert not out.exists()  # refused before anything was written
    allowed = cli("--dataset", "ffpp", "--root", root, "--out", out, *CFG_FLAGS,
                  "--allow-missing")
    assert allowed.returncode == 0, allowed.stderr
    assert "warning: " in allowed.stderr and "going on without them" in allowed.stderr
    assert "absent: 2 videos named by the split files" in allowed.stdout
    summary = json.loads((out / "prepare_summary.json").read_text())
    assert summary["absent_from_split"] == [f"Deepfakes/{a}_{b}", f"Deepfakes/{b}_{a}"]
    assert summary["videos"] == 28
    assert prepare_command(out, verify=False).endswith("--allow-missing")


def test_uadfv_split_naming_absent_videos_is_refused_unless_allowed(demo_root: Path,
                                                                    tmp_path: Path) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    (root / "fake/0001_fake.mp4").unlink()
    with pytest.raises(UserError, match=r"jdfd_split\.json \(1\): 1 listed video\(s\) absent "
                       r"from .*UADFV: fake/0001_fake; expected each id"):
        prepare("uadfv", root, out, CFG)
    with pytest.warns(UserWarning, match="going on without them"):
        summary = prepare("uadfv", root, out, CFG, allow_missing=True)
    assert summary["absent_from_split"] == ["fake/0001_fake"] and summary["videos"] == 5


# --------------------------------------------------------------------------- damaged crops
def test_deleted_crop_redoes_its_video_only(demo_root: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    prepare("uadfv", root, out, CFG)
    crop = next((out / "crops/fake/0002_fake").iterdir())
    original = crop.read_bytes()
    crop.unlink()
    stamps = meta_stamps(out)
    calls = count_extractions(monkeypatch)
    summary = prepare("uadfv", root, out, CFG)
    assert calls == ["fake/0002_fake"]
    assert (summary["done"], summary["skipped"], summary["repaired"]) == (1, 5, 1)
    assert summary["repaired_videos"][0]["reason"].startswith("1 of 2 crops missing")
    assert crop.read_bytes() == original  # extraction is deterministic
    del stamps["meta/fake/0002_fake.json"]
    assert {k: v for k, v in meta_stamps(out).items() if k in stamps} == stamps


def test_corrupted_crop_is_redone_by_verify_only(demo_root: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    prepare("uadfv", root, out, CFG)
    crop = sorted((out / "crops/real/0001").iterdir())[-1]
    original = crop.read_bytes()
    crop.write_bytes(original[:40] + b"\0" * 40)  # PNG header kept, image data gone
    calls = count_extractions(monkeypatch)
    assert prepare("uadfv", root, out, CFG)["skipped"] == 6 and calls == []  # a stat sees none
    summary = prepare("uadfv", root, out, replace(CFG, workers=2), verify=True)
    assert calls == ["real/0001"] and summary["repaired"] == 1
    assert "does not decode as a 64x64 image" in summary["repaired_videos"][0]["reason"]
    assert crop.read_bytes() == original


def test_a_truncated_jpeg_crop_is_a_broken_crop(demo_root: Path, tmp_path: Path) -> None:
    """OpenCV decodes a truncated JPEG into a part-grey image with only a stderr note (PNG
    and WebP fail): training refuses it and --verify redoes its video, as for any broken
    crop."""
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    cfg = replace(CFG, image_format="jpg")
    prepare("uadfv", root, out, cfg)
    crop = sorted((out / "crops/real/0001").iterdir())[-1]
    original = crop.read_bytes()
    crop.write_bytes(original[: len(original) * 2 // 3])
    with pytest.raises(ValueError, match=rf"{re.escape(str(crop))}: cannot be decoded"):
        read_crop(crop)
    summary = prepare("uadfv", root, out, cfg, verify=True)
    assert summary["repaired"] == 1
    assert "does not decode as a 64x64 image" in summary["repaired_videos"][0]["reason"]
    assert crop.read_bytes() == original and read_crop(crop).shape == (64, 64, 3)


def test_crop_errors_name_the_prepare_command_that_repairs(demo_root: Path,
                                                           tmp_path: Path) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    prepare("uadfv", root, out, CFG)
    command = " ".join(["python -m jdfd_lib prepare --dataset uadfv --root", str(root),
                        "--out", str(out), *CFG_FLAGS])
    assert prepare_command(out) == command + " --verify"
    broken = out / "crops/real/0000" / sorted(os.listdir(out / "crops/real/0000"))[0]
    broken.write_bytes(b"not a png")
    with pytest.raises(ValueError, match=f"cannot be decoded.*; run {command} --verify$"):
        read_crop(broken)
    rows = read_index(out)
    gone = rows[(rows["split"] == "test") & (rows["video"] != "0000")]["abs_path"].iloc[0]
    os.unlink(gone)
    with pytest.raises(FileNotFoundError, match=f"is missing; run {command}$"):
        read_crop(gone)
    with pytest.raises(FileNotFoundError, match=f"crops are missing, .*: {command}$"):
        split_frames(out, "uadfv", "test")
    # the command in the message repairs the folder (--verify: the broken crop too)
    result = subprocess.run(f"{sys.executable} {command[len('python '):]} --verify", shell=True,
                            cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert read_crop(broken).shape == read_crop(gone).shape == (64, 64, 3)
    assert "repaired: 2" in result.stdout


def test_settings_without_flags_give_a_python_call_that_repeats_the_run(
        demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    prepare("uadfv", root, out, replace(CFG, margin=0.2), seed=0)  # no flag sets either
    words = shlex.split(prepare_command(out, verify=False))
    assert words[:2] == ["python", "-c"] and "margin" in words[2]
    calls = count_extractions(monkeypatch)
    exec(words[2], {})  # the same settings: every video is found done
    assert calls == [] and json.loads((out / "prepare_summary.json").read_text())["skipped"] == 6


def test_prepare_command_without_a_record_names_the_folder(tmp_path: Path) -> None:
    assert prepare_command(tmp_path) == (f"python -m jdfd_lib prepare --dataset DATASET --root "
                                         f"DATASET_FOLDER --out {tmp_path} --verify")


# --------------------------------------------------------------------------- mixed settings
def test_interrupted_reextraction_leaves_no_index(demo_root: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    prepare("uadfv", root, out, CFG)
    calls, real = [], extract._extract_one

    def stop_after_one(rec, out_, cfg):
        calls.append(rec.video)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(rec, out_, cfg)

    monkeypatch.setattr(extract, "_extract_one", stop_after_one)
    small = replace(CFG, image_size=48)
    with pytest.raises(KeyboardInterrupt):
        prepare("uadfv", root, out, small)
    sizes = {cv2.imread(str(p)).shape[0] for p in out.glob("crops/*/*/*.png")}
    assert sizes == {48, 64}  # crop folders of both settings on disk ...
    assert not (out / "index.csv").exists()  # ... but no index lists them
    expected = f"{out}: prepare did not finish here (or is still running); run it again: " \
               f"python -m jdfd_lib prepare --dataset uadfv --root {root} --out {out} " \
               f"--profile demo --frames 2 --size 48"
    with pytest.raises(FileNotFoundError) as err:
        read_index(out)
    assert str(err.value) == expected
    with pytest.raises(FileNotFoundError, match="prepare did not finish here"):
        load_split(out, "train", "uadfv")  # what train reads
    monkeypatch.setattr(extract, "_extract_one", real)
    assert prepare("uadfv", root, out, small)["skipped"] == 1  # the one finished is kept
    assert not (out / RUNNING_NAME).exists()
    assert {cv2.imread(p).shape[0] for p in read_index(out)["abs_path"]} == {48}


def test_merged_index_is_refused(demo_root: Path, tmp_path: Path) -> None:
    root = copy_dataset(demo_root, tmp_path)
    big, small = tmp_path / "big", tmp_path / "small"
    prepare("uadfv", root, big, CFG)
    prepare("uadfv", root, small, replace(CFG, frames_per_video=3, image_size=48))
    before = read_index(big)
    shutil.rmtree(big / "crops/fake")
    shutil.copytree(small / "crops/fake", big / "crops/fake")
    small_fakes = read_index(small).query("method == 'fake'")
    write_index(pd.concat([before.query("method == 'real'"), small_fakes]), big)
    settings = json.loads((big / EXTRACTION_NAME).read_text())["settings_id"]
    with pytest.raises(UserError, match=(
            f"{big / 'index.csv'}: not the index prepare wrote with {big / EXTRACTION_NAME} "
            rf"\(extraction settings {settings} \(frames_per_video=2, image_size=64, "
            r"image_format=png\)\); an edited or merged index may list crops of other "
            f"settings. Rebuild it: python -m jdfd_lib prepare .* --size 64; or")):
        read_index(big)
    with pytest.raises(UserError, match="not the index prepare wrote"):
        load_split(big, "train", "uadfv")


# --------------------------------------------------------------------------- folders, settings
def test_read_only_dataset_folder_is_never_written(demo_root: Path, tmp_path: Path) -> None:
    root, out = copy_dataset(demo_root, tmp_path), tmp_path / "faces"
    (root / "jdfd_split.json").unlink()  # no shipped split: prepare must draw one
    listing = sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*"))
    folders = [root, root / "real", root / "fake"]
    for d in folders:  # as root, chmod stops no write: the listing check still does
        d.chmod(0o555)
    try:
        result = cli("--dataset", "uadfv", "--root", root, "--out", out, *CFG_FLAGS)
        again = prepare("uadfv", root, out, CFG)
    finally:
        for d in folders:
            d.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*")) == listing
    split = json.loads((out / "uadfv_split.json").read_text())["splits"]
    assert sorted(v for vs in split.values() for v in vs) == ["0000", "0001", "0002"]
    assert again["skipped"] == 6  # the kept split is read back: the same videos, all done


def test_bad_settings_name_their_field_or_flag(tmp_path: Path, capsys) -> None:
    from jdfd_lib.cli import main

    with pytest.raises(UserError, match=r"^invalid extraction settings: frames_per_video must be "
                                        r"a positive integer, got 0$"):
        ExtractConfig(frames_per_video=0)
    with pytest.raises(UserError, match=r"image_size must be an integer from 8 to 2048 "
                                        r"\(pixels\), got 4; jpeg_quality must be an integer "
                                        r"from 0 to 100"):
        ExtractConfig(image_size=4, jpeg_quality=101)
    args = ["prepare", "--dataset", "uadfv", "--root", str(tmp_path), "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--workers", "0"])
    assert exit_info.value.code == 2
    assert "argument --workers: expected a positive integer, got 0" in capsys.readouterr().err
    assert main([*args, "--size", "4"]) == 1
    assert capsys.readouterr().err.strip() == ("jdfd prepare: error: invalid extraction "
                                               "settings: --size must be an integer from 8 "
                                               "to 2048 (pixels), got 4")
    assert main([*args, "--size", "100000"]) == 1
    assert "--size must be an integer from 8 to 2048 (pixels), got 100000" in \
        capsys.readouterr().err
