"""Face images through ``prepare`` (aligned by Dlib, or taken as crops with ``--aligned``),
the extra demo layouts (the default plan unchanged without ``extra``), and generated copies
of DFDC, DFD and a user's folder read and prepared (slow).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest

from jdfd_lib import cli
from jdfd_lib.datasets.records import assert_disjoint
from jdfd_lib.datasets.registry import dataset_root, get_dataset, list_videos
from jdfd_lib.demo import extra_layouts as X
from jdfd_lib.demo.layout import SIZES, plan, plan_celebdf, plan_ffpp, plan_uadfv
from jdfd_lib.faces.crops import ExtractConfig
from jdfd_lib.faces.index import INDEX_COLUMNS, read_index
from jdfd_lib.faces.prepare import prepare, read_video_meta

CFG = ExtractConfig(frames_per_video=4, image_size=48, workers=1)


# ----------------------------------------------------------------------------- images
def face_images(root: Path) -> Path:
    """A real face photograph as PNG/JPEG files in the folder layout (fake: blurred)."""
    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    img = cv2.resize(cv2.imread(str(photo)), (200, 240))
    for name, image in (("real/p0/a.png", img), ("real/b.jpg", img[:, ::-1]),
                        ("fake/p0/a.png", cv2.GaussianBlur(img, (7, 7), 3)),
                        ("fake/c.png", cv2.GaussianBlur(img[:, ::-1], (7, 7), 3))):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / name), image)
    return root


def test_images_are_aligned_by_dlib_or_taken_as_crops(tmp_path: Path) -> None:
    root = face_images(tmp_path / "custom")
    summary = prepare("folder", root, tmp_path / "dlib", CFG)
    assert (summary["videos"], summary["faces_found"]) == (4, 4)
    meta = read_video_meta(tmp_path / "dlib", "real", "p0__a")
    assert meta["n_frames"] == 1 and meta["frames_requested"] == [0] and "aligned" not in meta
    assert np.array(meta["frames"][0]["landmarks"]).shape == (68, 2)
    summary = prepare("folder", root, tmp_path / "crops", CFG, aligned=True)
    assert (summary["videos"], summary["faces_found"]) == (4, 4)
    meta = read_video_meta(tmp_path / "crops", "fake", "c")
    assert meta["aligned"] is True
    assert meta["frames"][0] == {"frame": 0, "file": "000000.png", "n_faces": 1,
                                 "box": [0, 0, 200, 240], "fallback": False, "landmarks": []}
    index = read_index(tmp_path / "crops")
    assert list(index.columns)[:len(INDEX_COLUMNS)] == list(INDEX_COLUMNS)
    assert cv2.imread(str(tmp_path / "crops" / index.path.iloc[0])).shape == (48, 48, 3)
    assert prepare("folder", root, tmp_path / "crops", CFG)["done"] == 4  # aligned changed
    assert "aligned" not in read_video_meta(tmp_path / "crops", "fake", "c")
    assert prepare("folder", root, tmp_path / "crops", CFG)["skipped"] == 4
    (root / "fake/c.png").write_bytes(b"not an image")  # a failure, not a crash
    failures = prepare("folder", root, tmp_path / "bad", CFG, aligned=True)["failures"]
    assert [f["path"] for f in failures] == [str(root / "fake/c.png")]
    assert "cannot be decoded as an image" in failures[0]["reason"]


def test_cli_aligned_flag(tmp_path: Path, capsys) -> None:
    root, out = face_images(tmp_path / "custom"), tmp_path / "out"
    args = ["prepare", "--root", str(root), "--out", str(out), "--frames", "4", "--size", "48"]
    assert cli.main([*args, "--dataset", "folder", "--aligned"]) == 0
    assert read_video_meta(out, "real", "b")["aligned"] is True
    assert json.loads((out / "extraction.json").read_text())["options"]["aligned"] is True
    capsys.readouterr()
    assert cli.main([*args, "--dataset", "ffpp", "--aligned"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--aligned does not apply to --dataset ffpp" in err[0]
    assert cli.main([*args, "--dataset", "folder", "--aligned", "false"]) == 0
    assert "aligned" not in read_video_meta(out, "real", "b")
    with pytest.raises(SystemExit):
        cli.main([*args, "--dataset", "folder", "--aligned", "maybe"])


# ----------------------------------------------------------------------------- demo plans
@pytest.mark.parametrize("size", ["tiny", "small"])
def test_default_demo_plan_is_unchanged(size: str) -> None:
    preset = SIZES[size]
    default = plan(preset, 0)
    assert default == plan_ffpp(preset, 0) + plan_celebdf(preset, 0) + plan_uadfv(preset, 0)
    assert X.plan_extra(preset, 0, ()) == []
    extra = X.plan_extra(preset, 0, X.EXTRA_DATASETS)
    assert {j.dataset for j in extra} == set(X.EXTRA_DATASETS)
    mine = {p for j in default for p in j.outputs()}
    theirs = [p for j in extra for p in j.outputs()]
    assert len(set(theirs)) == len(theirs) and not mine & set(theirs)
    ffpp_reads = ("FaceForensics++/original_sequences/youtube/", "FaceForensics++/manipulated"
                  "_sequences/Deepfakes", "FaceForensics++/manipulated_sequences/Face")
    assert not [p for p in theirs if p.startswith(ffpp_reads) or "NeuralTextures" in p]
    keys = {k for j in default for k in (j.person, j.scene)}
    assert not keys & {k for j in extra for k in (j.person, j.scene)}  # other people
    with pytest.raises(ValueError, match=r"unknown extra demo datasets \['dfdcx'\]"):
        X.plan_extra(preset, 0, ["dfdcx"])
    parser = cli.build_parser("demo-data")
    assert parser.parse_args(["demo-data", "--out", "x", "--extra", "dfd"]).extra == ["dfd"]
    assert parser.parse_args(["demo-data", "--out", "x"]).extra == []


# ----------------------------------------------------------------------------- generated
@pytest.fixture(scope="module")
def extra_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny demo generation with every extra layout."""
    from jdfd_lib.demo.generate import generate_demo_data

    out = tmp_path_factory.mktemp("demo_extra")
    generate_demo_data(out, size="tiny", seed=0, extra=X.EXTRA_DATASETS)
    return out


@pytest.mark.slow
def test_generated_copies_are_read_by_their_readers(extra_root: Path) -> None:
    from jdfd_lib.demo.generate import MARKER, generate_demo_data

    counts = X.EXTRA_SIZES["tiny"]
    jobs = X.plan_extra(SIZES["tiny"], 0, X.EXTRA_DATASETS)
    videos = Counter(j.dataset for j in jobs for _ in j.outputs())
    for key, n in videos.items():  # the folder's stills are one-frame videos too
        recs = list_videos(key, dataset_root(extra_root, key))
        assert len(recs) == n + (key == "folder") * 2 * counts.folder_stills, key
        assert {r.label for r in recs} == {0, 1} and all(r.path.stat().st_size for r in recs)
        assert_disjoint(recs, get_dataset(key).identity_splits)
    assert {r.split for r in list_videos("dfdc", extra_root / "DFDC")} == {"train", "val", "test"}
    aligned = list_videos("folder", extra_root / "custom-aligned", aligned=True)
    assert len(aligned) == 2 * counts.folder_people and all(r.aligned for r in aligned)
    ffpp = {r.path.relative_to(extra_root).as_posix()
            for r in list_videos("ffpp", extra_root / "FaceForensics++")}
    jobs = plan_ffpp(SIZES["tiny"], 0)  # the reader lists videos, not their mask videos
    assert ffpp == {p for j in jobs for p in j.outputs()} - {m for j in jobs for m in j.masks()}
    marker = json.loads((extra_root / MARKER).read_text())
    assert marker["extra"] == list(X.EXTRA_DATASETS) and "dfd" in marker["videos"]
    assert generate_demo_data(extra_root, size="tiny", extra=X.EXTRA_DATASETS) == marker
    with pytest.raises(FileExistsError, match="pass overwrite=True"):  # another generation
        generate_demo_data(extra_root, size="tiny")


@pytest.mark.slow
def test_generated_copies_are_prepared(extra_root: Path, tmp_path: Path) -> None:
    for key, root, options in (("dfdc", extra_root / "DFDC", {}),
                               ("dfd", extra_root / "FaceForensics++", {}),
                               ("folder", extra_root / "custom", {}),
                               ("folder", extra_root / "custom-aligned", {"aligned": True})):
        out = tmp_path / f"{key}{len(options)}"
        summary = prepare(key, root, out, CFG, **options)
        assert not summary["failures"] and summary["faces_found"] >= summary["videos"], key
        index = read_index(out)
        assert set(index.label) == {0, 1} and set(index.dataset) == {key}
    stills = read_index(tmp_path / "folder0")
    assert stills.video.str.endswith("__still").sum() == 2 * X.EXTRA_SIZES["tiny"].folder_stills
    assert (tmp_path / "folder0" / "folder_split.json").is_file()
    meta = read_video_meta(tmp_path / "folder1", "real", "person00__face")
    assert meta["aligned"] and meta["frames"][0]["box"] == [0, 0, X.ALIGNED_SIZE,
                                                            X.ALIGNED_SIZE]


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_a_truncated_image_is_unreadable_not_half_grey(tmp_path: Path, suffix: str) -> None:
    from jdfd_lib.faces.images import read_image
    from jdfd_lib.faces.video import VideoReadError

    photo = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    whole = tmp_path / f"face{suffix}"
    cv2.imwrite(str(whole), photo)
    assert read_image(whole).shape == photo.shape
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(VideoReadError, match=rf"cut{suffix}: truncated or corrupt image"):
        read_image(cut)
